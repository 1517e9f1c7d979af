//! The headless commands over the same engine the window uses.
//!
//! Exit codes: 0 success, 1 a sign-in, cmdlet or service failure, 2 a usage or validation error.
//! Each subcommand lives in its own file and owns its argument struct.

pub mod doctor;
pub mod fanout;
pub mod login;
pub mod profile;
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
    /// Demo mode: a separate demo config folder (real profiles are never touched).
    #[arg(long, global = true)]
    pub demo: bool,
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

/// The saved profile of that name (case-insensitive), from the profile store. A store file that
/// could not be read has been set aside: say where.
pub(crate) fn find_profile(name: &str) -> Result<crate::model::Profile, CliError> {
    let (store, notice) = crate::model::store::ProfileStore::open_default()
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
    let secrets = crate::engine::secrets::SecretStore::platform().await;
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
    let result = match cli.command {
        Some(Command::Profile(cmd)) => profile::run(cmd),
        Some(Command::Sim(args)) => sim::run(args),
        Some(Command::Login(args)) => login::run_login(args),
        Some(Command::Logout(args)) => login::run_logout(args),
        Some(Command::Run(args)) if fanout::is_fanout(&args) => fanout::run(args),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Sessions(args)) => sessions::run(args),
        Some(Command::Doctor(args)) => doctor::run(args),
        None => crate::ui::run(crate::ui::AppOptions { demo: cli.demo }).map_err(CliError::Failed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
