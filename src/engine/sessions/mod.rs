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
//! so the session shows its pinned regional host). While the check retries (a throttled or
//! unavailable service can keep it going for minutes), each retry is told: as the Connecting
//! session's `last_error` ("retrying in 4.0 s: HTTP 503: …", cleared once connected) and, when
//! the connect asked for it, as a [`ConnectProgress`] on [`ConnectRequest::progress`].
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
//!
//! This file holds the contract (commands, events, settings, errors) and the handle; the actor
//! that owns the sessions is `actor.rs`.

#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

mod actor;

use super::rest::{CmdletRequest, RestConfig, RestError, RestTarget, RunHandle};
use super::token::{TokenProvider, TokenUnavailable};
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
    /// The tenant's request budget (`Rate-Limit-*`), when the service announced one.
    pub rate: Option<crate::engine::rest::RateBudget>,
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
    /// The profile's HTTP client (its proxy route, from `engine::proxy::Clients::for_profile` /
    /// `engine::proxy::client_for`); None: the registry's shared settings.
    pub http: Option<reqwest::Client>,
    /// Where the access check's progress goes (its retries), while the connect waits.
    pub progress: Option<mpsc::UnboundedSender<ConnectProgress>>,
}

/// What the access check of a connect says while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectProgress {
    /// A request of the check is retried after `delay` (attempt `attempt` failed).
    Retrying {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The service moved the session to another host (pinned).
    Redirected { host: String },
}

impl std::fmt::Display for ConnectProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectProgress::Retrying { delay, reason, .. } => {
                write!(f, "retrying in {:.1} s: {reason}", delay.as_secs_f64())
            }
            ConnectProgress::Redirected { host } => write!(f, "redirected to {host}"),
        }
    }
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
            progress: None,
        })
    }

    /// Routes this session's REST traffic through the profile's client.
    pub fn with_http(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Sends the access check's progress (its retries) to `tx`.
    pub fn with_progress(mut self, tx: mpsc::UnboundedSender<ConnectProgress>) -> Self {
        self.progress = Some(tx);
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
    /// The connection's REST client (for a `$batch`: `RestClient::bulk`).
    Client {
        connection_id: Uuid,
        reply: Reply<Result<std::sync::Arc<crate::engine::rest::RestClient>, SessionError>>,
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
    /// A new idle time after which a session is Stale (the window's setting); every session's
    /// state is derived again at once.
    SetIdleTimeout {
        idle: Duration,
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
        actor::spawn(settings, events.clone(), rx);
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

    /// The connection's REST client, for work that is not one streamed run (`RestClient::bulk`).
    pub async fn client(
        &self,
        connection_id: Uuid,
    ) -> Result<std::sync::Arc<crate::engine::rest::RestClient>, SessionError> {
        self.ask(|reply| SessionCommand::Client {
            connection_id,
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

    /// Sessions idle longer than `idle` are Stale from now on (those idle less are Connected
    /// again). Takes effect before any later command.
    pub async fn set_idle_timeout(&self, idle: Duration) -> Result<(), SessionError> {
        self.commands
            .send(SessionCommand::SetIdleTimeout { idle })
            .await
            .map_err(|_| SessionError::Closed)
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
