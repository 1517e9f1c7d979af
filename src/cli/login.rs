//! `exo-connect login NAME` and `exo-connect logout` (issue: sign-in engine).
//!
//! Device-code instructions and progress go to stderr; the signed-in account, tenant and token
//! expiry go to stdout. Exit 0 signed in, 1 sign-in failure (with the explanation), 2 usage.

use std::time::Duration;

use clap::Args;

use super::{CliError, CliResult};
use crate::engine::connect::ConnectOptions;
use crate::model::{AuthMethod, SignInMethod};

/// `--method`: browser, device-code or password (the model's sign-in method; a certificate
/// sign-in is a profile's method, not an override).
fn interactive_method(s: &str) -> Result<SignInMethod, String> {
    let parsed = s.parse::<SignInMethod>().map_err(|_| {
        format!("'{s}' is not a sign-in method: use browser, device-code or password")
    })?;
    match parsed {
        SignInMethod::Certificate => Err(
            "a certificate sign-in is the profile's own method (profile edit --auth certificate); --method takes browser, device-code or password".into(),
        ),
        m => Ok(m),
    }
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name.
    pub name: String,
    /// Sign-in method (default: the profile's): browser, device-code or password.
    #[arg(long, value_parser = interactive_method)]
    pub method: Option<SignInMethod>,
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

pub fn run_login(args: LoginArgs) -> CliResult {
    let profile = super::find_profile(&args.name)?;
    let method = args.method;
    if method.is_some() && matches!(profile.auth, AuthMethod::Certificate { .. }) {
        return Err(CliError::Usage(format!(
            "profile '{}' signs in app-only with a certificate: --method does not apply; drop it",
            profile.name
        )));
    }
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
        let connector = super::signin::connector(Duration::from_secs(args.timeout.max(1))).await?;
        let secrets = connector.clients().secrets();
        let password = store_secrets(secrets, &profile, password, proxy_password).await;
        // A cached sign-in (keychain) is used unless --force or an explicit --method.
        let opts = ConnectOptions {
            force_interactive: args.force || method.is_some(),
            method,
            cancel: super::signin::cancel_on_ctrl_c(),
            claims: None,
        };
        let prompt = super::signin::TerminalPrompt::new(password);
        let s = connector
            .sign_in(&profile, &prompt, &opts)
            .await
            .map_err(super::signin::connect_error)?;
        if s.silent {
            eprintln!("Using the cached sign-in.");
        }
        print_signed_in(&s);
        if !s.silent && secrets.is_memory_only() {
            eprintln!("note: the sign-in is kept in memory only and ends with this command.");
        }
        Ok(())
    })
}

/// Keeps the given proxy password, and a certificate profile's PFX password (what
/// `--password-stdin` gives there), in the keychain. Returns the sign-in password, if any.
async fn store_secrets(
    secrets: &crate::engine::secrets::SecretStore,
    profile: &crate::model::Profile,
    password: Option<String>,
    proxy_password: Option<String>,
) -> Option<String> {
    if let Some(pw) = proxy_password {
        secrets
            .set_owned(
                &crate::engine::secrets::proxy_password_key(&profile.id),
                &pw,
                Some(profile.id),
            )
            .await;
        eprintln!("Stored the proxy password in the keychain.");
    }
    if let AuthMethod::Certificate {
        certificate_path: Some(path),
        ..
    } = &profile.auth
        && let Some(pw) = &password
    {
        secrets
            .set_owned(
                &crate::engine::secrets::cert_password_key(path),
                pw,
                Some(profile.id),
            )
            .await;
        eprintln!("Stored the certificate password in the keychain.");
        return None;
    }
    password
}

fn print_signed_in(s: &crate::engine::auth::SignedIn) {
    use crate::model::text::printable_line;
    // Both come from the token's claims: the server's words.
    println!("account: {}", printable_line(&s.account));
    println!("tenant: {}", printable_line(&s.tenant_id));
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
    let saved = super::saved_profiles()?;
    super::runtime()?.block_on(async move {
        let (cache, _) = super::open_cache().await?;
        let done = match &profile {
            Some(p) => {
                let done = cache.forget_profile(p, &saved, false).await;
                if done.removed.is_empty() && done.failed.is_empty() {
                    println!(
                        "'{}' had no cached sign-in and no password in the keychain.",
                        p.name
                    );
                } else if !done.removed.is_empty() {
                    println!("Signed out of '{}'. Removed from the keychain:", p.name);
                }
                done
            }
            None => {
                let done = cache.forget_all(&saved).await;
                let sign_ins = done
                    .removed
                    .iter()
                    .filter(|r| r.starts_with("the sign-in of"))
                    .count();
                println!(
                    "Forgot {sign_ins} cached sign-in(s) and {} password(s): exo-connect has no entry left in the keychain.",
                    done.removed.len() - sign_ins
                );
                done
            }
        };
        report_forgotten(&done)
    })
}

/// Prints what was removed (stdout) and what could not be (stderr); Err (exit 1) when anything
/// could not be removed.
pub(crate) fn report_forgotten(done: &crate::engine::secrets::Forgotten) -> CliResult {
    use crate::model::text::printable_line;
    // The lines name accounts from tokens and the keychain's error words.
    for r in &done.removed {
        println!("  {}", printable_line(r));
    }
    for k in &done.kept {
        println!("  kept {}", printable_line(k));
    }
    for f in &done.failed {
        eprintln!("error: not removed: {}", printable_line(f));
    }
    if done.is_complete() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} keychain entr{} could not be removed (see above); they are still stored",
            done.failed.len(),
            if done.failed.len() == 1 { "y" } else { "ies" }
        )))
    }
}
