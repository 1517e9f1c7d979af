//! The view-side contract between the window and whatever drives it (the engine adapter, the
//! local profile backend, or a scripted fake in tests).
//!
//! The UI sends [`UiCommand`]s and drains [`UiEvent`]s once per frame; it never blocks or awaits.
//! Commands go straight into the driver's tokio side (an unbounded tokio channel: sending never
//! blocks and needs no runtime); whoever answers commands wakes the UI after sending events
//! ([`EventSender::send`] calls `request_repaint` on the egui context the app registered).
//!
//! All view structs are plain data: no engine types, no secrets in `Debug` output.

use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A fan-out run's per-profile state and counts, as the engine sets them.
pub use crate::model::fanout::{FanoutSummary, ProfileState};
use crate::model::results::ResultStore;
use crate::model::{Profile, Service};

/// The live cmdlet catalogue last known per service.
pub type KnownCatalogues = Arc<Vec<(Service, Arc<crate::model::catalogue::CmdletCatalogue>)>>;
/// The model's types the contract carries as they are: a session's state (derived once, by the
/// engine's session registry; the window only formats it) and the sign-in method.
pub use crate::model::{SessionState, SignInMethod};

/// Identifies one open session: the engine's session registry's id of the connection (the
/// `connection-id` its requests carry), as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub Uuid);

/// A secret typed by the user (password, proxy password). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself: hand it to the engine or keychain only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What the window asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum UiCommand {
    /// Load (or reload) all profiles; answered by [`UiEvent::ProfilesLoaded`].
    LoadProfiles,
    /// Create or update a profile (matched by id); answered by [`UiEvent::ProfileSaved`] or a Notice.
    SaveProfile(Box<Profile>),
    /// Delete a profile; answered by [`UiEvent::ProfileDeleted`].
    DeleteProfile {
        id: Uuid,
    },
    /// Import profiles from a file the user picked; answered by ProfilesLoaded + Notice.
    ImportProfiles {
        path: PathBuf,
    },
    /// Export these profiles (all when empty) to a file the user picked; answered by a Notice.
    ExportProfiles {
        path: PathBuf,
        ids: Vec<Uuid>,
    },
    /// Store the proxy password of a profile in the OS keychain (never in the profile file).
    SaveProxyPassword {
        profile_id: Uuid,
        password: Secret,
    },
    /// Start signing in with a profile; the engine answers with [`UiEvent::SignIn`] states.
    Connect {
        profile_id: Uuid,
    },
    /// The password typed in the sign-in dialog (password method).
    SubmitPassword {
        password: Secret,
    },
    /// Close the sign-in dialog and abandon the sign-in.
    CancelSignIn,
    /// The device code expired: ask for a new one.
    NewDeviceCode,
    /// Accept a signed-in account that differs from the profile's UPN.
    ContinueDespiteMismatch,
    /// Start the sign-in again (after a mismatch or failure).
    RetrySignIn,
    Disconnect {
        conn: ConnId,
    },
    /// Disconnect every session that is Stale or Expired.
    DisconnectStale,
    DisconnectAll,
    /// Refresh the token of a session now.
    RefreshSession {
        conn: ConnId,
    },
    /// Run a cmdlet line in a session; rows stream back as [`UiEvent::RunRows`].
    Run {
        conn: ConnId,
        line: String,
    },
    CancelRun {
        conn: ConnId,
    },
    /// Run a cmdlet line again with `Confirm: false`: the user answered yes to the service's
    /// question ([`UiEvent::RunConfirmation`]).
    RunConfirmed {
        conn: ConnId,
        line: String,
    },
    /// Run the connectivity check on this profile (the editor's draft, saved or not); answered
    /// by [`UiEvent::DoctorStep`]s as the steps complete, then [`UiEvent::DoctorDone`].
    TestConnection {
        profile: Box<Profile>,
    },
    /// Resolve the effective proxy route of a (draft) profile's endpoints, off the UI thread
    /// (`engine::proxy::route_report`); answered by [`UiEvent::RouteResolved`].
    ResolveRoute {
        profile: Box<Profile>,
    },
    /// Open a sign-in or verification page in the system browser (the driver's launcher).
    OpenUrl {
        url: String,
    },
    /// Write the diagnostic log (no secrets) to the config folder's `logs/`, or stop; `debug`
    /// for more detail.
    SetDiagnostics {
        enabled: bool,
        debug: bool,
    },
    /// Gather the text of "Copy diagnostics" (answered by [`UiEvent::Diagnostics`]).
    CopyDiagnostics,
    /// Run one cmdlet line over these saved profiles (a fan-out run; a newer one cancels the
    /// last); answered by [`UiEvent::FanoutStarted`], then the per-profile events.
    RunFanout {
        profile_ids: Vec<Uuid>,
        line: String,
        /// Profiles running at once.
        concurrency: usize,
    },
    /// Cancel every profile of the fan-out run not yet final.
    CancelFanout,
    /// Run the failed and cancelled profiles again (None), or profile `index` (a failed,
    /// cancelled or skipped one).
    RetryFanout {
        index: Option<usize>,
    },
    /// Settings → a session idle this many minutes is Stale (the registry's threshold).
    SetStaleAfter {
        minutes: u32,
    },
    /// Start `pwsh` already connected to this session's tenant (the token through the child's
    /// environment, never its command line); answered by Notices.
    OpenPowerShell {
        conn: ConnId,
    },
    /// Read the workspace file (`model::workspace`); answered by [`UiEvent::WorkspaceLoaded`].
    LoadWorkspace,
    /// Write this workspace (atomically, beside the profile store; no secrets in it).
    SaveWorkspace(Box<crate::model::workspace::Workspace>),
    /// Reconnect these profiles silently from their cached sign-ins (never a dialog); each
    /// that cannot is answered by [`UiEvent::RestoreFailed`].
    Restore {
        profile_ids: Vec<Uuid>,
    },
    /// "Run for each row…" of a CSV file: read its rows off the UI thread; answered by
    /// [`UiEvent::BulkTable`].
    LoadBulkCsv {
        conn: ConnId,
        path: PathBuf,
    },
    /// "Run for each row…": each (row, cmdlet line) in session `conn` through `$batch` (a change
    /// cmdlet with `Confirm: false`: the window asked once for the batch); answered by
    /// [`UiEvent::BulkProgress`] and [`UiEvent::BulkDone`] of the same `run`.
    RunBulk {
        conn: ConnId,
        run: u64,
        rows: Vec<(usize, String)>,
    },
    /// Stop bulk run `run` after the chunk in flight (its rows get their results; the rest
    /// are not sent); answered by its [`UiEvent::BulkDone`].
    CancelBulk {
        conn: ConnId,
        run: u64,
    },
}

/// What the window is told.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// The full list of profiles (replaces what the window shows).
    ProfilesLoaded(Vec<Profile>),
    /// A profile was saved (inserted or replaced by id).
    ProfileSaved(Box<Profile>),
    ProfileDeleted {
        id: Uuid,
    },
    /// The current state of the sign-in dialog (opens it if closed).
    SignIn(SignInView),
    /// The sign-in ended: the dialog closes. `Err` carries the plain explanation.
    SignInFinished {
        profile_id: Uuid,
        result: Result<(), String>,
    },
    /// The whole session list (replaces what the window shows).
    SessionsChanged(Vec<SessionView>),
    /// The limit guard refused a new session.
    LimitReached(LimitView),
    /// A run started (clears the grid of that session).
    RunStarted {
        conn: ConnId,
        line: String,
    },
    /// One page of rows of the running command, as the compact result store of that page (the
    /// output pane appends it to the result it holds).
    RunRows {
        conn: ConnId,
        rows: ResultStore,
    },
    /// A warning the service returned while running.
    RunWarning {
        conn: ConnId,
        text: String,
    },
    /// The service asks before acting (`@adminapi.confirmationmessage`); nothing was done.
    /// `question` is its own text; the window asks, and yes sends [`UiCommand::RunConfirmed`].
    RunConfirmation {
        conn: ConnId,
        line: String,
        question: String,
    },
    /// The service announced its request budget during a run (the session row's gauge).
    RateChanged {
        conn: ConnId,
        rate: RateView,
    },
    /// The session's live cmdlet catalogue (fetched once after its connect, or from the cache):
    /// the cmdlet line's completion uses it.
    CatalogueReady {
        conn: ConnId,
        catalogue: Arc<crate::model::catalogue::CmdletCatalogue>,
    },
    /// The live catalogue last known per service (the driver's: from any session, or the
    /// tenant's cache files), whenever it changed: the window flags a line of the wrong service
    /// with it before sending.
    CataloguesKnown(KnownCatalogues),
    RunDone {
        conn: ConnId,
        rows: u64,
        pages: u32,
        elapsed: Duration,
    },
    /// The run failed; `explanation` is the engine's plain explanation.
    RunFailed {
        conn: ConnId,
        explanation: String,
    },
    /// A message for the status bar (and the notices list).
    Notice {
        level: NoticeLevel,
        text: String,
    },
    /// One completed step of the connectivity check of a profile.
    DoctorStep {
        profile_id: Uuid,
        step: crate::model::diagnosis::DiagStep,
    },
    /// The connectivity check ended: `passed` = no step failed; `summary` in plain words (or why
    /// the check could not run).
    DoctorDone {
        profile_id: Uuid,
        passed: bool,
        summary: String,
    },
    /// The effective route of a profile's endpoints, in plain lines (editor's "Route").
    RouteResolved {
        profile_id: Uuid,
        lines: Vec<String>,
    },
    /// The proxy answered 407 for this profile: ask for the proxy credential (user in the
    /// profile, password via [`UiCommand::SaveProxyPassword`]). `proxy` is `host:port`;
    /// `explanation` the engine's plain words (`engine::proxy::ProxyAuthRequired`).
    ProxyCredentialNeeded {
        profile_id: Uuid,
        proxy: String,
        explanation: String,
    },
    /// Demo mode only: what the "Demo phone" panel shows (sent when it changes: at start and
    /// when the codes change, every 30 s; the window counts the seconds down itself).
    DemoPhone(Vec<DemoAccountView>),
    /// The text of "Copy diagnostics" (version, OS, the recent log lines; no secrets), for the
    /// clipboard.
    Diagnostics {
        text: String,
    },
    /// A fan-out run started (replaces the last one): its profiles, in the order of the
    /// events' `index`.
    FanoutStarted {
        run: u64,
        line: String,
        profiles: Vec<FanoutProfileView>,
    },
    /// Profile `index` of fan-out run `run` changed state.
    FanoutState {
        run: u64,
        index: usize,
        state: ProfileState,
    },
    /// The rows of a done profile, led by its `Profile` and `Tenant` columns (the merged grid
    /// appends them).
    FanoutRows {
        run: u64,
        index: usize,
        rows: ResultStore,
    },
    /// Profile `index` got its turn in the sign-in queue: the sign-in dialog that follows is
    /// its own, with "Skip this tenant".
    FanoutSignInTurn {
        run: u64,
        index: usize,
    },
    /// Every profile of the run is final (after the start or a retry).
    FanoutIdle {
        run: u64,
        summary: FanoutSummary,
    },
    /// The workspace file as read at start (empty when there was none or it was set aside).
    WorkspaceLoaded(Box<crate::model::workspace::Workspace>),
    /// A session open at the last close could not come back silently (`reason`: it needs an
    /// interactive sign-in, or why not): the window lists it with Reconnect.
    RestoreFailed {
        profile_id: Uuid,
        reason: String,
    },
    /// The rows of a CSV file for "Run for each row…" (Err: what to fix in it).
    BulkTable {
        conn: ConnId,
        source: String,
        table: Result<crate::model::bulk::BulkTable, String>,
    },
    /// `done` of `total` rows of bulk run `run` have their result; `rows`: the results of the
    /// chunk just done.
    BulkProgress {
        conn: ConnId,
        run: u64,
        done: usize,
        total: usize,
        rows: Vec<BulkRowView>,
    },
    /// Bulk run `run` ended: the results of rows not told in its progress (the lines that did
    /// not parse); Err: it stopped as a whole (e.g. the session is gone; the rows told before
    /// keep their results). `note`: the service refused `$batch`, or the run was cancelled.
    BulkDone {
        conn: ConnId,
        run: u64,
        results: Result<Vec<BulkRowView>, String>,
        note: Option<String>,
    },
}

/// One row's outcome of a bulk run (the text made printable by the driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRowView {
    /// The row's index in the bulk table (0-based).
    pub row: usize,
    pub ok: bool,
    pub status: Option<u16>,
    /// The error text (empty when ok).
    pub message: String,
}

/// One profile of a fan-out run.
#[derive(Debug, Clone, PartialEq)]
pub struct FanoutProfileView {
    pub profile_id: Uuid,
    pub name: String,
    /// The merged result's `Tenant` of this profile.
    pub tenant: String,
}

/// One demo account on the "Demo phone" panel (demo mode only; the sim's made-up accounts).
#[derive(Clone, PartialEq)]
pub struct DemoAccountView {
    pub upn: String,
    /// The sim account's password (a published demo password, shown on purpose).
    pub password: String,
    /// The current verification (TOTP) code of an MFA account; None without MFA.
    pub code: Option<String>,
    /// When the code changes.
    pub valid_until: DateTime<Utc>,
}

impl fmt::Debug for DemoAccountView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoAccountView")
            .field("upn", &self.upn)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// The live state of a device-code (verification) step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeState {
    /// Polling; the user has not finished yet.
    Waiting,
    /// The service asked to poll more slowly (`slow_down`).
    SlowedDown,
    /// The code expired: offer "Get a new code".
    Expired,
    /// The user declined the sign-in on the verification page.
    Declined,
}

/// Where the sign-in dialog is.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInStage {
    /// Talking to the service, nothing to ask yet.
    Starting,
    /// Password method: ask for the password. `error` is the explanation of a failed attempt.
    Password { error: Option<String> },
    /// Browser method: the system browser was (or should be) opened at `url`.
    Browser { url: String },
    /// The verification step: show the code.
    DeviceCode {
        user_code: String,
        verification_uri: String,
        expires_at: DateTime<Utc>,
        state: DeviceCodeState,
        /// Set when Entra demanded MFA during a password sign-in (why we are here).
        mfa_explanation: Option<String>,
        /// Set when the verification page is neither on the authority's host nor a Microsoft
        /// sign-in page: the address is shown with this warning and never offered to open.
        warning: Option<String>,
    },
    /// Signed in as another account than the profile's UPN.
    UpnMismatch { expected: String, actual: String },
    /// The sign-in failed; the dialog stays open with the explanation until Cancel/Retry.
    Failed { explanation: String },
}

/// The sign-in dialog's view model.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInView {
    pub profile_id: Uuid,
    pub profile_name: String,
    pub account: String,
    pub method: SignInMethod,
    pub stage: SignInStage,
    /// Why the dialog is back for a session that was signed in (the tenant revoked its access:
    /// continuous access evaluation), in plain words; None for an ordinary connect.
    pub reason: Option<String>,
}

/// One row of the session list.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub conn: ConnId,
    pub profile_id: Uuid,
    pub profile_name: String,
    /// Colour band `#rrggbb` of the profile.
    pub color: Option<String>,
    pub service: Service,
    /// The signed-in account (UPN or app id).
    pub account: String,
    /// Tenant display name or domain.
    pub tenant: String,
    /// Host of the REST endpoint, e.g. `outlook.office365.com`.
    pub endpoint_host: String,
    /// The registry's state, unchanged.
    pub state: SessionState,
    /// Why the session failed (or the last error it met).
    pub last_error: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Last request (or sign-in) time: the UI shows idle time from it.
    pub last_activity: DateTime<Utc>,
    pub requests: u64,
    /// The tenant's request budget as the service last announced it (`Rate-Limit-*`).
    pub rate: Option<RateView>,
}

/// A session's request budget (the session row's gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateView {
    /// `Rate-Limit-Limit`: requests the budget holds.
    pub limit: u32,
    /// `Rate-Limit-Remaining`: left when the answer came.
    pub remaining: u32,
    /// When the answer came.
    pub at: DateTime<Utc>,
    /// When the budget is full again (the answer's time + `Rate-Limit-Reset`).
    pub full_at: DateTime<Utc>,
    /// Requests wait for the budget until then (the pacer holds them back), when they do.
    pub paced_until: Option<DateTime<Utc>>,
}

/// The limit guard refused a new session of `service` in `tenant`.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitView {
    pub tenant: String,
    pub service: Service,
    pub limit: u32,
    /// The open sessions of that tenant and service (the UI lists stale ones first).
    pub sessions: Vec<SessionView>,
}

/// How the window talks to its driver. Never blocks.
pub trait Backend {
    fn send(&mut self, cmd: UiCommand);
    /// Everything that arrived since the last call, without waiting.
    fn poll(&mut self) -> Vec<UiEvent>;
    /// Register the context to wake (request_repaint) when events arrive from another thread.
    fn set_waker(&mut self, ctx: egui::Context);
}

/// Sends events to the UI and wakes it.
#[derive(Clone)]
pub struct EventSender {
    tx: Sender<UiEvent>,
    waker: Arc<OnceLock<egui::Context>>,
}

impl EventSender {
    /// Send an event; false when the window is gone.
    pub fn send(&self, ev: UiEvent) -> bool {
        let ok = self.tx.send(ev).is_ok();
        if let Some(ctx) = self.waker.get() {
            ctx.request_repaint();
        }
        ok
    }
}

/// The UI end of a channel pair.
pub struct ChannelBackend {
    commands: tokio::sync::mpsc::UnboundedSender<UiCommand>,
    events: Receiver<UiEvent>,
    waker: Arc<OnceLock<egui::Context>>,
}

/// The driver end of a channel pair: receive commands (on the driver's tokio runtime), send
/// events.
pub struct DriverEnd {
    pub commands: tokio::sync::mpsc::UnboundedReceiver<UiCommand>,
    pub events: EventSender,
}

/// A pair of channels: give the [`ChannelBackend`] to the app and the [`DriverEnd`] to the
/// thread (or async task) that drives it.
pub fn channel() -> (ChannelBackend, DriverEnd) {
    let (ctx_tx, ctx_rx) = tokio::sync::mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::channel();
    let waker = Arc::new(OnceLock::new());
    (
        ChannelBackend {
            commands: ctx_tx,
            events: ev_rx,
            waker: waker.clone(),
        },
        DriverEnd {
            commands: ctx_rx,
            events: EventSender { tx: ev_tx, waker },
        },
    )
}

impl Backend for ChannelBackend {
    fn send(&mut self, cmd: UiCommand) {
        let _ = self.commands.send(cmd);
    }
    fn poll(&mut self) -> Vec<UiEvent> {
        self.events.try_iter().collect()
    }
    fn set_waker(&mut self, ctx: egui::Context) {
        let _ = self.waker.set(ctx);
    }
}

type Responder = Box<dyn FnMut(&UiCommand) -> Vec<UiEvent> + Send>;

#[derive(Default)]
struct FakeInner {
    commands: Vec<UiCommand>,
    pending: VecDeque<UiEvent>,
    responder: Option<Responder>,
}

/// A scripted backend for tests: records every command, answers through an optional responder,
/// and delivers events pushed through its [`FakeHandle`].
pub struct FakeBackend {
    inner: Arc<Mutex<FakeInner>>,
}

/// The test's handle on a [`FakeBackend`] the app owns.
#[derive(Clone)]
pub struct FakeHandle {
    inner: Arc<Mutex<FakeInner>>,
}

impl FakeBackend {
    pub fn new() -> (FakeBackend, FakeHandle) {
        let inner = Arc::new(Mutex::new(FakeInner::default()));
        (
            FakeBackend {
                inner: inner.clone(),
            },
            FakeHandle { inner },
        )
    }
}

impl Backend for FakeBackend {
    fn send(&mut self, cmd: UiCommand) {
        let mut inner = self.inner.lock().unwrap();
        let answers = match inner.responder.as_mut() {
            Some(r) => r(&cmd),
            None => Vec::new(),
        };
        inner.pending.extend(answers);
        inner.commands.push(cmd);
    }
    fn poll(&mut self) -> Vec<UiEvent> {
        self.inner.lock().unwrap().pending.drain(..).collect()
    }
    fn set_waker(&mut self, _ctx: egui::Context) {}
}

impl FakeHandle {
    /// Queue an event for the next frame.
    pub fn push(&self, ev: UiEvent) {
        self.inner.lock().unwrap().pending.push_back(ev);
    }
    /// Every command sent so far.
    pub fn commands(&self) -> Vec<UiCommand> {
        self.inner.lock().unwrap().commands.clone()
    }
    /// Forget the recorded commands.
    pub fn clear(&self) {
        self.inner.lock().unwrap().commands.clear();
    }
    /// Answer each command with these events.
    pub fn respond(&self, f: impl FnMut(&UiCommand) -> Vec<UiEvent> + Send + 'static) {
        self.inner.lock().unwrap().responder = Some(Box::new(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let cmd = UiCommand::SubmitPassword {
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{cmd:?}").contains("hunter2"));
    }

    #[test]
    fn channel_delivers_both_ways() {
        let (mut ui, mut driver) = channel();
        ui.send(UiCommand::LoadProfiles);
        assert_eq!(driver.commands.try_recv().unwrap(), UiCommand::LoadProfiles);
        driver.events.send(UiEvent::ProfilesLoaded(vec![]));
        assert_eq!(ui.poll(), vec![UiEvent::ProfilesLoaded(vec![])]);
    }
}
