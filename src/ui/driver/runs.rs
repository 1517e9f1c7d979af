//! The driver's run jobs: a cmdlet line parsed, run in its session through the registry, and
//! its events streamed into the output pane (rows, warnings, retries, done or failed with the
//! catalogue's explanation); one run per session, cancellable.

use super::Driver;
use crate::engine::rest::{CmdletRequest, RestErrorKind, RunEvent, RunHandle};
use crate::model::cmdline::parse_cmdlet_line;
use crate::ui::bridge::{ConnId, EventSender, UiEvent};

impl Driver {
    pub(super) fn run_line(&mut self, conn: ConnId, line: String) {
        let failed = move |explanation: String| UiEvent::RunFailed { conn, explanation };
        let request = match parse_cmdlet_line(&line) {
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
        // A cmdlet of another service fails as "not recognized": say that first.
        let hint = crate::model::service_hint::wrong_service(&request.cmdlet, session.service);
        if let Some(old) = self.runs.remove(&conn) {
            old.abort();
        }
        self.send(UiEvent::RunStarted {
            conn,
            line: line.clone(),
        });
        let registry = self.connector.registry().clone();
        let ev = self.ev.clone();
        let task = tokio::spawn(async move {
            match registry.run(conn.0, request).await {
                Ok(handle) => stream(handle, conn, (profile_id, hint), &ev).await,
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

/// The run's events as the output pane's, until it is done or failed.
async fn stream(
    mut handle: RunHandle,
    conn: ConnId,
    (profile_id, hint): (uuid::Uuid, Option<String>),
    ev: &EventSender,
) {
    while let Some(e) = handle.events.recv().await {
        match e {
            RunEvent::Page { rows, .. } => {
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
            RunEvent::Confirmation(question) => {
                // The window's confirmation dialog comes with the window's issue; until then
                // the service's question is shown and nothing is done.
                ev.send(UiEvent::RunWarning {
                    conn,
                    text: format!(
                        "The service asks for confirmation and did nothing: {question} (re-run with -Confirm:$false to go ahead)"
                    ),
                });
            }
            RunEvent::RowError(err) => {
                ev.send(UiEvent::RunWarning {
                    conn,
                    text: format!("Error: {err}"),
                });
            }
            // The window's rate gauge reads the session's budget (`SessionInfo::rate`).
            RunEvent::Redirected { .. } | RunEvent::RateBudget(_) => {}
            RunEvent::Done {
                total_rows,
                pages,
                elapsed,
                ..
            } => {
                ev.send(UiEvent::RunDone {
                    conn,
                    rows: total_rows as u64,
                    pages: pages as u32,
                    elapsed,
                });
                return;
            }
            RunEvent::Failed(e) => {
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
                if let Some(h) = hint
                    .as_ref()
                    .filter(|_| explanation.contains("not recognized"))
                {
                    explanation = format!("{h}\n{explanation}");
                }
                ev.send(UiEvent::RunFailed { conn, explanation });
                return;
            }
        }
    }
}
