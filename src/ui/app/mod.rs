//! The app: its state (the panes, each a struct that owns its own state) and the layout of the
//! panes, here; the application of the driver's events (`apply`) in `logic.rs`; the dispatch of
//! what the panes ask (`dispatch`) and navigation in `commands.rs`. The panes live in their own
//! files and never see `App`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Profile;

use super::action::Actions;
use super::bridge::{
    Backend, ConnId, DemoAccountView, LimitView, NoticeLevel, SessionState, SessionView,
    SignInView, UiCommand,
};
use super::chrome::{self, TopBar};
use super::dialogs::{DialogRequest, FileDialogs, PathPrompt};
use super::editor::EditorState;
use super::fanout::FanoutPane;
use super::messages::Messages;
use super::nav::{Centre, Go};
use super::output::OutputState;
use super::profiles::{Palette, ProfileTree};
use super::sessions::{self, SessionsPane};
use super::signin::SignInDialog;
use super::status::StatusBar;
use super::theme::{Caret, ThemeSetting};
use super::undo::{DEFAULT_STALE_MINUTES, DisconnectGuard, SessionSettings};

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
    /// Settings → the diagnostic log (no secrets), and its debug detail.
    pub diagnostics: chrome::DiagnosticsSetting,
    /// Settings → Sessions: the stale threshold, the #prod disconnect confirmation.
    pub sessions: SessionSettings,
}

mod bulk;
mod commands;
mod logic;
mod workspace;

const STORAGE_KEY: &str = "exo-connect-ui";

/// The session panel's frame around its content, top and bottom.
const SESSIONS_MARGIN: f32 = 12.0;

/// An answer of a background job (file dialog, export writer).
pub enum Background {
    /// A file dialog's answer (Err: no dialog could show).
    Dialog(DialogRequest, Result<Option<PathBuf>, String>),
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
    /// Stops the text cursor blinking when nothing happens.
    caret: Caret,
    /// What the panes asked during this frame; dispatched after each pane.
    actions: Actions,

    pub profiles: Vec<Profile>,
    profiles_loaded: bool,
    /// Navigation: the profile selected in the tree and what the centre shows.
    pub selected: Option<Uuid>,
    pub centre: Centre,
    /// A navigation waiting for the unsaved-changes guard.
    guard: Option<Go>,

    // The panes, each owning its state.
    top_bar: TopBar,
    pub tree: ProfileTree,
    palette: Palette,
    editor: EditorState,
    /// The sign-in dialog's view as the driver sent it (None: closed).
    pub signin: Option<SignInView>,
    signin_dialog: SignInDialog,
    pub sessions: Vec<SessionView>,
    sessions_pane: SessionsPane,
    /// The limit guard's dialog, while it shows.
    pub limit: Option<LimitView>,
    /// The output pane of each open session (kept while the session lives).
    outputs: HashMap<ConnId, OutputState>,
    /// The service's confirmation question, while it waits for the user.
    pub service_confirm: super::confirm::ServiceConfirm,
    /// The fan-out run (its panel, merged grid and start dialog).
    pub fanout: FanoutPane,
    /// "Run for each row…": its dialog, preview, confirmation and results.
    pub bulk: super::bulk::BulkPane,
    /// The session a CSV file is being picked for ("Run for each row…").
    bulk_csv_for: Option<ConnId>,

    pub notices: Vec<(NoticeLevel, String)>,
    /// Notices that name the Undo toast, and what each says once the toast is gone.
    undo_notices: Vec<(String, String)>,
    /// Demo mode: what the "Demo phone" panel shows.
    pub demo_phone: Vec<DemoAccountView>,
    /// Quitting with live sessions asks first.
    quit: chrome::QuitGuard,
    /// The window's own path field, when no file dialog could show.
    path_prompt: Option<PathPrompt>,
    /// Text the driver gathered for the clipboard ("Copy diagnostics"), copied next frame.
    to_clipboard: Option<String>,
    /// The profile the user last asked to connect: its session's output shows once it is up.
    show_on_connect: Option<Uuid>,
    /// A single disconnect's Undo toast and the #prod confirmation.
    disconnects: DisconnectGuard,
    /// Every notice of this session, with its time (the status bar's "Messages").
    pub messages: Messages,
    /// The workspace file's content: sessions to restore, history, favourites.
    workspace: workspace::WorkspaceState,
    /// The live cmdlet catalogue last known per service, as the driver sent it (the
    /// wrong-service hint before a line is sent).
    known_catalogues: super::complete::Known,
    /// The height the session list's rows want (measured as they draw).
    sessions_height: f32,
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
            caret: Caret::default(),
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
            signin: None,
            signin_dialog: SignInDialog::default(),
            sessions: Vec::new(),
            sessions_pane: SessionsPane::default(),
            limit: None,
            outputs: HashMap::new(),
            service_confirm: Default::default(),
            fanout: FanoutPane::default(),
            bulk: Default::default(),
            bulk_csv_for: None,
            notices: Vec::new(),
            undo_notices: Vec::new(),
            to_clipboard: None,
            show_on_connect: None,
            disconnects: DisconnectGuard::default(),
            messages: Messages::default(),
            path_prompt: None,
            quit: chrome::QuitGuard::default(),
            demo_phone: Vec::new(),
            workspace: Default::default(),
            known_catalogues: Default::default(),
            sessions_height: 190.0,
        };
        app.send(UiCommand::LoadProfiles);
        app.send(UiCommand::LoadWorkspace);
        if app.persisted.diagnostics.enabled {
            let d = app.persisted.diagnostics;
            app.send(d.command());
        }
        if app.persisted.sessions.stale_after_min != DEFAULT_STALE_MINUTES {
            let s = app.persisted.sessions;
            app.send(s.command());
        }
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
        let text = text.into();
        let now = self.now();
        self.messages.push(now, level, &text);
        // The sign-in dialog covers the status bar: a warning arriving meanwhile shows in it.
        if self.signin.is_some() && level != NoticeLevel::Info {
            self.signin_dialog.note = Some(text.clone());
        }
        self.notices.push((level, text));
        if self.notices.len() > 200 {
            self.notices.remove(0);
        }
    }

    pub fn profile(&self, id: Uuid) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Expired or stale sessions now.
    pub fn stale_count(&self) -> usize {
        sessions::stale_count(&self.sessions)
    }

    /// Put a line in the cmdlet field of a session's output pane (tests, automation).
    pub fn set_cmdlet_line(&mut self, conn: ConnId, line: &str) {
        self.output_mut(conn).line = line.to_string();
    }

    /// The output state of a session (tests).
    pub fn output(&self, conn: ConnId) -> Option<&OutputState> {
        self.outputs.get(&conn)
    }

    /// The output state of a session, to change (tests and benchmarks).
    pub fn output_state_mut(&mut self, conn: ConnId) -> Option<&mut OutputState> {
        self.outputs.get_mut(&conn)
    }

    /// Whether the text cursor blinks now (tests).
    pub fn caret_blinks(&self) -> bool {
        self.caret.blinking()
    }

    /// The session the window works with: the centre's output, else the selected profile's
    /// open session; its profile's name and state as the status bar shows them.
    fn current_session(&self) -> Option<(String, String)> {
        let s = match self.centre {
            Centre::Output(conn) => self.sessions.iter().find(|s| s.conn == conn),
            _ => self
                .selected
                .and_then(|id| sessions::of_profile(&self.sessions, id).first().copied()),
        }?;
        (s.state != SessionState::Disconnected)
            .then(|| (s.profile_name.clone(), s.state.label().to_string()))
    }

    fn output_mut(&mut self, conn: ConnId) -> &mut OutputState {
        self.outputs.entry(conn).or_default()
    }
}

/// Layout: where each pane goes; every pane's actions are dispatched right after it drew.
impl App {
    fn centre_ui(&mut self, ui: &mut egui::Ui) {
        let open: Vec<&SessionView> = self
            .sessions
            .iter()
            .filter(|s| s.state != SessionState::Disconnected)
            .collect();
        super::tabs::ui(ui, self.centre, &open, &mut self.actions);
        let conn = match self.centre {
            Centre::Editor => return self.editor.ui(ui, &self.profiles, &mut self.actions),
            Centre::Output(conn) => conn,
            Centre::Fanout => {
                let now = self.now();
                return self.fanout.ui(ui, now, &mut self.actions);
            }
        };
        let Some(session) = self.sessions.iter().find(|s| s.conn == conn) else {
            ui.label("This session is closed.");
            return;
        };
        let profile_id = session.profile_id;
        self.favourites_ui(ui, conn, profile_id);
        let Some(session) = self.sessions.iter().find(|s| s.conn == conn) else {
            return;
        };
        let tags = self
            .profiles
            .iter()
            .find(|p| p.id == session.profile_id)
            .map(|p| p.tags.as_slice())
            .unwrap_or_default();
        let out = self.outputs.entry(conn).or_default();
        out.completion.known = self.known_catalogues.clone();
        out.ui(ui, session, tags, &mut self.actions);
    }

    /// The modal dialogs, in the order they stack.
    fn dialogs(&mut self, ctx: &egui::Context) {
        let now = self.now();
        self.palette
            .ui(ctx, &self.profiles, &self.sessions, &mut self.actions);
        self.fanout.dialogs(ctx, &mut self.actions);
        self.signin_dialog.skip = self.signin.as_ref().map(|v| v.profile_id).is_some()
            && self.signin.as_ref().map(|v| v.profile_id) == self.fanout.turn_profile();
        self.signin_dialog
            .ui(ctx, &mut self.signin, now, &mut self.actions);
        let undo = self.disconnects.undo_offer(now);
        if sessions::limit_dialog(ctx, &mut self.limit, (now, undo), &mut self.actions) {
            for cmd in self.disconnects.undo_now() {
                self.send(cmd);
            }
        }
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
        if let Some(answer) = self.service_confirm.ui(ctx, &mut self.actions) {
            self.confirmation_answered(answer);
        }
        self.bulk_dialog(ctx);
        self.dispatch();
        if let Some(prompt) = &mut self.path_prompt
            && let Some(answer) = prompt.ui(ctx)
        {
            let req = prompt.req.clone();
            self.path_prompt = None;
            self.file_answer(req, Ok(answer));
        }
        let p = &mut self.persisted;
        let settings = (&mut p.theme, &mut p.diagnostics, &mut p.sessions);
        self.top_bar.dialogs(ctx, settings, &mut self.actions);
        self.dispatch();
        for cmd in self.disconnects.ui(ctx, now) {
            if let UiCommand::Disconnect { conn } = &cmd
                && let Some(s) = self.sessions.iter().find(|s| s.conn == *conn)
            {
                let name = s.profile_name.clone();
                self.disconnect_said(&name, false);
            }
            self.send(cmd);
        }
        let live = self
            .sessions
            .iter()
            .filter(|s| !matches!(s.state, SessionState::Disconnected | SessionState::Failed))
            .count();
        self.quit.ui(ctx, live);
        self.messages.window(ctx);
        if self.guard.is_some() {
            chrome::guard_dialog(ctx, self.editor.is_valid(&self.profiles), &mut self.actions);
            self.dispatch();
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.handle_events(ctx);
        super::probe::phase("events");
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        super::exit_after_first_frame(&ctx);
        super::probe::log_frame(&ctx);
        let now = self.now();
        self.shortcuts(&ctx);

        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.add_space(2.0);
            self.top_bar.ui(ui, self.options.demo, &mut self.actions);
            ui.add_space(2.0);
        });
        self.dispatch();
        self.undo_notices_settle(now);
        let status = StatusBar {
            notice: self.notices.last(),
            profiles: self.profiles.len(),
            sessions: self.sessions.len(),
            stale: self.stale_count(),
            demo: self.options.demo,
            unread: self.messages.unread(),
            current: self.current_session(),
        };
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            if status.ui(ui) {
                self.messages.open();
            }
        });
        // As high as its rows (the output gets the rest), at most a third of the window; the
        // list scrolls beyond that and its header folds it.
        let cap = (ctx.content_rect().height() / 3.0).max(90.0);
        egui::Panel::bottom("sessions")
            .resizable(false)
            .exact_size(self.sessions_height.clamp(40.0, cap))
            .show(ui, |ui| {
                let top = ui.cursor().top();
                self.not_restored_ui(ui);
                let list = &self.sessions;
                self.sessions_pane.stale_after_min = self.persisted.sessions.stale_after_min;
                let strip = ui.cursor().top() - top;
                let want = self.sessions_pane.ui(ui, list, now, &mut self.actions);
                let want = strip + want + SESSIONS_MARGIN;
                if (want - self.sessions_height).abs() > 0.5 {
                    // The rows changed: the panel takes its new height on the next frame.
                    self.sessions_height = want;
                    ui.ctx().request_repaint();
                }
            });
        self.dispatch();
        egui::Panel::left("profiles")
            .resizable(true)
            .default_size(270.0)
            .min_size(180.0)
            .show(ui, |ui| {
                if !self.demo_phone.is_empty() {
                    egui::Panel::bottom("demo_phone")
                        .show(ui, |ui| chrome::demo_phone(ui, &self.demo_phone, now));
                }
                let (list, loaded, sel) = (&self.profiles, self.profiles_loaded, self.selected);
                let open = &self.sessions;
                self.tree.fanout_shown = self.fanout.run.is_some();
                self.tree.ui(ui, list, open, loaded, sel, &mut self.actions)
            });
        self.dispatch();
        egui::CentralPanel::default().show(ui, |ui| self.centre_ui(ui));
        self.dispatch();
        self.dialogs(&ctx);
        // No blanket repaint: each countdown asks for a repaint when what it shows changes.
        self.caret.update(&ctx);
        super::probe::phase("rest of App::ui");
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.save_workspace_now();
        eframe::set_value(storage, STORAGE_KEY, &self.persisted);
    }
}
