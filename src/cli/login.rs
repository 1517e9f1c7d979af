//! `exo-connect login NAME` and `exo-connect logout` (issue: sign-in engine).
//!
//! Device-code instructions and progress go to stderr; the signed-in account, tenant and token
//! expiry go to stdout. Exit 0 signed in, 1 sign-in failure (with the explanation), 2 usage.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{CliError, CliResult};
use crate::engine::auth::{CancellationToken, Method, SignInEvent, SignInOptions};
use crate::model::AuthMethod;

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
    let profile = super::find_profile(&args.name)?;
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
        Some(super::read_secret_line("--password-stdin")?)
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
        Some(super::read_secret_line("--proxy-password-stdin")?)
    } else {
        None
    };
    super::runtime()?.block_on(async move {
        let (cache, clients) = super::open_cache().await?;
        if let Some(pw) = proxy_password {
            cache
                .secrets()
                .set(&crate::engine::secrets::proxy_password_key(&profile.id), &pw)
                .await;
            eprintln!("Stored the proxy password in the keychain.");
        }
        let http = clients
            .for_profile(&profile)
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?;
        // A cached sign-in (keychain) is used unless --force or an explicit --method.
        if !args.force
            && method.is_none()
            && let Ok(s) = cache.sign_in_silent(&profile, Some(&http)).await
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
                .set(&crate::engine::secrets::cert_password_key(path), &pw)
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
            http: Some(http),
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
        (Some(n), false) => Some(super::find_profile(n)?),
        (None, true) => None,
        _ => {
            return Err(CliError::Usage(
                "give a profile name or --all: `exo-connect logout NAME` or `exo-connect logout --all`".into(),
            ));
        }
    };
    super::runtime()?.block_on(async move {
        let (cache, _) = super::open_cache().await?;
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
