//! "Run for each row": a cmdlet line with `{Column}` placeholders filled from the rows of a
//! table (a CSV file, a result selection) into one cmdlet line per row.
//!
//! A placeholder is `{Name}` where `Name` is one of the table's columns (case-insensitive);
//! it becomes the row's value as a PowerShell single-quoted string (`'` doubled), so values
//! with blanks, commas or quotes stay one value. A placeholder already inside quotes
//! (`'{Name}'`, `"{Name}"`) is replaced with its quotes. An empty value becomes `$null`.
//! `{Word}` naming no column is an error that lists the columns; braces that are not a
//! placeholder (`@{Add='x'}`) are left alone.

/// The columns named by placeholders in `template`, checked against `columns`.
pub fn placeholders(template: &str, columns: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for name in candidates(template) {
        let Some(col) = columns
            .iter()
            .find(|c| c.trim().eq_ignore_ascii_case(&name))
        else {
            return Err(format!(
                "{{{name}}} names no column of the table; its columns are: {}",
                columns.join(", ")
            ));
        };
        if !out.contains(col) {
            out.push(col.clone());
        }
    }
    Ok(out)
}

/// `{Word}` spans of the template (not `@{…}` hashtables).
fn candidates(template: &str) -> Vec<String> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '{' && (i == 0 || chars[i - 1] != '@') {
            let end = chars[i + 1..].iter().position(|c| *c == '}');
            if let Some(len) = end {
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '-' | '.'))
                {
                    out.push(name.trim().to_string());
                }
                i += len + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// A value as a PowerShell literal: `'text'` (quotes doubled), or `$null` when empty.
pub fn literal(value: &str) -> String {
    if value.is_empty() {
        "$null".into()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// The template with every placeholder replaced by the row's value (`value(column)`).
pub fn fill(template: &str, columns: &[String], value: &dyn Fn(&str) -> String) -> String {
    let mut line = template.to_string();
    for col in columns {
        let lit = literal(&value(col));
        for pat in [
            format!("'{{{col}}}'"),
            format!("\"{{{col}}}\""),
            format!("{{{col}}}"),
        ] {
            line = replace_ci(&line, &pat, &lit);
        }
    }
    line
}

/// `s` with every case-insensitive occurrence of `pat` replaced.
fn replace_ci(s: &str, pat: &str, with: &str) -> String {
    let lower = s.to_lowercase();
    let p = pat.to_lowercase();
    if lower.len() != s.len() || p.is_empty() {
        return s.replace(pat, with);
    }
    let mut out = String::new();
    let mut last = 0;
    for (i, _) in lower.match_indices(&p) {
        out.push_str(&s[last..i]);
        out.push_str(with);
        last = i + p.len();
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_are_filled_as_single_quoted_values() {
        let c = cols(&["Identity", "Department"]);
        let t = "Set-Mailbox -Identity {identity} -CustomAttribute1 '{Department}' -X @{Add='a'}";
        assert_eq!(placeholders(t, &c).unwrap(), ["Identity", "Department"]);
        let used = placeholders(t, &c).unwrap();
        let line = fill(t, &used, &|col| match col {
            "Identity" => "ann@contoso.com".into(),
            _ => "R&D, O'Neil's".into(),
        });
        assert_eq!(
            line,
            "Set-Mailbox -Identity 'ann@contoso.com' -CustomAttribute1 'R&D, O''Neil''s' -X @{Add='a'}"
        );
        assert_eq!(
            fill("X -A {Identity}", &c[..1], &|_| String::new()),
            "X -A $null"
        );
        let e = placeholders("Set-Mailbox {Nope}", &c).unwrap_err();
        assert!(
            e.contains("{Nope} names no column") && e.contains("Identity, Department"),
            "{e}"
        );
    }
}
