//! WinINet settings from `reg query` output (`engine::proxy::wininet`): the values, the proxy
//! per scheme, the exception list against a host (the input's first line). No panic.
#![no_main]
use exo_connect::engine::proxy::env::normalize_proxy;
use exo_connect::engine::proxy::wininet::{
    WinInetSettings, override_matches, parse_reg_query, proxy_server_for,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (host, reg) = text.split_once('\n').unwrap_or(("outlook.office365.com", &text));
    let s = WinInetSettings::from_values(&parse_reg_query(reg));
    if let Some(server) = &s.proxy_server {
        for scheme in ["https", "http"] {
            if let Some(p) = proxy_server_for(server, scheme) {
                let _ = normalize_proxy(&p);
            }
        }
    }
    if let Some(o) = &s.proxy_override {
        let _ = override_matches(o, host);
    }
});
