//! Left pane: the profile tree (folders, tags, colour bands), the search box and the Ctrl+K
//! quick-connect palette. Ctrl-click and Shift-click select several profiles; a fan-out (one
//! cmdlet over many profiles) starts from the selection, the search results, a folder's or a
//! tag's context menu (the fan-out pane asks for the line).

use std::collections::BTreeMap;

use egui::{RichText, Ui};
use uuid::Uuid;

use crate::model::Profile;

use super::action::{Action, Actions, StartRequest};
use super::bridge::{ConnId, SessionView, UiCommand};
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
    /// The profiles selected for a fan-out (Ctrl/Shift-click), in the order picked.
    pub picked: Vec<Uuid>,
    /// Where a Shift-click range starts (the last plain or Ctrl click).
    anchor: Option<Uuid>,
    /// A fan-out run exists: offer the way back to its panel (set by the app).
    pub fanout_shown: bool,
}

/// How a click on a profile row selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// Just this one (and show it in the editor).
    One,
    /// Add or remove it (Ctrl/Cmd-click).
    Toggle,
    /// Everything shown from the anchor to it (Shift-click).
    Range,
}

/// The modifiers of this frame's primary click (the click event's own: a key released in the
/// same frame does not lose them).
fn click_pick(ui: &Ui) -> Pick {
    let m = ui.input(|i| {
        let of_click = i.events.iter().rev().find_map(|e| match e {
            egui::Event::PointerButton {
                pressed: false,
                button: egui::PointerButton::Primary,
                modifiers,
                ..
            } => Some(*modifiers),
            _ => None,
        });
        of_click.unwrap_or(i.modifiers)
    });
    if m.shift {
        Pick::Range
    } else if m.command || m.ctrl {
        Pick::Toggle
    } else {
        Pick::One
    }
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
        self.search_bar(ui);
        let folders = self.folders(profiles);
        // The profiles in the order shown (Shift-click ranges run over it).
        let shown: Vec<Uuid> = folders
            .values()
            .flat_map(|v| v.iter().map(|&i| profiles[i].id))
            .collect();
        self.picked
            .retain(|id| profiles.iter().any(|p| p.id == *id));
        self.fanout_bar(ui, &shown, actions);
        ui.separator();
        let mut clicked: Option<(Uuid, Pick)> = None;
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
                            let on = selected == Some(p.id) || self.picked.contains(&p.id);
                            let (c, k) = profile_row(ui, p, &open, on, profiles, actions);
                            if let Some(pick) = c {
                                clicked = Some((p.id, pick));
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
                            folder_menu(ui, folder, &ids, sessions, actions);
                        });
                    }
                }
            });
        if let Some((id, pick)) = clicked {
            self.pick(id, pick, selected, &shown, actions);
        }
        if let Some(id) = connect {
            actions.send(UiCommand::Connect { profile_id: id });
        }
    }
}

impl ProfileTree {
    fn search_bar(&mut self, ui: &mut Ui) {
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
    }

    /// The profiles the search matches (indices into `profiles`), by folder.
    fn folders(&self, profiles: &[Profile]) -> BTreeMap<String, Vec<usize>> {
        let mut folders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in profiles.iter().enumerate() {
            if matches(p, &self.search) {
                folders.entry(p.folder.clone()).or_default().push(i);
            }
        }
        folders
    }
}

/// Multi-selection and the ways to start a fan-out.
impl ProfileTree {
    /// A click on `id`: select it alone (and show it), toggle it, or select the range from the
    /// anchor over the profiles `shown`.
    fn pick(
        &mut self,
        id: Uuid,
        pick: Pick,
        selected: Option<Uuid>,
        shown: &[Uuid],
        actions: &mut Actions,
    ) {
        match pick {
            Pick::One => {
                self.picked = vec![id];
                self.anchor = Some(id);
                actions.go(Go::Select(Some(id)));
            }
            Pick::Toggle => {
                if self.picked.is_empty()
                    && let Some(s) = selected
                {
                    self.picked.push(s);
                }
                match self.picked.iter().position(|p| *p == id) {
                    Some(i) => drop(self.picked.remove(i)),
                    None => self.picked.push(id),
                }
                self.anchor = Some(id);
            }
            Pick::Range => {
                let from = self.anchor.or(selected).unwrap_or(id);
                let a = shown.iter().position(|p| *p == from).unwrap_or(0);
                let b = shown.iter().position(|p| *p == id).unwrap_or(a);
                let (lo, hi) = (a.min(b), a.max(b));
                self.picked = shown[lo..=hi].to_vec();
            }
        }
    }

    /// Above the tree: "n selected" with "Run on selected profiles…" and Clear, "Run on search
    /// results…" while searching, and the way back to the fan-out panel.
    fn fanout_bar(&mut self, ui: &mut Ui, shown: &[Uuid], actions: &mut Actions) {
        let n = self.picked.len();
        let searching = !self.search.trim().is_empty();
        if n < 2 && !searching && !self.fanout_shown {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            if n >= 2 {
                ui.label(RichText::new(format!("{n} selected")).strong());
                if ui.button("Run on selected profiles…").clicked() {
                    // In the order shown (selected ones a search hides go last).
                    let mut ids: Vec<Uuid> = shown
                        .iter()
                        .filter(|id| self.picked.contains(id))
                        .copied()
                        .collect();
                    ids.extend(self.picked.iter().filter(|id| !shown.contains(id)));
                    actions.push(Action::AskFanout(StartRequest {
                        ids,
                        what: format!("{n} selected profiles"),
                    }));
                }
                if ui.button("Clear selection").clicked() {
                    self.picked.clear();
                }
            }
            if searching {
                let m = shown.len();
                let r = ui
                    .add_enabled(
                        m > 0,
                        egui::Button::new(format!("Run on search results ({m})…")),
                    )
                    .on_hover_text("Runs one cmdlet on every profile the search shows");
                if r.clicked() {
                    actions.push(Action::AskFanout(StartRequest {
                        ids: shown.to_vec(),
                        what: format!("the search results for '{}'", self.search.trim()),
                    }));
                }
            }
            if self.fanout_shown && ui.button("Fan-out results").clicked() {
                actions.go(Go::Fanout);
            }
        });
    }
}

/// The profiles tagged `tag` (any case), all of them, in the list's order.
fn tagged(profiles: &[Profile], tag: &str) -> Vec<Uuid> {
    let ids = profiles
        .iter()
        .filter(|p| p.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)));
    ids.map(|p| p.id).collect()
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

    /// Draws the palette over the window while it is open: "Connect X" for a profile without a
    /// live session, "Show X" (its session's output tab) for one that has one.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        profiles: &[Profile],
        open: &[SessionView],
        actions: &mut Actions,
    ) {
        let Some(mut query) = self.query.take() else {
            return;
        };
        let mut chosen: Option<Hit> = None;
        let mut close = false;
        let hits: Vec<(Hit, String, String)> = profiles
            .iter()
            .filter(|p| matches(p, &query))
            .take(12)
            .map(|p| (Hit::of(p.id, open), p.name.clone(), p.upn.clone()))
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
                chosen = hits.first().map(|h| h.0);
            }
            ui.separator();
            if hits.is_empty() {
                ui.label("No profile matches.");
            }
            for (hit, name, upn) in &hits {
                let (label, hover) = match hit {
                    Hit::Connect(_) => (format!("Connect {name}"), upn.clone()),
                    Hit::Show(_) => (
                        format!("Show {name}"),
                        format!("{upn}: already connected; shows its session's tab"),
                    ),
                };
                if ui.button(label).on_hover_text(hover).clicked() {
                    chosen = Some(*hit);
                }
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        match chosen {
            Some(Hit::Connect(id)) => actions.send(UiCommand::Connect { profile_id: id }),
            Some(Hit::Show(conn)) => actions.go(Go::Output(conn)),
            None => {}
        }
        if !(chosen.is_some() || close || r.should_close()) {
            self.query = Some(query);
        }
    }
}

/// What choosing a profile in the palette does.
#[derive(Debug, Clone, Copy)]
enum Hit {
    Connect(Uuid),
    /// The profile has a live session: show its output.
    Show(ConnId),
}

impl Hit {
    fn of(profile: Uuid, open: &[SessionView]) -> Hit {
        let live = sessions::of_profile(open, profile)
            .into_iter()
            .find(|s| sessions::is_live(s.state));
        match live {
            Some(s) => Hit::Show(s.conn),
            None => Hit::Connect(profile),
        }
    }
}

/// A folder's context menu: "Run on folder…" starts a fan-out over the profiles shown (`ids`);
/// "Connect all in folder" connects each of them that has no live session; "Disconnect all in
/// folder" closes each of their open sessions.
fn folder_menu(
    ui: &mut Ui,
    folder: &str,
    ids: &[Uuid],
    sessions: &[SessionView],
    actions: &mut Actions,
) {
    if ui
        .button("Run on folder…")
        .on_hover_text(format!(
            "Runs one cmdlet on the {} profile(s) here",
            ids.len()
        ))
        .clicked()
    {
        actions.push(Action::AskFanout(StartRequest {
            ids: ids.to_vec(),
            what: format!("folder {folder}"),
        }));
        ui.close();
    }
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

/// One tree row (`selected`: shown selected); returns (how it was clicked, connect requested by
/// double-click or Enter). A tag's context menu starts a fan-out over every profile tagged so.
fn profile_row(
    ui: &mut Ui,
    p: &Profile,
    open: &[&SessionView],
    selected: bool,
    profiles: &[Profile],
    actions: &mut Actions,
) -> (Option<Pick>, bool) {
    let mut clicked = None;
    let mut connect = false;
    ui.horizontal(|ui| {
        widgets::color_band(ui, theme::parse_hex(p.color.as_deref()));
        state_dot(ui, &p.name, open);
        let r = ui.selectable_label(selected, &p.name);
        if r.clicked() {
            clicked = Some(click_pick(ui));
        }
        if r.double_clicked() || (r.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))) {
            connect = true;
        }
        widgets::service_badge(ui, p.service);
        for t in &p.tags {
            let tag = egui::Label::new(RichText::new(format!("#{t}")).small().weak())
                .sense(egui::Sense::click());
            ui.add(tag).context_menu(|ui| {
                let ids = tagged(profiles, t);
                if ui
                    .button(format!("Run on tag #{t} ({})…", ids.len()))
                    .clicked()
                {
                    actions.push(Action::AskFanout(StartRequest {
                        ids,
                        what: format!("the profiles tagged #{t}"),
                    }));
                    ui.close();
                }
            });
        }
    })
    .response
    .on_hover_text(match p.tenant_display_name() {
        Some(tenant) => format!("{}\n{tenant}", p.upn),
        None => p.upn.clone(),
    });
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
