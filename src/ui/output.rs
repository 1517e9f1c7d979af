//! The output pane of a session: tenant banner, quick test, cmdlet line with history, the
//! virtualized result grid (columns chooser, sort, filter, copy, details, JSON view), progress,
//! warnings and errors, export to CSV / JSON. This file holds the state of one session's pane,
//! the banner, the cmdlet line and the status lines; `output/grid.rs` draws the results.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use egui::{RichText, Ui};
use serde_json::Value;

use crate::model::Service;

use super::action::{Action, Actions};
use super::bridge::{ConnId, Row, SessionView, UiCommand};
use super::dialogs::{DialogPurpose, DialogRequest};
use super::nav::Go;
use super::theme;
use super::widgets;

mod grid;

/// The quick test of a service.
pub fn quick_test(service: Service) -> &'static str {
    match service {
        Service::ExchangeOnline => "Get-Mailbox -ResultSize 10",
        Service::Protection => "Get-TransportRule",
        Service::SecurityCompliance => "Get-RetentionCompliancePolicy",
    }
}

/// Does this line change the tenant (Set-/New-/Remove-/Add- cmdlets)?
pub fn is_changing(line: &str) -> bool {
    let verb = line
        .trim_start()
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(verb.as_str(), "set" | "new" | "remove" | "add")
}

/// A cell as text: strings bare, null empty, everything else as JSON.
pub fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Sort key of a cell, computed once per row: numbers before text, numbers numerically, text
/// case-insensitively.
#[derive(Debug, PartialEq, PartialOrd)]
enum SortKey {
    Num(f64),
    Text(String),
}

fn sort_key(v: Option<&Value>) -> SortKey {
    match v {
        Some(Value::Number(n)) => SortKey::Num(n.as_f64().unwrap_or(0.0)),
        other => SortKey::Text(cell_text(other).to_lowercase()),
    }
}

/// What the cached view was computed from: (row count, filter, sort).
type ViewKey = (usize, String, Option<(String, bool)>);

#[derive(Debug, Clone)]
pub struct Progress {
    pub line: String,
    pub started: Instant,
    pub pages: u32,
}

/// Everything the output pane of one session shows.
#[derive(Debug, Default)]
pub struct OutputState {
    pub line: String,
    pub history: Vec<String>,
    hist_pos: Option<usize>,
    pub rows: Vec<Row>,
    pub columns: Vec<String>,
    pub hidden: HashSet<String>,
    /// (column name, ascending)
    pub sort: Option<(String, bool)>,
    pub filter: String,
    view: Vec<usize>,
    view_key: Option<ViewKey>,
    pub selected: Option<usize>,
    pub json_view: bool,
    pub running: Option<Progress>,
    pub summary: Option<String>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    pub confirm_prod: Option<String>,
}

impl OutputState {
    pub(crate) fn begin(&mut self, line: String) {
        self.rows.clear();
        self.columns.clear();
        self.view.clear();
        self.view_key = None;
        self.selected = None;
        self.warnings.clear();
        self.error = None;
        self.summary = None;
        self.running = Some(Progress {
            line,
            started: Instant::now(),
            pages: 0,
        });
    }

    pub(crate) fn started(&mut self, line: String) {
        if self.running.is_none() {
            self.begin(line);
        }
    }

    pub(crate) fn add_rows(&mut self, rows: Vec<Row>) {
        let mut seen: HashSet<String> = self.columns.iter().cloned().collect();
        for r in &rows {
            for k in r.keys() {
                if seen.insert(k.clone()) {
                    self.columns.push(k.clone());
                }
            }
        }
        self.rows.extend(rows);
        if let Some(p) = &mut self.running {
            p.pages += 1;
        }
    }

    pub(crate) fn done(&mut self, rows: u64, pages: u32, elapsed: Duration) {
        self.running = None;
        self.summary = Some(format!(
            "{rows} rows · {pages} {} · {:.1} s",
            if pages == 1 { "page" } else { "pages" },
            elapsed.as_secs_f64()
        ));
    }

    pub(crate) fn failed(&mut self, explanation: String) {
        self.running = None;
        self.error = Some(explanation);
    }

    pub fn visible_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| !self.hidden.contains(*c))
            .cloned()
            .collect()
    }

    /// Indices of the rows shown, filtered and sorted; recomputed only when something changed.
    pub fn view(&mut self) -> &[usize] {
        let key = (self.rows.len(), self.filter.clone(), self.sort.clone());
        if self.view_key.as_ref() != Some(&key) {
            let f = self.filter.trim().to_lowercase();
            let mut v: Vec<usize> = (0..self.rows.len())
                .filter(|&i| {
                    f.is_empty()
                        || self.rows[i]
                            .values()
                            .any(|val| cell_text(Some(val)).to_lowercase().contains(&f))
                })
                .collect();
            if let Some((col, asc)) = &self.sort {
                let mut keyed: Vec<(SortKey, usize)> = v
                    .into_iter()
                    .map(|i| (sort_key(self.rows[i].get(col)), i))
                    .collect();
                // Stable: equal keys keep arrival order.
                keyed.sort_by(|a, b| {
                    let o = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
                    if *asc { o } else { o.reverse() }
                });
                v = keyed.into_iter().map(|(_, i)| i).collect();
            }
            self.view = v;
            self.view_key = Some(key);
        }
        &self.view
    }

    /// CSV of the shown rows and columns.
    pub fn to_csv(&mut self) -> Result<String, String> {
        let cols = self.visible_columns();
        let view = self.view().to_vec();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&cols).map_err(|e| e.to_string())?;
        for i in view {
            w.write_record(cols.iter().map(|c| cell_text(self.rows[i].get(c))))
                .map_err(|e| e.to_string())?;
        }
        String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }

    /// JSON array of the shown rows (all properties).
    pub fn to_json(&mut self) -> String {
        let view = self.view().to_vec();
        let rows: Vec<&Row> = view.iter().map(|&i| &self.rows[i]).collect();
        serde_json::to_string_pretty(&rows).unwrap_or_default()
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

    /// What an export writes: (rows shown, the CSV or JSON text of the shown rows).
    pub fn export_text(&mut self, csv: bool) -> (usize, Result<String, String>) {
        let n = self.view().len();
        let text = if csv {
            self.to_csv()
        } else {
            Ok(self.to_json())
        };
        (n, text)
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
        banner(ui, session, tags, actions);
        ui.add_space(4.0);
        let run = self.line_bar(ui, conn, session.service);
        let cancel = self.status_lines(ui);
        ui.separator();
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
            let id = egui::Id::unique(("cmdlet", conn));
            // Run after the field took this frame's typed text (see below).
            let run_now = ui.memory(|m| m.focused()) == Some(id) && self.history_keys(ui) && !busy;
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.line)
                        .id(id)
                        .hint_text(
                            "Get-Mailbox -ResultSize 10   (Ctrl+Enter runs, Up/Down history)",
                        )
                        .code_editor()
                        .desired_width(ui.available_width() - 70.0),
                )
                .labelled_by(l.id);
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
        if let Some(p) = &self.running {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "Running {} — {} rows · {} pages · {:.0} s",
                    p.line,
                    self.rows.len(),
                    p.pages,
                    p.started.elapsed().as_secs_f64()
                ));
                cancel = ui.button("Cancel run").clicked();
            });
            ui.ctx().request_repaint_after(Duration::from_millis(500));
        } else if let Some(s) = &self.summary {
            ui.label(RichText::new(s).weak());
        }
        for w in &self.warnings {
            ui.label(RichText::new(format!("Warning: {w}")).color(theme::AMBER));
        }
        if let Some(e) = &self.error {
            ui.label(RichText::new(format!("Error: {e}")).color(theme::RED));
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

/// The tenant banner in the profile's colour, so nobody runs a command in the wrong tenant.
fn banner(ui: &mut Ui, session: &SessionView, tags: &[String], actions: &mut Actions) {
    let color = theme::parse_hex(session.color.as_deref());
    egui::Frame::new()
        .fill(color.gamma_multiply(0.25))
        .stroke(egui::Stroke::new(2.0, color))
        .inner_margin(8)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                widgets::color_band(ui, color);
                ui.label(RichText::new(&session.tenant).size(20.0).strong());
                widgets::service_badge(ui, session.service);
                ui.label(format!("{} · {}", session.profile_name, session.account));
                for t in tags {
                    let prod = t.eq_ignore_ascii_case("prod");
                    ui.label(RichText::new(format!("#{t}")).strong().color(if prod {
                        theme::RED
                    } else {
                        theme::GREY
                    }));
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Close output").clicked() {
                        actions.go(Go::Editor);
                    }
                });
            });
        });
}

/// The save dialog of Export CSV… (`csv`) or Export JSON…, named after the tenant.
fn export_request(tenant: &str, csv: bool) -> DialogRequest {
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

    fn row(v: Value) -> Row {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sort_filter_and_csv() {
        let mut o = OutputState::default();
        o.add_rows(vec![
            row(json!({"Name": "b", "Size": 10})),
            row(json!({"Name": "a", "Size": 9, "Extra": true})),
            row(json!({"Name": "c", "Size": 100})),
        ]);
        assert_eq!(o.columns, vec!["Name", "Size", "Extra"]);
        o.sort = Some(("Size".into(), true));
        assert_eq!(o.view(), &[1, 0, 2]);
        o.sort = Some(("Name".into(), false));
        assert_eq!(o.view(), &[2, 0, 1]);
        o.filter = "A".into();
        assert_eq!(o.view(), &[1]);
        o.hidden.insert("Extra".into());
        assert_eq!(o.to_csv().unwrap(), "Name,Size\na,9\n");
        assert!(is_changing("Set-Mailbox x"));
        assert!(!is_changing("Get-Mailbox"));
        assert_eq!(grid::row_tsv(&o.rows[0], &o.visible_columns()), "b\t10");
    }
}
