//! OData error bodies (`engine::rest::parse_error_body`): whatever a server answers with an
//! error status. No panic, also when the message is looked up in the known-failure catalogue;
//! a raw-text message is at most 2,000 characters.
#![no_main]
use exo_connect::engine::rest::{RestError, RestErrorKind, parse_error_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_error_body(data);
    let status = data.first().map(|b| 400 + u16::from(*b % 200));
    let mut e = RestError {
        kind: RestErrorKind::Service,
        cmdlet: "Get-Mailbox".into(),
        status,
        code: parsed.code.clone(),
        exception_type: parsed.exception_type.clone(),
        message: parsed.message.clone().unwrap_or_default(),
        request_id: None,
        claims: None,
    };
    let _ = e.explanation();
    e.status = None;
    let _ = e.known(Some(exo_connect::model::Service::SecurityCompliance));
});
