//! `--log-dir`: the real binary signs in (password) and runs a cmdlet against an in-process sim
//! with the diagnostic log on; the log has the requests, status codes, timings and request ids,
//! and none of the password or tokens (every token the sim issues is a JWT, `eyJ…`, or a
//! 64-character random string: the refresh tokens; the sim's own count proves one was issued).

use std::time::Duration;

use exo_connect::model::Service;
use exo_connect::sim::SimConfig;

use super::support::{exo, finish, home_with_store, profile};

const UPN: &str = "ops@contoso.com";

fn password() -> String {
    format!("ops{}", exo_connect::sim::world::DEMO_PASSWORD_SUFFIX)
}

/// Runs the binary with `args` in `home`, `stdin` as its input (the environment's log
/// settings left out): its exit code and its stdout and stderr.
async fn cli(home: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String) {
    let mut c = exo(home, args);
    c.env_remove(exo_connect::engine::diag::LOG_DIR_ENV)
        .env_remove(exo_connect::engine::diag::LOG_LEVEL_ENV);
    let out = finish(c, stdin, Duration::from_secs(60)).await;
    (out.code, format!("{}{}", out.stdout, out.stderr))
}

/// The longest run of base64url characters in `s` (a refresh token is one of 64).
fn longest_token_run(s: &str) -> usize {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_dir_writes_requests_statuses_and_timings_and_no_secret() {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 30,
        // The first page of Get-Mailbox answers 503 once: the log shows the retry.
        faults: "503@2".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let home = home_with_store([profile(&h, "Contoso EXO", UPN, Service::ExchangeOnline)]);
    let logs = home.path().join("support logs");
    let logs_arg = logs.to_str().unwrap();

    let (code, out) = cli(
        home.path(),
        &[
            "--log-dir",
            logs_arg,
            "run",
            "Contoso EXO",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-Mailbox",
            "-ResultSize",
            "10",
        ],
        &format!("{}\n", password()),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(
        h.auth.refresh_tokens_issued() >= 1,
        "the sim issued a refresh token"
    );

    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("exo-connect-") && name.ends_with(".log"),
        "{name}"
    );
    let log = std::fs::read_to_string(&files[0]).unwrap();
    if std::env::var_os("SHOW_LOG").is_some() {
        eprintln!("{log}");
    }

    // Useful: the sign-in step, the probe and the cmdlet with status, time and request ids.
    for want in [
        "diagnostic log opened",
        "sign-in step grant=password",
        "signed in",
        "what=Get-AcceptedDomain",
        "what=Get-Mailbox method=POST",
        "status=200",
        "status=503",
        "retry",
        "ms=",
    ] {
        assert!(log.contains(want), "{want:?} missing from the log:\n{log}");
    }
    let cmdlet_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("what=Get-Mailbox") && l.contains("status=200"))
        .collect();
    assert!(!cmdlet_lines.is_empty(), "{log}");
    for id in h
        .admin
        .requests()
        .iter()
        .filter_map(|r| r.client_request_id.clone())
    {
        assert!(log.contains(&id), "client request id {id} missing:\n{log}");
    }
    assert!(
        cmdlet_lines.iter().all(|l| {
            let id = l.split(" request_id=").nth(1).unwrap_or("");
            uuid::Uuid::parse_str(id.split(' ').next().unwrap_or("")).is_ok()
        }),
        "each response names the service's request id:\n{log}"
    );

    // Nothing secret: no password, no JWT, no refresh-token-sized string, no query.
    assert!(!log.contains(&password()), "{log}");
    assert!(!log.contains("eyJ"), "a JWT in the log:\n{log}");
    assert!(
        longest_token_run(&log) < 40,
        "a token-sized string in the log:\n{log}"
    );
    assert!(
        !log.contains("[redacted]"),
        "the engine logs no secret to redact:\n{log}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the log is private: {mode:o}");
    }
}

#[tokio::test]
async fn a_log_dir_that_cannot_be_created_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("a file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("logs");
    let (code, out) = cli(
        home.path(),
        &["--log-dir", bad.to_str().unwrap(), "profile", "list"],
        "",
    )
    .await;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("--log-dir") && out.contains("cannot create the log folder"),
        "{out}"
    );
}

#[tokio::test]
async fn a_wrong_log_level_names_the_levels() {
    let home = tempfile::tempdir().unwrap();
    let (code, out) = cli(
        home.path(),
        &["--log-dir", "x", "--log-level", "loud", "profile", "list"],
        "",
    )
    .await;
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("info or debug"), "{out}");
}
