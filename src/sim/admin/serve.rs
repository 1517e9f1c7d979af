//! The front door of every admin API request (`InvokeCommand`, `$batch`, `EXOModuleFile`):
//! the tenant's limits ([`super::limits`]: rate, concurrency, throttling tenants), slow tenants,
//! the configured latency of every InvokeCommand page (`page_delay`, default none), faults ([`super::faults`]) and what they change, the SCC global host's redirect and the
//! regional host's affinity check, then the pipeline ([`super::pipeline`]); every request is
//! logged (never a token) and its [`Reply`] turned into an HTTP response.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::faults::{self, DetailForm, Fault, FaultKind, FireOn};
use super::limits::{RateInfo, Slot};
use super::pipeline::{Endpoint, Failure, Req, bearer, origin, pipeline};
use super::reply::{
    Delivery, Reply, be_target, concurrency_refused, fault_reply, header_str, into_response,
    throttled,
};
use super::{AdminApi, AdminHost, Ctx};
use crate::sim::world::{Tenant, TenantBehaviour};

/// What a fault changes about a request that is still executed.
#[derive(Default)]
struct Modifiers {
    forced_form: Option<DetailForm>,
    redirect_case: bool,
    /// How the body goes out (whole, reset, truncated, oversized).
    delivery: Delivery,
    /// A change to a 200 page.
    page: Option<PageFault>,
    /// `$batch`: the (1-based) item that fails, with this status.
    batch_item: Option<(usize, u16)>,
}

#[derive(Clone, Copy)]
enum PageFault {
    CutJson,
    ForeignNext,
    NextLoop,
}

pub(super) async fn invoke(
    ctx: Ctx,
    tenant: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(Endpoint::Invoke, ctx, tenant, method, uri, headers, body).await
}

pub(super) async fn batch(
    ctx: Ctx,
    tenant: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(Endpoint::Batch, ctx, tenant, method, uri, headers, body).await
}

pub(super) async fn module_file(
    ctx: Ctx,
    tenant: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        Endpoint::ModuleFile,
        ctx,
        tenant,
        method,
        uri,
        headers,
        body,
    )
    .await
}

/// Every admin API request: the tenant's limits, faults, the pipeline, the log.
async fn serve(
    endpoint: Endpoint,
    State((api, host)): Ctx,
    Path(tenant_in_path): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _counted = api.shared.requests.enter();
    let seq = api.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let req = Req {
        endpoint,
        host,
        tenant_in_path: &tenant_in_path,
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let mut log = api.log_entry(seq, &req);
    // The tenant's limits come first: a refused request consumes no fault.
    let tenant = (host != AdminHost::SccGlobal)
        .then(|| api.shared.world.tenant(&tenant_in_path))
        .flatten();
    let (_slot, rate) = match tenant.map(|t| admit(&api, &req, t)) {
        Some(Err((reply, limit))) => {
            log.status = reply.status;
            log.limit = Some(limit.into());
            api.log(log);
            return into_response(reply, &headers, Delivery::Whole);
        }
        Some(Ok((slot, rate))) => (Some(slot), rate),
        None => (None, None),
    };
    if tenant.is_some_and(|t| t.behaviour == TenantBehaviour::Slow) {
        tokio::time::sleep(api.shared.config.slow_tenant_delay).await;
    }
    let page_delay = api.shared.config.page_delay;
    if endpoint == Endpoint::Invoke && !page_delay.is_zero() {
        tokio::time::sleep(page_delay).await;
    }
    let paging = uri.query().is_some_and(|q| q.contains("skiptoken"));
    let seed = api.shared.config.seed;
    let fault = faults::take_fault(&mut api.faults(), seq, paging, seed);
    log.fault = fault.as_ref().map(|k| {
        let mut f = Fault::at(seq, k.clone());
        if paging {
            f = f.on(FireOn::Page);
        }
        f.to_string()
    });
    let (replaced, mods) = match fault {
        Some(kind) => fault_effect(&api, &req, kind).await,
        None => (None, Modifiers::default()),
    };
    let mut reply = match replaced {
        Some(r) => r,
        None if misrouted(&api, &req) => {
            tokio::time::sleep(api.shared.config.scc_affinity_penalty).await;
            affinity_redirect(&api, &req)
        }
        None => handle(&api, &req, &mods, &mut log.cmdlet),
    };
    if let Some(info) = rate {
        reply = info.headers(reply);
    }
    log.status = reply.status;
    api.log(log);
    into_response(reply, &headers, mods.delivery)
}

/// What a fault does: an answer that replaces the request's (it is then not executed), or
/// changes to how the request is answered.
async fn fault_effect(
    api: &AdminApi,
    req: &Req<'_>,
    kind: FaultKind,
) -> (Option<Reply>, Modifiers) {
    let mut mods = Modifiers::default();
    let replaced = match kind {
        FaultKind::Slow { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            None
        }
        FaultKind::Reset { after_bytes } => {
            mods.delivery = Delivery::Reset(after_bytes);
            None
        }
        FaultKind::Truncate { after_bytes } => {
            mods.delivery = Delivery::Truncate(after_bytes);
            None
        }
        FaultKind::Huge { mb, declared } => {
            mods.delivery = Delivery::Huge { mb, declared };
            Some(Reply::json(200, &json!({})))
        }
        FaultKind::CutJson => {
            mods.page = Some(PageFault::CutJson);
            None
        }
        FaultKind::ForeignNextLink => {
            mods.page = Some(PageFault::ForeignNext);
            None
        }
        FaultKind::NextLinkLoop => {
            mods.page = Some(PageFault::NextLoop);
            None
        }
        FaultKind::RedirectPathCase => {
            mods.redirect_case = true;
            None
        }
        FaultKind::BatchItem { item, status } => {
            mods.batch_item = Some((item, status));
            None
        }
        FaultKind::ErrorForm(f) => {
            mods.forced_form = Some(f);
            None
        }
        FaultKind::Revoke { upn } => {
            let caller = || {
                let token = bearer(req)?;
                api.shared.keys.decode_token(&token).ok()?.claims.upn
            };
            if let Some(upn) = upn.or_else(caller) {
                api.shared.cae.revoke_account(&upn);
            }
            None
        }
        FaultKind::Redirect => Some(redirect_elsewhere(api, req, false)),
        FaultKind::HostileRedirect => Some(redirect_elsewhere(api, req, true)),
        other => Some(fault_reply(api, &other)),
    };
    (replaced, mods)
}

/// 302 to the same path and query on the host's other listener (EXO ↔ its alternate host; SCC
/// regional: the other path case on the same listener), or to the trap host.
fn redirect_elsewhere(api: &AdminApi, req: &Req, hostile: bool) -> Reply {
    let pq = req
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let fault_urls = &api.shared.fault_urls;
    let location = match req.host {
        _ if hostile => format!("{}{pq}", fault_urls.trap),
        AdminHost::Exo => format!("{}{pq}", fault_urls.exo_alt),
        AdminHost::ExoAlt => format!("{}{pq}", api.shared.urls.exo),
        AdminHost::SccGlobal | AdminHost::SccRegional => {
            let swapped = if pq.starts_with("/adminapi/beta/") {
                pq.replacen("/adminapi/beta/", "/AdminApi/Beta/", 1)
            } else {
                pq.replacen("/AdminApi/Beta/", "/adminapi/beta/", 1)
            };
            format!("{}{swapped}", origin(api, req.host))
        }
    };
    Reply::json(302, &json!({})).header("location", location)
}

/// A 200 page changed by a fault: its JSON cut in the middle of `value`, or its nextLink
/// pointed at the trap host or at the URL just requested.
fn page_fault(api: &AdminApi, req: &Req, reply: Reply, fault: PageFault) -> Reply {
    if reply.status != 200 {
        return reply;
    }
    let Reply {
        status,
        headers,
        body,
    } = reply;
    let body = match fault {
        PageFault::CutJson => cut_json(body),
        PageFault::ForeignNext | PageFault::NextLoop => {
            let mut v: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
            let pq = req.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let link = match fault {
                PageFault::ForeignNext => format!("{}{pq}", api.shared.fault_urls.trap),
                _ => format!("{}{pq}", origin(api, req.host)),
            };
            v["@odata.nextLink"] = Value::String(link);
            serde_json::to_vec(&v).unwrap_or_default()
        }
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// The body cut in the middle of its `value` array (or in the middle, without one).
fn cut_json(body: Vec<u8>) -> Vec<u8> {
    let marker = b"\"value\":[";
    let start = body
        .windows(marker.len())
        .position(|w| w == marker)
        .map(|i| i + marker.len())
        .unwrap_or(0);
    let cut = start + (body.len() - start) / 2;
    body[..cut.max(1).min(body.len())].to_vec()
}

/// The tenant's rate budget and concurrency slot, unless the budget is spent, the slots are
/// full or the tenant is throttling: then the refusal and the name of the limit (for the log).
/// Ok carries the rate headers' values for the answer.
fn admit<'a>(
    api: &'a AdminApi,
    req: &Req,
    tenant: &Tenant,
) -> Result<(Slot<'a>, Option<RateInfo>), (Reply, &'static str)> {
    let key = bearer(req)
        .and_then(|t| api.shared.keys.decode_token(&t).ok())
        .map(|t| t.claims.upn.unwrap_or(t.claims.appid));
    let rate = api.take_rate(tenant, key.as_deref()).map_err(|info| {
        let reply = throttled(Some(&info.retry_after()));
        (info.headers(reply), "rate-limit")
    })?;
    let slot = api
        .enter(tenant.id)
        .map_err(|status| (concurrency_refused(status), "tenant-concurrency"))?;
    api.throttle(tenant)
        .map_err(|secs| (throttled(Some(&secs.to_string())), "tenant-throttling"))?;
    Ok((slot, rate))
}

/// The SCC global host's redirect, or the pipeline's answer with the routing header.
fn handle(api: &AdminApi, req: &Req, mods: &Modifiers, cmdlet: &mut Option<String>) -> Reply {
    if req.host == AdminHost::SccGlobal {
        return regional_redirect(api, req, mods.redirect_case);
    }
    let mut reply = match pipeline(api, req, mods.batch_item, cmdlet) {
        Ok(r) => r,
        Err(Failure::Api(e)) => Reply::error(&e, mods.forced_form),
        Err(Failure::Raw(r)) => r,
    };
    if let Some(fault) = mods.page {
        reply = page_fault(api, req, reply, fault);
    }
    if let Some(anchor) = header_str(req.headers, "x-anchormailbox") {
        reply = reply.header("x-calculatedbetarget", be_target(&anchor));
    }
    reply
}

/// The affinity cookie of the SCC redirects (scoped to the regional host: host-only, path /).
const AFFINITY_COOKIE: &str = "ExoAffinity";
/// The query marker of the second (misroute) redirect, so a client without cookies is slowed
/// down but never loops.
const AFFINITY_MARKER: &str = "sim-affinity=retry";

fn affinity_cookie(req: &Req) -> String {
    let anchor = header_str(req.headers, "x-anchormailbox").unwrap_or_default();
    format!(
        "{AFFINITY_COOKIE}={}; Path=/; HttpOnly",
        be_target(&format!("{}|{anchor}", req.tenant_in_path)).replace('.', "-")
    )
}

/// With `scc_affinity` on, a request on the regional host without the affinity cookie (and
/// without the marker of a misroute redirect) is treated as misrouted.
fn misrouted(api: &AdminApi, req: &Req) -> bool {
    req.host == AdminHost::SccRegional
        && api.scc_affinity()
        && !header_str(req.headers, "cookie")
            .is_some_and(|c| c.contains(&format!("{AFFINITY_COOKIE}=")))
        && !req.uri.query().is_some_and(|q| q.contains(AFFINITY_MARKER))
}

/// The misrouted request's second redirect: the same URL (with the marker) and the cookie
/// again, after `scc_affinity_penalty`.
fn affinity_redirect(api: &AdminApi, req: &Req) -> Reply {
    let path = req.uri.path();
    let query = match req.uri.query() {
        Some(q) => format!("?{q}&{AFFINITY_MARKER}"),
        None => format!("?{AFFINITY_MARKER}"),
    };
    Reply::json(302, &json!({}))
        .header(
            "location",
            format!("{}{path}{query}", origin(api, req.host)),
        )
        .header("set-cookie", affinity_cookie(req))
}

/// Every call on the global host answers 302 to the regional host (same path and query),
/// before any auth check; with `scc_affinity` on it sets the affinity cookie.
fn regional_redirect(api: &AdminApi, req: &Req, redirect_case: bool) -> Reply {
    let mut pq = req
        .uri
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
    if api.scc_affinity() {
        reply.header("set-cookie", affinity_cookie(req))
    } else {
        reply
    }
}
