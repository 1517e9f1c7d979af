//! The app's side of the workspace (`model::workspace`, read and written by the driver): at
//! start the sessions open at the last close are asked back silently (`UiCommand::Restore`)
//! and each one's output view waits for its session; those that need a sign-in are listed
//! with Reconnect. Each new session's cmdlet line gets its profile's history; favourites show
//! above the output. About once a second the workspace as it is now (the open sessions and
//! their views, the history) is compared with the one last sent and sent when it changed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::model::workspace::{OpenSession, OutputView, Workspace, safe_line};
use crate::ui::bridge::{ConnId, NoticeLevel, SessionState, UiCommand, UiEvent};
use crate::ui::favourites::{self, FavAction, RestoreAction};

use super::App;

/// How often the workspace is compared with the one last sent.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The workspace as the window holds it.
#[derive(Default)]
pub struct WorkspaceState {
    /// None until the driver read the file (nothing is saved before: it would wipe it).
    pub ws: Option<Workspace>,
    /// The views of sessions being restored (or listed), by profile: one per session that
    /// was open (a profile may have had several), in the order they were opened.
    pending: HashMap<Uuid, VecDeque<OutputView>>,
    /// The favourites list's search text.
    fav_search: String,
    /// Sessions that did not come back: (profile, why).
    pub not_restored: Vec<(Uuid, String)>,
    /// Sessions whose output got its profile's history (and view).
    seeded: HashSet<ConnId>,
    last_sent: Option<Workspace>,
    last_check: Option<Instant>,
}

fn live(state: SessionState) -> bool {
    !matches!(state, SessionState::Disconnected | SessionState::Failed)
}

impl App {
    /// The workspace's events.
    pub(super) fn apply_workspace(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::WorkspaceLoaded(ws) => {
                let mut ws = *ws;
                let open = std::mem::take(&mut ws.open);
                self.workspace.last_sent = Some(ws.clone());
                self.workspace.ws = Some(ws);
                if self.persisted.sessions.restore && !open.is_empty() {
                    let ids: Vec<Uuid> = open.iter().map(|o| o.profile_id).collect();
                    for o in open {
                        let views = self.workspace.pending.entry(o.profile_id).or_default();
                        views.push_back(o.view);
                    }
                    self.send(UiCommand::Restore { profile_ids: ids });
                }
                self.seed_outputs();
            }
            UiEvent::RestoreFailed { profile_id, reason } => {
                let w = &mut self.workspace;
                w.not_restored.retain(|(id, _)| *id != profile_id);
                if w.pending.contains_key(&profile_id) {
                    w.not_restored.push((profile_id, reason));
                }
            }
            _ => {}
        }
    }

    /// New sessions: their profile's history, and the view kept for them.
    pub(super) fn seed_outputs(&mut self) {
        let Some(ws) = &self.workspace.ws else {
            return;
        };
        let new: Vec<(ConnId, Uuid)> = self
            .sessions
            .iter()
            .filter(|s| live(s.state) && !self.workspace.seeded.contains(&s.conn))
            .map(|s| (s.conn, s.profile_id))
            .collect();
        let mut seeds = Vec::new();
        for (conn, profile) in new {
            let history = ws.history.get(&profile).cloned().unwrap_or_default();
            seeds.push((conn, profile, history));
        }
        for (conn, profile, history) in seeds {
            self.workspace.seeded.insert(conn);
            let mut views = self.workspace.pending.get_mut(&profile);
            let view = views.as_mut().and_then(|v| v.pop_front());
            if views.is_some_and(|v| v.is_empty()) {
                self.workspace.pending.remove(&profile);
                self.workspace.not_restored.retain(|(id, _)| *id != profile);
            }
            let out = self.output_mut(conn);
            let mut h = history;
            h.append(&mut out.history);
            out.history = h;
            if let Some(v) = view {
                out.restore_view(&v);
            }
        }
        let conns: HashSet<ConnId> = self.sessions.iter().map(|s| s.conn).collect();
        self.workspace.seeded.retain(|c| conns.contains(c));
    }

    /// The workspace now: the live sessions and their views (then those still to come back),
    /// every seeded session's history.
    fn workspace_now(&self) -> Option<Workspace> {
        let mut ws = self.workspace.ws.clone()?;
        for s in self.sessions.iter().filter(|s| live(s.state)) {
            let Some(out) = self.outputs.get(&s.conn) else {
                continue;
            };
            if self.workspace.seeded.contains(&s.conn) {
                ws.set_history(s.profile_id, &out.history);
            }
            // Every open session, several of one profile too (each comes back with its view).
            let mut view = out.saved_view();
            view.line = safe_line(&view.line).unwrap_or_default();
            ws.open.push(OpenSession {
                profile_id: s.profile_id,
                view,
            });
        }
        let known = |id: &Uuid| !self.profiles_loaded || self.profile(*id).is_some();
        let mut waiting: Vec<_> = self.workspace.pending.iter().collect();
        waiting.sort_by_key(|(id, _)| **id);
        for (id, views) in waiting.into_iter().filter(|(id, _)| known(id)) {
            for view in views {
                ws.open.push(OpenSession {
                    profile_id: *id,
                    view: view.clone(),
                });
            }
        }
        Some(ws)
    }

    /// About once a second: send the workspace when it changed.
    pub(super) fn workspace_tick(&mut self) {
        let now = Instant::now();
        if self
            .workspace
            .last_check
            .is_some_and(|t| now.duration_since(t) < SAVE_EVERY)
        {
            return;
        }
        self.workspace.last_check = Some(now);
        self.save_workspace_now();
    }

    /// Send the workspace now when it changed (also on close).
    pub(super) fn save_workspace_now(&mut self) {
        let Some(ws) = self.workspace_now() else {
            return;
        };
        if self.workspace.last_sent.as_ref() != Some(&ws) {
            self.workspace.last_sent = Some(ws.clone());
            self.send(UiCommand::SaveWorkspace(Box::new(ws)));
        }
    }

    /// The favourites row above session `conn`'s output.
    pub(super) fn favourites_ui(&mut self, ui: &mut egui::Ui, conn: ConnId, profile: Uuid) {
        let Some(p) = self.profiles.iter().find(|p| p.id == profile) else {
            return;
        };
        let Some(ws) = &self.workspace.ws else {
            return;
        };
        let favs = ws.favourites_for(p.id, &p.folder);
        let line = self.outputs.get(&conn).map(|o| o.line.as_str());
        let search = &mut self.workspace.fav_search;
        let Some(action) = favourites::bar(ui, &favs, (p, line.unwrap_or_default()), search) else {
            return;
        };
        let prod = crate::ui::output::is_prod(&p.tags);
        let ws = self.workspace.ws.as_mut().expect("checked above");
        match action {
            FavAction::Run(line) => {
                let mut actions = std::mem::take(&mut self.actions);
                let out = self.outputs.entry(conn).or_default();
                out.line = line.clone();
                out.run_line(conn, line, prod, false, &mut actions);
                self.actions = actions;
            }
            FavAction::Save(scope) => {
                let line = self.outputs.get(&conn).map(|o| o.line.clone());
                match ws.add_favourite(scope, &line.unwrap_or_default()) {
                    Ok(()) => self.notice(NoticeLevel::Info, "Line saved as a favourite"),
                    Err(e) => self.notice(NoticeLevel::Warning, e),
                }
            }
            FavAction::Remove(f) => ws.favourites.retain(|x| *x != f),
        }
    }

    /// The strip of sessions that did not come back at start, while there are any.
    pub(super) fn not_restored_ui(&mut self, ui: &mut egui::Ui) {
        if self.workspace.not_restored.is_empty() {
            return;
        }
        let list: Vec<(Uuid, String, String)> = self
            .workspace
            .not_restored
            .iter()
            .filter_map(|(id, why)| Some((*id, self.profile(*id)?.name.clone(), why.clone())))
            .collect();
        match favourites::not_restored(ui, &list) {
            Some(RestoreAction::Reconnect(id)) => {
                self.actions.send(UiCommand::Connect { profile_id: id });
            }
            Some(RestoreAction::Forget(id)) => {
                self.workspace.not_restored.retain(|(p, _)| *p != id);
                self.workspace.pending.remove(&id);
            }
            None => {}
        }
        ui.separator();
    }

    /// The sessions listed as not restored (tests).
    pub fn not_restored(&self) -> Vec<Uuid> {
        self.workspace
            .not_restored
            .iter()
            .map(|(id, _)| *id)
            .collect()
    }

    /// The workspace as last read or changed (tests).
    pub fn workspace(&self) -> Option<&Workspace> {
        self.workspace.ws.as_ref()
    }
}
