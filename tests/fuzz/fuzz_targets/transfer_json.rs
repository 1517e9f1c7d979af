//! Profile import, JSON (`model::transfer::parse_json`): a file someone sent. No panic; every
//! accepted entry validates without panicking and survives the store's JSON (export) unchanged.
#![no_main]
use exo_connect::model::store::{parse_file, to_json};
use exo_connect::model::transfer::parse_json;
use exo_connect::model::validate::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(candidates) = parse_json(s) else {
        return;
    };
    let accepted: Vec<_> = candidates.into_iter().filter_map(|(_, p)| p.ok()).collect();
    for p in &accepted {
        let _ = validate(p, &accepted);
        let json = to_json(&[p]).expect("a parsed profile serialises");
        let back = parse_file(json.as_bytes()).expect("an exported profile reads back");
        assert_eq!(back.as_slice(), std::slice::from_ref(p));
    }
});
