//! The cmdlet line (`model::cmdline`): no panic, refusals point inside the line, quoted text
//! and whole written lines parse back to what was written.

use exo_connect::engine::rest::CmdletRequest;
use exo_connect::model::cmdline::parse_cmdlet_line;
use exo_connect::model::powershell::quote;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{any_text, config};

/// A parameter value and how PowerShell spells it.
#[derive(Debug, Clone)]
enum Arg {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    List(Vec<String>),
    Hash(Vec<(String, String)>),
}

/// Always a quoted string (quote() leaves safe words bare, which may read as numbers).
fn quoted(s: &str) -> String {
    let q = quote(s);
    if q.starts_with('\'') {
        q
    } else {
        format!("'{q}'")
    }
}

impl Arg {
    fn written(&self) -> String {
        match self {
            Arg::Str(s) => quoted(s),
            Arg::Int(n) => n.to_string(),
            Arg::Bool(b) => format!("${b}"),
            Arg::Null => "$null".into(),
            Arg::List(v) => format!(
                "@({})",
                v.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(",")
            ),
            Arg::Hash(kv) => format!(
                "@{{{}}}",
                kv.iter()
                    .map(|(k, v)| format!("{k}={}", quoted(v)))
                    .collect::<Vec<_>>()
                    .join(";")
            ),
        }
    }
    fn json(&self) -> Value {
        match self {
            Arg::Str(s) => json!(s),
            Arg::Int(n) => json!(n),
            Arg::Bool(b) => json!(b),
            Arg::Null => Value::Null,
            Arg::List(v) => json!(v),
            Arg::Hash(kv) => {
                let mut m = Map::new();
                m.insert("@odata.type".into(), json!("#Exchange.GenericHashTable"));
                for (k, v) in kv {
                    m.insert(k.clone(), json!(v));
                }
                Value::Object(m)
            }
        }
    }
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        any_text(24).prop_map(Arg::Str),
        any::<i64>().prop_map(Arg::Int),
        any::<bool>().prop_map(Arg::Bool),
        Just(Arg::Null),
        prop::collection::vec(any_text(8), 0..4).prop_map(Arg::List),
        prop::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,6}", any_text(8), 0..3)
            .prop_map(|m| Arg::Hash(m.into_iter().collect())),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_line_is_parsed_or_refused_inside_it(
        s in prop_oneof![any_text(60), "(Get|Set)-[A-Za-z]{1,8} .{0,40}"]
    ) {
        match parse_cmdlet_line(&s) {
            Ok(line) => {
                prop_assert!(line.cmdlet.contains('-'));
                let _ = CmdletRequest::from_line(line).row_cap();
            }
            Err(e) => prop_assert!(e.position <= s.chars().count(), "{:?}", e),
        }
    }

    #[test]
    fn quoted_text_comes_back_as_itself(s in any_text(40)) {
        let q = quote(&s);
        let line = parse_cmdlet_line(&format!("Get-Thing -Name {q}"));
        if q.starts_with('\'') {
            let line = line.map_err(|e| TestCaseError::fail(format!("{q:?}: {e}")))?;
            prop_assert_eq!(line.get("Name"), Some(&Value::String(s)));
        } else {
            // A bare word: read as a string or a number, never refused.
            prop_assert!(line.is_ok(), "{:?}", q);
        }
    }

    #[test]
    fn a_written_line_parses_back_to_its_parameters(
        params in prop::collection::btree_map("[A-Za-z][A-Za-z0-9_]{0,8}", (arg(), any::<bool>()), 0..5)
    ) {
        // Parameter names are case-insensitive: keep one spelling of each.
        let mut seen = std::collections::HashSet::new();
        let params: Vec<_> = params
            .into_iter()
            .filter(|(k, _)| seen.insert(k.to_ascii_lowercase()))
            .collect();
        let mut line = "Get-Mailbox".to_string();
        let mut want = Map::new();
        for (name, (a, colon)) in &params {
            let sep = if *colon { ":" } else { " " };
            line.push_str(&format!(" -{name}{sep}{}", a.written()));
            want.insert(name.clone(), a.json());
        }
        let got = parse_cmdlet_line(&line).map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
        prop_assert_eq!(got.cmdlet, "Get-Mailbox");
        prop_assert_eq!(got.parameters, want, "{}", line);
    }
}
