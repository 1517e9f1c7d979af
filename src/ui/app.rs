//! The app: its state (the panes, each a struct that owns its own state), the application of
//! the driver's events (`apply`), the layout of the panes and the dispatch of what they ask
//! (`dispatch`). The panes live in their own files and never see `App`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Profile;

use super::action::{Action, Actions, GuardChoice};
use super::bridge::{
    Backend, ConnId, DemoAccountView, LimitView, NoticeLevel, SessionView, UiCommand, UiEvent,
};
use super::chrome::{self, TopBar};
use super::dialogs::{DialogPurpose, DialogRequest, FileDialogs};
use super::editor::EditorState;
use super::nav::{Centre, Go};
use super::output::OutputState;
use super::profiles::{Palette, ProfileTree};
use super::sessions::{self, SessionsPane};
use super::signin::SignInDialog;
use super::status::StatusBar;
use super::theme::ThemeSetting;

/// How the window was started.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Demo mode: a separate config folder, a DEMO badge.
    pub demo: bool,
}

/// UI state remembered between runs (eframe storage). Profiles are NOT stored here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub theme: ThemeSetting,
    pub last_selected: Option<Uuid>,
}

const STORAGE_KEY: &str = "exo-connect-ui";

/// An answer of a background job (file dialog, export writer).
pub enum Background {
    Dialog(DialogPurpose, Option<PathBuf>),
    Notice(NoticeLevel, String),
}

/// The desktop app.
pub struct App {
    backend: Box<dyn Backend>,
    dialogs: Box<dyn FileDialogs>,
    bg_tx: Sender<Background>,
    bg_rx: Receiver<Background>,
    clock: Box<dyn Fn() -> DateTime<Utc>>,
    options: AppOptions,
    persisted: Persisted,
    applied_theme: Option<ThemeSetting>,
    /// What the panes asked during this frame; dispatched after each pane.
    actions: Actions,

    pub profiles: Vec<Profile>,
    profiles_loaded: bool,
    /// Navigation: the profile selected in the tree and what the centre shows.
    pub selected: Option<Uuid>,
    pub centre: Centre,
    /// A navigation waiting for the unsaved-changes guard.
    guard: Option<Go>,

    pub top_bar: TopBar,
    pub tree: ProfileTree,
    pub palette: Palette,
    pub editor: EditorState,
    pub signin: SignInDialog,
    pub sessions: Vec<SessionView>,
    pub sessions_pane: SessionsPane,
    pub limit: Option<LimitView>,
    outputs: HashMap<ConnId, OutputState>,

    pub notices: Vec<(NoticeLevel, String)>,
    /// Demo mode: what the "Demo phone" panel shows.
    pub demo_phone: Vec<DemoAccountView>,
}

impl App {
    /// The app for eframe (or a kittest harness) with its driver and file dialogs.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        mut backend: Box<dyn Backend>,
        dialogs: Box<dyn FileDialogs>,
        options: AppOptions,
    ) -> App {
        backend.set_waker(cc.egui_ctx.clone());
        let persisted: Persisted = cc
            .storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_default();
        let (bg_tx, bg_rx) = mpsc::channel();
        let mut app = App {
            backend,
            dialogs,
            bg_tx,
            bg_rx,
            clock: Box::new(Utc::now),
            options,
            persisted,
            applied_theme: None,
            actions: Actions::default(),
            profiles: Vec::new(),
            profiles_loaded: false,
            selected: None,
            centre: Centre::Editor,
            guard: None,
            top_bar: TopBar::default(),
            tree: ProfileTree::default(),
            palette: Palette::default(),
            editor: EditorState::default(),
            signin: SignInDialog::default(),
            sessions: Vec::new(),
            sessions_pane: SessionsPane::default(),
            limit: None,
            outputs: HashMap::new(),
            notices: Vec::new(),
            demo_phone: Vec::new(),
        };
        app.send(UiCommand::LoadProfiles);
        app
    }

    /// Replace the clock the countdowns use (tests).
    pub fn set_clock(&mut self, clock: impl Fn() -> DateTime<Utc> + 'static) {
        self.clock = Box::new(clock);
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn send(&mut self, cmd: UiCommand) {
        self.backend.send(cmd);
    }

    fn notice(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notices.push((level, text.into()));
        if self.notices.len() > 200 {
            self.notices.remove(0);
        }
    }

    pub fn profile(&self, id: Uuid) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Expired or stale sessions now.
    pub fn stale_count(&self) -> usize {
        sessions::stale_count(&self.sessions, self.now())
    }

    /// Put a line in the cmdlet field of a session's output pane (tests, automation).
    pub fn set_cmdlet_line(&mut self, conn: ConnId, line: &str) {
        self.output_mut(conn).line = line.to_string();
    }

    /// The output state of a session (tests).
    pub fn output(&self, conn: ConnId) -> Option<&OutputState> {
        self.outputs.get(&conn)
    }

    fn output_mut(&mut self, conn: ConnId) -> &mut OutputState {
        self.outputs.entry(conn).or_default()
    }
}

/// Events: the driver's [`UiEvent`]s and the background answers, applied to the state.
impl App {
    /// Drain the driver's events and background answers. Never blocks.
    pub fn handle_events(&mut self, ctx: &egui::Context) {
        for ev in self.backend.poll() {
            self.apply(ev);
        }
        while let Ok(bg) = self.bg_rx.try_recv() {
            match bg {
                Background::Dialog(purpose, Some(path)) => self.dialog_answered(purpose, path),
                Background::Dialog(_, None) => {}
                Background::Notice(level, text) => self.notice(level, text),
            }
        }
        if self.applied_theme != Some(self.persisted.theme) {
            self.persisted.theme.apply(ctx);
            self.applied_theme = Some(self.persisted.theme);
        }
    }

    /// Apply one event to the state.
    pub fn apply(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::ProfilesLoaded(list) => self.profiles_loaded(list),
            UiEvent::ProfileSaved(p) => self.profile_saved(*p),
            UiEvent::ProfileDeleted { id } => {
                self.profiles.retain(|p| p.id != id);
                if self.selected == Some(id) {
                    self.selected = None;
                    self.editor = EditorState::default();
                }
            }
            UiEvent::SignIn(view) => self.signin.show(view),
            UiEvent::SignInFinished { profile_id, result } => {
                self.signin.close();
                let name = self
                    .profile(profile_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                match result {
                    Ok(()) => self.notice(NoticeLevel::Info, format!("Signed in: {name}")),
                    Err(e) => self.notice(NoticeLevel::Error, format!("Sign-in failed: {e}")),
                }
            }
            UiEvent::SessionsChanged(list) => self.sessions_changed(list),
            UiEvent::LimitReached(view) => self.limit = Some(view),
            UiEvent::RunStarted { conn, line } => self.output_mut(conn).started(line),
            UiEvent::RunRows { conn, rows } => self.output_mut(conn).add_rows(rows),
            UiEvent::RunWarning { conn, text } => self.output_mut(conn).warnings.push(text),
            UiEvent::RunDone {
                conn,
                rows,
                pages,
                elapsed,
            } => self.output_mut(conn).done(rows, pages, elapsed),
            UiEvent::RunFailed { conn, explanation } => self.output_mut(conn).failed(explanation),
            UiEvent::Notice { level, text } => self.notice(level, text),
            UiEvent::DoctorStep { profile_id, step } => self.editor.doctor.step(profile_id, step),
            UiEvent::DoctorDone {
                profile_id,
                passed,
                summary,
            } => self.editor.doctor.done(profile_id, passed, summary),
            UiEvent::RouteResolved { profile_id, lines } => {
                self.editor.route_resolved(profile_id, lines)
            }
            UiEvent::ProxyCredentialNeeded {
                profile_id,
                proxy,
                explanation,
            } => {
                if self.profile(profile_id).is_some() && self.selected != Some(profile_id) {
                    self.select_now(Some(profile_id));
                }
                self.editor.proxy_credential_needed(profile_id, &proxy);
                self.notice(NoticeLevel::Warning, explanation);
            }
            UiEvent::DemoPhone(list) => self.demo_phone = list,
        }
    }

    fn profiles_loaded(&mut self, list: Vec<Profile>) {
        self.profiles = list;
        if !self.profiles_loaded {
            self.profiles_loaded = true;
            if self.selected.is_none()
                && let Some(id) = self.persisted.last_selected
                && self.profile(id).is_some()
            {
                self.select_now(Some(id));
            }
        }
    }

    fn profile_saved(&mut self, p: Profile) {
        match self.profiles.iter_mut().find(|x| x.id == p.id) {
            Some(slot) => *slot = p.clone(),
            None => self.profiles.push(p.clone()),
        }
        self.editor.saved(&p);
        self.notice(NoticeLevel::Info, format!("Saved profile {}", p.name));
    }

    fn sessions_changed(&mut self, list: Vec<SessionView>) {
        self.sessions = list;
        if let Centre::Output(conn) = self.centre
            && !self.sessions.iter().any(|s| s.conn == conn)
        {
            self.centre = Centre::Editor;
        }
        self.outputs
            .retain(|c, _| self.sessions.iter().any(|s| s.conn == *c));
        if let Some(limit) = &mut self.limit {
            limit
                .sessions
                .retain(|s| self.sessions.iter().any(|x| x.conn == s.conn));
        }
    }

    fn dialog_answered(&mut self, purpose: DialogPurpose, path: PathBuf) {
        match purpose {
            DialogPurpose::ImportProfiles => self.send(UiCommand::ImportProfiles { path }),
            DialogPurpose::ExportProfiles => self.send(UiCommand::ExportProfiles {
                path,
                ids: Vec::new(),
            }),
            DialogPurpose::ExportCsv | DialogPurpose::ExportJson => {
                if let Centre::Output(conn) = self.centre {
                    self.export_results(conn, purpose == DialogPurpose::ExportCsv, path);
                }
            }
        }
    }

    /// Write the shown results of `conn` to `path` on a thread; a notice says how it went.
    fn export_results(&mut self, conn: ConnId, csv: bool, path: PathBuf) {
        let Some(out) = self.outputs.get_mut(&conn) else {
            return;
        };
        let (n, text) = out.export_text(csv);
        let tx = self.bg_tx.clone();
        // File I/O off the UI thread.
        std::thread::spawn(move || {
            let msg = text.and_then(|t| {
                std::fs::write(&path, t)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            });
            let _ = tx.send(match msg {
                Ok(()) => Background::Notice(
                    NoticeLevel::Info,
                    format!("Exported {n} rows to {}", path.display()),
                ),
                Err(e) => Background::Notice(NoticeLevel::Error, format!("Export failed: {e}")),
            });
        });
    }
}

/// Dispatch: what the panes asked, and navigation through the unsaved-changes guard.
impl App {
    /// Carry out every action the panes pushed since the last call, in order.
    fn dispatch(&mut self) {
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
        let purpose = req.purpose.clone();
        self.dialogs.ask(
            req,
            Box::new(move |path| {
                let _ = tx.send(Background::Dialog(purpose, path));
            }),
        );
    }

    fn save_profile(&mut self) {
        if let Some(d) = self.editor.to_save(&self.profiles) {
            self.selected = Some(d.id);
            self.persisted.last_selected = Some(d.id);
            self.send(UiCommand::SaveProfile(Box::new(d)));
        }
    }

    /// Change selection now (no guard).
    fn select_now(&mut self, id: Option<Uuid>) {
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

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let ctrl_k = KeyboardShortcut::new(Modifiers::COMMAND, Key::K);
        let ctrl_s = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_k)) && self.signin.view.is_none() {
            self.palette.open();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_s)) && self.centre == Centre::Editor {
            self.save_profile();
        }
    }
}

/// Layout: where each pane goes; every pane's actions are dispatched right after it drew.
impl App {
    fn centre_ui(&mut self, ui: &mut egui::Ui) {
        let conn = match self.centre {
            Centre::Editor => return self.editor.ui(ui, &self.profiles, &mut self.actions),
            Centre::Output(conn) => conn,
        };
        let Some(session) = self.sessions.iter().find(|s| s.conn == conn) else {
            ui.label("This session is closed.");
            return;
        };
        let tags = self
            .profiles
            .iter()
            .find(|p| p.id == session.profile_id)
            .map(|p| p.tags.as_slice())
            .unwrap_or_default();
        let out = self.outputs.entry(conn).or_default();
        out.ui(ui, session, tags, &mut self.actions);
    }

    /// The modal dialogs, in the order they stack.
    fn dialogs(&mut self, ctx: &egui::Context) {
        let now = self.now();
        self.palette.ui(ctx, &self.profiles, &mut self.actions);
        self.signin.ui(ctx, now, &mut self.actions);
        sessions::limit_dialog(ctx, &mut self.limit, now, &mut self.actions);
        let n = self.sessions.len();
        self.sessions_pane.dialogs(ctx, n, &mut self.actions);
        self.editor.dialogs(ctx, &mut self.actions);
        if let Some((&conn, out)) = self
            .outputs
            .iter_mut()
            .find(|(_, o)| o.confirm_prod.is_some())
        {
            let tenant = self.sessions.iter().find(|s| s.conn == conn);
            let tenant = tenant.map(|s| s.tenant.as_str()).unwrap_or_default();
            out.prod_dialog(ctx, conn, tenant, &mut self.actions);
        }
        self.dispatch();
        self.top_bar.dialogs(ctx, &mut self.persisted.theme);
        if self.guard.is_some() {
            chrome::guard_dialog(ctx, self.editor.is_valid(&self.profiles), &mut self.actions);
            self.dispatch();
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.handle_events(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let now = self.now();
        self.shortcuts(&ctx);

        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.add_space(2.0);
            self.top_bar.ui(ui, self.options.demo, &mut self.actions);
            ui.add_space(2.0);
        });
        self.dispatch();
        let status = StatusBar {
            notice: self.notices.last(),
            profiles: self.profiles.len(),
            sessions: self.sessions.len(),
            stale: self.stale_count(),
            demo: self.options.demo,
        };
        egui::Panel::bottom("status_bar").show(ui, |ui| status.ui(ui));
        egui::Panel::bottom("sessions")
            .resizable(true)
            .default_size(190.0)
            .min_size(90.0)
            .show(ui, |ui| {
                let list = &self.sessions;
                self.sessions_pane.ui(ui, list, now, &mut self.actions)
            });
        self.dispatch();
        egui::Panel::left("profiles")
            .resizable(true)
            .default_size(270.0)
            .min_size(180.0)
            .show(ui, |ui| {
                if !self.demo_phone.is_empty() {
                    egui::Panel::bottom("demo_phone")
                        .show(ui, |ui| chrome::demo_phone(ui, &self.demo_phone));
                }
                let (list, loaded, sel) = (&self.profiles, self.profiles_loaded, self.selected);
                self.tree.ui(ui, list, loaded, sel, &mut self.actions)
            });
        self.dispatch();
        egui::CentralPanel::default().show(ui, |ui| self.centre_ui(ui));
        self.dispatch();
        self.dialogs(&ctx);

        // Countdowns tick once a second; no busy repaint.
        if !self.sessions.is_empty() || self.signin.view.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.persisted);
    }
}
