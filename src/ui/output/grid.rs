//! The result grid of an output pane: its toolbar (filter, columns chooser, JSON view, export,
//! row count, "sorting…"), the table or the JSON view, and beside it the details panel of the
//! selected row (`details.rs`).
//!
//! The table is virtualized both ways: a frame lays out only the rows and the columns in view
//! (a cell is an interactive rect with its text painted in it and an accessible label), and
//! finds them by arithmetic (rows all have one height) and by a binary search over the cached
//! column edges. Nothing per frame grows with the result's rows or columns: columns, widths and
//! the rows shown are cached in `columns.rs` and `view.rs`, and brought up to date here only
//! when something changed.

use egui::{Id, Rect, RichText, Sense, TextStyle, TextWrapMode, Ui, WidgetText, pos2, vec2};

use crate::model::results::ResultStore;
use crate::model::results::view::Filter;
use crate::model::views;
use crate::ui::bridge::ConnId;

use super::OutputState;
use super::columns::{Columns, MIN_W};
use super::details;
use super::view::Spec;

/// Height of a row and of the header.
const ROW_H: f32 = 20.0;
const HEADER_H: f32 = 22.0;
/// Space left and right of a cell's text.
const PAD: f32 = 4.0;
/// Width of a column's resize grip (either side of its right edge).
const GRIP: f32 = 3.0;
/// Room for the sort triangle in a sorted column's header.
const ARROW_W: f32 = 12.0;

/// What was clicked in the table this frame.
#[derive(Default)]
struct TableClicks {
    header: Option<String>,
    row: Option<usize>,
    copy: Option<String>,
    /// (column, its new width)
    resize: Option<(usize, f32)>,
}

impl OutputState {
    /// Filter, Columns, JSON view, Export CSV… / Export JSON…, "n of m rows" and what the
    /// worker is doing; returns Some(true) for a CSV export, Some(false) for JSON.
    pub(super) fn grid_toolbar(&mut self, ui: &mut Ui) -> Option<bool> {
        let mut export = None;
        let mut chooser_at = egui::Pos2::ZERO;
        // The rows shown first, so the row count and "matched in" are this frame's.
        self.sync_view(ui);
        crate::ui::probe::phase("grid: view sync");
        // Wrapped: at 1024×700 the exports and the row count go to a second line, not off-screen.
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Filter");
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(200.0))
                .labelled_by(l.id)
                .on_hover_text("Text in any column, or Column:text");
            crate::ui::probe::phase("grid: toolbar");
            if let Some(hint) = self.filter_hint() {
                ui.label(RichText::new(hint).weak());
            }
            crate::ui::probe::phase("grid: matched-in hint");
            let store = self.results.shared().clone();
            let columns = &mut self.results.columns;
            if store.column_count() > 0 {
                if !columns.shows_all(store.column_count()) {
                    let all = format!("Show all columns ({})", store.column_count());
                    if ui.button(all).clicked() {
                        columns.show_all();
                    }
                } else if store.column_count() > views::SMALL
                    && ui
                        .button("Default view")
                        .on_hover_text(format!("The usual columns of {}", self.result_of))
                        .clicked()
                {
                    columns.show_default(&store);
                }
            }
            let r = ui
                .selectable_label(self.chooser.is_some(), "Columns")
                .on_hover_text("Choose the columns shown");
            if r.clicked() {
                self.chooser = match self.chooser {
                    Some(_) => None,
                    None => Some(String::new()),
                };
            }
            chooser_at = r.rect.left_bottom();
            ui.checkbox(&mut self.json_view, "JSON view");
            let has = !self.results.store().is_empty();
            if ui
                .add_enabled(has, egui::Button::new("Export CSV…"))
                .clicked()
            {
                export = Some(true);
            }
            let mut bom = self.csv_bom();
            if ui
                .checkbox(&mut bom, "UTF-8 BOM")
                .on_hover_text(
                    "Start CSV files with a byte order mark, so Excel reads non-ASCII names right",
                )
                .changed()
            {
                self.csv_bom = Some(bom);
            }
            if ui
                .add_enabled(has, egui::Button::new("Export JSON…"))
                .clicked()
            {
                export = Some(false);
            }
            let total = self.results.store().len();
            let shown = self.results.shown_len();
            ui.label(RichText::new(format!("{shown} of {total} rows")).weak());
            if let Some(doing) = self.results.view.busy() {
                ui.label(RichText::new(doing).italics());
            }
        });
        self.chooser_window(ui, chooser_at);
        crate::ui::probe::phase("grid: toolbar");
        export
    }

    /// The column chooser, while open: a searchable, scrollable list of every column that stays
    /// open while columns are ticked, with All / None / Default; Esc or Close closes it. Widths
    /// stay (they are kept per column).
    fn chooser_window(&mut self, ui: &Ui, at: egui::Pos2) {
        let Some(search) = &mut self.chooser else {
            return;
        };
        let store = self.results.shared().clone();
        let columns = &mut self.results.columns;
        let mut open = true;
        let mut close = ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape));
        egui::Window::new("Choose columns")
            .id(Id::unique("column_chooser"))
            .default_pos(at)
            .default_width(260.0)
            .collapsible(false)
            .resizable(true)
            .open(&mut open)
            .show(ui.ctx(), |ui| {
                ui.horizontal(|ui| {
                    let l = ui.label("Search columns");
                    ui.add(egui::TextEdit::singleline(search).desired_width(140.0))
                        .labelled_by(l.id);
                });
                ui.horizontal(|ui| {
                    if ui
                        .button("All")
                        .on_hover_text("Show every column")
                        .clicked()
                    {
                        columns.show_all();
                    }
                    if ui
                        .button("None")
                        .on_hover_text("Hide every column")
                        .clicked()
                    {
                        columns.show_none();
                    }
                    if ui
                        .button("Default")
                        .on_hover_text("The cmdlet's usual columns")
                        .clicked()
                    {
                        columns.show_default(&store);
                    }
                    close |= ui.button("Close").clicked();
                });
                ui.separator();
                let needle = search.trim().to_lowercase();
                egui::ScrollArea::vertical()
                    .max_height(ui.ctx().content_rect().height() * 0.5)
                    .show(ui, |ui| {
                        for name in store.columns() {
                            if !needle.is_empty() && !name.to_lowercase().contains(&needle) {
                                continue;
                            }
                            let mut shown = !columns.is_hidden(name);
                            if ui.checkbox(&mut shown, name).changed() {
                                columns.set_hidden(name, !shown);
                            }
                        }
                    });
            });
        if close || !open {
            self.chooser = None;
        }
    }

    /// "matched in: Department, Office (hidden)": the columns where the filter matched in the
    /// first rows shown (worked out once per filter and row count).
    fn filter_hint(&mut self) -> Option<String> {
        if self.filter.trim().is_empty() || self.results.view.busy().is_some() {
            return None;
        }
        let n = self.results.shown_len();
        if let Some((f, rows, hint)) = &self.hint
            && *f == self.filter
            && *rows == n
        {
            return Some(hint.clone()).filter(|h| !h.is_empty());
        }
        let store = self.results.store();
        let cols: Vec<usize> = match Filter::parse(store, &self.filter) {
            Filter::All => return None,
            Filter::Column(c, _) => vec![c],
            Filter::Any(needle) => {
                let mut found = Vec::new();
                let mut text = String::new();
                for i in 0..n.min(20) {
                    let r = self.results.shown_row(i);
                    for c in 0..store.column_count() {
                        if found.contains(&c) {
                            continue;
                        }
                        text.clear();
                        store.cell_text(r, c, &mut text);
                        if lowercase_contains(&mut text, &needle) {
                            found.push(c);
                        }
                    }
                }
                found
            }
        };
        let names: Vec<String> = cols
            .iter()
            .take(4)
            .map(|&c| {
                let name = store.column_name(c);
                if self.results.columns.is_hidden(name) {
                    format!("{name} (hidden)")
                } else {
                    name.to_string()
                }
            })
            .collect();
        let more = cols.len().saturating_sub(4);
        let mut hint = String::new();
        if !names.is_empty() && n > 0 {
            hint = format!("matched in: {}", names.join(", "));
            if more > 0 {
                hint.push_str(&format!(" +{more}"));
            }
        }
        self.hint = Some((self.filter.clone(), n, hint.clone()));
        Some(hint).filter(|h| !h.is_empty())
    }

    /// Brings what the grid shows up to date: pages that waited go in, the wanted filter and
    /// sort go to the view, a finished job's rows are taken and the next job started. Cheap
    /// when nothing changed.
    fn sync_view(&mut self, ui: &Ui) {
        self.results.flush();
        let spec = self.results.spec();
        if spec.filter != self.filter || spec.sort != self.sort {
            self.results.view.want(Spec {
                filter: self.filter.clone(),
                sort: self.sort.clone(),
            });
        }
        let ctx = ui.ctx().clone();
        let store = self.results.shared().clone();
        if let Some(wait) = self
            .results
            .view
            .update(&store, move || ctx.request_repaint())
        {
            ui.ctx().request_repaint_after(wait);
        }
        drop(store);
        self.results.flush();
        let store = self.results.shared().clone();
        self.results.columns.refresh(&store);
    }
}

/// The rows of `out`: the JSON view or the table, with the details panel of the selected row
/// beside it.
pub(super) fn grid(ui: &mut Ui, out: &mut OutputState, conn: ConnId) {
    out.sync_view(ui);
    crate::ui::probe::phase("grid: view sync");
    if out.results.is_empty() {
        if out.running.is_none() && out.error.is_none() {
            ui.label(RichText::new("No results yet. Run the quick test or a cmdlet.").weak());
        }
        return;
    }
    let store = out.results.shared().clone();
    let area = ui.available_rect_before_wrap();
    ui.allocate_rect(area, Sense::hover());
    let sel = out.selected.filter(|&i| i < store.len());
    let grid_rect = match sel {
        Some(sel) => {
            let (grid_rect, panel_rect) = details::split(ui, area, &mut out.details_w, conn);
            let mut panel_ui = ui.new_child(
                egui::UiBuilder::new()
                    .max_rect(panel_rect.shrink2(vec2(4.0, 0.0)))
                    .layout(egui::Layout::top_down(egui::Align::Min)),
            );
            panel_ui.set_clip_rect(panel_rect.intersect(ui.clip_rect()));
            let d = details::panel(&mut panel_ui, &store, sel, out.json_view, conn);
            if d.close {
                out.selected = None;
            }
            if let Some(t) = d.copy {
                ui.ctx().copy_text(t);
            }
            grid_rect
        }
        None => area,
    };
    crate::ui::probe::phase("grid: details panel");
    let mut grid_ui = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(grid_rect)
            .layout(egui::Layout::top_down(egui::Align::Min)),
    );
    grid_ui.set_clip_rect(grid_rect.intersect(ui.clip_rect()));
    let ui = &mut grid_ui;
    if out.json_view {
        if let Some(r) = json_rows(ui, out, &store) {
            out.selected = if out.selected == Some(r) {
                None
            } else {
                Some(r)
            };
        }
        return;
    }
    let clicks = table(ui, out, &store, conn);
    crate::ui::probe::phase("grid: header");
    if let Some(c) = clicks.header {
        out.sort = match &out.sort {
            Some((s, true)) if *s == c => Some((c, false)),
            _ => Some((c, true)),
        };
        ui.ctx().request_repaint(); // the next frame hands the sort to the worker
    }
    if let Some(i) = clicks.row {
        let mods = ui.input(|i| i.modifiers);
        out.click_row(i, mods);
    }
    if let Some((col, w)) = clicks.resize {
        out.results
            .columns
            .set_width(col, store.column_name(col), w);
    }
    if let Some(t) = clicks.copy {
        ui.ctx().copy_text(t);
    }
}

/// One JSON line per shown row, only the rows in view laid out; returns the row clicked (the
/// details panel shows it pretty-printed).
fn json_rows(ui: &mut Ui, out: &OutputState, store: &ResultStore) -> Option<usize> {
    let row_h = ui.text_style_height(&TextStyle::Monospace) + ui.spacing().item_spacing.y;
    let mut clicked = None;
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show_rows(ui, row_h, out.results.shown_len(), |ui, range| {
            for i in range {
                let r = out.results.shown_row(i);
                let text = serde_json::to_string(&store.row_object(r)).unwrap_or_default();
                let l = egui::Label::new(RichText::new(text).monospace())
                    .extend()
                    .sense(Sense::click());
                if ui
                    .add(l)
                    .on_hover_text("Show this row pretty-printed")
                    .clicked()
                {
                    clicked = Some(r);
                }
            }
        });
    clicked
}

/// The table of the shown rows and columns: only the ones in view are laid out.
fn table(ui: &mut Ui, out: &OutputState, store: &ResultStore, conn: ConnId) -> TableClicks {
    let cols = &out.results.columns;
    let n = out.results.shown_len();
    let mut clicks = TableClicks::default();
    egui::ScrollArea::both()
        .id_salt(("results", conn))
        .auto_shrink([false, false])
        .show_viewport(ui, |ui, vp| {
            ui.set_min_size(vec2(cols.total_width(), HEADER_H + n as f32 * ROW_H));
            let origin = ui.max_rect().min;
            let in_view = cols.in_view(vp.min.x, vp.max.x);
            // Row `pos` spans HEADER_H + pos·ROW_H ..+ROW_H; the header covers the top of the view.
            let first = (vp.min.y / ROW_H).floor().max(0.0) as usize;
            let end = (((vp.max.y - HEADER_H) / ROW_H).ceil().max(0.0) as usize).min(n);
            let x_range = (origin.x + vp.min.x)..=(origin.x + vp.max.x.min(cols.total_width()));
            let mut text = String::new();
            crate::ui::probe::phase("grid: scroll area");
            for pos in first..end.max(first) {
                let r = out.results.shown_row(pos);
                let y = origin.y + HEADER_H + pos as f32 * ROW_H;
                let row_rect = Rect::from_x_y_ranges(x_range.clone(), y..=y + ROW_H);
                row_background(
                    ui,
                    row_rect,
                    pos,
                    out.selected == Some(r) || out.picked.contains(&r),
                    origin.y + vp.min.y,
                );
                for i in in_view.clone() {
                    let c = cols.shown()[i];
                    let cell = Rect::from_x_y_ranges(
                        origin.x + cols.left(i)..=origin.x + cols.left(i + 1),
                        y..=y + ROW_H,
                    );
                    text.clear();
                    store.cell_text(r, c, &mut text);
                    body_cell(ui, cell, &text, (conn, r, c), &mut clicks, || {
                        row_tsv(store, r, cols.shown())
                    });
                }
            }
            crate::ui::probe::phase("grid: cells");
            header(ui, out, store, conn, origin, vp, &mut clicks);
        });
    clicks
}

/// Stripes, the selected row and the row under the pointer (not under the header).
fn row_background(ui: &Ui, row: Rect, pos: usize, selected: bool, header_top: f32) {
    let v = ui.visuals();
    let hovered = ui.rect_contains_pointer(row)
        && ui
            .ctx()
            .pointer_hover_pos()
            .is_some_and(|p| p.y > header_top + HEADER_H);
    let fill = if selected {
        Some(v.selection.bg_fill)
    } else if hovered {
        Some(v.widgets.hovered.weak_bg_fill)
    } else if pos % 2 == 1 {
        Some(v.faint_bg_color)
    } else {
        None
    };
    if let Some(fill) = fill {
        ui.painter().rect_filled(row, 0.0, fill);
    }
}

/// One cell: its text (cut with "…" when it does not fit, the whole text on hover), a click
/// selects the row, the context menu copies the cell or the row.
fn body_cell(
    ui: &mut Ui,
    cell: Rect,
    text: &str,
    id: (ConnId, usize, usize),
    clicks: &mut TableClicks,
    row_text: impl FnOnce() -> String,
) {
    let mut r = ui.interact(cell, Id::unique(("cell", id)), Sense::click());
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, text));
    let galley = cell_galley(ui, text, (cell.width() - 2.0 * PAD).max(0.0));
    let at = pos2(cell.left() + PAD, cell.center().y - galley.size().y / 2.0);
    let clip = cell.intersect(ui.clip_rect());
    let color = ui.visuals().text_color();
    let elided = galley.elided;
    ui.painter().with_clip_rect(clip).galley(at, galley, color);
    if elided {
        r = r.on_hover_text(text);
    }
    if r.clicked() {
        clicks.row = Some(id.1);
    }
    r.context_menu(|ui| {
        if ui.button("Copy cell").clicked() {
            clicks.copy = Some(text.to_string());
            ui.close();
        }
        if ui.button("Copy row").clicked() {
            clicks.copy = Some(row_text());
            ui.close();
        }
    });
}

/// Whether `text` lowercased (as `str::to_lowercase`) contains `needle`; lowercases ASCII text in
/// place (no allocation: the hint looks at 20 rows × every column in the frame the filtered rows
/// first show).
fn lowercase_contains(text: &mut str, needle: &str) -> bool {
    if text.is_ascii() {
        text.make_ascii_lowercase();
        text.contains(needle)
    } else {
        text.to_lowercase().contains(needle)
    }
}

/// No glyph of the body font is narrower than this (points); a text of more characters than
/// fit at this width overflows the cell for sure.
const MIN_GLYPH_W: f32 = 2.0;
/// Characters kept past that bound, so that shaping sees the neighbours of the cut.
const CUT_MARGIN: usize = 8;

/// The cell's text laid out on one row, cut with "…" when wider than `width`. A long text is
/// laid out only up to where it surely overflows (a jump or a new filter shows a whole screen of
/// new cells, and egui shapes every character it is given, even those it elides); if the cut
/// text happens to fit after all (zero-width characters), the whole text is laid out.
fn cell_galley(ui: &Ui, text: &str, width: f32) -> std::sync::Arc<egui::Galley> {
    let layout = |t: &str| {
        WidgetText::from(t).into_galley(ui, Some(TextWrapMode::Truncate), width, TextStyle::Body)
    };
    let keep = (width / MIN_GLYPH_W) as usize + CUT_MARGIN;
    let cut = match text.char_indices().nth(keep) {
        Some((end, _)) => &text[..end],
        _ => return layout(text),
    };
    let galley = layout(cut);
    if galley.elided { galley } else { layout(text) }
}

/// The header, kept at the top of the view: a sort button per column in view and a grip on
/// its right edge to resize it.
fn header(
    ui: &mut Ui,
    out: &OutputState,
    store: &ResultStore,
    conn: ConnId,
    origin: egui::Pos2,
    vp: Rect,
    clicks: &mut TableClicks,
) {
    let cols: &Columns = &out.results.columns;
    let top = origin.y + vp.min.y;
    let band = Rect::from_x_y_ranges(
        origin.x + vp.min.x..=origin.x + vp.max.x,
        top..=top + HEADER_H,
    );
    let v = ui.visuals();
    ui.painter().rect_filled(band, 0.0, v.panel_fill);
    ui.painter().hline(
        band.x_range(),
        band.bottom(),
        v.widgets.noninteractive.bg_stroke,
    );
    for i in cols.in_view(vp.min.x, vp.max.x) {
        let c = cols.shown()[i];
        let name = store.column_name(c);
        let (left, right) = (origin.x + cols.left(i), origin.x + cols.left(i + 1));
        let cell = Rect::from_x_y_ranges(left..=right - GRIP, top..=top + HEADER_H);
        // The sort direction: a triangle painted at the cell's right (up: ascending).
        let arrow = match &out.sort {
            Some((s, asc)) if s == name => Some(*asc),
            _ => None,
        };
        let arrow_w = if arrow.is_some() { ARROW_W } else { 0.0 };
        let r = ui
            .interact(cell, Id::unique(("header", conn, c)), Sense::click())
            .on_hover_text("Sort by this column");
        r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, name));
        if r.hovered() {
            ui.painter()
                .rect_filled(cell, 0.0, ui.visuals().widgets.hovered.weak_bg_fill);
        }
        let galley = WidgetText::from(RichText::new(name).strong()).into_galley(
            ui,
            Some(TextWrapMode::Truncate),
            (cell.width() - 2.0 * PAD - arrow_w).max(0.0),
            TextStyle::Body,
        );
        if let Some(asc) = arrow {
            sort_arrow(ui, cell, asc);
        }
        let at = pos2(left + PAD, cell.center().y - galley.size().y / 2.0);
        let color = ui.visuals().strong_text_color();
        ui.painter()
            .with_clip_rect(cell.intersect(ui.clip_rect()))
            .galley(at, galley, color);
        if r.clicked() {
            clicks.header = Some(name.to_string());
        }
        let grip = Rect::from_x_y_ranges(right - GRIP..=right + GRIP, top..=top + HEADER_H);
        let g = ui.interact(grip, Id::unique(("resize", conn, c)), Sense::drag());
        if g.hovered() || g.dragged() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeColumn);
        }
        if g.dragged() {
            let w = (cols.width(c) + g.drag_delta().x).max(MIN_W);
            clicks.resize = Some((c, w));
        }
        ui.painter().vline(
            right,
            top + 4.0..=top + HEADER_H - 4.0,
            ui.visuals().widgets.noninteractive.bg_stroke,
        );
    }
}

/// The sort triangle at the right of a header cell: pointing up when ascending.
fn sort_arrow(ui: &Ui, cell: Rect, ascending: bool) {
    let c = pos2(cell.right() - PAD - ARROW_W / 2.0, cell.center().y);
    let (h, w) = (4.0, 4.5);
    let (tip, base) = if ascending { (-h, h) } else { (h, -h) };
    let points = vec![
        pos2(c.x, c.y + tip),
        pos2(c.x - w, c.y + base),
        pos2(c.x + w, c.y + base),
    ];
    let color = ui.visuals().strong_text_color();
    ui.painter()
        .with_clip_rect(cell.intersect(ui.clip_rect()))
        .add(egui::Shape::convex_polygon(
            points,
            color,
            egui::Stroke::NONE,
        ));
}

/// A row as tab-separated values of the shown columns (Copy row).
pub(super) fn row_tsv(store: &ResultStore, row: usize, cols: &[usize]) -> String {
    let mut out = String::new();
    for (i, &c) in cols.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        store.cell_text(row, c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a galley shows: each row's characters and where they are drawn.
    fn drawn(g: &egui::Galley) -> Vec<Vec<(char, egui::Pos2)>> {
        let rows = g.rows.iter();
        rows.map(|r| r.glyphs.iter().map(|c| (c.chr, c.pos)).collect())
            .collect()
    }

    #[test]
    fn a_long_cell_text_laid_out_cut_looks_like_the_whole_text() {
        let texts = [
            "a".repeat(500),
            "i".repeat(400),
            "W".repeat(300),
            format!("{}x", "\u{200B}".repeat(400)),
            "€ñ 漢字 مرحبا ".repeat(60),
            "CN=User 000123,OU=contoso.onmicrosoft.com,".repeat(9),
            "line one\nline two ".repeat(40),
            "short".into(),
        ];
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(Default::default(), |ui| {
            for t in &texts {
                for w in [0.0, 8.0, 60.0, 200.0, 372.0, 2000.0] {
                    let cut = cell_galley(ui, t, w);
                    let whole = WidgetText::from(t.as_str()).into_galley(
                        ui,
                        Some(TextWrapMode::Truncate),
                        w,
                        TextStyle::Body,
                    );
                    let what =
                        format!("{:?}… at width {w}", t.chars().take(12).collect::<String>());
                    assert_eq!(cut.elided, whole.elided, "{what}");
                    assert_eq!(drawn(&cut), drawn(&whole), "{what}");
                    assert_eq!(cut.size(), whole.size(), "{what}");
                }
            }
        });
        out.textures_delta.clear();
    }
}
