//! Token-endpoint answers (engine::auth): a success body (`flows::parse_grant`) and an Entra
//! error body (`EntraError`: codes, explanation, the MFA and dead-refresh-token tests). No panic
//! on any JSON, huge or negative `expires_in` included.
#![no_main]
use exo_connect::engine::auth::EntraError;
use exo_connect::engine::auth::claims::decode_claims;
use exo_connect::engine::auth::flows::parse_grant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(grant) = parse_grant(&json) {
        let _ = format!("{grant:?}");
        let _ = decode_claims(&grant.access_token);
        if let Some(id) = &grant.id_token {
            let _ = decode_claims(id);
        }
    }
    if let Ok(e) = serde_json::from_value::<EntraError>(json) {
        let _ = e.codes();
        let _ = e.known();
        let _ = e.needs_interactive_mfa();
        let _ = e.refresh_token_dead();
        let _ = e.explanation();
    }
});
