//! Tests of the result store and the page parser: every JSON shape a cmdlet returns, checked
//! against what serde_json (today's path: a `Value` tree, `@` keys dropped) makes of the same
//! text.

use serde_json::{Map, Value, json};

use super::*;

/// Today's command line: the page as a `Value`, its `value` rows cleaned of `@` keys.
fn reference_rows(page: &str) -> Vec<Map<String, Value>> {
    let json: Value = serde_json::from_str(page).unwrap();
    let rows = match json.get("value") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    };
    rows.into_iter()
        .map(|v| match v {
            Value::Object(o) => o.into_iter().filter(|(k, _)| !k.contains('@')).collect(),
            other => {
                let mut m = Map::new();
                m.insert("Value".into(), other);
                m
            }
        })
        .collect()
}

fn parse(page: &str, store: &mut ResultStore) -> PageInfo {
    parse_page(page.as_bytes(), store, None, &mut |_| {}).unwrap()
}

/// The store holds exactly the reference rows: same keys in the same order, same values, same
/// cell texts, absent keys apart from nulls.
fn assert_same(store: &ResultStore, expected: &[Map<String, Value>]) {
    assert_eq!(store.len(), expected.len());
    for (i, want) in expected.iter().enumerate() {
        let got = store.row_object(i);
        assert_eq!(
            Value::Object(got.clone()).to_string(),
            Value::Object(want.clone()).to_string(),
            "row {i}"
        );
        for (c, name) in store.columns().enumerate() {
            let want_cell = want.get(name);
            assert_eq!(store.cell_value(i, c).as_ref(), want_cell, "row {i} {name}");
            let mut want_text = String::new();
            if let Some(v) = want_cell {
                value_text(v, &mut want_text);
            }
            assert_eq!(store.cell_string(i, c), want_text, "row {i} {name}");
        }
    }
}

const SHAPES: &str = r##"{
  "@odata.context": "https://x/$metadata#Collection(Exchange.GenericHashTable)",
  "value": [
    {"@odata.type": "#Exchange.Mailbox", "Name": "ann", "Size": 42, "Big": 18446744073709551615,
     "Neg": -9223372036854775808, "Ratio": 0.25, "On": true, "Off": false, "None": null,
     "Emails": ["SMTP:ann@contoso.com", "smtp:ann@contoso.onmicrosoft.com"], "Empty": [],
     "Mixed": [1, null, true, ["x", "y"], {"k": "v"}], "Nested": {"A": {"B": [1, 2]}, "C": null},
     "Unicode": "Zoë Øvergård 佐藤 花子 🎉", "Escaped": "tab\tquote\" slash\\ \u00e9 \ud83c\udf89",
     "Size@odata.type": "#Int64"},
    {"Name": "bob", "Size": 7, "Later": "only here", "None": "now text", "Ratio": 3},
    {"Name": "dup", "Size": 1, "Name": "dup2", "Emails": ["a"], "Size": 2},
    {},
    "a bare string",
    12,
    null,
    ["an", "array"]
  ],
  "@odata.nextLink": "https://x/next?$skiptoken=abc"
}"##;

#[test]
fn every_json_shape_is_kept_like_serde_json_keeps_it() {
    let mut s = ResultStore::new();
    let info = parse(SHAPES, &mut s);
    assert_eq!(info.rows, 8);
    assert_eq!(
        info.next_link.as_deref(),
        Some("https://x/next?$skiptoken=abc")
    );
    assert_same(&s, &reference_rows(SHAPES));
    // Typed cells.
    let col = |n: &str| s.column_index(n).unwrap();
    assert_eq!(s.cell(0, col("Size")), Cell::Int(42));
    assert_eq!(s.cell(0, col("Big")), Cell::UInt(u64::MAX));
    assert_eq!(s.cell(0, col("Neg")), Cell::Int(i64::MIN));
    assert_eq!(s.cell(0, col("Ratio")), Cell::Float(0.25, "0.25"));
    assert_eq!(s.cell(0, col("On")), Cell::Bool(true));
    assert_eq!(s.cell(0, col("None")), Cell::Null);
    assert_eq!(s.cell(1, col("Emails")), Cell::Absent);
    assert_eq!(s.cell(0, col("Later")), Cell::Absent);
    assert_eq!(s.cell_value(0, col("Later")), None);
    assert_eq!(s.cell(1, col("Later")), Cell::Str("only here"));
    assert_eq!(
        s.cell(0, col("Escaped")),
        Cell::Str("tab\tquote\" slash\\ é 🎉")
    );
    assert_eq!(
        s.cell_string(0, col("Emails")),
        "SMTP:ann@contoso.com;smtp:ann@contoso.onmicrosoft.com"
    );
    assert_eq!(s.cell_string(0, col("Mixed")), r#"1;;true;x;y;{"k":"v"}"#);
    assert_eq!(
        s.cell(0, col("Nested")),
        Cell::Json(r#"{"A":{"B":[1,2]},"C":null}"#)
    );
    // Annotations are gone; a repeated key keeps its first place and its last value.
    assert!(s.column_index("@odata.type").is_none());
    assert!(s.column_index("Size@odata.type").is_none());
    assert_eq!(
        Value::Object(s.row_object(2)).to_string(),
        r#"{"Name":"dup2","Size":2,"Emails":["a"]}"#
    );
    assert_eq!(s.row(3).cells().count(), 0);
    assert_eq!(s.cell(4, col("Value")), Cell::Str("a bare string"));
    assert_eq!(s.cell(7, col("Value")), Cell::Json(r#"["an","array"]"#));
}

#[test]
fn columns_are_the_union_in_first_seen_order_across_pages() {
    let mut s = ResultStore::new();
    parse(r#"{"value":[{"A":1,"B":2},{"B":3,"C":4}]}"#, &mut s);
    parse(
        r#"{"@odata.nextLink":null,"value":[{"D":5,"A":6},{"C":7}]}"#,
        &mut s,
    );
    assert_eq!(s.columns().collect::<Vec<_>>(), ["A", "B", "C", "D"]);
    let d = s.column_index("D").unwrap();
    assert_eq!(
        (0..4).map(|r| s.cell(r, d)).collect::<Vec<_>>(),
        [Cell::Absent, Cell::Absent, Cell::Int(5), Cell::Absent]
    );
    // Row 2 keeps its own key order.
    assert_eq!(
        s.row(2).cells().map(|(k, _)| k).collect::<Vec<_>>(),
        ["D", "A"]
    );
    let expected: Vec<_> = [
        json!({"A":1,"B":2}),
        json!({"B":3,"C":4}),
        json!({"D":5,"A":6}),
        json!({"C":7}),
    ]
    .into_iter()
    .map(|v| v.as_object().unwrap().clone())
    .collect();
    assert_same(&s, &expected);
}

#[test]
fn floats_keep_a_text_that_would_change() {
    let mut s = ResultStore::new();
    parse(
        r#"{"value":[{"F":1.50,"E":1e5,"H":123456789012345678901234567890,"Z":-0,"P":2.5}]}"#,
        &mut s,
    );
    let text = |n: &str| s.cell_string(0, s.column_index(n).unwrap());
    assert_eq!(text("F"), "1.50");
    assert_eq!(text("E"), "1e5");
    assert_eq!(text("H"), "123456789012345678901234567890");
    assert_eq!(text("Z"), "-0");
    assert_eq!(text("P"), "2.5");
    assert_eq!(s.cell(0, 0), Cell::Float(1.5, "1.50"));
    assert_eq!(s.cell_value(0, 1), Some(json!(100000.0)));
}

#[test]
fn page_members_in_any_order_and_value_absent_or_null() {
    let mut s = ResultStore::new();
    let mut seen = Vec::new();
    let info = parse_page(
        br#"{"value":[{"A":1}],"@adminapi.warnings":["careful",{"w":1}],"@odata.nextLink":"n1","@odata.context":"c"}"#,
        &mut s,
        None,
        &mut |l| seen.push(l.to_string()),
    )
    .unwrap();
    assert_eq!(seen, ["n1"]);
    assert_eq!(info.warnings, ["careful", r#"{"w":1}"#]);
    assert_eq!(info.rows, 1);
    for page in [
        r#"{"@adminapi.warnings":["only a warning"]}"#,
        r#"{"value":null}"#,
        r#"{"value":[]}"#,
        r#"{}"#,
    ] {
        let info = parse(page, &mut s);
        assert_eq!((info.rows, info.next_link), (0, None), "{page}");
    }
    assert_eq!(s.len(), 1);
    // A single object as `value` is one row; a scalar is {"Value": v}.
    parse(r#"{"value":{"A":2,"@x":0}}"#, &mut s);
    parse(r#"{"value":"text"}"#, &mut s);
    assert_eq!(s.len(), 3);
    assert_eq!(Value::Object(s.row_object(1)).to_string(), r#"{"A":2}"#);
    assert_eq!(
        Value::Object(s.row_object(2)).to_string(),
        r#"{"Value":"text"}"#
    );
}

#[test]
fn max_rows_cuts_the_page() {
    let mut s = ResultStore::new();
    let page = r#"{"value":[{"A":1},{"A":2},{"A":3}],"@odata.nextLink":"n"}"#;
    let info = parse_page(page.as_bytes(), &mut s, Some(2), &mut |_| {}).unwrap();
    assert_eq!((info.rows, info.skipped), (2, 1));
    assert_eq!(info.next_link.as_deref(), Some("n"));
    let info = parse_page(page.as_bytes(), &mut s, Some(0), &mut |_| {}).unwrap();
    assert_eq!((info.rows, info.skipped), (0, 3));
    assert_eq!(s.len(), 2);
}

#[test]
fn a_broken_page_leaves_the_store_as_it_was() {
    let mut s = ResultStore::new();
    parse(r#"{"value":[{"A":1,"B":"x"}]}"#, &mut s);
    let before = (s.len(), s.columns().map(String::from).collect::<Vec<_>>());
    for bad in [
        &br#"{"value":[{"A":2,"New":"y"},{"A":3,"Other":"#[..],
        br#"{"value":[{"A":2}],"#,
        br#"{"value":[{"A":2}]} trailing"#,
        br#"[{"A":2}]"#,
        br#"null"#,
        b"",
        b"\xff\xfe",
        br#"{"value":[{"A":"\ud800"}]}"#,
    ] {
        let e = parse_page(bad, &mut s, None, &mut |_| {}).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the page could not be read as JSON (")
        );
        assert_eq!(
            (s.len(), s.columns().map(String::from).collect::<Vec<_>>()),
            before,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // And it still takes rows after that.
    parse(r#"{"value":[{"B":"z","New":1}]}"#, &mut s);
    assert_eq!(s.columns().collect::<Vec<_>>(), ["A", "B", "New"]);
    assert_eq!(s.cell(1, 0), Cell::Absent);
    assert_eq!(s.row(1).cells().count(), 2);
}

#[test]
fn an_unfinished_row_is_discarded() {
    let mut s = ResultStore::new();
    s.push_value(&json!({"A": 1}));
    {
        let mut w = s.begin_row();
        w.push("A", Cell::Int(2));
        w.push("B", Cell::Str("x"));
    }
    assert_eq!(s.len(), 1);
    assert_eq!(s.columns().collect::<Vec<_>>(), ["A"]);
    s.push_value(&json!({"A": 3}));
    assert_eq!(s.cell(1, 0), Cell::Int(3));
}

#[test]
fn append_adds_leading_columns() {
    let mut contoso = ResultStore::new();
    contoso.push_value(&json!({"Name": "ann", "Size": 1}));
    contoso.push_value(&json!({"Name": "bob", "Extra": [1]}));
    let mut fabrikam = ResultStore::new();
    fabrikam.push_value(&json!({"Size": 2, "Name": "cy", "Tenant": "own"}));
    let mut all = ResultStore::new();
    all.append(
        &contoso,
        &[("Tenant", Cell::Str("contoso")), ("N", Cell::Int(1))],
    );
    all.append(
        &fabrikam,
        &[("Tenant", Cell::Str("fabrikam")), ("N", Cell::Int(2))],
    );
    assert_eq!(
        all.columns().collect::<Vec<_>>(),
        ["Tenant", "N", "Name", "Size", "Extra"]
    );
    let rows: Vec<String> = (0..all.len())
        .map(|r| Value::Object(all.row_object(r)).to_string())
        .collect();
    assert_eq!(
        rows,
        [
            r#"{"Tenant":"contoso","N":1,"Name":"ann","Size":1}"#,
            r#"{"Tenant":"contoso","N":1,"Name":"bob","Extra":[1]}"#,
            r#"{"Tenant":"own","N":2,"Size":2,"Name":"cy"}"#,
        ]
    );
}

#[test]
fn repeating_columns_are_dictionaries_and_unique_ones_are_not() {
    let mut s = ResultStore::new();
    for i in 0..20_000 {
        s.push_value(&json!({
            "Guid": format!("{i:08x}-0000-4000-8000-000000000000"),
            "Department": (["Sales", "IT", "Legal"][i % 3]),
            "Quota": "99 GB (106,300,440,576 bytes)",
            "Enabled": i % 2 == 0,
        }));
    }
    let dict: Vec<bool> = (0..4).map(|c| s.is_dictionary_column(c)).collect();
    assert_eq!(dict, [false, true, true, true]);
    // Memory: the unique text (20,000 × 36 bytes of GUIDs), 5 bytes per plain cell, 1 per
    // dictionary cell; while filling, the vectors' spare capacity on top.
    let before = s.memory_bytes();
    s.shrink_to_fit();
    let after = s.memory_bytes();
    assert!(after > 20_000 * 36, "{after}");
    assert!(after < 20_000 * (36 + 5 + 3 + 2), "{after}");
    assert!(before > after && before < 2 * after, "{before} {after}");
    assert_eq!(s.cell(19_998, 1), Cell::Str("Sales"));
    // Adding rows after shrink_to_fit still interns.
    s.push_value(&json!({"Department": "IT"}));
    assert_eq!(s.cell(20_000, 1), Cell::Str("IT"));
    assert!(s.is_dictionary_column(1));
}

#[test]
fn values_pushed_directly_match_serde_json() {
    let rows = [
        json!({"S": "x", "I": -1, "U": u64::MAX, "F": 0.1, "B": false, "N": null, "A": [1.5, "a"], "O": {"k": []}}),
        json!("scalar"),
        json!({"@odata.id": "x", "S": "y"}),
    ];
    let mut s = ResultStore::new();
    for r in &rows {
        s.push_value(r);
    }
    let page = json!({ "value": rows }).to_string();
    assert_same(&s, &reference_rows(&page));
    let mut w = s.begin_row();
    w.push("F", Cell::Float(2.0, ""));
    w.push("U", Cell::UInt(5));
    w.push("J", Cell::Json(r#"{ "a" : 1.50 }"#));
    w.finish();
    assert_eq!(
        s.cell(3, s.column_index("F").unwrap()),
        Cell::Float(2.0, "2.0")
    );
    assert_eq!(s.cell(3, s.column_index("U").unwrap()), Cell::Int(5));
    assert_eq!(
        s.cell(3, s.column_index("J").unwrap()),
        Cell::Json(r#"{"a":1.5}"#)
    );
}

#[test]
fn equal_stores_hold_the_same_rows_whatever_their_encoding() {
    let rows = [
        json!({"Name": "a", "N": 1, "Tags": ["x"]}),
        json!({"N": 2, "Name": "b"}),
        json!({"Name": null}),
    ];
    let mut one = ResultStore::new();
    let mut two = ResultStore::new();
    for r in &rows {
        one.push_value(r);
    }
    // The same rows through a page and an append: other internals, the same contents.
    let page = serde_json::to_string(&json!({ "value": rows })).unwrap();
    let mut parsed = ResultStore::new();
    parse(&page, &mut parsed);
    two.append(&parsed, &[]);
    assert_eq!(one, two);
    let mut three = two.clone();
    three.push_value(&json!({"Name": "c"}));
    assert_ne!(one, three, "one row more");
    let mut reordered = ResultStore::new();
    for r in [&rows[1], &rows[0], &rows[2]] {
        reordered.push_value(r);
    }
    assert_ne!(one, reordered, "rows in another order");
    let mut other_cell = ResultStore::new();
    for r in [
        json!({"Name": "a", "N": 1, "Tags": ["y"]}),
        rows[1].clone(),
        rows[2].clone(),
    ] {
        other_cell.push_value(&r);
    }
    assert_ne!(one, other_cell, "one cell differs");
}

#[test]
fn confirmation_and_non_terminating_errors() {
    let mut s = ResultStore::new();
    let info = parse(
        r#"{"@adminapi.confirmationmessage":"Are you sure?\nRemoving transport rule \"X\".","@odata.context":"c"}"#,
        &mut s,
    );
    assert_eq!(
        info.confirmation.as_deref(),
        Some("Are you sure?\nRemoving transport rule \"X\".")
    );
    assert_eq!((info.rows, s.len()), (0, 0));
    let info = parse(
        r#"{"value":[],"@adminapi.errors":[{"target":"nobody@x","code":"NotFound","message":"The operation couldn't be performed because object 'nobody@x' couldn't be found."},"plain text",{"Message":"no target"},{"odd":1}]}"#,
        &mut s,
    );
    assert_eq!(info.confirmation, None);
    assert_eq!(info.errors.len(), 4);
    assert_eq!(info.errors[0].target.as_deref(), Some("nobody@x"));
    assert_eq!(info.errors[0].code.as_deref(), Some("NotFound"));
    assert!(
        info.errors[0]
            .to_string()
            .starts_with("nobody@x: The operation")
    );
    assert_eq!(info.errors[1].to_string(), "plain text");
    assert_eq!(info.errors[2].to_string(), "no target");
    assert_eq!(info.errors[3].message, r#"{"odd":1}"#);
}

/// `append` without leading cells goes column by column: the same store as pushing each row of
/// the pages in turn, across pages with other columns and key orders, repeated and unique values
/// (columns turning plain half-way), nulls, absent keys, numbers, arrays and a store the pages
/// are appended to after `shrink_to_fit` and after rows of its own.
#[test]
fn appending_pages_column_by_column_is_pushing_their_rows() {
    let row = |i: usize| -> Value {
        let mut m = Map::new();
        if i % 7 == 3 {
            m.insert("Late".into(), json!(i)); // a column first named by a later page
        }
        m.insert("Name".into(), json!(format!("user{i:06}")));
        m.insert("Dept".into(), json!(["IT", "Sales", "Legal"][i % 3]));
        if !i.is_multiple_of(5) {
            m.insert("Size".into(), json!(i % 4)); // absent in every fifth row
        }
        m.insert("Tags".into(), json!(["a", format!("t{}", i % 2)]));
        m.insert("Null".into(), Value::Null);
        if i > 6000 {
            m.insert("Big".into(), json!(u64::MAX - i as u64)); // unique after a while
            m.insert("F".into(), json!(0.5 + (i % 3) as f64));
        }
        Value::Object(m)
    };
    let mut by_rows = ResultStore::new();
    let mut by_pages = ResultStore::new();
    by_rows.push_value(&json!({"Own": 1, "Dept": "IT"}));
    by_pages.push_value(&json!({"Own": 1, "Dept": "IT"}));
    by_pages.shrink_to_fit();
    let mut start = 0;
    for size in [0, 1, 999, 1000, 4096, 3000, 1] {
        let rows: Vec<Value> = (start..start + size).map(row).collect();
        start += size;
        for r in &rows {
            by_rows.push_value(r);
        }
        let mut page = ResultStore::new();
        parse(&json!({ "value": rows }).to_string(), &mut page);
        by_pages.append(&page, &[]);
        assert_eq!(by_pages, by_rows, "after a page of {size}");
    }
    assert_eq!(by_pages.len(), 9098);
    assert_eq!(
        by_pages.columns().collect::<Vec<_>>(),
        [
            "Own", "Dept", "Name", "Tags", "Null", "Size", "Late", "Big", "F"
        ]
    );
    assert!(by_pages.is_dictionary_column(1), "Dept repeats");
    assert!(!by_pages.is_dictionary_column(2), "Name is unique");
    // A row written after an append predicts the appended rows' keys and still lands right.
    by_rows.push_value(&row(1));
    by_pages.push_value(&row(1));
    assert_eq!(by_pages, by_rows);
    // An empty store appended changes nothing; a store appended to an empty one is a copy.
    by_pages.append(&ResultStore::new(), &[]);
    assert_eq!(by_pages, by_rows);
    let mut copy = ResultStore::new();
    copy.append(&by_rows, &[]);
    assert_eq!(copy, by_rows);
}

/// Page stores (no dictionaries) hold the same rows as a result's store; taking pages into a
/// result gives the same store as pushing the rows, with the result's dictionaries, whether the
/// first page is a page store or not.
#[test]
fn page_stores_hold_the_same_rows_and_results_keep_dictionaries() {
    let rows: Vec<Value> = (0..5000)
        .map(|i| json!({"Name": format!("u{i}"), "Dept": if i % 2 == 0 { "IT" } else { "HR" }, "N": i % 3}))
        .collect();
    let mut pushed = ResultStore::new();
    for r in &rows {
        pushed.push_value(r);
    }
    let mut taken = ResultStore::new();
    for chunk in rows.chunks(1000) {
        let mut page = ResultStore::new_page();
        parse(&json!({ "value": chunk }).to_string(), &mut page);
        assert!(!page.is_dictionary_column(1), "a page keeps no dictionary");
        let mut plain = ResultStore::new();
        parse(&json!({ "value": chunk }).to_string(), &mut plain);
        assert_eq!(page, plain);
        taken.take_page(page);
    }
    assert_eq!(taken, pushed);
    assert!(taken.is_dictionary_column(1), "Dept repeats");
    assert!(!taken.is_dictionary_column(0), "Name is unique");
    // A result's own store (not a page) taken first is moved in, as it is.
    let mut moved = ResultStore::new();
    moved.take_page(pushed.clone());
    assert_eq!(moved, pushed);
    // Rows without columns are kept too, page after page.
    let mut empty_rows = ResultStore::new();
    for _ in 0..2 {
        let mut page = ResultStore::new_page();
        parse(r#"{"value":[{},{}]}"#, &mut page);
        empty_rows.take_page(page);
    }
    assert_eq!(empty_rows.len(), 4);
}
