//! `exo-connect run NAME NAME… | --folder F | --tag T | --all [--concurrency N] -- <line>`: the
//! engine's fan-out run on the command line. A line per profile on stderr as it ends (and when
//! it signs in or is throttled), a summary, the merged result on stdout (`Profile` and `Tenant`
//! first) or, with `--compare`, the comparison of the profiles. Exit 0 when every profile
//! succeeded, 1 when any did not (the others' rows are still printed), 2 for usage errors.

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use uuid::Uuid;

use super::run::{OutputFormat, RunArgs, join_line};
use super::signin::TerminalPrompt;
use super::{CliError, CliResult};
use crate::engine::auth::{SignInError, SignInEvent, SignedIn};
use crate::engine::connect::{ConnectError, OnFailure, OnMismatch, SignInPrompt};
use crate::engine::fanout::{
    self, FanoutEvent, FanoutHandle, FanoutOptions, FanoutTarget, ProfileState,
};
use crate::engine::rest::CmdletRequest;
use crate::engine::sessions::ConnectProgress;
use crate::model::cmdline::parse_cmdlet_line;
use crate::model::results::compare::compare;
use crate::model::results::merge::{MERGED_LEADING, Part, merge};
use crate::model::results::{ResultStore, write};
use crate::model::store::ProfileStore;
use crate::model::text::printable_line;
use crate::model::{KnownTenant, Profile, SignInMethod};

/// A fan-out when several names, a selector or `--compare` are given (one name alone keeps
/// the single run's output exactly).
pub fn is_fanout(args: &RunArgs) -> bool {
    args.names.len() > 1
        || !args.folder.is_empty()
        || !args.tag.is_empty()
        || args.all
        || args.compare
}

/// The profiles the selectors name, each once, in the store's order for the selectors and the
/// given order for the names (names first).
pub fn select(profiles: &[Profile], args: &RunArgs) -> Result<Vec<Profile>, CliError> {
    let mut out: Vec<Profile> = Vec::new();
    let push = |p: &Profile, out: &mut Vec<Profile>| {
        if !out.iter().any(|q| q.id == p.id) {
            out.push(p.clone());
        }
    };
    for n in &args.names {
        let p = profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(n.trim()))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "no profile named '{n}': `exo-connect profile list` shows the saved names"
                ))
            })?;
        push(p, &mut out);
    }
    let in_folder = |p: &Profile, f: &str| {
        let f = f.trim().trim_matches('/');
        let pf = p.folder.trim().trim_matches('/');
        pf.eq_ignore_ascii_case(f)
            || (pf.len() > f.len()
                && pf[..f.len()].eq_ignore_ascii_case(f)
                && pf.as_bytes()[f.len()] == b'/')
    };
    for f in &args.folder {
        let before = out.len();
        for p in profiles.iter().filter(|p| in_folder(p, f)) {
            push(p, &mut out);
        }
        if out.len() == before && !profiles.iter().any(|p| in_folder(p, f)) {
            return Err(CliError::Usage(format!(
                "no profile is in the folder '{f}': `exo-connect profile list` shows the folders"
            )));
        }
    }
    for t in &args.tag {
        let tagged: Vec<&Profile> = profiles
            .iter()
            .filter(|p| {
                p.tags
                    .iter()
                    .any(|x| x.trim().eq_ignore_ascii_case(t.trim()))
            })
            .collect();
        if tagged.is_empty() {
            return Err(CliError::Usage(format!(
                "no profile has the tag '{t}': `exo-connect profile list` shows the tags"
            )));
        }
        for p in tagged {
            push(p, &mut out);
        }
    }
    if args.all {
        for p in profiles {
            push(p, &mut out);
        }
    }
    if out.is_empty() {
        return Err(CliError::Usage(
            "no profile selected: give names, --folder F, --tag T or --all (`exo-connect profile list` shows the saved profiles)".into(),
        ));
    }
    Ok(out)
}

pub fn run(args: RunArgs) -> CliResult {
    let line = join_line(&args.line);
    let parsed = parse_cmdlet_line(&line).map_err(|e| CliError::Usage(e.message))?;
    if !(1..=64).contains(&args.concurrency) {
        return Err(CliError::Usage(format!(
            "--concurrency {} is out of range: give a number from 1 to 64",
            args.concurrency
        )));
    }
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
    let (mut store, notice) = ProfileStore::open_default()
        .map_err(|e| CliError::Failed(format!("cannot open the profile store: {e}")))?;
    if let Some(n) = notice {
        eprintln!("warning: {n}");
    }
    let mut profiles = select(store.profiles(), &args)?;
    if let Some(p) = args.page_size {
        profiles.iter_mut().for_each(|x| x.page_size = p);
    }
    if let Some(b) = &args.baseline
        && !profiles
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(b.trim()))
    {
        return Err(CliError::Usage(format!(
            "--baseline '{b}' is not one of the selected profiles"
        )));
    }
    let password = if args.password_stdin {
        Some(super::read_secret_line("--password-stdin")?)
    } else {
        None
    };
    let rt = super::runtime()?;
    let (run, all_ok, named) = rt.block_on(fan_out(&args, profiles, request, password))?;
    super::run::remember_tenants(&mut store, named);
    write_output(&args, &run.take_parts())?;
    if all_ok {
        Ok(())
    } else {
        Err(CliError::Failed(
            "not every profile succeeded (see the lines above)".into(),
        ))
    }
}

/// Runs the fan-out to its end, printing each profile's line and the summary; Ctrl+C cancels
/// the profiles still running. Returns the run (its rows), whether every profile is done and
/// the tenant names the service gave (by profile id).
async fn fan_out(
    args: &RunArgs,
    profiles: Vec<Profile>,
    request: CmdletRequest,
    password: Option<String>,
) -> Result<(FanoutHandle, bool, Vec<(Uuid, KnownTenant)>), CliError> {
    let connector =
        super::signin::connector(Duration::from_secs(args.signin_timeout.max(1))).await?;
    let interactive = std::io::stdin().is_terminal() || password.is_some();
    let prompt: Option<Arc<dyn SignInPrompt>> =
        interactive.then(|| Arc::new(QueuePrompt::new(password)) as Arc<dyn SignInPrompt>);
    let targets = profiles.into_iter().map(FanoutTarget::new).collect();
    let (run, mut events) = fanout::start(
        connector,
        targets,
        request,
        FanoutOptions {
            concurrency: args.concurrency,
            prompt,
            ..Default::default()
        },
    );
    let cancel = super::signin::cancel_on_ctrl_c();
    let mut cancelled = false;
    let mut named = Vec::new();
    loop {
        let ev = tokio::select! {
            ev = events.recv() => ev,
            _ = cancel.cancelled(), if !cancelled => {
                cancelled = true;
                eprintln!("cancelling the profiles still running…");
                run.cancel_all();
                continue;
            }
        };
        match ev {
            Some(FanoutEvent::State { profile, state, .. }) => {
                if let Some(line) = progress_line(&profile, &state) {
                    eprintln!("{line}");
                }
            }
            Some(FanoutEvent::TenantNamed { index, tenant, .. }) => {
                named.push((run.targets()[index].profile.id, tenant));
            }
            Some(FanoutEvent::Idle(summary)) => {
                eprintln!("{summary}");
                return Ok((run, summary.all_done(), named));
            }
            None => return Err(CliError::Failed("the fan-out stopped unexpectedly".into())),
        }
    }
}

/// The stderr line of a profile's state (None: not worth a line).
pub fn progress_line(profile: &str, state: &ProfileState) -> Option<String> {
    let name = printable_line(profile);
    Some(match state {
        ProfileState::Queued | ProfileState::Running { .. } => return None,
        ProfileState::SigningIn => format!("{name}: signing in"),
        ProfileState::Throttled { until, .. } => format!(
            "{name}: throttled until {}",
            until.with_timezone(&chrono::Local).format("%H:%M:%S")
        ),
        ProfileState::Done { rows, elapsed } => {
            format!("{name}: {rows} rows in {:.1} s", elapsed.as_secs_f64())
        }
        ProfileState::Failed { message } => format!("{name}: failed: {}", printable_line(message)),
        ProfileState::Skipped { reason } => format!("{name}: skipped: {}", printable_line(reason)),
        ProfileState::Cancelled => format!("{name}: cancelled"),
    })
}

/// The merged result of the done profiles' rows (or its comparison) on stdout in the chosen
/// format. JSON and CSV are written from each profile's rows where they are (no merged copy);
/// the table and the comparison need the merged store.
fn write_output(args: &RunArgs, parts: &[(String, String, ResultStore)]) -> CliResult {
    if !args.compare && args.format != OutputFormat::Table {
        return write_parts(args.format, parts);
    }
    let merged = merge(
        parts
            .iter()
            .map(|(p, t, rows)| (p.as_str(), t.as_str(), rows)),
    );
    write_merged(args, &merged)
}

fn write_error(e: std::io::Error) -> CliError {
    CliError::Failed(format!("cannot write the output: {e}"))
}

/// JSON or CSV of the merged result, from the parts.
fn write_parts(format: OutputFormat, parts: &[(String, String, ResultStore)]) -> CliResult {
    let parts: Vec<Part> = parts
        .iter()
        .map(|(profile, tenant, rows)| Part {
            profile,
            tenant,
            rows,
        })
        .collect();
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        OutputFormat::Json => write::write_json_parts(&parts, &mut out),
        _ => write::write_csv_parts(&parts, &mut out),
    }
    .map_err(write_error)?;
    out.flush().map_err(write_error)
}

/// The merged store (or its comparison) in the chosen format.
fn write_merged(args: &RunArgs, merged: &ResultStore) -> CliResult {
    let compared;
    let (store, lead): (&ResultStore, &[&str]) = if args.compare {
        if merged.is_empty() {
            eprintln!("nothing to compare: no profile returned rows");
            return Ok(());
        }
        let cmp = compare(merged, args.key.as_deref(), args.baseline.as_deref())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let differ = cmp
            .items
            .iter()
            .filter(|i| {
                i.missing() > 0
                    || i.cells[cmp.baseline] == crate::model::results::compare::Presence::Missing
                    || !i.differing().is_empty()
            })
            .count();
        eprintln!(
            "compared {} items by {} across {} profiles against {}: {differ} differ",
            cmp.items.len(),
            cmp.key,
            cmp.profiles.len(),
            printable_line(&cmp.profiles[cmp.baseline])
        );
        compared = cmp.to_store();
        (&compared, &[])
    } else {
        (merged, MERGED_LEADING)
    };
    let err = write_error;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            write::write_json(store, 0..store.len(), &mut out).map_err(err)?;
        }
        OutputFormat::Csv => {
            write::write_csv_all(store, &mut out).map_err(err)?;
        }
        OutputFormat::Table => {
            if !store.is_empty() {
                let hidden =
                    write::write_table_led(store, super::results::terminal_width(), lead, &mut out)
                        .map_err(err)?;
                if hidden > 0 {
                    eprintln!(
                        "({hidden} more properties not shown: use --format json or csv to see every property)"
                    );
                }
            }
        }
    }
    out.flush().map_err(err)
}

/// The terminal as the sign-in queue's prompt: the progress of each sign-in on stderr (as a
/// single run shows it), the `--password-stdin` password for every profile that asks for one.
struct QueuePrompt {
    password: Option<String>,
    terminal: TerminalPrompt,
}

impl QueuePrompt {
    fn new(password: Option<String>) -> Self {
        QueuePrompt {
            password,
            terminal: TerminalPrompt::new(None),
        }
    }
}

impl SignInPrompt for QueuePrompt {
    fn starting(&self, method: SignInMethod) {
        self.terminal.starting(method);
    }
    fn show(&self, event: &SignInEvent) {
        self.terminal.show(event);
    }
    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        match &self.password {
            Some(pw) => {
                let pw = pw.clone();
                Box::pin(async move { Ok(pw) })
            }
            None => self.terminal.password(),
        }
    }
    fn upn_mismatch<'a>(&'a self, e: &'a str, a: &'a str) -> BoxFuture<'a, OnMismatch> {
        self.terminal.upn_mismatch(e, a)
    }
    fn failed<'a>(&'a self, error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        self.terminal.failed(error)
    }
    fn signed_in(&self, signed: &SignedIn) {
        self.terminal.signed_in(signed);
    }
    fn connecting(&self, _: &ConnectProgress) {
        // The fan-out shows throttling as the profile's line.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(v: &[&str]) -> RunArgs {
        let mut all = vec!["t"];
        all.extend_from_slice(v);
        T::try_parse_from(all).unwrap().run
    }

    fn store() -> Vec<Profile> {
        let mk = |n: &str, folder: &str, tags: &[&str]| {
            let mut p = Profile::new(n, "a@b.com", crate::model::Service::ExchangeOnline);
            p.folder = folder.into();
            p.tags = tags.iter().map(|t| t.to_string()).collect();
            p
        };
        vec![
            mk("a", "Customers", &["gold"]),
            mk("b", "Customers/EU", &[]),
            mk("c", "CustomersOld", &["gold"]),
            mk("d", "", &[]),
        ]
    }

    fn names(v: &[Profile]) -> Vec<&str> {
        v.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn selectors() {
        let s = store();
        let a = args(&["--folder", "customers", "--", "Get-X"]);
        assert!(is_fanout(&a));
        assert_eq!(names(&select(&s, &a).unwrap()), ["a", "b"]);
        let a = args(&["d", "--tag", "GOLD", "--", "Get-X"]);
        assert_eq!(names(&select(&s, &a).unwrap()), ["d", "a", "c"]);
        let a = args(&["--all", "a", "--", "Get-X"]);
        assert_eq!(names(&select(&s, &a).unwrap()), ["a", "b", "c", "d"]);
        let a = args(&["a", "--", "Get-X"]);
        assert!(!is_fanout(&a));
        for bad in [
            &["--folder", "Nope", "--", "Get-X"][..],
            &["--tag", "silver", "--", "Get-X"],
            &["a", "zz", "--", "Get-X"],
        ] {
            let e = select(&s, &args(bad)).unwrap_err();
            assert!(matches!(e, CliError::Usage(_)), "{e}");
        }
    }

    #[test]
    fn progress_lines() {
        let done = ProfileState::Done {
            rows: 6,
            elapsed: Duration::from_millis(1250),
        };
        assert_eq!(
            progress_line("cust001", &done).unwrap(),
            "cust001: 6 rows in 1.2 s"
        );
        let failed = ProfileState::Failed {
            message: "needs sign-in: run exo-connect login x\u{1b}[2J".into(),
        };
        let l = progress_line("x", &failed).unwrap();
        assert!(
            l.starts_with("x: failed: needs sign-in") && !l.contains('\u{1b}'),
            "{l}"
        );
        assert_eq!(progress_line("x", &ProfileState::Queued), None);
    }
}
