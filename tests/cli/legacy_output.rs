//! The command line's output code before the result store (`cli::run` up to issue 11, item 3),
//! kept verbatim as the reference the store's writers are compared with: rows as JSON maps,
//! CSV from their union of properties, the terminal table, and the JSON `run --format json`
//! streamed. Only the error type of `to_csv` changed (the CLI's error type is not public API
//! any more): it panics instead.

use serde_json::{Map, Value};

/// A result object without its `@` annotations.
pub fn clean_row(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(o) => o.into_iter().filter(|(k, _)| !k.contains('@')).collect(),
        other => {
            let mut m = Map::new();
            m.insert("Value".into(), other);
            m
        }
    }
}

/// A cell as text: null = empty, arrays joined with `;`, objects as JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        Value::Object(_) => v.to_string(),
        other => other.to_string(),
    }
}

/// Union of the properties, in order of first appearance.
pub fn columns(rows: &[Map<String, Value>]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in rows {
        for k in r.keys() {
            if seen.insert(k.as_str()) {
                out.push(k.clone());
            }
        }
    }
    out
}

pub fn to_csv(rows: &[Map<String, Value>]) -> String {
    let cols = columns(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    if !cols.is_empty() {
        w.write_record(&cols).unwrap();
    }
    for r in rows {
        w.write_record(cols.iter().map(|c| r.get(c).map(cell).unwrap_or_default()))
            .unwrap();
    }
    let bytes = w.into_inner().unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Properties shown first in a table when present (what PowerShell's default views lead with).
const LEADING: &[&str] = &[
    "Name",
    "DisplayName",
    "Identity",
    "PrimarySmtpAddress",
    "DomainName",
    "RecipientTypeDetails",
    "State",
    "Mode",
    "Priority",
    "Enabled",
];

/// A table no wider than `width`: the leading properties, then the others in order, as many as
/// fit; long cells are cut with `…`. Returns the text and how many properties were left out.
pub fn to_table(rows: &[Map<String, Value>], width: usize) -> (String, usize) {
    let all = columns(rows);
    let mut order: Vec<String> = LEADING
        .iter()
        .filter(|l| all.iter().any(|c| c == *l))
        .map(|s| s.to_string())
        .collect();
    order.extend(
        all.iter()
            .filter(|c| !LEADING.contains(&c.as_str()))
            .cloned(),
    );
    const MAX_COL: usize = 40;
    let natural = |c: &String| {
        rows.iter()
            .map(|r| r.get(c).map(cell).unwrap_or_default().chars().count())
            .chain(std::iter::once(c.chars().count()))
            .max()
            .unwrap_or(0)
            .clamp(1, MAX_COL)
    };
    let mut shown: Vec<(String, usize)> = Vec::new();
    let mut used = 0usize;
    for c in &order {
        let w = natural(c);
        let sep = if shown.is_empty() { 0 } else { 1 };
        if used + sep + w > width {
            if shown.is_empty() {
                shown.push((c.clone(), width.max(1)));
            }
            break;
        }
        used += sep + w;
        shown.push((c.clone(), w));
    }
    let cut = |s: &str, w: usize| -> String {
        let s: String = s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let n = s.chars().count();
        if n <= w {
            format!("{s}{}", " ".repeat(w - n))
        } else if w == 0 {
            String::new()
        } else {
            format!("{}…", s.chars().take(w - 1).collect::<String>())
        }
    };
    let mut out = String::new();
    let line = |cells: Vec<String>| cells.join(" ").trim_end().to_string();
    out.push_str(&line(shown.iter().map(|(c, w)| cut(c, *w)).collect()));
    out.push('\n');
    out.push_str(&line(shown.iter().map(|(_, w)| "-".repeat(*w)).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(
            shown
                .iter()
                .map(|(c, w)| cut(&r.get(c).map(cell).unwrap_or_default(), *w))
                .collect(),
        ));
        out.push('\n');
    }
    (out, order.len() - shown.len())
}

/// What `run --format json` printed for these rows (its streaming loop, verbatim).
pub fn to_json(rows: &[Map<String, Value>]) -> String {
    let mut out = String::new();
    let mut started = false;
    for r in rows {
        let sep = if started { ",\n  " } else { "[\n  " };
        started = true;
        let text = serde_json::to_string_pretty(&Value::Object(r.clone()))
            .unwrap()
            .replace('\n', "\n  ");
        out.push_str(&format!("{sep}{text}"));
    }
    out.push_str(if started { "\n]\n" } else { "[]\n" });
    out
}
