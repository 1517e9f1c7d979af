//! The WinHTTP settings blob (`engine::proxy::winhttp::parse_blob`): binary registry data. No
//! panic on any bytes; a proxy it finds goes through the same per-scheme and bypass code.
#![no_main]
use exo_connect::engine::proxy::env::normalize_proxy;
use exo_connect::engine::proxy::winhttp::parse_blob;
use exo_connect::engine::proxy::wininet::{override_matches, proxy_server_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = parse_blob(data) else {
        return;
    };
    let _ = s.uses_proxy();
    if let Some(p) = s.proxy_server.as_deref().and_then(|v| proxy_server_for(v, "https")) {
        let _ = normalize_proxy(&p);
    }
    if let Some(b) = &s.bypass {
        let _ = override_matches(b, "outlook.office365.com");
        let _ = override_matches(b, "intranet");
    }
});
