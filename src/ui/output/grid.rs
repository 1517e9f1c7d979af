//! The result grid of an output pane: its toolbar (filter, columns chooser, JSON view, export,
//! row count), the virtualized table (sort by header, select a row, copy from the context
//! menu), the details panel of the selected row and the JSON view.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder, TableRow};

use crate::ui::bridge::{ConnId, Row};

use super::{OutputState, cell_text};

/// Pixels per character of the initial column widths.
const CHAR_W: f32 = 6.8;

/// What was clicked in the table this frame.
#[derive(Default)]
struct TableClicks {
    header: Option<String>,
    row: Option<usize>,
    copy: Option<String>,
}

impl OutputState {
    /// Filter, Columns, JSON view, Export CSV… / Export JSON…, "n of m rows"; returns
    /// Some(true) for a CSV export, Some(false) for JSON.
    pub(super) fn grid_toolbar(&mut self, ui: &mut Ui) -> Option<bool> {
        let mut export = None;
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(200.0))
                .labelled_by(l.id);
            ui.menu_button("Columns", |ui| {
                for c in self.columns.clone() {
                    let mut shown = !self.hidden.contains(&c);
                    if ui.checkbox(&mut shown, &c).changed() {
                        if shown {
                            self.hidden.remove(&c);
                        } else {
                            self.hidden.insert(c);
                        }
                    }
                }
            });
            ui.checkbox(&mut self.json_view, "JSON view");
            let has = !self.rows.is_empty();
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
            let shown = self.view().len();
            ui.label(RichText::new(format!("{shown} of {} rows", self.rows.len())).weak());
        });
        export
    }
}

/// The rows of `out`: the details panel of the selected row, then the JSON view or the table.
pub(super) fn grid(ui: &mut Ui, out: &mut OutputState, conn: ConnId) {
    if out.rows.is_empty() {
        if out.running.is_none() && out.error.is_none() {
            ui.label(RichText::new("No results yet. Run the quick test or a cmdlet.").weak());
        }
        return;
    }
    let cols = out.visible_columns();
    let view = out.view().to_vec();
    if let Some(sel) = out.selected.filter(|&i| i < out.rows.len()) {
        details(ui, out, sel, conn);
    }
    if out.json_view {
        json_rows(ui, &out.rows, &view);
        return;
    }
    let clicks = table(ui, out, &cols, &view, conn);
    if let Some(c) = clicks.header {
        out.sort = match &out.sort {
            Some((s, true)) if *s == c => Some((c, false)),
            _ => Some((c, true)),
        };
    }
    if let Some(i) = clicks.row {
        out.selected = if out.selected == Some(i) {
            None
        } else {
            Some(i)
        };
    }
    if let Some(t) = clicks.copy {
        ui.ctx().copy_text(t);
    }
}

/// Details side panel: every property of the selected row.
fn details(ui: &mut Ui, out: &mut OutputState, sel: usize, conn: ConnId) {
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

/// One JSON line per shown row, only the visible ones laid out.
fn json_rows(ui: &mut Ui, rows: &[Row], view: &[usize]) {
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show_rows(ui, row_h, view.len(), |ui, range| {
            for &i in &view[range] {
                let text = serde_json::to_string(&rows[i]).unwrap_or_default();
                ui.label(RichText::new(text).monospace());
            }
        });
}

/// Initial widths from the text length of the header and the first rows (resizable after).
fn column_widths(rows: &[Row], cols: &[String], view: &[usize]) -> Vec<f32> {
    cols.iter()
        .map(|c| {
            let longest = view
                .iter()
                .take(200)
                .map(|&i| cell_text(rows[i].get(c)).chars().count())
                .max()
                .unwrap_or(0)
                .max(c.chars().count() + 7);
            (longest as f32 * CHAR_W + 12.0).clamp(60.0, 380.0)
        })
        .collect()
}

/// The virtualized table of the shown rows and columns.
fn table(
    ui: &mut Ui,
    out: &OutputState,
    cols: &[String],
    view: &[usize],
    conn: ConnId,
) -> TableClicks {
    let widths = column_widths(&out.rows, cols, view);
    let mut clicks = TableClicks::default();
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
                for c in cols {
                    header.col(|ui| {
                        if header_cell(ui, c, &out.sort) {
                            clicks.header = Some(c.clone());
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, view.len(), |mut row| {
                    let i = view[row.index()];
                    row.set_selected(out.selected == Some(i));
                    body_row(&mut row, &out.rows[i], cols, i, &mut clicks);
                });
            });
    });
    clicks
}

/// A column header: a frameless button named after the column; returns whether it was clicked.
fn header_cell(ui: &mut Ui, c: &str, sort: &Option<(String, bool)>) -> bool {
    let arrow = match sort {
        Some((s, true)) if s == c => " (up)",
        Some((s, false)) if s == c => " (down)",
        _ => "",
    };
    ui.add(egui::Button::new(RichText::new(format!("{c}{arrow}")).strong()).frame(false))
        .accessible_name(c)
        .on_hover_text("Sort by this column")
        .clicked()
}

/// The cells of row `i`; a click selects it, the context menu copies the cell or the row.
fn body_row(row: &mut TableRow, data: &Row, cols: &[String], i: usize, clicks: &mut TableClicks) {
    for c in cols {
        let text = cell_text(data.get(c));
        row.col(|ui| {
            let r = ui.add(
                egui::Label::new(&text)
                    .truncate()
                    .sense(egui::Sense::click()),
            );
            if r.clicked() {
                clicks.row = Some(i);
            }
            r.context_menu(|ui| {
                if ui.button("Copy cell").clicked() {
                    clicks.copy = Some(text.clone());
                    ui.close();
                }
                if ui.button("Copy row").clicked() {
                    clicks.copy = Some(row_tsv(data, cols));
                    ui.close();
                }
            });
        });
    }
    if row.response().clicked() {
        clicks.row = Some(i);
    }
}

/// A row as tab-separated values of the shown columns (Copy row).
pub(super) fn row_tsv(row: &Row, cols: &[String]) -> String {
    cols.iter()
        .map(|c| cell_text(row.get(c)))
        .collect::<Vec<_>>()
        .join("\t")
}
