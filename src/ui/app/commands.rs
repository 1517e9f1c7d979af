//! The app's one command handler: what the panes ask ([`Action`]s, dispatched right after each
//! pane drew), navigation through the unsaved-changes guard, and the keyboard shortcuts.

use uuid::Uuid;

use crate::ui::action::{Action, GuardChoice};
use crate::ui::bridge::{NoticeLevel, UiCommand};
use crate::ui::dialogs::DialogRequest;
use crate::ui::editor::EditorState;
use crate::ui::nav::{Centre, Go};

use super::{App, Background};

/// Dispatch: what the panes asked, and navigation through the unsaved-changes guard.
impl App {
    /// Carry out every action the panes pushed since the last call, in order.
    pub(super) fn dispatch(&mut self) {
        for action in self.actions.take() {
            match action {
                Action::Send(cmd) => self.send(cmd),
                Action::Go(to) => self.request(to),
                Action::SaveProfile => self.save_profile(),
                Action::ClearSelection => self.selected = None,
                Action::AskFile(req) => self.ask_file(req),
                Action::OpenPalette => self.palette.open(),
                Action::Guard(choice) => self.guard_answered(choice),
            }
        }
    }

    /// Ask a file dialog; the answer comes back through the background channel.
    fn ask_file(&self, req: DialogRequest) {
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
            Go::New | Go::Output(_) => true,
            Go::Editor => false,
        };
        let same_profile_back = matches!(&to, Go::Select(id) if *id == self.selected);
        if self.editor.is_dirty() && leaving_editor && !same_profile_back {
            self.guard = Some(to);
        } else {
            self.go(to);
        }
    }

    fn go(&mut self, to: Go) {
        match to {
            Go::Select(id) => {
                if id == self.selected && self.editor.draft.is_some() {
                    self.centre = Centre::Editor;
                } else {
                    self.select_now(id);
                }
            }
            Go::New => {
                self.selected = None;
                self.centre = Centre::Editor;
                self.editor = EditorState::new_profile();
            }
            Go::Output(conn) => {
                self.centre = Centre::Output(conn);
                self.outputs.entry(conn).or_default();
            }
            Go::Editor => self.centre = Centre::Editor,
        }
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
