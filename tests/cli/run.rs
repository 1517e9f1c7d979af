//! `exo-connect run` and `exo-connect sessions`: the real binary against an in-process sim
//! (password sign-in of seeded accounts without MFA, secrets in memory).

use exo_connect::model::store::ProfileStore;
use exo_connect::model::{AuthMethod, Service};

use super::support::{cli, exo, profile, pw, setup, streamed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_json_streams_every_mailbox() {
    let (h, home) = setup(2500).await;
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-Mailbox",
            "-ResultSize",
            "Unlimited",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(rows.len(), 2500);
    let mut guids = std::collections::HashSet::new();
    for r in &rows {
        let o = r.as_object().unwrap();
        assert!(o.keys().all(|k| !k.contains('@')), "{k:?}", k = o.keys());
        assert!(guids.insert(o["Guid"].as_str().unwrap().to_string()));
    }
    // The session's requests: the access check, then 3 pages of 1000 (the profile's page size).
    let cmdlets: Vec<String> = h
        .admin
        .requests()
        .iter()
        .map(|r| r.cmdlet.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        cmdlets,
        [
            "Get-AcceptedDomain",
            "Get-Mailbox",
            "Get-Mailbox",
            "Get-Mailbox"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_csv_table_page_size_and_warnings() {
    let (h, home) = setup(1200).await;
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "csv",
            "--page-size",
            "2",
            "--password-stdin",
            "--",
            "Get-Mailbox -ResultSize 3",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut rd = csv::Reader::from_reader(o.stdout.as_bytes());
    let headers = rd.headers().unwrap().clone();
    assert!(headers.iter().all(|h| !h.contains('@')));
    let email_col = headers.iter().position(|h| h == "EmailAddresses").unwrap();
    let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), 3);
    assert!(
        recs.iter().all(|r| r[email_col].contains(';')),
        "{:?}",
        recs[0]
    );
    // --page-size 2: pages of 2 rows (2 requests for 3 rows).
    assert_eq!(
        h.admin
            .requests()
            .iter()
            .filter(|r| r.cmdlet.as_deref() == Some("Get-Mailbox"))
            .count(),
        2
    );

    // Without ResultSize the service stops at 1000 and warns: the warning goes to stderr.
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "csv",
            "--password-stdin",
            "--",
            "Get-Mailbox",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("WARNING:") && o.stderr.contains("ResultSize"),
        "{}",
        o.stderr
    );
    assert_eq!(
        csv::Reader::from_reader(o.stdout.as_bytes())
            .records()
            .count(),
        1000
    );
    assert!(!o.stdout.contains("WARNING"));

    // A table fits the terminal.
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--password-stdin",
            "--",
            "Get-Mailbox",
            "-ResultSize",
            "5",
        ],
        &pw("ops@contoso.com"),
        Some("80"),
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{}", o.stdout);
    assert!(
        lines.iter().all(|l| l.chars().count() <= 80),
        "{}",
        o.stdout
    );
    assert!(lines[0].starts_with("Name"), "{}", o.stdout);
    assert!(o.stderr.contains("more properties not shown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_transport_rules_on_exo_and_eop_and_scc_through_the_redirect() {
    let (h, home) = setup(10).await;
    for (name, upn) in [
        ("Contoso EXO", "ops@contoso.com"),
        ("Northwind EOP", "admin@northwind.com"),
    ] {
        let o = cli(
            &home,
            &[
                "run",
                name,
                "--format",
                "json",
                "--password-stdin",
                "--",
                "Get-TransportRule",
            ],
            &pw(upn),
            None,
        )
        .await;
        assert_eq!(o.code, 0, "{name}: {}", o.stderr);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
        assert!(!rows.is_empty(), "{name}");
    }
    let o = cli(
        &home,
        &[
            "run",
            "Contoso SCC",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-RetentionCompliancePolicy",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert!(!rows.is_empty());
    assert!(
        o.stderr
            .contains(&format!("redirected to {}", h.urls().scc_regional)),
        "{}",
        o.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_errors_and_usage_exit_codes() {
    let (_h, home) = setup(10).await;
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--password-stdin",
            "--",
            "Get-Mailbox -Identity nobody@contoso.com",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("nobody@contoso.com") && o.stderr.contains("HTTP 404"),
        "{}",
        o.stderr
    );
    assert!(o.stdout.is_empty());
    // A wrong password is a sign-in failure (1).
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--password-stdin",
            "--",
            "Get-Mailbox",
        ],
        "wrong\n",
        None,
    )
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("sign-in failed"), "{}", o.stderr);
    // Usage errors (2), before any network.
    for (args, needle) in [
        (
            vec!["run", "Contoso EXO", "--", "Get-Mailbox | Select Name"],
            "one cmdlet with parameters",
        ),
        (
            vec![
                "run",
                "Contoso EXO",
                "--",
                "Get-Mailbox",
                "-Identity",
                "$me",
            ],
            "$me",
        ),
        (
            vec!["run", "Nobody", "--", "Get-Mailbox"],
            "no profile named 'Nobody'",
        ),
        (
            vec![
                "run",
                "Contoso EXO",
                "--page-size",
                "0",
                "--",
                "Get-Mailbox",
            ],
            "--page-size",
        ),
        (
            vec!["run", "Contoso EXO", "--", "Get-Mailbox -ResultSize lots"],
            "ResultSize",
        ),
        (vec!["run", "Contoso EXO"], "Usage"),
    ] {
        let o = cli(&home, &args, "", None).await;
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(needle), "{args:?}: {}", o.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_lists_nothing_without_a_cached_sign_in() {
    let (_h, home) = setup(10).await;
    let o = cli(&home, &["sessions"], "", None).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("No cached sign-ins"), "{}", o.stdout);
    let o = cli(&home, &["sessions", "--json"], "", None).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&o.stdout).unwrap(),
        serde_json::json!([])
    );
}

use crate::common::signin_support;

/// `run` signs in first when there is no cached sign-in: the device-code instructions go to
/// stderr, the test plays the admin (with MFA) in the sim's pages, the rows go to stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_signs_in_with_the_device_code_first() {
    let (h, home) = setup(10).await;
    let h = std::sync::Arc::new(h);
    let (mut store, _) = ProfileStore::open(home.path()).unwrap();
    let mut p = profile(
        &h,
        "Contoso MFA",
        "admin@contoso.com",
        Service::ExchangeOnline,
    );
    p.auth = AuthMethod::DeviceCode;
    store.upsert(p).unwrap();
    store.save().unwrap();
    let args = [
        "run",
        "Contoso MFA",
        "--format",
        "json",
        "--",
        "Get-Mailbox",
        "-ResultSize",
        "2",
    ];
    let o = streamed(exo(home.path(), &args), None, |l| {
        let h = h.clone();
        async move {
            if l.contains("enter the code") {
                let code = l.split_whitespace().last().unwrap().to_string();
                signin_support::complete_device_login(
                    &h,
                    &code,
                    &signin_support::UserAction::SignIn("admin@contoso.com".into()),
                )
                .await;
            }
        }
    })
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("/devicelogin"), "{}", o.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(rows.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_whose_access_check_retries_says_so_on_stderr() {
    let (h, home) = setup(20).await;
    // The first two admin requests are the access check's.
    h.admin.inject_spec("503@1,429@2:retry=0.5").unwrap();
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-Mailbox -ResultSize 5",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let retries: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("retrying in "))
        .collect();
    assert_eq!(retries.len(), 2, "{}", o.stderr);
    assert!(retries[0].contains("503"), "{}", o.stderr);
    assert!(
        retries[1].starts_with("retrying in 0.5 s: "),
        "{}",
        o.stderr
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(rows.len(), 5);
}

/// What the sim holds for `cmdlet` in the tenant of `domain`, as the pre-store CLI cleaned it.
fn sim_rows(
    domain: &str,
    mailboxes: usize,
    cmdlet: &str,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    use exo_connect::sim::admin::dataset;
    let world = exo_connect::sim::World::seeded(1, mailboxes);
    let t = world
        .tenants
        .iter()
        .find(|t| t.domains.iter().any(|d| d == domain))
        .unwrap();
    let rows = match cmdlet {
        "Get-Mailbox" => (0..t.mailboxes)
            .map(|i| dataset::mailbox(1, t, i))
            .collect(),
        "Get-TransportRule" => dataset::seeded_transport_rules(1, t),
        other => panic!("no expected rows for {other}"),
    };
    rows.into_iter()
        .map(|r| super::legacy_output::clean_row(serde_json::Value::Object(r)))
        .collect()
}

/// `run --format json|csv` writes its rows from the result store; what it prints equals, byte
/// for byte, what the command line printed before the store for the same rows (the sim's
/// 2,500 mailboxes over 4 pages, and its transport rules).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_json_and_csv_equal_the_pre_store_output() {
    let (_h, home) = setup(2500).await;
    for (cmdlet, page_size) in [
        ("Get-Mailbox -ResultSize Unlimited", "700"),
        ("Get-TransportRule", "2"),
    ] {
        let name = cmdlet.split(' ').next().unwrap();
        let want = sim_rows("contoso.com", 2500, name);
        assert!(want.len() > 2, "{cmdlet}");
        for format in ["json", "csv"] {
            let o = cli(
                &home,
                &[
                    "run",
                    "Contoso EXO",
                    "--format",
                    format,
                    "--page-size",
                    page_size,
                    "--password-stdin",
                    "--",
                    cmdlet,
                ],
                &pw("ops@contoso.com"),
                None,
            )
            .await;
            assert_eq!(o.code, 0, "{cmdlet} {format}: {}", o.stderr);
            let expected = match format {
                "json" => super::legacy_output::to_json(&want),
                _ => super::legacy_output::to_csv(&want),
            };
            assert!(
                o.stdout == expected,
                "{cmdlet} --format {format} differs from the pre-store output: {} bytes against {}",
                o.stdout.len(),
                expected.len()
            );
        }
    }
}
