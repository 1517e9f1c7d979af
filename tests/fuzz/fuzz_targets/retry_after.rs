//! `Retry-After` (`engine::rest::parse_retry_after`): delay-seconds (fractions too) or an HTTP
//! date, as a server sends it. No panic (`1e20`, `NaN`, dates far away), never negative.
#![no_main]
use exo_connect::engine::rest::parse_retry_after;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time");
    if let Some(d) = parse_retry_after(s, now) {
        // What the retry loop does with it: cap it.
        let _ = d.min(std::time::Duration::from_secs(120));
    }
});
