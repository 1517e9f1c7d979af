//! The Exchange admin REST client: `POST <rest base>/adminapi/beta/<tenant>/InvokeCommand`
//! (reference page §2), with the client's own redirect handling (token re-sent, host pinned for
//! the connection), paging streamed as events, retries, 401 refresh and typed errors.
//!
//! One [`RestClient`] is one connection (one `connection-id`). [`RestClient::start`] runs a cmdlet
//! in a task and streams [`RunEvent`]s; dropping the returned [`RunHandle`] aborts the run.
//!
//! `ResultSize` is applied here, on the client, as the module does, AND passed on to the service
//! (which may apply it too; Get-Mailbox without it stops at 1000 rows with a warning): the page
//! size asked for is lowered to it and paging stops once enough rows arrived, whatever the server
//! does (so `-ResultSize 10` costs one small page, and `Unlimited` reads every page).
//! [`CmdletRequest::limit`] is the same cap without sending anything (for cmdlets that have no
//! ResultSize parameter, like the registry's access check).

// `RestError` carries everything a diagnostics view shows; errors are rare, so its size is fine.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::http::{HttpOptions, build_client, check_url, plain_error};
use super::token::{AccessToken, TokenProvider};

/// The system mailbox app-only clients anchor on.
pub const APP_ANCHOR_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";
/// `X-ClientApplication` we send.
pub const CLIENT_APPLICATION: &str = "exo-connect";
/// The tenant-concurrency refusal the service sends in a body (retried like 429).
pub const TENANT_CONCURRENCY_TEXT: &str = "maximum number of concurrent requests per tenant";

/// Retry, redirect and timeout settings. Tests shrink the delays.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// `Prefer: odata.maxpagesize` (1..=1000).
    pub page_size: u32,
    /// Attempts per request (page) for retryable failures, the first included.
    pub max_attempts: u32,
    /// First backoff delay; doubled per attempt, with ±25% jitter.
    pub base_delay: Duration,
    /// Cap of one delay (also caps a server's Retry-After).
    pub max_delay: Duration,
    /// Redirects followed for one request.
    pub max_redirects: u32,
    /// HTTP options (connect and per-request timeouts, proxy).
    pub http: HttpOptions,
    /// Whole-run timeout (None = none; the service itself stops cmdlets after 15 minutes).
    pub overall_timeout: Option<Duration>,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            page_size: crate::model::profile::DEFAULT_PAGE_SIZE,
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_redirects: 5,
            http: HttpOptions::default(),
            overall_timeout: Some(Duration::from_secs(20 * 60)),
        }
    }
}

/// Where a connection goes and as whom.
#[derive(Debug, Clone)]
pub struct RestTarget {
    /// Origin of the admin API (`Endpoints::rest_base`).
    pub rest_base: String,
    /// Tenant for the URL path when not the token's `tid` (DelegatedOrganization).
    pub tenant_override: Option<String>,
    /// App-only: anchor on the system mailbox of this organization (e.g. `contoso.onmicrosoft.com`).
    /// None = delegated, anchor on `UPN:<token account>`.
    pub app_only_organization: Option<String>,
}

/// `ResultSize`: a number of rows, or every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSize {
    Limit(usize),
    Unlimited,
}

impl ResultSize {
    /// From a parameter value: a non-negative number, a numeric string, or `Unlimited`.
    pub fn from_value(v: &Value) -> Result<ResultSize, String> {
        match v {
            Value::Number(n) => n
                .as_u64()
                .map(|n| ResultSize::Limit(n as usize))
                .ok_or_else(|| {
                    format!("-ResultSize {n} is not valid: give a whole number ≥ 0 or Unlimited")
                }),
            Value::String(s) if s.eq_ignore_ascii_case("unlimited") => Ok(ResultSize::Unlimited),
            Value::String(s) => s
                .trim()
                .parse::<usize>()
                .map(ResultSize::Limit)
                .map_err(|_| {
                    format!("-ResultSize '{s}' is not valid: give a whole number ≥ 0 or Unlimited")
                }),
            other => Err(format!(
                "-ResultSize {other} is not valid: give a whole number ≥ 0 or Unlimited"
            )),
        }
    }
}

/// One cmdlet to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CmdletRequest {
    pub cmdlet: String,
    pub parameters: Map<String, Value>,
    /// `$select` properties (empty = all).
    pub select: Vec<String>,
    /// Client-side row cap that is not sent (the smaller of it and `ResultSize` applies).
    pub limit: Option<usize>,
}

impl CmdletRequest {
    pub fn new(cmdlet: impl Into<String>) -> Self {
        CmdletRequest {
            cmdlet: cmdlet.into(),
            parameters: Map::new(),
            select: Vec::new(),
            limit: None,
        }
    }
    /// With a client-side row cap (not sent).
    pub fn limit(mut self, rows: usize) -> Self {
        self.limit = Some(rows);
        self
    }
    pub fn param(mut self, name: &str, v: impl Into<Value>) -> Self {
        self.parameters.insert(name.into(), v.into());
        self
    }
    /// From a parsed cmdlet line.
    pub fn from_line(line: crate::model::cmdline::CmdletLine) -> Self {
        CmdletRequest {
            cmdlet: line.cmdlet,
            parameters: line.parameters,
            select: Vec::new(),
            limit: None,
        }
    }
    /// The row cap of this request: the smaller of `limit` and the `ResultSize` parameter.
    pub fn row_cap(&self) -> Result<ResultSize, RestError> {
        let from_param = match self
            .parameters
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("ResultSize"))
        {
            None => ResultSize::Unlimited,
            Some((_, v)) => ResultSize::from_value(v).map_err(|m| RestError {
                kind: RestErrorKind::Usage,
                cmdlet: self.cmdlet.clone(),
                status: None,
                code: None,
                exception_type: None,
                message: m,
                request_id: None,
            })?,
        };
        Ok(match (from_param, self.limit) {
            (ResultSize::Limit(a), Some(b)) => ResultSize::Limit(a.min(b)),
            (ResultSize::Unlimited, Some(b)) => ResultSize::Limit(b),
            (p, None) => p,
        })
    }
}

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestErrorKind {
    /// The service answered an error (see `status`, `code`, `exception_type`).
    Service,
    /// No token could be had, or the service refused it after a refresh.
    Auth,
    /// Network failure after the retries.
    Transport,
    /// The request or the whole run timed out.
    Timeout,
    /// Too many redirects, or a redirect to a URL our policy refuses.
    Redirect,
    /// Bad input from the caller (e.g. `-ResultSize abc`).
    Usage,
    /// The answer could not be understood (after the retries).
    Protocol,
    /// The proxy answered 407 (see `engine::proxy::ProxyAuthRequired`): the window asks for the
    /// proxy credential, the command line explains. Not retried.
    ProxyAuth,
}

/// A failed cmdlet, with what a person needs to read and what support needs to trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cmdlet}: {message}")]
pub struct RestError {
    pub kind: RestErrorKind,
    pub cmdlet: String,
    /// HTTP status, when the service answered.
    pub status: Option<u16>,
    /// OData `error.code` (or a detail's code).
    pub code: Option<String>,
    /// .NET exception type name (`TypeName` / the pipe form's middle / `x-ExceptionType`).
    pub exception_type: Option<String>,
    /// The plain message for the user.
    pub message: String,
    /// `request-id` response header.
    pub request_id: Option<String>,
}

impl RestError {
    fn new(kind: RestErrorKind, cmdlet: &str, message: impl Into<String>) -> Self {
        RestError {
            kind,
            cmdlet: cmdlet.to_string(),
            status: None,
            code: None,
            exception_type: None,
            message: message.into(),
            request_id: None,
        }
    }

    /// The known-failure catalogue's entry for this error (by status, message, exception type).
    pub fn known(
        &self,
        service: Option<crate::model::Service>,
    ) -> Option<&'static crate::model::failures::KnownFailure> {
        crate::model::failures::find(&crate::model::failures::Symptom {
            status: self.status,
            text: &self.message,
            exception_type: self.exception_type.as_deref(),
            service,
            ..Default::default()
        })
    }

    /// The plain explanation for the user: what happened, why, what to do (from the catalogue),
    /// or None when the error is not catalogued.
    pub fn explanation(&self) -> Option<String> {
        self.known(None).map(|k| k.plain())
    }
}

/// What an OData error body says (see [`parse_error_body`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedError {
    pub code: Option<String>,
    pub exception_type: Option<String>,
    pub message: Option<String>,
}

/// Parses an error body: OData `error` with `details[].message` as a JSON string
/// (`{"Message":..,"TypeName":..}`) first, then the pipe form `ExId|Type.Name|text`, then
/// `error.message`, then the raw text. Never panics; empty or binary bodies give `None`s.
pub fn parse_error_body(body: &[u8]) -> ParsedError {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out = ParsedError::default();
    if text.is_empty() {
        return out;
    }
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        // Raw text; binary garbage (a bogus gzip body) is not worth showing.
        let printable = text
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .count();
        if printable * 10 >= text.chars().count() * 9 {
            out.message = Some(text.chars().take(2000).collect());
        }
        return out;
    };
    let err = json.get("error").unwrap_or(&json);
    out.code = err.get("code").and_then(Value::as_str).map(str::to_string);
    let top_message = err
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(details) = err.get("details").and_then(Value::as_array) {
        for d in details {
            let Some(m) = d.get("message").and_then(Value::as_str) else {
                continue;
            };
            if out.code.is_none() {
                out.code = d.get("code").and_then(Value::as_str).map(str::to_string);
            }
            if let Ok(inner) = serde_json::from_str::<Value>(m)
                && inner.is_object()
            {
                let get = |k: &str| {
                    inner
                        .as_object()
                        .and_then(|o| o.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)))
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_string)
                };
                out.message = get("Message");
                out.exception_type = get("TypeName").or_else(|| get("ExceptionType"));
                if out.message.is_some() {
                    return out;
                }
            }
            let parts: Vec<&str> = m.splitn(3, '|').collect();
            if parts.len() == 3 && !parts[2].trim().is_empty() {
                out.exception_type = Some(parts[1].trim().to_string()).filter(|s| !s.is_empty());
                out.message = Some(parts[2].trim().to_string());
                return out;
            }
            out.message = Some(m.to_string());
            return out;
        }
    }
    if out.message.is_none() {
        out.message = top_message.or(match json {
            Value::String(s) => Some(s),
            _ => None,
        });
    }
    out
}

/// A redirect target as the reference page says to use it: `<region>.admin.protection.outlook.com`
/// becomes `<region>.ps.compliance.protection.outlook.com`, and port 446 becomes 443.
pub fn rewrite_redirect(mut url: url::Url) -> url::Url {
    const FROM: &str = ".admin.protection.outlook.com";
    const TO: &str = ".ps.compliance.protection.outlook.com";
    if let Some(host) = url.host_str().map(str::to_ascii_lowercase)
        && let Some(region) = host.strip_suffix(FROM)
        && !region.is_empty()
    {
        let _ = url.set_host(Some(&format!("{region}{TO}")));
    }
    if url.port() == Some(446) {
        let _ = url.set_port(if url.scheme() == "https" {
            None
        } else {
            Some(443)
        });
    }
    url
}

/// `scheme://host[:port]` of a URL.
fn origin(u: &url::Url) -> String {
    u.origin().ascii_serialization()
}

/// Progress and results of a run, in order. The last event is `Done` or `Failed`.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// One page arrived (after the ResultSize cut): its rows, and the totals so far.
    Page {
        rows: Vec<Value>,
        total_rows: usize,
        pages: usize,
        elapsed: Duration,
    },
    /// A warning of the cmdlet (`@adminapi.warnings` or `X-Warnings`).
    Warning(String),
    /// A request is retried after `delay`.
    Retrying {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The connection moved to another host (pinned for the rest of the connection).
    Redirected {
        host: String,
    },
    Done {
        total_rows: usize,
        pages: usize,
        elapsed: Duration,
        /// True when paging stopped early because ResultSize was reached.
        truncated: bool,
    },
    Failed(RestError),
}

/// A running cmdlet. Dropping it (or [`RunHandle::cancel`]) stops its requests.
pub struct RunHandle {
    pub events: mpsc::Receiver<RunEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl RunHandle {
    /// A handle over an event channel fed by `task` (aborted when the handle is dropped).
    pub fn new(events: mpsc::Receiver<RunEvent>, task: tokio::task::JoinHandle<()>) -> Self {
        RunHandle { events, task }
    }
    /// Whether the run's task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
    pub fn cancel(&self) {
        self.task.abort();
    }
    /// Waits for the end and gathers everything.
    pub async fn collect(mut self) -> Result<CmdletOutput, RestError> {
        let mut out = CmdletOutput::default();
        while let Some(ev) = self.events.recv().await {
            match ev {
                RunEvent::Page { rows, .. } => {
                    out.pages += 1;
                    out.rows.extend(rows)
                }
                RunEvent::Warning(w) => out.warnings.push(w),
                RunEvent::Done { truncated, .. } => {
                    out.truncated = truncated;
                    return Ok(out);
                }
                RunEvent::Failed(e) => return Err(e),
                RunEvent::Retrying { .. } | RunEvent::Redirected { .. } => {}
            }
        }
        Err(RestError::new(
            RestErrorKind::Transport,
            "",
            "the run stopped before it finished",
        ))
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Everything a run returned.
#[derive(Debug, Clone, Default)]
pub struct CmdletOutput {
    pub rows: Vec<Value>,
    pub warnings: Vec<String>,
    pub pages: usize,
    pub truncated: bool,
}

/// Counters a session view shows.
#[derive(Debug, Clone)]
pub struct RestStats {
    pub requests: u64,
    pub last_activity: Option<DateTime<Utc>>,
    /// Origin requests go to (after redirects).
    pub endpoint: String,
    /// Expiry of the last token used.
    pub token_expires: Option<DateTime<Utc>>,
}

/// One connection to the admin API.
pub struct RestClient {
    http: reqwest::Client,
    tokens: Arc<dyn TokenProvider>,
    target: RestTarget,
    config: RestConfig,
    connection_id: Uuid,
    /// Pinned origin (after a redirect) or the REST base.
    pinned: Mutex<String>,
    requests: AtomicU64,
    last_activity: Mutex<Option<DateTime<Utc>>>,
    token_expires: Mutex<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("connection_id", &self.connection_id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// A client for one connection; checks the REST base against the URL policy.
    pub fn new(
        target: RestTarget,
        tokens: Arc<dyn TokenProvider>,
        config: RestConfig,
    ) -> Result<Arc<RestClient>, RestError> {
        Self::with_connection_id(target, tokens, config, Uuid::new_v4())
    }

    /// Same, with a given `connection-id` (the session registry's id of the connection).
    pub fn with_connection_id(
        target: RestTarget,
        tokens: Arc<dyn TokenProvider>,
        config: RestConfig,
        connection_id: Uuid,
    ) -> Result<Arc<RestClient>, RestError> {
        let base = check_url(&target.rest_base)
            .map_err(|e| RestError::new(RestErrorKind::Usage, "", e.to_string()))?;
        let http = build_client(&config.http).map_err(|e| {
            RestError::new(
                RestErrorKind::Transport,
                "",
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        Ok(Arc::new(RestClient {
            http,
            tokens,
            pinned: Mutex::new(origin(&base)),
            target,
            config,
            connection_id,
            requests: AtomicU64::new(0),
            last_activity: Mutex::new(None),
            token_expires: Mutex::new(None),
        }))
    }

    pub fn connection_id(&self) -> Uuid {
        self.connection_id
    }

    /// The origin requests go to now (the REST base, or the host pinned by a redirect).
    pub fn endpoint(&self) -> String {
        self.pinned.lock().unwrap().clone()
    }

    pub fn stats(&self) -> RestStats {
        RestStats {
            requests: self.requests.load(Ordering::Relaxed),
            last_activity: *self.last_activity.lock().unwrap(),
            endpoint: self.endpoint(),
            token_expires: *self.token_expires.lock().unwrap(),
        }
    }

    /// Starts a cmdlet; events stream on the handle.
    pub fn start(self: &Arc<Self>, request: CmdletRequest) -> RunHandle {
        let (tx, rx) = mpsc::channel(64);
        let me = self.clone();
        let task = tokio::spawn(async move {
            let cmdlet = request.cmdlet.clone();
            let fut = me.clone().run(request, tx.clone());
            let res = match me.config.overall_timeout {
                Some(t) => match tokio::time::timeout(t, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(RestError::new(
                        RestErrorKind::Timeout,
                        &cmdlet,
                        format!("the cmdlet did not finish within {} s", t.as_secs()),
                    )),
                },
                None => fut.await,
            };
            if let Err(e) = res {
                let _ = tx.send(RunEvent::Failed(e)).await;
            }
        });
        RunHandle { events: rx, task }
    }

    /// Runs a cmdlet to the end and gathers its rows.
    pub async fn invoke(
        self: &Arc<Self>,
        request: CmdletRequest,
    ) -> Result<CmdletOutput, RestError> {
        self.start(request).collect().await
    }

    async fn run(
        self: Arc<Self>,
        request: CmdletRequest,
        tx: mpsc::Sender<RunEvent>,
    ) -> Result<(), RestError> {
        let started = Instant::now();
        let cmdlet = request.cmdlet.clone();
        let limit = match request.row_cap()? {
            ResultSize::Limit(n) => Some(n),
            ResultSize::Unlimited => None,
        };
        let page_size = self
            .config
            .page_size
            .clamp(1, 1000)
            .min(limit.unwrap_or(usize::MAX).clamp(1, 1000) as u32);
        let body = serde_json::to_vec(&serde_json::json!({
            "CmdletInput": {"CmdletName": request.cmdlet, "Parameters": request.parameters}
        }))
        .expect("JSON of a JSON value");
        let mut token = self.get_token(&cmdlet, false).await?;
        let tenant = self
            .target
            .tenant_override
            .clone()
            .unwrap_or_else(|| token.tenant_id.clone());
        let mut first = url::Url::parse(&format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            self.endpoint(),
            tenant
        ))
        .map_err(|e| RestError::new(RestErrorKind::Usage, &cmdlet, e.to_string()))?;
        if !request.select.is_empty() {
            first
                .query_pairs_mut()
                .append_pair("$select", &request.select.join(","));
        }
        let mut next: Option<url::Url> = Some(first);
        let mut total = 0usize;
        let mut pages = 0usize;
        let mut get_for_next_links = false;
        let mut first_page = true;
        while let Some(url) = next.take() {
            let use_get = !first_page && get_for_next_links;
            let (json, warnings, used_get) = self
                .page(
                    &cmdlet,
                    &url,
                    &body,
                    page_size,
                    use_get,
                    !first_page,
                    &mut token,
                    &tx,
                )
                .await?;
            get_for_next_links |= used_get;
            first_page = false;
            pages += 1;
            for w in warnings {
                if tx.send(RunEvent::Warning(w)).await.is_err() {
                    return Ok(());
                }
            }
            let mut rows: Vec<Value> = match json.get("value") {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other.clone()],
            };
            if let Some(l) = limit {
                rows.truncate(l.saturating_sub(total));
            }
            total += rows.len();
            next = match json.get("@odata.nextLink").and_then(Value::as_str) {
                Some(link) => Some(self.resolve_link(&cmdlet, &url, link)?),
                None => None,
            };
            if tx
                .send(RunEvent::Page {
                    rows,
                    total_rows: total,
                    pages,
                    elapsed: started.elapsed(),
                })
                .await
                .is_err()
            {
                return Ok(()); // nobody listens any more
            }
            if next.is_some() && limit.is_some_and(|l| total >= l) {
                let _ = tx
                    .send(RunEvent::Done {
                        total_rows: total,
                        pages,
                        elapsed: started.elapsed(),
                        truncated: true,
                    })
                    .await;
                return Ok(());
            }
        }
        let _ = tx
            .send(RunEvent::Done {
                total_rows: total,
                pages,
                elapsed: started.elapsed(),
                truncated: false,
            })
            .await;
        Ok(())
    }

    fn resolve_link(
        &self,
        cmdlet: &str,
        current: &url::Url,
        link: &str,
    ) -> Result<url::Url, RestError> {
        let u = current.join(link).map_err(|_| {
            RestError::new(
                RestErrorKind::Protocol,
                cmdlet,
                format!("the service sent a next-page link that is not a URL: {link}"),
            )
        })?;
        check_url(u.as_str())
            .map_err(|e| RestError::new(RestErrorKind::Redirect, cmdlet, e.to_string()))
    }

    async fn get_token(&self, cmdlet: &str, force: bool) -> Result<AccessToken, RestError> {
        let t = self.tokens.token(force).await.map_err(|e| {
            let mut err = RestError::new(RestErrorKind::Auth, cmdlet, e.message);
            err.code = e.needs_interactive.then(|| "SignInRequired".to_string());
            err
        })?;
        *self.token_expires.lock().unwrap() = Some(t.expires_at);
        Ok(t)
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        use rand::Rng;
        let base = retry_after.unwrap_or_else(|| {
            let exp = self
                .config
                .base_delay
                .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
            let jitter = rand::thread_rng().gen_range(0.75..1.25);
            exp.mul_f64(jitter)
        });
        base.min(self.config.max_delay)
    }

    /// Fetches one page, with redirects, retries and the 401 refresh. Returns the JSON, the
    /// warnings, and whether the page had to be fetched with GET.
    #[allow(clippy::too_many_arguments)]
    async fn page(
        &self,
        cmdlet: &str,
        page_url: &url::Url,
        body: &[u8],
        page_size: u32,
        mut use_get: bool,
        is_next_link: bool,
        token: &mut AccessToken,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<(Value, Vec<String>, bool), RestError> {
        let mut url = page_url.clone();
        let mut attempt = 1u32;
        let mut redirects = 0u32;
        let mut refreshed = false;
        let mut tried_get = use_get;
        let anchor = match &self.target.app_only_organization {
            Some(org) => format!("APP:{APP_ANCHOR_MAILBOX}@{org}"),
            None => format!("UPN:{}", token.account.clone().unwrap_or_default()),
        };
        loop {
            check_url(url.as_str())
                .map_err(|e| RestError::new(RestErrorKind::Redirect, cmdlet, e.to_string()))?;
            let mut rb = if use_get {
                self.http.get(url.clone())
            } else {
                self.http.post(url.clone()).body(body.to_vec())
            };
            rb = rb
                .bearer_auth(&token.secret)
                .header("X-AnchorMailbox", &anchor)
                .header("Prefer", format!("odata.maxpagesize={page_size}"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header("connection-id", self.connection_id.to_string())
                .header("client-request-id", Uuid::new_v4().to_string())
                .header("X-CmdletName", cmdlet)
                .header("X-ClientApplication", CLIENT_APPLICATION)
                .header("X-ResponseFormat", "json");
            self.requests.fetch_add(1, Ordering::Relaxed);
            *self.last_activity.lock().unwrap() = Some(Utc::now());
            let retry = |reason: String, retry_after: Option<Duration>, attempt: u32| {
                let delay = self.backoff(attempt, retry_after);
                (reason, delay)
            };
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    if let Some(p) = crate::engine::proxy::ProxyAuthRequired::from_error(&url, &e) {
                        return Err(RestError {
                            status: Some(407),
                            ..RestError::new(RestErrorKind::ProxyAuth, cmdlet, p.to_string())
                        });
                    }
                    let timeout = e.is_timeout();
                    if attempt >= self.config.max_attempts {
                        return Err(RestError::new(
                            if timeout {
                                RestErrorKind::Timeout
                            } else {
                                RestErrorKind::Transport
                            },
                            cmdlet,
                            format!(
                                "the service could not be reached after {attempt} attempts: {}",
                                plain_error(&e)
                            ),
                        ));
                    }
                    let (reason, delay) = retry(plain_error(&e), None, attempt);
                    self.sleep_retry(tx, attempt, delay, reason).await;
                    attempt += 1;
                    continue;
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let proxy_401 = if status == reqwest::StatusCode::UNAUTHORIZED {
                crate::engine::proxy::ProxyAuthRequired::from_proxy_401(&url, &headers)
            } else {
                None
            };
            if status == reqwest::StatusCode::PROXY_AUTHENTICATION_REQUIRED || proxy_401.is_some() {
                let p = proxy_401.unwrap_or_else(|| {
                    crate::engine::proxy::ProxyAuthRequired::from_response(&url, &headers)
                });
                return Err(RestError {
                    status: Some(407),
                    ..RestError::new(RestErrorKind::ProxyAuth, cmdlet, p.to_string())
                });
            }
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let request_id = header("request-id");
            if status.is_redirection() {
                redirects += 1;
                let Some(loc) = header("location") else {
                    return Err(RestError {
                        status: Some(status.as_u16()),
                        request_id,
                        ..RestError::new(
                            RestErrorKind::Redirect,
                            cmdlet,
                            format!("the service answered {status} without a Location"),
                        )
                    });
                };
                if redirects > self.config.max_redirects {
                    return Err(RestError {
                        status: Some(status.as_u16()),
                        request_id,
                        ..RestError::new(
                            RestErrorKind::Redirect,
                            cmdlet,
                            format!(
                                "the service redirected more than {} times (last to {loc})",
                                self.config.max_redirects
                            ),
                        )
                    });
                }
                let new = url.join(&loc).map(rewrite_redirect).map_err(|_| {
                    RestError::new(
                        RestErrorKind::Redirect,
                        cmdlet,
                        format!("the service redirected to an invalid URL: {loc}"),
                    )
                })?;
                let new = check_url(new.as_str())
                    .map_err(|e| RestError::new(RestErrorKind::Redirect, cmdlet, e.to_string()))?;
                let new_origin = origin(&new);
                let changed = {
                    let mut p = self.pinned.lock().unwrap();
                    let changed = *p != new_origin;
                    *p = new_origin.clone();
                    changed
                };
                if changed {
                    let _ = tx
                        .send(RunEvent::Redirected {
                            host: new_origin.clone(),
                        })
                        .await;
                }
                url = new;
                continue;
            }
            if status.as_u16() == 401 {
                if refreshed {
                    return Err(RestError {
                        status: Some(401),
                        request_id,
                        ..RestError::new(
                            RestErrorKind::Auth,
                            cmdlet,
                            "the service refused the sign-in even after a token refresh; sign in again",
                        )
                    });
                }
                refreshed = true;
                *token = self.get_token(cmdlet, true).await?;
                continue;
            }
            if is_next_link && !use_get && !tried_get && matches!(status.as_u16(), 405 | 400 | 404)
            {
                // The server wants the next-page link fetched with GET.
                use_get = true;
                tried_get = true;
                continue;
            }
            let retry_after =
                header("retry-after").and_then(|v| parse_retry_after(&v, chrono::Utc::now()));
            let bytes = resp.bytes().await;
            if status.is_success() {
                let parsed = match bytes {
                    Ok(b) => serde_json::from_slice::<Value>(&b)
                        .map_err(|e| format!("the page could not be read as JSON ({e})")),
                    Err(e) => Err(format!("the page was cut off ({})", plain_error(&e))),
                };
                match parsed {
                    Ok(json) => {
                        let mut warnings = Vec::new();
                        if let Some(h) = header("x-warnings") {
                            warnings.extend(
                                h.split(['\n', '|'])
                                    .map(str::trim)
                                    .filter(|s| !s.is_empty())
                                    .map(str::to_string),
                            );
                        }
                        if let Some(Value::Array(ws)) = json.get("@adminapi.warnings") {
                            warnings.extend(ws.iter().map(|w| match w {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            }));
                        }
                        return Ok((json, warnings, use_get));
                    }
                    Err(reason) => {
                        if attempt >= self.config.max_attempts {
                            return Err(RestError {
                                status: Some(status.as_u16()),
                                request_id,
                                ..RestError::new(RestErrorKind::Protocol, cmdlet, reason)
                            });
                        }
                        let (reason, delay) = retry(reason, None, attempt);
                        self.sleep_retry(tx, attempt, delay, reason).await;
                        attempt += 1;
                        continue;
                    }
                }
            }
            let body_bytes = bytes.map(|b| b.to_vec()).unwrap_or_default();
            let parsed = parse_error_body(&body_bytes);
            let concurrency = parsed
                .message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains(TENANT_CONCURRENCY_TEXT))
                || String::from_utf8_lossy(&body_bytes)
                    .to_ascii_lowercase()
                    .contains(TENANT_CONCURRENCY_TEXT);
            let retryable = matches!(status.as_u16(), 429 | 503 | 504 | 408) || concurrency;
            let mut err = RestError {
                kind: RestErrorKind::Service,
                cmdlet: cmdlet.to_string(),
                status: Some(status.as_u16()),
                code: parsed.code,
                exception_type: parsed.exception_type.or_else(|| header("x-exceptiontype")),
                message: parsed
                    .message
                    .unwrap_or_else(|| default_message(status.as_u16())),
                request_id,
            };
            if retryable && attempt < self.config.max_attempts {
                let (reason, delay) = retry(
                    format!("HTTP {}: {}", status.as_u16(), err.message),
                    retry_after,
                    attempt,
                );
                self.sleep_retry(tx, attempt, delay, reason).await;
                attempt += 1;
                continue;
            }
            if retryable {
                err.message = format!("{} (gave up after {attempt} attempts)", err.message);
            }
            return Err(err);
        }
    }

    async fn sleep_retry(
        &self,
        tx: &mpsc::Sender<RunEvent>,
        attempt: u32,
        delay: Duration,
        reason: String,
    ) {
        let _ = tx
            .send(RunEvent::Retrying {
                attempt,
                delay,
                reason,
            })
            .await;
        tokio::time::sleep(delay).await;
    }
}

/// A plain explanation when the service sent no readable body.
fn default_message(status: u16) -> String {
    match status {
        400 => "the service refused the request (400 Bad Request): check the parameters".into(),
        403 => {
            "access denied (403): the cmdlet does not exist or your account lacks the role for it"
                .into()
        }
        404 => "not found (404): the object or cmdlet does not exist".into(),
        408 | 504 => format!("the service timed out ({status})"),
        429 => "the service is throttling requests (429 Too Many Requests)".into(),
        500 => "the service failed with an internal error (500)".into(),
        503 => "the service is unavailable (503)".into(),
        s => format!("the service answered HTTP {s} without an explanation"),
    }
}

/// `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past
/// means "now".
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (when.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rewrite() {
        let cases = [
            (
                "https://nam12b.admin.protection.outlook.com:446/adminapi/beta/t/InvokeCommand",
                "https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
            ),
            (
                "https://nam12b.ps.compliance.protection.outlook.com/x",
                "https://nam12b.ps.compliance.protection.outlook.com/x",
            ),
            (
                "https://eur03.ps.compliance.protection.outlook.com:446/x?a=1",
                "https://eur03.ps.compliance.protection.outlook.com/x?a=1",
            ),
            ("http://127.0.0.1:446/x", "http://127.0.0.1:443/x"),
            ("http://127.0.0.1:5000/x", "http://127.0.0.1:5000/x"),
            // Only a region prefix is rewritten, not the bare name.
            (
                "https://admin.protection.outlook.com/x",
                "https://admin.protection.outlook.com/x",
            ),
        ];
        for (from, to) in cases {
            assert_eq!(
                rewrite_redirect(url::Url::parse(from).unwrap()).as_str(),
                to,
                "{from}"
            );
        }
    }

    #[test]
    fn error_bodies() {
        let json_form = br#"{"error":{"code":"NotFound","message":"outer","details":[{"code":"Inner","message":"{\"Message\":\"The object 'x' couldn't be found.\",\"TypeName\":\"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException\"}"}]}}"#;
        let p = parse_error_body(json_form);
        assert_eq!(p.code.as_deref(), Some("NotFound"));
        assert_eq!(
            p.message.as_deref(),
            Some("The object 'x' couldn't be found.")
        );
        assert_eq!(
            p.exception_type.as_deref(),
            Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
        );
        let pipe = br#"{"error":{"code":"BadRequest","message":"m","details":[{"message":"Ex6F9304|Microsoft.Exchange.Management.Tasks.ParameterBindingException|A parameter cannot be found that matches parameter name 'Bogus'."}]}}"#;
        let p = parse_error_body(pipe);
        assert_eq!(
            p.message.as_deref(),
            Some("A parameter cannot be found that matches parameter name 'Bogus'.")
        );
        assert_eq!(
            p.exception_type.as_deref(),
            Some("Microsoft.Exchange.Management.Tasks.ParameterBindingException")
        );
        let plain_detail =
            br#"{"error":{"code":"X","message":"m","details":[{"message":"just text"}]}}"#;
        assert_eq!(
            parse_error_body(plain_detail).message.as_deref(),
            Some("just text")
        );
        let no_details = br#"{"error":{"code":"X","message":"top"}}"#;
        assert_eq!(parse_error_body(no_details).message.as_deref(), Some("top"));
        assert_eq!(parse_error_body(b"").message, None);
        assert_eq!(parse_error_body(b"   ").message, None);
        assert_eq!(
            parse_error_body(b"Service Unavailable").message.as_deref(),
            Some("Service Unavailable")
        );
        // Binary garbage (e.g. a body declared as gzip that is not) shows nothing.
        let garbage: Vec<u8> = (0u8..=255).cycle().take(600).collect();
        assert_eq!(parse_error_body(&garbage).message, None);
        for weird in [
            &b"{"[..],
            b"[1,2]",
            b"null",
            b"{\"error\":5}",
            b"{\"error\":{\"details\":[5,{}]}}",
        ] {
            let _ = parse_error_body(weird);
        }
    }

    #[test]
    fn result_size_values() {
        use serde_json::json;
        assert_eq!(
            ResultSize::from_value(&json!(10)),
            Ok(ResultSize::Limit(10))
        );
        assert_eq!(
            ResultSize::from_value(&json!("unlimited")),
            Ok(ResultSize::Unlimited)
        );
        assert_eq!(
            ResultSize::from_value(&json!("25")),
            Ok(ResultSize::Limit(25))
        );
        assert!(
            ResultSize::from_value(&json!(-1))
                .unwrap_err()
                .contains("ResultSize")
        );
        assert!(ResultSize::from_value(&json!("lots")).is_err());
        let r = CmdletRequest::new("Get-Mailbox")
            .param("resultsize", 3)
            .param("Identity", "x");
        assert_eq!(r.row_cap().unwrap(), ResultSize::Limit(3));
        assert_eq!(r.clone().limit(2).row_cap().unwrap(), ResultSize::Limit(2));
        assert_eq!(r.clone().limit(5).row_cap().unwrap(), ResultSize::Limit(3));
        assert_eq!(
            CmdletRequest::new("Get-X").limit(1).row_cap().unwrap(),
            ResultSize::Limit(1)
        );
        assert_eq!(
            CmdletRequest::new("Get-X").row_cap().unwrap(),
            ResultSize::Unlimited
        );
        assert!(
            CmdletRequest::new("Get-X")
                .param("ResultSize", "many")
                .row_cap()
                .is_err()
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc2822("Sun, 22 Nov 2026 01:00:00 GMT")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 01:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 00:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
