//! The session registry against a scripted admin-API server over loopback: connect with the
//! access check, runs, disconnect, the limit guard, stale and expiry detection, sign-out hook.

use crate::common::connections_fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use connections_fixture::{ACCOUNT, Fault, OneShotTokens, SeqTokens, TENANT, start_mock};
use exo_connect::engine::rest::{CmdletRequest, RestConfig};
use exo_connect::engine::sessions::{
    ConnectRequest, RegistrySettings, SessionError, SessionEvent, SessionLimits, SessionRegistry,
    SignOut,
};
use exo_connect::engine::token::TokenProvider;
use exo_connect::model::{Service, SessionState};
use futures_util::future::BoxFuture;
use tokio::sync::broadcast;
use uuid::Uuid;

fn settings() -> RegistrySettings {
    RegistrySettings {
        tick: Duration::from_millis(25),
        rest: RestConfig {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    }
}

struct CountingSignOut(AtomicUsize);
impl SignOut for CountingSignOut {
    fn sign_out(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

fn request(
    name: &str,
    base: &str,
    service: Service,
    tokens: Arc<dyn TokenProvider>,
    sign_out: Option<Arc<dyn SignOut>>,
) -> ConnectRequest {
    ConnectRequest {
        profile_id: Uuid::new_v4(),
        profile_name: name.into(),
        service,
        target: connections_fixture::target(base),
        page_size: 100,
        tokens,
        sign_out,
        http: None,
        progress: None,
    }
}

/// Waits for a Changed event of `id` with `state` (fails after 5 s).
async fn wait_state(rx: &mut broadcast::Receiver<SessionEvent>, id: Uuid, state: SessionState) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {state:?} event for {id}"))
            .unwrap();
        if let SessionEvent::Changed(i) = ev
            && i.connection_id == id
            && i.state == state
        {
            return;
        }
    }
}

#[tokio::test]
async fn connect_run_and_disconnect_with_events() {
    let mock = start_mock(250, &["tok-1"]).await;
    let reg = SessionRegistry::start(settings());
    let mut events = reg.subscribe();
    let hook = Arc::new(CountingSignOut(AtomicUsize::new(0)));
    let info = reg
        .connect(request(
            "Contoso EXO",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            Some(hook.clone()),
        ))
        .await
        .unwrap();
    assert_eq!(info.state, SessionState::Connected);
    assert_eq!(info.account.as_deref(), Some(ACCOUNT));
    assert_eq!(info.tenant.as_deref(), Some(TENANT));
    assert_eq!(info.endpoint, mock.url);
    assert!(info.token_expires.is_some());
    // Events: Added (Connecting), then Changed ... Connected.
    match events.recv().await.unwrap() {
        SessionEvent::Added(i) => assert_eq!(i.state, SessionState::Connecting),
        other => panic!("{other:?}"),
    }
    wait_state(&mut events, info.connection_id, SessionState::Connected).await;
    // The probe: one cheap cmdlet, one row asked, with the session's connection id.
    let log = mock.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].headers["x-cmdletname"], "Get-AcceptedDomain");
    assert_eq!(log[0].headers["prefer"], "odata.maxpagesize=1");
    assert_eq!(
        log[0].headers["connection-id"],
        info.connection_id.to_string()
    );

    let out = reg
        .run(info.connection_id, CmdletRequest::new("Get-Mailbox"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(out.rows.len(), 250);
    assert!(mock.log()[1..].iter().all(|l| l.headers["connection-id"]
        == info.connection_id.to_string()
        && l.headers["prefer"] == "odata.maxpagesize=100"));
    // The run's end updates the session (request count: probe + 3 pages).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let list = reg.list().await.unwrap();
        if list[0].requests == 4 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{list:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let closed = reg.disconnect(info.connection_id, false).await.unwrap();
    assert_eq!(closed.state, SessionState::Disconnected);
    assert_eq!(hook.0.load(Ordering::SeqCst), 0);
    wait_state(&mut events, info.connection_id, SessionState::Disconnected).await;
    assert_eq!(
        events.recv().await.unwrap(),
        SessionEvent::Removed {
            connection_id: info.connection_id
        }
    );
    assert!(reg.list().await.unwrap().is_empty());
    let e = reg
        .run(info.connection_id, CmdletRequest::new("Get-Mailbox"))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, SessionError::NotFound(_)));
    assert!(matches!(
        reg.disconnect(info.connection_id, false).await,
        Err(SessionError::NotFound(_))
    ));
}

#[tokio::test]
async fn sign_out_calls_the_hook() {
    let mock = start_mock(5, &["tok-1"]).await;
    let reg = SessionRegistry::start(settings());
    let hook = Arc::new(CountingSignOut(AtomicUsize::new(0)));
    let mut ids = Vec::new();
    for n in 0..3 {
        let i = reg
            .connect(request(
                &format!("p{n}"),
                &mock.url,
                Service::Protection,
                SeqTokens::new(),
                Some(hook.clone()),
            ))
            .await
            .unwrap();
        ids.push(i.connection_id);
    }
    reg.disconnect(ids[0], true).await.unwrap();
    assert_eq!(hook.0.load(Ordering::SeqCst), 1);
    let closed = reg.disconnect_all(true).await.unwrap();
    assert_eq!(closed.len(), 2);
    assert_eq!(hook.0.load(Ordering::SeqCst), 3);
    assert!(reg.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn limit_guard_names_open_and_stale_sessions() {
    let mock = start_mock(5, &["tok-1"]).await;
    let reg = SessionRegistry::start(RegistrySettings {
        idle_timeout: Duration::from_millis(400),
        limits: SessionLimits {
            exchange_online: 2,
            ..Default::default()
        },
        ..settings()
    });
    let mut events = reg.subscribe();
    let a = reg
        .connect(request(
            "A",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap();
    // Let A go stale (idle), then open B.
    wait_state(&mut events, a.connection_id, SessionState::Stale).await;
    let b = reg
        .connect(request(
            "B",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap();
    // Another service of the same tenant has its own count.
    reg.connect(request(
        "S",
        &mock.url,
        Service::SecurityCompliance,
        SeqTokens::new(),
        None,
    ))
    .await
    .unwrap();
    // Another tenant (DelegatedOrganization) too.
    let mut other = request(
        "T",
        &mock.url,
        Service::ExchangeOnline,
        SeqTokens::new(),
        None,
    );
    other.target.tenant_override = Some("tailspin.onmicrosoft.com".into());
    reg.connect(other).await.unwrap();

    let err = reg
        .connect(request(
            "C",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap_err();
    let SessionError::LimitReached(lr) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(lr.limit, 2);
    assert_eq!(lr.tenant, TENANT);
    assert_eq!(lr.service, Service::ExchangeOnline);
    assert_eq!(lr.open.len(), 1);
    assert_eq!(lr.open[0].connection_id, b.connection_id);
    assert_eq!(lr.stale.len(), 1);
    assert_eq!(lr.stale[0].connection_id, a.connection_id);
    let msg = err.to_string();
    assert!(msg.contains("'A' (Stale"), "{msg}");
    assert!(msg.contains("'B' (Connected"), "{msg}");
    assert!(msg.contains("Disconnect the stale sessions"), "{msg}");
    // The refused session is not in the list, and the refusal was an event.
    assert_eq!(reg.list().await.unwrap().len(), 4);
    let mut saw_refusal = false;
    while let Ok(ev) = events.try_recv() {
        saw_refusal |= matches!(ev, SessionEvent::LimitRefused(_));
    }
    assert!(saw_refusal);

    // Disconnect stale closes A (only A: B was just used), and C fits again.
    let closed = reg.disconnect_stale().await.unwrap();
    let closed_ids: Vec<Uuid> = closed.iter().map(|i| i.connection_id).collect();
    assert!(closed_ids.contains(&a.connection_id));
    assert!(!closed_ids.contains(&b.connection_id) || closed.len() > 1);
    reg.connect(request(
        "C",
        &mock.url,
        Service::ExchangeOnline,
        SeqTokens::new(),
        None,
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_run_wakes_a_stale_session() {
    let mock = start_mock(5, &["tok-1"]).await;
    let reg = SessionRegistry::start(RegistrySettings {
        idle_timeout: Duration::from_millis(200),
        ..settings()
    });
    let mut events = reg.subscribe();
    let a = reg
        .connect(request(
            "A",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap();
    wait_state(&mut events, a.connection_id, SessionState::Stale).await;
    let out = reg
        .run(a.connection_id, CmdletRequest::new("Get-TransportRule"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(out.rows.len(), 5);
    let list = reg.list().await.unwrap();
    assert_eq!(list[0].state, SessionState::Connected);
}

#[tokio::test]
async fn the_stale_threshold_is_a_setting_that_applies_at_once() {
    let mock = start_mock(5, &["tok-1"]).await;
    let reg = SessionRegistry::start(settings());
    let mut events = reg.subscribe();
    let a = reg
        .connect(request(
            "A",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(a.state, SessionState::Connected, "15 minutes by default");
    reg.set_idle_timeout(Duration::from_millis(100))
        .await
        .unwrap();
    wait_state(&mut events, a.connection_id, SessionState::Stale).await;
    // A longer threshold makes the same idle session Connected again.
    reg.set_idle_timeout(Duration::from_secs(3600))
        .await
        .unwrap();
    wait_state(&mut events, a.connection_id, SessionState::Connected).await;
    assert_eq!(reg.list().await.unwrap()[0].state, SessionState::Connected);
}

#[tokio::test]
async fn unrefreshable_token_goes_expiring_then_expired() {
    let mock = start_mock(5, &["tok-1"]).await;
    let reg = SessionRegistry::start(RegistrySettings {
        expiring_window: Duration::from_secs(60),
        ..settings()
    });
    let mut events = reg.subscribe();
    let tokens = OneShotTokens::new(chrono::Duration::milliseconds(1200));
    let a = reg
        .connect(request(
            "A",
            &mock.url,
            Service::ExchangeOnline,
            tokens.clone(),
            None,
        ))
        .await
        .unwrap();
    wait_state(&mut events, a.connection_id, SessionState::Expiring).await;
    // One refresh was tried, not one per tick.
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    wait_state(&mut events, a.connection_id, SessionState::Expired).await;
    let list = reg.list().await.unwrap();
    assert!(
        list[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("sign in again")
    );
    let closed = reg.disconnect_stale().await.unwrap();
    assert_eq!(closed.len(), 1);
    assert!(reg.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn refreshable_token_stays_connected() {
    let mock = start_mock(5, &["tok-1"]).await;
    let reg = SessionRegistry::start(RegistrySettings {
        expiring_window: Duration::from_millis(800),
        ..settings()
    });
    let tokens = SeqTokens::with_lifetime(chrono::Duration::milliseconds(1000));
    let a = reg
        .connect(request(
            "A",
            &mock.url,
            Service::ExchangeOnline,
            tokens,
            None,
        ))
        .await
        .unwrap();
    let first_expiry = a.token_expires.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let list = reg.list().await.unwrap();
    assert_eq!(list[0].state, SessionState::Connected);
    assert!(list[0].token_expires.unwrap() > first_expiry);
}

#[tokio::test]
async fn failed_sign_in_and_failed_probe_are_failed_sessions() {
    let mock = start_mock(5, &["tok-1"]).await;
    mock.fault(1, Fault::ErrorJson);
    let reg = SessionRegistry::start(settings());
    let e = reg
        .connect(request(
            "P",
            &mock.url,
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap_err();
    let SessionError::Service(rest) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(rest.status, Some(404));
    let tokens = SeqTokens::new();
    tokens.fail.store(true, Ordering::SeqCst);
    let e = reg
        .connect(request(
            "Q",
            &mock.url,
            Service::ExchangeOnline,
            tokens,
            None,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, SessionError::SignIn(ref t) if t.needs_interactive));
    let list = reg.list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|s| s.state == SessionState::Failed && s.last_error.is_some())
    );
    assert_eq!(reg.disconnect_stale().await.unwrap().len(), 2);
    // A policy-breaking address is refused before anything is sent.
    let e = reg
        .connect(request(
            "R",
            "http://example.com",
            Service::ExchangeOnline,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
}

#[tokio::test]
async fn scc_session_pins_the_regional_host() {
    let mock = start_mock(3, &["tok-1"]).await;
    let reg = SessionRegistry::start(settings());
    let a = reg
        .connect(request(
            "SCC",
            &mock.global_url,
            Service::SecurityCompliance,
            SeqTokens::new(),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(a.endpoint, mock.url);
    assert_eq!(
        mock.log()[1].headers["x-cmdletname"],
        "Get-RetentionCompliancePolicy"
    );
    reg.run(
        a.connection_id,
        CmdletRequest::new("Get-RetentionCompliancePolicy"),
    )
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    let hosts: Vec<String> = mock.log().iter().map(|l| l.host.clone()).collect();
    assert_eq!(hosts, ["global", "regional", "regional"]);
}

#[tokio::test]
async fn an_access_check_that_retries_says_so_while_connecting() {
    use exo_connect::engine::sessions::ConnectProgress;
    let mock = start_mock(3, &["tok-1"]).await;
    mock.fault(1, Fault::Status(503));
    mock.fault(
        2,
        Fault::TooMany {
            retry_after: Some(0),
        },
    );
    let reg = SessionRegistry::start(settings());
    let mut events = reg.subscribe();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let req = request(
        "EXO",
        &mock.url,
        Service::ExchangeOnline,
        SeqTokens::new(),
        None,
    )
    .with_progress(tx);
    let info = reg.connect(req).await.unwrap();
    assert_eq!(info.state, SessionState::Connected);
    assert_eq!(
        info.last_error, None,
        "the retries' notes end with the connect"
    );
    // The connect's progress: both retries, with the service's reason.
    let mut told = Vec::new();
    while let Ok(p) = rx.try_recv() {
        told.push(p);
    }
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        matches!(&told[0], ConnectProgress::Retrying { attempt: 1, reason, .. } if reason.contains("503")),
        "{told:?}"
    );
    assert!(told[1].to_string().starts_with("retrying in "), "{told:?}");
    assert!(told[1].to_string().contains("429"), "{told:?}");
    // The window's view: the Connecting session shows the retry.
    let mut notes = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let SessionEvent::Changed(i) = ev
            && i.state == SessionState::Connecting
            && let Some(n) = i.last_error
        {
            notes.push(n);
        }
    }
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].starts_with("retrying in ") && notes[0].contains("503"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn the_access_check_reads_one_row_of_a_huge_answer() {
    use connections_fixture::SimTokens;
    let h = exo_connect::sim::start(exo_connect::sim::SimConfig {
        mailboxes: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    h.admin.inject_spec("huge:mb=200:length=none").unwrap();
    let reg = SessionRegistry::start(settings());
    let exo = h.urls().exo.clone();
    let tokens = SimTokens::new(&h, &exo, "admin@contoso.com");
    let t = std::time::Instant::now();
    let i = reg
        .connect(request("EXO", &exo, Service::ExchangeOnline, tokens, None))
        .await
        .unwrap();
    assert_eq!(i.state, SessionState::Connected);
    assert_eq!(i.requests, 1);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

// ---- against the simulated tenant ------------------------------------------------------------

#[tokio::test]
async fn sim_limit_guard_refuses_before_the_service_does() {
    use connections_fixture::SimTokens;
    // The sim simulates the retired remote PowerShell connection count (3 for EXO) only when
    // asked for: the REST API itself has none.
    let h = exo_connect::sim::start(exo_connect::sim::SimConfig {
        mailboxes: 10,
        legacy_connection_limits: true,
        connection_window: Duration::from_millis(1500),
        ..Default::default()
    })
    .await
    .unwrap();
    let reg = SessionRegistry::start(settings());
    let exo = h.urls().exo.clone();
    let tokens = SimTokens::new(&h, &exo, "admin@contoso.com");
    let mut open = Vec::new();
    for n in 0..3 {
        let i = reg
            .connect(request(
                &format!("EXO {n}"),
                &exo,
                Service::ExchangeOnline,
                tokens.clone(),
                None,
            ))
            .await
            .unwrap();
        assert_eq!(i.tenant.as_deref(), Some(tokens.tid.as_str()));
        open.push(i.connection_id);
    }
    let before = h.admin.requests().len();
    let e = reg
        .connect(request(
            "EXO 3",
            &exo,
            Service::ExchangeOnline,
            tokens.clone(),
            None,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SessionError::LimitReached(ref l) if l.open.len() == 3),
        "{e}"
    );
    // Refused here: the service never saw a fourth connection.
    assert_eq!(h.admin.requests().len(), before);

    // Closing a session is client-side; the service still counts its connection for a while and
    // says so in its own words, which reach the user as they are.
    reg.disconnect(open[0], false).await.unwrap();
    let e = reg
        .connect(request(
            "EXO 3",
            &exo,
            Service::ExchangeOnline,
            tokens.clone(),
            None,
        ))
        .await
        .unwrap_err();
    let SessionError::Service(rest) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(rest.status, Some(400));
    assert!(
        rest.message.contains("maximum number of connections"),
        "{rest:?}"
    );
    // Once the service's window has passed, a new session opens.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    reg.disconnect_stale().await.unwrap(); // the failed attempt
    let i = reg
        .connect(request(
            "EXO 3",
            &exo,
            Service::ExchangeOnline,
            tokens.clone(),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(i.state, SessionState::Connected);
    let out = reg
        .run(
            i.connection_id,
            CmdletRequest::new("Get-Mailbox").param("ResultSize", "Unlimited"),
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(out.rows.len(), 10);
}
