//! The output pane of a session: tenant banner, quick test, cmdlet line with history, the
//! virtualized result grid (columns chooser, sort, filter, copy, details, JSON view), progress,
//! warnings and errors, export to CSV / JSON. This file holds the state of one session's pane,
//! the banner, the cmdlet line and the status lines. The result itself is one compact
//! `ResultStore` (`output/results.rs`, pages appended as they arrive); `output/columns.rs` keeps
//! the grid's columns and widths, `output/view.rs` the rows shown and the worker that sorts and
//! filters them off the UI thread, and `output/grid.rs` draws only the rows and columns in view.

use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use crate::model::Service;
use crate::model::results::ResultStore;

use super::action::{Action, Actions};
use super::bridge::{ConnId, SessionView, UiCommand};
use super::dialogs::{DialogPurpose, DialogRequest};
use super::nav::Go;
use super::theme;
use super::widgets;

mod columns;
mod details;
mod grid;
mod pick;
mod results;
mod saved;
mod view;

pub use results::ExportJob;
use results::Results;

/// The quick test of a service.
pub fn quick_test(service: Service) -> &'static str {
    match service {
        Service::ExchangeOnline => "Get-Mailbox -ResultSize 10",
        Service::Protection => "Get-TransportRule",
        Service::SecurityCompliance => "Get-RetentionCompliancePolicy",
    }
}

/// Does this line change the tenant (Set-/New-/Remove-/Add-/Enable-/Disable- cmdlets)?
pub fn is_changing(line: &str) -> bool {
    let verb = line
        .trim_start()
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        verb.as_str(),
        "set" | "new" | "remove" | "add" | "enable" | "disable"
    )
}

/// Progress of the running command.
#[derive(Debug, Clone)]
pub struct Progress {
    pub line: String,
    pub started: Instant,
    pub pages: u32,
}

/// Everything the output pane of one session shows.
#[derive(Default)]
pub struct OutputState {
    pub line: String,
    pub history: Vec<String>,
    hist_pos: Option<usize>,
    /// The rows of the last run, the grid's columns and the rows shown.
    results: Results,
    /// The filter as typed.
    pub filter: String,
    /// (column name, ascending)
    pub sort: Option<(String, bool)>,
    /// The selected row (a row of the store).
    pub selected: Option<usize>,
    /// The rows picked for "Run for each row…" (store rows: click, Ctrl+click, Shift+click,
    /// Select all; `pick.rs`).
    pub picked: std::collections::BTreeSet<usize>,
    /// Where a Shift+click range starts (a store row).
    anchor: Option<usize>,
    /// The line the live catalogue flagged (line, what is unknown): a second Run sends it.
    pub flagged: Option<(String, String)>,
    /// The session's service (the flag names the service a cmdlet belongs to).
    service: Option<Service>,
    pub json_view: bool,
    /// Width of the details panel (the user drags it).
    pub details_w: f32,
    pub running: Option<Progress>,
    pub summary: Option<String>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    pub confirm_prod: Option<String>,
    /// The cmdlet line whose result the grid holds.
    pub result_of: String,
    /// CSV with a UTF-8 BOM (None: the platform's default).
    pub csv_bom: Option<bool>,
    /// The column chooser, while open: its search text.
    pub chooser: Option<String>,
    /// A run started and its result has not started arriving: the last one still shows.
    replace_due: bool,
    /// "matched in: …" of the filter, for (filter, rows shown).
    hint: Option<(String, usize, String)>,
    /// The cmdlet line's completion (and the session's catalogue).
    pub completion: super::complete::Completion,
}

impl OutputState {
    /// A run of `line` starts: the last result stays (sortable, exportable) until the new one
    /// starts arriving, so a refused or failed command does not wipe it.
    pub(crate) fn begin(&mut self, line: String) {
        self.warnings.clear();
        self.error = None;
        self.summary = None;
        self.replace_due = true;
        self.running = Some(Progress {
            line,
            started: Instant::now(),
            pages: 0,
        });
    }

    /// The running command's result replaces the last one (its first page came, or it ended
    /// with no rows).
    fn replace_result(&mut self) {
        if !std::mem::take(&mut self.replace_due) {
            return;
        }
        let line = self.running.as_ref().map(|p| p.line.clone());
        self.results.clear();
        self.hint = None;
        self.selected = None;
        self.unpick();
        if let Some(line) = line {
            self.results.columns.start(&line);
            self.result_of = line;
        }
    }

    /// Forgets the rows (their memory goes as soon as no worker reads them), the selection
    /// and the last run's messages; the cmdlet line, its history, the filter, the sort and the
    /// columns chosen stay.
    pub(crate) fn clear_results(&mut self) {
        self.results.clear();
        self.hint = None;
        self.selected = None;
        self.unpick();
        self.warnings.clear();
        self.error = None;
        self.summary = None;
    }

    pub(crate) fn started(&mut self, line: String) {
        if self.running.is_none() {
            self.begin(line);
        }
    }

    /// One page of rows of the running command.
    pub(crate) fn add_rows(&mut self, page: ResultStore) {
        self.replace_result();
        self.results.add_page(page);
        if let Some(p) = &mut self.running {
            p.pages += 1;
        }
    }

    pub(crate) fn done(&mut self, rows: u64, pages: u32, elapsed: Duration) {
        self.replace_result();
        self.running = None;
        self.results.finish();
        self.summary = Some(format!(
            "{rows} rows · {pages} {} · {:.1} s",
            if pages == 1 { "page" } else { "pages" },
            elapsed.as_secs_f64()
        ));
    }

    /// The run failed or was refused: the last result stays, with the explanation above it.
    pub(crate) fn failed(&mut self, explanation: String) {
        self.replace_due = false;
        self.running = None;
        self.results.finish();
        self.error = Some(explanation);
    }

    /// Rows of the running command received so far (0 while the last result still shows).
    fn new_rows(&self) -> usize {
        if self.replace_due {
            0
        } else {
            self.results.received()
        }
    }

    /// The rows held (the last run's result).
    pub fn results(&self) -> &ResultStore {
        self.results.store()
    }

    /// Rows received, counting pages not yet in the store (a worker was reading it).
    pub fn rows_received(&self) -> usize {
        self.results.received()
    }

    /// The rows shown now (store rows, filtered and sorted), in order.
    pub fn shown_rows(&self) -> Vec<usize> {
        (0..self.results.shown_len())
            .map(|i| self.results.shown_row(i))
            .collect()
    }

    /// Whether the rows shown are the filter and sort asked for, over every row received.
    pub fn view_settled(&self) -> bool {
        let spec = self.results.spec();
        spec.filter == self.filter
            && spec.sort == self.sort
            && self.results.received() == self.results.store().len()
            && self.results.view.is_current(self.results.store().len())
    }

    /// How long the last sort or filter took on its worker.
    pub fn last_view_job(&self) -> Option<Duration> {
        self.results.view.last_job()
    }

    /// "sorting…" / "filtering…" while the rows shown are being worked out.
    pub fn busy(&self) -> Option<&'static str> {
        self.results.view.busy()
    }

    /// Hides (or shows again) a column, by name.
    pub fn set_hidden(&mut self, column: &str, hidden: bool) {
        self.results.columns.set_hidden(column, hidden);
    }

    /// Whether the column of that name is hidden now.
    pub fn is_hidden(&self, column: &str) -> bool {
        self.results.columns.is_hidden(column)
    }

    /// A snapshot of the rows and columns shown, for an export on a worker thread.
    pub fn export_job(&mut self) -> ExportJob {
        self.results.flush();
        let mut job = self.results.export_job();
        job.bom = self.csv_bom();
        job
    }

    /// Whether a CSV export starts with a UTF-8 BOM (by default on Windows, for Excel).
    pub fn csv_bom(&self) -> bool {
        self.csv_bom.unwrap_or(cfg!(windows))
    }
}

/// Is one of these profile tags "prod" (changing cmdlets ask first)?
pub fn is_prod(tags: &[String]) -> bool {
    tags.iter().any(|t| t.eq_ignore_ascii_case("prod"))
}

impl OutputState {
    /// Run `line` in session `conn`; a changing cmdlet in a `prod` profile asks first unless
    /// `confirmed`.
    pub fn run_line(
        &mut self,
        conn: ConnId,
        line: String,
        prod: bool,
        confirmed: bool,
        actions: &mut Actions,
    ) {
        let line = line.trim().to_string();
        if line.is_empty() {
            return;
        }
        if !confirmed && self.flag_unknown(&line) {
            return;
        }
        if prod && is_changing(&line) && !confirmed {
            self.confirm_prod = Some(line);
            return;
        }
        if self.history.last() != Some(&line) {
            self.history.push(line.clone());
        }
        self.hist_pos = None;
        self.begin(line.clone());
        actions.send(UiCommand::Run { conn, line });
    }

    /// Whether the live catalogue does not know the line's cmdlet or a parameter of it and the
    /// line was not flagged already: then it is flagged (said under the line) and not run; the
    /// same line run again goes (the catalogue may be older than the tenant).
    fn flag_unknown(&mut self, line: &str) -> bool {
        let again = self.flagged.take().is_some_and(|(l, _)| l == line);
        let Some(cat) = self.completion.catalogue.as_ref().filter(|_| !again) else {
            return false;
        };
        let parsed = crate::model::cmdline::parse_cmdlet_line(line).ok();
        let hint = |p: &crate::model::cmdline::CmdletLine| {
            let known: Vec<_> = self
                .completion
                .known
                .iter()
                .map(|(s, c)| (*s, &**c))
                .collect();
            let other = self.service.and_then(|s| {
                crate::model::service_hint::wrong_service_known(&p.cmdlet, s, Some(cat), &known)
            });
            cat.unknown(p).map(|why| match other {
                Some(h) => format!("{h}\n{why}"),
                None => why,
            })
        };
        match parsed.as_ref().and_then(hint) {
            Some(why) => {
                self.flagged = Some((line.to_string(), why));
                true
            }
            None => false,
        }
    }

    /// Draws the output pane of `session`; `tags` are its profile's (the banner shows them,
    /// "prod" makes changing cmdlets ask first).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        session: &SessionView,
        tags: &[String],
        actions: &mut Actions,
    ) {
        let conn = session.conn;
        crate::ui::probe::phase("panels before the output");
        self.service = Some(session.service);
        if banner(ui, session, tags, actions) {
            // Closing the output drops its rows.
            self.clear_results();
        }
        ui.add_space(4.0);
        let run = self.line_bar(ui, conn, session.service);
        let cancel = self.status_lines(ui);
        self.bulk_bar(ui, conn, actions);
        ui.separator();
        crate::ui::probe::phase("output: banner, line, status");
        let export = self.grid_toolbar(ui);
        grid::grid(ui, self, conn);
        if let Some(line) = run {
            self.run_line(conn, line, is_prod(tags), false, actions);
        }
        if cancel {
            actions.send(UiCommand::CancelRun { conn });
        }
        if let Some(csv) = export {
            actions.push(Action::AskFile(export_request(&session.tenant, csv)));
        }
    }

    /// The result grid alone (its toolbar: filter, columns, export; the rows and the details
    /// panel), for a pane holding an output state of its own (the fan-out's merged result);
    /// `id` keeps its widgets apart. Returns Some(true) for Export CSV…, Some(false) for JSON.
    pub fn grid_ui(&mut self, ui: &mut Ui, id: ConnId) -> Option<bool> {
        let export = self.grid_toolbar(ui);
        grid::grid(ui, self, id);
        export
    }

    /// The quick test and the cmdlet line with its history; returns the line to run.
    fn line_bar(&mut self, ui: &mut Ui, conn: ConnId, service: Service) -> Option<String> {
        let quick = quick_test(service);
        let busy = self.running.is_some();
        let mut run = None;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new(format!("Quick test: {quick}")))
                .clicked()
            {
                run = Some(quick.to_string());
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("Cmdlet");
            let id = cmdlet_line_id(conn);
            let focused = ui.memory(|m| m.focused()) == Some(id);
            let before = self.line.clone();
            // The completion popup's keys first (Tab / Enter / Esc / Up / Down while it shows).
            if focused {
                self.completion.keys(ui, &mut self.line);
            }
            // Run after the field took this frame's typed text (see below).
            let run_now = focused && self.history_keys(ui) && !busy;
            // Accepted or recalled: the cursor goes to the end (typing moves it itself).
            let replaced = self.line != before;
            let filter = self.completion.event_filter(&self.line);
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.line)
                        .id(id)
                        .hint_text(format!("{quick}   (Ctrl+Enter runs, Up/Down history)"))
                        .code_editor()
                        .event_filter(filter)
                        .desired_width(ui.available_width() - 70.0),
                )
                .labelled_by(l.id);
            let clicked = self.completion.popup(ui, &r, &mut self.line);
            if clicked || replaced {
                super::complete::cursor_to_end(ui, id, &self.line);
            }
            if run_now {
                run = Some(self.line.clone());
            }
            if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && !busy {
                run = Some(self.line.clone());
            }
            if ui.add_enabled(!busy, egui::Button::new("Run")).clicked() {
                run = Some(self.line.clone());
            }
        });
        run
    }

    /// Up / Down walk the history of the focused cmdlet field; returns whether Ctrl+Enter was
    /// pressed.
    fn history_keys(&mut self, ui: &mut Ui) -> bool {
        let (up, down, ctrl_enter) = ui.input_mut(|i| {
            (
                i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter),
            )
        });
        if up && !self.history.is_empty() {
            let p = self
                .hist_pos
                .map(|p| p.saturating_sub(1))
                .unwrap_or(self.history.len() - 1);
            self.hist_pos = Some(p);
            self.line = self.history[p].clone();
        }
        if down && let Some(p) = self.hist_pos {
            if p + 1 < self.history.len() {
                self.hist_pos = Some(p + 1);
                self.line = self.history[p + 1].clone();
            } else {
                self.hist_pos = None;
                self.line.clear();
            }
        }
        ctrl_enter
    }

    /// Progress of the running command (with Cancel run) or the last summary, then warnings and
    /// the error; returns whether Cancel run was clicked.
    fn status_lines(&self, ui: &mut Ui) -> bool {
        let mut cancel = false;
        if let Some((line, why)) = &self.flagged
            && line.trim() == self.line.trim()
        {
            ui.label(RichText::new(why).color(theme::AMBER));
            ui.label(
                RichText::new(
                    "Run again (or Enter) to send it anyway: the catalogue may be out of date.",
                )
                .weak(),
            );
        }
        if let Some(p) = &self.running {
            let elapsed = p.started.elapsed();
            ui.horizontal(|ui| {
                ui.label(format!(
                    "Running {} — {} rows · {} pages · {:.0} s",
                    p.line,
                    self.new_rows(),
                    p.pages,
                    elapsed.as_secs_f64().floor()
                ));
                cancel = ui.button("Cancel run").clicked();
            });
            // The seconds shown change at the next whole second (pages wake the window too).
            let to_next = 1_000 - elapsed.as_millis() % 1_000;
            ui.ctx()
                .request_repaint_after(Duration::from_millis(to_next as u64 + 1));
        } else if let Some(s) = &self.summary {
            ui.label(RichText::new(s).weak());
            if super::confirm::is_what_if(&self.result_of) {
                ui.label(RichText::new("-WhatIf preview: the service changed nothing").strong());
            }
        }
        for w in &self.warnings {
            // A -WhatIf answer is the service's preview, not a warning.
            let shown = match w.starts_with("What if:") {
                true => RichText::new(w),
                false => RichText::new(format!("Warning: {w}")).color(theme::AMBER),
            };
            ui.label(shown);
        }
        if let Some(e) = &self.error {
            ui.label(RichText::new(format!("Error: {e}")).color(theme::RED));
            if !self.results.is_empty() {
                ui.label(
                    RichText::new(format!("Still showing the result of {}", self.result_of)).weak(),
                );
            }
        }
        cancel
    }

    /// The "Change a production tenant?" confirmation of session `conn` in `tenant`, while a
    /// line waits for it.
    pub fn prod_dialog(
        &mut self,
        ctx: &egui::Context,
        conn: ConnId,
        tenant: &str,
        actions: &mut Actions,
    ) {
        let Some(line) = self.confirm_prod.clone() else {
            return;
        };
        let mut choice = None;
        let r = egui::Modal::new(egui::Id::unique("confirm_prod")).show(ctx, |ui| {
            ui.heading("Change a production tenant?");
            ui.label(format!(
                "This profile is tagged prod. Run this in {tenant}?"
            ));
            ui.label(RichText::new(&line).monospace());
            choice = super::widgets::confirm_row(ui, "Run in production");
        });
        if r.should_close() {
            choice = Some(false);
        }
        if let Some(yes) = choice {
            self.confirm_prod = None;
            if yes {
                self.run_line(conn, line, true, true, actions);
            }
        }
    }
}

/// The id of a session's cmdlet line (Ctrl+O focuses it).
pub(crate) fn cmdlet_line_id(conn: ConnId) -> egui::Id {
    egui::Id::unique(("cmdlet", conn))
}

/// The tenant banner in the profile's colour, so nobody runs a command in the wrong tenant.
/// Returns whether "Close output" was clicked.
fn banner(ui: &mut Ui, session: &SessionView, tags: &[String], actions: &mut Actions) -> bool {
    let color = theme::parse_hex(session.color.as_deref());
    let mut closed = false;
    egui::Frame::new()
        .fill(color.gamma_multiply(0.25))
        .stroke(egui::Stroke::new(2.0, color))
        .inner_margin(8)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                widgets::color_band(ui, color);
                // The buttons first (right to left), then the words in the room left: a long
                // account is cut, never drawn under the buttons, and the tags stay whole.
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Close output").clicked() {
                        closed = true;
                        actions.go(Go::Editor);
                    }
                    let ps = ui.button("Open in PowerShell").on_hover_text(
                        "Start pwsh already connected to this tenant (Connect-ExchangeOnline / Connect-IPPSSession -AccessToken)",
                    );
                    if ps.clicked() {
                        actions.send(UiCommand::OpenPowerShell { conn: session.conn });
                    }
                    let words = egui::Layout::left_to_right(egui::Align::Center);
                    ui.with_layout(words, |ui| banner_words(ui, session, tags));
                });
            });
        });
    closed
}

/// The banner's tenant, service, tags (#prod in red) and profile · account (cut to fit).
fn banner_words(ui: &mut Ui, session: &SessionView, tags: &[String]) {
    let tenant = RichText::new(&session.tenant).size(20.0).strong();
    ui.add(egui::Label::new(tenant).truncate());
    widgets::service_badge(ui, session.service);
    for t in tags {
        let prod = t.eq_ignore_ascii_case("prod");
        ui.label(RichText::new(format!("#{t}")).strong().color(if prod {
            theme::RED
        } else {
            theme::GREY
        }));
    }
    let who = format!("{} · {}", session.profile_name, session.account);
    ui.add(egui::Label::new(who).truncate());
}

/// The save dialog of Export CSV… (`csv`) or Export JSON…, named after the tenant.
pub fn export_request(tenant: &str, csv: bool) -> DialogRequest {
    let ext = if csv { "csv" } else { "json" };
    DialogRequest {
        purpose: if csv {
            DialogPurpose::ExportCsv
        } else {
            DialogPurpose::ExportJson
        },
        title: "Export results".into(),
        default_name: format!("{}-results.{ext}", tenant.replace(' ', "-").to_lowercase()),
        filter: (ext.to_uppercase(), vec![ext.into()]),
        save: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(rows: &[serde_json::Value]) -> ResultStore {
        let mut s = ResultStore::new();
        for r in rows {
            s.push_value(r);
        }
        s
    }

    #[test]
    fn a_failed_run_keeps_the_last_result_and_an_empty_one_replaces_it() {
        let mut o = OutputState::default();
        o.begin("Get-Mailbox".into());
        o.add_rows(page(&[json!({"Name": "b"})]));
        o.done(1, 1, Duration::from_millis(3));
        o.begin("Get-Nope".into());
        o.failed("not recognized".into());
        assert_eq!(o.results().len(), 1);
        assert_eq!(o.result_of, "Get-Mailbox");
        o.begin("Get-TransportRule".into());
        o.done(0, 1, Duration::from_millis(3));
        assert!(o.results().is_empty(), "an empty result is a new result");
        assert_eq!(o.result_of, "Get-TransportRule");
    }

    #[test]
    fn pages_add_up_and_a_new_run_or_close_drops_them() {
        let mut o = OutputState::default();
        o.begin("Get-Mailbox".into());
        o.add_rows(page(&[json!({"Name": "b", "Size": 10})]));
        o.add_rows(page(&[json!({"Name": "a", "Size": 9, "Extra": true})]));
        assert_eq!(o.results().len(), 2);
        assert_eq!(
            o.results().columns().collect::<Vec<_>>(),
            ["Name", "Size", "Extra"]
        );
        assert_eq!(o.running.as_ref().unwrap().pages, 2);
        o.done(2, 2, Duration::from_millis(300));
        assert_eq!(o.summary.as_deref(), Some("2 rows · 2 pages · 0.3 s"));
        assert_eq!(o.shown_rows(), [0, 1]);
        o.selected = Some(1);
        o.begin("Get-Mailbox".into());
        assert_eq!(
            o.results().len(),
            2,
            "the last result stays until rows arrive"
        );
        assert!(o.summary.is_none());
        o.add_rows(page(&[json!({"Name": "c"})]));
        assert_eq!(o.results().len(), 1);
        assert!(o.selected.is_none());
        o.clear_results();
        assert_eq!(o.rows_received(), 0);
        assert!(is_changing("Set-Mailbox x"));
        assert!(is_changing("Disable-TransportRule -Identity x"));
        assert!(!is_changing("Get-Mailbox"));
    }
}
