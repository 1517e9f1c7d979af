//! The connect use-case (`engine::connect::Connector`) against the sim over loopback, with a
//! scripted prompt: one client per connect, a silent sign-in from the cache first, the password
//! asked and asked again, the password → device-code fallback for MFA, a UPN mismatch retried,
//! cancel, a proxy's 407 and the limit guard's refusal as typed errors on the same path.

use crate::common::signin_support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use exo_connect::engine::auth::{CancellationToken, SignInError, SignInEvent};
use exo_connect::engine::connect::{
    ConnectError, ConnectOptions, Connector, OnFailure, OnMismatch, SignInPrompt,
};
use exo_connect::engine::proxy::{Clients, Fixture};
use exo_connect::engine::sessions::{RegistrySettings, SessionError, SessionLimits};
use exo_connect::model::{AuthMethod, ProxyAccessType, SessionState, SignInMethod};
use signin_support::*;

/// What the scripted prompt saw and was asked, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Starting,
    Event(SignInEvent),
    Password,
    Mismatch(String, String),
    Failed(String),
    SignedIn(String),
}

/// Answers from queues; device codes go out on a channel for the test to play the browser.
struct Scripted {
    seen: Mutex<Vec<Seen>>,
    passwords: Mutex<VecDeque<String>>,
    mismatch: Mutex<VecDeque<OnMismatch>>,
    failures: Mutex<VecDeque<OnFailure>>,
    codes: mpsc::UnboundedSender<String>,
}

impl Scripted {
    fn new() -> (Arc<Scripted>, mpsc::UnboundedReceiver<String>) {
        let (codes, rx) = mpsc::unbounded_channel();
        let s = Scripted {
            seen: Mutex::default(),
            passwords: Mutex::default(),
            mismatch: Mutex::default(),
            failures: Mutex::default(),
            codes,
        };
        (Arc::new(s), rx)
    }
    fn password(self: &Arc<Self>, pw: &str) -> Arc<Self> {
        self.passwords.lock().unwrap().push_back(pw.into());
        self.clone()
    }
    fn on_failure(self: &Arc<Self>, f: OnFailure) -> Arc<Self> {
        self.failures.lock().unwrap().push_back(f);
        self.clone()
    }
    fn on_mismatch(self: &Arc<Self>, m: OnMismatch) -> Arc<Self> {
        self.mismatch.lock().unwrap().push_back(m);
        self.clone()
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn log(&self, s: Seen) {
        self.seen.lock().unwrap().push(s);
    }
}

impl SignInPrompt for Scripted {
    fn starting(&self, _method: SignInMethod) {
        self.log(Seen::Starting);
    }
    fn show(&self, event: &SignInEvent) {
        if let SignInEvent::CodeIssued { user_code, .. } = event {
            let _ = self.codes.send(user_code.clone());
        }
        self.log(Seen::Event(event.clone()));
    }
    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        self.log(Seen::Password);
        let pw = self.passwords.lock().unwrap().pop_front();
        Box::pin(async move { pw.ok_or(ConnectError::SignIn(SignInError::Cancelled)) })
    }
    fn upn_mismatch<'a>(&'a self, expected: &'a str, actual: &'a str) -> BoxFuture<'a, OnMismatch> {
        self.log(Seen::Mismatch(expected.into(), actual.into()));
        let m = self.mismatch.lock().unwrap().pop_front();
        Box::pin(async move { m.unwrap_or(OnMismatch::Cancel) })
    }
    fn failed<'a>(&'a self, error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        self.log(Seen::Failed(error.explanation()));
        let f = self.failures.lock().unwrap().pop_front();
        Box::pin(async move { f.unwrap_or(OnFailure::GiveUp) })
    }
    fn signed_in(&self, signed: &exo_connect::engine::auth::SignedIn) {
        self.log(Seen::SignedIn(signed.account.clone()));
    }
}

fn connector(limits: SessionLimits, clients: impl FnOnce(Clients) -> Clients) -> Connector {
    let registry = RegistrySettings {
        limits,
        ..Default::default()
    };
    engine_connector(registry, clients, Duration::from_secs(20))
}

/// Plays the browser for every device code the prompt shows, as these accounts in turn.
fn play_device_codes(
    h: &Arc<exo_connect::sim::SimHandle>,
    mut codes: mpsc::UnboundedReceiver<String>,
    accounts: &[&str],
) {
    let h = h.clone();
    let accounts: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
    tokio::spawn(async move {
        for upn in accounts {
            let Some(code) = codes.recv().await else {
                return;
            };
            complete_device_login(&h, &code, &UserAction::SignIn(upn)).await;
        }
    });
}

#[tokio::test]
async fn connect_asks_once_then_signs_in_silently_and_the_limit_guard_answers_on_the_same_path() {
    let h = start_sim(|_| {}).await;
    let one = SessionLimits {
        exchange_online: 1,
        ..Default::default()
    };
    let c = connector(one, |c| c);
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let (prompt, _codes) = Scripted::new();
    let prompt = prompt.password(&password_of("ops@contoso.com"));
    let first = c
        .connect(&p, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(first.session.state, SessionState::Connected);
    assert_eq!(first.session.account.as_deref(), Some("ops@contoso.com"));
    assert!(!first.signed_in.silent);
    let seen = prompt.seen();
    assert_eq!(seen[0], Seen::Password, "{seen:?}");
    assert_eq!(seen[1], Seen::Starting, "{seen:?}");
    assert_eq!(seen.last(), Some(&Seen::SignedIn("ops@contoso.com".into())));

    // A second connect: the cached sign-in serves (no question), the registry refuses.
    let (again, _codes) = Scripted::new();
    let e = c
        .connect(&p, again.as_ref(), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        again.seen(),
        vec![Seen::SignedIn("ops@contoso.com".into())],
        "silent: nothing asked"
    );
    let ConnectError::Session(SessionError::LimitReached(lr)) = &e else {
        panic!("the limit guard's refusal, got {e:?}")
    };
    assert_eq!(lr.limit, 1);
    assert_eq!(lr.open.len(), 1);
    assert_eq!(lr.open[0].connection_id, first.session.connection_id);
    assert!(e.to_string().contains("one more is refused"), "{e}");
}

#[tokio::test]
async fn a_wrong_password_is_asked_again_and_giving_up_ends_with_the_explanation() {
    let h = start_sim(|_| {}).await;
    let c = connector(SessionLimits::default(), |c| c);
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let (prompt, _codes) = Scripted::new();
    let prompt = prompt
        .password("wrong")
        .on_failure(OnFailure::Password(password_of("ops@contoso.com")));
    let ok = c
        .connect(&p, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.signed_in.account, "ops@contoso.com");
    let failed: Vec<String> = prompt
        .seen()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Failed(x) => Some(x),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("password is wrong"), "{failed:?}");

    let mut other = profile(&h, "admin@northwind.com");
    other.auth = AuthMethod::Password;
    let (prompt, _codes) = Scripted::new();
    let prompt = prompt.password("wrong");
    let e = c
        .connect(&other, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectError::SignIn(SignInError::Entra(_))),
        "{e:?}"
    );
    assert!(!e.is_cancelled());
    assert!(c.registry().list().await.unwrap().len() == 1);
}

#[tokio::test]
async fn password_of_an_mfa_account_falls_back_to_the_device_code_on_the_same_connect() {
    let h = start_sim(|_| {}).await;
    let c = connector(SessionLimits::default(), |c| c);
    let mut p = profile(&h, "admin@contoso.com");
    p.auth = AuthMethod::Password;
    let (prompt, codes) = Scripted::new();
    let prompt = prompt.password(&password_of("admin@contoso.com"));
    play_device_codes(&h, codes, &["admin@contoso.com"]);
    let ok = c
        .connect(&p, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.session.state, SessionState::Connected);
    let seen = prompt.seen();
    let mfa = seen
        .iter()
        .position(|s| matches!(s, Seen::Event(SignInEvent::MfaRequired { .. })))
        .expect("the MFA explanation");
    let code = seen
        .iter()
        .position(|s| matches!(s, Seen::Event(SignInEvent::CodeIssued { .. })))
        .expect("a device code");
    assert!(mfa < code, "{seen:?}");
}

#[tokio::test]
async fn upn_mismatch_retry_forgets_the_other_account_and_continue_keeps_it() {
    let h = start_sim(|_| {}).await;
    let c = connector(SessionLimits::default(), |c| c);
    let mut p = profile(&h, "admin@contoso.com");
    p.auth = AuthMethod::DeviceCode;
    let (prompt, codes) = Scripted::new();
    let prompt = prompt.on_mismatch(OnMismatch::Retry);
    play_device_codes(&h, codes, &["ops@contoso.com", "admin@contoso.com"]);
    let ok = c
        .connect(&p, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.signed_in.account, "admin@contoso.com");
    assert!(prompt.seen().contains(&Seen::Mismatch(
        "admin@contoso.com".into(),
        "ops@contoso.com".into()
    )));
    let mut ops = p.clone();
    ops.upn = "ops@contoso.com".into();
    assert!(
        c.cache().sign_in_silent(&ops, None).await.is_err(),
        "the wrong account's sign-in was forgotten"
    );

    let mut q = profile(&h, "partner@adatum.com");
    q.auth = AuthMethod::DeviceCode;
    let (prompt, codes) = Scripted::new();
    let prompt = prompt.on_mismatch(OnMismatch::Continue);
    play_device_codes(&h, codes, &["admin@northwind.com"]);
    let ok = c
        .connect(&q, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.session.account.as_deref(), Some("admin@northwind.com"));
}

#[tokio::test]
async fn cancel_ends_the_connect_quietly() {
    let h = start_sim(|_| {}).await;
    let c = connector(SessionLimits::default(), |c| c);
    let mut p = profile(&h, "admin@contoso.com");
    p.auth = AuthMethod::DeviceCode;
    let (prompt, mut codes) = Scripted::new();
    let cancel = CancellationToken::new();
    let opts = ConnectOptions {
        cancel: cancel.clone(),
        ..Default::default()
    };
    tokio::spawn(async move {
        codes.recv().await;
        cancel.cancel();
    });
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        c.connect(&p, prompt.as_ref(), &opts),
    )
    .await
    .expect("cancel ends the wait")
    .unwrap_err();
    assert!(e.is_cancelled(), "{e:?}");
    assert!(c.registry().list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_proxy_asking_for_credentials_is_a_typed_error_before_any_session() {
    let h = start_sim(|_| {}).await;
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            [("proxy-authenticate", "Basic realm=\"corp\"")],
            "",
        )
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let mut fx = Fixture::default();
    fx.env
        .insert("HTTP_PROXY".into(), format!("http://{proxy}"));
    // The sim is on loopback: let its traffic follow the proxy.
    fx.proxy_loopback = true;
    let c = connector(SessionLimits::default(), |c| c.with_source(Arc::new(fx)));
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    p.proxy.access_type = ProxyAccessType::IEConfig;
    let (prompt, _codes) = Scripted::new();
    let prompt = prompt.password(&password_of("ops@contoso.com"));
    let e = c
        .connect(&p, prompt.as_ref(), &ConnectOptions::default())
        .await
        .unwrap_err();
    let (who, explanation) = e.proxy_credential_needed().expect("a 407, typed");
    assert_eq!(who, proxy);
    assert!(
        explanation.contains("asked for credentials (407"),
        "{explanation}"
    );
    assert!(
        prompt
            .seen()
            .iter()
            .any(|s| matches!(s, Seen::Failed(x) if x.contains("407"))),
        "the prompt was told"
    );
    assert!(c.registry().list().await.unwrap().is_empty());
}
