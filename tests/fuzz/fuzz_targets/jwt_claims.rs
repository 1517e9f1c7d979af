//! JWT claims (`engine::auth::claims::decode_claims`): the payload of an ID or access token read
//! without a signature check. No panic on any text; a payload given as base64url JSON decodes.
#![no_main]
use exo_connect::engine::auth::claims::decode_claims;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(c) = decode_claims(s) {
        let _ = c.account();
    }
    // The same bytes as a payload: the decoder sees real JSON shapes too.
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwt = format!("e30.{}.sig", e.encode(data));
    if let Some(c) = decode_claims(&jwt) {
        let _ = c.account();
    }
});
