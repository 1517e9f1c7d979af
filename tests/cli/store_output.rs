//! The result store's writers (`model::results::write`) against the command line's code before
//! the store (`legacy_output`: `clean_row`, `to_csv`, `to_table`, and the JSON that
//! `run --format json` streamed) on the sim's mailboxes, users and transport rules, sent as pages the sim's way and
//! parsed page by page. The store keeps each row's own key order, so the outputs are equal byte
//! for byte (not just modulo key order).

use super::legacy_output::{clean_row, to_csv, to_json, to_table};
use exo_connect::model::results::{ResultStore, parse_page, write};
use exo_connect::sim::World;
use exo_connect::sim::admin::dataset;
use serde_json::{Map, Value, json};

/// Rows as pages like the sim sends them (context, next link, warnings on the first page).
fn pages(rows: &[Map<String, Value>], size: usize) -> Vec<Vec<u8>> {
    let chunks: Vec<_> = rows.chunks(size).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = Map::new();
            p.insert(
                "@odata.context".into(),
                "http://x/$metadata#Collection".into(),
            );
            if i + 1 < chunks.len() {
                p.insert("@odata.nextLink".into(), format!("http://x/n?k={i}").into());
            }
            if i == 0 {
                p.insert("@adminapi.warnings".into(), json!(["a warning"]));
            }
            let value: Vec<Value> = chunk.iter().cloned().map(Value::Object).collect();
            p.insert("value".into(), Value::Array(value));
            serde_json::to_vec(&Value::Object(p)).unwrap()
        })
        .collect()
}

/// Today's path: each page a `Value`, its `value` rows cleaned.
fn today_rows(pages: &[Vec<u8>]) -> Vec<Map<String, Value>> {
    let mut rows = Vec::new();
    for body in pages {
        let json: Value = serde_json::from_slice(body).unwrap();
        if let Some(Value::Array(a)) = json.get("value") {
            rows.extend(a.clone().into_iter().map(clean_row));
        }
    }
    rows
}

fn store_of(pages: &[Vec<u8>]) -> ResultStore {
    let mut s = ResultStore::new();
    for body in pages {
        parse_page(body, &mut s, None, &mut |_| {}).unwrap();
    }
    s
}

fn assert_same_output(rows: &[Map<String, Value>], page_size: usize) {
    let pages = pages(rows, page_size);
    let today = today_rows(&pages);
    let store = store_of(&pages);
    assert_eq!(store.len(), today.len());
    let json = write::write_json(&store, 0..store.len(), Vec::new()).unwrap();
    assert!(
        String::from_utf8(json).unwrap() == to_json(&today),
        "JSON differs"
    );
    let csv = write::write_csv_all(&store, Vec::new()).unwrap();
    assert!(
        String::from_utf8(csv).unwrap() == to_csv(&today),
        "CSV differs"
    );
    for width in [40, 120, 400] {
        let mut table = Vec::new();
        let hidden = write::write_table(&store, width, &mut table).unwrap();
        let (want, want_hidden) = to_table(&today, width);
        assert_eq!(hidden, want_hidden, "width {width}");
        assert!(
            String::from_utf8(table).unwrap() == want,
            "table differs at width {width}"
        );
    }
}

#[test]
fn store_output_equals_todays_for_sim_mailboxes_and_users() {
    let world = World::seeded(1, 2500);
    let t = world.tenants.iter().find(|t| t.mailboxes == 2500).unwrap();
    let mailboxes: Vec<_> = (0..2500).map(|i| dataset::mailbox(1, t, i)).collect();
    assert!(mailboxes[0].len() >= 100);
    assert_same_output(&mailboxes, 1000);
    let users: Vec<_> = (0..300).map(|i| dataset::user(1, t, i)).collect();
    assert_same_output(&users, 100);
}

#[test]
fn store_output_equals_todays_for_sim_transport_rules() {
    let world = World::seeded(1, 2500);
    let t = &world.tenants[0];
    let mut rules = dataset::seeded_transport_rules(1, t);
    let mut rng = dataset::runtime_rng(1, t, 7);
    rules.push(dataset::transport_rule(
        &mut rng,
        "Quote \" and tab\t and Ø",
        3,
        "AuditAndNotify",
        "line one\nline two",
        Some("a comment".into()),
    ));
    assert_same_output(&rules, 2);
}
