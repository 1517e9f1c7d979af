//! The result grid's multi-row selection ("picked" rows) and the bar above the grid that starts
//! "Run for each row…" on them or on a CSV file. A click selects one row (and shows its
//! details, as before), Ctrl+click adds or removes a row, Shift+click picks the range from the
//! last clicked row in the order shown, "Select all" picks every row shown (filter first to
//! pick a subset).

use egui::{RichText, Ui};

use crate::model::bulk::BulkTable;

use super::OutputState;
use crate::ui::action::{Action, Actions, BulkRequest};
use crate::ui::bridge::ConnId;

impl OutputState {
    /// Forgets the picked rows.
    pub(crate) fn unpick(&mut self) {
        self.picked.clear();
        self.anchor = None;
    }

    /// A click on store row `r` with these modifiers.
    pub(crate) fn click_row(&mut self, r: usize, mods: egui::Modifiers) {
        if mods.shift
            && let Some(a) = self.anchor
        {
            let shown = self.shown_rows();
            let at = |x| shown.iter().position(|&s| s == x);
            if let (Some(i), Some(j)) = (at(a), at(r)) {
                let (lo, hi) = (i.min(j), i.max(j));
                self.picked = shown[lo..=hi].iter().copied().collect();
                return;
            }
        }
        self.anchor = Some(r);
        if mods.command || mods.ctrl {
            if !self.picked.remove(&r) {
                self.picked.insert(r);
            }
            return;
        }
        self.selected = if self.selected == Some(r) {
            None
        } else {
            Some(r)
        };
        self.picked = self.selected.into_iter().collect();
    }

    /// Picks every row shown (the filter's rows when filtered).
    pub fn pick_all_shown(&mut self) {
        self.picked = self.shown_rows().into_iter().collect();
    }

    /// The picked rows, in the order shown.
    pub fn picked_rows(&self) -> Vec<usize> {
        let shown = self.shown_rows();
        shown
            .into_iter()
            .filter(|r| self.picked.contains(r))
            .collect()
    }

    /// The picked rows as a table of text cells (every column of the result).
    pub fn picked_table(&self) -> BulkTable {
        let store = self.results();
        let columns: Vec<String> = store.columns().map(str::to_string).collect();
        let rows = self
            .picked_rows()
            .into_iter()
            .map(|r| {
                (0..columns.len())
                    .map(|c| store.cell_string(r, c))
                    .collect()
            })
            .collect();
        BulkTable { columns, rows }
    }

    /// "n rows picked", Select all, Clear, and the two ways into "Run for each row…".
    pub(super) fn bulk_bar(&mut self, ui: &mut Ui, conn: ConnId, actions: &mut Actions) {
        let busy = self.running.is_some();
        let has = !self.results().is_empty();
        ui.horizontal_wrapped(|ui| {
            let n = self.picked.len();
            if has {
                ui.label(RichText::new(format!("{n} selected")).weak())
                    .on_hover_text("Ctrl+click adds a row, Shift+click a range");
                if ui.button("Select all").clicked() {
                    self.pick_all_shown();
                }
                if ui
                    .add_enabled(n > 0, egui::Button::new("Clear selection"))
                    .clicked()
                {
                    self.unpick();
                    self.selected = None;
                }
            }
            let rows = egui::Button::new("Run for each selected row…");
            if ui
                .add_enabled(n > 0 && !busy, rows)
                .on_hover_text("A change line with {Column} placeholders, once per selected row")
                .clicked()
            {
                actions.push(Action::Bulk(BulkRequest::Rows {
                    conn,
                    source: format!("{n} selected rows of {}", self.result_of),
                    table: self.picked_table(),
                }));
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Run for each row of a CSV file…"))
                .clicked()
            {
                actions.push(Action::Bulk(BulkRequest::Csv { conn }));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::ResultStore;
    use serde_json::json;

    #[test]
    fn click_ctrl_click_and_shift_click_pick_rows_in_the_order_shown() {
        let mut o = OutputState::default();
        o.begin("Get-Mailbox".into());
        let mut page = ResultStore::new();
        for k in 0..5 {
            page.push_value(&json!({"Name": format!("n{k}"), "Dept": k}));
        }
        o.add_rows(page);
        o.done(5, 1, std::time::Duration::ZERO);
        let none = egui::Modifiers::NONE;
        o.click_row(1, none);
        assert_eq!(o.selected, Some(1));
        o.click_row(3, egui::Modifiers::COMMAND);
        assert_eq!(o.picked_rows(), [1, 3]);
        o.click_row(1, egui::Modifiers::SHIFT);
        assert_eq!(o.picked_rows(), [1, 2, 3], "the range from the last click");
        o.click_row(2, egui::Modifiers::COMMAND);
        assert_eq!(o.picked_rows(), [1, 3]);
        let t = o.picked_table();
        assert_eq!(t.columns, ["Name", "Dept"]);
        assert_eq!(t.rows, [["n1", "1"], ["n3", "3"]]);
        o.pick_all_shown();
        assert_eq!(o.picked.len(), 5);
        o.click_row(4, none);
        assert_eq!(o.picked_rows(), [4], "a plain click picks one row");
        o.begin("Get-Mailbox".into());
        o.add_rows(ResultStore::new());
        assert!(o.picked.is_empty(), "a new result drops the selection");
    }
}
