//! `exo-connect run NAME [--format table|json|csv] [--page-size N] -- <cmdlet line>`.
//!
//! Loads the profile, connects through the engine's `Connector` (the cached sign-in, else an
//! interactive one with its progress on stderr; the session registry proves access) and runs the
//! cmdlet, printing its results on stdout (`results.rs`): JSON = an array of the result objects
//! without their `@` annotations (streamed page by page), CSV = a header row from the union of
//! the properties (arrays joined with `;`), table = the properties that fit the terminal width.
//! Warnings, retries and progress go to stderr. Exit 0 ok, 1 sign-in/cmdlet/service failure, 2
//! usage. Several profiles (names, `--folder`, `--tag`, `--all`, `--compare`) are a fan-out
//! (`cli/fanout.rs`; `cli/mod.rs` picks which).
//!
//! Confirmations (reference page §7): when the service answers a change cmdlet with its
//! question (`@adminapi.confirmationmessage`, nothing done), its text goes to stderr and the
//! user is asked on the terminal; without a terminal `--yes` is required (exit 2 saying so).
//! Agreed, the cmdlet is sent once more with `Confirm: false`. `-WhatIf` is passed through (its
//! answer is printed); non-terminating errors (`@adminapi.errors`) go to stderr per target.
//!
//! A `Get-OrganizationConfig` whose profile does not know its tenant's display name yet keeps
//! the name from its own rows in the profile file (as a fan-out does): no extra request, the
//! output unchanged.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;

pub use super::results::OutputFormat;
use super::signin::{connect_error, session_error};
use super::{CliError, CliResult};
use crate::engine::connect::ConnectOptions;
use crate::engine::fanout::tenant_name;
use crate::engine::rest::{CmdletRequest, RunEvent, RunHandle};
use crate::model::KnownTenant;
use crate::model::cmdline::parse_cmdlet_line;

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
    /// Answer yes when the service asks for confirmation of a change (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
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
    let Some(name) = args.names.first().cloned() else {
        return Err(CliError::Usage(
            "give a profile name, several, --folder F, --tag T or --all".into(),
        ));
    };
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
        // Get-OrganizationConfig names the tenant: kept in the profile if it does not know it.
        let learn = (tenant_name::names_tenant(&request.cmdlet)
            && profile.tenant_name_due(chrono::Utc::now()))
        .then(TenantName::default);
        let conn = session.connection_id;
        let result = run_confirmed(registry, conn, request, &args, learn.clone()).await;
        let _ = registry.disconnect(conn, false).await;
        if let Some(name) = learn.and_then(|l| l.lock().ok()?.take())
            && result.is_ok()
        {
            remember_tenant_name(&profile, &name);
        }
        result
    })
}

/// The tenant's display name a run's rows gave (`Get-OrganizationConfig`), once it is done.
type TenantName = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// The run's events, passed on unchanged; the first page's tenant name goes to `name` when
/// the run is done.
fn peek_tenant_name(mut inner: RunHandle, cmdlet: String, name: TenantName) -> RunHandle {
    let (tx, rx) = tokio::sync::mpsc::channel(crate::engine::rest::RUN_EVENTS_BUFFER);
    let task = tokio::spawn(async move {
        let mut seen = None;
        while let Some(ev) = inner.events.recv().await {
            match &ev {
                RunEvent::Page { rows, .. } if seen.is_none() => {
                    seen = tenant_name::named_by(&cmdlet, rows);
                }
                RunEvent::Done { .. } => {
                    if let Ok(mut n) = name.lock() {
                        *n = seen.take();
                    }
                }
                _ => {}
            }
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    });
    RunHandle::new(rx, task)
}

/// Keeps the tenant's name in the profile file, as a fan-out does (best effort: the run's
/// output stands).
fn remember_tenant_name(profile: &crate::model::Profile, name: &str) {
    let Ok((mut store, _)) = super::open_store() else {
        return;
    };
    let tenant = KnownTenant::learnt(&profile.tenant_key(), Some(name));
    remember_tenants(&mut store, vec![(profile.id, tenant)]);
}

/// Keeps the tenant names the service gave in the profiles, so the next fan-out shows them
/// without asking (best effort: a store that cannot be saved is a warning, the output stands).
/// A single `run` of `Get-OrganizationConfig` keeps its name here too.
pub(super) fn remember_tenants(
    store: &mut crate::model::store::ProfileStore,
    named: Vec<(uuid::Uuid, KnownTenant)>,
) {
    if named.is_empty() {
        return;
    }
    for (id, tenant) in named {
        if let Some(mut p) = store.get(id).cloned() {
            p.known_tenant = Some(tenant);
            let _ = store.upsert(p);
        }
    }
    if let Err(e) = store.save() {
        eprintln!("warning: the tenants' names were not saved in the profiles: {e}");
    }
}

/// Runs the cmdlet; when the service asks for confirmation, asks the user (or takes `--yes`)
/// and sends it once more with `Confirm: false`. Never asks twice.
async fn run_confirmed(
    registry: &crate::engine::sessions::SessionRegistry,
    conn: uuid::Uuid,
    request: CmdletRequest,
    args: &RunArgs,
    learn: Option<TenantName>,
) -> CliResult {
    let mut handle = registry
        .run(conn, request.clone())
        .await
        .map_err(session_error)?;
    if let Some(name) = learn {
        handle = peek_tenant_name(handle, request.cmdlet.clone(), name);
    }
    let Some(question) = super::results::print_results(handle, args.format).await? else {
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
    match super::results::print_results(handle, args.format).await? {
        None => Ok(()),
        Some(_) => Err(CliError::Failed(format!(
            "the service asked again for confirmation of {} after Confirm:$false was sent; nothing was done",
            request.cmdlet
        ))),
    }
}

/// Asks a yes/no question on the terminal (stderr + stdin); anything but y/yes is no.
pub(super) fn ask_yes_no(question: &str) -> Result<bool, CliError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
