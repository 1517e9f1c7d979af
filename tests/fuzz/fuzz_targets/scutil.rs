//! macOS proxy settings (`engine::proxy::macos::parse_scutil` on `scutil --proxy` output). No
//! panic; the exception list is matched against a host.
#![no_main]
use exo_connect::engine::proxy::macos::parse_scutil;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(p) = parse_scutil(&text) {
        common::use_system_proxy(&p);
    }
});
