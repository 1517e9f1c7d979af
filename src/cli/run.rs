//! `exo-connect run NAME [--format table|json|csv] [--page-size N] -- <cmdlet line>`.
//!
//! Loads the profile, connects through the engine's `Connector` (the cached sign-in, else an
//! interactive one with its progress on stderr; the session registry proves access) and runs the
//! cmdlet, printing its results on stdout: JSON = an array of the result objects without their
//! `@` annotations (streamed page by page), CSV = a header row from the union of the properties
//! (arrays joined with `;`), table = the properties that fit the terminal width. Warnings,
//! retries and progress go to stderr. Exit 0 ok, 1 sign-in/cmdlet/service failure, 2 usage.
//!
//! Confirmations (reference page §7): when the service answers a change cmdlet with its
//! question (`@adminapi.confirmationmessage`, nothing done), its text goes to stderr and the
//! user is asked on the terminal; without a terminal `--yes` is required (exit 2 saying so).
//! Agreed, the cmdlet is sent once more with `Confirm: false`. `-WhatIf` is passed through (its
//! answer is printed); non-terminating errors (`@adminapi.errors`) go to stderr per target.

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

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Profile name.
    pub name: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Page size (`Prefer: odata.maxpagesize`, 1..=1000); default: the profile's.
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Password method: read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Answer yes when the service asks for confirmation of a change (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
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
    let line = join_line(&args.line);
    let parsed = parse_cmdlet_line(&line).map_err(|e| CliError::Usage(e.message))?;
    if let Some(p) = args.page_size
        && !(1..=1000).contains(&p)
    {
        return Err(CliError::Usage(format!(
            "--page-size {p} is out of range: give a number from 1 to 1000"
        )));
    }
    let request = CmdletRequest::from_line(parsed.clone());
    request
        .row_cap()
        .map_err(|e| CliError::Usage(e.message.clone()))?;
    let mut profile = super::find_profile(&args.name)?;
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
        // The tenant's cached cmdlet catalogue (`exo-connect catalogue`) checks the line first.
        let tenant = session.tenant.clone().unwrap_or_default();
        let request = match super::catalogue::cached(&profile, &tenant) {
            Some(cat) => {
                let mut line = parsed;
                if let Err(m) = cat.check(&mut line) {
                    let _ = registry.disconnect(session.connection_id, false).await;
                    return Err(CliError::Usage(m));
                }
                CmdletRequest::from_line(line)
            }
            None => request,
        };
        let result = run_confirmed(registry, session.connection_id, request, &args).await;
        let _ = registry.disconnect(session.connection_id, false).await;
        result
    })
}

/// Runs the cmdlet; when the service asks for confirmation, asks the user (or takes `--yes`)
/// and sends it once more with `Confirm: false`. Never asks twice.
async fn run_confirmed(
    registry: &crate::engine::sessions::SessionRegistry,
    conn: uuid::Uuid,
    request: CmdletRequest,
    args: &RunArgs,
) -> CliResult {
    let handle = registry
        .run(conn, request.clone())
        .await
        .map_err(session_error)?;
    let Some(question) = print_results(handle, args.format).await? else {
        return Ok(());
    };
    let question = crate::model::text::printable(&question).into_owned();
    eprintln!("The service asks for confirmation of {}:", request.cmdlet);
    for l in question.lines() {
        eprintln!("  {l}");
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(format!(
                "{} was not run: the service asks for confirmation and there is no terminal to ask on; add --yes to confirm",
                request.cmdlet
            )));
        }
        if !ask_yes_no("Go ahead? [y/N] ")? {
            return Err(CliError::Failed(format!(
                "{} was not run: not confirmed",
                request.cmdlet
            )));
        }
    }
    let handle = registry
        .run(conn, request.clone().confirmed())
        .await
        .map_err(session_error)?;
    match print_results(handle, args.format).await? {
        None => Ok(()),
        Some(_) => Err(CliError::Failed(format!(
            "the service asked again for confirmation of {} after Confirm:$false was sent; nothing was done",
            request.cmdlet
        ))),
    }
}

/// Asks a yes/no question on the terminal (stderr + stdin); anything but y/yes is no.
fn ask_yes_no(question: &str) -> Result<bool, CliError> {
    use std::io::BufRead;
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Server text for one stderr line: no control characters or escape sequences.
fn clean(s: &str) -> String {
    crate::model::text::printable_line(s).into_owned()
}

/// A non-terminating error as "<target>: <text>" (or "the cmdlet: <text>" without a target).
fn row_error(e: &crate::model::results::RowError) -> String {
    match &e.target {
        Some(t) => format!("{t}: {}", e.message),
        None => format!("the cmdlet: {}", e.message),
    }
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
fn terminal_width() -> usize {
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
/// retries on stderr. `Some(question)` when the service asked for confirmation (nothing done,
/// nothing printed on stdout).
async fn print_results(
    mut handle: crate::engine::rest::RunHandle,
    format: OutputFormat,
) -> Result<Option<String>, CliError> {
    let mut question = None;
    let mut told_low = false;
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
            RunEvent::Warning(w) if w.starts_with("What if:") => eprintln!("{}", clean(&w)),
            RunEvent::Warning(w) => eprintln!("WARNING: {}", clean(&w)),
            RunEvent::RowError(e) => eprintln!("WARNING: error on {}", clean(&row_error(&e))),
            RunEvent::Confirmation(q) => question = Some(q),
            RunEvent::RateBudget(b) => {
                if b.is_low() && !told_low {
                    told_low = true;
                    eprintln!(
                        "rate limit: the tenant's request budget is low ({b}); requests are paced to stay under it"
                    );
                }
            }
            RunEvent::Retrying { delay, reason, .. } => {
                eprintln!("retrying in {:.1} s: {reason}", delay.as_secs_f64())
            }
            RunEvent::Redirected { host } => eprintln!("redirected to {host}"),
            RunEvent::Done { .. } => {
                if progress {
                    eprintln!();
                }
                if question.is_some() && rows.is_empty() && !json_started {
                    return Ok(question);
                }
                return finish(format, &rows, json_started).map(|()| None);
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
