//! The command line's side of a connect: the engine's [`Connector`] over the OS keychain, the
//! terminal as its [`SignInPrompt`] (the one renderer of sign-in progress on stderr, the
//! password from `--password-stdin`), Ctrl+C as its cancel, and the exit code of its errors.

use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::CliError;
use crate::engine::auth::{CancellationToken, SignInError, SignInEvent};
use crate::engine::connect::{ConnectError, Connector, OnFailure, OnMismatch, SignInPrompt};
use crate::engine::rest::RestError;
use crate::engine::sessions::{ConnectProgress, RegistrySettings, SessionError, SessionRegistry};
use crate::model::text::printable_line;

/// The connector of one command: token cache and profile clients over the OS keychain (or
/// memory, with the notice on stderr), a session registry, the system browser (unless
/// `EXO_CONNECT_NO_BROWSER`), `timeout` for an interactive sign-in.
pub(crate) async fn connector(timeout: Duration) -> Result<Connector, CliError> {
    let (cache, clients) = super::open_cache().await?;
    let registry = SessionRegistry::start(RegistrySettings::default());
    Ok(Connector::new(cache, clients, registry).with_signin_timeout(timeout))
}

/// A token cancelled by Ctrl+C (the task ends with the runtime).
pub(crate) fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
        }
    });
    cancel
}

/// The terminal: progress on stderr, the password given on stdin (once), a UPN mismatch
/// accepted with a warning, a failure ends the command.
pub(crate) struct TerminalPrompt {
    password: Mutex<Option<String>>,
}

impl TerminalPrompt {
    pub(crate) fn new(password: Option<String>) -> Self {
        TerminalPrompt {
            password: Mutex::new(password),
        }
    }
}

impl SignInPrompt for TerminalPrompt {
    fn show(&self, event: &SignInEvent) {
        if let Some(text) = render(event) {
            eprintln!("{text}");
        }
    }

    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        let pw = self.password.lock().unwrap().take();
        Box::pin(async move {
            pw.ok_or_else(|| {
                ConnectError::Config(
                    "the password method needs --password-stdin (the password is read from stdin, never from the command line)".into(),
                )
            })
        })
    }

    fn upn_mismatch<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, OnMismatch> {
        // The warning was shown with the event; the command goes on as the account that signed in.
        Box::pin(async { OnMismatch::Continue })
    }

    fn failed<'a>(&'a self, _: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        Box::pin(async { OnFailure::GiveUp })
    }

    fn connecting(&self, progress: &ConnectProgress) {
        // "retrying in 4.0 s: <the service's words>": server text, made safe to print.
        eprintln!("{}", printable_line(&progress.to_string()));
    }
}

/// The terminal's words for a sign-in event (None: nothing to say). What the server said (the
/// code, the page, an explanation quoting Entra, the account) arrives without escape sequences or
/// control characters.
pub fn render(e: &SignInEvent) -> Option<String> {
    render_raw(e).map(|t| crate::model::text::printable(&t).into_owned())
}

fn render_raw(e: &SignInEvent) -> Option<String> {
    Some(match e {
        SignInEvent::CodeIssued {
            user_code,
            verification_uri,
            expires_at,
            verification_warning,
            ..
        } => {
            let mut t = format!(
                "To sign in, open {verification_uri} and enter the code {user_code}\n(the code expires at {} UTC; waiting for you to finish in the browser...)",
                expires_at.format("%H:%M:%S")
            );
            if let Some(w) = verification_warning {
                t.push_str(&format!("\nwarning: {w}"));
            }
            t
        }
        SignInEvent::SlowedDown { interval_secs } => {
            format!("The sign-in service asked to poll more slowly (every {interval_secs} s).")
        }
        SignInEvent::BrowserOpened { url } => {
            format!("Opened the browser for sign-in. If nothing appeared, open this URL:\n{url}")
        }
        SignInEvent::OpenBrowserFailed { url } => {
            format!("No browser could be opened. To sign in, open this URL in a browser:\n{url}")
        }
        SignInEvent::MfaRequired { explanation } => explanation.clone(),
        SignInEvent::UpnMismatch { expected, actual } => format!(
            "warning: signed in as {actual}, but the profile's UPN is {expected} (single sign-on picked another account). Continuing as {actual}; sign out of the browser and run `exo-connect login --force` to use {expected}."
        ),
        SignInEvent::Expired
        | SignInEvent::Declined
        | SignInEvent::Waiting
        | SignInEvent::Succeeded { .. }
        | SignInEvent::Failed { .. } => return None,
    })
}

/// The exit code and words of a failed connect: what the caller must fix is a usage error (2),
/// a refused sign-in or session a failure (1).
pub(crate) fn connect_error(e: ConnectError) -> CliError {
    match e {
        ConnectError::Config(m) => CliError::Usage(m),
        ConnectError::SignIn(e) => CliError::Failed(format!("sign-in failed: {}", e.explanation())),
        ConnectError::Session(e) => session_error(e),
    }
}

/// A registry refusal (the limit guard, the access check, a run that could not start).
pub(crate) fn session_error(e: SessionError) -> CliError {
    match e {
        SessionError::Config(m) => CliError::Usage(m),
        SessionError::Service(r) => CliError::Failed(rest_message(&r)),
        other => CliError::Failed(other.to_string()),
    }
}

/// A cmdlet failure with its status, request id and the catalogue's explanation (the server's
/// words without control characters).
pub(crate) fn rest_message(e: &RestError) -> String {
    crate::model::text::printable(&rest_message_raw(e)).into_owned()
}

fn rest_message_raw(e: &RestError) -> String {
    let mut m = format!("{}: {}", e.cmdlet, e.message);
    if let Some(s) = e.status {
        m.push_str(&format!(" (HTTP {s}"));
        if let Some(r) = &e.request_id {
            m.push_str(&format!(", request id {r}"));
        }
        m.push(')');
    }
    if let Some(x) = e.explanation() {
        m.push_str(&format!("\n{x}"));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_words_lose_their_escape_sequences() {
        let t = render(&SignInEvent::UpnMismatch {
            expected: "a@b.c".into(),
            actual: "\u{1b}]0;x\u{7}evil@b.c".into(),
        })
        .unwrap();
        assert!(t.contains("evil@b.c") && !t.contains('\u{1b}'), "{t:?}");
        let m = rest_message(&RestError::new(
            crate::engine::rest::RestErrorKind::Service,
            "Get-Mailbox",
            "\u{1b}[2Jgone",
        ));
        assert!(!m.contains('\u{1b}'), "{m:?}");
    }

    #[test]
    fn the_device_code_line_ends_with_the_code() {
        let t = render(&SignInEvent::CodeIssued {
            user_code: "ABCD-1234".into(),
            verification_uri: "https://microsoft.com/devicelogin".into(),
            expires_at: chrono::Utc::now(),
            message: String::new(),
            verification_warning: None,
        })
        .unwrap();
        let first = t.lines().next().unwrap();
        assert!(first.contains("enter the code"), "{t}");
        assert_eq!(first.split_whitespace().last(), Some("ABCD-1234"));
        assert_eq!(render(&SignInEvent::Waiting), None);
    }

    #[tokio::test]
    async fn the_terminal_gives_its_password_once_and_never_retries() {
        let p = TerminalPrompt::new(Some("pw".into()));
        assert_eq!(p.password().await.unwrap(), "pw");
        let e = p.password().await.unwrap_err();
        assert!(matches!(e, ConnectError::Config(ref m) if m.contains("--password-stdin")));
        assert_eq!(p.failed(&SignInError::Declined).await, OnFailure::GiveUp);
        assert_eq!(p.upn_mismatch("a", "b").await, OnMismatch::Continue);
    }
}
