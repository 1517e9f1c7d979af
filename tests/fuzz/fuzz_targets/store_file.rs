//! The store file (`model::store::parse_file`, what every read of `profiles.json` uses): a
//! hand-edited or damaged file. No panic; what it accepts writes back (`to_json`) and reads back
//! equal.
#![no_main]
use exo_connect::model::store::{parse_file, to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(profiles) = parse_file(data) else {
        return;
    };
    let json = to_json(&profiles.iter().collect::<Vec<_>>()).expect("loaded profiles serialise");
    let back = parse_file(json.as_bytes()).expect("a written store reads back");
    assert_eq!(back, profiles);
});
