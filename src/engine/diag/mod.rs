//! Diagnostics without secrets: an opt-in diagnostic log (the equivalent of the PowerShell
//! module's `-EnableErrorReporting -LogDirectoryPath -LogLevel`) on the `tracing` crate.
//!
//! - What is logged: request ids (`request-id`, `client-request-id`, `x-ms-request-id`), hosts,
//!   paths (never a query), methods, status codes, timings, retries, sign-in steps (the grant,
//!   the account that signed in), session changes. Never a header value of
//!   Authorization/Cookie/Set-Cookie, never a body of a token or password request: the engine
//!   logs through [`exchange`], [`no_answer`] and named fields, and a redacting subscriber
//!   ([`redact`]) replaces token-looking text in any field as a second line of defence.
//! - Where: the command line's `--log-dir DIR` / `EXO_CONNECT_LOG_DIR` (with `--log-level
//!   info|debug` / `EXO_CONNECT_LOG_LEVEL`), the window's Settings (folder `<config>/logs`):
//!   `<DIR>/exo-connect-<YYYY-MM-DD>.log`, appended, one line per event:
//!   `2026-05-01T09:30:12.345Z INFO  engine::auth: response what=sign-in method=POST host=… status=200 ms=84 request_id=…`.
//! - The window always keeps the recent lines in memory (no file unless asked) for "Copy
//!   diagnostics" ([`support_report`]).

pub mod redact;
mod subscriber;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

pub use subscriber::{DiagSubscriber, Diagnostics, RING_LINES};

/// The folder of the command line's log (`--log-dir`).
pub const LOG_DIR_ENV: &str = "EXO_CONNECT_LOG_DIR";
/// The level of the log (`--log-level`): `info` or `debug`.
pub const LOG_LEVEL_ENV: &str = "EXO_CONNECT_LOG_LEVEL";

/// How much the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum LogLevel {
    /// Errors and warnings only.
    Warn = 1,
    /// Requests, responses, retries, sign-in steps, sessions (the default).
    #[default]
    Info = 2,
    /// Also each sign-in poll and session event.
    Debug = 3,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            1 => LogLevel::Warn,
            3 => LogLevel::Debug,
            _ => LogLevel::Info,
        }
    }

    pub(crate) fn as_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
        }
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" | "verbose" => Ok(LogLevel::Debug),
            other => Err(format!(
                "'{other}' is not a log level: use info or debug (or warn)"
            )),
        }
    }
}

static GLOBAL: OnceLock<Diagnostics> = OnceLock::new();

/// This process's diagnostics, installed as the global `tracing` subscriber on first use
/// (recording into memory only until [`Diagnostics::set_folder`]).
pub fn global() -> &'static Diagnostics {
    GLOBAL.get_or_init(|| {
        let d = Diagnostics::new(LogLevel::Info);
        // Fails only when another global subscriber was set first (then ours records nothing).
        let _ = tracing::subscriber::set_global_default(d.subscriber());
        d
    })
}

/// The folder the command line's `--log-dir` named (the window's Settings then write there too).
static CLI_FOLDER: OnceLock<PathBuf> = OnceLock::new();

/// `--log-dir DIR` / `--log-level`: this process logs to `DIR` from now on. The error says what
/// to fix (a folder that cannot be created or written).
pub fn start_cli_log(dir: &std::path::Path, level: LogLevel) -> Result<PathBuf, String> {
    let d = global();
    d.set_level(level);
    let path = d
        .set_folder(Some(dir))?
        .ok_or_else(|| format!("no log file in {}", dir.display()))?;
    let _ = CLI_FOLDER.set(dir.to_path_buf());
    Ok(path)
}

/// The diagnostics installed by [`global`], if any (nothing is recorded before).
pub fn installed() -> Option<&'static Diagnostics> {
    GLOBAL.get()
}

/// The text of "Copy diagnostics": version, OS, the log file, the recent lines (no secrets:
/// they passed the redaction).
pub fn support_report(extra: &[(&str, String)]) -> String {
    let mut out = format!(
        "exo-connect {} on {} {}\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let d = installed();
    out.push_str(&format!(
        "diagnostic log: {}\n",
        d.and_then(Diagnostics::file_path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "off (recent lines below are from memory)".into())
    ));
    for (k, v) in extra {
        out.push_str(&format!("{k}: {}\n", crate::model::text::printable_line(v)));
    }
    let lines = d.map(|d| d.recent(300)).unwrap_or_default();
    out.push_str(&format!("--- last {} log lines ---\n", lines.len()));
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// The folder of the window's log: the command line's `--log-dir` if given, else
/// `<config>/logs`.
pub fn default_folder(config_root: &std::path::Path) -> PathBuf {
    CLI_FOLDER
        .get()
        .cloned()
        .unwrap_or_else(|| config_root.join("logs"))
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Logs one HTTP answer: what it was for, method, host, path (never the query), status, time,
/// the request ids. No header value but the ids, no body.
pub fn exchange(
    what: &str,
    method: &str,
    url: &url::Url,
    status: u16,
    elapsed: Duration,
    headers: &reqwest::header::HeaderMap,
) {
    let request_id = match header(headers, "request-id") {
        id if id.is_empty() => header(headers, "x-ms-request-id"),
        id => id,
    };
    tracing::info!(
        what,
        method,
        host = crate::engine::http::host_of(url.as_str()),
        path = url.path(),
        status,
        ms = elapsed.as_millis() as u64,
        request_id,
        client_request_id = header(headers, "client-request-id"),
        "response"
    );
}

/// Logs a request that got no answer (connection refused, timeout, TLS).
pub fn no_answer(what: &str, method: &str, url: &url::Url, elapsed: Duration, error: &str) {
    tracing::warn!(
        what,
        method,
        host = crate::engine::http::host_of(url.as_str()),
        path = url.path(),
        ms = elapsed.as_millis() as u64,
        error,
        "no answer"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_redacted_printable_lines_of_our_crate_only() {
        let d = Diagnostics::new(LogLevel::Info);
        let dir = tempfile::tempdir().unwrap();
        let path = d.set_folder(Some(dir.path())).unwrap().unwrap();
        tracing::subscriber::with_default(d.subscriber(), || {
            let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
            tracing::info!(
                host = "login.microsoftonline.com",
                authorization = "Bearer abc",
                note = jwt,
                "sent \u{1b}[31m{}",
                "red"
            );
            tracing::debug!("not at info");
            tracing::info!(target: "hyper::client", "not ours");
            tracing::warn!(password = "Hunter2!", "refused");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("diagnostic log opened"), "{text}");
        assert!(text.contains("host=login.microsoftonline.com"), "{text}");
        assert!(text.contains("sent red"), "{text}");
        for gone in [
            "Bearer abc",
            "eyJ",
            "Hunter2",
            "not at info",
            "not ours",
            "\u{1b}",
        ] {
            assert!(!text.contains(gone), "{gone:?} in {text}");
        }
        assert_eq!(d.recent(10).len(), 3, "{:?}", d.recent(10));
        d.set_level(LogLevel::Debug);
        tracing::subscriber::with_default(d.subscriber(), || tracing::debug!("now yes"));
        assert!(d.recent(1)[0].contains("now yes"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the log is private: {mode:o}");
        }
    }

    #[test]
    fn levels_parse() {
        assert_eq!("DEBUG".parse::<LogLevel>().unwrap(), LogLevel::Debug);
        assert_eq!("info".parse::<LogLevel>().unwrap(), LogLevel::Info);
        assert!(
            "loud"
                .parse::<LogLevel>()
                .unwrap_err()
                .contains("info or debug")
        );
    }

    #[test]
    fn the_support_report_names_the_version_and_os() {
        let r = support_report(&[("window", "1280x820".into())]);
        assert!(r.starts_with(&format!("exo-connect {}", env!("CARGO_PKG_VERSION"))));
        assert!(r.contains(std::env::consts::OS) && r.contains("window: 1280x820"));
    }
}
