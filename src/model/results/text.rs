//! Text rules of result cells: how a JSON number is kept (exact integers, floats whose text
//! would change), when a nested value's text is already serde_json's compact form, and the
//! command line's cell text (null = empty, arrays joined with `;` recursively, objects as compact
//! JSON, numbers and booleans as JSON text).

use serde_json::Value;

use super::column::tag;

/// The tag a JSON number's text is kept under (see [`tag`]).
pub(super) fn number_tag(text: &str) -> u8 {
    let integer = !text.contains(['.', 'e', 'E']);
    if integer && text != "-0" {
        if text.parse::<i64>().is_ok() {
            return tag::INT;
        }
        if text.parse::<u64>().is_ok() {
            return tag::UINT;
        }
    }
    match text.parse::<f64>() {
        Ok(f) if float_text(f).as_deref() == Some(text) => tag::FLOAT,
        _ => tag::FLOAT_TEXT,
    }
}

/// What serde_json writes for a float (None for NaN and infinities, which JSON cannot hold).
pub(super) fn float_text(f: f64) -> Option<String> {
    serde_json::Number::from_f64(f).map(|n| n.to_string())
}

/// Whether `raw` (a JSON array or object as received) is already exactly what serde_json's
/// compact writer would produce for it. Conservative: objects (a key may repeat), escapes,
/// whitespace, fractions, exponents, `-0` and very long integers all say no.
pub(super) fn is_canonical_compact(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut in_str = false;
    let mut digits = 0;
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            match c {
                b'"' => in_str = false,
                b'\\' => return false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() {
            digits += 1;
            if digits > 18 {
                return false;
            }
            continue;
        }
        let after_digit = digits > 0;
        digits = 0;
        match c {
            b'"' => in_str = true,
            b' ' | b'\n' | b'\r' | b'\t' | b'{' | b'.' => return false,
            b'e' | b'E' if after_digit => return false,
            b'-' if b.get(i + 1) == Some(&b'0') => return false,
            _ => {}
        }
    }
    true
}

/// serde_json's compact text of a nested value as received (re-written when not canonical).
pub(super) fn compact(raw: &str) -> Result<std::borrow::Cow<'_, str>, serde_json::Error> {
    if is_canonical_compact(raw) {
        return Ok(raw.into());
    }
    Ok(serde_json::from_str::<Value>(raw)?.to_string().into())
}

/// The elements of a compact JSON array whose elements are all strings without escapes
/// (`["a","b"]`, `[]`): the common case of mailbox properties, read without parsing.
pub(super) fn string_elements(json: &str) -> Option<impl Iterator<Item = &str>> {
    const SEP: &str = "\",\"";
    let empty = json == "[]";
    let inner = if empty {
        ""
    } else {
        json.strip_prefix("[\"")?.strip_suffix("\"]")?
    };
    if inner.contains('\\') || inner.split(SEP).any(|p| p.contains('"')) {
        return None;
    }
    Some(inner.split(SEP).filter(move |_| !empty))
}

/// Appends the command line's text of a JSON value: null = empty, strings bare, arrays joined
/// with `;` (recursively), objects as compact JSON, numbers and booleans as JSON text.
pub fn value_text(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(';');
                }
                value_text(e, out);
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Appends the text of a stored cell (`tag`, arena text).
pub(super) fn cell_text(t: u8, s: &str, out: &mut String) {
    match t {
        tag::ABSENT | tag::NULL => {}
        tag::FALSE => out.push_str("false"),
        tag::TRUE => out.push_str("true"),
        tag::JSON => json_text(s, out),
        _ => out.push_str(s),
    }
}

/// The text of a nested value kept as compact JSON.
fn json_text(json: &str, out: &mut String) {
    if !json.starts_with('[') {
        out.push_str(json); // an object: its compact JSON
        return;
    }
    if let Some(items) = string_elements(json) {
        for (i, s) in items.enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(s);
        }
        return;
    }
    match serde_json::from_str::<Value>(json) {
        Ok(v) => value_text(&v, out),
        Err(_) => out.push_str(json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_keep_their_kind_and_odd_texts() {
        assert_eq!(number_tag("0"), tag::INT);
        assert_eq!(number_tag("-42"), tag::INT);
        assert_eq!(number_tag("9223372036854775807"), tag::INT);
        assert_eq!(number_tag("9223372036854775808"), tag::UINT);
        assert_eq!(number_tag("18446744073709551615"), tag::UINT);
        assert_eq!(number_tag("18446744073709551616"), tag::FLOAT_TEXT);
        assert_eq!(number_tag("1.5"), tag::FLOAT);
        assert_eq!(number_tag("1.0"), tag::FLOAT);
        assert_eq!(number_tag("1.50"), tag::FLOAT_TEXT);
        assert_eq!(number_tag("1e5"), tag::FLOAT_TEXT);
        assert_eq!(number_tag("-0"), tag::FLOAT_TEXT);
        assert_eq!(number_tag("0.30000000000000004"), tag::FLOAT);
    }

    #[test]
    fn canonical_compact_is_what_serde_json_writes() {
        for raw in [
            r#"[]"#,
            r#"["a","b c","Zoë","x,y","]["]"#,
            r#"[1,-2,true,false,null,["n"]]"#,
        ] {
            assert!(is_canonical_compact(raw), "{raw}");
            let v: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(v.to_string(), raw);
        }
        for raw in [
            r#"[ "a" ]"#,
            r#"["a\u00e9"]"#,
            r#"["a\/b"]"#,
            r#"[1.50]"#,
            r#"[1e5]"#,
            r#"[-0]"#,
            r#"[123456789012345678901234]"#,
            r#"{"a":1,"a":2}"#,
        ] {
            assert!(!is_canonical_compact(raw), "{raw}");
            let v: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(compact(raw).unwrap(), v.to_string(), "{raw}");
        }
    }

    #[test]
    fn cell_text_follows_the_command_line() {
        let cases = [
            json!(["p@x", "q@x"]),
            json!([]),
            json!([""]),
            json!(["a,b", "c]d"]),
            json!([1, null, true, ["x", "y"], {"k": "v"}]),
            json!(["quote \" inside"]),
            json!({"k": [1, 2], "j": null}),
        ];
        for v in cases {
            let mut fast = String::new();
            cell_text(tag::JSON, &v.to_string(), &mut fast);
            let mut slow = String::new();
            value_text(&v, &mut slow);
            assert_eq!(fast, slow, "{v}");
        }
        let mut s = String::new();
        value_text(&json!([1, null, ["x", "y"], {"k": "v"}]), &mut s);
        assert_eq!(s, r#"1;;x;y;{"k":"v"}"#);
    }
}
