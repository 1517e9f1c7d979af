//! `exo-connect run` against a tenant with a small request budget: the low budget is said on
//! stderr once, requests are paced, and no 429 is met.

use exo_connect::model::Service;
use exo_connect::model::store::ProfileStore;
use exo_connect::sim::SimConfig;

use super::support::{cli, profile, pw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_budget_is_said_once_and_the_run_is_paced() {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 60,
        connection_cap: Some(1000),
        rate_limit_capacity: 4,
        rate_limit_per_second: 10.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let (mut store, _) = ProfileStore::open(home.path()).unwrap();
    store
        .upsert(profile(
            &h,
            "Contoso EXO",
            "ops@contoso.com",
            Service::ExchangeOnline,
        ))
        .unwrap();
    store.save().unwrap();
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "csv",
            "--page-size",
            "3",
            "--password-stdin",
            "--",
            "Get-Mailbox -ResultSize 60",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 61, "a header and 60 rows");
    let said: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("rate limit:"))
        .collect();
    assert_eq!(said.len(), 1, "{}", o.stderr);
    assert!(said[0].contains("of 4 requests left"), "{}", said[0]);
    assert!(!o.stderr.contains("retrying"), "{}", o.stderr);
    assert_eq!(
        h.admin
            .requests()
            .iter()
            .filter(|r| r.status == 429)
            .count(),
        0
    );
}
