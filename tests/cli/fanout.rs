//! `exo-connect run` over many profiles (issue 12): the real binary against an in-process
//! `sim --tenants 6` (the partner's DelegatedOrganization profiles, password from stdin,
//! secrets in memory): every selector, the per-profile lines and the summary on stderr, the
//! merged result and the comparison on stdout, the exit codes; and ten single runs in a row.

use std::time::Duration;

use exo_connect::sim::SimHandle;
use serde_json::Value;

use super::support::{Out, exo, finish, setup_customers as setup};
use crate::common::tenants;

/// The partner's password as `--password-stdin` reads it.
fn partner_pw() -> String {
    format!("{}\n", tenants::PARTNER_PASSWORD)
}

async fn cli(home: &tempfile::TempDir, args: &[&str], stdin: &str) -> Out {
    let mut c = exo(home.path(), args);
    c.env("COLUMNS", "200");
    finish(c, stdin, Duration::from_secs(60)).await
}

fn rules(h: &SimHandle, customer: &str) -> usize {
    h.admin
        .transport_rule_count(&format!("{customer}.onmicrosoft.com"))
        .unwrap()
}

/// A customer's display name in the sim (`cust001` → "Blue Falcon 001").
fn display_name(h: &SimHandle, customer: &str) -> String {
    let domain = format!("{customer}.onmicrosoft.com");
    h.world().tenant(&domain).unwrap().display_name.clone()
}

/// The profiles of a JSON merged result with their row counts; each row's Tenant is its
/// customer's display name (the run asked the service for it).
fn per_profile(h: &SimHandle, stdout: &str) -> std::collections::BTreeMap<String, usize> {
    let rows: Vec<Value> = serde_json::from_str(stdout).expect("JSON on stdout");
    let mut m = std::collections::BTreeMap::new();
    for r in rows {
        let o = r.as_object().unwrap();
        let keys: Vec<&str> = o.keys().take(2).map(String::as_str).collect();
        assert_eq!(keys, ["Profile", "Tenant"]);
        let p = o["Profile"].as_str().unwrap().to_string();
        assert_eq!(o["Tenant"], display_name(h, &p));
        *m.entry(p).or_insert(0) += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_runs_on_each_profile_with_a_line_each_and_a_summary() {
    let (h, home) = setup().await;
    let o = cli(
        &home,
        &[
            "run",
            "--folder",
            "customers",
            "--concurrency",
            "3",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-TransportRule",
        ],
        &partner_pw(),
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let per = per_profile(&h, &o.stdout);
    assert_eq!(per.len(), 6);
    for (p, n) in &per {
        assert_eq!(*n, rules(&h, p), "{p}");
        let line = format!("{p}: {n} rows in ");
        assert!(
            o.stderr.lines().any(|l| l.starts_with(&line)),
            "{}",
            o.stderr
        );
    }
    assert_eq!(o.stderr.lines().last(), Some("6 done"), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_tags_select_and_csv_leads_with_profile_and_tenant() {
    let (h, home) = setup().await;
    let o = cli(
        &home,
        &[
            "run",
            "cust002",
            "CUST005",
            "--format",
            "csv",
            "--password-stdin",
            "--",
            "Get-TransportRule",
        ],
        &partner_pw(),
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut lines = o.stdout.lines();
    assert!(lines.next().unwrap().starts_with("Profile,Tenant,Name,"));
    let profiles: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(profiles.len(), rules(&h, "cust002") + rules(&h, "cust005"));
    // In the order given, each profile's rows together.
    assert_eq!(profiles.first(), Some(&"cust002"));
    assert_eq!(profiles.last(), Some(&"cust005"));
    assert_eq!(o.stderr.lines().last(), Some("2 done"));

    let o = cli(
        &home,
        &[
            "run",
            "--tag",
            "odd",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-TransportRule",
        ],
        &partner_pw(),
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let per = per_profile(&h, &o.stdout);
    assert_eq!(
        per.keys().map(String::as_str).collect::<Vec<_>>(),
        ["cust001", "cust003", "cust005"]
    );
    // The table leads with Profile and Tenant too.
    let o = cli(
        &home,
        &[
            "run",
            "cust001",
            "cust004",
            "--password-stdin",
            "--",
            "Get-TransportRule",
        ],
        &partner_pw(),
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let header: Vec<&str> = o
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header[..3], ["Profile", "Tenant", "Name"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_with_one_failing_profile_prints_the_others_and_exits_1() {
    let (h, home) = setup().await;
    // `own admin` is another account: the partner's password is wrong for it.
    let o = cli(
        &home,
        &[
            "run",
            "--all",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-TransportRule",
        ],
        &partner_pw(),
    )
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    let per = per_profile(&h, &o.stdout);
    assert_eq!(per.len(), 6);
    assert_eq!(per["cust004"], rules(&h, "cust004"));
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("own admin: failed: sign-in failed:")
                && l.contains("AADSTS50126")),
        "{}",
        o.stderr
    );
    let tail: Vec<&str> = o.stderr.lines().rev().take(2).collect();
    assert_eq!(tail[1], "6 done, 1 failed", "{}", o.stderr);
    assert!(tail[0].starts_with("error: "), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_or_password_each_profile_needs_its_sign_in() {
    let (_h, home) = setup().await;
    let o = cli(
        &home,
        &["run", "cust001", "own admin", "--", "Get-TransportRule"],
        "",
    )
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("cust001: failed: needs sign-in: run exo-connect login cust001\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("own admin: failed: needs sign-in: run exo-connect login 'own admin'\n"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("\n0 done, 2 failed\n"), "{}", o.stderr);
    assert_eq!(o.stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_help_lists_the_exit_codes() {
    let (_h, home) = setup().await;
    for (args, words) in [
        (
            &["run", "--folder", "Nope", "--", "Get-X"][..],
            "folder 'Nope'",
        ),
        (&["run", "--tag", "none", "--", "Get-X"], "tag 'none'"),
        (
            &["run", "cust001", "ghost", "--", "Get-X"],
            "no profile named 'ghost'",
        ),
        (
            &["run", "--all", "--concurrency", "0", "--", "Get-X"],
            "--concurrency 0",
        ),
        (
            &[
                "run",
                "--all",
                "--compare",
                "--baseline",
                "zz",
                "--",
                "Get-X",
            ],
            "--baseline 'zz'",
        ),
        (&["run", "--", "Get-X"], "give a profile name"),
    ] {
        let o = cli(&home, args, "").await;
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(words), "{args:?}: {}", o.stderr);
    }
    let o = cli(&home, &["run", "--help"], "").await;
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("Exit codes:"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("1  a sign-in, cmdlet or service failure (a fan-out: any profile failed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_writes_items_by_profiles_against_a_baseline() {
    let (_h, home) = setup().await;
    let o = cli(
        &home,
        &[
            "run",
            "--folder",
            "Customers",
            "--compare",
            "--baseline",
            "cust001",
            "--format",
            "csv",
            "--password-stdin",
            "--",
            "Get-TransportRule",
        ],
        &partner_pw(),
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut r = csv::Reader::from_reader(o.stdout.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "Identity", "Summary", "cust001", "cust002", "cust003", "cust004", "cust005", "cust006"
        ]
    );
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    // Customer 2 lacks one of the baseline's rules; customer 3 has one disabled.
    assert!(
        rows.iter()
            .any(|row| row[2] == "baseline" && row[3] == "missing"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|row| row[4].starts_with("differs:") && row[4].contains("State")),
        "{rows:?}"
    );
    assert!(o.stderr.contains("against cust001:"), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_single_runs_of_one_profile_in_a_row_all_succeed() {
    let (h, home) = setup().await;
    for i in 0..10 {
        let o = cli(
            &home,
            &[
                "run",
                "cust001",
                "--format",
                "json",
                "--password-stdin",
                "--",
                "Get-TransportRule",
            ],
            &partner_pw(),
        )
        .await;
        assert_eq!(o.code, 0, "run {i}: {}", o.stderr);
        let rows: Vec<Value> = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(rows.len(), rules(&h, "cust001"), "run {i}");
        // A single run keeps its output: no Profile column.
        assert!(rows[0].get("Profile").is_none());
    }
}

/// `Get-OrganizationConfig` requests the sim answered so far.
fn org_config_requests(h: &SimHandle) -> usize {
    h.admin
        .requests()
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("Get-OrganizationConfig"))
        .count()
}

/// The first fan-out asks each tenant its display name once and keeps it in the profile
/// file; the next one shows the names without asking again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_names_are_asked_once_and_kept_in_the_profiles() {
    let (h, home) = setup().await;
    let args = [
        "run",
        "--folder",
        "customers",
        "--format",
        "json",
        "--password-stdin",
        "--",
        "Get-AcceptedDomain",
    ];
    for (round, asked) in [(1, 6), (2, 6)] {
        let o = cli(&home, &args, &partner_pw()).await;
        assert_eq!(o.code, 0, "round {round}: {}", o.stderr);
        let rows: Vec<Value> = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(rows.len(), 12, "round {round}: two domains per customer");
        for r in &rows {
            let p = r["Profile"].as_str().unwrap();
            assert_eq!(r["Tenant"], display_name(&h, p), "round {round}");
        }
        assert_eq!(org_config_requests(&h), asked, "round {round}");
    }
    let file = std::fs::read_to_string(home.path().join("profiles.json")).unwrap();
    assert!(file.contains(&display_name(&h, "cust004")), "{file}");
}

/// A single `run` of `Get-OrganizationConfig` keeps the tenant's name in its profile from its
/// own rows (its output unchanged, no extra request); a fan-out then asks nobody for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_get_organization_config_run_keeps_the_tenants_name() {
    let (h, home) = setup().await;
    let single = [
        "run",
        "cust002",
        "--format",
        "json",
        "--password-stdin",
        "--",
        "Get-OrganizationConfig",
    ];
    let o = cli(&home, &single, &partner_pw()).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows: Vec<Value> = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["DisplayName"], display_name(&h, "cust002"));
    assert!(rows[0].get("Tenant").is_none(), "the single run's output");
    assert_eq!(org_config_requests(&h), 1, "its own request only");
    let file = std::fs::read_to_string(home.path().join("profiles.json")).unwrap();
    assert!(file.contains(&display_name(&h, "cust002")), "{file}");
    // A fan-out over cust002 alone shows the name without asking for it.
    let fanout = [
        "run",
        "cust002",
        "cust003",
        "--format",
        "json",
        "--password-stdin",
        "--",
        "Get-AcceptedDomain",
    ];
    let o = cli(&home, &fanout, &partner_pw()).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(org_config_requests(&h), 2, "asked for cust003's name only");
}
