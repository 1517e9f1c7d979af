//! "Run for each row…" (reference page §7, "Batching"): one change line with `{Column}`
//! placeholders applied to every row of the result grid's selection or of a CSV file. The
//! dialog walks four steps: the line (placeholders checked against the table's columns as it is
//! typed: an unknown one is named before anything runs), a dry-run preview listing the exact
//! calls (the first [`PREVIEW`] and how many more; every row's line is built and parsed first),
//! one confirmation covering the batch (profile, tenant, cmdlet, row count; a `prod` profile
//! needs a tick), then the per-row results grid (row, result, error text, call) with progress,
//! "Retry failed" (only the failed rows, sent again) and Export CSV/JSON through the output
//! pane's export. The driver runs the batch (`ui/driver/bulk.rs`); nothing here blocks.

use egui::{RichText, Ui};
use serde_json::json;

use crate::model::bulk::{BulkTable, lines, placeholders, reads_only};
use crate::model::results::ResultStore;

use super::action::Actions;
use super::bridge::{BulkRowView, ConnId, SessionView, UiCommand};
use super::dialogs::{DialogPurpose, DialogRequest};
use super::output::OutputState;
use super::theme;

/// Calls the preview lists.
pub const PREVIEW: usize = 20;

/// Where the dialog is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Line,
    Preview,
    Confirm,
    Results,
}

/// One "Run for each row…", from its line to its results.
pub struct Bulk {
    pub conn: ConnId,
    /// "250 selected rows of Get-Mailbox", or the CSV file's path.
    pub source: String,
    /// None while the CSV file is read; Err: why it cannot be used.
    pub table: Option<Result<BulkTable, String>>,
    pub template: String,
    pub stage: Stage,
    /// Every row's line (built at the preview).
    pub lines: Vec<String>,
    /// The preview's calls (the first [`PREVIEW`]) as the JSON bodies sent.
    calls: Vec<String>,
    pub cmdlet: String,
    /// Why the preview could not be built.
    pub error: Option<String>,
    /// Production: "I checked…" is ticked.
    sure: bool,
    /// The run the driver's events belong to, and (done, total) of it.
    pub run: u64,
    pub progress: Option<(usize, usize)>,
    /// Cancel was pressed: the run stops after the chunk in flight.
    cancelling: bool,
    /// The run sends every row: each chunk's results join the grid as they come.
    appending: bool,
    /// Each row's last result.
    pub results: Vec<Option<BulkRowView>>,
    /// The batch stopped as a whole, or the service refused `$batch`.
    pub note: Option<String>,
    grid: OutputState,
    /// The dialog's size last frame (a change lays it out again at once).
    last_size: Option<egui::Vec2>,
}

/// The dialog (at most one at a time) and the runs started.
#[derive(Default)]
pub struct BulkPane {
    pub open: Option<Bulk>,
    runs: u64,
}

impl BulkPane {
    /// Opens the dialog over `table` (None: a CSV file being read).
    pub fn start(&mut self, conn: ConnId, source: String, table: Option<BulkTable>) {
        self.open = Some(Bulk {
            conn,
            source,
            table: table.map(Ok),
            template: String::new(),
            stage: Stage::Line,
            lines: Vec::new(),
            calls: Vec::new(),
            cmdlet: String::new(),
            error: None,
            sure: false,
            run: 0,
            progress: None,
            cancelling: false,
            appending: false,
            results: Vec::new(),
            note: None,
            grid: OutputState::default(),
            last_size: None,
        });
    }

    /// The CSV file's rows arrived (or why they cannot be used).
    pub fn table(&mut self, conn: ConnId, source: String, table: Result<BulkTable, String>) {
        if let Some(b) = self.open.as_mut().filter(|b| b.conn == conn) {
            b.source = source;
            b.table = Some(table);
        }
    }

    /// A chunk of bulk run `run` is done: its rows' results replace theirs (a run of every row
    /// shows them in the grid at once; a retry's at its end).
    pub fn progress(&mut self, run: u64, done: usize, total: usize, rows: Vec<BulkRowView>) {
        let Some(b) = self.open.as_mut().filter(|b| b.run == run) else {
            return;
        };
        b.progress = Some((done, total));
        if b.appending {
            b.grid.add_rows(b.result_rows(&rows));
        }
        b.set_results(rows);
    }

    /// Bulk run `run` ended: the rows it tells replace theirs.
    pub fn done(
        &mut self,
        run: u64,
        results: Result<Vec<BulkRowView>, String>,
        note: Option<String>,
    ) {
        let Some(b) = self.open.as_mut().filter(|b| b.run == run) else {
            return;
        };
        b.progress = None;
        b.cancelling = false;
        b.appending = false;
        b.note = note;
        match results {
            Ok(rows) => b.set_results(rows),
            Err(e) => b.note = Some(format!("The batch stopped: {e}")),
        }
        b.refresh_grid();
    }

    /// A snapshot of the results grid for an export.
    pub fn export_job(&mut self) -> Option<super::output::ExportJob> {
        self.open
            .as_mut()
            .filter(|b| b.stage == Stage::Results)
            .map(|b| b.grid.export_job())
    }

    /// Sends the rows (all, or the failed and the unsent ones) as a new run.
    fn send(&mut self, only_failed: bool, actions: &mut Actions) {
        let Some(b) = self.open.as_mut() else { return };
        let rows: Vec<(usize, String)> = b
            .lines
            .iter()
            .enumerate()
            .filter(|(k, _)| !only_failed || b.results[*k].as_ref().is_none_or(|r| !r.ok))
            .map(|(k, l)| (k, l.clone()))
            .collect();
        if rows.is_empty() {
            return;
        }
        self.runs += 1;
        b.run = self.runs;
        b.progress = Some((0, rows.len()));
        b.stage = Stage::Results;
        b.appending = !only_failed;
        if !only_failed {
            b.results = vec![None; b.lines.len()];
            b.grid = OutputState::default();
            b.grid.begin("Run for each row".into());
        }
        actions.send(UiCommand::RunBulk {
            conn: b.conn,
            run: b.run,
            rows,
        });
    }

    /// Draws the dialog while open; `session` is the one it runs in, `prod` its profile's tag.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        session: Option<&SessionView>,
        prod: bool,
        actions: &mut Actions,
    ) {
        let Some(session) = session else {
            // The session closed under the dialog: nothing more can run in it.
            self.open = None;
            return;
        };
        let Some(b) = self.open.as_mut() else { return };
        let mut step = None;
        let r = egui::Modal::new(egui::Id::unique("bulk_dialog")).show(ctx, |ui| {
            ui.set_width(760.0);
            ui.heading("Run for each row");
            ui.label(format!(
                "Profile {} · tenant {} · {}",
                session.profile_name, session.tenant, b.source
            ));
            step = match b.stage {
                Stage::Line => b.line_ui(ui),
                Stage::Preview => b.preview_ui(ui),
                Stage::Confirm => b.confirm_ui(ui, session, prod),
                Stage::Results => b.results_ui(ui, &session.tenant, actions),
            };
        });
        let size = r.response.rect.size();
        if step.is_some() || b.last_size.replace(size) != Some(size) {
            // Another step (or the file's rows arriving) has another size: lay it out again
            // before it shows, so the dialog does not jump under the pointer.
            ctx.request_discard("bulk dialog size");
        }
        match step {
            Some(Step::Close) => self.open = None,
            Some(Step::Send) => self.send(false, actions),
            Some(Step::RetryFailed) => self.send(true, actions),
            None => {}
        }
    }
}

/// What a step's buttons ask the pane to do.
enum Step {
    Close,
    Send,
    RetryFailed,
}

impl Bulk {
    /// The change line, its placeholders checked as it is typed; Preview builds every call.
    fn line_ui(&mut self, ui: &mut Ui) -> Option<Step> {
        let table = match &self.table {
            None => {
                ui.label("Reading the file…");
                return cancel_row(ui);
            }
            Some(Err(e)) => {
                ui.label(RichText::new(e).color(theme::RED));
                return cancel_row(ui);
            }
            Some(Ok(t)) => t.clone(),
        };
        ui.label(format!(
            "{} rows · columns: {}",
            table.rows.len(),
            table.columns.join(", ")
        ));
        let l = ui.label("Change line ({Column} is the row's value)");
        ui.add(
            egui::TextEdit::singleline(&mut self.template)
                .code_editor()
                .hint_text("Set-Mailbox -Identity {PrimarySmtpAddress} -CustomAttribute1 'x'")
                .desired_width(740.0),
        )
        .labelled_by(l.id);
        let check = placeholders(&self.template, &table.columns);
        match &check {
            Err(e) => {
                ui.label(RichText::new(e).color(theme::RED));
            }
            Ok(used) if used.is_empty() => {
                ui.label(
                    RichText::new("No {Column} placeholder: every row runs the same line").weak(),
                );
            }
            Ok(used) => {
                ui.label(RichText::new(format!("Uses {}", used.join(", "))).weak());
            }
        }
        if let Some(e) = &self.error {
            ui.label(RichText::new(e).color(theme::RED));
        }
        let ready = check.is_ok() && !self.template.trim().is_empty();
        let mut step = None;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(ready, egui::Button::new("Preview"))
                .clicked()
            {
                self.preview(&table);
            }
            if ui.button("Cancel").clicked() {
                step = Some(Step::Close);
            }
        });
        step
    }

    /// Builds and parses every row's line (the dry run); the preview shows the first calls.
    fn preview(&mut self, table: &BulkTable) {
        match lines(&self.template, table) {
            Err(e) => self.error = Some(e),
            Ok(all) => {
                self.error = None;
                self.cmdlet = all.first().map(|l| l.1.cmdlet.clone()).unwrap_or_default();
                let change = !reads_only(&self.cmdlet);
                self.calls = all
                    .iter()
                    .take(PREVIEW)
                    .map(|(_, p)| {
                        let mut params = p.parameters.clone();
                        if change {
                            params.insert("Confirm".into(), json!(false));
                        }
                        json!({"CmdletInput": {"CmdletName": p.cmdlet, "Parameters": params}})
                            .to_string()
                    })
                    .collect();
                self.lines = all.into_iter().map(|(l, _)| l).collect();
                self.stage = Stage::Preview;
            }
        }
    }

    /// The dry run: the exact calls of the first rows, how many more; nothing sent yet.
    fn preview_ui(&mut self, ui: &mut Ui) -> Option<Step> {
        let n = self.lines.len();
        ui.label(
            RichText::new(format!(
                "Dry run: {n} calls of {}, nothing sent yet",
                self.cmdlet
            ))
            .strong(),
        );
        // A fixed size: the dialog does not grow (and move under the pointer) frame by frame.
        ui.allocate_ui(egui::vec2(740.0, 300.0), |ui| {
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for (k, (line, call)) in self.lines.iter().zip(&self.calls).enumerate() {
                        ui.label(RichText::new(format!("Row {}: {line}", k + 1)).monospace());
                        ui.label(RichText::new(call).monospace().weak());
                    }
                });
        });
        if n > self.calls.len() {
            ui.label(format!("… and {} more calls", n - self.calls.len()));
        }
        let mut step = None;
        ui.horizontal(|ui| {
            let label = format!("Run for {n} rows…");
            if ui.button(label).clicked() {
                if reads_only(&self.cmdlet) {
                    step = Some(Step::Send);
                } else {
                    self.stage = Stage::Confirm;
                }
            }
            if ui.button("Back").clicked() {
                self.stage = Stage::Line;
            }
            if ui.button("Cancel").clicked() {
                step = Some(Step::Close);
            }
        });
        step
    }
}

/// Only Cancel (the table is not usable yet).
fn cancel_row(ui: &mut Ui) -> Option<Step> {
    ui.button("Cancel").clicked().then_some(Step::Close)
}

impl Bulk {
    /// One confirmation for the whole batch; `prod` needs the tick.
    fn confirm_ui(&mut self, ui: &mut Ui, s: &SessionView, prod: bool) -> Option<Step> {
        let n = self.lines.len();
        if prod {
            ui.label(
                RichText::new(format!("Change the PRODUCTION tenant {}?", s.tenant))
                    .color(theme::RED)
                    .strong()
                    .heading(),
            );
        } else {
            ui.label(RichText::new(format!("Run {} for {n} rows?", self.cmdlet)).heading());
        }
        ui.label(format!(
            "Profile {} · tenant {} · cmdlet {} · {n} rows",
            s.profile_name, s.tenant, self.cmdlet
        ));
        ui.label(
            RichText::new(
                "One confirmation covers the batch: each row is sent with Confirm:$false.",
            )
            .weak(),
        );
        if prod {
            ui.checkbox(
                &mut self.sure,
                format!(
                    "I checked: these {n} changes are meant for the production tenant {}",
                    s.tenant
                ),
            );
        }
        let mut step = None;
        ui.horizontal(|ui| {
            let yes = format!("Yes, run {} for {n} rows", self.cmdlet);
            if ui
                .add_enabled(!prod || self.sure, egui::Button::new(yes))
                .clicked()
            {
                step = Some(Step::Send);
            }
            if ui.button("Back").clicked() {
                self.stage = Stage::Preview;
            }
        });
        step
    }

    /// Progress, then the per-row grid with Retry failed and the exports.
    fn results_ui(&mut self, ui: &mut Ui, tenant: &str, actions: &mut Actions) -> Option<Step> {
        let failed = self.results.iter().flatten().filter(|r| !r.ok).count();
        let ok = self.results.iter().flatten().filter(|r| r.ok).count();
        match self.progress {
            Some((done, total)) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Sent {done} of {total} rows…"));
                });
            }
            None => {
                let unsent = self.results.iter().filter(|r| r.is_none()).count();
                let mut summary = format!("{} rows: {ok} ok, {failed} failed", self.lines.len());
                if unsent > 0 {
                    summary.push_str(&format!(", {unsent} not sent"));
                }
                ui.label(summary);
            }
        }
        if let Some(n) = &self.note {
            ui.label(RichText::new(n).color(theme::AMBER));
        }
        let mut export = None;
        if !self.grid.results().is_empty() {
            ui.allocate_ui(egui::vec2(740.0, 320.0), |ui| {
                export = self.grid.grid_ui(ui, ConnId(uuid::Uuid::nil()));
            });
        }
        if let Some(csv) = export {
            actions.push(super::action::Action::AskFile(export_request(tenant, csv)));
        }
        let idle = self.progress.is_none();
        let unsent = self.results.iter().filter(|r| r.is_none()).count();
        let mut step = None;
        ui.horizontal(|ui| {
            let retry = match unsent {
                0 => format!("Retry failed ({failed})"),
                n => format!("Retry failed and unsent ({})", failed + n),
            };
            if ui
                .add_enabled(idle && failed + unsent > 0, egui::Button::new(retry))
                .clicked()
            {
                step = Some(Step::RetryFailed);
            }
            let stop = egui::Button::new(if self.cancelling {
                "Cancelling…"
            } else {
                "Cancel"
            });
            if ui.add_enabled(!idle && !self.cancelling, stop).clicked() {
                self.cancelling = true;
                actions.send(UiCommand::CancelBulk {
                    conn: self.conn,
                    run: self.run,
                });
            }
            if ui.add_enabled(idle, egui::Button::new("Close")).clicked() {
                step = Some(Step::Close);
            }
        });
        step
    }

    /// Each row's result in its slot.
    fn set_results(&mut self, rows: Vec<BulkRowView>) {
        for r in rows {
            if let Some(slot) = self.results.get_mut(r.row) {
                *slot = Some(r);
            }
        }
    }

    /// `rows` as the grid's rows: Row, Result, Error, Call.
    fn result_rows<'a>(&self, rows: impl IntoIterator<Item = &'a BulkRowView>) -> ResultStore {
        let mut store = ResultStore::new();
        for r in rows {
            store.push_value(&json!({
                "Row": r.row + 1,
                "Result": if r.ok { "ok" } else { "error" },
                "Error": r.message,
                "Call": self.lines.get(r.row).cloned().unwrap_or_default(),
            }));
        }
        store
    }

    /// Every row's last result as the grid's rows.
    fn refresh_grid(&mut self) {
        let store = self.result_rows(self.results.iter().flatten());
        let n = store.len();
        let mut grid = OutputState::default();
        grid.begin("Run for each row".into());
        grid.add_rows(store);
        grid.done(n as u64, 1, std::time::Duration::ZERO);
        grid.filter = std::mem::take(&mut self.grid.filter);
        self.grid = grid;
    }
}

/// The save dialog of the results' Export CSV… / JSON….
fn export_request(tenant: &str, csv: bool) -> DialogRequest {
    let mut req = super::output::export_request(tenant, csv);
    req.purpose = if csv {
        DialogPurpose::ExportBulkCsv
    } else {
        DialogPurpose::ExportBulkJson
    };
    req.default_name = req.default_name.replace("-results.", "-bulk-results.");
    req
}
