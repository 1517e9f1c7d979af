//! The `-Filter` subset (`Prop -eq|-ne|-like|-notlike 'value'` joined by `-and`) and row
//! matching (also by `-RecipientTypeDetails`).

use serde_json::{Map, Value};

use super::param_error;
use crate::sim::admin::odata::ApiError;

/// One clause of the `-Filter` subset: `Prop -eq|-ne|-like|-notlike 'value'`.
#[derive(Debug, Clone)]
pub struct Clause {
    pub prop: String,
    pub op: Op,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Like,
    NotLike,
}

/// Parses `A -eq 'x' -and B -like 'y*'` against the properties of `sample`.
pub fn parse_filter(
    cmdlet: &str,
    text: &str,
    sample: &Map<String, Value>,
) -> Result<Vec<Clause>, ApiError> {
    let bad = |why: &str| {
        param_error(
            cmdlet,
            format!(
                "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"Invalid filter syntax. {why} Supported here: Property -eq|-ne|-like|-notlike 'value', joined by -and.\" (filter: {text})"
            ),
        )
    };
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return Err(bad("The filter is empty."));
    }
    split_and(t)
        .iter()
        .map(|part| parse_clause(part, sample).map_err(|why| bad(&why)))
        .collect()
}

/// Splits on ` -and ` outside quotes (case-insensitive).
fn split_and(t: &str) -> Vec<String> {
    let chars: Vec<char> = t.chars().collect();
    let lower: Vec<char> = t.to_ascii_lowercase().chars().collect();
    let mut parts = Vec::new();
    let (mut start, mut i) = (0, 0);
    let mut in_quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match in_quote {
            Some(q) if c == q => in_quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => in_quote = Some(c),
            None => {
                let rest: String = lower[i..].iter().take(6).collect();
                if rest.starts_with(" -and ") {
                    parts.push(chars[start..i].iter().collect::<String>());
                    start = i + 6;
                    i += 6;
                    continue;
                }
            }
        }
        i += 1;
    }
    parts.push(chars[start..].iter().collect::<String>());
    parts
}

/// One `Prop -op 'value'` clause; Err = why it is invalid.
fn parse_clause(part: &str, sample: &Map<String, Value>) -> Result<Clause, String> {
    let part = part
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let mut it = part.splitn(3, char::is_whitespace);
    let prop = it.next().unwrap_or_default();
    let op = it.next().unwrap_or_default().to_ascii_lowercase();
    let value = it.next().unwrap_or_default().trim();
    let op = match op.as_str() {
        "-eq" => Op::Eq,
        "-ne" => Op::Ne,
        "-like" => Op::Like,
        "-notlike" => Op::NotLike,
        "" => return Err(format!("'{part}' has no operator.")),
        other => return Err(format!("The operator '{other}' is not supported.")),
    };
    let Some(canonical) = sample.keys().find(|k| k.eq_ignore_ascii_case(prop)) else {
        return Err(format!("'{prop}' is not a recognized filterable property."));
    };
    let value = if value.eq_ignore_ascii_case("$null") {
        String::new()
    } else if value.eq_ignore_ascii_case("$true") {
        "True".into()
    } else if value.eq_ignore_ascii_case("$false") {
        "False".into()
    } else if value.len() >= 2
        && ((value.starts_with('\'') && value.ends_with('\''))
            || (value.starts_with('"') && value.ends_with('"')))
    {
        value[1..value.len() - 1].to_string()
    } else {
        return Err(format!("The value {value} must be quoted."));
    };
    Ok(Clause {
        prop: canonical.clone(),
        op,
        value,
    })
}

fn as_text(v: Option<&Value>) -> Vec<String> {
    match v {
        None | Some(Value::Null) => vec![String::new()],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Bool(b)) => vec![if *b { "True" } else { "False" }.into()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect(),
        Some(other) => vec![other.to_string()],
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether a row passes every clause.
pub fn row_matches(row: &Map<String, Value>, clauses: &[Clause], types: &[String]) -> bool {
    if !types.is_empty() {
        let d = row
            .get("RecipientTypeDetails")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !types.iter().any(|t| t.eq_ignore_ascii_case(d)) {
            return false;
        }
    }
    clauses.iter().all(|c| {
        let vals = as_text(row.get(&c.prop));
        match c.op {
            Op::Eq => vals.iter().any(|v| v.eq_ignore_ascii_case(&c.value)),
            Op::Ne => !vals.iter().any(|v| v.eq_ignore_ascii_case(&c.value)),
            Op::Like => vals.iter().any(|v| glob(&c.value, v)),
            Op::NotLike => !vals.iter().any(|v| glob(&c.value, v)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_filter_parse() {
        assert!(glob("a*", "Anna"));
        assert!(glob("*nez*", "jose.nunez00001"));
        assert!(!glob("b*", "anna"));
        let mut sample = Map::new();
        sample.insert("RecipientTypeDetails".into(), "UserMailbox".into());
        sample.insert("Alias".into(), "x".into());
        let c = parse_filter(
            "Get-Mailbox",
            "RecipientTypeDetails -eq 'UserMailbox' -and Alias -like 'jo -and x*'",
            &sample,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].value, "jo -and x*");
        assert!(parse_filter("Get-Mailbox", "Nope -eq 'x'", &sample).is_err());
        assert!(parse_filter("Get-Mailbox", "Alias -gt 'x'", &sample).is_err());
        assert!(parse_filter("Get-Mailbox", "Alias -eq x", &sample).is_err());
    }
}
