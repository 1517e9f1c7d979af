//! Compare tenants (issue 12): the fan-out's merged result as a matrix of items (keyed by a
//! column the admin picks, default `Identity`, else `Name`) × profiles, each cell saying
//! `baseline`, `same`, `missing`, `differs: …` or `present` against a baseline profile the
//! admin picks, with a sentence per item; items that are not the same everywhere are
//! highlighted. Worked out by `model::results::compare` once per key, baseline and row count.

use std::sync::Arc;

use egui::{RichText, Ui};

use crate::model::results::ResultStore;
use crate::model::results::compare::{Comparison, compare, default_key};
use crate::model::results::merge::{PROFILE_COLUMN, TENANT_COLUMN};

use crate::ui::output::ExportJob;
use crate::ui::theme;

/// The compare view's choices and its last comparison.
#[derive(Debug, Default)]
pub struct CompareView {
    /// Shown instead of the merged grid.
    pub on: bool,
    /// The key column (None: the default).
    pub key: Option<String>,
    /// The baseline profile (None: the first).
    pub baseline: Option<String>,
    /// Only the items that are not the same everywhere.
    pub only_differences: bool,
    /// (key, baseline, rows) → the comparison, or why there is none.
    cache: Option<(Wanted, Compared)>,
}

/// The key, the baseline and the rows a comparison was worked out for.
type Wanted = (String, String, usize);
/// A comparison, or why there is none.
type Compared = Result<Arc<Comparison>, String>;

impl CompareView {
    /// A new run: the choices stay, the comparison goes.
    pub fn reset(&mut self) {
        self.cache = None;
    }

    /// The comparison of `store` for the choices made (worked out when they or the rows
    /// changed).
    pub fn comparison(&mut self, store: &ResultStore) -> Compared {
        let key = self
            .key
            .clone()
            .or_else(|| default_key(store).map(str::to_string))
            .unwrap_or_default();
        let baseline = self.baseline.clone().unwrap_or_default();
        let want = (key.clone(), baseline.clone(), store.len());
        if let Some((have, c)) = &self.cache
            && *have == want
        {
            return c.clone();
        }
        let key = Some(key.as_str()).filter(|k| !k.is_empty());
        let base = Some(baseline.as_str()).filter(|b| !b.is_empty());
        let c = compare(store, key, base)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        self.cache = Some((want, c.clone()));
        c
    }

    /// The comparison as rows (the key, `Summary`, a column per profile) for Export.
    pub fn export_job(&mut self, store: &ResultStore, bom: bool) -> Option<ExportJob> {
        let c = self.comparison(store).ok()?;
        let rows = c.to_store();
        let columns = (0..rows.column_count()).collect();
        Some(ExportJob {
            store: Arc::new(rows),
            rows: None,
            columns,
            bom,
        })
    }

    /// The key and baseline pickers, then the matrix; returns whether "Export comparison
    /// CSV…" was clicked.
    pub fn ui(&mut self, ui: &mut Ui, store: &ResultStore) -> bool {
        let comparison = self.comparison(store);
        let mut export = false;
        ui.horizontal(|ui| {
            self.pickers(ui, store, comparison.as_ref().ok());
            ui.checkbox(&mut self.only_differences, "Only differences");
            if ui
                .add_enabled(
                    comparison.is_ok(),
                    egui::Button::new("Export comparison CSV…"),
                )
                .clicked()
            {
                export = true;
            }
        });
        match comparison {
            Ok(c) => self.matrix(ui, &c),
            Err(e) => {
                ui.label(RichText::new(format!("Cannot compare: {e}")).color(theme::RED));
            }
        }
        export
    }

    fn pickers(&mut self, ui: &mut Ui, store: &ResultStore, c: Option<&Arc<Comparison>>) {
        let l = ui.label("Key column");
        let shown_key = c.map(|c| c.key.clone()).unwrap_or_default();
        egui::ComboBox::from_id_salt("compare_key")
            .selected_text(&shown_key)
            .show_ui(ui, |ui| {
                for col in store.columns() {
                    if col == PROFILE_COLUMN || col == TENANT_COLUMN {
                        continue;
                    }
                    if ui.selectable_label(col == shown_key, col).clicked() {
                        self.key = Some(col.to_string());
                    }
                }
            })
            .response
            .labelled_by(l.id);
        let l = ui.label("Baseline");
        let Some(c) = c else { return };
        let base = c.profiles[c.baseline].clone();
        egui::ComboBox::from_id_salt("compare_baseline")
            .selected_text(&base)
            .show_ui(ui, |ui| {
                for p in &c.profiles {
                    if ui.selectable_label(*p == base, p).clicked() {
                        self.baseline = Some(p.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
    }

    /// Items × profiles; the rows not the same everywhere highlighted.
    fn matrix(&self, ui: &mut Ui, c: &Comparison) {
        let differing = c.items.iter().filter(|i| c.summary(i) != SAME).count();
        ui.label(format!(
            "{} items · {differing} not the same in every profile · baseline {}",
            c.items.len(),
            c.profiles[c.baseline]
        ));
        let items: Vec<_> = c
            .items
            .iter()
            .filter(|i| !self.only_differences || c.summary(i) != SAME)
            .collect();
        egui::ScrollArea::both()
            .id_salt("compare_matrix")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("compare_grid")
                    .striped(true)
                    .show(ui, |ui| {
                        ui.label(RichText::new(&c.key).strong());
                        ui.label(RichText::new("Summary").strong());
                        for (p, t) in c.profiles.iter().zip(&c.tenants) {
                            ui.label(RichText::new(p).strong()).on_hover_text(t);
                        }
                        ui.end_row();
                        for item in items {
                            let summary = c.summary(item);
                            let differs = summary != SAME;
                            let key = RichText::new(&item.key);
                            ui.label(if differs { key.strong() } else { key });
                            let s = RichText::new(&summary);
                            ui.label(if differs {
                                s.color(theme::AMBER)
                            } else {
                                s.weak()
                            });
                            for (p, name) in c.profiles.iter().enumerate() {
                                let text = c.cell_text(item, p);
                                let color = match text.as_str() {
                                    "missing" => theme::RED,
                                    "same" | "baseline" => theme::GREY,
                                    t if t.starts_with("differs") => theme::AMBER,
                                    _ => ui.visuals().text_color(),
                                };
                                let r = ui.label(RichText::new(&text).color(color));
                                let label = format!("{} in {name}: {text}", item.key);
                                r.widget_info(|| {
                                    egui::WidgetInfo::labeled(egui::Role::Label, true, &label)
                                });
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}

/// What `Comparison::summary` says of an item that is the same everywhere.
const SAME: &str = "the same in every profile";
