//! `exo-connect login NAME` and `exo-connect logout` (issue: sign-in engine).
//!
//! Device-code instructions and progress go to stderr; the signed-in account, tenant and token
//! expiry go to stdout. Exit 0 signed in, 1 sign-in failure (with the explanation), 2 usage.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{CliError, CliResult};
use crate::engine::auth::{
    CancellationToken, Method, SecretStore, SignInEvent, SignInOptions, TokenCache,
};
use crate::engine::http::{HttpOptions, build_client};
use crate::model::{AuthMethod, Profile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoginMethod {
    Browser,
    DeviceCode,
    Password,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name.
    pub name: String,
    /// Sign-in method (default: the profile's).
    #[arg(long, value_enum)]
    pub method: Option<LoginMethod>,
    /// Read the password from the first line of stdin (password method; for a certificate
    /// profile, the PFX password, which is then kept in the keychain).
    #[arg(long)]
    pub password_stdin: bool,
    /// Sign in interactively even when a cached sign-in exists.
    #[arg(long)]
    pub force: bool,
    /// Give up after this many seconds of waiting for the user (default 900).
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Read the proxy password (for the profile's proxy user, Basic) from stdin and keep it in
    /// the keychain; with --password-stdin it is the second line.
    #[arg(long)]
    pub proxy_password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Profile name.
    #[arg(conflicts_with = "all")]
    pub name: Option<String>,
    /// Forget every cached sign-in.
    #[arg(long)]
    pub all: bool,
}

/// Loads the saved profiles. Reads `profiles.json` (`{"version":1,"profiles":[...]}`) in
/// `$EXO_CONNECT_HOME` or the OS config dir.
// TODO(lead): swap for `model::store::ProfileStore::open_default()` once the store is merged.
pub fn load_profiles() -> Result<Vec<Profile>, CliError> {
    #[derive(serde::Deserialize)]
    struct StoreFile {
        #[serde(default)]
        profiles: Vec<Profile>,
    }
    let root = match std::env::var_os("EXO_CONNECT_HOME").filter(|h| !h.is_empty()) {
        Some(h) => std::path::PathBuf::from(h),
        None => directories::ProjectDirs::from("", "", "exo-connect")
            .map(|d| d.config_dir().to_path_buf())
            .ok_or_else(|| {
                CliError::Usage(
                    "no configuration folder: set EXO_CONNECT_HOME to exo-connect's folder".into(),
                )
            })?,
    };
    let path = root.join("profiles.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CliError::Failed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let f: StoreFile = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        CliError::Failed(format!(
            "{} is not a valid profile file: {e}",
            path.display()
        ))
    })?;
    Ok(f.profiles)
}

fn find_profile(name: &str) -> Result<Profile, CliError> {
    load_profiles()?
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no profile named '{name}': `exo-connect profile list` shows the saved names"
            ))
        })
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

async fn open_cache() -> Result<Arc<TokenCache>, CliError> {
    let secrets = SecretStore::platform().await;
    if let Some(n) = secrets.take_notice() {
        eprintln!("warning: {n}");
    }
    let client = build_client(&HttpOptions::default())
        .map_err(|e| CliError::Failed(format!("cannot build the HTTP client: {e}")))?;
    Ok(TokenCache::new(client, secrets))
}

fn print_event(e: &SignInEvent) {
    match e {
        SignInEvent::CodeIssued {
            user_code,
            verification_uri,
            expires_at,
            ..
        } => {
            eprintln!("To sign in, open {verification_uri} and enter the code {user_code}");
            eprintln!(
                "(the code expires at {} UTC; waiting for you to finish in the browser...)",
                expires_at.format("%H:%M:%S")
            );
        }
        SignInEvent::SlowedDown { interval_secs } => {
            eprintln!("The sign-in service asked to poll more slowly (every {interval_secs} s).")
        }
        SignInEvent::BrowserOpened { url } => {
            eprintln!("Opened the browser for sign-in. If nothing appeared, open this URL:\n{url}")
        }
        SignInEvent::OpenBrowserFailed { url } => {
            eprintln!("No browser could be opened. To sign in, open this URL in a browser:\n{url}")
        }
        SignInEvent::MfaRequired { explanation } => eprintln!("{explanation}"),
        SignInEvent::UpnMismatch { expected, actual } => eprintln!(
            "warning: signed in as {actual}, but the profile's UPN is {expected} (single sign-on picked another account). Continuing as {actual}; sign out of the browser and run `exo-connect login --force` to use {expected}."
        ),
        SignInEvent::Expired
        | SignInEvent::Declined
        | SignInEvent::Waiting
        | SignInEvent::Succeeded { .. }
        | SignInEvent::Failed { .. } => {}
    }
}

pub fn run_login(args: LoginArgs) -> CliResult {
    let profile = find_profile(&args.name)?;
    let method = match args.method {
        Some(LoginMethod::Browser) => Some(Method::Browser),
        Some(LoginMethod::DeviceCode) => Some(Method::DeviceCode),
        Some(LoginMethod::Password) => Some(Method::Password),
        None => None,
    };
    if method.is_some() && matches!(profile.auth, AuthMethod::Certificate { .. }) {
        return Err(CliError::Usage(format!(
            "profile '{}' signs in app-only with a certificate: --method does not apply; drop it",
            profile.name
        )));
    }
    let effective = method.unwrap_or_else(|| Method::of(&profile));
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::Usage(format!("--password-stdin: cannot read stdin: {e}")))?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            return Err(CliError::Usage(
                "--password-stdin: stdin gave an empty password".into(),
            ));
        }
        Some(pw)
    } else {
        None
    };
    let proxy_password = if args.proxy_password_stdin {
        if profile
            .proxy
            .user
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
        {
            return Err(CliError::Usage(format!(
                "--proxy-password-stdin: profile '{}' has no proxy user; set it first with exo-connect profile edit {} --proxy-user USER --proxy-auth Basic",
                profile.name, profile.name
            )));
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CliError::Usage(format!("--proxy-password-stdin: cannot read stdin: {e}"))
        })?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            return Err(CliError::Usage(
                "--proxy-password-stdin: stdin gave an empty password".into(),
            ));
        }
        Some(pw)
    } else {
        None
    };
    runtime()?.block_on(async move {
        let cache = open_cache().await?;
        if let Some(pw) = proxy_password {
            cache
                .secrets()
                .set(
                    &crate::engine::auth::cache::proxy_password_key(&profile.id),
                    &pw,
                )
                .await;
            eprintln!("Stored the proxy password in the keychain.");
        }
        // A cached sign-in (keychain) is used unless --force or an explicit --method.
        if !args.force
            && method.is_none()
            && let Ok(s) = cache.sign_in_silent(&profile).await
        {
            eprintln!("Using the cached sign-in.");
            print_signed_in(&s);
            return Ok(());
        }
        // Certificate profiles: --password-stdin gives the PFX password, kept in the keychain.
        let mut password = password;
        if let AuthMethod::Certificate {
            certificate_path: Some(path),
            ..
        } = &profile.auth
            && let Some(pw) = password.take()
        {
            cache
                .secrets()
                .set(&crate::engine::auth::cache::cert_password_key(path), &pw)
                .await;
            eprintln!("Stored the certificate password in the keychain.");
        }
        if effective == Method::Password && password.is_none() {
            return Err(CliError::Usage(
                "the password method needs --password-stdin (the password is read from stdin, never from the command line)".into(),
            ));
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let browser = crate::engine::auth::launcher_from_env();
        let opts = SignInOptions {
            method,
            password,
            browser,
            events: Some(tx),
            cancel: cancel.clone(),
            timeout: Duration::from_secs(args.timeout.max(1)),
        };
        let printer = tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                print_event(&e);
            }
        });
        let ctrl_c = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.cancel();
                }
            })
        };
        let r = cache.sign_in(&profile, opts).await;
        ctrl_c.abort();
        let _ = printer.await;
        match r {
            Ok(s) => {
                print_signed_in(&s);
                if cache.secrets().is_memory_only() {
                    eprintln!(
                        "note: the sign-in is kept in memory only and ends with this command."
                    );
                }
                Ok(())
            }
            Err(e) => Err(CliError::Failed(format!(
                "sign-in failed: {}",
                e.explanation()
            ))),
        }
    })
}

fn print_signed_in(s: &crate::engine::auth::SignedIn) {
    println!("account: {}", s.account);
    println!("tenant: {}", s.tenant_id);
    println!(
        "expires: {}",
        s.expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
}

pub fn run_logout(args: LogoutArgs) -> CliResult {
    let profile = match (&args.name, args.all) {
        (Some(n), false) => Some(find_profile(n)?),
        (None, true) => None,
        _ => {
            return Err(CliError::Usage(
                "give a profile name or --all: `exo-connect logout NAME` or `exo-connect logout --all`".into(),
            ));
        }
    };
    runtime()?.block_on(async move {
        let cache = open_cache().await?;
        match profile {
            Some(p) => {
                let had = cache.forget(&p).await.map_err(CliError::Failed)?;
                if had {
                    println!(
                        "Signed out of '{}' (cached sign-in of {} forgotten).",
                        p.name, p.upn
                    );
                } else {
                    println!("'{}' had no cached sign-in.", p.name);
                }
            }
            None => {
                let n = cache.forget_all().await.map_err(CliError::Failed)?;
                println!("Forgot {n} cached sign-in(s).");
            }
        }
        Ok(())
    })
}
