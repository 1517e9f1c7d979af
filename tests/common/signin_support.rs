//! Test helpers for the sign-in tests: a sim with fast device codes, profiles pointing at it, a
//! token cache and the connect use-case over in-memory secrets, and an HTTP client that plays
//! the browser on the sim's sign-in pages (no engine code involved in playing it).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use exo_connect::engine::auth::{BrowserLauncher, NoBrowser, SignInEvent, TokenCache};
use exo_connect::engine::connect::Connector;
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::proxy::Clients;
use exo_connect::engine::secrets::SecretStore;
use exo_connect::engine::sessions::{RegistrySettings, SessionRegistry};
use exo_connect::model::{Cloud, Profile, Service};
use exo_connect::sim::{self, SimConfig, SimHandle};
use futures_util::future::BoxFuture;
use tokio::sync::mpsc::UnboundedReceiver;

pub const PASSWORD_SUFFIX: &str = "-Demo-2026!";

pub fn password_of(upn: &str) -> String {
    format!("{}{}", upn.split('@').next().unwrap(), PASSWORD_SUFFIX)
}

pub async fn start_sim(f: impl FnOnce(&mut SimConfig)) -> Arc<SimHandle> {
    let mut cfg = SimConfig {
        mailboxes: 20,
        device_code_interval: Duration::from_secs(1),
        ..SimConfig::default()
    };
    f(&mut cfg);
    Arc::new(sim::start(cfg).await.expect("sim starts"))
}

/// A profile that points at the sim (custom cloud, EXO resource).
pub fn profile(h: &SimHandle, upn: &str) -> Profile {
    let urls = h.urls();
    let mut p = Profile::new("sim", upn, Service::ExchangeOnline);
    p.cloud = Cloud::Custom;
    p.connection_uri = Some(format!("{}/powershell-liveid/", urls.exo));
    p.authorization_endpoint = Some(urls.authority());
    p
}

/// A token cache over a shared client of its own, secrets in memory.
pub fn memory_cache() -> Arc<TokenCache> {
    TokenCache::new(
        build_client(&HttpOptions::default()).unwrap(),
        SecretStore::memory(),
    )
}

/// The engine's connect use-case as the window builds it (one shared client, secrets in
/// memory, a registry with `registry`), no browser, sign-ins bounded by `signin_timeout`;
/// `clients` may adjust the profiles' client builder (e.g. its proxy settings source).
pub fn engine_connector(
    registry: RegistrySettings,
    clients: impl FnOnce(Clients) -> Clients,
    signin_timeout: Duration,
) -> Connector {
    let shared = build_client(&HttpOptions::default()).unwrap();
    let secrets = SecretStore::memory();
    Connector::new(
        TokenCache::new(shared.clone(), secrets.clone()),
        clients(Clients::new(shared, secrets)),
        SessionRegistry::start(registry),
    )
    .with_browser(Arc::new(NoBrowser))
    .with_signin_timeout(signin_timeout)
}

pub fn browser_client() -> reqwest::Client {
    exo_connect::engine::http::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The value of the hidden `flow` field of a sim page.
pub fn flow_id(html: &str) -> Option<String> {
    let i = html.find("name=\"flow\" value=\"")?;
    let rest = &html[i + "name=\"flow\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// What the user does on the account page.
#[derive(Clone, Debug)]
pub enum UserAction {
    /// Sign in as this account (password, and the TOTP for MFA accounts).
    SignIn(String),
    /// Press Cancel (decline).
    Decline,
}

/// The end of a page sign-in: a final page, or the authorize flow's redirect.
#[derive(Debug)]
pub enum Outcome {
    Page(String),
    Redirect(String),
}

async fn outcome(r: reqwest::Response) -> Outcome {
    if r.status().is_redirection() {
        Outcome::Redirect(r.headers()["location"].to_str().unwrap().to_string())
    } else {
        Outcome::Page(r.text().await.unwrap_or_default())
    }
}

/// Walks account → password → (TOTP) from a page that shows the account step.
pub async fn complete_pages(
    h: &SimHandle,
    c: &reqwest::Client,
    first_page: String,
    action: &UserAction,
) -> Outcome {
    let login = format!("{}/login", h.urls().login);
    let flow = flow_id(&first_page).expect("the page has a flow id");
    let upn = match action {
        UserAction::Decline => {
            return outcome(
                c.post(&login)
                    .form(&[("flow", flow.as_str()), ("action", "cancel")])
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        }
        UserAction::SignIn(upn) => upn.clone(),
    };
    let r = c
        .post(&login)
        .form(&[
            ("flow", flow.as_str()),
            ("login", upn.as_str()),
            ("action", "next"),
        ])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(
        page.contains("name=\"passwd\""),
        "password page expected: {page}"
    );
    let pw = password_of(&upn);
    let r = c
        .post(&login)
        .form(&[
            ("flow", flow.as_str()),
            ("passwd", pw.as_str()),
            ("action", "next"),
        ])
        .send()
        .await
        .unwrap();
    match outcome(r).await {
        Outcome::Page(page) if page.contains("one-time-code") => {
            let code = h.current_totp(&upn).expect("a TOTP");
            outcome(
                c.post(&login)
                    .form(&[
                        ("flow", flow.as_str()),
                        ("otc", code.as_str()),
                        ("action", "next"),
                    ])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
        other => other,
    }
}

/// Plays the browser on /devicelogin for `user_code`.
pub async fn complete_device_login(h: &SimHandle, user_code: &str, action: &UserAction) -> String {
    let c = browser_client();
    let r = c
        .post(format!("{}/devicelogin", h.urls().login))
        .form(&[("otc", user_code)])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    match complete_pages(h, &c, page, action).await {
        Outcome::Page(p) => p,
        Outcome::Redirect(l) => panic!("the device flow does not redirect ({l})"),
    }
}

/// Waits for the CodeIssued event (forwarding every event into `seen`).
pub async fn next_code(
    rx: &mut UnboundedReceiver<SignInEvent>,
    seen: &mut Vec<SignInEvent>,
) -> (String, String) {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event in time")
            .expect("channel open");
        seen.push(e.clone());
        if let SignInEvent::CodeIssued {
            user_code,
            verification_uri,
            ..
        } = e
        {
            return (user_code, verification_uri);
        }
    }
}

pub fn drain(rx: &mut UnboundedReceiver<SignInEvent>, seen: &mut Vec<SignInEvent>) {
    while let Ok(e) = rx.try_recv() {
        seen.push(e);
    }
}

/// How the test browser tampers with the redirect before delivering it to the listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// Only a redirect with a forged `state` is delivered.
    WrongState,
    /// A redirect with a forged `state` first (its answer kept in `forged_answer`), then the
    /// real one.
    WrongStateThenReal,
}

/// A [`BrowserLauncher`] that follows the sim's authorize page over HTTP as `action`, then
/// delivers the redirect to the loopback listener.
pub struct TestBrowser {
    pub sim: Arc<SimHandle>,
    pub action: UserAction,
    pub tamper: Tamper,
    /// When false, "no browser could be opened" (the URL must be copied by hand).
    pub can_open: bool,
    pub delivered: std::sync::Mutex<Option<String>>,
    /// Status and page the listener answered the forged redirect (`WrongStateThenReal`).
    pub forged_answer: std::sync::Mutex<Option<(u16, String)>>,
}

impl TestBrowser {
    pub fn new(sim: Arc<SimHandle>, action: UserAction) -> Arc<Self> {
        Arc::new(TestBrowser {
            sim,
            action,
            tamper: Tamper::None,
            can_open: true,
            delivered: Default::default(),
            forged_answer: Default::default(),
        })
    }

    /// Drives the authorize URL to the final redirect and delivers it; returns the listener's page.
    pub async fn drive(&self, url: &str) -> Result<String, String> {
        let c = browser_client();
        let r = c.get(url).send().await.map_err(|e| e.to_string())?;
        let page = r.text().await.map_err(|e| e.to_string())?;
        let loc = match complete_pages(&self.sim, &c, page, &self.action).await {
            Outcome::Redirect(l) => l,
            Outcome::Page(p) => return Err(format!("no redirect: {p}")),
        };
        let mut loc = url::Url::parse(&loc).unwrap();
        if self.tamper != Tamper::None {
            let forged = with_state(&loc, "forged-state");
            if self.tamper == Tamper::WrongState {
                loc = forged;
            } else {
                let r = c
                    .get(forged.as_str())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                let page = r.text().await.map_err(|e| e.to_string())?;
                *self.forged_answer.lock().unwrap() = Some((status, page));
            }
        }
        *self.delivered.lock().unwrap() = Some(loc.to_string());
        let r = c
            .get(loc.as_str())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        r.text().await.map_err(|e| e.to_string())
    }
}

/// `loc` with its `state` parameter replaced.
fn with_state(loc: &url::Url, state: &str) -> url::Url {
    let pairs: Vec<(String, String)> = loc
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                state.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut out = loc.clone();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out
}

impl BrowserLauncher for TestBrowser {
    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if !self.can_open {
                return Err("no browser here".into());
            }
            self.drive(url).await.map(|_| ())
        })
    }
}

/// The JSON payload of a JWT (test-side decoding, independent of the engine's).
pub fn jwt_payload(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap(),
    )
    .unwrap()
}
