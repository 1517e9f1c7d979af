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

//!
//! Pages are parsed straight into a [`ResultStore`] (no `Value` tree) and delivered, moved, in
//! [`RunEvent::Page`]; the next page travels while one is parsed (see `paging.rs`). The bearer
//! token goes only to the session's own host or its cloud's admin-API hosts (`policy.rs`);
//! every body is read with a cap.
//!
//! One file per job: `client` (a connection: its client, token, pinned host, a run's task),
//! `paging` (a run's pages, pipelined, in order; the row cap; next-page links, loops),
//! `request` (one page: the request, the 401 refresh, the answer read), `body` (a page body
//! read with its cap, cut after the wanted rows), `scan` (what a body shows while it downloads),
//! `redirect` (following 3xx and next-page links, pinning the host), `cookies` (the
//! connection's own cookies: the Security & Compliance affinity cookie), `policy` (where the token
//! may go), `catalogue` (the live cmdlet catalogue, `EXOModuleFile`), `batch` (bulk changes through `$batch`, one request per row
//! when the service refuses it), `retry` (backoff, `Retry-After`), `pacing` (the `Rate-Limit-*` budget, requests
//! spaced out per tenant before a 429), `error` (typed errors and the error bodies).

// `RestError` carries everything a diagnostics view shows; errors are rare, so its size is fine.
#![allow(clippy::result_large_err)]

mod batch;
mod body;
mod catalogue;
mod client;
mod cookies;
mod error;
mod pacing;
mod paging;
mod policy;
mod redirect;
mod request;
mod retry;
mod scan;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::http::{HttpOptions, PAGE_BODY_CAP};
use crate::model::results::{ResultStore, RowError};

pub use batch::{BATCH_CHUNK, BulkOutcome, BulkResult, ChunkDone};
pub use client::RestClient;
pub use cookies::ConnectionCookies;
pub use error::{ParsedError, RestError, RestErrorKind, parse_error_body};
pub use pacing::{MAX_PACE_WAIT, Pacer, RateBudget, pacer_for};
pub use policy::token_may_go;
pub use redirect::rewrite_redirect;
pub use retry::{MAX_RETRY_AFTER, parse_retry_after};

/// The system mailbox app-only clients anchor on.
pub const APP_ANCHOR_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";
/// `X-ClientApplication` we send.
pub const CLIENT_APPLICATION: &str = "exo-connect";
/// Events a run's channel holds before the run waits for its listener: with pages a few MB
/// each, a listener that falls behind holds the paging back instead of piling pages up.
pub const RUN_EVENTS_BUFFER: usize = 2;
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
    /// Largest page body read (a bigger one ends the run with an error).
    pub max_page_bytes: usize,
    /// Most pages of one run (a service still sending next-page links after that is looping).
    pub max_pages: usize,
    /// Space requests out by the tenant's `Rate-Limit-*` budget (`pacing.rs`); off only to
    /// show what happens without it.
    pub pace: bool,
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
            max_page_bytes: PAGE_BODY_CAP,
            max_pages: 100_000,
            pace: true,
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
    /// The value of a parameter (any case).
    pub fn get_param(&self, name: &str) -> Option<&Value> {
        self.parameters
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    /// The same request with `Confirm: false` (after the user agreed to the service's question;
    /// a `Confirm` given in another case is replaced).
    pub fn confirmed(mut self) -> Self {
        self.parameters
            .retain(|k, _| !k.eq_ignore_ascii_case("Confirm"));
        self.parameters.insert("Confirm".into(), Value::Bool(false));
        self
    }
    /// Whether it carries `-WhatIf` (a preview: the service changes nothing).
    pub fn is_what_if(&self) -> bool {
        match self.get_param("WhatIf") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => {
                let s = s.trim().trim_start_matches('$');
                s.eq_ignore_ascii_case("true") || s == "1"
            }
            _ => false,
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
            Some((_, v)) => ResultSize::from_value(v)
                .map_err(|m| RestError::new(RestErrorKind::Usage, &self.cmdlet, m))?,
        };
        Ok(match (from_param, self.limit) {
            (ResultSize::Limit(a), Some(b)) => ResultSize::Limit(a.min(b)),
            (ResultSize::Unlimited, Some(b)) => ResultSize::Limit(b),
            (p, None) => p,
        })
    }
}

/// Progress and results of a run, in order. The last event is `Done` or `Failed`.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// One page arrived (after the ResultSize cut): its rows as a store of their own (moved to
    /// the listener, which may keep it, append it to another or write it and drop it; rows
    /// cleaned as the command line always did: `@` annotations dropped, a scalar as
    /// `{"Value": v}`), and the totals so far.
    Page {
        rows: ResultStore,
        total_rows: usize,
        pages: usize,
        elapsed: Duration,
    },
    /// A warning of the cmdlet (`@adminapi.warnings` or `X-Warnings`; a `-WhatIf` answer too).
    Warning(String),
    /// The service asks before acting (`@adminapi.confirmationmessage`): nothing was done.
    /// Show its text; after the user agrees, send [`CmdletRequest::confirmed`].
    Confirmation(String),
    /// A non-terminating error (`@adminapi.errors`): this target failed, the others were done.
    RowError(RowError),
    /// The service's `Rate-Limit-*` headers of an answer (requests are paced by them).
    RateBudget(RateBudget),
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
                    out.rows.take_page(rows);
                }
                RunEvent::Warning(w) => out.warnings.push(w),
                RunEvent::Confirmation(c) => out.confirmation = Some(c),
                RunEvent::RowError(e) => out.errors.push(e),
                RunEvent::Done { truncated, .. } => {
                    out.truncated = truncated;
                    return Ok(out);
                }
                RunEvent::Failed(e) => return Err(e),
                RunEvent::Retrying { .. }
                | RunEvent::Redirected { .. }
                | RunEvent::RateBudget(_) => {}
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
    /// Every page's rows in one store.
    pub rows: ResultStore,
    pub warnings: Vec<String>,
    /// The service's question when it asked before acting (nothing was done).
    pub confirmation: Option<String>,
    /// Non-terminating errors (`@adminapi.errors`).
    pub errors: Vec<RowError>,
    pub pages: usize,
    pub truncated: bool,
}

/// Counters a session view shows.
#[derive(Debug, Clone)]
pub struct RestStats {
    pub requests: u64,
    /// Page bytes read (after decompression).
    pub bytes_received: u64,
    pub last_activity: Option<DateTime<Utc>>,
    /// Origin requests go to (after redirects).
    pub endpoint: String,
    /// Expiry of the last token used.
    pub token_expires: Option<DateTime<Utc>>,
    /// The tenant's request budget, as the service last announced it.
    pub rate: Option<RateBudget>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
