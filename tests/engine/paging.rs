//! The REST client's pipelined paging: the next page travels while a page is read and parsed,
//! a listener that falls behind holds the paging back (memory stays bounded), and under every
//! fault a retrying client meets mid-paging — 429, 401, resets, truncated bodies, cut JSON,
//! redirects, the sim's seeded random mode — no row is lost, duplicated or reordered.

use crate::common::connections_fixture;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use connections_fixture::{SeqTokens, SimTokens, rest_client, start_mock};
use exo_connect::engine::rest::{
    CmdletRequest, RUN_EVENTS_BUFFER, RestClient, RestConfig, RunEvent,
};
use exo_connect::model::results::{Cell, ResultStore};
use exo_connect::sim::{SimConfig, SimHandle};

fn config(page_size: u32) -> RestConfig {
    RestConfig {
        page_size,
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(2),
        ..Default::default()
    }
}

fn client(
    base: &str,
    tokens: Arc<dyn exo_connect::engine::token::TokenProvider>,
    cfg: RestConfig,
) -> Arc<RestClient> {
    rest_client(base, tokens, cfg)
}

/// A column's integer cells.
fn ints(rows: &ResultStore, name: &str) -> Vec<i64> {
    rows.rows()
        .map(|r| match r.get(name) {
            Cell::Int(i) => i,
            other => panic!("{name}: {other:?}"),
        })
        .collect()
}

/// A column's string cells.
fn strings(rows: &ResultStore, name: &str) -> Vec<String> {
    rows.rows()
        .map(|r| match r.get(name) {
            Cell::Str(s) => s.to_string(),
            other => panic!("{name}: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_next_page_is_asked_for_while_a_page_is_still_arriving() {
    let mock = start_mock(300, &["tok-1"]).await;
    {
        let mut st = mock.state.lock().unwrap();
        st.link_first = true;
        // The first page's body stops half-way until the second request arrives (or 5 s).
        st.hold_first_page = true;
    }
    let c = client(&mock.url, SeqTokens::new(), config(100));
    let t = std::time::Instant::now();
    let out = c
        .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
        .await
        .unwrap();
    assert_eq!(ints(&out.rows, "Index"), (0..300).collect::<Vec<_>>());
    assert!(
        mock.state.lock().unwrap().overlapped,
        "the second page was asked for only after the first one had arrived"
    );
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(mock.log().len(), 3);
}

#[tokio::test]
async fn a_listener_that_falls_behind_holds_the_paging_back() {
    for link_first in [false, true] {
        let mock = start_mock(2000, &["tok-1"]).await;
        mock.state.lock().unwrap().link_first = link_first;
        let c = client(&mock.url, SeqTokens::new(), config(10));
        let mut run = c.start(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"));
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Pages waiting in the channel, the one waiting to be delivered, one in flight.
        let asked = mock.log().len();
        assert!(
            asked <= RUN_EVENTS_BUFFER + 2,
            "{asked} pages asked for while nobody read (link first: {link_first})"
        );
        let mut rows = ResultStore::new();
        loop {
            match run.events.recv().await.unwrap() {
                RunEvent::Page { rows: page, .. } => rows.append(&page, &[]),
                RunEvent::Done { total_rows, .. } => {
                    assert_eq!(total_rows, 2000);
                    break;
                }
                RunEvent::Failed(e) => panic!("{e:?}"),
                _ => {}
            }
        }
        assert_eq!(ints(&rows, "Index"), (0..2000).collect::<Vec<_>>());
        assert_eq!(mock.log().len(), 200);
    }
}

async fn sim(mailboxes: usize) -> SimHandle {
    exo_connect::sim::start(SimConfig {
        mailboxes,
        connection_cap: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Every mailbox of Contoso, page by page, in one store.
async fn all_mailboxes(h: &SimHandle, page_size: u32) -> Result<ResultStore, String> {
    let tokens = SimTokens::new(h, &h.urls().exo, "admin@contoso.com");
    client(&h.urls().exo, tokens, config(page_size))
        .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
        .await
        .map(|o| o.rows)
        .map_err(|e| format!("{e:?}"))
}

fn assert_same_rows(got: &ResultStore, want: &ResultStore, what: &str) {
    let (g, w) = (strings(got, "Guid"), strings(want, "Guid"));
    let unique: HashSet<&String> = g.iter().collect();
    assert_eq!(unique.len(), g.len(), "{what}: duplicated rows");
    assert_eq!(g.len(), w.len(), "{what}: rows lost");
    assert_eq!(g, w, "{what}: rows reordered");
}

#[tokio::test]
async fn faults_mid_paging_lose_duplicate_and_reorder_nothing() {
    let h = sim(1000).await;
    let baseline = all_mailboxes(&h, 100).await.unwrap();
    assert_eq!(baseline.len(), 1000);
    for spec in [
        "429:on=page:retry=0.5",
        "401:on=page",
        "reset:on=page:after=300",
        "reset:on=page:after=20000",
        "truncate:on=page",
        "truncate:on=page:after=100",
        "cutjson:on=page",
        "503:on=page:times=2",
        "redirect:on=page",
        "slow:on=page:ms=300,429:on=page:retry=0.1,401:on=page,cutjson:on=page,truncate:on=page",
    ] {
        let before = h.admin.invoke_count();
        h.admin.inject_spec(spec).unwrap();
        let got = all_mailboxes(&h, 100).await.unwrap();
        assert_same_rows(&got, &baseline, spec);
        let faulted = h
            .admin
            .requests()
            .into_iter()
            .filter(|r| r.seq > before && r.fault.is_some())
            .count();
        assert!(faulted >= 1, "{spec}: no fault fired");
        assert!(h.admin.faults().is_empty(), "{spec}: a fault did not fire");
    }
}

#[tokio::test]
async fn the_seeded_random_faults_lose_duplicate_and_reorder_nothing() {
    let h = sim(1000).await;
    let baseline = all_mailboxes(&h, 50).await.unwrap();
    for seed in 1..=4 {
        h.admin.faults().clear();
        let before = h.admin.invoke_count();
        h.admin
            .inject_spec(&format!("random:p=0.25,seed={seed}"))
            .unwrap();
        let got = all_mailboxes(&h, 50).await.unwrap();
        h.admin.faults().clear();
        assert_same_rows(&got, &baseline, &format!("seed {seed}"));
        let faulted = h
            .admin
            .requests()
            .into_iter()
            .filter(|r| r.seq > before && r.fault.is_some())
            .count();
        assert!(faulted >= 2, "seed {seed}: only {faulted} faults fired");
    }
}
