//! `exo-connect bulk NAME --csv FILE [--yes] [--dry-run] [--format table|json|csv] -- '<line
//! with {Column} placeholders>'`: one cmdlet line applied to every row of a CSV file.
//!
//! Every row's line is built (`model::bulk`) and parsed before anything is sent: a bad row
//! stops the run with its row number (exit 2). `--dry-run` prints the exact calls (the cmdlet
//! line and its `InvokeCommand` body, one JSON object per line) and signs in nowhere. A change
//! cmdlet (anything but Get-/Test-/Search-…) needs one confirmation for the whole batch — asked
//! on a terminal, `--yes` without one (exit 2 saying so) — and then goes with `Confirm: false`.
//! Requests go through `$batch` in chunks of 10 with `Prefer: odata.continue-on-error`, one
//! request per row when the service refuses `$batch` (`RestClient::bulk`). Per-row results
//! (row, ok/error, the error text) on stdout; a summary on stderr. Exit 0 when every row
//! succeeded, 1 when some failed, 2 usage.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::run::{OutputFormat, join_line};
use super::signin::{connect_error, session_error};
use super::{CliError, CliResult};
use crate::engine::connect::ConnectOptions;
use crate::engine::rest::{BulkResult, CmdletRequest};
use crate::model::cmdline::parse_cmdlet_line;
use crate::model::results::ResultStore;
use crate::model::results::write::{write_csv_all, write_json, write_table};

/// Most rows one bulk run takes.
pub const MAX_ROWS: usize = 100_000;

#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Profile name.
    pub name: String,
    /// The CSV file whose rows fill the placeholders (first line: the column names).
    #[arg(long)]
    pub csv: std::path::PathBuf,
    /// Confirm the batch of changes without asking (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the calls that would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of the per-row results.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Password method: read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Give up waiting for an interactive sign-in after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub signin_timeout: u64,
    /// The cmdlet line with `{Column}` placeholders, after `--`.
    #[arg(last = true, required = true, num_args = 1..)]
    pub line: Vec<String>,
}

/// Whether a cmdlet only reads (no confirmation needed).
pub fn reads_only(cmdlet: &str) -> bool {
    crate::model::bulk::reads_only(cmdlet)
}

/// The CSV's columns and rows (each row a column → value map).
fn read_csv(path: &std::path::Path) -> Result<(Vec<String>, Vec<Vec<String>>), CliError> {
    let usage = |m: String| CliError::Usage(format!("--csv {}: {m}", path.display()));
    let mut rd = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| usage(format!("cannot read it ({e})")))?;
    let columns: Vec<String> = rd
        .headers()
        .map_err(|e| usage(format!("no header line ({e})")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for (n, r) in rd.records().enumerate() {
        let r = r.map_err(|e| usage(format!("row {} cannot be read ({e})", n + 1)))?;
        if rows.len() == MAX_ROWS {
            return Err(usage(format!("more than {MAX_ROWS} rows: split the file")));
        }
        rows.push(r.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err(usage("it has no rows".into()));
    }
    Ok((columns, rows))
}

/// Every row's request, built and parsed before anything is sent.
fn requests(
    template: &str,
    columns: &[String],
    rows: &[Vec<String>],
) -> Result<(Vec<String>, Vec<CmdletRequest>), CliError> {
    let used = crate::model::bulk::placeholders(template, columns).map_err(CliError::Usage)?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut reqs = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let line = crate::model::bulk::fill(template, &used, &|col| {
            let i = columns.iter().position(|c| c == col).unwrap_or(0);
            row.get(i).cloned().unwrap_or_default()
        });
        let parsed = parse_cmdlet_line(&line)
            .map_err(|e| CliError::Usage(format!("row {}: {} (line: {line})", n + 1, e.message)))?;
        lines.push(line);
        reqs.push(CmdletRequest::from_line(parsed));
    }
    Ok((lines, reqs))
}

pub fn run(args: BulkArgs) -> CliResult {
    let template = join_line(&args.line);
    let (columns, rows) = read_csv(&args.csv)?;
    let (lines, mut reqs) = requests(&template, &columns, &rows)?;
    let cmdlet = reqs[0].cmdlet.clone();
    let change = !reads_only(&cmdlet);
    if change {
        reqs = reqs.into_iter().map(CmdletRequest::confirmed).collect();
    }
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for (n, (line, r)) in lines.iter().zip(&reqs).enumerate() {
            let call = json!({
                "row": n + 1,
                "line": line,
                "body": {"CmdletInput": {"CmdletName": r.cmdlet, "Parameters": r.parameters}},
            });
            writeln!(out, "{call}").map_err(|e| CliError::Failed(e.to_string()))?;
        }
        eprintln!("dry run: {} calls of {cmdlet}, nothing sent", reqs.len());
        return Ok(());
    }
    let profile = super::find_profile(&args.name)?;
    if change {
        confirm_batch(&args, &profile.name, &cmdlet, reqs.len())?;
    }
    let password = if args.password_stdin {
        Some(super::read_secret_line("--password-stdin")?)
    } else {
        None
    };
    let rt = super::runtime()?;
    let results = rt.block_on(async move {
        let connector =
            super::signin::connector(Duration::from_secs(args.signin_timeout.max(1))).await?;
        let prompt = super::signin::TerminalPrompt::new(password);
        let opts = ConnectOptions {
            cancel: super::signin::cancel_on_ctrl_c(),
            ..Default::default()
        };
        let session = connector
            .connect(&profile, &prompt, &opts)
            .await
            .map_err(connect_error)?
            .session;
        let registry = connector.registry();
        let client = registry
            .client(session.connection_id)
            .await
            .map_err(session_error)?;
        let progress = |_: &[BulkResult], done: usize, total: usize| {
            if std::io::stderr().is_terminal() {
                eprint!("\r{done} of {total} rows");
            }
        };
        let outcome = client.bulk(&reqs, &progress, &opts.cancel).await;
        let _ = registry.disconnect(session.connection_id, false).await;
        let outcome = outcome.map_err(|e| CliError::Failed(super::signin::rest_message(&e)))?;
        if outcome.fell_back {
            eprintln!("the service refused $batch: the rows were sent one request each");
        }
        Ok::<_, CliError>(outcome)
    })?;
    let sent = results.results.len();
    let printed = print_results(&results.results, &lines, args.format);
    if results.stopped {
        return Err(CliError::Failed(format!(
            "stopped by Ctrl+C after {sent} of {} rows: rows {} to {} were not sent",
            lines.len(),
            sent + 1,
            lines.len()
        )));
    }
    printed
}

/// One confirmation for the whole batch: on a terminal, or `--yes`.
fn confirm_batch(args: &BulkArgs, profile: &str, cmdlet: &str, n: usize) -> CliResult {
    let what = format!(
        "{cmdlet} for {n} rows of {} with profile '{profile}'",
        args.csv.display()
    );
    if args.yes {
        eprintln!("confirmed by --yes: {what}");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || args.password_stdin {
        return Err(CliError::Usage(format!(
            "{what} changes the tenant and there is no terminal to confirm on; check it with --dry-run, then add --yes to confirm"
        )));
    }
    if super::run::ask_yes_no(&format!("Run {what}? [y/N] "))? {
        Ok(())
    } else {
        Err(CliError::Failed("not confirmed: nothing was sent".into()))
    }
}

/// Per-row results on stdout, a summary on stderr; exit 1 when a row failed.
fn print_results(results: &[BulkResult], lines: &[String], format: OutputFormat) -> CliResult {
    let clean = |s: &str| crate::model::text::printable_line(s).into_owned();
    let mut rows = ResultStore::new();
    for r in results {
        rows.push_value(&json!({
            "Row": r.index + 1,
            "Result": if r.ok { "ok" } else { "error" },
            "Status": r.status,
            "Error": clean(&r.message),
            "Line": lines.get(r.index).cloned().unwrap_or_default(),
        }));
    }
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match format {
        OutputFormat::Json => write_json(&rows, 0..rows.len(), out).map(|_| ()),
        OutputFormat::Csv => write_csv_all(&rows, out).map(|_| ()),
        OutputFormat::Table => write_table(&rows, 160, out).map(|_| ()),
    };
    written.map_err(|e| CliError::Failed(format!("cannot write the output: {e}")))?;
    for r in results {
        for w in &r.warnings {
            eprintln!("WARNING: row {}: {}", r.index + 1, clean(w));
        }
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    eprintln!(
        "{} rows: {} ok, {failed} failed",
        results.len(),
        results.len() - failed
    );
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} of {} rows failed (see the Error column; re-run with a CSV of those rows to retry them)",
            results.len()
        )));
    }
    Ok(())
}
