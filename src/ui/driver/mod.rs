//! The engine driver: the window's real backend. One background thread owns a tokio runtime;
//! on it a [`Driver`] owns the profile store and the engine's [`Connector`] (token cache, the
//! profiles' HTTP clients, the session registry). Its loop takes what comes next — a
//! [`UiCommand`] from the bridge, a registry event, the end of a connect, a change of the demo
//! phone's codes — and answers with [`UiEvent`]s (waking the window through the bridge's
//! waker). Nothing here runs on the UI thread: file I/O, keychain calls and network all happen
//! on the runtime.
//!
//! One file per job: `signin` (Connect through the engine's connector, the sign-in dialog as its
//! prompt), `sessions` (the registry's sessions as the window's rows, disconnects), `runs`
//! (cmdlets streamed into the output pane), `profiles` (the profile store — reloaded when another
//! exo-connect changed it, checked every [`STORE_CHECK`] — and the proxy password),
//! `fanout` (one line over many profiles, the sign-in dialog one profile at a time),
//! `checks` (Test connection, the proxy route, opening a page, the diagnostic log), `catalogue`
//! (the session's cmdlet catalogue for completion, fetched once after its connect), `pwsh`
//! ("Open in PowerShell": pwsh started already connected, the token in its environment),
//! `workspace` (the window's workspace file, and the silent restore of the sessions open at
//! the last close), `bulk`
//! ("Run for each row…": a CSV's rows read, a batch of lines through `$batch`). Demo mode
//! ([`DriverConfig::demo`]) also starts the sim on the same runtime (see `ui/demo.rs`).

mod bulk;
mod catalogue;
mod checks;
mod fanout;
pub mod heap;
mod profiles;
mod pwsh;
mod runs;
mod sessions;
mod signin;
mod waiting;
mod workspace;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::engine::auth::{BrowserLauncher, TokenCache};
use crate::engine::connect::Connector;
use crate::engine::http::{HttpOptions, build_client};
use crate::engine::proxy::Clients;
use crate::engine::secrets::SecretStore;
use crate::engine::sessions::{RegistrySettings, SessionEvent, SessionInfo, SessionRegistry};
use crate::model::store::ProfileStore;

pub use pwsh::{PwshLaunch, Terminal};

use super::bridge::{self, ChannelBackend, ConnId, EventSender, NoticeLevel, UiCommand, UiEvent};

/// Where secrets (refresh tokens, proxy passwords) go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// The OS keychain ([`SecretStore::platform`]; memory with a notice when there is none).
    Platform,
    /// Memory only (tests; nothing survives the process).
    Memory,
}

/// How the driver is set up.
pub struct DriverConfig {
    /// The profile store's folder.
    pub root: PathBuf,
    pub secrets: Secrets,
    /// Opens sign-in and verification pages (tests inject a fake).
    pub browser: Arc<dyn BrowserLauncher>,
    pub registry: RegistrySettings,
    /// Demo mode: start the sim in-process with this config and seed the demo profiles.
    pub demo: Option<crate::sim::SimConfig>,
    /// Upper bound of an interactive sign-in.
    pub signin_timeout: Duration,
    /// How "Open in PowerShell" finds and starts pwsh.
    pub pwsh: PwshLaunch,
}

impl DriverConfig {
    pub fn new(root: PathBuf) -> Self {
        DriverConfig {
            root,
            secrets: Secrets::Platform,
            browser: crate::engine::auth::launcher_from_env(),
            registry: RegistrySettings::default(),
            demo: None,
            signin_timeout: Duration::from_secs(15 * 60),
            pwsh: PwshLaunch::default(),
        }
    }
}

/// What the started driver tells its caller (demo: the sim's URLs, for scripts and tests).
pub struct Started {
    pub backend: ChannelBackend,
    /// Demo mode: the running sim (shared with the driver; stops when the driver stops).
    pub sim: Option<Arc<crate::sim::SimHandle>>,
    /// Answers (or hangs up) once the driver's loop ended: the window's last commands (its
    /// workspace) were carried out.
    pub finished: std::sync::mpsc::Receiver<()>,
}

/// Start the driver thread. Blocks only until the runtime (and, in demo mode, the sim) is up.
pub fn spawn(cfg: DriverConfig) -> Result<Started, String> {
    heap::limit_arenas();
    let (ui, driver) = bridge::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (finished_tx, finished) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("exo-connect-engine".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start the engine runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let sim = match &cfg.demo {
                    Some(sc) => match crate::sim::start(sc.clone()).await {
                        Ok(h) => Some(Arc::new(h)),
                        Err(e) => {
                            let _ =
                                ready_tx.send(Err(format!("cannot start the demo tenant: {e}")));
                            return;
                        }
                    },
                    None => None,
                };
                let _ = ready_tx.send(Ok(sim.clone()));
                let driver_loop = Driver::start(cfg, driver.events, sim).await;
                driver_loop.run(driver.commands).await;
            });
            let _ = finished_tx.send(());
        })
        .map_err(|e| format!("cannot start the engine thread: {e}"))?;
    let sim = ready_rx
        .recv()
        .map_err(|_| "the engine thread stopped".to_string())??;
    Ok(Started {
        backend: ui,
        sim,
        finished,
    })
}

/// When the demo phone's codes change next (a little after, so the new code is the sim's).
fn next_demo_tick() -> tokio::time::Instant {
    let now = chrono::Utc::now();
    let wait = (super::demo::next_code_change(now) - now)
        .to_std()
        .unwrap_or_default();
    tokio::time::Instant::now() + wait + Duration::from_millis(20)
}

/// What the driver's own tasks report back to its loop.
enum Internal {
    /// The sign-in of connect `generation` finished: the dialog closes, the session opens next.
    SignedIn {
        generation: u64,
        profile_id: uuid::Uuid,
    },
    /// A run met a claims challenge only an interactive sign-in can answer.
    ClaimsChallenge {
        profile_id: uuid::Uuid,
        claims: String,
        rerun: Rerun,
    },
    /// The sign-in that answered a claims challenge ended: Ok re-runs the line once.
    Recovered {
        generation: u64,
        profile_id: uuid::Uuid,
        rerun: Rerun,
        result: Box<Result<(), crate::engine::connect::ConnectError>>,
    },
    /// Connect `generation` ended.
    Connected(ConnectDone),
    /// A profile of the fan-out run got its sign-in turn: its dialog is the one to answer.
    FanoutTurn(signin::SignInJob),
    /// A fan-out learnt a profile's tenant name: kept in the profile.
    TenantNamed {
        profile_id: uuid::Uuid,
        tenant: crate::model::KnownTenant,
    },
    /// A Connect that came while a dialog was open ended without one (`waiting`).
    ConnectedQuietly(ConnectDone),
    /// That Connect needs an interactive sign-in: it waits for the dialog.
    WaitForDialog(uuid::Uuid),
    /// The silent reconnect of a session open at the last close ended.
    Restored {
        profile_id: uuid::Uuid,
        result:
            Box<Result<crate::engine::connect::Connected, crate::engine::connect::ConnectError>>,
    },
}

/// How connect `generation` of a profile ended.
struct ConnectDone {
    generation: u64,
    profile_id: uuid::Uuid,
    profile_name: String,
    result: Box<Result<crate::engine::connect::Connected, crate::engine::connect::ConnectError>>,
}

/// The run a claims challenge interrupted: the same line, once more in the same session, after
/// the sign-in that answers the challenge. `line` None: a bulk run, whose rows not sent the
/// window's "Retry failed and unsent" sends (no batch of changes is re-sent by itself).
#[derive(Debug, Clone)]
struct Rerun {
    conn: ConnId,
    line: Option<String>,
    confirmed: bool,
}

/// The window's backend on the runtime: state, and one method per command (in the job files).
struct Driver {
    ev: EventSender,
    store: ProfileStore,
    connector: Connector,
    browser: Arc<dyn BrowserLauncher>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    /// The connect whose sign-in dialog is open (or about to be).
    signin: Option<signin::SignInJob>,
    /// Profiles whose Connect waits for the dialog (`waiting`), in order.
    waiting: VecDeque<uuid::Uuid>,
    generation: u64,
    /// The registry's sessions as last reported.
    sessions: Vec<SessionInfo>,
    /// The run of each session, to cancel it.
    runs: HashMap<ConnId, tokio::task::AbortHandle>,
    /// The bulk run ("Run for each row…") of each session.
    bulk_runs: HashMap<ConnId, bulk::BulkTask>,
    sim: Option<Arc<crate::sim::SimHandle>>,
    /// The last error reloading the store (said once, not every check).
    reload_error: Option<String>,
    /// The fan-out run the window shows, and how many were started.
    fanout: Option<fanout::FanoutJob>,
    fanout_runs: u64,
    /// How "Open in PowerShell" starts pwsh.
    pwsh: PwshLaunch,
    /// The last error saving the workspace (said once).
    workspace_error: Option<String>,
    /// The live cmdlet catalogue known per service (the wrong-service hint).
    catalogues: catalogue::Known,
}

/// How often the driver looks whether another exo-connect changed the profile store.
const STORE_CHECK: Duration = Duration::from_secs(2);

fn notice(level: NoticeLevel, text: impl Into<String>) -> UiEvent {
    UiEvent::Notice {
        level,
        text: text.into(),
    }
}

/// What the loop handles next.
enum Next {
    Command(Option<UiCommand>),
    Registry(Result<SessionEvent, broadcast::error::RecvError>),
    Internal(Internal),
    DemoTick,
    StoreCheck,
}

impl Driver {
    async fn start(
        cfg: DriverConfig,
        ev: EventSender,
        sim: Option<Arc<crate::sim::SimHandle>>,
    ) -> Driver {
        // The recent lines (memory only until the log is switched on) for "Copy diagnostics".
        crate::engine::diag::global();
        let store = profiles::open_store(&cfg.root, &ev, sim.as_deref());
        let secrets = match cfg.secrets {
            Secrets::Platform => SecretStore::platform().await,
            Secrets::Memory => SecretStore::memory(),
        };
        if let Some(n) = secrets.take_notice() {
            ev.send(notice(NoticeLevel::Warning, n));
        }
        let client = build_client(&HttpOptions::default()).unwrap_or_else(|e| {
            ev.send(notice(
                NoticeLevel::Error,
                format!("cannot build the HTTP client: {e}"),
            ));
            reqwest::Client::new()
        });
        let connector = Connector::new(
            TokenCache::new(client.clone(), secrets.clone()),
            Clients::new(client, secrets.clone()),
            SessionRegistry::start(cfg.registry),
        )
        .with_browser(cfg.browser.clone())
        .with_signin_timeout(cfg.signin_timeout);
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        Driver {
            ev,
            store,
            connector,
            browser: cfg.browser,
            internal_tx,
            internal_rx,
            signin: None,
            waiting: VecDeque::new(),
            generation: 0,
            sessions: Vec::new(),
            runs: HashMap::new(),
            bulk_runs: HashMap::new(),
            sim,
            reload_error: None,
            fanout: None,
            fanout_runs: 0,
            pwsh: cfg.pwsh,
            workspace_error: None,
            catalogues: Default::default(),
        }
    }

    /// Until the window is gone: the next command, registry event, connect result or tick.
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<UiCommand>) {
        let mut registry = self.connector.registry().subscribe();
        // Demo mode: the phone's codes are sent now and whenever they change (every 30 s), not
        // on a 1 s tick: an event wakes the window, and the window counts the seconds itself.
        let mut store_check = tokio::time::interval(STORE_CHECK);
        store_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let demo = self.sim.is_some();
        let demo_tick = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(demo_tick);
        loop {
            let next = tokio::select! {
                c = commands.recv() => Next::Command(c),
                e = registry.recv() => Next::Registry(e),
                Some(i) = self.internal_rx.recv() => Next::Internal(i),
                _ = &mut demo_tick, if demo => {
                    demo_tick.as_mut().reset(next_demo_tick());
                    Next::DemoTick
                }
                _ = store_check.tick() => Next::StoreCheck,
            };
            match next {
                Next::Command(Some(c)) => self.command(c).await,
                Next::Command(None) => break,
                Next::Registry(Ok(e)) => self.registry_event(e),
                Next::Registry(Err(broadcast::error::RecvError::Lagged(_))) => {
                    self.resync_sessions().await
                }
                Next::Registry(Err(broadcast::error::RecvError::Closed)) => break,
                Next::Internal(i) => self.internal(i),
                Next::DemoTick => self.demo_phone(),
                Next::StoreCheck => self.reload_if_changed(),
            }
            self.next_waiting_sign_in();
        }
        self.cancel_sign_in();
        let _ = self.connector.registry().disconnect_all(false).await;
    }

    fn send(&self, e: UiEvent) {
        self.ev.send(e);
    }

    /// The keychain (proxy passwords) the connector's clients read.
    fn secrets(&self) -> &SecretStore {
        self.connector.clients().secrets()
    }

    /// One line per command: which job answers it.
    async fn command(&mut self, cmd: UiCommand) {
        match cmd {
            UiCommand::LoadProfiles => self.load_profiles(),
            UiCommand::SaveProfile(p) => self.save_profile(*p),
            UiCommand::DeleteProfile { id } => self.delete_profile(id),
            UiCommand::ImportProfiles { path } => self.import_profiles(&path),
            UiCommand::ExportProfiles { path, ids } => self.export_profiles(&path, &ids),
            UiCommand::SaveProxyPassword {
                profile_id,
                password,
            } => self.save_proxy_password(profile_id, password),
            UiCommand::Connect { profile_id } => self.connect(profile_id),
            UiCommand::SubmitPassword { password } => {
                self.answer(signin::Answer::Password(password))
            }
            UiCommand::NewDeviceCode => self.answer(signin::Answer::NewDeviceCode),
            UiCommand::ContinueDespiteMismatch => self.answer(signin::Answer::Continue),
            UiCommand::RetrySignIn => self.answer(signin::Answer::Retry),
            UiCommand::CancelSignIn => self.cancel_sign_in(),
            UiCommand::Disconnect { conn } => self.disconnect(conn).await,
            UiCommand::DisconnectStale => self.disconnect_stale().await,
            UiCommand::DisconnectAll => self.disconnect_all().await,
            UiCommand::RefreshSession { conn } => self.refresh_session(conn),
            UiCommand::Run { conn, line } => self.run_line(conn, line, false),
            UiCommand::RunConfirmed { conn, line } => self.run_line(conn, line, true),
            UiCommand::CancelRun { conn } => self.cancel_run(conn),
            UiCommand::TestConnection { profile } => self.test_connection(*profile),
            UiCommand::ResolveRoute { profile } => self.resolve_route(*profile),
            UiCommand::OpenUrl { url } => self.open_url(url),
            UiCommand::SetDiagnostics { enabled, debug } => self.set_diagnostics(enabled, debug),
            UiCommand::CopyDiagnostics => self.copy_diagnostics(),
            UiCommand::RunFanout {
                profile_ids,
                line,
                concurrency,
            } => self.run_fanout(profile_ids, line, concurrency),
            UiCommand::CancelFanout => self.cancel_fanout(),
            UiCommand::RetryFanout { index } => self.retry_fanout(index),
            UiCommand::SetStaleAfter { minutes } => self.set_stale_after(minutes).await,
            UiCommand::OpenPowerShell { conn } => self.open_powershell(conn),
            UiCommand::LoadWorkspace => self.load_workspace(),
            UiCommand::SaveWorkspace(ws) => self.save_workspace(&ws),
            UiCommand::Restore { profile_ids } => self.restore(profile_ids),
            UiCommand::LoadBulkCsv { conn, path } => self.load_bulk_csv(conn, path),
            UiCommand::RunBulk { conn, run, rows } => self.run_bulk(conn, run, rows),
            UiCommand::CancelBulk { conn, run } => self.cancel_bulk(conn, run),
        }
    }

    fn internal(&mut self, i: Internal) {
        match i {
            Internal::SignedIn {
                generation,
                profile_id,
            } => self.signed_in(generation, profile_id),
            Internal::Connected(d) => {
                self.connected(d.generation, (d.profile_id, &d.profile_name), *d.result)
            }
            Internal::ClaimsChallenge {
                profile_id,
                claims,
                rerun,
            } => self.claims_challenge(profile_id, claims, rerun),
            Internal::Recovered {
                generation,
                profile_id,
                rerun,
                result,
            } => self.recovered(generation, profile_id, rerun, *result),
            Internal::FanoutTurn(job) => self.fanout_turn(job),
            Internal::TenantNamed { profile_id, tenant } => {
                self.remember_tenant(profile_id, tenant)
            }
            Internal::ConnectedQuietly(d) => {
                if d.result.is_ok() {
                    self.remember_connected(d.profile_id);
                }
                self.connected(d.generation, (d.profile_id, &d.profile_name), *d.result)
            }
            Internal::WaitForDialog(profile_id) => self.wait_for_dialog(profile_id),
            Internal::Restored { profile_id, result } => self.restored(profile_id, *result),
        }
    }

    /// Demo mode: what the "Demo phone" shows now.
    fn demo_phone(&self) {
        if let Some(h) = &self.sim {
            self.send(UiEvent::DemoPhone(super::demo::phone(h)));
        }
    }
}
