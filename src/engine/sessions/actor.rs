//! The registry's actor: it owns the sessions, answers [`SessionCommand`]s, takes the results
//! of its own tasks (the token, the access check, a run's end, a refresh) as [`Internal`]
//! messages, re-derives time-based states on a tick, and emits every change as a
//! [`SessionEvent`].

#![allow(clippy::result_large_err)]

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::{
    ConnectProgress, ConnectRequest, LimitReached, RegistrySettings, Reply, SessionCommand,
    SessionError, SessionEvent, SessionInfo, SignOut, derive_state, probe_request,
};
use crate::engine::rest::{
    CmdletRequest, RestClient, RestError, RestErrorKind, RunEvent, RunHandle,
};
use crate::engine::token::{AccessToken, TokenUnavailable};
use crate::model::SessionState;

/// Starts the actor on the current tokio runtime.
pub(super) fn spawn(
    settings: RegistrySettings,
    events: broadcast::Sender<SessionEvent>,
    commands: mpsc::Receiver<SessionCommand>,
) {
    let (itx, irx) = mpsc::unbounded_channel();
    let actor = Actor {
        settings,
        sessions: Vec::new(),
        events,
        internal: itx,
    };
    tokio::spawn(actor.run(commands, irx));
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
    /// The access check is retrying (or was redirected): shown on the Connecting session.
    ProbeNote {
        id: Uuid,
        note: String,
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
        match &e {
            SessionEvent::Added(i) | SessionEvent::Changed(i) => tracing::debug!(
                connection_id = %i.connection_id,
                profile = i.profile_name,
                endpoint = crate::engine::http::host_of(&i.endpoint),
                state = ?i.state,
                requests = i.requests,
                error = i.last_error.as_deref().unwrap_or(""),
                "session"
            ),
            SessionEvent::Removed { connection_id } => {
                tracing::info!(connection_id = %connection_id, "session removed")
            }
            SessionEvent::LimitRefused(_) => tracing::info!("session refused by the limit guard"),
        }
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
            if st.rate.is_some() {
                s.info.rate = st.rate;
            }
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
            SessionCommand::Client {
                connection_id,
                reply,
            } => {
                let _ = reply.send(self.client(connection_id));
            }
            SessionCommand::Disconnect {
                connection_id,
                sign_out,
                reply,
            } => self.disconnect(connection_id, sign_out, reply),
            SessionCommand::SetIdleTimeout { idle } => {
                self.settings.idle_timeout = idle;
                self.tick();
            }
            SessionCommand::DisconnectStale { reply } => {
                let _ = reply.send(self.disconnect_stale());
            }
            SessionCommand::DisconnectAll { sign_out, reply } => {
                self.disconnect_all(sign_out, reply)
            }
            SessionCommand::List { reply } => {
                for s in &mut self.sessions {
                    Self::refresh_stats(s);
                }
                let _ = reply.send(self.sessions.iter().map(|s| s.info.clone()).collect());
            }
        }
    }

    /// Removes one session; with `sign_out`, its cached sign-in goes too before the reply.
    fn disconnect(
        &mut self,
        connection_id: Uuid,
        sign_out: bool,
        reply: Reply<Result<SessionInfo, SessionError>>,
    ) {
        let Some((info, hook)) = self.remove(connection_id) else {
            let _ = reply.send(Err(SessionError::NotFound(connection_id)));
            return;
        };
        match hook.filter(|_| sign_out) {
            Some(hook) => {
                tokio::spawn(async move {
                    let r = hook.sign_out().await;
                    let _ = reply.send(r.map(|_| info).map_err(SessionError::Config));
                });
            }
            None => {
                let _ = reply.send(Ok(info));
            }
        }
    }

    /// Removes the stale sessions; what they were.
    fn disconnect_stale(&mut self) -> Vec<SessionInfo> {
        let ids: Vec<Uuid> = self
            .sessions
            .iter()
            .filter(|s| s.info.state.is_stale())
            .map(|s| s.info.connection_id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.remove(id).map(|(i, _)| i))
            .collect()
    }

    /// Removes every session; with `sign_out`, their cached sign-ins go too before the reply.
    fn disconnect_all(&mut self, sign_out: bool, reply: Reply<Vec<SessionInfo>>) {
        let ids: Vec<Uuid> = self.sessions.iter().map(|s| s.info.connection_id).collect();
        let mut out = Vec::new();
        let mut hooks = Vec::new();
        for id in ids {
            if let Some((i, h)) = self.remove(id) {
                out.push(i);
                hooks.extend(h);
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
            rate: None,
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
            Internal::Probe { id, result } => self.probed(id, result),
            Internal::ProbeNote { id, note } => self.probe_note(id, note),
            Internal::RunFinished { id, error } => self.run_finished(id, error),
            Internal::Refreshed { id, result } => self.refreshed(id, result),
        }
    }

    /// The access check ended: Connected (the connect's answer), or Failed.
    fn probed(&mut self, id: Uuid, result: Result<(), RestError>) {
        let Some(s) = self.find(id) else { return };
        Self::refresh_stats(s);
        match result {
            Ok(()) => {
                s.info.state = SessionState::Connected;
                s.info.last_activity = Utc::now();
                s.info.last_error = None; // the retries' notes
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

    /// A retry of the access check, told on the session while it is connecting.
    fn probe_note(&mut self, id: Uuid, note: String) {
        let Some(s) = self.find(id) else { return };
        if s.info.state != SessionState::Connecting {
            return;
        }
        Self::refresh_stats(s);
        s.info.last_error = Some(note);
        let info = s.info.clone();
        self.emit(SessionEvent::Changed(info));
    }

    /// A run ended: its error (a lost sign-in marks the refresh failed) and the state now.
    fn run_finished(&mut self, id: Uuid, error: Option<RestError>) {
        let settings = self.settings.clone();
        let Some(s) = self.find(id) else { return };
        s.runs.retain(|r| !r.is_finished());
        Self::refresh_stats(s);
        s.info.last_activity = Utc::now();
        if let Some(e) = error {
            if e.kind == RestErrorKind::Auth && e.code.as_deref() == Some("SignInRequired") {
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

    /// A refresh ahead of expiry ended: the new expiry, or the refresh marked failed.
    fn refreshed(&mut self, id: Uuid, result: Result<AccessToken, TokenUnavailable>) {
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
        if !matches!(
            s.info.state,
            SessionState::Connecting | SessionState::Failed
        ) {
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

    /// The token arrived: the session's tenant and account, the limit guard, then the access
    /// check over the session's REST client.
    fn token_ready(&mut self, id: Uuid, token: AccessToken) {
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
        if let Some(lr) = self.over_limit(id, service, tenant) {
            self.refuse(id, lr);
            return;
        }
        let mut rest_cfg = self.settings.rest.clone();
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
        let progress = s.request.progress.clone();
        self.emit(SessionEvent::Changed(info));
        let itx = self.internal.clone();
        let probe = rest.start(probe_request(service));
        let h = tokio::spawn(async move {
            let result = watch_probe(id, probe, progress, &itx).await;
            let _ = itx.send(Internal::Probe { id, result });
        });
        if let Some(s) = self.find(id) {
            s.runs.push(h.abort_handle());
        }
    }

    /// The limit guard: the other sessions of (tenant, service), when one more is too many.
    fn over_limit(
        &self,
        id: Uuid,
        service: crate::model::Service,
        tenant: String,
    ) -> Option<LimitReached> {
        let limit = self.settings.limits.for_service(service);
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
        if others.len() < limit {
            return None;
        }
        let (stale, open) = others.into_iter().partition(|i| i.state.is_stale());
        Some(LimitReached {
            service,
            tenant,
            limit,
            open,
            stale,
        })
    }

    /// Drops the refused session and answers its connect with the limit guard's refusal.
    fn refuse(&mut self, id: Uuid, lr: LimitReached) {
        let reply = self.find(id).and_then(|s| s.connect_reply.take());
        self.sessions.retain(|s| s.info.connection_id != id);
        self.emit(SessionEvent::Removed { connection_id: id });
        self.emit(SessionEvent::LimitRefused(lr.clone()));
        if let Some(r) = reply {
            let _ = r.send(Err(SessionError::LimitReached(lr)));
        }
    }

    /// The connection's REST client, for work that is not one streamed run (a `$batch`).
    fn client(&mut self, id: Uuid) -> Result<Arc<RestClient>, SessionError> {
        let Some(s) = self.find(id) else {
            return Err(SessionError::NotFound(id));
        };
        match (&s.rest, s.info.state) {
            (Some(r), st) if st != SessionState::Connecting => Ok(r.clone()),
            _ => Err(SessionError::NotUsable {
                name: s.info.profile_name.clone(),
                state: s.info.state,
                hint: "wait until it is connected, or connect again",
            }),
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
        let (tx, rx) = mpsc::channel(crate::engine::rest::RUN_EVENTS_BUFFER);
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

/// Follows the access check to its end, telling its retries and redirects on the way.
async fn watch_probe(
    id: Uuid,
    mut probe: RunHandle,
    progress: Option<mpsc::UnboundedSender<ConnectProgress>>,
    itx: &mpsc::UnboundedSender<Internal>,
) -> Result<(), RestError> {
    while let Some(ev) = probe.events.recv().await {
        let told = match ev {
            RunEvent::Done { .. } => return Ok(()),
            RunEvent::Failed(e) => return Err(e),
            RunEvent::Retrying {
                attempt,
                delay,
                reason,
            } => ConnectProgress::Retrying {
                attempt,
                delay,
                reason,
            },
            RunEvent::Redirected { host } => ConnectProgress::Redirected { host },
            RunEvent::Page { .. }
            | RunEvent::Warning(_)
            | RunEvent::Confirmation(_)
            | RunEvent::RowError(_)
            | RunEvent::RateBudget(_) => continue,
        };
        let _ = itx.send(Internal::ProbeNote {
            id,
            note: told.to_string(),
        });
        if let Some(p) = &progress {
            let _ = p.send(told);
        }
    }
    Err(RestError::new(
        RestErrorKind::Transport,
        "",
        "the access check stopped before it finished",
    ))
}
