//! The Exchange admin API side of the sim: `POST /adminapi/beta/{tenant}/InvokeCommand`
//! (reference page §2), `POST …/$batch` (`batch`) and `GET …/AdminApi/v1.0/{tenant}/EXOModuleFile`
//! ([`catalogue`]), on four listeners: EXO (+EOP), its alternate host (`FaultUrls::exo_alt`,
//! the `redirect` fault's target), SCC global (always 302 to the regional host) and SCC
//! regional; plus the trap on another loopback host (`trap`). Requests enter through
//! `serve` (limits, faults, affinity, the log) and run through `pipeline`.
//!
//! Behaviour in short (details on each item):
//! - Bearer validation (signature, expiry, audience = `urls.exo` on EXO, the GLOBAL `urls.scc` on
//!   both SCC hosts) → 401 + `WWW-Authenticate: Bearer ...`. App-only tokens (`roles` contains
//!   `Exchange.ManageAsApp`, no `upn`) are allowed.
//! - `X-AnchorMailbox` required → 400. `{tenant}` in the path = the token's `tid` (GUID or any of
//!   its domains) or a customer delegated to it → else 403.
//! - A user with `RemotePowerShellEnabled = false` → 403 on every call.
//! - Limits (`limits`): at most `tenant_concurrency` requests per tenant in flight (the REST
//!   API's real limit; one more answers 429 — or 503 — "You have reached the maximum number of
//!   concurrent requests per tenant. Please wait and try again"). The retired remote PowerShell
//!   connection count ("exceeded the maximum number of connections allowed : 3") only when
//!   `legacy_connection_limits` (or `connection_cap`) is set.
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
//! - Cmdlets and roles: the table in [`catalogue`] (a missing role looks like the real RBAC: 403
//!   "is not recognized as the name of a cmdlet", plus which roles would do). App-only tokens
//!   may run everything. Change cmdlets ask for confirmation, honour WhatIf and change the
//!   tenant's `state` (see `cmdlets::changes`).
//! - Continuous access evaluation: a revoked session ([`crate::sim::cae`]) answers 401
//!   `error="insufficient_claims"` with a claims challenge.
//! - Rate limits (`limits`): `Rate-Limit-Limit/Remaining/Reset` on every answer, 429 with a
//!   (sometimes fractional) `Retry-After` when the bucket is empty.
//! - Security & Compliance affinity (off by default, `set_scc_affinity`): the global redirect
//!   sets an `ExoAffinity` cookie; a regional request without it gets a second redirect after
//!   `scc_affinity_penalty`.
//! - Errors: 404 missing identity (pipe form), 400 unknown/missing parameter (JSON form), 403
//!   unknown cmdlet or role (JSON form), 403 RemotePowerShellEnabled (pipe form), 403 tenant
//!   mismatch, 405 GET without `$skiptoken`; headers `request-id`, `X-CalculatedBETarget`
//!   (when an anchor was sent), `x-ExceptionType` (short type name) on errors, `Date`.
//! - Request log ([`AdminApi::requests`], never a token or header value of Authorization) and
//!   `GET /sim/state` on the EXO listener (JSON, read-only); `PUT /sim/faults` there (loopback
//!   only) replaces the pending faults with the spec in the body (a soak's per-run seed); `GET /sim/world` there lists every
//!   tenant and account ([`crate::sim::summary`]).
//! - Generated customer tenants (`--tenants N`): a slow one waits `slow_tenant_delay` before
//!   each answer; a throttling one answers 429 with `Retry-After` during its throttle periods
//!   (logged with `limit: "tenant-throttling"`). Their transport rules differ a little from
//!   tenant to tenant ([`dataset::customer_transport_rules`]).

mod batch;
pub mod catalogue;
pub mod cmdlets;
pub mod dataset;
pub mod faults;
mod limits;
pub mod odata;
mod pipeline;
mod reply;
mod serve;
mod state;
mod trap;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::SimShared;

pub use self::faults::{DetailForm, FAULTS_HELP, Fault, FaultKind, parse_spec};
pub use self::limits::ConnectionCount;
pub use self::trap::TrapHit;

/// Which listener a router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AdminHost {
    /// Exchange Online (and EOP).
    Exo,
    /// Security & Compliance global host: answers 302 to the regional host.
    SccGlobal,
    /// Security & Compliance regional host.
    SccRegional,
    /// The alternate EXO host (`FaultUrls::exo_alt`): EXO's API on another port, where the
    /// `redirect` fault sends clients.
    ExoAlt,
}

impl AdminHost {
    /// Exchange Online (either EXO listener), as opposed to Security & Compliance.
    pub fn is_exo(self) -> bool {
        matches!(self, AdminHost::Exo | AdminHost::ExoAlt)
    }
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
    /// The limit that refused the request, if any: "rate-limit", "tenant-concurrency",
    /// "tenant-throttling".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    log: Vec<LoggedRequest>,
    /// Transport rules per tenant, seeded lazily.
    rules: HashMap<Uuid, Vec<Map<String, Value>>>,
    /// Set-Mailbox changes per tenant, by mailbox index.
    mailbox_changes: HashMap<Uuid, HashMap<usize, Map<String, Value>>>,
    rules_created: usize,
}

/// State of the admin API (request log, connection counting, faults, created objects).
#[derive(Debug)]
pub struct AdminApi {
    pub shared: Arc<SimShared>,
    faults: Mutex<Vec<Fault>>,
    inner: Mutex<Inner>,
    limits: limits::Limits,
    trap: Mutex<Vec<trap::TrapHit>>,
    /// The SCC affinity check (see `serve`).
    scc_affinity: std::sync::atomic::AtomicBool,
    /// 0 = `$batch` supported, else the status that refuses it (404 or 501).
    batch_refusal: std::sync::atomic::AtomicU16,
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
        let batch_refusal = shared.config.batch_refusal.unwrap_or(0);
        let affinity = shared.config.scc_affinity;
        Arc::new(AdminApi {
            shared,
            faults: Mutex::new(faults),
            inner: Mutex::new(Inner::default()),
            limits: limits::Limits::default(),
            trap: Mutex::new(Vec::new()),
            batch_refusal: std::sync::atomic::AtomicU16::new(batch_refusal),
            scc_affinity: std::sync::atomic::AtomicBool::new(affinity),
            seq: AtomicU64::new(0),
        })
    }

    pub fn router(self: &Arc<Self>, host: AdminHost) -> Router {
        let mut r = Router::new()
            .route(
                "/adminapi/beta/{tenant}/InvokeCommand",
                get(serve::invoke).post(serve::invoke),
            )
            .route(
                "/AdminApi/Beta/{tenant}/InvokeCommand",
                get(serve::invoke).post(serve::invoke),
            )
            .route("/adminapi/beta/{tenant}/$batch", post(serve::batch))
            .route("/AdminApi/Beta/{tenant}/$batch", post(serve::batch))
            .route(
                "/AdminApi/v1.0/{tenant}/EXOModuleFile",
                get(serve::module_file),
            )
            .route(
                "/adminapi/v1.0/{tenant}/EXOModuleFile",
                get(serve::module_file),
            );
        if host == AdminHost::Exo {
            r = r
                .route("/sim/state", get(state))
                .route("/sim/world", get(world));
            // A soak sets each run's faults from outside the process: loopback only.
            if self.shared.config.listen.ip().is_loopback() {
                r = r.route("/sim/faults", axum::routing::put(set_faults));
            }
        }
        r.with_state((self.clone(), host))
    }

    /// The pending faults; e.g. `api.faults().push(Fault::at(3, FaultKind::Status(503)))`.
    /// Don't hold the guard across an await.
    pub fn faults(&self) -> MutexGuard<'_, Vec<Fault>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuse `$batch` with 404 or 501 (a service without it; the client must fall back to one
    /// InvokeCommand per row), or accept it again (None).
    pub fn refuse_batch(&self, status: Option<u16>) {
        self.batch_refusal
            .store(status.unwrap_or(0), Ordering::SeqCst);
    }

    /// The status `$batch` is refused with, if it is.
    pub fn batch_refusal(&self) -> Option<u16> {
        Some(self.batch_refusal.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }

    /// Turns the Security & Compliance affinity check on or off.
    pub fn set_scc_affinity(&self, on: bool) {
        self.scc_affinity.store(on, Ordering::SeqCst);
    }

    /// Whether the affinity check is on.
    pub fn scc_affinity(&self) -> bool {
        self.scc_affinity.load(Ordering::SeqCst)
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
            "legacy_connection_limits": self.legacy_connection_limits(),
            "trap_hits": self.trap_hits(),
            "pending_faults": pending,
            "transport_rules": rules,
        })
    }

    /// A log entry for a request that just arrived (status filled in later).
    fn log_entry(&self, seq: u64, req: &pipeline::Req) -> LoggedRequest {
        LoggedRequest {
            seq,
            time: chrono::Utc::now().to_rfc3339(),
            host: req.host,
            method: req.method.to_string(),
            path: req.uri.path().to_string(),
            cmdlet: None,
            status: 0,
            connection_id: reply::header_str(req.headers, "connection-id"),
            client_request_id: reply::header_str(req.headers, "client-request-id"),
            fault: None,
            limit: None,
        }
    }

    fn log(&self, entry: LoggedRequest) {
        let mut inner = self.inner();
        inner.log.push(entry);
        // Bounded: a long demo must not grow without end.
        if inner.log.len() > 10_000 {
            inner.log.drain(..1000);
        }
    }
}

type Ctx = State<(Arc<AdminApi>, AdminHost)>;

async fn state(State((api, _)): Ctx) -> Response {
    axum::Json(api.state()).into_response()
}

/// `PUT /sim/faults` with a fault spec as the body: replaces the pending faults (an empty body
/// clears them); 400 with the parser's message for a bad spec.
async fn set_faults(State((api, _)): Ctx, body: String) -> Response {
    match faults::parse_spec(body.trim()) {
        Ok(f) => {
            *api.faults() = f;
            let now: Vec<String> = api.faults().iter().map(|f| f.to_string()).collect();
            axum::Json(json!({ "pending_faults": now })).into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn world(State((api, _)): Ctx) -> Response {
    axum::Json(crate::sim::summary::world(&api.shared)).into_response()
}
