//! Saved cmdlet lines ("favourites") above a session's output, and the list of sessions that
//! did not come back at start. Favourites are per profile or per folder of the tree
//! (`model::workspace`); one click runs one, its × removes it. The strip of sessions not restored
//! offers Reconnect (an ordinary connect, with its sign-in dialog) and Forget for each. Both
//! are one row, so they fit a 1024×700 window; every button has an accessible name.

use egui::{RichText, Ui};
use uuid::Uuid;

use crate::model::Profile;
use crate::model::workspace::{Favourite, Scope};

use super::theme;

/// What the favourites row asks.
#[derive(Debug, Clone, PartialEq)]
pub enum FavAction {
    /// Put this line in the cmdlet field and run it.
    Run(String),
    /// Save the cmdlet field's line for this scope.
    Save(Scope),
    Remove(Favourite),
}

/// Does a saved line match the search (every word, case-insensitive, anywhere in it)?
pub fn fav_matches(line: &str, search: &str) -> bool {
    let line = line.to_lowercase();
    search
        .to_lowercase()
        .split_whitespace()
        .all(|w| line.contains(w))
}

/// The row: "Favourites (n)" (searched by `search`; run or remove one) and "Save line" (for the
/// profile or its folder).
pub fn bar(
    ui: &mut Ui,
    favs: &[&Favourite],
    (profile, line): (&Profile, &str),
    search: &mut String,
) -> Option<FavAction> {
    let mut out = None;
    ui.horizontal(|ui| {
        // Stays open while the search is typed into (a click outside closes it).
        let config = egui::containers::menu::MenuConfig::new()
            .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
        let menu = egui::containers::menu::MenuButton::new(format!("Favourites ({})", favs.len()));
        menu.config(config).ui(ui, |ui| {
            if favs.is_empty() {
                ui.label(RichText::new("No saved lines yet: type a line, then Save line").weak());
            } else {
                ui.horizontal(|ui| {
                    let l = ui.label("Search favourites");
                    ui.add(egui::TextEdit::singleline(search).hint_text("words of the line"))
                        .labelled_by(l.id);
                });
            }
            let shown: Vec<&&Favourite> = favs
                .iter()
                .filter(|f| fav_matches(&f.line, search))
                .collect();
            if shown.is_empty() && !favs.is_empty() {
                ui.label(RichText::new("No saved line matches.").weak());
            }
            for f in shown {
                ui.horizontal(|ui| {
                    let name = format!("Remove favourite: {}", f.line);
                    if ui
                        .small_button("×")
                        .on_hover_text(&name)
                        .accessible_name(&name)
                        .clicked()
                    {
                        out = Some(FavAction::Remove((*f).clone()));
                    }
                    let tip = match &f.scope {
                        Scope::Profile(_) => "this profile".to_string(),
                        Scope::Folder(f) => format!("folder {f}"),
                    };
                    let run = ui
                        .button(RichText::new(&f.line).monospace())
                        .on_hover_text(format!("Run it (saved for {tip})"));
                    if run.clicked() {
                        out = Some(FavAction::Run(f.line.clone()));
                        ui.close();
                    }
                });
            }
        });
        let has_line = !line.trim().is_empty();
        ui.add_enabled_ui(has_line, |ui| {
            ui.menu_button("Save line", |ui| {
                if ui.button("For this profile").clicked() {
                    out = Some(FavAction::Save(Scope::Profile(profile.id)));
                    ui.close();
                }
                if !profile.folder.is_empty()
                    && ui
                        .button(format!("For folder {}", profile.folder))
                        .clicked()
                {
                    out = Some(FavAction::Save(Scope::Folder(profile.folder.clone())));
                    ui.close();
                }
            })
            .response
            .on_hover_text("Keep the cmdlet line (never one with a password or credential)");
        });
    });
    out
}

/// What the strip of sessions not restored asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreAction {
    Reconnect(Uuid),
    Forget(Uuid),
}

/// "Not restored: <name> — <reason> [Reconnect] [Forget]" for each (profile, name, reason).
pub fn not_restored(ui: &mut Ui, list: &[(Uuid, String, String)]) -> Option<RestoreAction> {
    let mut out = None;
    egui::ScrollArea::horizontal()
        .id_salt("not_restored")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Not restored:").color(theme::AMBER));
                for (id, name, reason) in list {
                    ui.label(RichText::new(name).strong())
                        .on_hover_text(format!("{name}: {reason}"));
                    ui.label(RichText::new(reason).weak());
                    let label = format!("Reconnect {name}");
                    let r = ui.button("Reconnect").on_hover_text(&label);
                    if r.accessible_name(&label).clicked() {
                        out = Some(RestoreAction::Reconnect(*id));
                    }
                    let label = format!("Forget {name}");
                    let f = ui.small_button("×").on_hover_text(&label);
                    if f.accessible_name(&label).clicked() {
                        out = Some(RestoreAction::Forget(*id));
                    }
                    ui.separator();
                }
            });
        });
    out
}
