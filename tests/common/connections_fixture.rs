//! Test fixtures of the connections tests: a scripted admin-API server (for faults the sim cannot
//! be told to produce yet, exact request counting), test token providers, and the REST client
//! over either.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Duration as ChronoDuration, Utc};
use exo_connect::engine::rest::{RestClient, RestConfig, RestTarget};
use exo_connect::engine::token::{AccessToken, TokenProvider, TokenUnavailable};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const ACCOUNT: &str = "admin@contoso.com";

/// What the scripted server does on the N-th request (1-based, every request it sees).
#[derive(Debug, Clone)]
pub enum Fault {
    TooMany { retry_after: Option<u64> },
    Status(u16),
    Concurrency,
    Unauthorized,
    ResetMidBody,
    ErrorJson,
    ErrorPipe,
    GzipGarbage(u16),
    EmptyBody(u16),
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub host: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub status: u16,
}

#[derive(Default)]
pub struct MockState {
    pub rows: usize,
    pub faults: HashMap<usize, Fault>,
    pub valid_tokens: HashSet<String>,
    /// Next-page links answer 405 to POST.
    pub next_link_get_only: bool,
    pub warnings: Vec<String>,
    pub log: Vec<Logged>,
    pub seen: usize,
    /// Redirect every request on the global host to the regional one (Location host to use).
    pub regional_origin: String,
    /// `@odata.nextLink` before `value` (as the service and the sim send it); default: after.
    pub link_first: bool,
    /// The first page's body is sent in two parts: up to the middle of its rows, then — once
    /// the next request has arrived, or after 5 s — the rest.
    pub hold_first_page: bool,
    /// A request arrived while the first page's body was held.
    pub overlapped: bool,
}

pub struct Mock {
    pub url: String,
    pub global_url: String,
    pub state: Arc<Mutex<MockState>>,
}

impl Mock {
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }
    pub fn fault(&self, n: usize, f: Fault) {
        self.state.lock().unwrap().faults.insert(n, f);
    }
}

async fn bind() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, format!("http://{a}"))
}

pub async fn start_mock(rows: usize, tokens: &[&str]) -> Mock {
    let (regional, url) = bind().await;
    let (global, global_url) = bind().await;
    let state = Arc::new(Mutex::new(MockState {
        rows,
        valid_tokens: tokens.iter().map(|t| t.to_string()).collect(),
        regional_origin: url.clone(),
        ..Default::default()
    }));
    let api = Router::new().fallback(handle).with_state(state.clone());
    let redirect = Router::new().fallback(redirect).with_state(state.clone());
    tokio::spawn(async move {
        axum::serve(
            regional,
            api.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .ok();
    });
    tokio::spawn(async move {
        axum::serve(
            global,
            redirect.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .ok();
    });
    Mock {
        url,
        global_url,
        state,
    }
}

fn log_req(
    st: &mut MockState,
    host: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    status: u16,
) {
    let mut h = HashMap::new();
    for (k, v) in headers {
        h.insert(
            k.as_str().to_ascii_lowercase(),
            v.to_str().unwrap_or("").to_string(),
        );
    }
    st.log.push(Logged {
        host: host.to_string(),
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        authorization: h.get("authorization").cloned(),
        headers: h,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        status,
    });
}

async fn redirect(
    State(state): State<Arc<Mutex<MockState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap();
    log_req(&mut st, "global", &method, &uri, &headers, &body, 302);
    let loc = format!("{}{}", st.regional_origin, uri);
    (StatusCode::FOUND, [("location", loc)]).into_response()
}

fn error_json(code: &str, msg: &str, ty: &str) -> String {
    let inner = json!({"Message": msg, "TypeName": ty}).to_string();
    json!({"error":{"code":code,"message":"outer message","details":[{"code":code,"message":inner}]}})
        .to_string()
}

async fn handle(
    State(state): State<Arc<Mutex<MockState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap();
    st.seen += 1;
    let n = st.seen;
    let fault = st.faults.get(&n).cloned();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let token_ok = auth
        .strip_prefix("Bearer ")
        .is_some_and(|t| st.valid_tokens.contains(t));
    let query = uri.query().unwrap_or("").to_string();
    let qp: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let is_next = qp.contains_key("skip");
    let rid = format!("req-{n}");
    macro_rules! respond {
        ($status:expr, $body:expr, $extra:expr $(,)?) => {{
            let status: u16 = $status;
            log_req(&mut st, "regional", &method, &uri, &headers, &body, status);
            let mut r = Response::builder()
                .status(status)
                .header("request-id", rid.clone());
            let extra: Vec<(&'static str, String)> = $extra;
            for (k, v) in extra {
                r = r.header(k, v);
            }
            r.body($body).unwrap()
        }};
    }
    if !token_ok || matches!(fault, Some(Fault::Unauthorized)) {
        return respond!(401, Body::from(""), vec![]);
    }
    match fault {
        Some(Fault::TooMany { retry_after }) => {
            let extra = retry_after
                .map(|s| vec![("retry-after", s.to_string())])
                .unwrap_or_default();
            return respond!(429, Body::from("{}"), extra);
        }
        Some(Fault::Status(s)) => return respond!(s, Body::from(""), vec![]),
        Some(Fault::Concurrency) => {
            let b = error_json(
                "InternalServerError",
                "You have reached the maximum number of concurrent requests per tenant. Please wait and try again.",
                "Microsoft.Exchange.Admin.Throttling",
            );
            return respond!(500, Body::from(b), vec![]);
        }
        Some(Fault::ErrorJson) => {
            let b = error_json(
                "NotFound",
                "The operation couldn't be performed because object 'nobody' couldn't be found.",
                "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            );
            return respond!(404, Body::from(b), vec![]);
        }
        Some(Fault::ErrorPipe) => {
            let b = json!({"error":{"code":"BadRequest","message":"m","details":[{"message":"Ex6F9304|Microsoft.Exchange.Management.Tasks.ParameterBindingException|A parameter cannot be found that matches parameter name 'Bogus'."}]}}).to_string();
            return respond!(400, Body::from(b), vec![]);
        }
        Some(Fault::GzipGarbage(s)) => {
            let garbage: Vec<u8> = (0u8..200).map(|i| i.wrapping_mul(37)).collect();
            return respond!(
                s,
                Body::from(garbage),
                vec![("content-encoding", "gzip".into())],
            );
        }
        Some(Fault::EmptyBody(s)) => return respond!(s, Body::empty(), vec![]),
        _ => {}
    }
    if is_next && st.next_link_get_only && method == Method::POST {
        return respond!(405, Body::from(""), vec![]);
    }
    let page_size: usize = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("odata.maxpagesize="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let skip: usize = qp.get("skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let select: Option<Vec<String>> = qp
        .get("$select")
        .map(|s| s.split(',').map(str::to_string).collect());
    let end = (skip + page_size).min(st.rows);
    let rows: Vec<Value> = (skip..end)
        .map(|i| {
            let mut o = json!({"@odata.id": format!("Mailbox('{i}')"), "Name": format!("mbx{i:05}"), "Index": i, "EmailAddresses": [format!("SMTP:mbx{i}@contoso.com"), format!("smtp:alias{i}@contoso.com")], "Note": null});
            if let Some(sel) = &select {
                o.as_object_mut()
                    .unwrap()
                    .retain(|k, _| k.starts_with('@') || sel.contains(k));
            }
            o
        })
        .collect();
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut page = json!({"@odata.context": "ctx"});
    let link = (end < st.rows).then(|| {
        let mut next = format!("http://{host}{}?skip={end}", uri.path());
        if let Some(sel) = qp.get("$select") {
            next.push_str(&format!("&%24select={sel}"));
        }
        next
    });
    if st.link_first
        && let Some(l) = &link
    {
        page["@odata.nextLink"] = json!(l);
    }
    page["value"] = json!(rows);
    if !st.link_first
        && let Some(l) = &link
    {
        page["@odata.nextLink"] = json!(l);
    }
    if skip == 0 && !st.warnings.is_empty() {
        page["@adminapi.warnings"] = json!(st.warnings);
    }
    let text = page.to_string();
    if matches!(fault, Some(Fault::ResetMidBody)) {
        let half = Bytes::from(text.as_bytes()[..text.len() / 2].to_vec());
        let stream = futures_util::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "reset",
            )),
        ]);
        return respond!(
            200,
            Body::from_stream(stream),
            vec![("content-length", text.len().to_string())],
        );
    }
    if skip == 0 && st.hold_first_page {
        let (head, tail) = text.as_bytes().split_at(text.len() / 2);
        let (head, tail) = (Bytes::from(head.to_vec()), Bytes::from(tail.to_vec()));
        let shared = state.clone();
        let rest = async move {
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_secs(5) {
                let arrived = {
                    let mut st = shared.lock().unwrap();
                    st.overlapped |= st.seen > n;
                    st.overlapped
                };
                if arrived {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Ok::<Bytes, std::io::Error>(tail)
        };
        let stream = futures_util::stream::iter(vec![Ok::<Bytes, std::io::Error>(head)])
            .chain(futures_util::stream::once(rest));
        return respond!(
            200,
            Body::from_stream(stream),
            vec![("content-length", text.len().to_string())],
        );
    }
    let extra = if skip == 0 && !st.warnings.is_empty() {
        vec![("x-warnings", "Header warning".to_string())]
    } else {
        vec![]
    };
    respond!(200, Body::from(text), extra)
}

/// A token provider for the scripted server: token N is `tok-N`; force_refresh moves on.
pub struct SeqTokens {
    pub current: AtomicUsize,
    pub refreshes: AtomicUsize,
    pub lifetime: ChronoDuration,
    pub fail: std::sync::atomic::AtomicBool,
}

impl SeqTokens {
    pub fn new() -> Arc<SeqTokens> {
        Arc::new(SeqTokens {
            current: AtomicUsize::new(1),
            refreshes: AtomicUsize::new(0),
            lifetime: ChronoDuration::hours(1),
            fail: Default::default(),
        })
    }
}

impl TokenProvider for SeqTokens {
    fn token(&self, force_refresh: bool) -> BoxFuture<'_, Result<AccessToken, TokenUnavailable>> {
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err(TokenUnavailable {
                    message: "the cached sign-in has expired; sign in again".into(),
                    needs_interactive: true,
                });
            }
            if force_refresh {
                self.refreshes.fetch_add(1, Ordering::SeqCst);
                self.current.fetch_add(1, Ordering::SeqCst);
            }
            let n = self.current.load(Ordering::SeqCst);
            Ok(AccessToken {
                secret: format!("tok-{n}"),
                expires_at: Utc::now() + self.lifetime,
                tenant_id: TENANT.into(),
                account: Some(ACCOUNT.into()),
                resource: "http://127.0.0.1".into(),
            })
        })
    }
}

impl SeqTokens {
    pub fn with_lifetime(lifetime: ChronoDuration) -> Arc<SeqTokens> {
        Arc::new(SeqTokens {
            current: AtomicUsize::new(1),
            refreshes: AtomicUsize::new(0),
            lifetime,
            fail: Default::default(),
        })
    }
}

/// A sign-in that gives one short token and cannot refresh it (refresh token gone): the cached
/// token while asked without force, an error on a forced refresh.
pub struct OneShotTokens {
    pub expires_at: chrono::DateTime<Utc>,
    pub refreshes: AtomicUsize,
}

impl OneShotTokens {
    pub fn new(lifetime: ChronoDuration) -> Arc<OneShotTokens> {
        Arc::new(OneShotTokens {
            expires_at: Utc::now() + lifetime,
            refreshes: AtomicUsize::new(0),
        })
    }
}

impl TokenProvider for OneShotTokens {
    fn token(&self, force: bool) -> BoxFuture<'_, Result<AccessToken, TokenUnavailable>> {
        Box::pin(async move {
            if force || self.expires_at <= Utc::now() {
                self.refreshes.fetch_add(1, Ordering::SeqCst);
                return Err(TokenUnavailable {
                    message: "The sign-in has expired; sign in again.".into(),
                    needs_interactive: true,
                });
            }
            Ok(AccessToken {
                secret: "tok-1".into(),
                expires_at: self.expires_at,
                tenant_id: TENANT.into(),
                account: Some(ACCOUNT.into()),
                resource: "http://127.0.0.1".into(),
            })
        })
    }
}

/// Plays the sign-in side against the sim: mints the sim's own access tokens for a seeded user
/// (delegated) and an audience; a forced refresh mints a new one.
pub struct SimTokens {
    pub shared: Arc<exo_connect::sim::SimShared>,
    pub aud: String,
    pub upn: String,
    pub tid: String,
    pub lifetime: ChronoDuration,
    pub minted: AtomicUsize,
}

impl SimTokens {
    pub fn new(handle: &exo_connect::sim::SimHandle, aud: &str, upn: &str) -> Arc<SimTokens> {
        let user = handle
            .world()
            .users
            .iter()
            .find(|u| u.upn == upn)
            .unwrap_or_else(|| panic!("no seeded user {upn}"));
        Arc::new(SimTokens {
            shared: handle.shared.clone(),
            aud: aud.to_string(),
            upn: upn.to_string(),
            tid: user.tenant_id.to_string(),
            lifetime: ChronoDuration::hours(1),
            minted: AtomicUsize::new(0),
        })
    }

    pub fn mint(&self) -> AccessToken {
        self.minted.fetch_add(1, Ordering::SeqCst);
        let now = Utc::now();
        let user = self
            .shared
            .world
            .users
            .iter()
            .find(|u| u.upn == self.upn)
            .unwrap();
        let claims = exo_connect::sim::tokens::AccessClaims {
            aud: self.aud.clone(),
            iss: format!("{}/{}/v2.0", self.shared.urls.login, self.tid),
            tid: self.tid.clone(),
            oid: user.oid.to_string(),
            upn: Some(self.upn.clone()),
            scp: Some("Exchange.Manage".into()),
            roles: None,
            appid: "fb78d390-0c51-40cd-8e17-fdbfab77341b".into(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
        };
        AccessToken {
            secret: self.shared.keys.issue_access_token(&claims),
            expires_at: now + self.lifetime,
            tenant_id: self.tid.clone(),
            account: Some(self.upn.clone()),
            resource: self.aud.clone(),
        }
    }
}

impl TokenProvider for SimTokens {
    fn token(&self, _force: bool) -> BoxFuture<'_, Result<AccessToken, TokenUnavailable>> {
        Box::pin(async move { Ok(self.mint()) })
    }
}

/// The admin API at `base` as a plain target (no tenant override, not app-only).
pub fn target(base: &str) -> RestTarget {
    RestTarget {
        rest_base: base.to_string(),
        tenant_override: None,
        app_only_organization: None,
    }
}

/// A REST client at `base` with these tokens and settings.
pub fn rest_client(base: &str, tokens: Arc<dyn TokenProvider>, cfg: RestConfig) -> Arc<RestClient> {
    RestClient::new(target(base), tokens, cfg).unwrap()
}

/// A REST client at the sim's EXO endpoint with tokens the sim mints for `upn`.
pub fn sim_rest_client(
    h: &exo_connect::sim::SimHandle,
    upn: &str,
    cfg: RestConfig,
) -> Arc<RestClient> {
    let exo = h.urls().exo.clone();
    rest_client(&exo, SimTokens::new(h, &exo, upn), cfg)
}
