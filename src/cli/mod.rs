//! The headless commands over the same engine the window uses.
//!
//! Exit codes: 0 success, 1 a sign-in, cmdlet or service failure, 2 a usage or validation error.
//! Each subcommand lives in its own file and owns its argument struct.

pub mod bulk;
pub mod catalogue;
pub mod doctor;
pub mod fanout;
pub mod login;
pub mod profile;
mod results;
pub mod run;
pub mod sessions;
pub mod signin;
pub mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "exo-connect",
    version,
    about = "Connection manager for Exchange Online, EOP and Security & Compliance"
)]
pub struct Cli {
    /// Demo mode: the demo config folder (`<config>/demo`) and secrets in memory, for the window
    /// and every subcommand (real profiles and the keychain are never touched).
    #[arg(long, global = true)]
    pub demo: bool,
    /// Write a diagnostic log for support to DIR/exo-connect-<date>.log: request ids, hosts,
    /// status codes, timings, retries, sign-in steps; never a password, token or code.
    #[arg(long, global = true, value_name = "DIR", env = crate::engine::diag::LOG_DIR_ENV)]
    pub log_dir: Option<std::path::PathBuf>,
    /// How much the diagnostic log says: info (the default) or debug (also each sign-in poll and
    /// session change).
    #[arg(
        long,
        global = true,
        value_name = "LEVEL",
        env = crate::engine::diag::LOG_LEVEL_ENV,
        default_value = "info"
    )]
    pub log_level: crate::engine::diag::LogLevel,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage saved tenant profiles.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Run the simulated tenant (Entra-like sign-in and the Exchange admin API) on loopback.
    Sim(sim::SimArgs),
    /// Sign in with a profile and cache the sign-in.
    Login(login::LoginArgs),
    /// Forget cached sign-ins.
    Logout(login::LogoutArgs),
    /// Run one cmdlet with a profile (`exo-connect run NAME -- Get-Mailbox -ResultSize 10`) or
    /// with many (`exo-connect run --folder Customers -- Get-TransportRule`).
    #[command(after_help = run::EXIT_CODES)]
    Run(run::RunArgs),
    /// Apply one cmdlet line to every row of a CSV file:
    /// `exo-connect bulk NAME --csv FILE -- 'Set-Mailbox -Identity {Identity} -CustomAttribute1 {Dept}'`.
    Bulk(bulk::BulkArgs),
    /// The tenant's live cmdlet catalogue (cached a day): cmdlets, or one cmdlet's parameters.
    Catalogue(catalogue::CatalogueArgs),
    /// List cached sign-ins with their expiry.
    Sessions(sessions::SessionsArgs),
    /// Check a profile's connectivity: DNS, TCP, proxy, TLS, OpenID metadata, clock skew.
    Doctor(doctor::DoctorArgs),
}

/// A failed command: what to print on stderr and which exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or invalid input (exit 2). The message names the field and the fix.
    #[error("{0}")]
    Usage(String),
    /// A sign-in, cmdlet or service failure (exit 1), with its plain explanation.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

pub type CliResult = Result<(), CliError>;

/// `--demo` of this process (set once by [`main`]).
static DEMO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Whether this command runs in demo mode (`--demo`): the demo config folder, secrets in memory.
pub(crate) fn demo() -> bool {
    DEMO.get().copied().unwrap_or(false)
}

/// The profile store of this command: the real one, or the demo folder's with `--demo`.
pub(crate) fn open_store() -> crate::model::store::Result<(
    crate::model::store::ProfileStore,
    Option<crate::model::store::Notice>,
)> {
    crate::model::store::ProfileStore::open(crate::model::store::root_for(demo())?)
}

/// The saved profile of that name (case-insensitive), from the profile store. A store file that
/// could not be read has been set aside: say where.
pub(crate) fn find_profile(name: &str) -> Result<crate::model::Profile, CliError> {
    let (store, notice) = open_store()
        .map_err(|e| CliError::Failed(format!("cannot open the profile store: {e}")))?;
    if let Some(n) = notice {
        eprintln!("warning: {n}");
    }
    store.get_by_name(name.trim()).cloned().ok_or_else(|| {
        CliError::Usage(format!(
            "no profile named '{name}': `exo-connect profile list` shows the saved names"
        ))
    })
}

/// Every saved profile (to find the keychain entries profiles share, and those of
/// `logout --all`).
pub(crate) fn saved_profiles() -> Result<Vec<crate::model::Profile>, CliError> {
    let (store, _) = open_store()
        .map_err(|e| CliError::Failed(format!("cannot open the profile store: {e}")))?;
    Ok(store.profiles().to_vec())
}

/// The async runtime a command runs the engine on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

/// The token cache over the OS keychain (or memory, with the plain-words notice on stderr), and
/// the builder of the profiles' HTTP clients over the same keychain.
pub(crate) async fn open_cache() -> Result<
    (
        std::sync::Arc<crate::engine::auth::TokenCache>,
        crate::engine::proxy::Clients,
    ),
    CliError,
> {
    let secrets = if demo() {
        // Demo sign-ins are the simulated tenant's: never in the real keychain.
        crate::engine::secrets::SecretStore::memory()
    } else {
        crate::engine::secrets::SecretStore::platform().await
    };
    if let Some(n) = secrets.take_notice() {
        eprintln!("warning: {n}");
    }
    let client = crate::engine::http::build_client(&Default::default())
        .map_err(|e| CliError::Failed(format!("cannot build the HTTP client: {e}")))?;
    let clients = crate::engine::proxy::Clients::new(client.clone(), secrets.clone());
    Ok((
        crate::engine::auth::TokenCache::new(client, secrets),
        clients,
    ))
}

/// One secret line from standard input (`--password-stdin` and friends); `flag` names the option
/// in the error.
pub(crate) fn read_secret_line(flag: &str) -> Result<String, CliError> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("{flag}: cannot read stdin: {e}")))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(CliError::Usage(format!(
            "{flag}: stdin gave an empty password"
        )));
    }
    Ok(secret)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // --demo holds for the subcommands too (an admin trying things out expects their real
    // profiles and keychain untouched, as in the window).
    let _ = DEMO.set(cli.demo);
    if cli.demo
        && let Some(cmd) = &cli.command
        && !matches!(cmd, Command::Sim(_))
    {
        let root = crate::model::store::root_for(true)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|e| e.to_string());
        eprintln!("demo mode: the demo profiles in {root}, sign-ins kept in memory");
    }
    if let Some(dir) = &cli.log_dir
        && let Err(e) = crate::engine::diag::start_cli_log(dir, cli.log_level)
    {
        eprintln!("error: --log-dir: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Some(Command::Profile(cmd)) => profile::run(cmd),
        Some(Command::Sim(args)) => sim::run(args),
        Some(Command::Login(args)) => login::run_login(args),
        Some(Command::Logout(args)) => login::run_logout(args),
        Some(Command::Run(args)) if fanout::is_fanout(&args) => fanout::run(args),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Bulk(args)) => bulk::run(args),
        Some(Command::Catalogue(args)) => catalogue::run(args),
        Some(Command::Sessions(args)) => sessions::run(args),
        Some(Command::Doctor(args)) => doctor::run(args),
        None => crate::ui::run(crate::ui::AppOptions { demo: cli.demo }).map_err(CliError::Failed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message may quote the server (an AADSTS description, an error body).
            eprintln!("error: {}", crate::model::text::printable(&e.to_string()));
            e.exit_code()
        }
    }
}
