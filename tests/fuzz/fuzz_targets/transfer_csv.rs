//! Profile import, CSV (`model::transfer::parse_csv`): a tenant list from a spreadsheet. No
//! panic; accepted rows validate without panicking.
#![no_main]
use exo_connect::model::transfer::parse_csv;
use exo_connect::model::validate::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(candidates) = parse_csv(s) else {
        return;
    };
    let accepted: Vec<_> = candidates.into_iter().filter_map(|(_, p)| p.ok()).collect();
    for p in &accepted {
        let _ = validate(p, &accepted);
    }
});
