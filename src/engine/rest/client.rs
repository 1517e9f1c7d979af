//! One connection to the admin API ([`RestClient`]) and its paging: the first
//! `InvokeCommand` URL, then one page after another (see `request.rs`) until there is no
//! next-page link or the row cap is reached, each page's warnings and rows sent as they arrive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::redirect::origin;
use super::request::PageCall;
use super::{
    CmdletOutput, CmdletRequest, RestConfig, RestError, RestErrorKind, RestStats, RestTarget,
    ResultSize, RunEvent, RunHandle,
};
use crate::engine::http::{build_client, check_url};
use crate::engine::token::{AccessToken, TokenProvider};

/// One connection to the admin API.
pub struct RestClient {
    pub(super) http: reqwest::Client,
    tokens: Arc<dyn TokenProvider>,
    pub(super) target: RestTarget,
    pub(super) config: RestConfig,
    pub(super) connection_id: Uuid,
    /// Pinned origin (after a redirect) or the REST base.
    pub(super) pinned: Mutex<String>,
    pub(super) requests: AtomicU64,
    pub(super) last_activity: Mutex<Option<DateTime<Utc>>>,
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

    /// Pages through a cmdlet's results, sending events; `Err` is sent as `Failed` by `start`.
    async fn run(
        self: Arc<Self>,
        request: CmdletRequest,
        tx: mpsc::Sender<RunEvent>,
    ) -> Result<(), RestError> {
        let cmdlet = request.cmdlet.clone();
        let limit = match request.row_cap()? {
            ResultSize::Limit(n) => Some(n),
            ResultSize::Unlimited => None,
        };
        let mut paging = Paging {
            started: Instant::now(),
            limit,
            total: 0,
            pages: 0,
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "CmdletInput": {"CmdletName": request.cmdlet, "Parameters": request.parameters}
        }))
        .expect("JSON of a JSON value");
        let mut token = self.get_token(&cmdlet, false).await?;
        let mut next = Some(self.first_url(&request, &token)?);
        let mut get_for_next_links = false;
        while let Some(url) = next.take() {
            let first = paging.pages == 0;
            let call = PageCall {
                cmdlet: &cmdlet,
                body: &body,
                page_size: self.page_size(limit),
                is_next_link: !first,
                use_get: !first && get_for_next_links,
            };
            let page = self.page(&call, &url, &mut token, &tx).await?;
            get_for_next_links |= page.used_get;
            paging.pages += 1;
            if !send_warnings(&tx, page.warnings).await {
                return Ok(()); // nobody listens any more
            }
            next = match page.json.get("@odata.nextLink").and_then(Value::as_str) {
                Some(link) => Some(self.resolve_link(&cmdlet, &url, link)?),
                None => None,
            };
            if !paging
                .deliver(rows_of(&page.json), next.is_some(), &tx)
                .await
            {
                return Ok(());
            }
        }
        paging.done(false, &tx).await;
        Ok(())
    }

    /// `Prefer: odata.maxpagesize`: the configured size, lowered to the row cap.
    fn page_size(&self, limit: Option<usize>) -> u32 {
        self.config
            .page_size
            .clamp(1, 1000)
            .min(limit.unwrap_or(usize::MAX).clamp(1, 1000) as u32)
    }

    /// `<endpoint>/adminapi/beta/<tenant>/InvokeCommand[?$select=…]`.
    fn first_url(
        &self,
        request: &CmdletRequest,
        token: &AccessToken,
    ) -> Result<url::Url, RestError> {
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
        .map_err(|e| RestError::new(RestErrorKind::Usage, &request.cmdlet, e.to_string()))?;
        if !request.select.is_empty() {
            first
                .query_pairs_mut()
                .append_pair("$select", &request.select.join(","));
        }
        Ok(first)
    }

    /// A token for the next request (`force` after a 401), its expiry kept for the stats.
    pub(super) async fn get_token(
        &self,
        cmdlet: &str,
        force: bool,
    ) -> Result<AccessToken, RestError> {
        let t = self.tokens.token(force).await.map_err(|e| {
            let mut err = RestError::new(RestErrorKind::Auth, cmdlet, e.message);
            err.code = e.needs_interactive.then(|| "SignInRequired".to_string());
            err
        })?;
        *self.token_expires.lock().unwrap() = Some(t.expires_at);
        Ok(t)
    }
}

/// How far a run's paging is.
struct Paging {
    started: Instant,
    /// The row cap (ResultSize and the client-side limit).
    limit: Option<usize>,
    total: usize,
    pages: usize,
}

impl Paging {
    /// Sends a page's rows (cut at the row cap). False when the run ends here: nobody listens,
    /// or the cap is reached while more pages remain (then `Done`, truncated, was sent).
    async fn deliver(
        &mut self,
        mut rows: Vec<Value>,
        more: bool,
        tx: &mpsc::Sender<RunEvent>,
    ) -> bool {
        if let Some(l) = self.limit {
            rows.truncate(l.saturating_sub(self.total));
        }
        self.total += rows.len();
        let page = RunEvent::Page {
            rows,
            total_rows: self.total,
            pages: self.pages,
            elapsed: self.started.elapsed(),
        };
        if tx.send(page).await.is_err() {
            return false;
        }
        if more && self.limit.is_some_and(|l| self.total >= l) {
            self.done(true, tx).await;
            return false;
        }
        true
    }

    async fn done(&self, truncated: bool, tx: &mpsc::Sender<RunEvent>) {
        let _ = tx
            .send(RunEvent::Done {
                total_rows: self.total,
                pages: self.pages,
                elapsed: self.started.elapsed(),
                truncated,
            })
            .await;
    }
}

/// A page's result objects (`value`; a single object counts as one row).
fn rows_of(json: &Value) -> Vec<Value> {
    match json.get("value") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

/// False when nobody listens any more.
async fn send_warnings(tx: &mpsc::Sender<RunEvent>, warnings: Vec<String>) -> bool {
    for w in warnings {
        if tx.send(RunEvent::Warning(w)).await.is_err() {
            return false;
        }
    }
    true
}
