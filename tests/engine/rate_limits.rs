//! Rate limits as information: the sim's `Rate-Limit-*` headers are read, shown per run and
//! session, and pace a long run so that it never meets the 429 a small bucket would give.

use std::sync::Arc;
use std::time::Duration;

use crate::common::connections_fixture::sim_rest_client;
use exo_connect::engine::rest::{CmdletRequest, RestClient, RestConfig, RunEvent};
use exo_connect::sim::{SimConfig, SimHandle};

async fn small_bucket(per_second: f64) -> SimHandle {
    exo_connect::sim::start(SimConfig {
        mailboxes: 200,
        connection_cap: Some(1000),
        rate_limit_capacity: 5,
        rate_limit_per_second: per_second,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn client(h: &SimHandle, pace: bool) -> Arc<RestClient> {
    let cfg = RestConfig {
        page_size: 5,
        max_attempts: 10,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        pace,
        ..Default::default()
    };
    sim_rest_client(h, "admin@contoso.com", cfg)
}

fn refused(h: &SimHandle) -> usize {
    h.admin
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_run_meets_no_429_where_an_unpaced_one_does() {
    // Paced: 40 pages through a bucket of 5 refilled at 15/s, and not one 429.
    let h = small_bucket(15.0).await;
    let c = client(&h, true);
    let mut run = c.start(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"));
    let (mut rows, mut budgets, mut retries) = (0, Vec::new(), 0);
    while let Some(ev) = run.events.recv().await {
        match ev {
            RunEvent::Page { rows: r, .. } => rows += r.len(),
            RunEvent::RateBudget(b) => budgets.push(b),
            RunEvent::Retrying { .. } => retries += 1,
            RunEvent::Done { .. } => break,
            RunEvent::Failed(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    assert_eq!(rows, 200);
    assert_eq!(refused(&h), 0, "paced: no 429");
    assert_eq!(retries, 0);
    assert_eq!(budgets.len(), 40, "a budget per answer");
    assert!(budgets.iter().all(|b| b.limit == 5 && b.remaining <= 5));
    let lowest = budgets.iter().map(|b| b.remaining).min().unwrap();
    assert!(
        lowest <= 1,
        "the run used the whole budget: lowest {lowest}"
    );
    let stats = c.stats().rate.expect("the session's budget");
    assert_eq!(stats.limit, 5);

    // Unpaced, 10 pages through a bucket of 5 refilled at 2/s: it runs dry and the service says
    // 429 (retried, honouring the fractional Retry-After, so the rows still all arrive).
    let h = small_bucket(2.0).await;
    let out = client(&h, false)
        .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", 50))
        .await
        .unwrap();
    assert_eq!(out.rows.len(), 50);
    assert!(refused(&h) > 0, "unpaced: the small bucket refuses some");
}
