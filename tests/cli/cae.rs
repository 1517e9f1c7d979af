//! Continuous access evaluation through `exo-connect run`: a session the sim revokes answers
//! 401 `insufficient_claims` with a claims challenge; the client asks for a token with those
//! claims (silently, from the cached refresh token) and retries once — never a loop.

use super::support::{cli, pw, setup};

const UPN: &str = "ops@contoso.com";

fn args(line: &str) -> Vec<&str> {
    vec![
        "run",
        "Contoso EXO",
        "--format",
        "json",
        "--password-stdin",
        "--",
        line,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_recovers_through_the_claims_challenge() {
    let (h, home) = setup(30).await;
    // Request 1 is the connect's access check; the revocation hits the cmdlet (request 2).
    h.admin.inject_spec("revoke@2").unwrap();
    let o = cli(&home, &args("Get-Mailbox -ResultSize 5"), &pw(UPN), None).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(rows.len(), 5);
    let statuses: Vec<u16> = h
        .admin
        .requests()
        .iter()
        .skip(1) // the access check
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [401, 200], "challenged once, then answered");
    assert_eq!(
        h.admin.requests().last().unwrap().cmdlet.as_deref(),
        Some("Get-Mailbox")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_challenge_ends_the_run_with_the_reason() {
    let (h, home) = setup(30).await;
    // Revoked again right after the claims were answered: one retry, then a plain error.
    h.admin.inject_spec("revoke@2,revoke@3").unwrap();
    let o = cli(&home, &args("Get-Mailbox -ResultSize 5"), &pw(UPN), None).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("continuous access evaluation"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("sign in again"), "{}", o.stderr);
    let sent = h
        .admin
        .requests()
        .iter()
        .skip(1) // the access check
        .count();
    assert_eq!(sent, 2, "never a loop");
}
