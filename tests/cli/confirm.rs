//! `exo-connect run` with change cmdlets: the service's confirmation question, `--yes` (required
//! without a terminal), `-WhatIf` passed through, non-terminating errors per target — checked
//! against the sim's state afterwards.

use super::support::{Out, cli, pw, setup};

const UPN: &str = "ops@contoso.com";

async fn run(home: &tempfile::TempDir, extra: &[&str], line: &str) -> Out {
    let mut args = vec!["run", "Contoso EXO", "--format", "json", "--password-stdin"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", line]);
    cli(home, &args, &pw(UPN), None).await
}

fn rows(o: &Out) -> Vec<serde_json::Value> {
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_needs_the_services_confirmation_and_yes_without_a_terminal() {
    let (h, home) = setup(20).await;
    let get = "Get-TransportRule -Identity 'Exo confirm test'";

    // No terminal (stdin is a pipe) and no --yes: the service's question, exit 2, nothing done.
    let o = run(&home, &[], "New-TransportRule -Name 'Exo confirm test'").await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("Creating transport rule"), "{}", o.stderr);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(o.stdout, "");
    let g = run(&home, &[], get).await;
    assert_eq!(g.code, 1, "the rule must not exist yet: {}", g.stdout);

    // -WhatIf: passed through, its answer shown, nothing done.
    let o = run(
        &home,
        &[],
        "New-TransportRule -Name 'Exo confirm test' -WhatIf",
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("What if: Performing the operation \"New-TransportRule\""),
        "{}",
        o.stderr
    );
    assert_eq!(run(&home, &[], get).await.code, 1);

    // --yes: asked, then sent again with Confirm:false; the rule exists afterwards.
    let before = h.admin.requests().len();
    let o = run(
        &home,
        &["--yes"],
        "New-TransportRule -Name 'Exo confirm test'",
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Creating transport rule"), "{}", o.stderr);
    let sent = h.admin.requests()[before..]
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("New-TransportRule"))
        .count();
    assert_eq!(sent, 2, "asked once, sent once more");
    let g = run(&home, &[], get).await;
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert_eq!(rows(&g)[0]["Name"], "Exo confirm test");

    // Disable it: the state a later Get shows.
    let o = run(
        &home,
        &["-y"],
        "Disable-TransportRule -Identity 'Exo confirm test'",
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(rows(&run(&home, &[], get).await)[0]["State"], "Disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_terminating_errors_are_warnings_per_target() {
    let (_h, home) = setup(20).await;
    let o = run(&home, &[], "Get-Mailbox -ResultSize 2").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ids: Vec<String> = rows(&o)
        .iter()
        .map(|r| r["PrimarySmtpAddress"].as_str().unwrap().to_string())
        .collect();
    let line = format!(
        "Set-Mailbox -Identity '{}','nobody@contoso.com','{}' -CustomAttribute1 Sales",
        ids[0], ids[1]
    );
    let o = run(&home, &["--yes"], &line).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let warned: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("WARNING: error on"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", o.stderr);
    assert!(warned[0].contains("nobody@contoso.com"), "{}", warned[0]);
    for id in &ids {
        let g = run(&home, &[], &format!("Get-Mailbox -Identity '{id}'")).await;
        assert_eq!(rows(&g)[0]["CustomAttribute1"], "Sales", "{id}");
    }
}
