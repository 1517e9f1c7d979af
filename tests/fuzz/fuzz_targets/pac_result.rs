//! PAC results (`engine::proxy::pac::parse_result`, `PROXY a:1; SOCKS b:2; DIRECT`): what a PAC
//! script returned. No panic; never empty (an empty result means DIRECT); the proxy URLs built
//! from it parse or are refused.
#![no_main]
use exo_connect::engine::proxy::pac::{PacEntry, parse_result};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let entries = parse_result(&s);
    assert!(!entries.is_empty());
    for e in entries {
        match e {
            PacEntry::Proxy(hp) => drop(url::Url::parse(&format!("http://{hp}"))),
            PacEntry::Https(hp) => drop(url::Url::parse(&format!("https://{hp}"))),
            PacEntry::Socks(_) | PacEntry::Direct => {}
        }
    }
});
