//! The driver's session jobs: the registry's sessions as the window's rows (the registry's id is
//! the row's [`ConnId`], its state passes through unchanged), the limit guard's dialog, and the
//! disconnect and refresh commands.

use super::{Driver, notice};
use crate::engine::sessions::{LimitReached, SessionEvent, SessionInfo, probe_request};
use crate::model::SessionState;
use crate::ui::bridge::{ConnId, LimitView, NoticeLevel, RateView, SessionView, UiEvent};

/// `host[:port]` of the session's endpoint (the endpoint itself when it is not a URL).
fn endpoint_host(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| endpoint.to_string())
}

/// The session row's gauge of a budget the service announced.
pub(super) fn rate_view(b: &crate::engine::rest::RateBudget) -> RateView {
    RateView {
        limit: b.limit,
        remaining: b.remaining,
        at: b.at,
        full_at: b.full_at(),
        paced_until: b.paced_until(),
    }
}

impl Driver {
    /// The tenant a row names: demo mode knows the made-up tenants' display names; elsewhere the
    /// profile's tenant or DelegatedOrganization, else the account's domain, else the tenant id.
    fn tenant_name(&self, s: &SessionInfo) -> String {
        let demo_name = self.sim.as_ref().and_then(|h| {
            let t = s.tenant.as_deref()?;
            h.world()
                .tenants
                .iter()
                .find(|x| {
                    x.id.to_string().eq_ignore_ascii_case(t)
                        || x.domains.iter().any(|d| d.eq_ignore_ascii_case(t))
                })
                .map(|x| x.display_name.clone())
        });
        demo_name
            .or_else(|| {
                self.store
                    .get(s.profile_id)
                    .and_then(|p| p.target_tenant().map(String::from))
            })
            .or_else(|| {
                s.account
                    .as_deref()
                    .and_then(|a| a.split_once('@'))
                    .map(|(_, d)| d.to_string())
            })
            .or_else(|| s.tenant.clone())
            .unwrap_or_default()
    }

    pub(super) fn view_of(&self, s: &SessionInfo) -> SessionView {
        SessionView {
            conn: ConnId(s.connection_id),
            profile_id: s.profile_id,
            profile_name: s.profile_name.clone(),
            color: self.store.get(s.profile_id).and_then(|p| p.color.clone()),
            service: s.service,
            account: s.account.clone().unwrap_or_default(),
            tenant: self.tenant_name(s),
            endpoint_host: endpoint_host(&s.endpoint),
            state: s.state,
            last_error: s.last_error.clone(),
            token_expires_at: s.token_expires,
            last_activity: s.last_activity,
            requests: s.requests,
            rate: s.rate.as_ref().map(rate_view),
        }
    }

    fn publish_sessions(&self) {
        let views = self.sessions.iter().map(|s| self.view_of(s)).collect();
        self.send(UiEvent::SessionsChanged(views));
    }

    pub(super) fn registry_event(&mut self, e: SessionEvent) {
        match e {
            SessionEvent::Added(info) | SessionEvent::Changed(info) => {
                if info.state == SessionState::Disconnected {
                    return;
                }
                let slot = self
                    .sessions
                    .iter_mut()
                    .find(|s| s.connection_id == info.connection_id);
                let was = slot.as_ref().map(|s| s.state);
                if self.sim.is_some()
                    && info.state == SessionState::Connected
                    && was != Some(SessionState::Connected)
                {
                    // Demo mode only: the scripted system test waits for this line.
                    eprintln!("demo: session connected: {}", info.profile_name);
                }
                match slot {
                    Some(slot) => *slot = info,
                    None => self.sessions.push(info),
                }
                self.publish_sessions();
            }
            SessionEvent::Removed { connection_id } => {
                self.sessions.retain(|s| s.connection_id != connection_id);
                if let Some(h) = self.runs.remove(&ConnId(connection_id)) {
                    h.abort();
                }
                self.publish_sessions();
            }
            // The refused connect's own result carries it (see `signin::connected`).
            SessionEvent::LimitRefused(_) => {}
        }
    }

    /// Events were lost (the loop fell behind): take the registry's list as it is now.
    pub(super) async fn resync_sessions(&mut self) {
        if let Ok(list) = self.connector.registry().list().await {
            self.sessions = list
                .into_iter()
                .filter(|s| s.state != SessionState::Disconnected)
                .collect();
            self.publish_sessions();
        }
    }

    pub(super) fn limit_view(&self, lr: &LimitReached) -> LimitView {
        let all: Vec<&SessionInfo> = lr.stale.iter().chain(lr.open.iter()).collect();
        LimitView {
            tenant: all
                .first()
                .map(|s| self.tenant_name(s))
                .unwrap_or_else(|| lr.tenant.clone()),
            service: lr.service,
            limit: lr.limit as u32,
            sessions: all.into_iter().map(|s| self.view_of(s)).collect(),
        }
    }

    pub(super) async fn disconnect(&self, conn: ConnId) {
        if let Err(e) = self.connector.registry().disconnect(conn.0, false).await {
            self.send(notice(NoticeLevel::Error, e.to_string()));
        }
    }

    pub(super) async fn disconnect_stale(&self) {
        match self.connector.registry().disconnect_stale().await {
            Ok(v) => self.send(notice(
                NoticeLevel::Info,
                format!(
                    "Disconnected {}",
                    crate::model::text::count(v.len(), "stale session")
                ),
            )),
            Err(e) => self.send(notice(NoticeLevel::Error, e.to_string())),
        }
    }

    pub(super) async fn disconnect_all(&self) {
        match self.connector.registry().disconnect_all(false).await {
            Ok(v) => self.send(notice(
                NoticeLevel::Info,
                format!("Disconnected {} sessions", v.len()),
            )),
            Err(e) => self.send(notice(NoticeLevel::Error, e.to_string())),
        }
    }

    /// Settings → "Stale after": the registry's idle threshold (at least one minute).
    pub(super) async fn set_stale_after(&self, minutes: u32) {
        let idle = std::time::Duration::from_secs(u64::from(minutes.max(1)) * 60);
        if let Err(e) = self.connector.registry().set_idle_timeout(idle).await {
            self.send(notice(NoticeLevel::Error, e.to_string()));
        }
    }

    /// Proves the session again: the REST client refreshes its token when needed and an idle
    /// (Stale) session becomes Connected.
    pub(super) fn refresh_session(&self, conn: ConnId) {
        let Some(service) = self
            .sessions
            .iter()
            .find(|s| s.connection_id == conn.0)
            .map(|s| s.service)
        else {
            return;
        };
        let registry = self.connector.registry().clone();
        let ev = self.ev.clone();
        tokio::spawn(async move {
            let r = match registry.run(conn.0, probe_request(service)).await {
                Ok(h) => h.collect().await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = r {
                ev.send(notice(NoticeLevel::Error, format!("Refresh failed: {e}")));
            }
        });
    }
}
