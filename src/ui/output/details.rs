//! The details panel of the selected row: a side panel beside the grid (never over it), as wide
//! as the user drags it, with every property of the row (only the ones in view laid out),
//! closed by "Close details" or Esc. A value copies on its "Copy" button; the whole row copies
//! as pretty JSON or as PowerShell's `Format-List` text. In the JSON view the panel shows the
//! row pretty-printed.

use egui::{Id, Rect, RichText, Sense, TextStyle, Ui};

use crate::model::results::ResultStore;
use crate::ui::bridge::ConnId;

/// Narrowest the panel and the grid beside it get.
pub const MIN_W: f32 = 200.0;
/// The panel's width before the user drags it.
pub const DEFAULT_W: f32 = 340.0;
/// Width of the grip between the grid and the panel.
const GRIP_W: f32 = 6.0;

/// What the panel asked this frame.
#[derive(Default)]
pub struct DetailsClicks {
    pub close: bool,
    pub copy: Option<String>,
}

/// The row as PowerShell's `Format-List` prints it: `Name : value`, names padded to the longest.
pub fn format_list(store: &ResultStore, row: usize) -> String {
    let cols: Vec<usize> = store.row(row).columns().collect();
    let pad = cols
        .iter()
        .map(|&c| store.column_name(c).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in cols {
        let name = store.column_name(c);
        out.push_str(name);
        out.extend(std::iter::repeat_n(' ', pad - name.chars().count()));
        out.push_str(" : ");
        store.cell_text(row, c, &mut out);
        out.push('\n');
    }
    out
}

/// The row as pretty-printed JSON.
pub fn pretty_json(store: &ResultStore, row: usize) -> String {
    serde_json::to_string_pretty(&store.row_object(row)).unwrap_or_default()
}

/// Splits `area` into the grid's part and the panel's part (`width` wide, kept between
/// [`MIN_W`] and what leaves the grid [`MIN_W`]); the grip between them resizes `width`.
pub fn split(ui: &mut Ui, area: Rect, width: &mut f32, conn: ConnId) -> (Rect, Rect) {
    let max = (area.width() - MIN_W - GRIP_W).max(MIN_W);
    if *width <= 0.0 {
        *width = DEFAULT_W;
    }
    *width = width.clamp(MIN_W.min(max), max);
    let panel_left = area.max.x - *width;
    let grid = Rect::from_min_max(area.min, egui::pos2(panel_left - GRIP_W, area.max.y));
    let grip = Rect::from_min_max(
        egui::pos2(panel_left - GRIP_W, area.min.y),
        egui::pos2(panel_left, area.max.y),
    );
    let panel = Rect::from_min_max(egui::pos2(panel_left, area.min.y), area.max);
    let g = ui.interact(grip, Id::unique(("details_grip", conn)), Sense::drag());
    g.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Splitter, true, "Resize details"));
    if g.hovered() || g.dragged() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeColumn);
    }
    if g.dragged() {
        *width = (*width - g.drag_delta().x).clamp(MIN_W.min(max), max);
    }
    let stroke = if g.hovered() || g.dragged() {
        ui.visuals().widgets.hovered.fg_stroke
    } else {
        ui.visuals().widgets.noninteractive.bg_stroke
    };
    ui.painter().vline(grip.center().x, grip.y_range(), stroke);
    (grid, panel)
}

/// Draws the panel of row `sel` in `ui` (the panel's part of the pane); `json` shows the row
/// pretty-printed instead of the property list.
pub fn panel(
    ui: &mut Ui,
    store: &ResultStore,
    sel: usize,
    json: bool,
    conn: ConnId,
) -> DetailsClicks {
    let mut clicks = DetailsClicks::default();
    if ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
        clicks.close = true;
    }
    ui.horizontal(|ui| {
        ui.strong("Details");
        if ui.button("Close details").on_hover_text("Esc").clicked() {
            clicks.close = true;
        }
    });
    ui.horizontal_wrapped(|ui| {
        if ui.button("Copy as JSON").clicked() {
            clicks.copy = Some(pretty_json(store, sel));
        }
        if ui
            .button("Copy as list")
            .on_hover_text("Name : value lines, like Format-List")
            .clicked()
        {
            clicks.copy = Some(format_list(store, sel));
        }
    });
    ui.separator();
    if json {
        egui::ScrollArea::both()
            .id_salt(("details_json", conn))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.label(RichText::new(pretty_json(store, sel)).monospace());
            });
        return clicks;
    }
    let keys: Vec<usize> = store.row(sel).columns().collect();
    let row_h = ui.text_style_height(&TextStyle::Body) + ui.spacing().item_spacing.y + 4.0;
    let name_w = (ui.available_width() * 0.4).max(80.0);
    egui::ScrollArea::vertical()
        .id_salt(("details_rows", conn))
        .auto_shrink([false, false])
        .show_rows(ui, row_h, keys.len(), |ui, range| {
            for &c in &keys[range] {
                let name = store.column_name(c);
                let value = store.cell_string(sel, c);
                ui.horizontal(|ui| {
                    ui.set_height(row_h - ui.spacing().item_spacing.y);
                    ui.add_sized(
                        [name_w, row_h - 4.0],
                        egui::Label::new(RichText::new(name).strong()).truncate(),
                    );
                    let copy = ui
                        .small_button("Copy")
                        .on_hover_text(format!("Copy {name}"));
                    copy.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Copy {name}"))
                    });
                    if copy.clicked() {
                        clicks.copy = Some(value.clone());
                    }
                    ui.add(egui::Label::new(&value).truncate());
                });
            }
        });
    clicks
}
