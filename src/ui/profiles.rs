//! Left pane: the profile tree (folders, tags, colour bands), the search box and the Ctrl+K
//! quick-connect palette.

use std::collections::BTreeMap;

use egui::{RichText, Ui};
use uuid::Uuid;

use crate::model::Profile;

use super::action::Actions;
use super::bridge::{SessionView, UiCommand};
use super::nav::Go;
use super::sessions::{self, Shown};
use super::theme;
use super::widgets;

/// Does the profile match a search text (name, UPN, tenant, delegated org, folder, tags)?
pub fn matches(p: &Profile, query: &str) -> bool {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    q.split_whitespace().all(|word| {
        let word = word.strip_prefix('#').unwrap_or(word);
        p.name.to_lowercase().contains(word)
            || p.upn.to_lowercase().contains(word)
            || p.folder.to_lowercase().contains(word)
            || p.tenant
                .as_deref()
                .is_some_and(|t| t.to_lowercase().contains(word))
            || p.delegated_organization
                .as_deref()
                .is_some_and(|t| t.to_lowercase().contains(word))
            || p.tags.iter().any(|t| t.to_lowercase().contains(word))
    })
}

/// The profile tree and its search box.
#[derive(Debug, Clone, Default)]
pub struct ProfileTree {
    /// The search text (name, UPN, tenant, tag words).
    pub search: String,
}

impl ProfileTree {
    /// Draws the search box and the tree of `profiles` (`loaded`: the first list arrived),
    /// each with a dot for its `sessions`' state; a click selects, a double-click or Enter
    /// connects; a folder's context menu connects or disconnects all its profiles shown.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        profiles: &[Profile],
        sessions: &[SessionView],
        loaded: bool,
        selected: Option<Uuid>,
        actions: &mut Actions,
    ) {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let l = ui.label("Search");
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("name, UPN, tenant, tag")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
        });
        ui.separator();

        let mut folders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in profiles.iter().enumerate() {
            if matches(p, &self.search) {
                folders.entry(p.folder.clone()).or_default().push(i);
            }
        }
        let mut clicked: Option<Uuid> = None;
        let mut connect: Option<Uuid> = None;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if profiles.is_empty() {
                    ui.label(if loaded {
                        "No profiles yet. Use “New profile” to add one."
                    } else {
                        "Loading profiles…"
                    });
                } else if folders.is_empty() {
                    ui.label("No profile matches the search.");
                }
                let searching = !self.search.trim().is_empty();
                for (folder, idxs) in &folders {
                    let mut rows = |ui: &mut Ui| {
                        for &i in idxs {
                            let p = &profiles[i];
                            let open = sessions::of_profile(sessions, p.id);
                            let (c, k) = profile_row(ui, p, &open, selected == Some(p.id));
                            if c {
                                clicked = Some(p.id);
                            }
                            if k {
                                connect = Some(p.id);
                            }
                        }
                    };
                    if folder.is_empty() {
                        rows(ui);
                    } else {
                        let header = egui::CollapsingHeader::new(folder.as_str())
                            .id_salt(("folder", folder))
                            .default_open(true)
                            .open(searching.then_some(true))
                            .show(ui, rows);
                        let ids: Vec<Uuid> = idxs.iter().map(|&i| profiles[i].id).collect();
                        header.header_response.context_menu(|ui| {
                            folder_menu(ui, &ids, sessions, actions);
                        });
                    }
                }
            });
        if let Some(id) = clicked {
            actions.go(Go::Select(Some(id)));
        }
        if let Some(id) = connect {
            actions.send(UiCommand::Connect { profile_id: id });
        }
    }
}

/// The Ctrl+K quick-connect palette: type to filter, Enter (or click) connects.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    /// The typed text while the palette is open; None = closed.
    query: Option<String>,
    /// The palette just opened: give its field the focus once.
    focus: bool,
}

impl Palette {
    pub fn open(&mut self) {
        self.query = Some(String::new());
        self.focus = true;
    }

    pub fn is_open(&self) -> bool {
        self.query.is_some()
    }

    /// Draws the palette over the window while it is open.
    pub fn ui(&mut self, ctx: &egui::Context, profiles: &[Profile], actions: &mut Actions) {
        let Some(mut query) = self.query.take() else {
            return;
        };
        let mut connect: Option<Uuid> = None;
        let mut close = false;
        let hits: Vec<(Uuid, String, String)> = profiles
            .iter()
            .filter(|p| matches(p, &query))
            .take(12)
            .map(|p| (p.id, p.name.clone(), p.upn.clone()))
            .collect();
        let r = egui::Modal::new(egui::Id::unique("palette")).show(ctx, |ui| {
            ui.set_width(420.0);
            ui.heading("Quick connect");
            let l = ui.label("Profile");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut query)
                        .hint_text("name, UPN, tenant or tag")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(l.id);
            if std::mem::take(&mut self.focus) {
                edit.request_focus();
            }
            if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                connect = hits.first().map(|h| h.0);
            }
            ui.separator();
            if hits.is_empty() {
                ui.label("No profile matches.");
            }
            for (id, name, upn) in &hits {
                if ui
                    .button(format!("Connect {name}"))
                    .on_hover_text(upn.as_str())
                    .clicked()
                {
                    connect = Some(*id);
                }
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        if let Some(id) = connect {
            actions.send(UiCommand::Connect { profile_id: id });
            close = true;
        }
        if !(close || r.should_close()) {
            self.query = Some(query);
        }
    }
}

/// A folder's context menu: "Connect all in folder" connects each profile shown (`ids`) that
/// has no live session; "Disconnect all in folder" closes each of their open sessions.
fn folder_menu(ui: &mut Ui, ids: &[Uuid], sessions: &[SessionView], actions: &mut Actions) {
    let to_connect: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| {
            !sessions
                .iter()
                .any(|s| s.profile_id == *id && sessions::is_live(s.state))
        })
        .collect();
    let to_close: Vec<_> = ids
        .iter()
        .flat_map(|id| sessions::of_profile(sessions, *id))
        .map(|s| s.conn)
        .collect();
    let n = to_connect.len();
    let connect = ui
        .add_enabled(n > 0, egui::Button::new("Connect all in folder"))
        .on_hover_text(format!("Connects {n} profile(s) without a live session"))
        .on_disabled_hover_text("Every profile here already has a live session");
    if connect.clicked() {
        for profile_id in to_connect {
            actions.send(UiCommand::Connect { profile_id });
        }
        ui.close();
    }
    let m = to_close.len();
    let disconnect = ui
        .add_enabled(m > 0, egui::Button::new("Disconnect all in folder"))
        .on_hover_text(format!("Disconnects {m} open session(s)"))
        .on_disabled_hover_text("No profile here has an open session");
    if disconnect.clicked() {
        for conn in to_close {
            actions.send(UiCommand::Disconnect { conn });
        }
        ui.close();
    }
}

/// The dot of a profile's session state (the most urgent of its `open` sessions, coloured as
/// in the session list), with the state as hover text and accessible name; blank without one.
fn state_dot(ui: &mut Ui, name: &str, open: &[&SessionView]) {
    let (rect, r) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    let Some(first) = open.first() else {
        return;
    };
    let shown = Shown::of(first);
    ui.painter()
        .circle_filled(rect.center(), 4.0, shown.color());
    let state = match &shown {
        Shown::Failed(reason) => format!("Failed: {reason}"),
        _ => first.state.label().to_string(),
    };
    let more = match open.len() {
        1 => String::new(),
        n => format!(" ({n} sessions)"),
    };
    let label = format!("{name} session: {}", first.state.label());
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    r.on_hover_text(format!("Session: {state}{more}"));
}

/// One tree row; returns (clicked, connect requested by double-click or Enter).
fn profile_row(ui: &mut Ui, p: &Profile, open: &[&SessionView], selected: bool) -> (bool, bool) {
    let mut clicked = false;
    let mut connect = false;
    ui.horizontal(|ui| {
        widgets::color_band(ui, theme::parse_hex(p.color.as_deref()));
        state_dot(ui, &p.name, open);
        let r = ui.selectable_label(selected, &p.name);
        if r.clicked() {
            clicked = true;
        }
        if r.double_clicked() || (r.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))) {
            connect = true;
        }
        widgets::service_badge(ui, p.service);
        for t in &p.tags {
            ui.label(RichText::new(format!("#{t}")).small().weak());
        }
    })
    .response
    .on_hover_text(&p.upn);
    (clicked, connect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    #[test]
    fn search_matches_every_field() {
        let mut p = Profile::new("Contoso EXO", "admin@contoso.com", Service::ExchangeOnline);
        p.tags = vec!["prod".into()];
        p.tenant = Some("contoso.onmicrosoft.com".into());
        assert!(matches(&p, "contoso"));
        assert!(matches(&p, "ADMIN@"));
        assert!(matches(&p, "#prod"));
        assert!(matches(&p, "onmicrosoft exo"));
        assert!(!matches(&p, "fabrikam"));
    }
}
