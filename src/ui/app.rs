//! App state, the per-frame logic (drain events, shortcuts) and the layout of the panes.
//! Each pane lives in its own file as `impl App` methods.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Profile;

use super::bridge::{
    Backend, ConnId, LimitView, NoticeLevel, SessionView, SignInView, UiCommand, UiEvent,
};
use super::dialogs::{DialogPurpose, DialogRequest, FileDialogs};
use super::editor::EditorState;
use super::output::OutputState;
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

/// What the centre shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Centre {
    Editor,
    Output(ConnId),
}

/// A change of selection waiting for the unsaved-changes guard.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Select(Option<Uuid>),
    New,
    Output(ConnId),
}

/// An answer of a background job (file dialog, export writer).
pub enum Background {
    Dialog(DialogPurpose, Option<PathBuf>),
    Notice(NoticeLevel, String),
}

/// The desktop app.
pub struct App {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) dialogs: Box<dyn FileDialogs>,
    pub(crate) bg_tx: Sender<Background>,
    bg_rx: Receiver<Background>,
    clock: Box<dyn Fn() -> DateTime<Utc>>,
    pub(crate) options: AppOptions,
    pub(crate) persisted: Persisted,
    applied_theme: Option<ThemeSetting>,

    pub profiles: Vec<Profile>,
    pub(crate) profiles_loaded: bool,
    pub selected: Option<Uuid>,
    pub search: String,
    pub(crate) palette: Option<String>,
    /// The palette just opened: give its field the focus once.
    pub(crate) palette_focus: bool,
    pub(crate) editor: EditorState,
    pub(crate) guard: Option<Pending>,

    pub signin: Option<SignInView>,
    pub(crate) signin_password: String,
    /// The password step just appeared: focus its field once.
    pub(crate) signin_password_focus: bool,

    pub sessions: Vec<SessionView>,
    pub(crate) confirm_disconnect_all: bool,
    pub limit: Option<LimitView>,
    pub(crate) outputs: HashMap<ConnId, OutputState>,
    pub centre: Centre,

    pub notices: Vec<(NoticeLevel, String)>,
    /// Demo mode: what the "Demo phone" panel shows.
    pub demo_phone: Vec<super::bridge::DemoAccountView>,
    pub(crate) show_settings: bool,
    pub(crate) show_about: bool,
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
            profiles: Vec::new(),
            profiles_loaded: false,
            selected: None,
            search: String::new(),
            palette: None,
            palette_focus: false,
            editor: EditorState::default(),
            guard: None,
            signin: None,
            signin_password: String::new(),
            signin_password_focus: false,
            sessions: Vec::new(),
            confirm_disconnect_all: false,
            limit: None,
            outputs: HashMap::new(),
            centre: Centre::Editor,
            notices: Vec::new(),
            demo_phone: Vec::new(),
            show_settings: false,
            show_about: false,
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

    pub(crate) fn send(&mut self, cmd: UiCommand) {
        self.backend.send(cmd);
    }

    pub(crate) fn notice(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notices.push((level, text.into()));
        if self.notices.len() > 200 {
            self.notices.remove(0);
        }
    }

    pub fn profile(&self, id: Uuid) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Ask a file dialog; the answer comes back through the background channel.
    pub(crate) fn ask_file(&self, req: DialogRequest) {
        let tx = self.bg_tx.clone();
        let purpose = req.purpose.clone();
        self.dialogs.ask(
            req,
            Box::new(move |path| {
                let _ = tx.send(Background::Dialog(purpose, path));
            }),
        );
    }

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

    /// Apply one event to the state.
    pub fn apply(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::ProfilesLoaded(list) => {
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
            UiEvent::ProfileSaved(p) => {
                let p = *p;
                match self.profiles.iter_mut().find(|x| x.id == p.id) {
                    Some(slot) => *slot = p.clone(),
                    None => self.profiles.push(p.clone()),
                }
                self.editor.saved(&p);
                self.notice(NoticeLevel::Info, format!("Saved profile {}", p.name));
            }
            UiEvent::ProfileDeleted { id } => {
                self.profiles.retain(|p| p.id != id);
                if self.selected == Some(id) {
                    self.selected = None;
                    self.editor = EditorState::default();
                }
            }
            UiEvent::SignIn(view) => {
                if self.signin.as_ref().map(|v| v.profile_id) != Some(view.profile_id) {
                    self.signin_password.clear();
                }
                let was_password = matches!(
                    self.signin.as_ref().map(|v| &v.stage),
                    Some(super::bridge::SignInStage::Password { .. })
                );
                if !was_password
                    && matches!(view.stage, super::bridge::SignInStage::Password { .. })
                {
                    self.signin_password_focus = true;
                }
                self.signin = Some(view);
            }
            UiEvent::SignInFinished { profile_id, result } => {
                self.signin = None;
                self.signin_password.clear();
                let name = self
                    .profile(profile_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                match result {
                    Ok(()) => self.notice(NoticeLevel::Info, format!("Signed in: {name}")),
                    Err(e) => self.notice(NoticeLevel::Error, format!("Sign-in failed: {e}")),
                }
            }
            UiEvent::SessionsChanged(list) => {
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

    pub(crate) fn output_mut(&mut self, conn: ConnId) -> &mut OutputState {
        self.outputs.entry(conn).or_default()
    }

    pub(crate) fn open_palette(&mut self) {
        self.palette = Some(String::new());
        self.palette_focus = true;
    }

    /// Put a line in the cmdlet field of a session's output pane (tests, automation).
    pub fn set_cmdlet_line(&mut self, conn: ConnId, line: &str) {
        self.output_mut(conn).line = line.to_string();
    }

    /// The output state of a session (tests).
    pub fn output(&self, conn: ConnId) -> Option<&OutputState> {
        self.outputs.get(&conn)
    }

    /// Change selection now (no guard).
    pub(crate) fn select_now(&mut self, id: Option<Uuid>) {
        self.selected = id;
        self.persisted.last_selected = id;
        self.centre = Centre::Editor;
        let p = id.and_then(|id| self.profile(id).cloned());
        self.editor = EditorState::for_profile(p);
    }

    /// Change selection, asking first when the editor has unsaved changes.
    pub(crate) fn request(&mut self, what: Pending) {
        let leaving_editor = match &what {
            Pending::Select(id) => *id != self.selected || self.centre != Centre::Editor,
            Pending::New | Pending::Output(_) => true,
        };
        let same_profile_back = matches!(&what, Pending::Select(id) if *id == self.selected);
        if self.editor.is_dirty() && leaving_editor && !same_profile_back {
            self.guard = Some(what);
        } else {
            self.do_pending(what);
        }
    }

    pub(crate) fn do_pending(&mut self, what: Pending) {
        match what {
            Pending::Select(id) => {
                if id == self.selected && self.editor.draft.is_some() {
                    self.centre = Centre::Editor;
                } else {
                    self.select_now(id);
                }
            }
            Pending::New => {
                self.selected = None;
                self.centre = Centre::Editor;
                self.editor = EditorState::new_profile();
            }
            Pending::Output(conn) => {
                self.centre = Centre::Output(conn);
                self.outputs.entry(conn).or_default();
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let ctrl_k = KeyboardShortcut::new(Modifiers::COMMAND, Key::K);
        let ctrl_s = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_k)) && self.signin.is_none() {
            self.open_palette();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl_s)) && self.centre == Centre::Editor {
            self.save_profile();
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("exo-connect");
            if self.options.demo {
                ui.label(
                    egui::RichText::new(" DEMO ")
                        .strong()
                        .color(egui::Color32::WHITE)
                        .background_color(super::theme::AMBER),
                );
            }
            ui.separator();
            if ui.button("New profile").clicked() {
                self.request(Pending::New);
            }
            if ui.button("Import profiles…").clicked() {
                self.ask_file(DialogRequest {
                    purpose: DialogPurpose::ImportProfiles,
                    title: "Import profiles".into(),
                    default_name: String::new(),
                    filter: ("Profiles".into(), vec!["json".into()]),
                    save: false,
                });
            }
            if ui.button("Export profiles…").clicked() {
                self.ask_file(DialogRequest {
                    purpose: DialogPurpose::ExportProfiles,
                    title: "Export profiles".into(),
                    default_name: "exo-connect-profiles.json".into(),
                    filter: ("Profiles".into(), vec!["json".into()]),
                    save: true,
                });
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("About").clicked() {
                    self.show_about = true;
                }
                if ui.button("Settings").clicked() {
                    self.show_settings = true;
                }
                if ui
                    .button("Quick connect (Ctrl+K)")
                    .on_hover_text("Find a profile by name, UPN, tenant or tag and connect")
                    .clicked()
                {
                    self.open_palette();
                }
            });
        });
    }

    fn small_dialogs(&mut self, ctx: &egui::Context) {
        if self.show_settings {
            let r = egui::Modal::new(egui::Id::unique("settings")).show(ctx, |ui| {
                ui.heading("Settings");
                ui.label("Theme");
                for t in ThemeSetting::ALL {
                    ui.radio_value(&mut self.persisted.theme, t, t.label());
                }
                ui.add_space(8.0);
                ui.button("Close").clicked()
            });
            if r.inner || r.should_close() {
                self.show_settings = false;
            }
        }
        if self.show_about {
            let r = egui::Modal::new(egui::Id::unique("about")).show(ctx, |ui| {
                ui.heading("exo-connect");
                ui.label(format!("Version {}", env!("CARGO_PKG_VERSION")));
                ui.label(
                    "A connection manager for Exchange Online, Exchange Online Protection \
                     and Security & Compliance.",
                );
                ui.button("Close").clicked()
            });
            if r.inner || r.should_close() {
                self.show_about = false;
            }
        }
        if let Some(pending) = self.guard.clone() {
            let mut choice = None;
            let r = egui::Modal::new(egui::Id::unique("unsaved_guard")).show(ctx, |ui| {
                ui.heading("Unsaved changes");
                ui.label("The profile you are editing has unsaved changes.");
                ui.horizontal(|ui| {
                    let valid = self.editor.is_valid(&self.profiles);
                    if ui
                        .add_enabled(valid, egui::Button::new("Save changes"))
                        .clicked()
                    {
                        choice = Some(0);
                    }
                    if ui.button("Discard changes").clicked() {
                        choice = Some(1);
                    }
                    if ui.button("Keep editing").clicked() {
                        choice = Some(2);
                    }
                });
            });
            if r.should_close() {
                choice = Some(2);
            }
            match choice {
                Some(0) => {
                    self.save_profile();
                    self.guard = None;
                    self.do_pending(pending);
                }
                Some(1) => {
                    self.guard = None;
                    self.editor.revert();
                    self.do_pending(pending);
                }
                Some(_) => self.guard = None,
                None => {}
            }
        }
    }
}

impl App {
    /// Demo mode: the current verification codes and the demo passwords.
    fn demo_phone_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        ui.strong("Demo phone");
        ui.label(
            egui::RichText::new("Made-up accounts of the simulated tenant")
                .small()
                .weak(),
        );
        for a in &self.demo_phone {
            ui.add_space(2.0);
            ui.label(egui::RichText::new(&a.upn).strong());
            ui.horizontal(|ui| {
                ui.label("Password:");
                ui.label(egui::RichText::new(&a.password).monospace());
            });
            if let Some(code) = &a.code {
                ui.horizontal(|ui| {
                    ui.label("Code:");
                    let l = ui.label(
                        egui::RichText::new(code)
                            .monospace()
                            .strong()
                            .size(18.0)
                            .color(super::theme::AMBER),
                    );
                    l.on_hover_text("The verification code of this account's authenticator");
                    ui.label(egui::RichText::new(format!("{} s", a.seconds_left)).weak());
                });
            }
        }
        ui.add_space(4.0);
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.handle_events(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        super::exit_after_first_frame(&ctx);
        self.shortcuts(&ctx);

        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.add_space(2.0);
            self.top_bar(ui);
            ui.add_space(2.0);
        });
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_ui(ui));
        egui::Panel::bottom("sessions")
            .resizable(true)
            .default_size(190.0)
            .min_size(90.0)
            .show(ui, |ui| self.sessions_ui(ui));
        egui::Panel::left("profiles")
            .resizable(true)
            .default_size(270.0)
            .min_size(180.0)
            .show(ui, |ui| {
                if !self.demo_phone.is_empty() {
                    egui::Panel::bottom("demo_phone").show(ui, |ui| self.demo_phone_ui(ui));
                }
                self.profiles_ui(ui)
            });
        egui::CentralPanel::default().show(ui, |ui| match self.centre {
            Centre::Editor => self.editor_ui(ui),
            Centre::Output(conn) => self.output_ui(ui, conn),
        });

        self.palette_ui(&ctx);
        self.signin_ui(&ctx);
        self.limit_ui(&ctx);
        self.sessions_dialogs(&ctx);
        self.editor_dialogs(&ctx);
        self.output_dialogs(&ctx);
        self.small_dialogs(&ctx);

        // Countdowns tick once a second; no busy repaint.
        if !self.sessions.is_empty() || self.signin.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.persisted);
    }
}
