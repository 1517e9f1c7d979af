//! A page body into the result store (`model::results::page::parse_page`), then out through the
//! writers. No panic; a page that fails leaves the store as it was; a parsed store written as
//! JSON parses back to the same rows (round trip); CSV and the table write without panicking.
#![no_main]
use exo_connect::model::results::write::{write_csv_all, write_json, write_table};
use exo_connect::model::results::{ResultStore, parse_page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cap, body) = match data.split_first() {
        Some((c, rest)) if *c < 8 => (Some(usize::from(*c)), rest),
        _ => (None, data),
    };
    let mut store = ResultStore::new();
    // A first page that always parses, so a failing second page must roll back to it.
    parse_page(br#"{"value":[{"Name":"a","N":1}]}"#, &mut store, None, &mut |_| {}).unwrap();
    let before = store.len();
    let mut links = 0;
    match parse_page(body, &mut store, cap, &mut |_| links += 1) {
        Ok(info) => {
            assert_eq!(store.len(), before + info.rows);
            if let Some(c) = cap {
                assert!(info.rows <= c);
            }
        }
        Err(_) => {
            assert_eq!(store.len(), before);
            return;
        }
    }
    let json = write_json(&store, 0..store.len(), Vec::new()).expect("writing JSON to memory");
    let page = format!("{{\"value\":{}}}", String::from_utf8(json).expect("UTF-8 JSON"));
    let mut again = ResultStore::new();
    parse_page(page.as_bytes(), &mut again, None, &mut |_| {}).expect("our JSON parses");
    assert_eq!(again.len(), store.len());
    for r in 0..store.len() {
        assert_eq!(again.row_object(r), store.row_object(r), "row {r}");
    }
    let _ = write_csv_all(&store, Vec::new());
    let _ = write_table(&store, usize::from(data.len() as u8), Vec::new());
});
