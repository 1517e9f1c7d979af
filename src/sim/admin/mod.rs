//! The Exchange admin API side of the sim: `POST /adminapi/beta/{tenant}/InvokeCommand`
//! (reference page §2), on three listeners: EXO (+EOP), SCC global (always 302 to the regional
//! host) and SCC regional.
//!
//! Behaviour in short (details on each item):
//! - Bearer validation (signature, expiry, audience = `urls.exo` on EXO, the GLOBAL `urls.scc` on
//!   both SCC hosts) → 401 + `WWW-Authenticate: Bearer ...`. App-only tokens (`roles` contains
//!   `Exchange.ManageAsApp`, no `upn`) are allowed.
//! - `X-AnchorMailbox` required → 400. `{tenant}` in the path = the token's `tid` (GUID or any of
//!   its domains) or a customer delegated to it → else 403.
//! - A user with `RemotePowerShellEnabled = false` → 403 on every call.
//! - Connection counting: distinct `connection-id` per (tenant, user or app, EXO|SCC) within
//!   `config.connection_window`; one more than the cap (default 3 EXO, 5 EOP/SCC) answers
//!   **400** "Fail to create a runspace because you have exceeded the maximum number of
//!   connections allowed : N for the policy party : MaxConcurrency..." (400 not 429: waiting a
//!   few seconds does not help, the client must close connections or wait for the window).
//! - Paging: `Prefer: odata.maxpagesize=N` (1..=1000; larger values are clamped to 1000; 0 or
//!   garbage → 400), echoed in `Preference-Applied`; `@odata.nextLink` is an absolute URL on the
//!   same host with an opaque `$skiptoken` that carries the cmdlet and parameters, so it accepts
//!   a POST of the same body and a bare GET.
//! - `ResultSize` is applied by the server too (the client may apply it again, harmlessly):
//!   Get-Mailbox/Get-User without it return at most 1000 rows and carry the service's warning in
//!   `@adminapi.warnings` on the first page; `value` is omitted when empty and there are warnings.
//! - `$select` keeps only the named properties (unknown names are ignored).
//! - Faults: see [`faults`] for the spec grammar; concurrency fault = 429 by default.
//! - SCC global host: every InvokeCommand (GET or POST) answers 302 (before any auth check) with
//!   `Location` = the same path and query on the regional host; the regional host also serves
//!   `/AdminApi/Beta/...` (see the `redirectcase` fault).
//! - Cmdlets and roles (a missing role looks like the real RBAC: 403 "not recognized", plus which
//!   roles would do): Get-Mailbox, Get-User (Organization Management, View-Only Organization
//!   Management, Help Desk, Recipient Management; Get-Mailbox not in standalone EOP),
//!   Get-AcceptedDomain, Get-OrganizationConfig, Get-TransportRule (Organization Management or
//!   View-Only), New-/Remove-TransportRule (Organization Management) on EXO;
//!   Get-RetentionCompliancePolicy, Get-ComplianceSearch (Organization Management, Compliance
//!   Administrator, eDiscovery Manager) on SCC. App-only tokens may run everything.
//! - Errors: 404 missing identity (pipe form), 400 unknown/missing parameter (JSON form), 403
//!   unknown cmdlet or role (JSON form), 403 RemotePowerShellEnabled (pipe form), 403 tenant
//!   mismatch, 405 GET without `$skiptoken`; headers `request-id`, `X-CalculatedBETarget`
//!   (when an anchor was sent), `x-ExceptionType` (short type name) on errors, `Date`.
//! - Request log ([`AdminApi::requests`], never a token or header value of Authorization) and
//!   `GET /sim/state` on the EXO listener (JSON, read-only).

pub mod cmdlets;
pub mod dataset;
pub mod faults;
pub mod odata;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use self::cmdlets::Caller;
use self::odata::{ApiError, SkipToken};
use super::SimShared;
use super::world::{Tenant, TenantKind};

pub use self::faults::{DetailForm, FAULTS_HELP, Fault, FaultKind, parse_spec};

/// Which listener a router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AdminHost {
    /// Exchange Online (and EOP).
    Exo,
    /// Security & Compliance global host: answers 302 to the regional host.
    SccGlobal,
    /// Security & Compliance regional host.
    SccRegional,
}

/// One request to an admin host, as logged. Never holds a token or any Authorization value.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// Number of the InvokeCommand request (1-based, over all admin hosts), as used by `@N` faults.
    pub seq: u64,
    /// RFC 3339 time the request arrived.
    pub time: String,
    pub host: AdminHost,
    pub method: String,
    /// Path only (no query).
    pub path: String,
    /// Cmdlet name if the request got far enough to name one.
    pub cmdlet: Option<String>,
    pub status: u16,
    pub connection_id: Option<String>,
    pub client_request_id: Option<String>,
    /// The fault that fired, if any (e.g. "429:retry=2 @3").
    pub fault: Option<String>,
}

/// Distinct connection ids currently counted for one (tenant, principal, service).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionCount {
    pub tenant: String,
    /// UPN, or `app:<appid>`.
    pub principal: String,
    /// "EXO" or "SCC".
    pub service: String,
    pub connections: usize,
}

/// (tenant, principal, service)
type ConnKey = (Uuid, String, &'static str);

#[derive(Debug, Default)]
struct Inner {
    log: Vec<LoggedRequest>,
    /// (tenant, principal, service) → (connection id, last seen)
    connections: HashMap<ConnKey, Vec<(String, Instant)>>,
    /// Transport rules per tenant, seeded lazily.
    rules: HashMap<Uuid, Vec<Map<String, Value>>>,
    rules_created: usize,
}

/// State of the admin API (request log, connection counting, faults, created objects).
#[derive(Debug)]
pub struct AdminApi {
    pub shared: Arc<SimShared>,
    faults: Mutex<Vec<Fault>>,
    inner: Mutex<Inner>,
    seq: AtomicU64,
}

impl AdminApi {
    /// A new admin API. The `config.faults` spec is parsed here; an invalid spec is ignored with a
    /// message on stderr (`start()` validates it first with [`parse_spec`]).
    pub fn new(shared: Arc<SimShared>) -> Arc<AdminApi> {
        let faults = match faults::parse_spec(&shared.config.faults) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("sim: ignoring fault spec: {e}");
                Vec::new()
            }
        };
        Arc::new(AdminApi {
            shared,
            faults: Mutex::new(faults),
            inner: Mutex::new(Inner::default()),
            seq: AtomicU64::new(0),
        })
    }

    pub fn router(self: &Arc<Self>, host: AdminHost) -> Router {
        let mut r = Router::new()
            .route(
                "/adminapi/beta/{tenant}/InvokeCommand",
                get(invoke).post(invoke),
            )
            .route(
                "/AdminApi/Beta/{tenant}/InvokeCommand",
                get(invoke).post(invoke),
            );
        if host == AdminHost::Exo {
            r = r.route("/sim/state", get(state));
        }
        r.with_state((self.clone(), host))
    }

    /// The pending faults; e.g. `api.faults().push(Fault::at(3, FaultKind::Status(503)))`.
    /// Don't hold the guard across an await.
    pub fn faults(&self) -> MutexGuard<'_, Vec<Fault>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a pending fault.
    pub fn inject(&self, fault: Fault) {
        self.faults().push(fault);
    }

    /// Adds the faults of a spec (grammar in [`faults`]).
    pub fn inject_spec(&self, spec: &str) -> Result<(), String> {
        let f = faults::parse_spec(spec)?;
        self.faults().extend(f);
        Ok(())
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.inner().log.clone()
    }

    /// InvokeCommand requests seen so far (the `@N` counter).
    pub fn invoke_count(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Connection ids currently counted (within the window).
    pub fn connection_counts(&self) -> Vec<ConnectionCount> {
        let window = self.shared.config.connection_window;
        let inner = self.inner();
        let mut out: Vec<_> = inner
            .connections
            .iter()
            .map(|((t, p, s), ids)| ConnectionCount {
                tenant: t.to_string(),
                principal: p.clone(),
                service: s.to_string(),
                connections: ids.iter().filter(|(_, at)| at.elapsed() < window).count(),
            })
            .filter(|c| c.connections > 0)
            .collect();
        out.sort_by(|a, b| {
            (&a.tenant, &a.principal, &a.service).cmp(&(&b.tenant, &b.principal, &b.service))
        });
        out
    }

    /// Forgets every counted connection.
    pub fn clear_connections(&self) {
        self.inner().connections.clear();
    }

    /// Number of transport rules of a tenant (GUID or domain), seeding it if needed.
    pub fn transport_rule_count(&self, tenant: &str) -> Option<usize> {
        let t = self.shared.world.tenant(tenant)?;
        Some(self.rules_of(t).len())
    }

    /// The read-only state served at `GET /sim/state`.
    pub fn state(&self) -> Value {
        let counts = self.connection_counts();
        let pending: Vec<String> = self.faults().iter().map(|f| f.to_string()).collect();
        let inner = self.inner();
        let rules: Map<String, Value> = self
            .shared
            .world
            .tenants
            .iter()
            .filter_map(|t| {
                inner
                    .rules
                    .get(&t.id)
                    .map(|r| (t.domains[0].clone(), Value::from(r.len())))
            })
            .collect();
        json!({
            "invoke_count": self.invoke_count(),
            "requests": inner.log,
            "connections": counts,
            "pending_faults": pending,
            "transport_rules": rules,
        })
    }

    fn rules_of(&self, tenant: &Tenant) -> Vec<Map<String, Value>> {
        let seed = self.shared.config.seed;
        self.inner()
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant))
            .clone()
    }

    fn add_rule(
        &self,
        tenant: &Tenant,
        name: &str,
        mode: &str,
        comments: Option<String>,
    ) -> Result<Map<String, Value>, ApiError> {
        let seed = self.shared.config.seed;
        let mut inner = self.inner();
        inner.rules_created += 1;
        let counter = inner.rules_created;
        let rules = inner
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant));
        if rules.iter().any(|r| dataset::matches_identity(r, name)) {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RuleNameAlreadyExistsException",
                "Ex4E2C11",
                DetailForm::Pipe,
                format!(
                    "A transport rule with the name '{name}' already exists. Choose another name."
                ),
            )
            .target(name.to_string()));
        }
        let mut rng = dataset::runtime_rng(seed, tenant, counter);
        let row = dataset::transport_rule(
            &mut rng,
            name,
            rules.len(),
            mode,
            &format!("Created by New-TransportRule (mode {mode})"),
            comments,
        );
        rules.push(row.clone());
        Ok(row)
    }

    fn remove_rule(&self, tenant: &Tenant, identity: &str) -> bool {
        let seed = self.shared.config.seed;
        let mut inner = self.inner();
        let rules = inner
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant));
        let before = rules.len();
        rules.retain(|r| !dataset::matches_identity(r, identity));
        before != rules.len()
    }

    fn log(&self, entry: LoggedRequest) {
        let mut inner = self.inner();
        inner.log.push(entry);
        // Bounded: a long demo must not grow without end.
        if inner.log.len() > 10_000 {
            inner.log.drain(..1000);
        }
    }

    /// Counts `connection_id`; Err(cap) if it is one too many.
    fn count_connection(
        &self,
        tenant: &Tenant,
        principal: &str,
        service: &'static str,
        connection_id: &str,
    ) -> Result<(), usize> {
        let cfg = &self.shared.config;
        let cap = cfg.connection_cap.unwrap_or(match service {
            "EXO" if tenant.kind != TenantKind::EopStandalone => 3,
            _ => 5,
        });
        let window = cfg.connection_window;
        let mut inner = self.inner();
        let ids = inner
            .connections
            .entry((tenant.id, principal.to_ascii_lowercase(), service))
            .or_default();
        ids.retain(|(_, at)| at.elapsed() < window);
        if let Some(e) = ids
            .iter_mut()
            .find(|(id, _)| id.eq_ignore_ascii_case(connection_id))
        {
            e.1 = Instant::now();
            return Ok(());
        }
        if ids.len() >= cap {
            return Err(cap);
        }
        ids.push((connection_id.to_string(), Instant::now()));
        Ok(())
    }
}

/// A response under construction (turned into an axum response at the end, where a reset
/// fault may cut its body).
struct Reply {
    status: u16,
    headers: Vec<(header::HeaderName, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![(
                header::CONTENT_TYPE,
                "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8".into(),
            )],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    fn error(e: &ApiError, forced: Option<DetailForm>) -> Reply {
        let mut r = Reply::json(e.status, &e.body(forced));
        r.headers.push((
            header::HeaderName::from_static("x-exceptiontype"),
            short_type(&e.exception_type),
        ));
        r
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers
            .push((header::HeaderName::from_static(name), value.into()));
        self
    }
}

/// `x-ExceptionType` carries the short type name, like the service.
fn short_type(t: &str) -> String {
    t.rsplit('.').next().unwrap_or(t).to_string()
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn http_date() -> String {
    chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

type Ctx = State<(Arc<AdminApi>, AdminHost)>;

async fn state(State((api, _)): Ctx) -> Response {
    axum::Json(api.state()).into_response()
}

/// What the pipeline hands back to the wrapper: a reply, plus the cmdlet name for the log.
struct Handled {
    reply: Reply,
    cmdlet: Option<String>,
}

async fn invoke(
    State((api, host)): Ctx,
    Path(tenant_in_path): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seq = api.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let time = chrono::Utc::now().to_rfc3339();
    let fault = {
        let mut pending = api.faults();
        faults::take_fault(&mut pending, seq)
    };
    let fault_label = fault.as_ref().map(|k| {
        Fault {
            at: Some(seq),
            times: 1,
            kind: k.clone(),
        }
        .to_string()
    });
    let mut forced_form = None;
    let mut reset_after = None;
    let mut redirect_case = false;
    let handled = match fault {
        Some(FaultKind::Slow { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            None
        }
        Some(FaultKind::Reset { after_bytes }) => {
            reset_after = Some(after_bytes);
            None
        }
        Some(FaultKind::RedirectPathCase) => {
            redirect_case = true;
            None
        }
        Some(FaultKind::ErrorForm(f)) => {
            forced_form = Some(f);
            None
        }
        Some(other) => Some(Handled {
            reply: fault_reply(&api, &other),
            cmdlet: None,
        }),
        None => None,
    };
    let handled = match handled {
        Some(h) => h,
        None => handle(
            &api,
            host,
            &tenant_in_path,
            &method,
            &uri,
            &headers,
            &body,
            forced_form,
            redirect_case,
        ),
    };
    let Handled { reply, cmdlet } = handled;
    let request_id = Uuid::new_v4().to_string();
    api.log(LoggedRequest {
        seq,
        time,
        host,
        method: method.to_string(),
        path: uri.path().to_string(),
        cmdlet,
        status: reply.status,
        connection_id: header_str(&headers, "connection-id"),
        client_request_id: header_str(&headers, "client-request-id"),
        fault: fault_label,
    });
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(h) = builder.headers_mut() {
        h.insert(
            header::DATE,
            HeaderValue::from_str(&http_date()).unwrap_or(HeaderValue::from_static("")),
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("request-id", v);
        }
        if let Some(v) =
            header_str(&headers, "client-request-id").and_then(|v| HeaderValue::from_str(&v).ok())
        {
            h.insert("client-request-id", v);
        }
        for (k, v) in &reply.headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.append(k.clone(), v);
            }
        }
    }
    let body = match reset_after {
        None => Body::from(reply.body),
        Some(after) => {
            let cut = after
                .min(reply.body.len().saturating_sub(1))
                .max(1)
                .min(reply.body.len());
            let head = Bytes::copy_from_slice(&reply.body[..cut]);
            // Send the head, give hyper time to flush it with the headers, then fail the stream:
            // hyper aborts the connection and the client sees a body error.
            let stream = futures_util::stream::unfold(Some(head), |state| async move {
                match state {
                    Some(head) => Some((Ok::<Bytes, std::io::Error>(head), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((
                            Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "sim fault: connection reset mid-body",
                            )),
                            None,
                        ))
                    }
                }
            });
            Body::from_stream(stream)
        }
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn fault_reply(api: &AdminApi, kind: &FaultKind) -> Reply {
    let simple = |status: u16, code: &'static str, ty: &str, msg: &str| {
        Reply::error(
            &ApiError::new(
                status,
                code,
                ty,
                "Ex8B3F21",
                DetailForm::Json,
                msg.to_string(),
            ),
            None,
        )
    };
    match kind {
        FaultKind::TooManyRequests { retry_after } => {
            let secs = retry_after.unwrap_or(0);
            let r = simple(
                429,
                "TooManyRequests",
                "Microsoft.Exchange.Admin.OData.Core.ThrottlingException",
                &format!("The request was throttled. Try again in {secs} seconds."),
            )
            .header("rate-limit-limit", "100")
            .header("rate-limit-remaining", "0");
            match retry_after {
                Some(s) => r.header("retry-after", s.to_string()),
                None => r,
            }
        }
        FaultKind::Status(s) => {
            let (code, text) = match s {
                408 => (
                    "RequestTimeout",
                    "The request timed out before the server finished reading it.",
                ),
                503 => (
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please try again later.",
                ),
                504 => (
                    "GatewayTimeout",
                    "The backend server did not answer in time.",
                ),
                _ => (
                    "InternalServerError",
                    "An internal server error occurred. The operation failed.",
                ),
            };
            simple(
                *s,
                code,
                "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                text,
            )
        }
        FaultKind::Concurrency { status } => simple(
            *status,
            if *status == 503 {
                "ServiceUnavailable"
            } else {
                "TooManyRequests"
            },
            "Microsoft.Exchange.Admin.OData.Core.ConcurrencyThrottlingException",
            "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
        ),
        FaultKind::Unauthorized => unauthorized(
            api,
            "The access token has expired. Acquire a new token and retry.",
        ),
        FaultKind::Garbage403 { empty } => Reply {
            status: 403,
            headers: vec![
                (header::CONTENT_ENCODING, "gzip".into()),
                (header::CONTENT_TYPE, "application/json".into()),
            ],
            body: if *empty {
                Vec::new()
            } else {
                b"\x1f\x8b\x08\x00not-really-gzip\xff\xfe<html>Forbidden".to_vec()
            },
        },
        // Handled before (they don't replace the answer).
        FaultKind::Slow { .. }
        | FaultKind::Reset { .. }
        | FaultKind::ErrorForm(_)
        | FaultKind::RedirectPathCase => Reply::json(500, &json!({})),
    }
}

fn unauthorized(api: &AdminApi, why: &str) -> Reply {
    let e = ApiError::new(
        401,
        "Unauthorized",
        "Microsoft.Exchange.Security.Authentication.InvalidTokenException",
        "Ex2C9D40",
        DetailForm::Json,
        why.to_string(),
    );
    let desc = why.replace('"', "'");
    Reply::error(&e, None).header(
        "www-authenticate",
        format!(
            "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"{}/common/oauth2/authorize\", error=\"invalid_token\", error_description=\"{desc}\"",
            api.shared.urls.login
        ),
    )
}

fn bad_request(message: String, target: &str) -> ApiError {
    ApiError::new(
        400,
        "BadRequest",
        "Microsoft.Exchange.Admin.OData.Core.ODataRequestException",
        "Ex1D7A02",
        DetailForm::Json,
        message,
    )
    .target(target.to_string())
}

fn forbidden(ex_type: &str, message: String) -> ApiError {
    ApiError::new(
        403,
        "Forbidden",
        ex_type,
        "Ex3F0A77",
        DetailForm::Json,
        message,
    )
}

#[allow(clippy::too_many_arguments)]
fn handle(
    api: &AdminApi,
    host: AdminHost,
    tenant_in_path: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    forced: Option<DetailForm>,
    redirect_case: bool,
) -> Handled {
    let mut cmdlet_name = None;
    if host == AdminHost::SccGlobal {
        // Every call on the global host answers 302 to the regional host (same path and query).
        let mut pq = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        if redirect_case {
            pq = pq.replacen("/adminapi/beta/", "/AdminApi/Beta/", 1);
        }
        let reply = Reply::json(302, &json!({})).header(
            "location",
            format!("{}{}", api.shared.urls.scc_regional, pq),
        );
        return Handled {
            reply,
            cmdlet: None,
        };
    }
    let result = pipeline(
        api,
        host,
        tenant_in_path,
        method,
        uri,
        headers,
        body,
        &mut cmdlet_name,
    );
    let mut reply = match result {
        Ok(r) => r,
        Err(Failure::Api(e)) => Reply::error(&e, forced),
        Err(Failure::Raw(r)) => r,
    };
    if host != AdminHost::SccGlobal
        && let Some(anchor) = header_str(headers, "x-anchormailbox")
    {
        reply = reply.header("x-calculatedbetarget", be_target(&anchor));
    }
    Handled {
        reply,
        cmdlet: cmdlet_name,
    }
}

enum Failure {
    Api(ApiError),
    Raw(Reply),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

fn be_target(anchor: &str) -> String {
    let h = anchor.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!(
        "DM6PR{:02}MB{:04}.namprd{:02}.prod.outlook.com",
        h % 20,
        (h >> 8) % 10000,
        (h >> 24) % 20
    )
}

#[allow(clippy::too_many_arguments)]
fn pipeline(
    api: &AdminApi,
    host: AdminHost,
    tenant_in_path: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    cmdlet_name: &mut Option<String>,
) -> Result<Reply, Failure> {
    let urls = &api.shared.urls;
    let world = &api.shared.world;
    // 1. Bearer token.
    let audience = if host == AdminHost::Exo {
        &urls.exo
    } else {
        &urls.scc
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, t) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| t.trim().to_string())
        });
    let Some(token) = token else {
        return Err(Failure::Raw(unauthorized(
            api,
            "No bearer token: send 'Authorization: Bearer <access token>'.",
        )));
    };
    let claims = match api.shared.keys.verify_access_token(&token, audience) {
        Ok(c) => c,
        Err(super::tokens::TokenError::Expired) => {
            return Err(Failure::Raw(unauthorized(
                api,
                "The access token has expired. Acquire a new token and retry.",
            )));
        }
        Err(super::tokens::TokenError::WrongAudience(aud)) => {
            return Err(Failure::Raw(unauthorized(
                api,
                &format!(
                    "The token audience '{aud}' is not this service; request a token for '{audience}'."
                ),
            )));
        }
        Err(super::tokens::TokenError::Invalid) => {
            return Err(Failure::Raw(unauthorized(
                api,
                "The access token is malformed or its signature is invalid.",
            )));
        }
    };
    // 2. Routing hint.
    if header_str(headers, "x-anchormailbox").is_none() {
        return Err(bad_request(
            "The X-AnchorMailbox header is required (e.g. 'UPN:admin@contoso.com', or 'APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@<tenant>' for app-only).".into(),
            "X-AnchorMailbox",
        )
        .into());
    }
    // 3. Tenant.
    let Some(token_tenant) = world.tenant(&claims.tid) else {
        return Err(Failure::Raw(unauthorized(
            api,
            "The token's tenant (tid) is unknown to this service.",
        )));
    };
    let Some(tenant) = world.tenant(tenant_in_path) else {
        return Err(forbidden(
            "Microsoft.Exchange.Security.Authorization.TenantMismatchException",
            format!("The tenant '{tenant_in_path}' in the URL is unknown; use the tenant id (tid) of the token or one of its domains."),
        )
        .into());
    };
    if tenant.id != token_tenant.id && !token_tenant.delegated_customers.contains(&tenant.id) {
        return Err(forbidden(
            "Microsoft.Exchange.Security.Authorization.TenantMismatchException",
            format!(
                "The tenant '{tenant_in_path}' in the URL does not match the token's tenant '{}' and is not a customer delegated to it.",
                token_tenant.id
            ),
        )
        .into());
    }
    // 4. Who calls.
    let (caller, principal) = match &claims.upn {
        Some(upn) => {
            let Some(user) = world.user(upn) else {
                return Err(Failure::Raw(unauthorized(
                    api,
                    "The token's user is unknown to this service.",
                )));
            };
            (Caller::User(user), user.upn.clone())
        }
        None => {
            let app_ok = claims
                .roles
                .as_ref()
                .is_some_and(|r| r.iter().any(|x| x == "Exchange.ManageAsApp"));
            if !app_ok {
                return Err(forbidden(
                    "Microsoft.Exchange.Configuration.Authorization.AuthZException",
                    "The app-only token lacks the Exchange.ManageAsApp application permission."
                        .into(),
                )
                .into());
            }
            (Caller::App, format!("app:{}", claims.appid))
        }
    };
    if let Caller::User(u) = &caller
        && !u.remote_powershell_enabled
    {
        return Err(ApiError::new(
            403,
            "Forbidden",
            "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException",
            "Ex7A41C3",
            DetailForm::Pipe,
            format!(
                "AuthZ: User '{}' is not allowed to access Exchange Online PowerShell: RemotePowerShellEnabled is False for this account. An administrator can enable it with Set-User -Identity {} -RemotePowerShellEnabled $true.",
                u.upn, u.upn
            ),
        )
        .into());
    }
    // 5. Connection counting.
    let service = if host == AdminHost::Exo { "EXO" } else { "SCC" };
    if let Some(cid) = header_str(headers, "connection-id")
        && let Err(cap) = api.count_connection(tenant, &principal, service, &cid)
    {
        return Err(ApiError::new(
            400,
            "BadRequest",
            "System.Management.Automation.Remoting.PSRemotingTransportException",
            "Ex5C0D19",
            DetailForm::Pipe,
            format!(
                "Fail to create a runspace because you have exceeded the maximum number of connections allowed : {cap} for the policy party : MaxConcurrency. Please close existing runspace and try again."
            ),
        )
        .into());
    }
    // 6. Query and body.
    let mut select: Vec<String> = Vec::new();
    let mut skip: Option<String> = None;
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "$select" => select.extend(
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            ),
            "$skiptoken" => skip = Some(v.into_owned()),
            _ => {}
        }
    }
    let skip = match skip {
        Some(s) => match SkipToken::decode(&s) {
            Some(t) if t.t == tenant.id.to_string() => Some(t),
            _ => {
                return Err(bad_request(
                    "The $skiptoken is invalid or belongs to another tenant; start the listing again.".into(),
                    "$skiptoken",
                )
                .into());
            }
        },
        None => None,
    };
    let (cmdlet, params) = if *method == Method::GET {
        match &skip {
            Some(t) => (t.c.clone(), t.p.clone()),
            None => {
                return Err(ApiError::new(
                    405,
                    "MethodNotAllowed",
                    "Microsoft.Exchange.Admin.OData.Core.ODataRequestException",
                    "Ex1D7A03",
                    DetailForm::Json,
                    "GET is only accepted on an @odata.nextLink; run cmdlets with POST and a CmdletInput body.",
                )
                .into());
            }
        }
    } else {
        let parsed: Value = serde_json::from_slice(body).map_err(|e| {
            bad_request(
                format!("The request body is not valid JSON ({e}); send {{\"CmdletInput\":{{\"CmdletName\":\"...\",\"Parameters\":{{}}}}}}."),
                "CmdletInput",
            )
        })?;
        let input = parsed.get("CmdletInput");
        let Some(name) = input
            .and_then(|i| i.get("CmdletName"))
            .and_then(Value::as_str)
        else {
            return Err(bad_request(
                "The body must contain CmdletInput.CmdletName (a string).".into(),
                "CmdletInput.CmdletName",
            )
            .into());
        };
        let params = match input.and_then(|i| i.get("Parameters")) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(bad_request(
                    "CmdletInput.Parameters must be a JSON object.".into(),
                    "CmdletInput.Parameters",
                )
                .into());
            }
        };
        if let Some(t) = &skip
            && (!t.c.eq_ignore_ascii_case(name) || t.p != params)
        {
            return Err(bad_request(
                "The $skiptoken belongs to another command: POST the same body as the first page."
                    .into(),
                "$skiptoken",
            )
            .into());
        }
        (name.to_string(), params)
    };
    *cmdlet_name = Some(cmdlet.clone());
    // 7. Page size.
    let prefer = header_str(headers, "prefer");
    let mut page_size = 1000usize;
    let mut applied = None;
    if let Some(p) = &prefer {
        for pref in p.split(',') {
            if let Some(v) = pref.trim().strip_prefix("odata.maxpagesize=") {
                let n: usize = v.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad_request(
                        format!("Prefer: odata.maxpagesize={v} is invalid: use a whole number from 1 to 1000."),
                        "Prefer",
                    )
                })?;
                page_size = n.min(1000);
                applied = Some(format!("odata.maxpagesize={page_size}"));
            }
        }
    }
    // 8. The cmdlet.
    let spec = cmdlets::authorize(host, tenant, &caller, &cmdlet, &params)?;
    let out = cmdlets::run(api, spec.name, tenant, &params)?;
    let (cursor, emitted) = skip.as_ref().map_or((0, 0), |t| (t.k, t.n));
    let remaining = out.limit.map(|l| l.saturating_sub(emitted));
    let (rows, next) = cmdlets::page(
        api.shared.config.seed,
        tenant,
        &out.source,
        cursor,
        page_size,
        remaining,
    );
    let origin = if host == AdminHost::Exo {
        &urls.exo
    } else {
        &urls.scc_regional
    };
    let base = format!("{origin}/adminapi/beta/{tenant_in_path}");
    let mut obj = Map::new();
    obj.insert(
        "@odata.context".into(),
        format!("{base}/$metadata#Collection(Exchange.GenericHashTable)").into(),
    );
    if let Some(k) = next {
        let token = SkipToken {
            t: tenant.id.to_string(),
            c: spec.name.to_string(),
            p: params.clone(),
            k,
            n: emitted + rows.len(),
        };
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !select.is_empty() {
            q.append_pair("$select", &select.join(","));
        }
        q.append_pair("$skiptoken", &token.encode());
        obj.insert(
            "@odata.nextLink".into(),
            format!("{base}/InvokeCommand?{}", q.finish()).into(),
        );
    }
    let warnings = if skip.is_none() {
        out.warnings
    } else {
        Vec::new()
    };
    if !warnings.is_empty() {
        obj.insert("@adminapi.warnings".into(), json!(warnings));
    }
    if !rows.is_empty() || warnings.is_empty() {
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|r| Value::Object(odata::select(r, &select)))
            .collect();
        obj.insert("value".into(), Value::Array(rows));
    }
    let mut reply = Reply::json(200, &Value::Object(obj));
    if let Some(a) = applied {
        reply = reply.header("preference-applied", a);
    }
    Ok(reply)
}
