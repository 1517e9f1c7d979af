//! The session registry: what `Get-ConnectionInformation` shows and what
//! `Disconnect-ExchangeOnline -ConnectionId` closes, as an engine object.
//!
//! It is an actor task: commands come in on an mpsc channel ([`SessionCommand`], or the
//! convenience methods of [`SessionRegistry`]), every change goes out as a [`SessionEvent`] on a
//! broadcast channel, so the window redraws without polling. A tick re-derives time-based states
//! (token expiring or expired, idle sessions going stale) and emits events for those too.
//!
//! Connect = a token from the session's [`TokenProvider`] (the cached sign-in), then one cheap
//! cmdlet that proves access (see [`probe_request`]): `Get-AcceptedDomain` for Exchange Online
//! and EOP (exists in both, small objects), `Get-RetentionCompliancePolicy` for Security &
//! Compliance, each with a one-row page and a client-side cap of one row (it also makes the regional redirect happen at once,
//! so the session shows its pinned regional host).
//!
//! States ([`SessionState`], defined once in `model`): Connecting → Connected; Expiring = the
//! token ends within `expiring_window` and a refresh failed; Expired = the token ended and cannot
//! be refreshed; Stale = idle longer than `idle_timeout`; Failed = the sign-in or the probe
//! failed; Disconnected = closed (the session is then removed). [`derive_state`] is the one
//! place they are derived from time; the window and the command line only format them.
//! "Stale" in the sense of "Disconnect stale" means Expired, Stale or Failed.
//!
//! Limit guard: at most `limits` sessions per (tenant, service) (defaults from the seeds: 3 EXO,
//! 5 EOP, 5 SCC). One more is refused with [`SessionError::LimitReached`], which names the open
//! and the stale sessions so the window can offer to close one.

#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use super::rest::{
    CmdletRequest, RestClient, RestConfig, RestError, RestTarget, RunEvent, RunHandle,
};
use super::token::{AccessToken, TokenProvider, TokenUnavailable};
use crate::model::{AuthMethod, Profile, Service, SessionState};

/// One session as the registry lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    /// The `connection-id` sent with every request of this session.
    pub connection_id: Uuid,
    pub profile_id: Uuid,
    pub profile_name: String,
    pub service: Service,
    /// Signed-in account (UPN), or the app id for app-only; None until the token arrived.
    pub account: Option<String>,
    /// Tenant of the REST path (token `tid` or DelegatedOrganization).
    pub tenant: Option<String>,
    /// Origin the requests go to (after redirects).
    pub endpoint: String,
    pub created: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub token_expires: Option<DateTime<Utc>>,
    pub requests: u64,
    pub last_error: Option<String>,
    pub state: SessionState,
}

/// Sessions allowed per (tenant, service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub exchange_online: usize,
    pub protection: usize,
    pub security_compliance: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            exchange_online: 3,
            protection: 5,
            security_compliance: 5,
        }
    }
}

impl SessionLimits {
    pub fn for_service(&self, s: Service) -> usize {
        match s {
            Service::ExchangeOnline => self.exchange_online,
            Service::Protection => self.protection,
            Service::SecurityCompliance => self.security_compliance,
        }
    }
}

/// Registry settings (tests shrink the durations).
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Idle time after which a session is Stale (default 15 minutes).
    pub idle_timeout: Duration,
    /// A token with less than this left is refreshed; if that fails the session is Expiring.
    pub expiring_window: Duration,
    /// How often time-based states are re-derived.
    pub tick: Duration,
    pub limits: SessionLimits,
    /// REST settings of every session (its page size is the profile's).
    pub rest: RestConfig,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            idle_timeout: Duration::from_secs(15 * 60),
            expiring_window: Duration::from_secs(5 * 60),
            tick: Duration::from_secs(1),
            limits: SessionLimits::default(),
            rest: RestConfig::default(),
        }
    }
}

/// "Sign out": forgets the cached sign-in behind a session (filled by the sign-in engine).
pub trait SignOut: Send + Sync {
    fn sign_out(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// What a connect needs.
#[derive(Clone)]
pub struct ConnectRequest {
    pub profile_id: Uuid,
    pub profile_name: String,
    pub service: Service,
    pub target: RestTarget,
    /// `Prefer: odata.maxpagesize` of this session.
    pub page_size: u32,
    pub tokens: Arc<dyn TokenProvider>,
    pub sign_out: Option<Arc<dyn SignOut>>,
    /// The profile's HTTP client (its proxy route, from `TokenCache::client_for_profile` /
    /// `engine::proxy::client_for`); None: the registry's shared settings.
    pub http: Option<reqwest::Client>,
}

impl std::fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("profile_name", &self.profile_name)
            .field("service", &self.service)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl ConnectRequest {
    /// From a saved profile: its effective REST base, DelegatedOrganization as the tenant of the
    /// path, the certificate method's organization as the app-only anchor, its page size.
    pub fn for_profile(
        profile: &Profile,
        tokens: Arc<dyn TokenProvider>,
        sign_out: Option<Arc<dyn SignOut>>,
    ) -> Result<ConnectRequest, String> {
        let ep = profile.effective_endpoints().ok_or_else(|| {
            format!(
                "profile '{}': no admin API address can be derived; set a ConnectionUri or a cloud",
                profile.name
            )
        })?;
        Ok(ConnectRequest {
            profile_id: profile.id,
            profile_name: profile.name.clone(),
            service: profile.service,
            target: RestTarget {
                rest_base: ep.rest_base,
                tenant_override: profile
                    .delegated_organization
                    .clone()
                    .filter(|s| !s.trim().is_empty()),
                app_only_organization: match &profile.auth {
                    AuthMethod::Certificate { organization, .. } => Some(organization.clone()),
                    _ => None,
                },
            },
            page_size: profile.page_size,
            tokens,
            sign_out,
            http: None,
        })
    }

    /// Routes this session's REST traffic through the profile's client.
    pub fn with_http(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }
}

/// The cmdlet that proves access for a service.
pub fn probe_request(service: Service) -> CmdletRequest {
    match service {
        Service::ExchangeOnline | Service::Protection => {
            CmdletRequest::new("Get-AcceptedDomain").limit(1)
        }
        Service::SecurityCompliance => CmdletRequest::new("Get-RetentionCompliancePolicy").limit(1),
    }
}

/// One more session would pass the limit for (tenant, service).
#[derive(Debug, Clone, PartialEq)]
pub struct LimitReached {
    pub service: Service,
    pub tenant: String,
    pub limit: usize,
    /// Sessions still usable (Connecting, Connected, Expiring).
    pub open: Vec<SessionInfo>,
    /// Sessions "Disconnect stale" would close.
    pub stale: Vec<SessionInfo>,
}

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |s: &SessionInfo| {
            format!(
                "'{}' ({}, {})",
                s.profile_name,
                s.state.label(),
                s.account.as_deref().unwrap_or("?")
            )
        };
        write!(
            f,
            "Tenant {} already has {} of the {} {} sessions allowed; one more is refused.",
            self.tenant,
            self.open.len() + self.stale.len(),
            self.limit,
            self.service.short()
        )?;
        if !self.open.is_empty() {
            let v: Vec<String> = self.open.iter().map(name).collect();
            write!(f, " Open: {}.", v.join(", "))?;
        }
        if !self.stale.is_empty() {
            let v: Vec<String> = self.stale.iter().map(name).collect();
            write!(f, " Stale: {}.", v.join(", "))?;
            write!(
                f,
                " Disconnect the stale sessions, or one you no longer need"
            )?;
        } else {
            write!(f, " Disconnect one you no longer need")?;
        }
        write!(f, ", or raise the limit in the settings.")
    }
}

/// Why a registry command failed. `Display` is the plain explanation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    #[error("no session with connection id {0}")]
    NotFound(Uuid),
    #[error("{0}")]
    LimitReached(LimitReached),
    /// No token: the sign-in is needed (again).
    #[error("{}", .0.message)]
    SignIn(TokenUnavailable),
    /// Signed in, but the access check (or a run) was refused by the service.
    #[error("{0}")]
    Service(RestError),
    #[error("the session '{name}' is {state:?}; {hint}")]
    NotUsable {
        name: String,
        state: SessionState,
        hint: &'static str,
    },
    #[error("{0}")]
    Config(String),
    #[error("the session registry has stopped")]
    Closed,
}

/// Every change of the registry.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    Added(SessionInfo),
    /// State or any field changed (the whole current view).
    Changed(SessionInfo),
    /// Disconnected and gone from the list.
    Removed {
        connection_id: Uuid,
    },
    /// A connect was refused by the limit guard.
    LimitRefused(LimitReached),
}

type Reply<T> = oneshot::Sender<T>;

/// Commands of the registry (what the window and the CLI send).
pub enum SessionCommand {
    Connect {
        request: ConnectRequest,
        reply: Reply<Result<SessionInfo, SessionError>>,
    },
    Run {
        connection_id: Uuid,
        request: CmdletRequest,
        reply: Reply<Result<RunHandle, SessionError>>,
    },
    Disconnect {
        connection_id: Uuid,
        /// Also forget the cached sign-in.
        sign_out: bool,
        reply: Reply<Result<SessionInfo, SessionError>>,
    },
    DisconnectStale {
        reply: Reply<Vec<SessionInfo>>,
    },
    DisconnectAll {
        sign_out: bool,
        reply: Reply<Vec<SessionInfo>>,
    },
    List {
        reply: Reply<Vec<SessionInfo>>,
    },
}

/// A handle on the registry actor. Cheap to clone; the actor stops when every handle is gone.
#[derive(Clone)]
pub struct SessionRegistry {
    commands: mpsc::Sender<SessionCommand>,
    events: broadcast::Sender<SessionEvent>,
}

impl SessionRegistry {
    /// Starts the actor on the current tokio runtime.
    pub fn start(settings: RegistrySettings) -> SessionRegistry {
        let (commands, rx) = mpsc::channel(64);
        let (events, _) = broadcast::channel(1024);
        let (itx, irx) = mpsc::unbounded_channel();
        let actor = Actor {
            settings,
            sessions: Vec::new(),
            events: events.clone(),
            internal: itx,
        };
        tokio::spawn(actor.run(rx, irx));
        SessionRegistry { commands, events }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// The raw command channel (for the window's command loop).
    pub fn commands(&self) -> mpsc::Sender<SessionCommand> {
        self.commands.clone()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> SessionCommand,
    ) -> Result<T, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| SessionError::Closed)?;
        rx.await.map_err(|_| SessionError::Closed)
    }

    pub async fn connect(&self, request: ConnectRequest) -> Result<SessionInfo, SessionError> {
        self.ask(|reply| SessionCommand::Connect { request, reply })
            .await?
    }

    pub async fn run(
        &self,
        connection_id: Uuid,
        request: CmdletRequest,
    ) -> Result<RunHandle, SessionError> {
        self.ask(|reply| SessionCommand::Run {
            connection_id,
            request,
            reply,
        })
        .await?
    }

    pub async fn disconnect(
        &self,
        connection_id: Uuid,
        sign_out: bool,
    ) -> Result<SessionInfo, SessionError> {
        self.ask(|reply| SessionCommand::Disconnect {
            connection_id,
            sign_out,
            reply,
        })
        .await?
    }

    pub async fn disconnect_stale(&self) -> Result<Vec<SessionInfo>, SessionError> {
        self.ask(|reply| SessionCommand::DisconnectStale { reply })
            .await
    }

    pub async fn disconnect_all(&self, sign_out: bool) -> Result<Vec<SessionInfo>, SessionError> {
        self.ask(|reply| SessionCommand::DisconnectAll { sign_out, reply })
            .await
    }

    pub async fn list(&self) -> Result<Vec<SessionInfo>, SessionError> {
        self.ask(|reply| SessionCommand::List { reply }).await
    }
}

/// The state time alone implies, for a session that is up (not Connecting, Failed or
/// Disconnected). Pure, for the tick.
pub fn derive_state(
    now: DateTime<Utc>,
    token_expires: Option<DateTime<Utc>>,
    refresh_failed: bool,
    last_activity: DateTime<Utc>,
    settings: &RegistrySettings,
) -> SessionState {
    let left = token_expires.map(|e| e - now);
    let window = chrono::Duration::from_std(settings.expiring_window).unwrap_or_default();
    let idle = chrono::Duration::from_std(settings.idle_timeout).unwrap_or(chrono::Duration::MAX);
    if refresh_failed && left.is_some_and(|l| l <= chrono::Duration::zero()) {
        SessionState::Expired
    } else if now - last_activity > idle {
        SessionState::Stale
    } else if refresh_failed && left.is_some_and(|l| l <= window) {
        SessionState::Expiring
    } else {
        SessionState::Connected
    }
}

enum Internal {
    Token {
        id: Uuid,
        result: Result<AccessToken, TokenUnavailable>,
    },
    Probe {
        id: Uuid,
        result: Result<(), RestError>,
    },
    RunFinished {
        id: Uuid,
        error: Option<RestError>,
    },
    Refreshed {
        id: Uuid,
        result: Result<AccessToken, TokenUnavailable>,
    },
}

struct Session {
    info: SessionInfo,
    request: ConnectRequest,
    rest: Option<Arc<RestClient>>,
    connect_reply: Option<Reply<Result<SessionInfo, SessionError>>>,
    refresh_in_flight: bool,
    refresh_failed: bool,
    runs: Vec<tokio::task::AbortHandle>,
}

struct Actor {
    settings: RegistrySettings,
    sessions: Vec<Session>,
    events: broadcast::Sender<SessionEvent>,
    internal: mpsc::UnboundedSender<Internal>,
}

impl Actor {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<SessionCommand>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) {
        let mut tick = tokio::time::interval(self.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(c) => self.command(c),
                    None => break,
                },
                Some(i) = internal.recv() => self.internal(i),
                _ = tick.tick() => self.tick(),
            }
        }
        // Every handle is gone: close what is open.
        for s in &mut self.sessions {
            for r in s.runs.drain(..) {
                r.abort();
            }
        }
    }

    fn emit(&self, e: SessionEvent) {
        let _ = self.events.send(e);
    }

    fn find(&mut self, id: Uuid) -> Option<&mut Session> {
        self.sessions
            .iter_mut()
            .find(|s| s.info.connection_id == id)
    }

    fn refresh_stats(s: &mut Session) {
        if let Some(rest) = &s.rest {
            let st = rest.stats();
            s.info.requests = st.requests;
            s.info.endpoint = st.endpoint;
            if let Some(a) = st.last_activity {
                s.info.last_activity = s.info.last_activity.max(a);
            }
            if let Some(e) = st.token_expires
                && s.info.token_expires.is_none_or(|old| e > old)
            {
                s.info.token_expires = Some(e);
                s.refresh_failed = false;
            }
        }
    }

    fn command(&mut self, cmd: SessionCommand) {
        match cmd {
            SessionCommand::Connect { request, reply } => self.connect(request, reply),
            SessionCommand::Run {
                connection_id,
                request,
                reply,
            } => {
                let r = self.start_run(connection_id, request);
                let _ = reply.send(r);
            }
            SessionCommand::Disconnect {
                connection_id,
                sign_out,
                reply,
            } => match self.remove(connection_id) {
                Some((info, hook)) => {
                    if sign_out && let Some(hook) = hook {
                        tokio::spawn(async move {
                            let r = hook.sign_out().await;
                            let _ = reply.send(r.map(|_| info).map_err(SessionError::Config));
                        });
                    } else {
                        let _ = reply.send(Ok(info));
                    }
                }
                None => {
                    let _ = reply.send(Err(SessionError::NotFound(connection_id)));
                }
            },
            SessionCommand::DisconnectStale { reply } => {
                let ids: Vec<Uuid> = self
                    .sessions
                    .iter()
                    .filter(|s| s.info.state.is_stale())
                    .map(|s| s.info.connection_id)
                    .collect();
                let out = ids
                    .into_iter()
                    .filter_map(|id| self.remove(id).map(|(i, _)| i))
                    .collect();
                let _ = reply.send(out);
            }
            SessionCommand::DisconnectAll { sign_out, reply } => {
                let ids: Vec<Uuid> = self.sessions.iter().map(|s| s.info.connection_id).collect();
                let mut out = Vec::new();
                let mut hooks = Vec::new();
                for id in ids {
                    if let Some((i, h)) = self.remove(id) {
                        out.push(i);
                        if let Some(h) = h {
                            hooks.push(h);
                        }
                    }
                }
                if sign_out {
                    tokio::spawn(async move {
                        for h in hooks {
                            let _ = h.sign_out().await;
                        }
                        let _ = reply.send(out);
                    });
                } else {
                    let _ = reply.send(out);
                }
            }
            SessionCommand::List { reply } => {
                for s in &mut self.sessions {
                    Self::refresh_stats(s);
                }
                let _ = reply.send(self.sessions.iter().map(|s| s.info.clone()).collect());
            }
        }
    }

    fn connect(
        &mut self,
        request: ConnectRequest,
        reply: Reply<Result<SessionInfo, SessionError>>,
    ) {
        if let Err(e) = crate::engine::http::check_url(&request.target.rest_base) {
            let _ = reply.send(Err(SessionError::Config(format!(
                "profile '{}': {e}",
                request.profile_name
            ))));
            return;
        }
        let now = Utc::now();
        let id = Uuid::new_v4();
        let info = SessionInfo {
            connection_id: id,
            profile_id: request.profile_id,
            profile_name: request.profile_name.clone(),
            service: request.service,
            account: None,
            tenant: request.target.tenant_override.clone(),
            endpoint: request.target.rest_base.trim_end_matches('/').to_string(),
            created: now,
            last_activity: now,
            token_expires: None,
            requests: 0,
            last_error: None,
            state: SessionState::Connecting,
        };
        let tokens = request.tokens.clone();
        self.sessions.push(Session {
            info: info.clone(),
            request,
            rest: None,
            connect_reply: Some(reply),
            refresh_in_flight: false,
            refresh_failed: false,
            runs: Vec::new(),
        });
        self.emit(SessionEvent::Added(info));
        let itx = self.internal.clone();
        tokio::spawn(async move {
            let result = tokens.token(false).await;
            let _ = itx.send(Internal::Token { id, result });
        });
    }

    fn fail(&mut self, id: Uuid, message: String, err: SessionError) {
        let Some(s) = self.find(id) else { return };
        s.info.state = SessionState::Failed;
        s.info.last_error = Some(message);
        let reply = s.connect_reply.take();
        let info = s.info.clone();
        self.emit(SessionEvent::Changed(info));
        if let Some(r) = reply {
            let _ = r.send(Err(err));
        }
    }

    fn internal(&mut self, msg: Internal) {
        match msg {
            Internal::Token { id, result } => match result {
                Err(e) => self.fail(id, e.message.clone(), SessionError::SignIn(e)),
                Ok(token) => self.token_ready(id, token),
            },
            Internal::Probe { id, result } => {
                let Some(s) = self.find(id) else { return };
                Self::refresh_stats(s);
                match result {
                    Ok(()) => {
                        s.info.state = SessionState::Connected;
                        s.info.last_activity = Utc::now();
                        let info = s.info.clone();
                        let reply = s.connect_reply.take();
                        self.emit(SessionEvent::Changed(info.clone()));
                        if let Some(r) = reply {
                            let _ = r.send(Ok(info));
                        }
                    }
                    Err(e) => {
                        let msg = e.message.clone();
                        self.fail(id, msg, SessionError::Service(e));
                    }
                }
            }
            Internal::RunFinished { id, error } => {
                let settings = self.settings.clone();
                let Some(s) = self.find(id) else { return };
                s.runs.retain(|r| !r.is_finished());
                Self::refresh_stats(s);
                s.info.last_activity = Utc::now();
                if let Some(e) = error {
                    if e.kind == super::rest::RestErrorKind::Auth
                        && e.code.as_deref() == Some("SignInRequired")
                    {
                        s.refresh_failed = true;
                    }
                    s.info.last_error = Some(e.to_string());
                }
                s.info.state = derive_state(
                    Utc::now(),
                    s.info.token_expires,
                    s.refresh_failed,
                    s.info.last_activity,
                    &settings,
                );
                let info = s.info.clone();
                self.emit(SessionEvent::Changed(info));
            }
            Internal::Refreshed { id, result } => {
                let settings = self.settings.clone();
                let Some(s) = self.find(id) else { return };
                s.refresh_in_flight = false;
                match result {
                    Ok(t) => {
                        if s.info.token_expires.is_some_and(|old| t.expires_at <= old) {
                            // The provider handed back the same token: it could not refresh.
                            s.refresh_failed = true;
                        } else {
                            s.info.token_expires = Some(t.expires_at);
                            s.refresh_failed = false;
                        }
                    }
                    Err(e) => {
                        s.refresh_failed = true;
                        s.info.last_error = Some(e.message);
                    }
                }
                let before = s.info.state;
                if !matches!(before, SessionState::Connecting | SessionState::Failed) {
                    s.info.state = derive_state(
                        Utc::now(),
                        s.info.token_expires,
                        s.refresh_failed,
                        s.info.last_activity,
                        &settings,
                    );
                }
                let info = s.info.clone();
                self.emit(SessionEvent::Changed(info));
            }
        }
    }

    fn token_ready(&mut self, id: Uuid, token: AccessToken) {
        let limits = self.settings.limits;
        let mut rest_cfg = self.settings.rest.clone();
        let Some(s) = self.find(id) else { return };
        let tenant = s
            .request
            .target
            .tenant_override
            .clone()
            .unwrap_or_else(|| token.tenant_id.clone());
        s.info.tenant = Some(tenant.clone());
        s.info.account = token
            .account
            .clone()
            .or_else(|| s.request.target.app_only_organization.clone());
        s.info.token_expires = Some(token.expires_at);
        let service = s.info.service;
        // The limit guard.
        let limit = limits.for_service(service);
        let others: Vec<SessionInfo> = self
            .sessions
            .iter()
            .filter(|o| {
                o.info.connection_id != id
                    && o.info.service == service
                    && o.info.state != SessionState::Disconnected
                    && o.info
                        .tenant
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(&tenant))
            })
            .map(|o| o.info.clone())
            .collect();
        if others.len() >= limit {
            let (stale, open): (Vec<_>, Vec<_>) =
                others.into_iter().partition(|i| i.state.is_stale());
            let lr = LimitReached {
                service,
                tenant,
                limit,
                open,
                stale,
            };
            let reply = self.find(id).and_then(|s| s.connect_reply.take());
            self.sessions.retain(|s| s.info.connection_id != id);
            self.emit(SessionEvent::Removed { connection_id: id });
            self.emit(SessionEvent::LimitRefused(lr.clone()));
            if let Some(r) = reply {
                let _ = r.send(Err(SessionError::LimitReached(lr)));
            }
            return;
        }
        let Some(s) = self.find(id) else { return };
        rest_cfg.page_size = s.request.page_size;
        if let Some(c) = &s.request.http {
            rest_cfg.http.client = Some(c.clone());
        }
        let rest = match RestClient::with_connection_id(
            s.request.target.clone(),
            s.request.tokens.clone(),
            rest_cfg,
            id,
        ) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.message.clone();
                self.fail(id, msg, SessionError::Service(e));
                return;
            }
        };
        s.rest = Some(rest.clone());
        let info = s.info.clone();
        self.emit(SessionEvent::Changed(info));
        let itx = self.internal.clone();
        let probe = probe_request(service);
        let h = tokio::spawn(async move {
            let result = rest.invoke(probe).await.map(|_| ());
            let _ = itx.send(Internal::Probe { id, result });
        });
        if let Some(s) = self.find(id) {
            s.runs.push(h.abort_handle());
        }
    }

    fn start_run(&mut self, id: Uuid, request: CmdletRequest) -> Result<RunHandle, SessionError> {
        let itx = self.internal.clone();
        let Some(s) = self.find(id) else {
            return Err(SessionError::NotFound(id));
        };
        let rest = match (&s.rest, s.info.state) {
            (_, SessionState::Connecting) => {
                return Err(SessionError::NotUsable {
                    name: s.info.profile_name.clone(),
                    state: s.info.state,
                    hint: "wait until it is connected",
                });
            }
            (Some(r), _) => r.clone(),
            (None, _) => {
                return Err(SessionError::NotUsable {
                    name: s.info.profile_name.clone(),
                    state: s.info.state,
                    hint: "connect again",
                });
            }
        };
        let mut inner = rest.start(request);
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            let mut error = None;
            while let Some(ev) = inner.events.recv().await {
                if let RunEvent::Failed(e) = &ev {
                    error = Some(e.clone());
                }
                if tx.send(ev).await.is_err() {
                    break;
                }
            }
            let _ = itx.send(Internal::RunFinished { id, error });
        });
        s.runs.retain(|r| !r.is_finished());
        s.runs.push(task.abort_handle());
        s.info.last_activity = Utc::now();
        if s.info.state == SessionState::Stale {
            s.info.state = SessionState::Connected;
        }
        let info = s.info.clone();
        self.emit(SessionEvent::Changed(info));
        Ok(RunHandle::new(rx, task))
    }

    /// Closes a session: aborts its runs, drops its client and tokens, emits the events.
    fn remove(&mut self, id: Uuid) -> Option<(SessionInfo, Option<Arc<dyn SignOut>>)> {
        let pos = self
            .sessions
            .iter()
            .position(|s| s.info.connection_id == id)?;
        let mut s = self.sessions.remove(pos);
        Self::refresh_stats(&mut s);
        for r in s.runs.drain(..) {
            r.abort();
        }
        s.rest = None;
        s.info.state = SessionState::Disconnected;
        if let Some(r) = s.connect_reply.take() {
            let _ = r.send(Err(SessionError::NotUsable {
                name: s.info.profile_name.clone(),
                state: SessionState::Disconnected,
                hint: "it was disconnected while connecting",
            }));
        }
        let hook = s.request.sign_out.clone();
        let info = s.info.clone();
        drop(s); // the session's token provider goes with it
        self.emit(SessionEvent::Changed(info.clone()));
        self.emit(SessionEvent::Removed { connection_id: id });
        Some((info, hook))
    }

    fn tick(&mut self) {
        let now = Utc::now();
        let window = chrono::Duration::from_std(self.settings.expiring_window).unwrap_or_default();
        let mut changed = Vec::new();
        for s in &mut self.sessions {
            if matches!(
                s.info.state,
                SessionState::Connecting | SessionState::Failed | SessionState::Disconnected
            ) {
                continue;
            }
            Self::refresh_stats(s);
            let needs_refresh = s.info.token_expires.is_some_and(|e| e - now <= window);
            // Idle (Stale) sessions are not kept alive: their next run asks for a token anyway.
            if needs_refresh
                && !s.refresh_in_flight
                && !s.refresh_failed
                && s.info.state != SessionState::Stale
            {
                s.refresh_in_flight = true;
                let tokens = s.request.tokens.clone();
                let itx = self.internal.clone();
                let id = s.info.connection_id;
                tokio::spawn(async move {
                    // Forced: "near the end" here may still be "fresh" to the token cache.
                    let result = tokens.token(true).await;
                    let _ = itx.send(Internal::Refreshed { id, result });
                });
            }
            let st = derive_state(
                now,
                s.info.token_expires,
                s.refresh_failed,
                s.info.last_activity,
                &self.settings,
            );
            if st != s.info.state {
                s.info.state = st;
                changed.push(s.info.clone());
            }
        }
        for c in changed {
            self.emit(SessionEvent::Changed(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_from_time() {
        let s = RegistrySettings {
            idle_timeout: Duration::from_secs(600),
            expiring_window: Duration::from_secs(300),
            ..Default::default()
        };
        let now = Utc::now();
        let m = chrono::Duration::minutes;
        assert_eq!(
            derive_state(now, Some(now + m(30)), false, now, &s),
            SessionState::Connected
        );
        // Near the end but refreshable: still Connected (the refresh is under way).
        assert_eq!(
            derive_state(now, Some(now + m(2)), false, now, &s),
            SessionState::Connected
        );
        assert_eq!(
            derive_state(now, Some(now + m(2)), true, now, &s),
            SessionState::Expiring
        );
        assert_eq!(
            derive_state(now, Some(now - m(1)), true, now, &s),
            SessionState::Expired
        );
        assert_eq!(
            derive_state(now, Some(now + m(30)), false, now - m(11), &s),
            SessionState::Stale
        );
        assert_eq!(
            derive_state(now, Some(now - m(1)), true, now - m(11), &s),
            SessionState::Expired
        );
        assert!(SessionState::Expired.is_stale() && SessionState::Failed.is_stale());
        assert!(!SessionState::Expiring.is_stale() && !SessionState::Connected.is_stale());
    }

    #[test]
    fn probes_per_service() {
        assert_eq!(
            probe_request(Service::ExchangeOnline).cmdlet,
            "Get-AcceptedDomain"
        );
        assert_eq!(
            probe_request(Service::Protection).cmdlet,
            "Get-AcceptedDomain"
        );
        assert_eq!(
            probe_request(Service::SecurityCompliance).cmdlet,
            "Get-RetentionCompliancePolicy"
        );
    }
}
