//! The driver's run jobs: a cmdlet line parsed, run in its session through the registry, and
//! its events streamed into the output pane (rows, warnings, retries, done or failed with the
//! catalogue's explanation); one run per session, cancellable. When the service asks before
//! acting (`@adminapi.confirmationmessage`) its question goes to the window, and the window's
//! yes comes back as [`UiCommand::RunConfirmed`](crate::ui::bridge::UiCommand): the same line
//! sent once more with `Confirm: false`. A `Get-OrganizationConfig` whose profile does not know
//! its tenant's display name yet keeps the name from its own rows (as a fan-out does).

use super::Driver;
use crate::engine::fanout::tenant_name;
use crate::engine::rest::{CmdletRequest, RestErrorKind, RunEvent, RunHandle};
use crate::model::KnownTenant;
use crate::model::cmdline::parse_cmdlet_line;
use crate::ui::bridge::{ConnId, EventSender, UiEvent};

impl Driver {
    /// Runs `line` in session `conn`; `confirmed`: with `Confirm: false` (the user answered the
    /// service's question).
    pub(super) fn run_line(&mut self, conn: ConnId, line: String, confirmed: bool) {
        self.run_line_with(conn, line, confirmed, false);
    }

    /// [`Self::run_line`]; `recovered`: the re-run after a claims challenge's sign-in (another
    /// challenge fails it with a plain message: never a second sign-in loop).
    pub(super) fn run_line_with(
        &mut self,
        conn: ConnId,
        line: String,
        confirmed: bool,
        recovered: bool,
    ) {
        let failed = move |explanation: String| UiEvent::RunFailed { conn, explanation };
        let request = match parse_cmdlet_line(&line) {
            Ok(p) if confirmed => CmdletRequest::from_line(p).confirmed(),
            Ok(p) => CmdletRequest::from_line(p),
            Err(e) => return self.send(failed(e.message)),
        };
        if let Err(e) = request.row_cap() {
            return self.send(failed(e.message));
        }
        let Some(session) = self.sessions.iter().find(|s| s.connection_id == conn.0) else {
            return self.send(failed("That session is gone; connect again.".into()));
        };
        let profile_id = session.profile_id;
        // Get-OrganizationConfig names the tenant: kept in the profile if it does not know it.
        let tenant_key = self
            .store
            .get(profile_id)
            .filter(|_| tenant_name::names_tenant(&request.cmdlet))
            .filter(|p| p.tenant_name_due(chrono::Utc::now()))
            .map(|p| p.tenant_key());
        // A cmdlet of another service fails as "not recognized": say that first.
        let hint = super::catalogue::hint(&self.catalogues, &request.cmdlet, session.service);
        if let Some(old) = self.runs.remove(&conn) {
            old.abort();
        }
        self.send(UiEvent::RunStarted {
            conn,
            line: line.clone(),
        });
        let registry = self.connector.registry().clone();
        let ev = self.ev.clone();
        let internal = self.internal_tx.clone();
        let request_cmdlet = request.cmdlet.clone();
        let task = tokio::spawn(async move {
            match registry.run(conn.0, request).await {
                Ok(handle) => {
                    let job = Job {
                        conn,
                        profile_id,
                        cmdlet: request_cmdlet,
                        tenant_key,
                        line,
                        confirmed,
                        recovered,
                        internal,
                        hint,
                    };
                    stream(handle, &job, &ev).await
                }
                Err(e) => drop(ev.send(failed(e.to_string()))),
            }
        });
        self.runs.insert(conn, task.abort_handle());
    }

    pub(super) fn cancel_run(&mut self, conn: ConnId) {
        if let Some(h) = self.runs.remove(&conn) {
            h.abort();
            self.send(UiEvent::RunFailed {
                conn,
                explanation: "The run was cancelled.".into(),
            });
        }
    }
}

/// What a streamed run is.
struct Job {
    conn: ConnId,
    profile_id: uuid::Uuid,
    cmdlet: String,
    /// The profile's tenant key when it does not know the tenant's name yet: learnt from the
    /// rows of a `Get-OrganizationConfig` (no extra request).
    tenant_key: Option<String>,
    line: String,
    /// Sent with `Confirm: false` already.
    confirmed: bool,
    /// The re-run after a claims challenge's sign-in.
    recovered: bool,
    /// The driver's loop: a claims challenge needing an interactive sign-in goes there.
    internal: tokio::sync::mpsc::UnboundedSender<super::Internal>,
    /// The cmdlet belongs to the other service: said first when it fails as "not recognized".
    hint: Option<String>,
}

/// The run's events as the output pane's, until it is done or failed.
async fn stream(mut handle: RunHandle, job: &Job, ev: &EventSender) {
    let conn = job.conn;
    let mut named = None;
    while let Some(e) = handle.events.recv().await {
        match e {
            RunEvent::Page { rows, .. } => {
                if job.tenant_key.is_some() && named.is_none() {
                    named = tenant_name::named_by(&job.cmdlet, &rows);
                }
                ev.send(UiEvent::RunRows { conn, rows });
            }
            RunEvent::Warning(text) => {
                ev.send(UiEvent::RunWarning { conn, text });
            }
            RunEvent::Retrying { reason, delay, .. } => {
                ev.send(UiEvent::RunWarning {
                    conn,
                    text: format!("Retrying in {:.1} s: {reason}", delay.as_secs_f64()),
                });
            }
            RunEvent::Confirmation(question) if job.confirmed => {
                // Never asked twice: Confirm:false was sent and the service still asks.
                ev.send(UiEvent::RunWarning {
                    conn,
                    text: format!(
                        "The service asked again for confirmation after Confirm:$false was sent; nothing was done: {question}"
                    ),
                });
            }
            RunEvent::Confirmation(question) => {
                ev.send(UiEvent::RunConfirmation {
                    conn,
                    line: job.line.clone(),
                    question,
                });
            }
            RunEvent::RowError(err) => {
                let text = match &err.target {
                    Some(t) => format!("Error on {t}: {}", err.message),
                    None => format!("Error: {}", err.message),
                };
                ev.send(UiEvent::RunWarning { conn, text });
            }
            RunEvent::RateBudget(b) => {
                ev.send(UiEvent::RateChanged {
                    conn,
                    rate: super::sessions::rate_view(&b),
                });
            }
            RunEvent::Redirected { .. } => {}
            RunEvent::Done {
                total_rows,
                pages,
                elapsed,
                ..
            } => {
                if let (Some(key), Some(name)) = (&job.tenant_key, &named) {
                    let _ = job.internal.send(super::Internal::TenantNamed {
                        profile_id: job.profile_id,
                        tenant: KnownTenant::learnt(key, Some(name)),
                    });
                }
                ev.send(UiEvent::RunDone {
                    conn,
                    rows: total_rows as u64,
                    pages: pages as u32,
                    elapsed,
                });
                return;
            }
            RunEvent::Failed(e) => {
                ev.send(failure(e, job, ev));
                return;
            }
        }
    }
}

/// The failed run's event (its explanation, the wrong-service hint first); a claims challenge
/// brings the sign-in back once (then the line runs again in the same session), a proxy's 407
/// asks for its credential.
fn failure(e: crate::engine::rest::RestError, job: &Job, ev: &EventSender) -> UiEvent {
    let (conn, profile_id) = (job.conn, job.profile_id);
    if let Some(claims) = e.claims.clone() {
        if job.recovered {
            return UiEvent::RunFailed {
                conn,
                explanation: format!(
                    "The tenant still refuses this session after the new sign-in ({e}). Nothing was run; disconnect it and connect again, or ask the tenant's admin about its access policies."
                ),
            };
        }
        let rerun = super::Rerun {
            conn,
            line: Some(job.line.clone()),
            confirmed: job.confirmed,
        };
        let _ = job.internal.send(super::Internal::ClaimsChallenge {
            profile_id,
            claims,
            rerun,
        });
    }
    if e.kind == RestErrorKind::ProxyAuth {
        ev.send(UiEvent::ProxyCredentialNeeded {
            profile_id,
            proxy: "the profile's proxy".into(),
            explanation: e.message.clone(),
        });
    }
    let mut explanation = match e.explanation() {
        Some(known) => format!("{e}\n{known}"),
        None => e.to_string(),
    };
    if let Some(h) = job
        .hint
        .as_ref()
        .filter(|_| explanation.contains("not recognized"))
    {
        explanation = format!("{h}\n{explanation}");
    }
    UiEvent::RunFailed { conn, explanation }
}
