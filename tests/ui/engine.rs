//! The real desktop app driven by accessible label (egui_kittest) against the real engine driver
//! and the in-process sim (demo mode on the driver's runtime, secrets in memory). The test plays
//! the user in the window and the browser on the sim's verification page (over HTTP).

use crate::common::signin_support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use futures_util::future::BoxFuture;

use exo_connect::engine::auth::BrowserLauncher;
use exo_connect::engine::sessions::{RegistrySettings, SessionLimits};
use exo_connect::model::store::ProfileStore;
use exo_connect::sim::{SimConfig, SimHandle};
use exo_connect::ui::bridge::{SessionState, SignInStage};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::driver::{self, DriverConfig, Secrets};
use exo_connect::ui::nav::Centre;
use exo_connect::ui::{App, AppOptions};

use signin_support::{UserAction, complete_device_login, password_of};

/// Records the pages the app asked to open.
#[derive(Default, Clone)]
struct FakeBrowser(Arc<Mutex<Vec<String>>>);

impl BrowserLauncher for FakeBrowser {
    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().push(url.to_string());
        Box::pin(async { Ok(()) })
    }
}

pub(crate) struct E {
    pub(crate) h: Harness<'static, App>,
    pub(crate) sim: Arc<SimHandle>,
    rt: tokio::runtime::Runtime,
    pub(crate) dialogs: FakeDialogs,
    browser: FakeBrowser,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn start(
    sim: impl FnOnce(&mut SimConfig),
    reg: impl FnOnce(&mut RegistrySettings),
) -> E {
    start_cfg(sim, reg, |_| {})
}

/// [`start`], with the driver's config changed last (its folder, the pwsh launcher…).
pub(crate) fn start_cfg(
    sim: impl FnOnce(&mut SimConfig),
    reg: impl FnOnce(&mut RegistrySettings),
    more: impl FnOnce(&mut DriverConfig),
) -> E {
    let dir = tempfile::tempdir().unwrap();
    let browser = FakeBrowser::default();
    let mut cfg = DriverConfig::new(dir.path().to_path_buf());
    cfg.secrets = Secrets::Memory;
    cfg.browser = Arc::new(browser.clone());
    let mut sc = SimConfig {
        mailboxes: 60,
        device_code_interval: Duration::from_secs(1),
        ..SimConfig::default()
    };
    sim(&mut sc);
    cfg.demo = Some(sc);
    let mut rs = RegistrySettings {
        tick: Duration::from_millis(200),
        ..RegistrySettings::default()
    };
    reg(&mut rs);
    cfg.registry = rs;
    cfg.signin_timeout = Duration::from_secs(30);
    more(&mut cfg);
    let dialogs = FakeDialogs::default();
    let (mut h, sim) = live_window(cfg, dialogs.clone());
    h.run_steps(2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut e = E {
        h,
        sim,
        rt,
        dialogs,
        browser,
        dir,
    };
    e.wait("the demo profiles", |a| a.profiles.len() >= 5);
    e
}

/// The window (1400×900, demo mode) over the real driver started with `cfg`, whose `demo`
/// sim it returns; file dialogs answered by `dialogs`.
pub(crate) fn live_window(
    cfg: DriverConfig,
    dialogs: FakeDialogs,
) -> (Harness<'static, App>, Arc<SimHandle>) {
    let started = driver::spawn(cfg).expect("the driver starts");
    let sim = started.sim.expect("demo mode starts the sim");
    let backend = started.backend;
    let h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            App::new(
                cc,
                Box::new(backend),
                Box::new(dialogs),
                AppOptions { demo: true },
            )
        });
    (h, sim)
}

impl E {
    /// Step frames until `pred` holds (bounded).
    pub(crate) fn wait(&mut self, what: &str, pred: impl Fn(&App) -> bool) {
        let start = Instant::now();
        loop {
            self.h.step();
            if pred(self.h.state()) {
                self.h.step();
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(12),
                "timed out waiting for {what}; notices: {:?}",
                self.h.state().notices
            );
            std::thread::sleep(Duration::from_millis(15));
        }
    }
    pub(crate) fn wait_label(&mut self, part: &str) {
        let start = Instant::now();
        loop {
            self.h.step();
            if self.h.query_all_by_label_contains(part).next().is_some() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(12),
                "timed out waiting for the label {part:?}; notices: {:?}",
                self.h.state().notices
            );
            std::thread::sleep(Duration::from_millis(15));
        }
    }
    pub(crate) fn click(&mut self, label: &str) {
        // Under load the engine's answer may land a frame later: wait for the widget first.
        self.wait_exact(label);
        self.h.get_by_label(label).click();
        self.h.run_steps(2);
    }
    pub(crate) fn wait_exact(&mut self, label: &str) {
        let start = Instant::now();
        while self.h.query_all_by_label(label).next().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(12),
                "timed out waiting for {label:?}; notices: {:?}",
                self.h.state().notices
            );
            self.h.step();
            std::thread::sleep(Duration::from_millis(15));
        }
    }
    /// Click a profile in the tree (the leftmost node of that name: it may be in a row too).
    pub(crate) fn click_profile(&mut self, name: &str) {
        for _ in 0..3 {
            let node = self
                .h
                .get_all_by_label(name)
                .min_by(|a, b| a.rect().min.x.total_cmp(&b.rect().min.x))
                .unwrap();
            node.click();
            self.h.run_steps(2);
            let selected = self.h.state().selected;
            if self
                .h
                .state()
                .profiles
                .iter()
                .any(|p| Some(p.id) == selected && p.name == name)
            {
                return;
            }
        }
        panic!("the profile {name} could not be selected");
    }
    pub(crate) fn type_into(&mut self, label: &str, text: &str) {
        self.h.get_by_label(label).click();
        self.h.run_steps(2);
        self.h.get_by_label(label).type_text(text);
        self.h.run_steps(2);
    }
    pub(crate) fn has(&self, label: &str) -> bool {
        self.h.query_all_by_label(label).next().is_some()
    }
    pub(crate) fn has_containing(&self, part: &str) -> bool {
        self.h.query_all_by_label_contains(part).next().is_some()
    }
    pub(crate) fn disabled(&self, label: &str) -> bool {
        self.h.get_by_label(label).accesskit_node().is_disabled()
    }
    pub(crate) fn connected(&self) -> usize {
        self.h
            .state()
            .sessions
            .iter()
            .filter(|s| s.state == SessionState::Connected)
            .count()
    }
    /// Connect the password profile `name` through the dialog.
    pub(crate) fn connect_with_password(&mut self, name: &str, upn: &str) {
        self.click_profile(name);
        self.click("Connect");
        self.wait("the password step", |a| {
            matches!(
                a.signin.as_ref().map(|v| &v.stage),
                Some(SignInStage::Password { .. })
            )
        });
        self.type_into("Password", &password_of(upn));
        self.click("Sign in");
    }
    pub(crate) fn device_code(&self) -> Option<String> {
        match self.h.state().signin.as_ref().map(|v| &v.stage) {
            Some(SignInStage::DeviceCode { user_code, .. }) => Some(user_code.clone()),
            _ => None,
        }
    }
}

#[test]
fn editor_profile_lands_in_the_store_with_ctrl_s_and_tab_order() {
    let mut e = start(|_| {}, |_| {});
    e.click("New profile");
    e.type_into("Name", "Woodgrove EXO");
    e.h.key_press(Key::Tab);
    e.h.run_steps(2);
    assert!(
        e.h.get_by_label("Folder").is_focused(),
        "Tab: Name → Folder"
    );
    e.type_into("UPN", "admin");
    assert!(e.has_containing("is not a user principal name"));
    assert!(e.disabled("Save"), "Save stays disabled while invalid");
    e.type_into("UPN", "@woodgrovebank.com");
    assert!(!e.has_containing("is not a user principal name"));
    assert!(!e.disabled("Save"));
    e.h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    e.h.run_steps(2);
    e.wait("the saved profile", |a| {
        a.profiles.iter().any(|p| p.name == "Woodgrove EXO")
    });
    let (store, _) = ProfileStore::open(e.dir.path()).unwrap();
    let p = store
        .get_by_name("Woodgrove EXO")
        .expect("the profile is in the store file");
    assert_eq!(p.upn, "admin@woodgrovebank.com");
    assert!(
        store.get_by_name("Contoso EXO (MFA)").is_some(),
        "the demo profiles are in the demo store"
    );
}

#[test]
fn device_code_sign_in_quick_test_grid_export_and_disconnect() {
    let mut e = start(|_| {}, |_| {});
    e.click_profile("Contoso EXO (MFA)");
    e.click("Connect");
    e.wait("the device code", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::DeviceCode { .. })
        )
    });
    let code = e.device_code().unwrap();
    assert!(e.has(&code), "the dialog shows the code");
    assert!(e.has_containing("code expires in"));
    assert!(e.has("Demo phone"), "demo mode shows the demo phone");
    e.click("Open verification page");
    e.wait("the browser", |_| true);
    let start = Instant::now();
    while e.browser.0.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no browser opened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let opened = e.browser.0.lock().unwrap()[0].clone();
    assert_eq!(opened, format!("{}/devicelogin", e.sim.urls().login));

    // The test plays the browser: code, account, password, the demo phone's TOTP.
    let page = e.rt.block_on(complete_device_login(
        &e.sim,
        &code,
        &UserAction::SignIn("admin@contoso.com".into()),
    ));
    assert!(
        page.contains("You have signed in"),
        "verification page: {page}"
    );
    e.wait("the session", |a| {
        a.signin.is_none() && {
            a.sessions
                .iter()
                .any(|s| s.state == SessionState::Connected)
        }
    });
    assert!(!e.has(&code), "the dialog closed");
    let s = e.h.state().sessions[0].clone();
    assert_eq!(s.account, "admin@contoso.com");
    assert_eq!(s.profile_name, "Contoso EXO (MFA)");
    assert_eq!(s.tenant, "Contoso", "demo mode names the tenant");
    // An hour's token, counted from the next whole minute (never more than is left).
    assert!(
        e.has_containing("59 min") || e.has_containing("58 min"),
        "token countdown in the row"
    );

    // The connect shows the session's output, in a tab named after the profile.
    let conn = s.conn;
    e.wait("the output shown", move |a| {
        a.centre == Centre::Output(conn)
    });
    assert!(e.has("Output tab: Contoso EXO (MFA)"));
    // The quick test fills the grid.
    e.click("Quick test: Get-Mailbox -ResultSize 10");
    e.wait_label("10 rows");
    let out = e.h.state().output(s.conn).unwrap();
    let store = out.results();
    assert_eq!(store.len(), 10);
    let name = store.column_index("DisplayName").unwrap();
    let mut names: Vec<String> = (0..10).map(|r| store.cell_string(r, name)).collect();
    names.sort_by_key(|n| n.to_lowercase());
    // Sort by header click: the worker answers, then the rows are in order.
    e.click("DisplayName");
    e.wait("the sort", |a| {
        a.output(s.conn).is_some_and(|o| o.view_settled())
    });
    e.h.run();
    let y = |e: &E, label: &str| e.h.get_by_label(label).rect().min.y;
    assert!(
        y(&e, &names[0]) < y(&e, &names[1]) && y(&e, &names[1]) < y(&e, &names[2]),
        "sorted by DisplayName: {names:?}"
    );
    // Filter.
    e.type_into("Filter", &names[3]);
    e.wait("the filter", |a| {
        a.output(s.conn).is_some_and(|o| o.view_settled())
    });
    e.h.run();
    assert!(e.has(&names[3]));
    assert!(!e.has(&names[0]), "filtered out");
    e.h.get_by_label("Filter").type_text("");
    e.wait("the filter", |a| {
        a.output(s.conn).is_some_and(|o| o.view_settled())
    });
    // Export through the fake file picker.
    let path: PathBuf = e.dir.path().join("mailboxes.csv");
    e.dialogs.set_answer(Some(path.clone()));
    e.click("Export CSV…");
    e.wait_label("Exported");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("DisplayName,") || text.contains("DisplayName"));
    assert!(text.contains(&names[3]));

    // Ctrl+Enter runs the cmdlet line.
    e.type_into("Cmdlet", "Get-TransportRule");
    e.h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    e.h.run_steps(2);
    e.wait("the transport rules", |a| {
        a.output(s.conn).is_some_and(|o| {
            o.summary.is_some() && o.results().column_index("PrimarySmtpAddress").is_none()
        })
    });
    assert!(!e.h.state().output(s.conn).unwrap().results().is_empty());

    // A second connect of the same profile reuses the cached sign-in: no dialog. Selecting a
    // connected profile shows its output; its settings are one tab away.
    e.click_profile("Contoso EXO (MFA)");
    assert_eq!(e.h.state().centre, Centre::Output(s.conn));
    e.click("Profile editor");
    e.click("Connect");
    e.wait("a second session", |a| {
        a.sessions
            .iter()
            .filter(|s| s.state == SessionState::Connected)
            .count()
            == 2
    });
    assert!(e.h.state().signin.is_none(), "no sign-in dialog");

    // Disconnect one (a #prod profile: it asks first).
    e.h.get_all_by_label("Disconnect").next().unwrap().click();
    e.h.run_steps(2);
    e.click("Yes, disconnect");
    e.wait("one session left", |a| a.sessions.len() == 1);
    assert_eq!(e.connected(), 1);
}

#[test]
fn password_sessions_turn_stale_and_disconnect_stale_removes_exactly_those() {
    let mut e = start(
        |s| s.token_lifetime = Duration::from_secs(6),
        |r| {
            r.idle_timeout = Duration::from_secs(2);
            r.expiring_window = Duration::from_secs(2);
        },
    );
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the Contoso session", |a| {
        a.signin.is_none() && a.sessions.len() == 1
    });
    // Ctrl+K quick connect by name.
    e.h.key_press_modifiers(Modifiers::COMMAND, Key::K);
    e.h.run_steps(2);
    assert!(e.has("Quick connect"));
    e.h.get_all_by_label("Profile")
        .find(|n| n.is_focused())
        .expect("the palette's field has the focus")
        .type_text("northwind");
    e.h.run_steps(2);
    e.h.key_press(Key::Enter);
    e.h.run_steps(2);
    e.wait("the Northwind password step", |a| {
        a.signin
            .as_ref()
            .is_some_and(|v| v.profile_name == "Northwind EOP")
    });
    e.type_into("Password", &password_of("admin@northwind.com"));
    e.click("Sign in");
    // Both signed in (Contoso may already be stale: its 2 s idle runs while Northwind signs in,
    // which takes longer than that on a busy machine).
    e.wait("both signed in", |a| {
        a.signin.is_none()
            && a.sessions.len() == 2
            && a.sessions
                .iter()
                .all(|s| matches!(s.state, SessionState::Connected | SessionState::Stale))
    });
    e.wait("both stale", |a| {
        a.sessions.iter().all(|s| s.state == SessionState::Stale)
    });
    // Using Northwind makes it Connected again.
    let northwind =
        e.h.state()
            .sessions
            .iter()
            .find(|s| s.profile_name == "Northwind EOP")
            .unwrap()
            .conn;
    e.h.state_mut()
        .set_cmdlet_line(northwind, "Get-AcceptedDomain");
    let idx =
        e.h.state()
            .sessions
            .iter()
            .position(|s| s.conn == northwind)
            .unwrap();
    e.h.get_all_by_label("Open output")
        .nth(idx)
        .unwrap()
        .click();
    e.h.run_steps(2);
    e.click("Run");
    e.wait("Northwind in use", |a| {
        a.sessions
            .iter()
            .any(|s| s.conn == northwind && s.state == SessionState::Connected)
    });
    e.wait_label("Disconnect stale (1)");
    e.click("Disconnect stale (1)");
    e.wait("only the stale one removed", |a| a.sessions.len() == 1);
    assert_eq!(e.h.state().sessions[0].conn, northwind);
}

#[test]
fn limit_guard_dialog_offers_to_disconnect() {
    let mut e = start(
        |_| {},
        |r| {
            r.limits = SessionLimits {
                exchange_online: 1,
                protection: 1,
                security_compliance: 1,
            }
        },
    );
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the session", |a| {
        a.signin.is_none() && a.sessions.len() == 1 && {
            a.sessions[0].state == SessionState::Connected
        }
    });
    // A second session of the same tenant and service (cached sign-in, no dialog) is refused.
    // The connect showed the output; the profile is still selected, its editor a tab away.
    e.click("Profile editor");
    e.click("Connect");
    e.wait("the limit guard", |a| a.limit.is_some());
    assert!(e.has("Session limit reached"));
    let limit = e.h.state().limit.clone().unwrap();
    assert_eq!(limit.limit, 1);
    assert_eq!(limit.sessions.len(), 1);
    assert_eq!(
        e.h.state().sessions.len(),
        1,
        "the refused one is not listed"
    );
    // The dialog's Disconnect (drawn above the session list's).
    e.h.get_all_by_label("Disconnect").last().unwrap().click();
    e.h.run_steps(2);
    e.wait("the session closed", |a| a.sessions.is_empty());
}

#[test]
fn cancel_sign_in_and_wrong_password() {
    let mut e = start(|_| {}, |_| {});
    e.click_profile("Contoso EXO (MFA)");
    e.click("Connect");
    e.wait("the device code", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::DeviceCode { .. })
        )
    });
    e.click("Cancel");
    assert!(e.h.state().signin.is_none());
    e.connect_with_password("Northwind EOP", "nobody@northwind.com");
    e.wait("the explanation", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::Password { error: Some(_) })
        )
    });
    assert!(e.h.state().sessions.is_empty());
    e.click("Cancel");
    assert!(e.h.state().signin.is_none());
}

#[test]
fn password_sign_in_of_an_mfa_account_moves_to_the_verification_step() {
    let mut e = start(|_| {}, |_| {});
    // A copy of the password profile for the MFA account, made in the editor.
    e.click_profile("Contoso EXO");
    e.click("Duplicate");
    e.h.get_by_label("UPN").click();
    e.h.run_steps(2);
    e.h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    e.h.get_by_label("UPN").type_text("admin@contoso.com");
    e.h.run_steps(2);
    e.click("Save");
    e.wait("the copy saved", |a| {
        a.profiles.iter().any(|p| p.name == "Contoso EXO (copy)")
    });
    e.click("Connect");
    e.wait("the password step", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::Password { .. })
        )
    });
    assert_eq!(
        e.h.state().signin.as_ref().unwrap().account,
        "admin@contoso.com"
    );
    e.type_into("Password", &password_of("admin@contoso.com"));
    e.click("Sign in");
    e.wait("the verification step with the MFA explanation", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::DeviceCode {
                mfa_explanation: Some(_),
                ..
            })
        )
    });
    let code = e.device_code().unwrap();
    e.rt.block_on(complete_device_login(
        &e.sim,
        &code,
        &UserAction::SignIn("admin@contoso.com".into()),
    ));
    e.wait("the session", |a| {
        a.signin.is_none()
            && a.sessions.len() == 1
            && a.sessions[0].state == SessionState::Connected
            && a.sessions[0].profile_name == "Contoso EXO (copy)"
    });
}

#[test]
fn scc_quick_test_through_the_regional_redirect_and_cancel_run() {
    // Requests 1 and 2 are the access check (global host, then the regional one it redirects
    // to), 3 the cmdlet catalogue the window fetches after the connect; the first run
    // (request 4) answers slowly.
    let mut e = start(|s| s.faults = "slow@4:ms=4000".into(), |_| {});
    e.connect_with_password("Contoso SCC", "ops@contoso.com");
    e.wait("the SCC session", |a| {
        a.signin.is_none()
            && a.sessions.len() == 1
            && a.sessions[0].state == SessionState::Connected
    });
    let conn = e.h.state().sessions[0].conn;
    e.wait("the catalogue (request 3)", |a| {
        a.output(conn)
            .is_some_and(|o| o.completion.catalogue.is_some())
    });
    assert_eq!(e.sim.admin.requests().len(), 3);
    e.click("Open output");
    e.click("Quick test: Get-RetentionCompliancePolicy");
    e.wait_exact("Cancel run");
    e.click("Cancel run");
    e.wait("the cancelled run", |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && o.error.is_some())
    });
    assert!(e.h.state().output(conn).unwrap().results().is_empty());
    assert!(e.has_containing("cancelled"));
    e.click("Quick test: Get-RetentionCompliancePolicy");
    e.wait("the policies", |a| {
        a.output(conn)
            .is_some_and(|o| o.summary.is_some() && !o.results().is_empty())
    });
    let s = &e.h.state().sessions[0];
    assert_ne!(
        s.endpoint_host,
        e.sim.urls().scc.trim_start_matches("http://"),
        "the session shows the regional host it was redirected to"
    );
}

#[test]
fn the_driver_opens_only_https_or_loopback_pages() {
    use exo_connect::ui::bridge::{Backend, UiCommand, UiEvent};
    let dir = tempfile::tempdir().unwrap();
    let browser = FakeBrowser::default();
    let mut cfg = DriverConfig::new(dir.path().to_path_buf());
    cfg.secrets = Secrets::Memory;
    cfg.browser = Arc::new(browser.clone());
    let mut b = driver::spawn(cfg).unwrap().backend;
    for url in [
        "file:///etc/passwd",
        "http://evil.example.net/devicelogin",
        "javascript:alert(1)",
        "http://127.0.0.1:9/devicelogin",
    ] {
        b.send(UiCommand::OpenUrl { url: url.into() });
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut refused = Vec::new();
    while refused.len() < 3 && Instant::now() < deadline {
        for e in b.poll() {
            if let UiEvent::Notice { text, .. } = e
                && text.contains("not opened")
            {
                refused.push(text);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    while browser.0.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        *browser.0.lock().unwrap(),
        vec!["http://127.0.0.1:9/devicelogin".to_string()]
    );
    assert_eq!(refused.len(), 3, "{refused:?}");
}

/// Events from the driver until `pred` holds (10 s at most).
fn events_until(
    b: &mut impl exo_connect::ui::bridge::Backend,
    pred: impl Fn(&[exo_connect::ui::bridge::UiEvent]) -> bool,
) -> Vec<exo_connect::ui::bridge::UiEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !pred(&seen) && Instant::now() < deadline {
        seen.extend(b.poll());
        std::thread::sleep(Duration::from_millis(20));
    }
    seen
}

#[test]
fn deleting_a_profile_removes_its_keychain_entries_and_says_so() {
    use exo_connect::ui::bridge::{Backend, NoticeLevel, Secret, UiCommand, UiEvent};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DriverConfig::new(dir.path().to_path_buf());
    cfg.secrets = Secrets::Memory;
    let mut b = driver::spawn(cfg).unwrap().backend;
    let p = exo_connect::model::Profile::new(
        "Fabrikam",
        "admin@fabrikam.com",
        exo_connect::model::Service::ExchangeOnline,
    );
    b.send(UiCommand::SaveProfile(Box::new(p.clone())));
    b.send(UiCommand::SaveProxyPassword {
        profile_id: p.id,
        password: Secret::new("proxy-secret"),
    });
    let saved = |e: &[UiEvent]| {
        e.iter().any(
            |e| matches!(e, UiEvent::Notice { text, .. } if text.contains("Proxy password saved")),
        )
    };
    assert!(saved(&events_until(&mut b, saved)));
    b.send(UiCommand::DeleteProfile { id: p.id });
    let deleted = |e: &[UiEvent]| {
        e.iter().any(
            |e| matches!(e, UiEvent::Notice { text, .. } if text.starts_with("Deleted profile")),
        )
    };
    let seen = events_until(&mut b, deleted);
    let text = seen
        .iter()
        .find_map(|e| match e {
            UiEvent::Notice { level, text } if text.starts_with("Deleted profile") => {
                Some((*level, text.clone()))
            }
            _ => None,
        })
        .expect("a notice");
    assert_eq!(text.0, NoticeLevel::Info, "{}", text.1);
    assert!(
        text.1
            .contains("removed from the keychain: the proxy password"),
        "{}",
        text.1
    );
    assert!(!text.1.contains("proxy-secret"));
}

#[test]
fn the_real_driver_answers_route_and_test_connection_against_the_sim() {
    let mut e = start(|_| {}, |_| {});
    e.click_profile("Contoso EXO");
    // The editor asks for the route of the selected profile; the driver resolves it off the UI
    // thread (a demo profile has no proxy: direct, from the platform default).
    e.wait_label("Admin API (127.0.0.1): direct");
    e.click("Test connection");
    e.wait_label("passed");
    assert!(
        e.has_containing("All ") && !e.has_containing("failed"),
        "every check passes against the sim; notices: {:?}",
        e.h.state().notices
    );
    // The steps reached the window as they completed: DNS and TCP of the sim's hosts.
    assert!(
        e.has_containing("127.0.0.1"),
        "the steps name the sim's host"
    );
}

#[test]
fn the_window_sees_profiles_another_exo_connect_saved() {
    use exo_connect::ui::bridge::{Backend, UiCommand, UiEvent};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DriverConfig::new(dir.path().to_path_buf());
    cfg.secrets = Secrets::Memory;
    let mut b = driver::spawn(cfg).unwrap().backend;
    b.send(UiCommand::LoadProfiles);
    let loaded = |e: &[UiEvent]| e.iter().any(|e| matches!(e, UiEvent::ProfilesLoaded(_)));
    assert!(loaded(&events_until(&mut b, loaded)));
    // The command line (another process, here another store over the same folder) adds one.
    let (mut other, _) = ProfileStore::open(dir.path()).unwrap();
    other
        .upsert(exo_connect::model::Profile::new(
            "Added by the CLI",
            "admin@fabrikam.com",
            exo_connect::model::Service::ExchangeOnline,
        ))
        .unwrap();
    other.save().unwrap();
    let has_it = |e: &[UiEvent]| {
        e.iter().any(|e| {
            matches!(e, UiEvent::ProfilesLoaded(l) if l.iter().any(|p| p.name == "Added by the CLI"))
        })
    };
    assert!(
        has_it(&events_until(&mut b, has_it)),
        "the driver reloads the changed store"
    );
}

#[test]
fn the_diagnostic_log_from_settings_and_copy_diagnostics_hold_no_secret() {
    let mut e = start(|_| {}, |_| {});
    e.click("Settings");
    e.click("Write a diagnostic log");
    e.click("Close");
    e.wait_label("Diagnostic log (no secrets)");
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the connected session", |a| {
        a.sessions
            .iter()
            .any(|s| s.state == SessionState::Connected)
    });

    e.click("Settings");
    e.wait_exact("Copy diagnostics");
    e.h.get_by_label("Copy diagnostics").click();
    // The clipboard gets the driver's text in the frame that receives it: look at each frame.
    let start = Instant::now();
    let copied = loop {
        e.h.step();
        let text =
            e.h.output()
                .platform_output
                .commands
                .iter()
                .find_map(|c| match c {
                    egui::OutputCommand::CopyText(s) => Some(s.clone()),
                    _ => None,
                });
        if let Some(t) = text {
            break t;
        }
        assert!(start.elapsed() < Duration::from_secs(12), "nothing copied");
        std::thread::sleep(Duration::from_millis(15));
    };
    assert!(
        copied.starts_with(&format!("exo-connect {}", env!("CARGO_PKG_VERSION"))),
        "{copied}"
    );
    assert!(
        copied.contains("demo mode: true") && copied.contains("1 connected"),
        "{copied}"
    );
    assert!(copied.contains("what=Get-AcceptedDomain"), "{copied}");
    e.click("Close");

    let logs = e.dir.path().join("logs");
    let file = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(
        log.contains("signed in") && log.contains("status=200"),
        "{log}"
    );
    for text in [&copied, &log] {
        assert!(!text.contains(&password_of("ops@contoso.com")), "{text}");
        assert!(!text.contains("eyJ"), "a JWT: {text}");
        let longest = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(str::len)
            .max();
        assert!(longest < Some(40), "a token-sized string: {text}");
    }
    e.click("Settings");
    e.click("Write a diagnostic log");
    e.click("Close");
    e.wait_label("Diagnostic log off");
}

#[test]
fn an_exchange_cmdlet_in_a_compliance_session_says_which_service_it_needs() {
    let mut e = start(|_| {}, |_| {});
    e.connect_with_password("Contoso SCC", "ops@contoso.com");
    e.wait("the SCC session's output", |a| {
        a.signin.is_none() && matches!(a.centre, Centre::Output(_))
    });
    let Centre::Output(conn) = e.h.state().centre else {
        unreachable!()
    };
    e.h.state_mut()
        .set_cmdlet_line(conn, "Get-Mailbox -ResultSize 5");
    e.h.run_steps(2);
    // The session's catalogue says it first, before anything is sent...
    e.wait("the session's catalogue", move |a| {
        a.output(conn)
            .is_some_and(|o| o.completion.catalogue.is_some())
    });
    e.click("Run");
    assert!(e.has_containing("Get-Mailbox belongs to Exchange Online, not Security & Compliance"));
    assert!(e.has_containing("Run again (or Enter) to send it anyway"));
    // ...and sent anyway, the service's refusal says it too.
    e.click("Run");
    e.wait("the failure", move |a| {
        a.output(conn).is_some_and(|o| o.error.is_some())
    });
    let error = e.h.state().output(conn).unwrap().error.clone().unwrap();
    assert!(
        error.starts_with("Get-Mailbox belongs to Exchange Online, not Security & Compliance"),
        "the cause first: {error}"
    );
    assert!(
        error.contains("not recognized"),
        "the service's words after: {error}"
    );
}
