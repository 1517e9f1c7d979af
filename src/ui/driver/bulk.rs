//! The driver's bulk job ("Run for each row…", reference page §7): a CSV file's rows read off
//! the UI thread, and a batch of cmdlet lines — one per row, built and previewed by the window —
//! run in a session through the engine's `RestClient::bulk` (`$batch` in chunks of 10 with
//! continue-on-error, one request per row when the service refuses `$batch`). A change cmdlet
//! goes with `Confirm: false`: the window asked once for the whole batch. After each chunk its
//! rows' results (their text made printable here); Cancel stops after the chunk in flight. One
//! bulk run per session; a newer one replaces it.

use super::Driver;
use crate::engine::auth::CancellationToken;
use crate::engine::rest::{BulkResult, CmdletRequest};
use crate::model::bulk::{read_csv, reads_only};
use crate::model::cmdline::parse_cmdlet_line;
use crate::model::text::printable_line;
use crate::ui::bridge::{BulkRowView, ConnId, UiEvent};

impl Driver {
    /// Reads the CSV file of a bulk run (on a blocking thread).
    pub(super) fn load_bulk_csv(&self, conn: ConnId, path: std::path::PathBuf) {
        let ev = self.ev.clone();
        tokio::task::spawn_blocking(move || {
            let source = path.display().to_string();
            let table = read_csv(&path).map_err(|e| format!("{source}: {e}"));
            ev.send(UiEvent::BulkTable {
                conn,
                source,
                table,
            });
        });
    }

    /// Runs `rows` (row index, cmdlet line) in session `conn`.
    pub(super) fn run_bulk(&mut self, conn: ConnId, run: u64, rows: Vec<(usize, String)>) {
        let done = move |results, note| UiEvent::BulkDone {
            conn,
            run,
            results,
            note,
        };
        let mut refused = Vec::new();
        let mut sent = Vec::with_capacity(rows.len());
        let mut requests = Vec::with_capacity(rows.len());
        for (row, line) in rows {
            match parse_cmdlet_line(&line) {
                Ok(p) if reads_only(&p.cmdlet) => requests.push(CmdletRequest::from_line(p)),
                Ok(p) => requests.push(CmdletRequest::from_line(p).confirmed()),
                Err(e) => {
                    refused.push(row_view(row, false, None, &e.message));
                    continue;
                }
            }
            sent.push(row);
        }
        let Some(profile_id) = self
            .sessions
            .iter()
            .find(|s| s.connection_id == conn.0)
            .map(|s| s.profile_id)
        else {
            let gone = "That session is gone; connect again.".to_string();
            return self.send(done(Err(gone), None));
        };
        if let Some(old) = self.bulk_runs.remove(&conn) {
            old.task.abort();
        }
        let cancel = CancellationToken::new();
        let job = BulkJob {
            conn,
            profile_id,
            run,
            requests,
            sent,
            refused,
            cancel: cancel.clone(),
            internal: self.internal_tx.clone(),
        };
        let task = tokio::spawn(job.run(self.connector.registry().clone(), self.ev.clone()));
        let task = task.abort_handle();
        self.bulk_runs.insert(conn, BulkTask { run, cancel, task });
    }

    /// Cancel of bulk run `run`: it stops after the chunk in flight.
    pub(super) fn cancel_bulk(&mut self, conn: ConnId, run: u64) {
        if let Some(t) = self.bulk_runs.get(&conn).filter(|t| t.run == run) {
            t.cancel.cancel();
        }
    }
}

/// A session's bulk run in progress.
pub(super) struct BulkTask {
    run: u64,
    cancel: CancellationToken,
    task: tokio::task::AbortHandle,
}

/// What one bulk run's task needs.
struct BulkJob {
    conn: ConnId,
    profile_id: uuid::Uuid,
    run: u64,
    requests: Vec<CmdletRequest>,
    /// The row index of each request.
    sent: Vec<usize>,
    /// The rows whose line did not parse.
    refused: Vec<BulkRowView>,
    cancel: CancellationToken,
    /// The driver's loop: a claims challenge needing an interactive sign-in goes there.
    internal: tokio::sync::mpsc::UnboundedSender<super::Internal>,
}

impl BulkJob {
    async fn run(self, registry: crate::engine::sessions::SessionRegistry, ev: super::EventSender) {
        let (conn, run) = (self.conn, self.run);
        let done = move |results, note| UiEvent::BulkDone {
            conn,
            run,
            results,
            note,
        };
        let client = match registry.client(conn.0).await {
            Ok(c) => c,
            Err(e) => {
                ev.send(done(Err(e.to_string()), None));
                return;
            }
        };
        let sent = &self.sent;
        let progress = |chunk: &[BulkResult], n: usize, total: usize| {
            let rows = chunk.iter().map(|r| result_view(sent, r)).collect();
            ev.send(UiEvent::BulkProgress {
                conn,
                run,
                done: n,
                total,
                rows,
            });
        };
        let outcome = match client.bulk(&self.requests, &progress, &self.cancel).await {
            Ok(o) => o,
            Err(e) => {
                ev.send(done(Err(self.stopped_by(e)), None));
                return;
            }
        };
        let mut notes = Vec::new();
        if outcome.stopped {
            notes.push(format!(
                "Cancelled after {} of {} rows: the rest were not sent (Retry sends them).",
                outcome.results.len(),
                self.requests.len()
            ));
        }
        if outcome.fell_back {
            notes.push("The service refused $batch: the rows went one request each.".into());
        }
        let note = (!notes.is_empty()).then(|| notes.join(" "));
        ev.send(done(Ok(self.refused), note));
    }
}

impl BulkJob {
    /// Why the run stopped as a whole; a claims challenge brings the sign-in back (the rows
    /// not sent wait for the window's Retry).
    fn stopped_by(&self, e: crate::engine::rest::RestError) -> String {
        let Some(claims) = e.claims.clone() else {
            return match e.explanation() {
                Some(known) => format!("{e}\n{known}"),
                None => e.to_string(),
            };
        };
        let rerun = super::Rerun {
            conn: self.conn,
            line: None,
            confirmed: true,
        };
        let _ = self.internal.send(super::Internal::ClaimsChallenge {
            profile_id: self.profile_id,
            claims,
            rerun,
        });
        "the tenant revoked this session's access (continuous access evaluation). Sign in again, then \"Retry failed and unsent\" sends the rows not sent.".into()
    }
}

fn result_view(sent: &[usize], r: &BulkResult) -> BulkRowView {
    let row = sent.get(r.index).copied().unwrap_or(r.index);
    row_view(row, r.ok, r.status, &r.message)
}

fn row_view(row: usize, ok: bool, status: Option<u16>, message: &str) -> BulkRowView {
    BulkRowView {
        row,
        ok,
        status,
        message: printable_line(message).into_owned(),
    }
}
