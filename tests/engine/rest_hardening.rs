//! Issue 13's defects in the REST client's fetch loop, each against the simulated tenant's
//! faults: the bearer token never follows a redirect or a next-page link to another host (the
//! sim's trap records any request that reaches it), a huge `Retry-After` is clamped, bodies are
//! read with caps (a huge page is not downloaded for the access check's one row, nor beyond
//! 64 MiB), and a next-page loop ends with a plain error.

use crate::common::connections_fixture;

use std::sync::Arc;
use std::time::Duration;

use connections_fixture::sim_rest_client;
use exo_connect::engine::rest::{
    CmdletRequest, RestClient, RestConfig, RestError, RestErrorKind, RunEvent,
};
use exo_connect::engine::sessions::probe_request;
use exo_connect::model::Service;
use exo_connect::sim::{SimConfig, SimHandle};

fn config(page_size: u32) -> RestConfig {
    RestConfig {
        page_size,
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(500),
        ..Default::default()
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

fn client(h: &SimHandle, cfg: RestConfig) -> Arc<RestClient> {
    sim_rest_client(h, "admin@contoso.com", cfg)
}

/// `host:port` of a URL.
fn host_port(u: &str) -> String {
    let u = url::Url::parse(u).unwrap();
    format!("{}:{}", u.host_str().unwrap(), u.port().unwrap())
}

/// Runs a cmdlet to its end: the rows delivered, and the error if it failed.
async fn run(c: &Arc<RestClient>, request: CmdletRequest) -> (usize, Option<RestError>) {
    let mut run = c.start(request);
    let mut rows = 0;
    while let Some(ev) = run.events.recv().await {
        match ev {
            RunEvent::Page { rows: r, .. } => rows += r.len(),
            RunEvent::Done { .. } => return (rows, None),
            RunEvent::Failed(e) => return (rows, Some(e)),
            _ => {}
        }
    }
    panic!("the run ended without Done or Failed");
}

fn all_mailboxes() -> CmdletRequest {
    CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited")
}

// ---- 13.1: the token goes only to the session's host or its cloud's admin-API hosts --------

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_with_the_token() {
    let h = sim(120).await;
    let trap = host_port(&h.fault_urls().trap);
    let c = client(&h, config(50));
    for spec in ["evilredirect", "evilredirect:on=page"] {
        h.admin.inject_spec(spec).unwrap();
        let (rows, e) = run(&c, all_mailboxes()).await;
        let e = e.unwrap_or_else(|| panic!("{spec}: the redirect to the trap was followed"));
        assert_eq!(e.kind, RestErrorKind::Redirect, "{spec}: {e:?}");
        assert!(e.message.contains(&trap), "{spec}: {}", e.message);
        assert!(
            h.admin.trap_hits().is_empty(),
            "{spec}: {:?}",
            h.admin.trap_hits()
        );
        // The session is not pinned to the foreign host, and goes on working.
        assert_eq!(c.endpoint(), h.urls().exo, "{spec}");
        assert_eq!(rows, if spec.contains("page") { 50 } else { 0 }, "{spec}");
    }
    let (rows, e) = run(&c, all_mailboxes()).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(rows, 120);
    assert!(h.admin.trap_hits().is_empty());
}

#[tokio::test]
async fn a_next_page_link_to_another_host_is_not_followed() {
    let h = sim(120).await;
    let trap = host_port(&h.fault_urls().trap);
    let c = client(&h, config(50));
    for spec in ["foreignnext", "foreignnext:on=page"] {
        h.admin.inject_spec(spec).unwrap();
        let (rows, e) = run(&c, all_mailboxes()).await;
        let e = e.unwrap_or_else(|| panic!("{spec}: the foreign link was followed"));
        assert_eq!(e.kind, RestErrorKind::Redirect, "{spec}: {e:?}");
        assert!(e.message.contains(&trap), "{spec}: {}", e.message);
        assert!(
            e.message.contains("next-page link"),
            "{spec}: {}",
            e.message
        );
        // The rows of the pages before (and of the page with the link) were delivered.
        assert_eq!(rows, if spec.contains("page") { 100 } else { 50 }, "{spec}");
        assert!(
            h.admin.trap_hits().is_empty(),
            "{spec}: {:?}",
            h.admin.trap_hits()
        );
        assert_eq!(c.endpoint(), h.urls().exo);
    }
}

#[tokio::test]
async fn a_redirect_to_the_same_host_on_another_port_is_followed_and_pinned() {
    let h = sim(120).await;
    let c = client(&h, config(50));
    h.admin.inject_spec("redirect").unwrap();
    let (rows, e) = run(&c, all_mailboxes()).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(rows, 120);
    assert_eq!(c.endpoint(), h.fault_urls().exo_alt);
    assert!(h.admin.trap_hits().is_empty());
}

// ---- 13.3: a huge Retry-After is clamped, not a panic -----------------------------------------

#[tokio::test]
async fn a_huge_retry_after_waits_the_longest_delay_and_goes_on() {
    let h = sim(120).await;
    let c = client(&h, config(50));
    for spec in ["429:retry=1e20", "429:on=page:retry=1e20", "429:retry=1.5"] {
        h.admin.inject_spec(spec).unwrap();
        let mut run = c.start(all_mailboxes());
        let (mut rows, mut delays) = (0, Vec::new());
        loop {
            match run.events.recv().await.expect("the run ended without Done") {
                RunEvent::Page { rows: r, .. } => rows += r.len(),
                RunEvent::Retrying { delay, .. } => delays.push(delay),
                RunEvent::Done { .. } => break,
                RunEvent::Failed(e) => panic!("{spec}: {e:?}"),
                _ => {}
            }
        }
        assert_eq!(rows, 120, "{spec}");
        // The delay is the server's, capped by max_delay (500 ms here).
        assert_eq!(delays, [Duration::from_millis(500)], "{spec}");
    }
}

// ---- 13.5: a next-page loop ends ---------------------------------------------------------------

#[tokio::test]
async fn a_next_page_link_loop_ends_with_a_plain_error() {
    let h = sim(120).await;
    let c = client(&h, config(50));
    for (spec, rows_before) in [
        ("nextloop", 50),
        ("nextloop:on=page", 100),
        // A page that points at itself every time (37 requests/s until the 20-minute timeout
        // before the fix).
        ("nextloop:times=100000", 50),
    ] {
        h.admin.faults().clear();
        let before = h.admin.invoke_count();
        h.admin.inject_spec(spec).unwrap();
        let (rows, e) = tokio::time::timeout(Duration::from_secs(30), run(&c, all_mailboxes()))
            .await
            .unwrap_or_else(|_| panic!("{spec}: the loop did not end"));
        let e = e.unwrap_or_else(|| panic!("{spec}: no error"));
        assert_eq!(e.kind, RestErrorKind::Protocol, "{spec}: {e:?}");
        assert!(e.message.contains("sent before"), "{spec}: {}", e.message);
        assert_eq!(rows, rows_before, "{spec}");
        // The looping link is not asked for again (an early start is dropped too).
        let asked = h.admin.invoke_count() - before;
        assert!(
            asked <= rows_before as u64 / 50 + 1,
            "{spec}: {asked} requests"
        );
    }
}

#[tokio::test]
async fn paging_stops_at_the_page_cap() {
    let h = sim(120).await;
    let mut cfg = config(10);
    cfg.max_pages = 5;
    let c = client(&h, cfg);
    let (rows, e) = run(&c, all_mailboxes()).await;
    let e = e.expect("more pages than the cap");
    assert!(e.message.contains("after 5 pages"), "{}", e.message);
    assert_eq!(rows, 50);
    assert_eq!(h.admin.invoke_count(), 5);
}

// ---- 13.4: bodies are read with caps -----------------------------------------------------------

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn the_access_check_reads_one_row_of_a_huge_page_and_stops() {
    let h = sim(10).await;
    let c = client(&h, config(1000));
    for spec in ["huge:mb=80", "huge:mb=80:length=none"] {
        let before = c.stats().bytes_received;
        h.admin.inject_spec(spec).unwrap();
        let out = c
            .invoke(probe_request(Service::ExchangeOnline))
            .await
            .unwrap_or_else(|e| panic!("{spec}: {e:?}"));
        assert_eq!(out.rows.len(), 1, "{spec}");
        assert!(out.truncated, "{spec}");
        let read = c.stats().bytes_received - before;
        assert!(read < MIB, "{spec}: {read} bytes read for one row");
    }
}

#[tokio::test]
async fn a_page_over_64_mib_ends_the_run_and_is_downloaded_at_most_once() {
    let h = sim(10).await;
    let c = client(&h, config(1000));
    // The access check and the cmdlet both get a 200 MB answer.
    h.admin
        .inject_spec("huge:mb=200:length=none:times=2")
        .unwrap();
    let probe = c.invoke(probe_request(Service::ExchangeOnline)).await;
    assert_eq!(probe.unwrap().rows.len(), 1);
    let e = c.invoke(all_mailboxes()).await.unwrap_err();
    assert_eq!(e.kind, RestErrorKind::Protocol, "{e:?}");
    assert!(e.message.contains("larger than 64 MiB"), "{}", e.message);
    // Not retried: that would download it again.
    assert_eq!(h.admin.invoke_count(), 2);
    let read = c.stats().bytes_received;
    assert!(read <= 65 * MIB, "{read} bytes read");
    // A declared length over the cap: refused before reading.
    h.admin.inject_spec("huge:mb=100").unwrap();
    let e = c.invoke(all_mailboxes()).await.unwrap_err();
    assert!(e.message.contains("larger than 64 MiB"), "{}", e.message);
    assert_eq!(c.stats().bytes_received, read);
}

#[tokio::test]
async fn a_sign_in_answer_is_read_only_up_to_one_mib() {
    use axum::body::Body;
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::post(|| async { Body::from(vec![b' '; 5 * 1024 * 1024]) }),
        )
        .route(
            "/endless",
            axum::routing::post(|| async {
                let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
                Body::from_stream(futures_util::stream::repeat_with(move || {
                    Ok::<_, std::io::Error>(chunk.clone())
                }))
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let http = exo_connect::engine::auth::transport::OAuthHttp::new(
        exo_connect::engine::http::build_client(&Default::default()).unwrap(),
    );
    for path in ["/token", "/endless"] {
        let t = std::time::Instant::now();
        let e = http
            .post_form(&format!("{base}{path}"), &[("grant_type", "x")])
            .await
            .unwrap_err();
        assert!(
            e.explanation().contains("larger than 1 MiB"),
            "{path}: {e:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{path}");
    }
}
