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

/// A table whose rows fill the placeholders: a CSV file's, or a result selection's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkTable {
    pub columns: Vec<String>,
    /// One value per column, in the columns' order.
    pub rows: Vec<Vec<String>>,
}

/// Most rows one bulk run takes.
pub const MAX_ROWS: usize = 100_000;

/// Whether a cmdlet only reads (Get-/Test-/Search-…): no confirmation, no `Confirm: false`.
pub fn reads_only(cmdlet: &str) -> bool {
    let verb = cmdlet.split('-').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        verb.as_str(),
        "get" | "test" | "search" | "export" | "find" | "measure" | "resolve"
    )
}

/// A CSV file's columns (its first line) and rows; the error says what to fix.
pub fn read_csv(path: &std::path::Path) -> Result<BulkTable, String> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| format!("cannot read it ({e})"))?;
    let columns: Vec<String> = rd
        .headers()
        .map_err(|e| format!("no header line ({e})"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for (n, r) in rd.records().enumerate() {
        let r = r.map_err(|e| format!("row {} cannot be read ({e})", n + 1))?;
        if rows.len() == MAX_ROWS {
            return Err(format!("more than {MAX_ROWS} rows: split the file"));
        }
        rows.push(r.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err("it has no rows".into());
    }
    Ok(BulkTable { columns, rows })
}

/// Every row's cmdlet line and its parse (so a bad row is found before anything runs); the
/// error names the unknown placeholder or the row (1-based) whose line does not parse.
pub fn lines(
    template: &str,
    table: &BulkTable,
) -> Result<Vec<(String, super::cmdline::CmdletLine)>, String> {
    let used = placeholders(template, &table.columns)?;
    let at: Vec<usize> = used
        .iter()
        .map(|u| table.columns.iter().position(|c| c == u).unwrap_or(0))
        .collect();
    let mut out = Vec::with_capacity(table.rows.len());
    for (n, row) in table.rows.iter().enumerate() {
        let line = fill(template, &used, &|col| {
            let k = used.iter().position(|u| u == col).unwrap_or(0);
            row.get(at[k]).cloned().unwrap_or_default()
        });
        let parsed = super::cmdline::parse_cmdlet_line(&line)
            .map_err(|e| format!("row {}: {} (line: {line})", n + 1, e.message))?;
        out.push((line, parsed));
    }
    Ok(out)
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

    #[test]
    fn every_rows_line_is_built_and_parsed_before_anything_runs() {
        let table = BulkTable {
            columns: cols(&["Identity", "Dept"]),
            rows: vec![
                vec!["a@x".into(), "R&D".into()],
                vec!["b@x".into(), String::new()],
            ],
        };
        let l = lines(
            "Set-Mailbox -Identity {Identity} -CustomAttribute1 {Dept}",
            &table,
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[0].0,
            "Set-Mailbox -Identity 'a@x' -CustomAttribute1 'R&D'"
        );
        assert_eq!(l[0].1.get("CustomAttribute1").unwrap(), "R&D");
        assert!(l[1].1.get("CustomAttribute1").unwrap().is_null());
        let e = lines("Set-Mailbox -Identity {Nope}", &table).unwrap_err();
        assert!(e.contains("{Nope}"), "{e}");
        let e = lines("Set-Mailbox -Identity '{Identity}", &table).unwrap_err();
        assert!(e.starts_with("row 1:"), "{e}");
        assert!(reads_only("Get-Mailbox") && !reads_only("Set-Mailbox"));
        let dir = std::env::temp_dir().join(format!("bulk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.csv");
        std::fs::write(&p, "\u{feff}Identity,Dept\na@x,R&D\n").unwrap();
        let t = read_csv(&p).unwrap();
        assert_eq!(t.columns, ["Identity", "Dept"]);
        assert_eq!(t.rows, [["a@x", "R&D"]]);
        std::fs::write(&p, "Identity\n").unwrap();
        assert!(read_csv(&p).unwrap_err().contains("no rows"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
