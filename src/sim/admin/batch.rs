//! `POST <base>/adminapi/beta/<tenant>/$batch` (reference page §7): several InvokeCommand
//! requests in one.
//!
//! Body `{"requests":[{"id":"1","method":"POST","url":"/adminapi/beta/<tenant>/InvokeCommand",
//! "headers":{…},"body":{"CmdletInput":…}}, …]}`; answer 200
//! `{"responses":[{"id":"1","status":200,"headers":{"Content-Type":…},"body":{…value or error…}}]}`
//! in request order. The batch itself is authenticated once (token, anchor, tenant, caller);
//! each item then runs like its own InvokeCommand (its `url` is relative or absolute on the same
//! host, names the batch's tenant, may carry `$select`/`$skiptoken`; its `headers` may carry
//! `Prefer: odata.maxpagesize`). Rules:
//! - at most `SimConfig::batch_max_requests` items (default 20; more, none, duplicate or
//!   missing ids, or a body that is not such JSON answer 400 with what to fix);
//! - without `Prefer: odata.continue-on-error` the first failed item stops the batch: the items
//!   after it are not run and answer 424 (FailedDependency); with it every item runs;
//! - the `batchitem` fault makes one item fail; a plain `429` fault refuses the whole batch;
//! - `SimConfig::batch_refusal` / `AdminApi::refuse_batch(Some(404 | 501))` answer the whole
//!   `$batch` with that status, like a service without it (the client falls back to one
//!   InvokeCommand per row).

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::{Value, json};

use super::AdminApi;
use super::cmdlets::Caller;
use super::faults::DetailForm;
use super::odata::ApiError;
use super::pipeline::{
    Endpoint, Failure, QueryParts, Req, page_size, parse_cmdlet_input, run_page,
};
use super::reply::{Reply, bad_request};
use crate::sim::world::Tenant;

fn refused(status: u16) -> ApiError {
    let (code, text) = if status == 404 {
        ("NotFound", "Resource not found for the segment '$batch'.")
    } else {
        (
            "NotImplemented",
            "The $batch endpoint is not available for this organization; send one InvokeCommand per request.",
        )
    };
    ApiError::new(
        status,
        code,
        "Microsoft.Exchange.Admin.OData.Core.ODataRequestException",
        "Ex1D7A09",
        DetailForm::Json,
        text,
    )
}

/// One item of the request, checked.
struct Item {
    id: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

pub(super) fn run(
    api: &AdminApi,
    req: &Req,
    tenant: &Tenant,
    caller: &Caller,
    failing_item: Option<(usize, u16)>,
) -> Result<Reply, Failure> {
    if let Some(status) = api.batch_refusal() {
        return Err(refused(status).into());
    }
    let items = parse(api, req)?;
    let continue_on_error = super::reply::header_str(req.headers, "prefer")
        .is_some_and(|p| p.to_ascii_lowercase().contains("odata.continue-on-error"));
    let mut responses = Vec::new();
    let mut stopped = false;
    for (n, item) in items.iter().enumerate() {
        let (status, body) = if stopped {
            failed_dependency()
        } else if failing_item.is_some_and(|(k, _)| k == n + 1) {
            let status = failing_item.map_or(503, |(_, s)| s);
            item_error(&transient(status))
        } else {
            run_item(api, req, tenant, caller, item)
        };
        if status >= 400 && !continue_on_error {
            stopped = true;
        }
        responses.push(json!({
            "id": item.id,
            "status": status,
            "headers": {"Content-Type": "application/json"},
            "body": body,
        }));
    }
    Ok(Reply::json(200, &json!({"responses": responses})))
}

fn failed_dependency() -> (u16, Value) {
    let e = ApiError::new(
        424,
        "FailedDependency",
        "Microsoft.Exchange.Admin.OData.Core.ODataRequestException",
        "Ex1D7A0A",
        DetailForm::Json,
        "Not run: an earlier request of the batch failed and the batch did not ask for Prefer: odata.continue-on-error.",
    );
    item_error(&e)
}

fn transient(status: u16) -> ApiError {
    ApiError::new(
        status,
        "ServiceUnavailable",
        "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        "Ex8B3F22",
        DetailForm::Json,
        "The service is temporarily unavailable. Please try again later.",
    )
}

fn item_error(e: &ApiError) -> (u16, Value) {
    (e.status, e.body(None))
}

/// Runs one item through the InvokeCommand steps after authentication.
fn run_item(
    api: &AdminApi,
    req: &Req,
    tenant: &Tenant,
    caller: &Caller,
    item: &Item,
) -> (u16, Value) {
    let segment = item
        .uri
        .path()
        .split('/')
        .nth(3)
        .unwrap_or_default()
        .to_string();
    let sub = Req {
        endpoint: Endpoint::Invoke,
        host: req.host,
        tenant_in_path: &segment,
        method: &item.method,
        uri: &item.uri,
        headers: &item.headers,
        body: &item.body,
    };
    let result = (|| -> Result<Reply, Failure> {
        let same = api
            .shared
            .world
            .tenant(&segment)
            .is_some_and(|t| t.id == tenant.id);
        if !same {
            return Err(bad_request(
                format!("The request url names the tenant '{segment}'; every request of a batch must name the batch's tenant."),
                "url",
            )
            .into());
        }
        let query = QueryParts::parse(sub.uri, tenant)?;
        let (cmdlet, params) = if *sub.method == Method::GET {
            let t = query.skip.clone().ok_or_else(|| {
                bad_request(
                    "A GET in a batch must be an @odata.nextLink (with $skiptoken).".into(),
                    "method",
                )
            })?;
            (t.c, t.p)
        } else {
            let body: Value = serde_json::from_slice(sub.body).unwrap_or(Value::Null);
            parse_cmdlet_input(&body)?
        };
        let (size, _) = page_size(sub.headers)?;
        run_page(api, &sub, tenant, caller, &cmdlet, &params, &query, size)
    })();
    let reply = match result {
        Ok(r) => r,
        Err(Failure::Api(e)) => return item_error(&e),
        Err(Failure::Raw(r)) => r,
    };
    let body = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status, body)
}

/// The request body, checked: 1..=max items with unique ids, known methods, same-host urls.
fn parse(api: &AdminApi, req: &Req) -> Result<Vec<Item>, Failure> {
    let max = api.shared.config.batch_max_requests;
    let bad = |m: String| -> Failure { bad_request(m, "requests").into() };
    let v: Value = serde_json::from_slice(req.body).map_err(|e| {
        bad(format!("The batch body is not valid JSON ({e}); send {{\"requests\":[{{\"id\":\"1\",\"method\":\"POST\",\"url\":\"/adminapi/beta/<tenant>/InvokeCommand\",\"body\":{{\"CmdletInput\":…}}}}]}}."))
    })?;
    let Some(list) = v.get("requests").and_then(Value::as_array) else {
        return Err(bad("The batch body must have a \"requests\" array.".into()));
    };
    if list.is_empty() {
        return Err(bad("The batch has no requests.".into()));
    }
    if list.len() > max {
        return Err(bad(format!(
            "The batch has {} requests; at most {max} are allowed in one batch. Send smaller batches.",
            list.len()
        )));
    }
    let mut items = Vec::new();
    for (n, r) in list.iter().enumerate() {
        let item = parse_item(api, req, n, r).map_err(bad)?;
        if items.iter().any(|i: &Item| i.id == item.id) {
            return Err(bad(format!(
                "Two requests of the batch have the id '{}'; ids must be unique.",
                item.id
            )));
        }
        items.push(item);
    }
    Ok(items)
}

fn parse_item(api: &AdminApi, req: &Req, n: usize, r: &Value) -> Result<Item, String> {
    let id = match r.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(x)) => x.to_string(),
        _ => return Err(format!("Request {} of the batch has no \"id\".", n + 1)),
    };
    let method = match r.get("method").and_then(Value::as_str).unwrap_or("POST") {
        m if m.eq_ignore_ascii_case("POST") => Method::POST,
        m if m.eq_ignore_ascii_case("GET") => Method::GET,
        other => {
            return Err(format!(
                "Request '{id}': method {other} is not supported (POST or GET)."
            ));
        }
    };
    let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
    let origin = super::pipeline::origin(api, req.host);
    let relative = url.strip_prefix(origin).unwrap_or(url);
    let lower = relative.to_ascii_lowercase();
    if !lower.starts_with("/adminapi/beta/")
        || !lower
            .split('?')
            .next()
            .unwrap_or("")
            .ends_with("/invokecommand")
    {
        return Err(format!(
            "Request '{id}': url '{url}' must be /adminapi/beta/<tenant>/InvokeCommand on this host."
        ));
    }
    let uri: Uri = relative
        .parse()
        .map_err(|_| format!("Request '{id}': url '{url}' is not a valid URL."))?;
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(h)) = r.get("headers") {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let body = match r.get("body") {
        Some(b) => serde_json::to_vec(b).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(Item {
        id,
        method,
        uri,
        headers,
        body,
    })
}
