//! The app's one command handler: what the panes ask ([`Action`]s, dispatched right after each
//! pane drew), navigation through the unsaved-changes guard, and the keyboard shortcuts.

use uuid::Uuid;

use crate::ui::action::{Action, GuardChoice};
use crate::ui::bridge::{ConnId, NoticeLevel, UiCommand};
use crate::ui::dialogs::DialogRequest;
use crate::ui::editor::EditorState;
use crate::ui::nav::{Centre, Go};
use crate::ui::tabs;

use super::{App, Background};

/// Dispatch: what the panes asked, and navigation through the unsaved-changes guard.
impl App {
    /// Carry out every action the panes pushed since the last call, in order.
    pub(super) fn dispatch(&mut self) {
        for action in self.actions.take() {
            match action {
                Action::Send(UiCommand::Disconnect { conn }) => self.disconnect(conn),
                Action::Send(cmd) => {
                    if let UiCommand::Connect { profile_id } = &cmd {
                        self.show_on_connect = Some(*profile_id);
                    }
                    self.send(cmd)
                }
                Action::Go(to) => self.request(to),
                Action::SaveProfile => self.save_profile(),
                Action::ClearSelection => self.selected = None,
                Action::AskFile(req) => self.ask_file(req),
                Action::OpenPalette => self.palette.open(),
                Action::Guard(choice) => self.guard_answered(choice),
                Action::AskFanout(req) => {
                    let names = req
                        .ids
                        .iter()
                        .filter_map(|id| self.profile(*id).map(|p| p.name.clone()))
                        .collect();
                    self.fanout.ask(req, names);
                }
                Action::Bulk(req) => self.bulk_asked(req),
            }
        }
    }

    /// A single disconnect: at once with an Undo toast, or after a confirmation for #prod.
    fn disconnect(&mut self, conn: ConnId) {
        let Some(s) = self.sessions.iter().find(|s| s.conn == conn) else {
            return self.send(UiCommand::Disconnect { conn });
        };
        let (profile, name) = (s.profile_id, s.profile_name.clone());
        let prod = self
            .profile(profile)
            .is_some_and(|p| p.tags.iter().any(|t| t.eq_ignore_ascii_case("prod")));
        let (settings, now) = (self.persisted.sessions, self.now());
        let cmd = self
            .disconnects
            .disconnect(conn, (profile, &name), prod, settings, now);
        if let Some(cmd) = cmd {
            self.send(cmd);
            self.disconnect_said(&name, true);
        }
    }

    /// The notice of a single disconnect (the toast's Undo named when it offers one: once the
    /// toast is gone, [`App::undo_notices_settle`] rewrites it to say when instead).
    pub(super) fn disconnect_said(&mut self, name: &str, undo: bool) {
        let text = if undo {
            let at = self.now().with_timezone(&chrono::Local).format("%H:%M");
            let text = format!(
                "Disconnected {name} (Undo: bottom right, {} s)",
                crate::ui::undo::UNDO_SECONDS
            );
            self.undo_notices
                .push((text.clone(), format!("Disconnected {name} at {at}")));
            text
        } else {
            format!("Disconnected {name}")
        };
        self.notice(NoticeLevel::Info, text);
    }

    /// Once the Undo toast is gone (timed out, dismissed or used), the status bar's notices of
    /// the disconnects it offered stop naming Undo: "Disconnected X at hh:mm". Messages keeps
    /// what was said at the time.
    pub(super) fn undo_notices_settle(&mut self, now: chrono::DateTime<chrono::Utc>) {
        if self.undo_notices.is_empty() || self.disconnects.offers_undo(now) {
            return;
        }
        for (said, settled) in std::mem::take(&mut self.undo_notices) {
            if let Some(n) = self.notices.iter_mut().rev().find(|(_, t)| *t == said) {
                n.1 = settled;
            }
        }
    }

    /// Ask a file dialog; the answer comes back through the background channel.
    pub(super) fn ask_file(&self, req: DialogRequest) {
        let tx = self.bg_tx.clone();
        let asked = req.clone();
        self.dialogs.ask(
            req,
            Box::new(move |answer| {
                let _ = tx.send(Background::Dialog(asked, answer));
            }),
        );
    }

    fn save_profile(&mut self) {
        self.editor.save_tried = true;
        if self.editor.draft.is_some() && self.editor.to_save(&self.profiles).is_none() {
            let issues = self.editor.issues(&self.profiles);
            let why = match issues.iter().find(|i| i.is_error()) {
                Some(i) => format!("Not saved: {}: {}", i.field, i.message),
                None => "Nothing to save: no changes".to_string(),
            };
            self.notice(NoticeLevel::Warning, why);
            return;
        }
        if let Some(d) = self.editor.to_save(&self.profiles) {
            self.selected = Some(d.id);
            self.persisted.last_selected = Some(d.id);
            self.send(UiCommand::SaveProfile(Box::new(d)));
        }
    }

    /// Change selection now (no guard).
    pub(super) fn select_now(&mut self, id: Option<Uuid>) {
        self.selected = id;
        self.persisted.last_selected = id;
        self.centre = Centre::Editor;
        let p = id.and_then(|id| self.profile(id).cloned());
        self.editor = EditorState::for_profile(p);
    }

    /// Go somewhere, asking first when that leaves an editor with unsaved changes.
    fn request(&mut self, to: Go) {
        let leaving_editor = match &to {
            Go::Select(id) => *id != self.selected || self.centre != Centre::Editor,
            Go::New | Go::Output(_) | Go::Fanout => true,
            Go::Editor => false,
        };
        let same_profile_back = matches!(&to, Go::Select(id) if *id == self.selected);
        if self.editor.is_dirty() && leaving_editor && !same_profile_back {
            self.guard = Some(to);
        } else {
            self.go(to);
        }
    }

    pub(super) fn go(&mut self, to: Go) {
        match to {
            Go::Select(id) => {
                if id != self.selected || self.editor.draft.is_none() {
                    self.select_now(id);
                }
                self.centre = Centre::Editor;
                // A profile with an open session shows its output (the editor is a tab away).
                let has = |c| self.outputs.contains_key(&c);
                if let Some(conn) =
                    id.and_then(|id| tabs::output_of_profile(&self.sessions, id, has))
                {
                    self.show_output(conn);
                }
            }
            Go::New => {
                self.selected = None;
                self.centre = Centre::Editor;
                self.editor = EditorState::new_profile();
            }
            Go::Output(conn) => {
                // The tree selects the session's profile, so the two stay in step.
                let profile = self.sessions.iter().find(|s| s.conn == conn);
                if let Some(id) = profile.map(|s| s.profile_id)
                    && self.selected != Some(id)
                {
                    self.select_now(Some(id));
                }
                self.show_output(conn);
            }
            Go::Editor => self.centre = Centre::Editor,
            Go::Fanout => self.centre = Centre::Fanout,
        }
    }

    fn show_output(&mut self, conn: ConnId) {
        self.centre = Centre::Output(conn);
        self.outputs.entry(conn).or_default();
    }

    fn guard_answered(&mut self, choice: GuardChoice) {
        let Some(to) = self.guard.take() else { return };
        match choice {
            GuardChoice::Save => {
                self.save_profile();
                self.go(to);
            }
            GuardChoice::Discard => {
                self.editor.revert();
                self.go(to);
            }
            GuardChoice::KeepEditing => {}
        }
    }

    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let ctrl_k = KeyboardShortcut::new(Modifiers::COMMAND, Key::K);
        let ctrl_s = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_k)) && self.signin.is_none() {
            self.palette.open();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_s)) && self.centre == Centre::Editor {
            self.save_profile();
        }
        let ctrl_o = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_o)) && self.signin.is_none() {
            self.open_output_by_key(ctx);
        }
    }

    /// Ctrl+O: the output of the selected profile's session (else of the first session in the
    /// list), with the cmdlet line focused to type into.
    fn open_output_by_key(&mut self, ctx: &egui::Context) {
        let of_selected = self
            .selected
            .and_then(|id| self.sessions.iter().find(|s| s.profile_id == id));
        let Some(conn) = of_selected.or(self.sessions.first()).map(|s| s.conn) else {
            return;
        };
        self.request(Go::Output(conn));
        if self.centre == Centre::Output(conn) {
            ctx.memory_mut(|m| m.request_focus(crate::ui::output::cmdlet_line_id(conn)));
        }
    }
}
