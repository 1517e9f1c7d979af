//! The output pane of a session: tenant banner, quick test, cmdlet line with history, the
//! virtualized result grid (columns chooser, sort, filter, copy, details, JSON view), progress,
//! warnings and errors, export to CSV / JSON.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use serde_json::Value;

use crate::model::Service;

use super::action::{Action, Actions};
use super::bridge::{ConnId, Row, SessionView, UiCommand};
use super::dialogs::{DialogPurpose, DialogRequest};
use super::nav::Go;
use super::theme;
use super::widgets;

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
        let color = theme::parse_hex(session.color.as_deref());
        // Tenant banner: so nobody runs a command in the wrong tenant.
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
        ui.add_space(4.0);

        let quick = quick_test(session.service);
        let mut run: Option<String> = None;
        let mut cancel = false;
        let mut export: Option<bool> = None;
        {
            let out = &mut *self;
            let busy = out.running.is_some();
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
                let has_focus =
                    ui.memory(|m| m.focused()) == Some(egui::Id::unique(("cmdlet", conn)));
                let mut run_now = false;
                if has_focus {
                    let (up, down, ctrl_enter) = ui.input_mut(|i| {
                        (
                            i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                            i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                            i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter),
                        )
                    });
                    if up && !out.history.is_empty() {
                        let p = out
                            .hist_pos
                            .map(|p| p.saturating_sub(1))
                            .unwrap_or(out.history.len() - 1);
                        out.hist_pos = Some(p);
                        out.line = out.history[p].clone();
                    }
                    if down && let Some(p) = out.hist_pos {
                        if p + 1 < out.history.len() {
                            out.hist_pos = Some(p + 1);
                            out.line = out.history[p + 1].clone();
                        } else {
                            out.hist_pos = None;
                            out.line.clear();
                        }
                    }
                    // Run after the field took this frame's typed text (see below).
                    run_now = ctrl_enter && !busy;
                }
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut out.line)
                            .id(egui::Id::unique(("cmdlet", conn)))
                            .hint_text(
                                "Get-Mailbox -ResultSize 10   (Ctrl+Enter runs, Up/Down history)",
                            )
                            .code_editor()
                            .desired_width(ui.available_width() - 70.0),
                    )
                    .labelled_by(l.id);
                if run_now {
                    run = Some(out.line.clone());
                }
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && !busy {
                    run = Some(out.line.clone());
                }
                if ui.add_enabled(!busy, egui::Button::new("Run")).clicked() {
                    run = Some(out.line.clone());
                }
            });
            if let Some(p) = &out.running {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "Running {} — {} rows · {} pages · {:.0} s",
                        p.line,
                        out.rows.len(),
                        p.pages,
                        p.started.elapsed().as_secs_f64()
                    ));
                    cancel = ui.button("Cancel run").clicked();
                });
                ui.ctx().request_repaint_after(Duration::from_millis(500));
            } else if let Some(s) = &out.summary {
                ui.label(RichText::new(s).weak());
            }
            for w in &out.warnings {
                ui.label(RichText::new(format!("Warning: {w}")).color(theme::AMBER));
            }
            if let Some(e) = &out.error {
                ui.label(RichText::new(format!("Error: {e}")).color(theme::RED));
            }
            ui.separator();

            // Grid toolbar.
            ui.horizontal(|ui| {
                let l = ui.label("Filter");
                ui.add(egui::TextEdit::singleline(&mut out.filter).desired_width(200.0))
                    .labelled_by(l.id);
                ui.menu_button("Columns", |ui| {
                    for c in out.columns.clone() {
                        let mut shown = !out.hidden.contains(&c);
                        if ui.checkbox(&mut shown, &c).changed() {
                            if shown {
                                out.hidden.remove(&c);
                            } else {
                                out.hidden.insert(c);
                            }
                        }
                    }
                });
                ui.checkbox(&mut out.json_view, "JSON view");
                let has = !out.rows.is_empty();
                if ui
                    .add_enabled(has, egui::Button::new("Export CSV…"))
                    .clicked()
                {
                    export = Some(true);
                }
                if ui
                    .add_enabled(has, egui::Button::new("Export JSON…"))
                    .clicked()
                {
                    export = Some(false);
                }
                let shown = out.view().len();
                ui.label(RichText::new(format!("{shown} of {} rows", out.rows.len())).weak());
            });
            grid(ui, out, conn);
        }
        if let Some(line) = run {
            self.run_line(conn, line, is_prod(tags), false, actions);
        }
        if cancel {
            actions.send(UiCommand::CancelRun { conn });
        }
        if let Some(csv) = export {
            let name = format!(
                "{}-results.{}",
                session.tenant.replace(' ', "-").to_lowercase(),
                if csv { "csv" } else { "json" }
            );
            let ext = if csv { "csv" } else { "json" };
            actions.push(Action::AskFile(DialogRequest {
                purpose: if csv {
                    DialogPurpose::ExportCsv
                } else {
                    DialogPurpose::ExportJson
                },
                title: "Export results".into(),
                default_name: name,
                filter: (ext.to_uppercase(), vec![ext.into()]),
                save: true,
            }));
        }
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

fn grid(ui: &mut Ui, out: &mut OutputState, conn: ConnId) {
    if out.rows.is_empty() {
        if out.running.is_none() && out.error.is_none() {
            ui.label(RichText::new("No results yet. Run the quick test or a cmdlet.").weak());
        }
        return;
    }
    let cols = out.visible_columns();
    let view = out.view().to_vec();

    // Details side panel: every property of the selected row.
    if let Some(sel) = out.selected.filter(|&i| i < out.rows.len()) {
        egui::Panel::right(egui::Id::unique(("details", conn)))
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.strong("Details");
                    if ui.button("Close details").clicked() {
                        out.selected = None;
                    }
                });
                egui::ScrollArea::vertical().show(ui, |ui| {
                    egui::Grid::new(("details_grid", conn))
                        .num_columns(2)
                        .striped(true)
                        .show(ui, |ui| {
                            for (k, v) in &out.rows[sel] {
                                ui.label(RichText::new(k).strong());
                                ui.label(cell_text(Some(v)));
                                ui.end_row();
                            }
                        });
                });
            });
    }

    if out.json_view {
        let row_h = ui.text_style_height(&egui::TextStyle::Monospace);
        egui::ScrollArea::both()
            .auto_shrink([false, false])
            .show_rows(ui, row_h, view.len(), |ui, range| {
                for &i in &view[range] {
                    let text = serde_json::to_string(&out.rows[i]).unwrap_or_default();
                    ui.label(RichText::new(text).monospace());
                }
            });
        return;
    }

    // Initial widths from the text length of the header and the first rows (resizable after).
    let char_w = 6.8;
    let widths: Vec<f32> = cols
        .iter()
        .map(|c| {
            let longest = view
                .iter()
                .take(200)
                .map(|&i| cell_text(out.rows[i].get(c)).chars().count())
                .max()
                .unwrap_or(0)
                .max(c.chars().count() + 7);
            (longest as f32 * char_w + 12.0).clamp(60.0, 380.0)
        })
        .collect();
    let mut clicked_header: Option<String> = None;
    let mut clicked_row: Option<usize> = None;
    let mut copy: Option<String> = None;
    egui::ScrollArea::horizontal().show(ui, |ui| {
        let mut table = TableBuilder::new(ui);
        for w in &widths {
            table = table.column(Column::initial(*w).at_least(40.0).clip(true));
        }
        table
            .id_salt(("results", conn, cols.join("\u{1f}")))
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .header(22.0, |mut header| {
                for c in &cols {
                    header.col(|ui| {
                        let arrow = match &out.sort {
                            Some((s, true)) if s == c => " (up)",
                            Some((s, false)) if s == c => " (down)",
                            _ => "",
                        };
                        let r = ui
                            .add(
                                egui::Button::new(RichText::new(format!("{c}{arrow}")).strong())
                                    .frame(false),
                            )
                            .accessible_name(c.as_str())
                            .on_hover_text("Sort by this column");
                        if r.clicked() {
                            clicked_header = Some(c.clone());
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, view.len(), |mut row| {
                    let i = view[row.index()];
                    row.set_selected(out.selected == Some(i));
                    for c in &cols {
                        let text = cell_text(out.rows[i].get(c));
                        row.col(|ui| {
                            let r = ui.add(
                                egui::Label::new(&text)
                                    .truncate()
                                    .sense(egui::Sense::click()),
                            );
                            if r.clicked() {
                                clicked_row = Some(i);
                            }
                            r.context_menu(|ui| {
                                if ui.button("Copy cell").clicked() {
                                    copy = Some(text.clone());
                                    ui.close();
                                }
                                if ui.button("Copy row").clicked() {
                                    copy = Some(out_row_tsv(&out.rows[i], &cols));
                                    ui.close();
                                }
                            });
                        });
                    }
                    if row.response().clicked() {
                        clicked_row = Some(i);
                    }
                });
            });
    });
    if let Some(c) = clicked_header {
        out.sort = match &out.sort {
            Some((s, true)) if *s == c => Some((c, false)),
            _ => Some((c, true)),
        };
    }
    if let Some(i) = clicked_row {
        out.selected = if out.selected == Some(i) {
            None
        } else {
            Some(i)
        };
    }
    if let Some(t) = copy {
        ui.ctx().copy_text(t);
    }
}

fn out_row_tsv(row: &Row, cols: &[String]) -> String {
    cols.iter()
        .map(|c| cell_text(row.get(c)))
        .collect::<Vec<_>>()
        .join("\t")
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
        assert_eq!(out_row_tsv(&o.rows[0], &o.visible_columns()), "b\t10");
    }
}
