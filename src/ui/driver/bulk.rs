//! The driver's bulk job ("Run for each row…", reference page §7): a CSV file's rows read off
//! the UI thread, and a batch of cmdlet lines — one per row, built and previewed by the window —
//! run in a session through the engine's `RestClient::bulk` (`$batch` in chunks of 10 with
//! continue-on-error, one request per row when the service refuses `$batch`). A change cmdlet
//! goes with `Confirm: false`: the window asked once for the whole batch. Progress after each
//! chunk, then one result per row (its text made printable here). One bulk run per session; a
//! newer one replaces it.

use super::Driver;
use crate::engine::rest::CmdletRequest;
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
        if !self.sessions.iter().any(|s| s.connection_id == conn.0) {
            let gone = "That session is gone; connect again.".to_string();
            return self.send(done(Err(gone), None));
        }
        if let Some(old) = self.bulk_runs.remove(&conn) {
            old.abort();
        }
        let registry = self.connector.registry().clone();
        let ev = self.ev.clone();
        let task = tokio::spawn(async move {
            let client = match registry.client(conn.0).await {
                Ok(c) => c,
                Err(e) => {
                    ev.send(done(Err(e.to_string()), None));
                    return;
                }
            };
            let progress = |n: usize, total: usize| {
                ev.send(UiEvent::BulkProgress {
                    conn,
                    run,
                    done: n,
                    total,
                });
            };
            let outcome = match client.bulk(&requests, &progress).await {
                Ok(o) => o,
                Err(e) => {
                    let why = match e.explanation() {
                        Some(known) => format!("{e}\n{known}"),
                        None => e.to_string(),
                    };
                    ev.send(done(Err(why), None));
                    return;
                }
            };
            let note = outcome
                .fell_back
                .then(|| "The service refused $batch: the rows went one request each.".into());
            let mut results = refused;
            results.extend(outcome.results.iter().map(|r| {
                let row = sent.get(r.index).copied().unwrap_or(r.index);
                row_view(row, r.ok, r.status, &r.message)
            }));
            results.sort_by_key(|r| r.row);
            ev.send(done(Ok(results), note));
        });
        self.bulk_runs.insert(conn, task.abort_handle());
    }
}

fn row_view(row: usize, ok: bool, status: Option<u16>, message: &str) -> BulkRowView {
    BulkRowView {
        row,
        ok,
        status,
        message: printable_line(message).into_owned(),
    }
}
