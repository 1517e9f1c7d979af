//! `exo-connect run NAME [--format table|json|csv] [--page-size N] -- <cmdlet line>`.
//!
//! Loads the profile, connects through the engine's `Connector` (the cached sign-in, else an
//! interactive one with its progress on stderr; the session registry proves access) and runs the
//! cmdlet, printing its results on stdout: JSON = an array of the result objects without their
//! `@` annotations (streamed page by page), CSV = a header row from the union of the properties
//! (arrays joined with `;`), table = the properties that fit the terminal width. Warnings,
//! retries and progress go to stderr. Exit 0 ok, 1 sign-in/cmdlet/service failure, 2 usage.
//! Several profiles (names, `--folder`, `--tag`, `--all`, `--compare`) are a fan-out
//! (`cli/fanout.rs`; `cli/mod.rs` picks which).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value};

use super::signin::{connect_error, rest_message, session_error};
use super::{CliError, CliResult};
use crate::engine::connect::ConnectOptions;
use crate::engine::rest::{CmdletRequest, RunEvent};
use crate::model::cmdline::parse_cmdlet_line;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// The exit codes `exo-connect run --help` lists.
pub const EXIT_CODES: &str = "Several profiles (several NAMEs, --folder, --tag, --all) run the cmdlet on each, at most --concurrency at once: a line per profile on stderr (`NAME: N rows in S s`, `NAME: failed: WHY`), then a summary (`190 done, 8 failed, 2 skipped`); the merged result on stdout with `Profile` and `Tenant` first (with --compare: the comparison of the profiles by --key against --baseline). A profile that needs an interactive sign-in prompts on a terminal, one at a time; without a terminal it fails with `needs sign-in: run exo-connect login NAME` and the others go on.

Exit codes:
  0  success (a fan-out: every profile succeeded)
  1  a sign-in, cmdlet or service failure (a fan-out: any profile failed, was skipped or cancelled; the others' rows are still printed)
  2  a usage error (bad option, unknown profile, nothing selected)";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Profile name(s). One name runs the cmdlet with that profile; several run it on each.
    pub names: Vec<String>,
    /// Run on every profile of this folder (and its subfolders); repeatable.
    #[arg(long)]
    pub folder: Vec<String>,
    /// Run on every profile with this tag; repeatable.
    #[arg(long)]
    pub tag: Vec<String>,
    /// Run on every saved profile.
    #[arg(long)]
    pub all: bool,
    /// Profiles running at once in a fan-out (1..=64).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Write the comparison of the profiles' results instead of the rows: the items (keyed by
    /// --key) × the profiles, and which properties differ from the --baseline profile's.
    #[arg(long)]
    pub compare: bool,
    /// The column that names an item in --compare (default Identity, else Name).
    #[arg(long, requires = "compare")]
    pub key: Option<String>,
    /// The profile the others are compared with (default: the first).
    #[arg(long, requires = "compare")]
    pub baseline: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Page size (`Prefer: odata.maxpagesize`, 1..=1000); default: the profile's.
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Password method: read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Give up waiting for an interactive sign-in after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub signin_timeout: u64,
    /// The cmdlet line, after `--`: one cmdlet with parameters, e.g. `-- Get-Mailbox -ResultSize 10`.
    /// Give it as one quoted argument to keep PowerShell quoting, or as separate words.
    #[arg(last = true, required = true, num_args = 1..)]
    pub line: Vec<String>,
}

/// Re-assembles the words after `--` into one cmdlet line. One word = the line as typed; several
/// words (the shell removed the quotes) = each word with blanks is single-quoted again.
pub fn join_line(words: &[String]) -> String {
    if words.len() == 1 {
        return words[0].clone();
    }
    words
        .iter()
        .map(|w| {
            let needs = w.chars().any(char::is_whitespace) || w.is_empty();
            if needs && !w.starts_with(['@', '\'', '"']) {
                format!("'{}'", w.replace('\'', "''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: RunArgs) -> CliResult {
    let Some(name) = args.names.first().cloned() else {
        return Err(CliError::Usage(
            "give a profile name, several, --folder F, --tag T or --all".into(),
        ));
    };
    let line = join_line(&args.line);
    let parsed = parse_cmdlet_line(&line).map_err(|e| CliError::Usage(e.message))?;
    if let Some(p) = args.page_size
        && !(1..=1000).contains(&p)
    {
        return Err(CliError::Usage(format!(
            "--page-size {p} is out of range: give a number from 1 to 1000"
        )));
    }
    let request = CmdletRequest::from_line(parsed);
    request
        .row_cap()
        .map_err(|e| CliError::Usage(e.message.clone()))?;
    let mut profile = super::find_profile(&name)?;
    if let Some(p) = args.page_size {
        profile.page_size = p;
    }
    let password = if args.password_stdin {
        Some(super::read_secret_line("--password-stdin")?)
    } else {
        None
    };
    let rt = super::runtime()?;
    rt.block_on(async move {
        let connector =
            super::signin::connector(Duration::from_secs(args.signin_timeout.max(1))).await?;
        let prompt = super::signin::TerminalPrompt::new(password);
        let opts = ConnectOptions {
            cancel: super::signin::cancel_on_ctrl_c(),
            ..Default::default()
        };
        let base = profile
            .effective_endpoints()
            .map(|e| e.rest_base.trim_end_matches('/').to_string());
        let session = connector
            .connect(&profile, &prompt, &opts)
            .await
            .map_err(connect_error)?
            .session;
        if base.is_some_and(|b| session.endpoint != b) {
            eprintln!(
                "redirected to {} (pinned for this session)",
                session.endpoint
            );
        }
        let registry = connector.registry();
        let handle = registry
            .run(session.connection_id, request)
            .await
            .map_err(session_error)?;
        let result = print_results(handle, args.format).await;
        let _ = registry.disconnect(session.connection_id, false).await;
        result
    })
}

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

pub fn to_csv(rows: &[Map<String, Value>]) -> Result<String, CliError> {
    let cols = columns(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| CliError::Failed(format!("cannot write CSV: {e}"));
    if !cols.is_empty() {
        w.write_record(&cols).map_err(err)?;
    }
    for r in rows {
        w.write_record(cols.iter().map(|c| r.get(c).map(cell).unwrap_or_default()))
            .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::Failed(format!("cannot write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

/// The width the table must fit: `COLUMNS` when set, else the terminal's, else 120.
pub(crate) fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .or_else(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0 as usize))
        .filter(|w| *w >= 20)
        .unwrap_or(120)
}

/// The end of a run's output: JSON's closing bracket, the CSV, or the table that fits.
fn finish(format: OutputFormat, rows: &[Map<String, Value>], json_started: bool) -> CliResult {
    let write_err = |e: std::io::Error| CliError::Failed(format!("cannot write the output: {e}"));
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            let text = if json_started { "\n]\n" } else { "[]\n" };
            out.write_all(text.as_bytes()).map_err(write_err)?;
        }
        OutputFormat::Csv => out.write_all(to_csv(rows)?.as_bytes()).map_err(write_err)?,
        OutputFormat::Table => {
            if rows.is_empty() {
                return Ok(());
            }
            let (text, hidden) = to_table(rows, terminal_width());
            out.write_all(text.as_bytes()).map_err(write_err)?;
            if hidden > 0 {
                eprintln!(
                    "({hidden} more properties not shown: use --format json or csv to see every property)"
                );
            }
        }
    }
    Ok(())
}

/// Streams a run's events: JSON page by page, CSV and table at the end; progress, warnings and
/// retries on stderr.
async fn print_results(
    mut handle: crate::engine::rest::RunHandle,
    format: OutputFormat,
) -> CliResult {
    let progress = std::io::stderr().is_terminal();
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    let stdout = std::io::stdout();
    let mut json_started = false;
    let write_err = |e: std::io::Error| CliError::Failed(format!("cannot write the output: {e}"));
    while let Some(ev) = handle.events.recv().await {
        match ev {
            RunEvent::Page {
                rows: page,
                total_rows,
                pages,
                elapsed,
            } => {
                if progress {
                    eprint!(
                        "\r{total_rows} rows, {pages} pages, {:.1} s",
                        elapsed.as_secs_f64()
                    );
                }
                let page: Vec<Map<String, Value>> = page.rows().map(|r| r.to_object()).collect();
                if format == OutputFormat::Json {
                    // Streamed: each page is printed as it arrives.
                    let mut out = stdout.lock();
                    for r in page {
                        let sep = if json_started { ",\n  " } else { "[\n  " };
                        json_started = true;
                        let text = serde_json::to_string_pretty(&Value::Object(r))
                            .unwrap_or_default()
                            .replace('\n', "\n  ");
                        write!(out, "{sep}{text}").map_err(write_err)?;
                    }
                    out.flush().map_err(write_err)?;
                } else {
                    rows.extend(page);
                }
            }
            RunEvent::Warning(w) => eprintln!("WARNING: {w}"),
            RunEvent::Retrying { delay, reason, .. } => {
                eprintln!("retrying in {:.1} s: {reason}", delay.as_secs_f64())
            }
            RunEvent::Redirected { host } => eprintln!("redirected to {host}"),
            RunEvent::Done { .. } => {
                if progress {
                    eprintln!();
                }
                return finish(format, &rows, json_started);
            }
            RunEvent::Failed(e) => {
                if progress {
                    eprintln!();
                }
                if json_started {
                    // Keep stdout valid JSON: what arrived before the failure.
                    let _ = stdout.lock().write_all(b"\n]\n");
                }
                return Err(CliError::Failed(rest_message(&e)));
            }
        }
    }
    Err(CliError::Failed(
        "the run stopped before it finished".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(v: Value) -> Vec<Map<String, Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(clean_row)
            .collect()
    }

    #[test]
    fn words_are_requoted() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            join_line(&w(&["Get-Mailbox -Identity 'Ann Lee'"])),
            "Get-Mailbox -Identity 'Ann Lee'"
        );
        assert_eq!(
            join_line(&w(&[
                "Get-Mailbox",
                "-Identity",
                "Ann O'Neil",
                "-ResultSize",
                "5"
            ])),
            "Get-Mailbox -Identity 'Ann O''Neil' -ResultSize 5"
        );
        assert_eq!(
            join_line(&w(&["Set-X", "-E", "@{Add='a b'}"])),
            "Set-X -E @{Add='a b'}"
        );
    }

    #[test]
    fn csv_and_table() {
        let r = rows(json!([
            {"@odata.id": "x", "Name": "a", "Emails": ["p@x", "q@x"], "N": 1, "Z": null},
            {"Name": "b,c", "Other": true, "Nested@odata.type": "t"}
        ]));
        assert!(r.iter().all(|o| o.keys().all(|k| !k.contains('@'))));
        let csv = to_csv(&r).unwrap();
        assert_eq!(
            csv,
            "Name,Emails,N,Z,Other\na,p@x;q@x,1,,\n\"b,c\",,,,true\n"
        );
        let (t, hidden) = to_table(&r, 14);
        assert!(t.lines().all(|l| l.chars().count() <= 14), "{t}");
        assert!(t.starts_with("Name Emails  N"), "{t}");
        assert_eq!(hidden, 2);
        let (t, hidden) = to_table(&r, 200);
        assert_eq!(hidden, 0);
        assert_eq!(t.lines().count(), 4);
        let long = rows(json!([{"Name": "x".repeat(100)}]));
        let (t, _) = to_table(&long, 30);
        assert!(t.lines().nth(2).unwrap().ends_with('…'));
        assert!(t.lines().all(|l| l.chars().count() <= 30));
    }
}
