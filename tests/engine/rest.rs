//! The REST admin-API client against a scripted admin-API server over loopback (exact request
//! counting and every fault), and against the simulated tenant once its admin API answers.

use crate::common::connections_fixture;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use connections_fixture::{ACCOUNT, Fault, SeqTokens, TENANT, rest_client, start_mock};
use exo_connect::engine::rest::{
    CmdletRequest, RestClient, RestConfig, RestErrorKind, RestTarget, RunEvent,
};
use exo_connect::model::results::ResultStore;
use serde_json::Value;

fn fast_config(page_size: u32) -> RestConfig {
    RestConfig {
        page_size,
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
        ..Default::default()
    }
}

fn client(base: &str, tokens: Arc<SeqTokens>, page_size: u32) -> Arc<RestClient> {
    rest_client(base, tokens, fast_config(page_size))
}

/// A page's (or a run's) rows as JSON objects.
fn values(rows: &ResultStore) -> Vec<Value> {
    rows.rows().map(|r| Value::Object(r.to_object())).collect()
}

fn indices(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|r| r["Index"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn pages_thousands_of_rows_in_order_with_headers() {
    let mock = start_mock(4321, &["tok-1"]).await;
    let c = client(&mock.url, SeqTokens::new(), 500);
    let mut run = c.start(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"));
    let mut rows = Vec::new();
    let mut page_events = 0;
    let mut done = None;
    while let Some(ev) = run.events.recv().await {
        match ev {
            RunEvent::Page {
                rows: r,
                total_rows,
                pages,
                ..
            } => {
                page_events += 1;
                rows.extend(values(&r));
                assert_eq!(total_rows, rows.len());
                assert_eq!(pages, page_events);
            }
            RunEvent::Done {
                total_rows,
                truncated,
                ..
            } => {
                done = Some((total_rows, truncated));
                break;
            }
            RunEvent::Failed(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    assert_eq!(done, Some((4321, false)));
    assert_eq!(page_events, 9);
    assert_eq!(indices(&rows), (0..4321).collect::<Vec<_>>());
    let log = mock.log();
    assert_eq!(log.len(), 9);
    let conn = log[0].headers["connection-id"].clone();
    let mut request_ids = std::collections::HashSet::new();
    for l in &log {
        assert_eq!(l.method, "POST");
        assert_eq!(l.path, format!("/adminapi/beta/{TENANT}/InvokeCommand"));
        assert_eq!(l.authorization.as_deref(), Some("Bearer tok-1"));
        assert_eq!(l.headers["x-anchormailbox"], format!("UPN:{ACCOUNT}"));
        assert_eq!(l.headers["prefer"], "odata.maxpagesize=500");
        assert_eq!(l.headers["content-type"], "application/json");
        assert_eq!(l.headers["connection-id"], conn);
        assert_eq!(l.headers["x-cmdletname"], "Get-Mailbox");
        assert_eq!(l.headers["x-clientapplication"], "exo-connect");
        assert_eq!(l.headers["x-responseformat"], "json");
        assert!(l.headers["accept-encoding"].contains("gzip"));
        assert!(request_ids.insert(l.headers["client-request-id"].clone()));
        // ResultSize is passed on (and applied on the client too).
        assert_eq!(
            l.body,
            serde_json::json!({"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"ResultSize":"Unlimited"}}})
        );
    }
    assert_eq!(c.stats().requests, 9);
}

#[tokio::test]
async fn result_size_stops_paging_early_and_select_trims() {
    let mock = start_mock(5000, &["tok-1"]).await;
    let c = client(&mock.url, SeqTokens::new(), 1000);
    let mut req = CmdletRequest::new("Get-Mailbox").param("ResultSize", 2500);
    req.select = vec!["Name".into(), "Index".into()];
    let out = c.invoke(req).await.unwrap();
    assert_eq!(indices(&values(&out.rows)), (0..2500).collect::<Vec<_>>());
    assert!(out.truncated);
    assert!(values(&out.rows)[0].get("EmailAddresses").is_none());
    // 3 pages of 1000 were needed, not 5.
    let log = mock.log();
    assert_eq!(log.len(), 3);
    assert!(
        log[0].query.contains("select=Name%2CIndex"),
        "{}",
        log[0].query
    );
    // A small ResultSize lowers the page size: one request of 7 rows.
    let out = c
        .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", 7))
        .await
        .unwrap();
    assert_eq!(out.rows.len(), 7);
    let log = mock.log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[3].headers["prefer"], "odata.maxpagesize=7");
}

#[tokio::test]
async fn throttling_and_concurrency_are_retried_honouring_retry_after() {
    let mock = start_mock(300, &["tok-1"]).await;
    mock.fault(
        2,
        Fault::TooMany {
            retry_after: Some(1),
        },
    );
    mock.fault(3, Fault::Concurrency);
    mock.fault(5, Fault::Status(503));
    mock.fault(6, Fault::Status(504));
    let c = client(&mock.url, SeqTokens::new(), 100);
    let started = std::time::Instant::now();
    let mut run = c.start(CmdletRequest::new("Get-Mailbox"));
    let mut rows = Vec::new();
    let mut retries = Vec::new();
    loop {
        match run.events.recv().await.unwrap() {
            RunEvent::Page { rows: r, .. } => rows.extend(values(&r)),
            RunEvent::Retrying { delay, reason, .. } => retries.push((delay, reason)),
            RunEvent::Done { .. } => break,
            RunEvent::Failed(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    assert_eq!(indices(&rows), (0..300).collect::<Vec<_>>());
    assert_eq!(retries.len(), 4, "{retries:?}");
    // Retry-After: 1 is capped by max_delay (200 ms) in this fast config.
    assert_eq!(retries[0].0, Duration::from_millis(200));
    assert!(retries[0].1.contains("429"));
    assert!(
        retries[1]
            .1
            .contains("maximum number of concurrent requests per tenant")
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(mock.log().len(), 7);
}

#[tokio::test]
async fn retry_after_is_honoured_below_the_cap() {
    let mock = start_mock(10, &["tok-1"]).await;
    mock.fault(
        1,
        Fault::TooMany {
            retry_after: Some(1),
        },
    );
    let mut cfg = fast_config(100);
    cfg.max_delay = Duration::from_secs(5);
    let c = RestClient::new(
        RestTarget {
            rest_base: mock.url.clone(),
            tenant_override: None,
            app_only_organization: None,
        },
        SeqTokens::new(),
        cfg,
    )
    .unwrap();
    let t = std::time::Instant::now();
    let out = c.invoke(CmdletRequest::new("Get-Mailbox")).await.unwrap();
    assert_eq!(out.rows.len(), 10);
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn retries_give_up_with_a_typed_error() {
    let mock = start_mock(10, &["tok-1"]).await;
    for n in 1..=4 {
        mock.fault(n, Fault::Status(503));
    }
    let c = client(&mock.url, SeqTokens::new(), 100);
    let err = c
        .invoke(CmdletRequest::new("Get-Mailbox"))
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(503));
    assert_eq!(err.kind, RestErrorKind::Service);
    assert!(
        err.message.contains("gave up after 4 attempts"),
        "{}",
        err.message
    );
    assert_eq!(err.request_id.as_deref(), Some("req-4"));
    assert_eq!(mock.log().len(), 4);
}

#[tokio::test]
async fn unauthorized_mid_paging_refreshes_once_and_loses_nothing() {
    let mock = start_mock(1000, &["tok-1", "tok-2"]).await;
    mock.fault(3, Fault::Unauthorized);
    let tokens = SeqTokens::new();
    let c = client(&mock.url, tokens.clone(), 200);
    let out = c.invoke(CmdletRequest::new("Get-Mailbox")).await.unwrap();
    assert_eq!(indices(&values(&out.rows)), (0..1000).collect::<Vec<_>>());
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    let log = mock.log();
    assert_eq!(log.len(), 6);
    assert_eq!(log[2].authorization.as_deref(), Some("Bearer tok-1"));
    // The same page (same query) re-sent with the fresh token.
    assert_eq!(log[3].query, log[2].query);
    assert_eq!(log[3].authorization.as_deref(), Some("Bearer tok-2"));
    assert_eq!(log[5].authorization.as_deref(), Some("Bearer tok-2"));
}

#[tokio::test]
async fn a_second_401_after_refresh_is_an_auth_error() {
    let mock = start_mock(10, &["tok-1"]).await; // tok-2 is not accepted either
    mock.fault(1, Fault::Unauthorized);
    let tokens = SeqTokens::new();
    let c = client(&mock.url, tokens.clone(), 100);
    let err = c
        .invoke(CmdletRequest::new("Get-Mailbox"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RestErrorKind::Auth);
    assert_eq!(err.status, Some(401));
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(mock.log().len(), 2);
    // No token sign-in at all: the provider's plain message.
    tokens.fail.store(true, Ordering::SeqCst);
    let err = c
        .invoke(CmdletRequest::new("Get-Mailbox"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RestErrorKind::Auth);
    assert!(err.message.contains("sign in again"));
}

#[tokio::test]
async fn reset_mid_page_retries_that_page_only() {
    let mock = start_mock(900, &["tok-1"]).await;
    mock.fault(2, Fault::ResetMidBody);
    let c = client(&mock.url, SeqTokens::new(), 300);
    let out = c.invoke(CmdletRequest::new("Get-Mailbox")).await.unwrap();
    assert_eq!(indices(&values(&out.rows)), (0..900).collect::<Vec<_>>());
    let log = mock.log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[1].query, log[2].query);
    assert_eq!(log[1].query, "skip=300");
}

#[tokio::test]
async fn next_link_falls_back_to_get_when_post_is_refused() {
    let mock = start_mock(250, &["tok-1"]).await;
    mock.state.lock().unwrap().next_link_get_only = true;
    let c = client(&mock.url, SeqTokens::new(), 100);
    let out = c.invoke(CmdletRequest::new("Get-Mailbox")).await.unwrap();
    assert_eq!(indices(&values(&out.rows)), (0..250).collect::<Vec<_>>());
    let methods: Vec<String> = mock
        .log()
        .iter()
        .map(|l| format!("{} {}", l.method, l.status))
        .collect();
    // POST first page; POST next refused; GET; then GET straight away.
    assert_eq!(methods, ["POST 200", "POST 405", "GET 200", "GET 200"]);
}

#[tokio::test]
async fn regional_redirect_resends_token_and_pins_host() {
    let mock = start_mock(150, &["tok-1"]).await;
    let c = client(&mock.global_url, SeqTokens::new(), 100);
    let mut run = c.start(CmdletRequest::new("Get-RetentionCompliancePolicy"));
    let mut redirected = None;
    let mut rows = 0;
    loop {
        match run.events.recv().await.unwrap() {
            RunEvent::Redirected { host } => redirected = Some(host),
            RunEvent::Page { rows: r, .. } => rows += r.len(),
            RunEvent::Done { .. } => break,
            RunEvent::Failed(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    assert_eq!(rows, 150);
    assert_eq!(redirected.as_deref(), Some(mock.url.as_str()));
    assert_eq!(c.endpoint(), mock.url);
    // Second run goes straight to the pinned host.
    c.invoke(CmdletRequest::new("Get-RetentionCompliancePolicy"))
        .await
        .unwrap();
    let log = mock.log();
    let hosts: Vec<&str> = log.iter().map(|l| l.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["global", "regional", "regional", "regional", "regional"]
    );
    for l in &log {
        assert_eq!(l.authorization.as_deref(), Some("Bearer tok-1"));
        assert_eq!(l.method, "POST");
    }
}

#[tokio::test]
async fn error_forms_and_garbage_bodies_become_plain_errors() {
    let mock = start_mock(10, &["tok-1"]).await;
    mock.fault(1, Fault::ErrorJson);
    mock.fault(2, Fault::ErrorPipe);
    mock.fault(3, Fault::GzipGarbage(403));
    mock.fault(4, Fault::EmptyBody(403));
    let c = client(&mock.url, SeqTokens::new(), 100);
    let e = c
        .invoke(CmdletRequest::new("Get-Mailbox").param("Identity", "nobody"))
        .await
        .unwrap_err();
    assert_eq!(e.cmdlet, "Get-Mailbox");
    assert_eq!(e.status, Some(404));
    assert_eq!(e.code.as_deref(), Some("NotFound"));
    assert_eq!(
        e.exception_type.as_deref(),
        Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
    );
    assert!(e.message.contains("object 'nobody' couldn't be found"));
    assert_eq!(e.request_id.as_deref(), Some("req-1"));
    let e = c
        .invoke(CmdletRequest::new("Get-Mailbox").param("Bogus", 1))
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(400));
    assert_eq!(
        e.message,
        "A parameter cannot be found that matches parameter name 'Bogus'."
    );
    assert_eq!(
        e.exception_type.as_deref(),
        Some("Microsoft.Exchange.Management.Tasks.ParameterBindingException")
    );
    for _ in 0..2 {
        let e = c
            .invoke(CmdletRequest::new("Get-Nothing"))
            .await
            .unwrap_err();
        assert_eq!(e.status, Some(403));
        assert!(e.message.contains("access denied"), "{}", e.message);
    }
}

#[tokio::test]
async fn warnings_from_body_and_header_are_events() {
    let mock = start_mock(5, &["tok-1"]).await;
    mock.state.lock().unwrap().warnings = vec!["Body warning".into()];
    let c = client(&mock.url, SeqTokens::new(), 100);
    let out = c.invoke(CmdletRequest::new("Get-Mailbox")).await.unwrap();
    assert_eq!(out.warnings, ["Header warning", "Body warning"]);
}

#[tokio::test]
async fn dropping_a_run_stops_its_requests() {
    let mock = start_mock(100_000, &["tok-1"]).await;
    let c = client(&mock.url, SeqTokens::new(), 10);
    let mut run = c.start(CmdletRequest::new("Get-Mailbox"));
    let _ = run.events.recv().await; // first page
    drop(run);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let n = mock.log().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mock.log().len(), n);
    assert!(n < 10, "{n}");
}

#[tokio::test]
async fn overall_timeout_and_url_policy() {
    let mock = start_mock(100_000, &["tok-1"]).await;
    let mut cfg = fast_config(1);
    cfg.overall_timeout = Some(Duration::from_millis(150));
    let c = RestClient::new(
        RestTarget {
            rest_base: mock.url.clone(),
            tenant_override: Some("contoso.onmicrosoft.com".into()),
            app_only_organization: Some("contoso.onmicrosoft.com".into()),
        },
        SeqTokens::new(),
        cfg,
    )
    .unwrap();
    let e = c
        .invoke(CmdletRequest::new("Get-Mailbox"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, RestErrorKind::Timeout);
    let log = mock.log();
    assert!(!log.is_empty());
    assert_eq!(
        log[0].path,
        "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand"
    );
    assert_eq!(
        log[0].headers["x-anchormailbox"],
        "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com"
    );
    let bad = RestClient::new(
        RestTarget {
            rest_base: "http://outlook.office365.com".into(),
            tenant_override: None,
            app_only_organization: None,
        },
        SeqTokens::new(),
        RestConfig::default(),
    )
    .unwrap_err();
    assert!(bad.message.contains("loopback"), "{}", bad.message);
}

// ---- against the simulated tenant ------------------------------------------------------------

mod sim {
    use super::*;
    use connections_fixture::SimTokens;
    use exo_connect::sim::admin::AdminHost;
    use exo_connect::sim::{SimConfig, SimHandle};

    async fn sim(mailboxes: usize) -> SimHandle {
        exo_connect::sim::start(SimConfig {
            mailboxes,
            connection_cap: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
    }

    fn sim_client(base: &str, tokens: Arc<SimTokens>, page_size: u32) -> Arc<RestClient> {
        let mut cfg = fast_config(page_size);
        cfg.max_delay = Duration::from_secs(2);
        RestClient::new(
            RestTarget {
                rest_base: base.to_string(),
                tenant_override: None,
                app_only_organization: None,
            },
            tokens,
            cfg,
        )
        .unwrap()
    }

    fn guids(rows: &ResultStore) -> Vec<String> {
        values(rows)
            .iter()
            .map(|r| r["Guid"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn sim_streams_every_mailbox_without_loss_duplicates_or_reordering() {
        let h = sim(3500).await;
        let tokens = SimTokens::new(&h, &h.urls().exo, "admin@contoso.com");
        let a = sim_client(&h.urls().exo, tokens.clone(), 1000)
            .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
            .await
            .unwrap();
        let b = sim_client(&h.urls().exo, tokens, 700)
            .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
            .await
            .unwrap();
        let contoso = h
            .world()
            .tenants
            .iter()
            .find(|t| t.display_name == "Contoso")
            .unwrap();
        let ga = guids(&a.rows);
        assert_eq!(ga.len(), contoso.mailboxes);
        let unique: std::collections::HashSet<_> = ga.iter().collect();
        assert_eq!(unique.len(), ga.len());
        // Other page boundaries, same sequence.
        assert_eq!(ga, guids(&b.rows));
        assert_eq!(a.pages, 4);
        assert_eq!(b.pages, 5);
    }

    #[tokio::test]
    async fn sim_faults_mid_paging_are_survived() {
        let h = sim(3000).await;
        let tokens = SimTokens::new(&h, &h.urls().exo, "admin@contoso.com");
        let baseline = sim_client(&h.urls().exo, tokens.clone(), 500)
            .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
            .await
            .unwrap();
        assert_eq!(baseline.rows.len(), 3000);
        let n = h.admin.invoke_count();
        h.admin
            .inject_spec(&format!(
                "429@{}:retry=1,concurrency@{},401@{},reset@{}:after=300,503@{}",
                n + 2,
                n + 3,
                n + 5,
                n + 7,
                n + 8
            ))
            .unwrap();
        let minted_before = tokens.minted.load(Ordering::SeqCst);
        let t = std::time::Instant::now();
        let out = sim_client(&h.urls().exo, tokens.clone(), 500)
            .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
            .await
            .unwrap();
        assert_eq!(guids(&out.rows), guids(&baseline.rows));
        // Retry-After: 1 honoured.
        assert!(t.elapsed() >= Duration::from_millis(950));
        // Initial token + one refresh after the 401.
        assert_eq!(tokens.minted.load(Ordering::SeqCst) - minted_before, 2);
        let log: Vec<_> = h
            .admin
            .requests()
            .into_iter()
            .filter(|r| r.seq > n)
            .collect();
        let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
        for s in [429, 401, 503] {
            assert!(statuses.contains(&s), "{statuses:?}");
        }
        assert!(
            log.iter()
                .any(|r| r.fault.as_deref().is_some_and(|f| f.contains("reset")))
        );
        // 6 pages + 5 retried requests.
        assert_eq!(log.len(), 11, "{statuses:?}");
    }

    #[tokio::test]
    async fn sim_result_size_stops_paging_and_default_warns() {
        let h = sim(3000).await;
        let tokens = SimTokens::new(&h, &h.urls().exo, "admin@contoso.com");
        let c = sim_client(&h.urls().exo, tokens, 1000);
        let out = c
            .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", 1500))
            .await
            .unwrap();
        assert_eq!(out.rows.len(), 1500);
        assert_eq!(h.admin.requests().len(), 2);
        let out = c.invoke(CmdletRequest::new("Get-Mailbox")).await.unwrap();
        assert_eq!(out.rows.len(), 1000);
        assert!(
            out.warnings.iter().any(|w| w.contains("ResultSize")),
            "{:?}",
            out.warnings
        );
    }

    #[tokio::test]
    async fn sim_scc_redirect_resends_the_token_and_pins_the_regional_host() {
        let h = sim(10).await;
        let tokens = SimTokens::new(&h, &h.urls().scc, "admin@contoso.com");
        let c = sim_client(&h.urls().scc, tokens, 1000);
        let out = c
            .invoke(CmdletRequest::new("Get-RetentionCompliancePolicy"))
            .await
            .unwrap();
        assert!(!out.rows.is_empty());
        assert_eq!(c.endpoint(), h.urls().scc_regional);
        c.invoke(CmdletRequest::new("Get-ComplianceSearch"))
            .await
            .unwrap();
        let hosts: Vec<(AdminHost, u16)> = h
            .admin
            .requests()
            .iter()
            .map(|r| (r.host, r.status))
            .collect();
        assert_eq!(hosts[0], (AdminHost::SccGlobal, 302));
        assert!(
            hosts[1..]
                .iter()
                .all(|(h, s)| *h == AdminHost::SccRegional && *s == 200),
            "{hosts:?}"
        );
    }

    #[tokio::test]
    async fn sim_errors_in_both_forms_and_garbage_are_plain() {
        let h = sim(10).await;
        let tokens = SimTokens::new(&h, &h.urls().exo, "admin@contoso.com");
        let c = sim_client(&h.urls().exo, tokens, 1000);
        let e = c
            .invoke(CmdletRequest::new("Get-Mailbox").param("Identity", "nobody@contoso.com"))
            .await
            .unwrap_err();
        assert_eq!(e.status, Some(404));
        assert!(e.message.contains("nobody@contoso.com"), "{e:?}");
        assert!(e.exception_type.is_some(), "{e:?}");
        assert!(e.request_id.is_some(), "{e:?}");
        for form in ["pipe", "json"] {
            let n = h.admin.invoke_count();
            h.admin.inject_spec(&format!("{form}@{}", n + 1)).unwrap();
            let e = c
                .invoke(CmdletRequest::new("Get-Mailbox").param("Bogus", 1))
                .await
                .unwrap_err();
            assert_eq!(e.status, Some(400), "{form}: {e:?}");
            assert!(e.message.contains("Bogus"), "{form}: {e:?}");
            assert!(
                !e.message.contains('|') && !e.message.contains('{'),
                "{form}: {e:?}"
            );
            assert!(e.exception_type.is_some(), "{form}: {e:?}");
        }
        for kind in ["garbage403", "empty403"] {
            let n = h.admin.invoke_count();
            h.admin.inject_spec(&format!("{kind}@{}", n + 1)).unwrap();
            let e = c
                .invoke(CmdletRequest::new("Get-Mailbox"))
                .await
                .unwrap_err();
            assert_eq!(e.status, Some(403), "{kind}: {e:?}");
            assert!(!e.message.is_empty());
        }
        let e = c
            .invoke(CmdletRequest::new("Get-Nothing"))
            .await
            .unwrap_err();
        assert_eq!(e.status, Some(403), "{e:?}");
    }

    #[tokio::test]
    async fn sim_slow_answer_hits_the_request_timeout_and_is_retried() {
        let h = sim(10).await;
        let tokens = SimTokens::new(&h, &h.urls().exo, "admin@contoso.com");
        let mut cfg = fast_config(1000);
        cfg.http.request_timeout = Duration::from_millis(300);
        let c = RestClient::new(
            RestTarget {
                rest_base: h.urls().exo.clone(),
                tenant_override: None,
                app_only_organization: None,
            },
            tokens,
            cfg,
        )
        .unwrap();
        h.admin.inject_spec("slow@1:ms=1500").unwrap();
        let mut run = c.start(CmdletRequest::new("Get-TransportRule"));
        let mut retried = None;
        let mut rows = 0;
        loop {
            match run.events.recv().await.unwrap() {
                RunEvent::Retrying { reason, .. } => retried = Some(reason),
                RunEvent::Page { rows: r, .. } => rows += r.len(),
                RunEvent::Done { .. } => break,
                RunEvent::Failed(e) => panic!("{e:?}"),
                _ => {}
            }
        }
        assert!(rows > 0);
        let reason = retried.expect("a retry after the timeout");
        assert!(
            reason.contains("timed out") || reason.contains("timeout"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn sim_delegated_organization_is_the_tenant_of_the_path() {
        let h = sim(10).await;
        let tokens = SimTokens::new(&h, &h.urls().exo, "partner@adatum.com");
        let c = RestClient::new(
            RestTarget {
                rest_base: h.urls().exo.clone(),
                tenant_override: Some("tailspin.onmicrosoft.com".into()),
                app_only_organization: None,
            },
            tokens,
            fast_config(1000),
        )
        .unwrap();
        let out = c
            .invoke(CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"))
            .await
            .unwrap();
        let tailspin = h
            .world()
            .tenants
            .iter()
            .find(|t| t.display_name == "Tailspin Toys")
            .unwrap();
        assert_eq!(out.rows.len(), tailspin.mailboxes);
        assert_eq!(
            h.admin.requests()[0].path,
            "/adminapi/beta/tailspin.onmicrosoft.com/InvokeCommand"
        );
    }

    #[tokio::test]
    async fn sim_scc_redirect_with_another_path_case_is_followed() {
        let h = sim(10).await;
        h.admin.inject_spec("redirectcase@1").unwrap();
        let tokens = SimTokens::new(&h, &h.urls().scc, "admin@contoso.com");
        let c = sim_client(&h.urls().scc, tokens, 1000);
        let out = c
            .invoke(CmdletRequest::new("Get-RetentionCompliancePolicy"))
            .await
            .unwrap();
        assert!(!out.rows.is_empty());
        assert_eq!(c.endpoint(), h.urls().scc_regional);
        let log = h.admin.requests();
        assert!(log[0].fault.is_some(), "{log:?}");
        assert_eq!(log[1].host, AdminHost::SccRegional);
    }
}
