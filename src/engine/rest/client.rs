//! One connection to the admin API ([`RestClient`]): its HTTP client, token provider, pinned
//! host and counters; a run's task (`start`), its first `InvokeCommand` URL and tokens. The
//! paging itself is `paging.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::cookies::ConnectionCookies;
use super::pacing::{Pacer, pacer_for};
use super::redirect::origin;
use super::{
    CmdletOutput, CmdletRequest, RestConfig, RestError, RestErrorKind, RestStats, RestTarget,
    RunEvent, RunHandle,
};
use crate::engine::http::{build_client, check_url};
use crate::engine::token::{AccessToken, TokenProvider};

/// One connection to the admin API.
pub struct RestClient {
    pub(super) http: reqwest::Client,
    pub(super) tokens: Arc<dyn TokenProvider>,
    pub(super) target: RestTarget,
    /// The REST base as checked: the host the token belongs to (see `policy.rs`).
    pub(super) base: url::Url,
    pub(super) config: RestConfig,
    pub(super) connection_id: Uuid,
    /// Pinned origin (after a redirect) or the REST base.
    pub(super) pinned: Mutex<String>,
    pub(super) requests: AtomicU64,
    pub(super) bytes_received: AtomicU64,
    pub(super) last_activity: Mutex<Option<DateTime<Utc>>>,
    token_expires: Mutex<Option<DateTime<Utc>>>,
    /// The tenant's pacer (known with the tenant, at the first request).
    pacer: OnceLock<Arc<Pacer>>,
    /// This connection's cookies (the SCC affinity cookie), never shared.
    pub(super) cookies: ConnectionCookies,
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
            base,
            target,
            config,
            connection_id,
            requests: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            last_activity: Mutex::new(None),
            token_expires: Mutex::new(None),
            pacer: OnceLock::new(),
            cookies: ConnectionCookies::default(),
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
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            last_activity: *self.last_activity.lock().unwrap(),
            endpoint: self.endpoint(),
            token_expires: *self.token_expires.lock().unwrap(),
            rate: self.pacer.get().and_then(|p| p.budget()),
        }
    }

    /// Starts a cmdlet; events stream on the handle.
    pub fn start(self: &Arc<Self>, request: CmdletRequest) -> RunHandle {
        let (tx, rx) = mpsc::channel(super::RUN_EVENTS_BUFFER);
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

    /// `Prefer: odata.maxpagesize`: the configured size, lowered to the row cap.
    pub(super) fn page_size(&self, limit: Option<usize>) -> u32 {
        self.config
            .page_size
            .clamp(1, 1000)
            .min(limit.unwrap_or(usize::MAX).clamp(1, 1000) as u32)
    }

    /// `<endpoint>/adminapi/beta/<tenant>/InvokeCommand[?$select=…]`.
    pub(super) fn first_url(
        &self,
        request: &CmdletRequest,
        token: &AccessToken,
    ) -> Result<url::Url, RestError> {
        let tenant = self
            .target
            .tenant_override
            .clone()
            .unwrap_or_else(|| token.tenant_id.clone());
        self.pacer
            .get_or_init(|| pacer_for(&origin(&self.base), &tenant));
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

    /// How many cookies this connection holds (the SCC affinity cookie).
    pub fn cookie_count(&self) -> usize {
        self.cookies.len()
    }

    /// The tenant's pacer (a connection's own until the tenant is known).
    pub(super) fn pacer(&self) -> &Arc<Pacer> {
        self.pacer.get_or_init(Pacer::new)
    }

    /// Keeps a token's expiry for the stats.
    pub(super) fn note_token(&self, t: &AccessToken) {
        *self.token_expires.lock().unwrap() = Some(t.expires_at);
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
