//! A page body into the result store (`model::results::parse_page`): no panic on any bytes, a
//! failed page leaves the store as it was, rows come back as received (annotations dropped),
//! and store → JSON writer → parse gives the same rows.

use exo_connect::model::results::write::{write_csv_all, write_json, write_table};
use exo_connect::model::results::{ResultStore, parse_page};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{any_text, config};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any_text(16).prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z@.]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A row as the service sends it: an object (keys with `@` are annotations), sometimes a scalar.
fn row() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec(("[A-Za-z@.]{1,6}", value()), 0..6)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        1 => leaf(),
    ]
}

/// What the store gives back for a received row.
fn cleaned(row: &Value) -> Map<String, Value> {
    match row {
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !k.contains('@'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        other => [("Value".to_string(), other.clone())].into_iter().collect(),
    }
}

fn parse(body: &[u8]) -> ResultStore {
    let mut store = ResultStore::new();
    parse_page(body, &mut store, None, &mut |_| {}).unwrap();
    store
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_a_page_or_refused_leaving_the_store_as_it_was(
        b in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            any_text(200).prop_map(String::into_bytes),
        ]
    ) {
        let mut store = parse(br#"{"value":[{"Name":"kept"}]}"#);
        match parse_page(&b, &mut store, None, &mut |_| {}) {
            Ok(info) => prop_assert_eq!(store.len(), 1 + info.rows),
            Err(_) => {
                prop_assert_eq!(store.len(), 1);
                prop_assert_eq!(store.row_object(0), json!({"Name": "kept"}).as_object().unwrap().clone());
            }
        }
    }

    #[test]
    fn a_cut_page_is_refused_and_rolled_back(rows in prop::collection::vec(row(), 1..6), cut in any::<prop::sample::Index>()) {
        let body = json!({"value": rows}).to_string();
        let cut = cut.index(body.len());
        let Some(prefix) = body.get(..cut) else { return Ok(()) };
        let mut store = ResultStore::new();
        let parsed = parse_page(prefix.as_bytes(), &mut store, None, &mut |_| {});
        prop_assert!(parsed.is_err());
        prop_assert_eq!(store.len(), 0);
        prop_assert_eq!(store.column_count(), 0);
    }

    #[test]
    fn rows_come_back_as_received_and_through_the_json_writer(
        rows in prop::collection::vec(row(), 0..8),
        next in prop::option::of(any_text(20)),
        cap in prop::option::of(0usize..10),
    ) {
        let mut page = json!({"@odata.context": "x", "value": rows});
        if let Some(n) = &next {
            page["@odata.nextLink"] = json!(n);
        }
        let mut store = ResultStore::new();
        let mut seen = None;
        let info = parse_page(page.to_string().as_bytes(), &mut store, cap, &mut |l| seen = Some(l.to_string())).unwrap();
        let kept = cap.map_or(rows.len(), |c| c.min(rows.len()));
        prop_assert_eq!(info.rows, kept);
        prop_assert_eq!(info.next_link.as_ref(), next.as_ref());
        prop_assert_eq!(seen, next);
        for (i, r) in rows.iter().take(kept).enumerate() {
            prop_assert_eq!(store.row_object(i), cleaned(r), "row {}", i);
        }
        let written = write_json(&store, 0..store.len(), Vec::new()).unwrap();
        let again = parse(format!("{{\"value\":{}}}", String::from_utf8(written).unwrap()).as_bytes());
        prop_assert_eq!(again.len(), store.len());
        for i in 0..store.len() {
            prop_assert_eq!(again.row_object(i), store.row_object(i));
        }
        write_csv_all(&store, Vec::new()).unwrap();
        write_table(&store, 40, Vec::new()).unwrap();
    }
}
