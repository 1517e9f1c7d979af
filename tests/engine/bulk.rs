//! `RestClient::bulk` against the sim: `$batch` chunks with continue-on-error, an item that
//! fails for a transient reason sent once more on its own, a whole-batch 429 retried; a cancel
//! stops between chunks.

use std::sync::Arc;
use std::time::Duration;

use crate::common::connections_fixture::sim_rest_client;
use exo_connect::engine::auth::CancellationToken;
use exo_connect::engine::rest::{CmdletRequest, RestClient, RestConfig};

fn client(h: &exo_connect::sim::SimHandle) -> Arc<RestClient> {
    let cfg = RestConfig {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        ..Default::default()
    };
    sim_rest_client(h, "admin@contoso.com", cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_item_failures_and_a_whole_batch_429_are_retried() {
    let h = exo_connect::sim::start(exo_connect::sim::SimConfig {
        mailboxes: 30,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client(&h);
    let ids: Vec<String> = c
        .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", 15))
        .await
        .unwrap()
        .rows
        .rows()
        .map(|r| {
            r.to_object()["PrimarySmtpAddress"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let reqs: Vec<CmdletRequest> = ids
        .iter()
        .map(|id| {
            CmdletRequest::new("Set-Mailbox")
                .param("Identity", id.as_str())
                .param("CustomAttribute2", "Bulk")
                .confirmed()
        })
        .collect();
    // Request 2 is the first $batch: a 429 for the whole of it; the retried batch (request 3)
    // has item 3 failing with 503.
    h.admin
        .inject_spec("429@2:retry=0.2,batchitem@3:item=3:status=503")
        .unwrap();
    let before = h.admin.requests().len();
    let out = c
        .bulk(&reqs, &|_, _, _| {}, &CancellationToken::new())
        .await
        .unwrap();
    assert!(!out.fell_back);
    assert_eq!(out.results.len(), 15);
    assert!(out.results.iter().all(|r| r.ok), "{:?}", out.results);
    let log = &h.admin.requests()[before..];
    let batches: Vec<u16> = log
        .iter()
        .filter(|r| r.path.ends_with("$batch"))
        .map(|r| r.status)
        .collect();
    assert_eq!(
        batches,
        [429, 200, 200],
        "15 rows: 2 chunks, the first retried once"
    );
    let alone = log
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("Set-Mailbox"))
        .count();
    assert_eq!(alone, 1, "the 503 item sent once more on its own");
    let after = c
        .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", 15))
        .await
        .unwrap();
    assert!(
        after
            .rows
            .rows()
            .all(|r| r.to_object()["CustomAttribute2"] == "Bulk")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_after_the_chunk_in_flight() {
    let h = exo_connect::sim::start(exo_connect::sim::SimConfig {
        mailboxes: 40,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client(&h);
    let reqs: Vec<CmdletRequest> = (0..35)
        .map(|k| CmdletRequest::new("Get-Mailbox").param("Identity", format!("user{k}")))
        .collect();
    let cancel = CancellationToken::new();
    let chunks = std::sync::Mutex::new(Vec::new());
    let told = |chunk: &[exo_connect::engine::rest::BulkResult], done: usize, total: usize| {
        chunks.lock().unwrap().push((chunk.len(), done, total));
        if done >= 20 {
            cancel.cancel();
        }
    };
    let before = h.admin.requests().len();
    let out = c.bulk(&reqs, &told, &cancel).await.unwrap();
    assert!(out.stopped);
    assert_eq!(out.results.len(), 20);
    let idx: Vec<usize> = out.results.iter().map(|r| r.index).collect();
    assert_eq!(idx, (0..20).collect::<Vec<_>>());
    assert_eq!(*chunks.lock().unwrap(), [(10, 10, 35), (10, 20, 35)]);
    let batches = h.admin.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("$batch"))
        .count();
    assert_eq!(batches, 2, "nothing sent after the cancel");
    // Uncancelled, the last chunk is the 5 rows left.
    let out = c
        .bulk(&reqs, &|_, _, _| {}, &CancellationToken::new())
        .await
        .unwrap();
    assert!(!out.stopped);
    assert_eq!(out.results.len(), 35);
}
