//! The engine driver: the window's real backend. A background thread owns a tokio runtime, the
//! profile store, the token cache (keychain or memory) and the session registry; it receives
//! [`UiCommand`]s and answers with [`UiEvent`]s (waking the window through the bridge's waker).
//! Nothing here runs on the UI thread: file I/O, keychain calls and network all happen on the
//! runtime.
//!
//! Translation: sign-in events → [`SignInView`] stages, session registry events → the full
//! session list, run events → rows/warnings/done/failed, the limit guard → [`LimitView`].
//! Demo mode ([`DriverConfig::demo`]) also starts the sim on the same runtime (see `demo.rs`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::engine::auth::{
    BrowserLauncher, CancellationToken, SignInError, SignInEvent, SignInOptions, SignedIn,
    TokenCache,
};
use crate::engine::http::{HttpOptions, build_client};
use crate::engine::proxy::Clients;
use crate::engine::rest::{CmdletRequest, RestErrorKind, RunEvent};
use crate::engine::secrets::{SecretStore, proxy_password_key};
use crate::engine::sessions::{
    self as reg, ConnectRequest, LimitReached, RegistrySettings, SessionEvent, SessionInfo,
    SessionRegistry,
};
use crate::engine::token::TokenProvider;
use crate::model::cmdline::parse_cmdlet_line;
use crate::model::store::ProfileStore;
use crate::model::{AuthMethod, Profile};

use super::bridge::{
    self, ChannelBackend, ConnId, DeviceCodeState, EventSender, LimitView, NoticeLevel, Row,
    SessionState, SessionView, SignInMethod, SignInStage, SignInView, UiCommand, UiEvent,
};

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
        }
    }
}

/// What the started driver tells its caller (demo: the sim's URLs, for scripts and tests).
pub struct Started {
    pub backend: ChannelBackend,
    /// Demo mode: the running sim (shared with the driver; stops when the driver stops).
    pub sim: Option<Arc<crate::sim::SimHandle>>,
}

/// Start the driver thread. Blocks only until the runtime (and, in demo mode, the sim) is up.
pub fn spawn(cfg: DriverConfig) -> Result<Started, String> {
    let (ui, driver) = bridge::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
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
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            // Commands arrive on a std channel: forward them into the runtime.
            let commands = driver.commands;
            std::thread::Builder::new()
                .name("exo-connect-commands".into())
                .spawn(move || {
                    for c in commands.iter() {
                        if cmd_tx.send(c).is_err() {
                            break;
                        }
                    }
                })
                .ok();
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
                Driver::start(cfg, driver.events, sim)
                    .await
                    .run(cmd_rx)
                    .await;
            });
        })
        .map_err(|e| format!("cannot start the engine thread: {e}"))?;
    let sim = ready_rx
        .recv()
        .map_err(|_| "the engine thread stopped".to_string())??;
    Ok(Started { backend: ui, sim })
}

enum Internal {
    SignIn(u64, SignInEvent),
    SignInDone(u64, Box<Result<SignedIn, SignInError>>),
    /// A silent sign-in attempt: Ok = connected without a dialog.
    Silent(u64, Box<Result<SignedIn, SignInError>>),
    Registry(SessionEvent),
    DemoTick,
}

struct SignInJob {
    generation: u64,
    profile: Profile,
    view: SignInView,
    cancel: CancellationToken,
    mfa_explanation: Option<String>,
    /// Signed in as another account: waiting for Continue/Retry.
    mismatch: Option<SignedIn>,
}

struct Driver {
    ev: EventSender,
    store: ProfileStore,
    cache: Arc<TokenCache>,
    clients: Clients,
    registry: SessionRegistry,
    browser: Arc<dyn BrowserLauncher>,
    signin_timeout: Duration,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    generation: u64,
    signin: Option<SignInJob>,
    sessions: Vec<SessionInfo>,
    ids: HashMap<Uuid, ConnId>,
    next_conn: u64,
    runs: HashMap<ConnId, tokio::task::AbortHandle>,
    sim: Option<Arc<crate::sim::SimHandle>>,
}

fn notice(level: NoticeLevel, text: impl Into<String>) -> UiEvent {
    UiEvent::Notice {
        level,
        text: text.into(),
    }
}

/// A 407 from the profile's proxy: the window asks for the proxy credential.
fn proxy_credential_needed(
    profile_id: Uuid,
    p: &crate::engine::proxy::ProxyAuthRequired,
) -> UiEvent {
    UiEvent::ProxyCredentialNeeded {
        profile_id,
        proxy: p.proxy.clone(),
        explanation: p.to_string(),
    }
}

fn open_store(root: &std::path::Path, ev: &EventSender) -> Option<ProfileStore> {
    match ProfileStore::open(root) {
        Ok((s, n)) => {
            if let Some(n) = n {
                ev.send(notice(NoticeLevel::Warning, n.message));
            }
            Some(s)
        }
        Err(e) => {
            ev.send(notice(
                NoticeLevel::Error,
                format!("{e} — changes will not be saved"),
            ));
            let scratch =
                std::env::temp_dir().join(format!("exo-connect-scratch-{}", std::process::id()));
            ProfileStore::open(scratch).ok().map(|(s, _)| s)
        }
    }
}

impl Driver {
    async fn start(
        cfg: DriverConfig,
        ev: EventSender,
        sim: Option<Arc<crate::sim::SimHandle>>,
    ) -> Driver {
        let mut store = match open_store(&cfg.root, &ev) {
            Some(s) => s,
            None => ProfileStore::open(std::env::temp_dir().join("exo-connect-fallback"))
                .map(|(s, _)| s)
                .expect("a scratch profile store"),
        };
        if let Some(h) = &sim {
            match super::demo::seed_profiles(&mut store, h.urls()) {
                Ok(n) => {
                    ev.send(notice(
                        NoticeLevel::Info,
                        format!("Demo mode: {n} demo profiles point at the simulated tenant"),
                    ));
                }
                Err(e) => {
                    ev.send(notice(
                        NoticeLevel::Error,
                        format!("Demo profiles not saved: {e}"),
                    ));
                }
            }
        }
        let secrets = match cfg.secrets {
            Secrets::Platform => SecretStore::platform().await,
            Secrets::Memory => SecretStore::memory(),
        };
        if let Some(n) = secrets.take_notice() {
            ev.send(notice(NoticeLevel::Warning, n));
        }
        let client = match build_client(&HttpOptions::default()) {
            Ok(c) => c,
            Err(e) => {
                ev.send(notice(
                    NoticeLevel::Error,
                    format!("cannot build the HTTP client: {e}"),
                ));
                reqwest::Client::new()
            }
        };
        let clients = Clients::new(client.clone(), secrets.clone());
        let cache = TokenCache::new(client, secrets);
        let registry = SessionRegistry::start(cfg.registry);
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let mut sub = registry.subscribe();
        let itx = internal_tx.clone();
        tokio::spawn(async move {
            loop {
                match sub.recv().await {
                    Ok(e) => {
                        if itx.send(Internal::Registry(e)).is_err() {
                            break;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        });
        if sim.is_some() {
            let itx = internal_tx.clone();
            tokio::spawn(async move {
                let mut t = tokio::time::interval(Duration::from_secs(1));
                loop {
                    t.tick().await;
                    if itx.send(Internal::DemoTick).is_err() {
                        break;
                    }
                }
            });
        }
        Driver {
            ev,
            store,
            cache,
            clients,
            registry,
            browser: cfg.browser,
            signin_timeout: cfg.signin_timeout,
            internal_tx,
            internal_rx,
            generation: 0,
            signin: None,
            sessions: Vec::new(),
            ids: HashMap::new(),
            next_conn: 1,
            runs: HashMap::new(),
            sim,
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<UiCommand>) {
        enum Next {
            Cmd(Option<UiCommand>),
            Internal(Internal),
        }
        loop {
            let next = tokio::select! {
                c = commands.recv() => Next::Cmd(c),
                Some(i) = self.internal_rx.recv() => Next::Internal(i),
            };
            match next {
                Next::Cmd(Some(c)) => self.command(c).await,
                Next::Cmd(None) => break,
                Next::Internal(i) => self.internal(i),
            }
        }
        if let Some(job) = self.signin.take() {
            job.cancel.cancel();
        }
        let _ = self.registry.disconnect_all(false).await;
    }

    fn send(&self, e: UiEvent) {
        self.ev.send(e);
    }

    async fn command(&mut self, cmd: UiCommand) {
        match cmd {
            UiCommand::LoadProfiles => {
                self.send(UiEvent::ProfilesLoaded(self.store.profiles().to_vec()));
            }
            UiCommand::SaveProfile(p) => self.save_profile(*p),
            UiCommand::DeleteProfile { id } => {
                let Some(name) = self.store.get(id).map(|p| p.name.clone()) else {
                    self.send(UiEvent::ProfileDeleted { id });
                    return;
                };
                match self.store.remove(&name).and_then(|_| self.store.save()) {
                    Ok(()) => {
                        self.send(UiEvent::ProfileDeleted { id });
                        self.send(notice(NoticeLevel::Info, format!("Deleted profile {name}")));
                    }
                    Err(e) => self.send(notice(NoticeLevel::Error, format!("Not deleted: {e}"))),
                }
            }
            UiCommand::ImportProfiles { path } => match self.store.import_file(&path) {
                Ok(report) => {
                    self.send(UiEvent::ProfilesLoaded(self.store.profiles().to_vec()));
                    let mut text = format!("Imported {} profiles", report.imported.len());
                    let level = if report.rejected.is_empty() {
                        NoticeLevel::Info
                    } else {
                        let why: Vec<String> =
                            report.rejected.iter().map(|r| r.to_string()).collect();
                        text.push_str(&format!("; {} rejected: {}", why.len(), why.join("; ")));
                        NoticeLevel::Warning
                    };
                    self.send(notice(level, text));
                }
                Err(e) => self.send(notice(NoticeLevel::Error, format!("Import failed: {e}"))),
            },
            UiCommand::ExportProfiles { path, ids } => {
                let names: Vec<String> = self
                    .store
                    .profiles()
                    .iter()
                    .filter(|p| ids.is_empty() || ids.contains(&p.id))
                    .map(|p| p.name.clone())
                    .collect();
                match self.store.export_file(&path, &names) {
                    Ok(n) => self.send(notice(
                        NoticeLevel::Info,
                        format!("Exported {n} profiles to {}", path.display()),
                    )),
                    Err(e) => self.send(notice(NoticeLevel::Error, format!("Export failed: {e}"))),
                }
            }
            UiCommand::SaveProxyPassword {
                profile_id,
                password,
            } => {
                let cache = self.cache.clone();
                let ev = self.ev.clone();
                tokio::spawn(async move {
                    cache
                        .secrets()
                        .set(&proxy_password_key(&profile_id), password.expose())
                        .await;
                    ev.send(notice(
                        NoticeLevel::Info,
                        "Proxy password saved to the keychain",
                    ));
                });
            }
            UiCommand::Connect { profile_id } => self.connect(profile_id),
            UiCommand::ResolveRoute { profile } => {
                // May block (gsettings, a PAC fetch): off the runtime's workers.
                let ev = self.ev.clone();
                tokio::task::spawn_blocking(move || {
                    let lines = crate::engine::proxy::route_report(&profile);
                    ev.send(UiEvent::RouteResolved {
                        profile_id: profile.id,
                        lines,
                    });
                });
            }
            UiCommand::TestConnection { profile } => {
                let cache = self.cache.clone();
                let ev = self.ev.clone();
                tokio::spawn(async move {
                    let credential =
                        crate::engine::doctor::proxy_credential(cache.secrets(), &profile).await;
                    super::doctor::test_connection(*profile, ev, credential).await;
                });
            }
            UiCommand::SubmitPassword { password } => {
                let Some(job) = &self.signin else { return };
                if job.view.method != SignInMethod::Password {
                    return;
                }
                let profile = job.profile.clone();
                self.start_interactive(profile, Some(password.expose().to_string()), None);
            }
            UiCommand::CancelSignIn => {
                if let Some(job) = self.signin.take() {
                    job.cancel.cancel();
                }
            }
            UiCommand::NewDeviceCode => {
                if let Some(job) = &self.signin {
                    let profile = job.profile.clone();
                    let mfa = job.mfa_explanation.clone();
                    self.start_interactive(profile, None, Some(SignInMethod::DeviceCode));
                    if let Some(j) = &mut self.signin {
                        j.mfa_explanation = mfa;
                    }
                }
            }
            UiCommand::ContinueDespiteMismatch => {
                let Some(mut job) = self.signin.take() else {
                    return;
                };
                if let Some(signed) = job.mismatch.take() {
                    self.finish_signin(&job.profile, &signed);
                }
            }
            UiCommand::RetrySignIn => {
                if let Some(job) = &self.signin {
                    let profile = job.profile.clone();
                    if let Some(signed) = &job.mismatch {
                        // Forget the wrong account's sign-in so the retry asks again.
                        let mut other = profile.clone();
                        other.upn = signed.account.clone();
                        let _ = self.cache.forget(&other).await;
                    }
                    job.cancel.cancel();
                    if matches!(profile.auth, AuthMethod::Password) {
                        self.open_dialog(profile, SignInStage::Password { error: None });
                    } else {
                        self.start_interactive(profile, None, None);
                    }
                }
            }
            UiCommand::Disconnect { conn } => {
                if let Some(id) = self.uuid_of(conn)
                    && let Err(e) = self.registry.disconnect(id, false).await
                {
                    self.send(notice(NoticeLevel::Error, e.to_string()));
                }
            }
            UiCommand::DisconnectStale => match self.registry.disconnect_stale().await {
                Ok(v) => self.send(notice(
                    NoticeLevel::Info,
                    format!("Disconnected {} stale sessions", v.len()),
                )),
                Err(e) => self.send(notice(NoticeLevel::Error, e.to_string())),
            },
            UiCommand::DisconnectAll => match self.registry.disconnect_all(false).await {
                Ok(v) => self.send(notice(
                    NoticeLevel::Info,
                    format!("Disconnected {} sessions", v.len()),
                )),
                Err(e) => self.send(notice(NoticeLevel::Error, e.to_string())),
            },
            UiCommand::RefreshSession { conn } => {
                // Prove the session again: the REST client refreshes its token when needed and
                // an idle (Stale) session becomes Connected.
                let Some(id) = self.uuid_of(conn) else { return };
                let registry = self.registry.clone();
                let ev = self.ev.clone();
                let service = self
                    .sessions
                    .iter()
                    .find(|s| s.connection_id == id)
                    .map(|s| s.service);
                tokio::spawn(async move {
                    let Some(service) = service else { return };
                    let r = match registry.run(id, reg::probe_request(service)).await {
                        Ok(h) => h.collect().await.map(|_| ()).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(e) = r {
                        ev.send(notice(NoticeLevel::Error, format!("Refresh failed: {e}")));
                    }
                });
            }
            UiCommand::Run { conn, line } => self.run_line(conn, line).await,
            UiCommand::CancelRun { conn } => {
                if let Some(h) = self.runs.remove(&conn) {
                    h.abort();
                    self.send(UiEvent::RunFailed {
                        conn,
                        explanation: "The run was cancelled.".into(),
                    });
                }
            }
            UiCommand::OpenUrl { url } => {
                let browser = self.browser.clone();
                let ev = self.ev.clone();
                tokio::spawn(async move {
                    if let Err(e) = browser.open(&url).await {
                        ev.send(notice(
                            NoticeLevel::Warning,
                            format!("No browser could be opened ({e}); copy the address: {url}"),
                        ));
                    }
                });
            }
        }
    }

    fn save_profile(&mut self, p: Profile) {
        let id = p.id;
        let before = self.store.get(id).cloned();
        let res = self.store.upsert(p).and_then(|w| {
            self.store.save()?;
            Ok(w)
        });
        match res {
            Ok(_) => {
                if let Some(saved) = self.store.get(id) {
                    self.send(UiEvent::ProfileSaved(Box::new(saved.clone())));
                }
            }
            Err(e) => {
                if let Ok((s, _)) = ProfileStore::open(self.store.root().to_path_buf()) {
                    self.store = s;
                } else if let Some(b) = before {
                    let _ = self.store.upsert(b);
                }
                self.send(notice(NoticeLevel::Error, format!("Not saved: {e}")));
            }
        }
    }

    fn uuid_of(&self, conn: ConnId) -> Option<Uuid> {
        self.ids.iter().find(|(_, c)| **c == conn).map(|(u, _)| *u)
    }

    fn conn_of(&mut self, id: Uuid) -> ConnId {
        if let Some(c) = self.ids.get(&id) {
            return *c;
        }
        let c = ConnId(self.next_conn);
        self.next_conn += 1;
        self.ids.insert(id, c);
        c
    }

    fn open_dialog(&mut self, profile: Profile, stage: SignInStage) {
        if let Some(old) = self.signin.take() {
            old.cancel.cancel();
        }
        self.generation += 1;
        let view = SignInView {
            profile_id: profile.id,
            profile_name: profile.name.clone(),
            account: profile.upn.clone(),
            method: profile.auth.method(),
            stage,
        };
        self.send(UiEvent::SignIn(view.clone()));
        self.signin = Some(SignInJob {
            generation: self.generation,
            profile,
            view,
            cancel: CancellationToken::new(),
            mfa_explanation: None,
            mismatch: None,
        });
    }

    fn connect(&mut self, profile_id: Uuid) {
        let Some(profile) = self.store.get(profile_id).cloned() else {
            self.send(notice(
                NoticeLevel::Error,
                "That profile is not saved; save it first",
            ));
            return;
        };
        if let Some(old) = self.signin.take() {
            old.cancel.cancel();
        }
        // A cached sign-in connects without a dialog.
        self.generation += 1;
        let generation = self.generation;
        let cache = self.cache.clone();
        let clients = self.clients.clone();
        let itx = self.internal_tx.clone();
        let p = profile.clone();
        self.signin = Some(SignInJob {
            generation,
            view: SignInView {
                profile_id: profile.id,
                profile_name: profile.name.clone(),
                account: profile.upn.clone(),
                method: profile.auth.method(),
                stage: SignInStage::Starting,
            },
            profile,
            cancel: CancellationToken::new(),
            mfa_explanation: None,
            mismatch: None,
        });
        tokio::spawn(async move {
            let r = match clients.for_profile(&p).await {
                Ok(http) => cache.sign_in_silent(&p, Some(&http)).await,
                Err(e) => Err(SignInError::Config(e.0)),
            };
            let _ = itx.send(Internal::Silent(generation, Box::new(r)));
        });
    }

    fn start_interactive(
        &mut self,
        profile: Profile,
        password: Option<String>,
        method: Option<SignInMethod>,
    ) {
        let stage = SignInStage::Starting;
        self.open_dialog(profile.clone(), stage);
        let Some(job) = &mut self.signin else { return };
        if method == Some(SignInMethod::DeviceCode) {
            job.view.method = SignInMethod::DeviceCode;
        }
        let generation = job.generation;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut opts = SignInOptions {
            method,
            password,
            browser: self.browser.clone(),
            events: Some(tx),
            cancel: job.cancel.clone(),
            timeout: self.signin_timeout,
            http: None,
        };
        let itx = self.internal_tx.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if itx.send(Internal::SignIn(generation, e)).is_err() {
                    break;
                }
            }
        });
        let cache = self.cache.clone();
        let clients = self.clients.clone();
        let itx = self.internal_tx.clone();
        tokio::spawn(async move {
            let r = match clients.for_profile(&profile).await {
                Ok(http) => {
                    opts.http = Some(http);
                    cache.sign_in(&profile, opts).await
                }
                Err(e) => Err(SignInError::Config(e.0)),
            };
            let _ = itx.send(Internal::SignInDone(generation, Box::new(r)));
        });
    }

    fn set_stage(&mut self, stage: SignInStage) {
        if let Some(job) = &mut self.signin {
            job.view.stage = stage;
            let v = job.view.clone();
            self.send(UiEvent::SignIn(v));
        }
    }

    fn device_state(&mut self, state: DeviceCodeState) {
        if let Some(job) = &self.signin
            && let SignInStage::DeviceCode {
                user_code,
                verification_uri,
                expires_at,
                mfa_explanation,
                ..
            } = &job.view.stage
        {
            let stage = SignInStage::DeviceCode {
                user_code: user_code.clone(),
                verification_uri: verification_uri.clone(),
                expires_at: *expires_at,
                state,
                mfa_explanation: mfa_explanation.clone(),
            };
            self.set_stage(stage);
        }
    }

    fn current(&self, generation: u64) -> bool {
        self.signin
            .as_ref()
            .is_some_and(|j| j.generation == generation)
    }

    fn internal(&mut self, i: Internal) {
        match i {
            Internal::Silent(generation, r) => {
                if !self.current(generation) {
                    return;
                }
                let Some(job) = &self.signin else { return };
                let profile = job.profile.clone();
                match *r {
                    Ok(signed) => {
                        self.signin = None;
                        self.finish_signin(&profile, &signed);
                    }
                    Err(_) => {
                        if matches!(profile.auth, AuthMethod::Password) {
                            self.open_dialog(profile, SignInStage::Password { error: None });
                        } else {
                            self.start_interactive(profile, None, None);
                        }
                    }
                }
            }
            Internal::SignIn(generation, e) => {
                if !self.current(generation) {
                    return;
                }
                self.signin_event(e);
            }
            Internal::SignInDone(generation, r) => {
                if !self.current(generation) {
                    return;
                }
                self.signin_done(*r);
            }
            Internal::Registry(e) => self.registry_event(e),
            Internal::DemoTick => {
                if let Some(h) = &self.sim {
                    self.send(UiEvent::DemoPhone(super::demo::phone(h)));
                }
            }
        }
    }

    fn signin_event(&mut self, e: SignInEvent) {
        match e {
            SignInEvent::CodeIssued {
                user_code,
                verification_uri,
                expires_at,
                ..
            } => {
                if let Some(job) = &mut self.signin {
                    job.view.method = SignInMethod::DeviceCode;
                }
                let mfa = self.signin.as_ref().and_then(|j| j.mfa_explanation.clone());
                if let Some(h) = &self.sim {
                    // Demo mode only (the made-up accounts of the in-process sim): the scripted
                    // system test reads the code here, and the demo phone's code, which the
                    // window shows anyway. Never a token or a real account.
                    let upn = self
                        .signin
                        .as_ref()
                        .map(|j| j.profile.upn.clone())
                        .unwrap_or_default();
                    let phone = super::demo::phone(h)
                        .into_iter()
                        .find(|a| a.upn.eq_ignore_ascii_case(&upn))
                        .and_then(|a| a.code)
                        .map(|c| format!("; demo phone code for {upn}: {c}"))
                        .unwrap_or_default();
                    eprintln!("demo: device code {user_code} at {verification_uri}{phone}");
                }
                self.set_stage(SignInStage::DeviceCode {
                    user_code,
                    verification_uri,
                    expires_at,
                    state: DeviceCodeState::Waiting,
                    mfa_explanation: mfa,
                });
            }
            SignInEvent::Waiting => self.device_state(DeviceCodeState::Waiting),
            SignInEvent::SlowedDown { .. } => self.device_state(DeviceCodeState::SlowedDown),
            SignInEvent::Expired => self.device_state(DeviceCodeState::Expired),
            SignInEvent::Declined => self.device_state(DeviceCodeState::Declined),
            SignInEvent::BrowserOpened { url } | SignInEvent::OpenBrowserFailed { url } => {
                self.set_stage(SignInStage::Browser { url })
            }
            SignInEvent::MfaRequired { explanation } => {
                if let Some(job) = &mut self.signin {
                    job.mfa_explanation = Some(explanation);
                    job.view.method = SignInMethod::DeviceCode;
                }
                self.set_stage(SignInStage::Starting);
            }
            SignInEvent::UpnMismatch { expected, actual } => {
                self.set_stage(SignInStage::UpnMismatch { expected, actual })
            }
            SignInEvent::Succeeded { .. } | SignInEvent::Failed { .. } => {}
        }
    }

    fn signin_done(&mut self, r: Result<SignedIn, SignInError>) {
        let Some(job) = &mut self.signin else { return };
        match r {
            Ok(signed) => {
                if let Some((expected, actual)) = signed.upn_mismatch.clone() {
                    job.mismatch = Some(signed);
                    self.set_stage(SignInStage::UpnMismatch { expected, actual });
                    return;
                }
                let profile = job.profile.clone();
                self.signin = None;
                self.finish_signin(&profile, &signed);
            }
            Err(SignInError::Cancelled) => {}
            Err(SignInError::Expired) => self.device_state(DeviceCodeState::Expired),
            Err(SignInError::Declined) => self.device_state(DeviceCodeState::Declined),
            Err(e) => {
                if let SignInError::ProxyAuth(p) = &e {
                    self.ev.send(proxy_credential_needed(job.profile.id, p));
                }
                let explanation = e.explanation();
                let stage = if job.view.method == SignInMethod::Password
                    && matches!(e, SignInError::Entra(_))
                {
                    SignInStage::Password {
                        error: Some(explanation),
                    }
                } else {
                    SignInStage::Failed { explanation }
                };
                self.set_stage(stage);
            }
        }
    }

    /// Signed in: close the dialog and open the session through the registry.
    fn finish_signin(&mut self, profile: &Profile, signed: &SignedIn) {
        self.send(UiEvent::SignInFinished {
            profile_id: profile.id,
            result: Ok(()),
        });
        let provider = match self.cache.provider(profile, Some(&signed.account), None) {
            Ok(p) => Arc::new(p) as Arc<dyn TokenProvider>,
            Err(e) => {
                self.send(notice(NoticeLevel::Error, e.explanation()));
                return;
            }
        };
        let request = match ConnectRequest::for_profile(profile, provider, None) {
            Ok(r) => r,
            Err(e) => {
                self.send(notice(NoticeLevel::Error, e));
                return;
            }
        };
        // Remember when the profile last connected (best effort).
        if let Some(p) = self.store.get(profile.id).cloned() {
            let mut p = p;
            p.last_connected = Some(chrono::Utc::now());
            if self.store.upsert(p).is_ok() {
                let _ = self.store.save();
            }
        }
        let registry = self.registry.clone();
        let ev = self.ev.clone();
        let name = profile.name.clone();
        let clients = self.clients.clone();
        let profile = profile.clone();
        tokio::spawn(async move {
            // The profile's proxy choice applies to its admin API traffic too.
            let request = match clients.for_profile(&profile).await {
                Ok(client) => request.with_http(client),
                Err(e) => {
                    ev.send(notice(NoticeLevel::Error, format!("{name}: {e}")));
                    return;
                }
            };
            match registry.connect(request).await {
                Ok(_) => {}
                // The limit guard answers through the registry's LimitRefused event.
                Err(reg::SessionError::LimitReached(_)) => {}
                Err(e) => {
                    ev.send(notice(NoticeLevel::Error, format!("{name}: {e}")));
                }
            }
        });
    }

    fn view_of(&mut self, s: &SessionInfo) -> SessionView {
        let conn = self.conn_of(s.connection_id);
        let profile = self.store.get(s.profile_id);
        // Demo mode knows the made-up tenants' display names; elsewhere the profile's tenant or
        // DelegatedOrganization, else the account's domain, else the tenant id.
        let demo_name = self.sim.as_ref().and_then(|h| {
            let t = s.tenant.as_deref()?;
            h.world()
                .tenants
                .iter()
                .find(|x| {
                    x.id.to_string().eq_ignore_ascii_case(t)
                        || x.domains.iter().any(|d| d.eq_ignore_ascii_case(t))
                })
                .map(|x| x.display_name.clone())
        });
        let tenant = demo_name
            .or_else(|| profile.and_then(|p| p.target_tenant().map(String::from)))
            .or_else(|| {
                s.account
                    .as_deref()
                    .and_then(|a| a.split_once('@'))
                    .map(|(_, d)| d.to_string())
            })
            .or_else(|| s.tenant.clone())
            .unwrap_or_default();
        let endpoint_host = url::Url::parse(&s.endpoint)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| s.endpoint.clone());
        SessionView {
            conn,
            profile_id: s.profile_id,
            profile_name: s.profile_name.clone(),
            color: profile.and_then(|p| p.color.clone()),
            service: s.service,
            account: s.account.clone().unwrap_or_default(),
            tenant,
            endpoint_host,
            state: s.state,
            last_error: s.last_error.clone(),
            token_expires_at: s.token_expires,
            last_activity: s.last_activity,
            requests: s.requests,
        }
    }

    fn publish_sessions(&mut self) {
        let list = self.sessions.clone();
        let views: Vec<SessionView> = list.iter().map(|s| self.view_of(s)).collect();
        self.send(UiEvent::SessionsChanged(views));
    }

    fn registry_event(&mut self, e: SessionEvent) {
        match e {
            SessionEvent::Added(info) | SessionEvent::Changed(info) => {
                if info.state == SessionState::Disconnected {
                    return;
                }
                let was = self
                    .sessions
                    .iter()
                    .find(|s| s.connection_id == info.connection_id)
                    .map(|s| s.state);
                if self.sim.is_some()
                    && info.state == SessionState::Connected
                    && was != Some(SessionState::Connected)
                {
                    // Demo mode only: the scripted system test waits for this line.
                    eprintln!("demo: session connected: {}", info.profile_name);
                }
                match self
                    .sessions
                    .iter_mut()
                    .find(|s| s.connection_id == info.connection_id)
                {
                    Some(slot) => *slot = info,
                    None => self.sessions.push(info),
                }
                self.publish_sessions();
            }
            SessionEvent::Removed { connection_id } => {
                self.sessions.retain(|s| s.connection_id != connection_id);
                if let Some(c) = self.ids.remove(&connection_id)
                    && let Some(h) = self.runs.remove(&c)
                {
                    h.abort();
                }
                self.publish_sessions();
            }
            SessionEvent::LimitRefused(lr) => {
                let view = self.limit_view(&lr);
                self.send(UiEvent::LimitReached(view));
            }
        }
    }

    fn limit_view(&mut self, lr: &LimitReached) -> LimitView {
        let all: Vec<SessionInfo> = lr.stale.iter().chain(lr.open.iter()).cloned().collect();
        let sessions = all.iter().map(|s| self.view_of(s)).collect();
        let tenant = all
            .first()
            .map(|s| self.view_of(s).tenant)
            .unwrap_or_else(|| lr.tenant.clone());
        LimitView {
            tenant,
            service: lr.service,
            limit: lr.limit as u32,
            sessions,
        }
    }

    async fn run_line(&mut self, conn: ConnId, line: String) {
        let parsed = match parse_cmdlet_line(&line) {
            Ok(p) => p,
            Err(e) => {
                self.send(UiEvent::RunFailed {
                    conn,
                    explanation: e.message,
                });
                return;
            }
        };
        let request = CmdletRequest::from_line(parsed);
        if let Err(e) = request.row_cap() {
            self.send(UiEvent::RunFailed {
                conn,
                explanation: e.message.clone(),
            });
            return;
        }
        let Some(id) = self.uuid_of(conn) else {
            self.send(UiEvent::RunFailed {
                conn,
                explanation: "That session is gone; connect again.".into(),
            });
            return;
        };
        if let Some(old) = self.runs.remove(&conn) {
            old.abort();
        }
        self.send(UiEvent::RunStarted {
            conn,
            line: line.clone(),
        });
        let profile_id = self
            .sessions
            .iter()
            .find(|s| s.connection_id == id)
            .map(|s| s.profile_id);
        let registry = self.registry.clone();
        let ev = self.ev.clone();
        let task = tokio::spawn(async move {
            let mut handle = match registry.run(id, request).await {
                Ok(h) => h,
                Err(e) => {
                    ev.send(UiEvent::RunFailed {
                        conn,
                        explanation: e.to_string(),
                    });
                    return;
                }
            };
            while let Some(e) = handle.events.recv().await {
                match e {
                    RunEvent::Page { rows, .. } => {
                        let rows: Vec<Row> = rows.into_iter().map(to_row).collect();
                        ev.send(UiEvent::RunRows { conn, rows });
                    }
                    RunEvent::Warning(text) => {
                        ev.send(UiEvent::RunWarning { conn, text });
                    }
                    RunEvent::Retrying { reason, delay, .. } => {
                        ev.send(UiEvent::RunWarning {
                            conn,
                            text: format!("Retrying in {:.1} s: {reason}", delay.as_secs_f64()),
                        });
                    }
                    RunEvent::Redirected { .. } => {}
                    RunEvent::Done {
                        total_rows,
                        pages,
                        elapsed,
                        ..
                    } => {
                        ev.send(UiEvent::RunDone {
                            conn,
                            rows: total_rows as u64,
                            pages: pages as u32,
                            elapsed,
                        });
                        return;
                    }
                    RunEvent::Failed(e) => {
                        if e.kind == RestErrorKind::ProxyAuth
                            && let Some(pid) = profile_id
                        {
                            ev.send(UiEvent::ProxyCredentialNeeded {
                                profile_id: pid,
                                proxy: "the profile's proxy".into(),
                                explanation: e.message.clone(),
                            });
                        }
                        let explanation = match e.explanation() {
                            Some(known) => format!("{e}\n{known}"),
                            None => e.to_string(),
                        };
                        ev.send(UiEvent::RunFailed { conn, explanation });
                        return;
                    }
                }
            }
        });
        self.runs.insert(conn, task.abort_handle());
    }
}

/// A result object as a grid row (a scalar becomes `{"Value": …}`).
fn to_row(v: serde_json::Value) -> Row {
    match v {
        serde_json::Value::Object(m) => m
            .into_iter()
            .filter(|(k, _)| !k.starts_with('@') && !k.contains("@odata"))
            .collect(),
        other => {
            let mut m = Row::new();
            m.insert("Value".into(), other);
            m
        }
    }
}
