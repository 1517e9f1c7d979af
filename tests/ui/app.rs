//! The real desktop app driven by accessible label (egui_kittest) against a scripted backend.
//! The harness (`app`, `T`) and the fixtures here are shared with `panes`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use serde_json::json;

use exo_connect::model::results::ResultStore;
use exo_connect::model::{Profile, Service};
use exo_connect::ui::bridge::{
    ConnId, DeviceCodeState, FakeBackend, FakeHandle, LimitView, SessionState, SessionView,
    SignInMethod, SignInStage, SignInView, UiCommand, UiEvent,
};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::{App, AppOptions};

/// The window's id of session `n` (the registry's Uuid in the real driver).
pub(crate) fn cid(n: u64) -> ConnId {
    ConnId(uuid::Uuid::from_u128(n as u128))
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

pub(crate) struct T {
    pub(crate) h: Harness<'static, App>,
    pub(crate) fake: FakeHandle,
    pub(crate) dialogs: FakeDialogs,
}

pub(crate) fn app() -> T {
    app_with(|b| b)
}

/// [`app`] with a tweaked harness (e.g. `allow_missing_glyphs` for the sim's names in other
/// scripts, which the harness's bundled font cannot draw).
pub(crate) fn app_with(
    tweak: impl FnOnce(egui_kittest::HarnessBuilder<App>) -> egui_kittest::HarnessBuilder<App>,
) -> T {
    let (backend, fake) = FakeBackend::new();
    let dialogs = FakeDialogs::default();
    let d = dialogs.clone();
    let mut h =
        tweak(Harness::builder().with_size(egui::vec2(1400.0, 900.0))).build_eframe(move |cc| {
            App::new(cc, Box::new(backend), Box::new(d), AppOptions::default())
        });
    h.state_mut().set_clock(now);
    h.run();
    T { h, fake, dialogs }
}

impl T {
    pub(crate) fn push(&mut self, ev: UiEvent) {
        self.fake.push(ev);
        self.h.run();
    }
    pub(crate) fn click(&mut self, label: &str) {
        self.h.get_by_label(label).click();
        self.h.run();
    }
    pub(crate) fn type_into(&mut self, label: &str, text: &str) {
        self.h.get_by_label(label).click();
        self.h.run();
        self.h.get_by_label(label).type_text(text);
        self.h.run();
    }
    /// The three profiles loaded, profile `which` connected as session 1 (45 min of token
    /// left), its output open; the profiles.
    pub(crate) fn open_session_output(&mut self, which: usize) -> Vec<Profile> {
        let profiles = three_profiles();
        self.push(UiEvent::ProfilesLoaded(profiles.clone()));
        self.push(UiEvent::SessionsChanged(vec![session(
            1,
            &profiles[which],
            SessionState::Connected,
            2700,
        )]));
        self.click("Open output");
        profiles
    }
    pub(crate) fn has(&self, label: &str) -> bool {
        self.h.query_all_by_label(label).next().is_some()
    }
    pub(crate) fn has_containing(&self, part: &str) -> bool {
        self.h.query_all_by_label_contains(part).next().is_some()
    }
    pub(crate) fn sent(&self, pred: impl Fn(&UiCommand) -> bool) -> bool {
        self.fake.commands().iter().any(pred)
    }
    fn disabled(&self, label: &str) -> bool {
        self.h.get_by_label(label).accesskit_node().is_disabled()
    }
}

pub(crate) fn profile(
    name: &str,
    upn: &str,
    service: Service,
    folder: &str,
    tags: &[&str],
) -> Profile {
    let mut p = Profile::new(name, upn, service);
    p.folder = folder.into();
    p.tags = tags.iter().map(|t| t.to_string()).collect();
    p.color = Some("#1f6fc5".into());
    p
}

pub(crate) fn three_profiles() -> Vec<Profile> {
    vec![
        profile(
            "Contoso EXO",
            "admin@contoso.com",
            Service::ExchangeOnline,
            "Contoso",
            &["prod"],
        ),
        profile(
            "Northwind EOP",
            "admin@northwind.com",
            Service::Protection,
            "Northwind",
            &["lab"],
        ),
        profile(
            "Fabrikam Gov",
            "admin@fabrikam.gov",
            Service::ExchangeOnline,
            "Fabrikam",
            &[],
        ),
    ]
}

pub(crate) fn session(conn: u64, p: &Profile, state: SessionState, token_secs: i64) -> SessionView {
    SessionView {
        conn: cid(conn),
        profile_id: p.id,
        profile_name: p.name.clone(),
        color: p.color.clone(),
        service: p.service,
        account: p.upn.clone(),
        tenant: "Contoso".into(),
        endpoint_host: "outlook.office365.com".into(),
        state,
        last_error: None,
        token_expires_at: Some(now() + chrono::Duration::seconds(token_secs)),
        last_activity: now() - chrono::Duration::seconds(90),
        requests: 7,
        rate: None,
    }
}

fn echo_saves(fake: &FakeHandle) {
    fake.respond(|cmd| match cmd {
        UiCommand::SaveProfile(p) => vec![UiEvent::ProfileSaved(p.clone())],
        _ => vec![],
    });
}

#[test]
fn create_profile_validates_as_you_type_and_saves() {
    let mut t = app();
    echo_saves(&t.fake);
    assert!(t.sent(|c| *c == UiCommand::LoadProfiles));
    t.push(UiEvent::ProfilesLoaded(vec![]));
    t.click("New profile");
    t.type_into("Name", "Contoso EXO");
    t.type_into("UPN", "admin");
    assert!(
        t.has_containing("is not a user principal name"),
        "UPN message beside the field"
    );
    assert!(
        t.disabled("Save"),
        "Save is disabled while the UPN is invalid"
    );
    t.click("Save");
    assert!(!t.sent(|c| matches!(c, UiCommand::SaveProfile(_))));

    t.type_into("UPN", "@contoso.com");
    assert!(!t.has_containing("is not a user principal name"));
    assert!(!t.disabled("Save"));
    // The PowerShell equivalent follows the fields.
    assert!(
        t.h.query_all_by(|n| n
            .value()
            .is_some_and(|v| v.contains("Connect-ExchangeOnline -UserPrincipalName")))
            .next()
            .is_some()
    );
    t.click("Save");
    assert!(t.sent(|c| matches!(c, UiCommand::SaveProfile(p)
        if p.name == "Contoso EXO" && p.upn == "admin@contoso.com")));
    assert_eq!(t.h.state().profiles.len(), 1);
    assert!(t.has("Contoso EXO"), "the saved profile is in the tree");
    assert!(t.disabled("Save"), "nothing left to save");
}

#[test]
fn ctrl_s_saves_and_tab_moves_between_fields() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(vec![]));
    t.click("New profile");
    t.type_into("Name", "Northwind");
    t.h.key_press(Key::Tab);
    t.h.run();
    assert!(
        t.h.get_by_label("Folder").is_focused(),
        "Tab from Name goes to Folder"
    );
    t.h.key_press(Key::Tab);
    t.h.run();
    assert!(t.h.get_by_label("Tags").is_focused(), "then Tags");
    t.type_into("UPN", "ops@northwind.com");
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    t.h.run();
    assert!(t.sent(|c| matches!(c, UiCommand::SaveProfile(p) if p.upn == "ops@northwind.com")));
}

#[test]
fn search_filters_the_tree_by_name_upn_and_tag() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    assert!(t.has("Contoso EXO") && t.has("Northwind EOP") && t.has("Fabrikam Gov"));
    t.type_into("Search", "northwind");
    assert!(t.has("Northwind EOP"));
    assert!(!t.has("Contoso EXO") && !t.has("Fabrikam Gov"));
    t.h.state_mut().tree.search = "#prod".into();
    t.h.run();
    assert!(t.has("Contoso EXO"));
    assert!(!t.has("Northwind EOP"));
    t.h.state_mut().tree.search = "fabrikam.gov".into();
    t.h.run();
    assert!(t.has("Fabrikam Gov") && !t.has("Contoso EXO"));
}

#[test]
fn ctrl_k_palette_connects_the_first_match() {
    let mut t = app();
    let profiles = three_profiles();
    let northwind = profiles[1].id;
    t.push(UiEvent::ProfilesLoaded(profiles));
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::K);
    t.h.run();
    assert!(t.has("Quick connect"));
    // The query field has the focus at once.
    t.h.get_by_label("Profile").type_text("north");
    t.h.run();
    assert!(t.has("Connect Northwind EOP"));
    assert!(!t.has("Connect Contoso EXO"));
    t.h.key_press(Key::Enter);
    t.h.run();
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: northwind
        }));
    assert!(!t.has("Quick connect"), "the palette closes");
}

#[test]
fn unsaved_changes_guard_and_delete_confirmation() {
    let mut t = app();
    let profiles = three_profiles();
    let contoso = profiles[0].id;
    t.push(UiEvent::ProfilesLoaded(profiles));
    t.click("Contoso EXO");
    t.type_into("Name", " (edited)");
    t.click("Northwind EOP");
    assert!(t.has("Unsaved changes"));
    t.click("Keep editing");
    assert_eq!(t.h.state().selected, Some(contoso));
    t.click("Northwind EOP");
    t.click("Discard changes");
    assert_ne!(t.h.state().selected, Some(contoso));
    assert!(
        t.h.state()
            .profiles
            .iter()
            .all(|p| !p.name.contains("edited"))
    );

    t.click("Delete");
    assert!(t.has("Delete profile?"));
    t.click("Delete profile");
    let northwind = t.h.state().profiles[1].id;
    assert!(t.sent(|c| *c == UiCommand::DeleteProfile { id: northwind }));
}

pub(crate) fn device_code_view(p: &Profile, state: DeviceCodeState) -> SignInView {
    SignInView {
        profile_id: p.id,
        profile_name: p.name.clone(),
        account: p.upn.clone(),
        method: SignInMethod::DeviceCode,
        reason: None,
        stage: SignInStage::DeviceCode {
            user_code: "ABCD-EFGH".into(),
            verification_uri: "http://127.0.0.1:9/devicelogin".into(),
            expires_at: now() + chrono::Duration::seconds(600),
            state,
            mfa_explanation: None,
            warning: None,
        },
    }
}

#[test]
fn signin_dialog_shows_the_device_code_and_cancel_sends_cancel() {
    let mut t = app();
    let profiles = three_profiles();
    let p = profiles[0].clone();
    t.push(UiEvent::ProfilesLoaded(profiles));
    t.click("Contoso EXO");
    t.click("Connect");
    assert!(t.sent(|c| *c == UiCommand::Connect { profile_id: p.id }));

    t.push(UiEvent::SignIn(device_code_view(
        &p,
        DeviceCodeState::Waiting,
    )));
    assert!(t.has("ABCD-EFGH"), "the code in large type");
    assert!(t.has_containing("code expires in 9 min"));
    assert!(t.has("Copy code") && t.has("Open verification page"));

    t.push(UiEvent::SignIn(device_code_view(
        &p,
        DeviceCodeState::SlowedDown,
    )));
    assert!(t.has_containing("check less often"));

    t.push(UiEvent::SignIn(device_code_view(
        &p,
        DeviceCodeState::Expired,
    )));
    assert!(t.has("The code expired."));
    t.click("Get a new code");
    assert!(t.sent(|c| *c == UiCommand::NewDeviceCode));

    t.click("Cancel");
    assert!(t.sent(|c| *c == UiCommand::CancelSignIn));
    assert!(!t.has("ABCD-EFGH"), "the dialog closed");
}

#[test]
fn signin_password_mfa_and_mismatch_steps() {
    let mut t = app();
    let profiles = three_profiles();
    let p = profiles[1].clone();
    t.push(UiEvent::ProfilesLoaded(profiles));
    let mut view = SignInView {
        profile_id: p.id,
        profile_name: p.name.clone(),
        account: p.upn.clone(),
        method: SignInMethod::Password,
        reason: None,
        stage: SignInStage::Password { error: None },
    };
    t.push(UiEvent::SignIn(view.clone()));
    assert!(t.disabled("Sign in"));
    t.type_into("Password", "Pa55word!");
    t.click("Sign in");
    assert!(t.sent(
        |c| matches!(c, UiCommand::SubmitPassword { password } if password.expose() == "Pa55word!")
    ));
    assert_eq!(
        t.h.get_by_label("Password").value().unwrap_or_default(),
        "",
        "the field is cleared"
    );

    let mut dc = device_code_view(&p, DeviceCodeState::Waiting);
    if let SignInStage::DeviceCode {
        mfa_explanation, ..
    } = &mut dc.stage
    {
        *mfa_explanation = Some("Your organization requires multi-factor authentication: finish on the verification page.".into());
    }
    t.push(UiEvent::SignIn(dc));
    assert!(t.has_containing("requires multi-factor authentication"));

    view.stage = SignInStage::UpnMismatch {
        expected: "admin@northwind.com".into(),
        actual: "ops@contoso.com".into(),
    };
    t.push(UiEvent::SignIn(view));
    assert!(t.has_containing("you signed in as ops@contoso.com"));
    t.click("Continue");
    assert!(t.sent(|c| *c == UiCommand::ContinueDespiteMismatch));

    t.push(UiEvent::SignInFinished {
        profile_id: p.id,
        result: Ok(()),
    });
    assert!(t.h.state().signin.is_none());
}

#[test]
fn session_rows_countdowns_and_disconnects() {
    let mut t = app();
    let profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &profiles[0], SessionState::Connected, 2700),
        session(2, &profiles[1], SessionState::Expiring, 120),
        session(3, &profiles[2], SessionState::Stale, 3000),
        session(4, &profiles[0], SessionState::Expired, -5),
    ]));
    assert!(t.has("Connected"));
    // 45:00 and 50:00 left at 09:00:00, counted from 09:01 (never more than is left).
    assert!(t.has("44 min"), "token countdown in minutes");
    assert!(t.has("49 min"));
    assert!(
        t.has("Expiring in 02:00"),
        "the registry's Expiring, with the countdown in seconds (the last five minutes)"
    );
    assert!(t.has("Stale"));
    assert!(t.has("Expired"));
    assert_eq!(t.h.get_all_by_label("1 min").count(), 4, "idle time");
    // A hovered row shows seconds.
    t.h.get_by_label("Stale").hover();
    t.h.run();
    assert!(t.has("50:00"), "the hovered row's token in seconds");
    assert_eq!(t.h.get_all_by_label("01:30").count(), 1, "its idle time");
    assert!(t.has("44 min"), "the other rows stay in minutes");
    assert!(t.has("Disconnect stale (2)"));

    t.click("Disconnect stale (2)");
    assert!(t.sent(|c| *c == UiCommand::DisconnectStale));

    t.h.get_all_by_label("Disconnect").next().unwrap().click();
    t.h.run();
    assert!(
        !t.sent(|c| *c == UiCommand::Disconnect { conn: cid(1) }),
        "a #prod profile asks first"
    );
    t.click("Yes, disconnect");
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(1) }));
    t.h.get_all_by_label("Refresh").nth(1).unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c == UiCommand::RefreshSession { conn: cid(2) }));

    t.click("Disconnect all");
    assert!(!t.sent(|c| *c == UiCommand::DisconnectAll), "asks first");
    t.click("Yes, disconnect all");
    assert!(t.sent(|c| *c == UiCommand::DisconnectAll));

    // The engine removes the stale ones: the count follows.
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &profiles[0],
        SessionState::Connected,
        2700,
    )]));
    assert!(t.has("Disconnect stale (0)"));
    assert!(t.disabled("Disconnect stale (0)"));
}

#[test]
fn limit_guard_lists_stale_sessions_first() {
    let mut t = app();
    let profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    t.push(UiEvent::LimitReached(LimitView {
        tenant: "Contoso".into(),
        service: Service::ExchangeOnline,
        limit: 2,
        sessions: vec![
            session(1, &profiles[0], SessionState::Connected, 2700),
            session(3, &profiles[0], SessionState::Stale, 2700),
        ],
    }));
    assert!(t.has("Session limit reached"));
    t.h.get_all_by_label("Disconnect").next().unwrap().click();
    t.h.run();
    assert!(
        t.sent(|c| *c == UiCommand::Disconnect { conn: cid(3) }),
        "stale one listed first"
    );
    assert_eq!(t.h.get_all_by_label("Disconnect").count(), 1);
    t.click("Close");
    assert!(!t.has("Session limit reached"));
}

pub(crate) fn mailbox(name: &str, smtp: &str, items: u64) -> serde_json::Value {
    json!({"DisplayName": name, "PrimarySmtpAddress": smtp, "ItemCount": items})
}

/// A page of rows as the driver sends it: a result store.
pub(crate) fn page(rows: impl IntoIterator<Item = serde_json::Value>) -> ResultStore {
    let mut s = ResultStore::new();
    for r in rows {
        s.push_value(&r);
    }
    s
}

pub(crate) fn output_app() -> (T, Profile) {
    let mut t = app();
    let profiles = three_profiles();
    let p = profiles[0].clone();
    t.push(UiEvent::ProfilesLoaded(profiles));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p,
        SessionState::Connected,
        2700,
    )]));
    t.fake.respond(|cmd| match cmd {
        UiCommand::Run { conn, line } if line.starts_with("Get-Mailbox") => vec![
            UiEvent::RunStarted {
                conn: *conn,
                line: line.clone(),
            },
            UiEvent::RunRows {
                conn: *conn,
                rows: page([
                    mailbox("Bob Jones", "bob@contoso.com", 20),
                    mailbox("Alice Smith", "alice@contoso.com", 300),
                ]),
            },
            UiEvent::RunRows {
                conn: *conn,
                rows: page([mailbox("Carol White", "carol@contoso.com", 5)]),
            },
            UiEvent::RunDone {
                conn: *conn,
                rows: 3,
                pages: 2,
                elapsed: Duration::from_millis(420),
            },
        ],
        _ => vec![],
    });
    t.click("Open output");
    (t, p)
}

fn y(t: &T, label: &str) -> f32 {
    t.h.get_by_label(label).rect().min.y
}

#[test]
fn quick_test_fills_the_grid_sort_and_filter() {
    let (mut t, _) = output_app();
    assert!(t.has("Contoso"), "tenant name above the output");
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    assert!(t.sent(|c| *c
        == UiCommand::Run {
            conn: cid(1),
            line: "Get-Mailbox -ResultSize 10".into()
        }));
    assert!(t.has("Bob Jones") && t.has("Alice Smith") && t.has("Carol White"));
    assert!(t.has("3 rows · 2 pages · 0.4 s"));
    assert!(
        y(&t, "Bob Jones") < y(&t, "Alice Smith"),
        "arrival order first"
    );

    t.click("DisplayName");
    assert!(y(&t, "Alice Smith") < y(&t, "Bob Jones") && y(&t, "Bob Jones") < y(&t, "Carol White"));
    t.click("DisplayName");
    assert!(
        y(&t, "Carol White") < y(&t, "Bob Jones"),
        "second click sorts descending"
    );
    t.click("ItemCount");
    assert!(
        y(&t, "Carol White") < y(&t, "Bob Jones") && y(&t, "Bob Jones") < y(&t, "Alice Smith"),
        "numbers sort as numbers"
    );

    t.type_into("Filter", "alice");
    assert!(t.has("Alice Smith"));
    assert!(!t.has("Bob Jones") && !t.has("Carol White"));

    // Details panel with every property of the clicked row.
    t.click("Alice Smith");
    assert!(t.has("Details"));
    assert!(
        t.h.get_all_by_label("alice@contoso.com").count() >= 2,
        "grid cell and details value"
    );
}

#[test]
fn export_csv_through_the_file_dialog() {
    let (mut t, _) = output_app();
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("mailboxes.csv");
    t.dialogs.set_answer(Some(path.clone()));
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    t.type_into("Filter", "contoso");
    t.click("DisplayName");
    t.click("Export CSV…");
    let start = Instant::now();
    while !t.has_containing("Exported 3 rows") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "export did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
        t.h.run();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "DisplayName,PrimarySmtpAddress,ItemCount\n\
         Alice Smith,alice@contoso.com,300\n\
         Bob Jones,bob@contoso.com,20\n\
         Carol White,carol@contoso.com,5\n"
    );
}

#[test]
fn cmdlet_line_ctrl_enter_history_and_prod_confirmation() {
    let (mut t, _) = output_app();
    t.type_into("Cmdlet", "Get-TransportRule");
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    t.h.run();
    assert!(t.sent(|c| *c
        == UiCommand::Run {
            conn: cid(1),
            line: "Get-TransportRule".into()
        }));
    t.push(UiEvent::RunDone {
        conn: cid(1),
        rows: 0,
        pages: 1,
        elapsed: Duration::from_millis(10),
    });

    // Up recalls the last line.
    t.h.get_by_label("Cmdlet").click();
    t.h.run();
    t.h.key_press(Key::ArrowUp);
    t.h.run();
    assert_eq!(
        t.h.get_by_label("Cmdlet").value().as_deref(),
        Some("Get-TransportRule")
    );

    // The profile is tagged prod: a Set- cmdlet asks first.
    t.h.state_mut()
        .set_cmdlet_line(cid(1), "Set-Mailbox bob -ProhibitSendQuota 10GB");
    t.h.run();
    t.h.get_by_label("Cmdlet").click();
    t.h.run();
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    t.h.run();
    assert!(!t.sent(|c| matches!(c, UiCommand::Run { line, .. } if line.starts_with("Set-"))));
    assert!(t.has("Change a production tenant?"));
    t.click("Run in production");
    assert!(
        t.sent(|c| matches!(c, UiCommand::Run { line, .. } if line.starts_with("Set-Mailbox")))
    );
}

#[test]
fn failed_run_shows_the_explanation_and_warnings() {
    let (mut t, _) = output_app();
    t.type_into("Cmdlet", "Get-Foo");
    t.click("Run");
    t.push(UiEvent::RunWarning {
        conn: cid(1),
        text: "Results were truncated".into(),
    });
    t.push(UiEvent::RunFailed {
        conn: cid(1),
        explanation: "The term 'Get-Foo' is not a cmdlet in this session.".into(),
    });
    assert!(t.has_containing("Results were truncated"));
    assert!(t.has_containing("is not a cmdlet in this session"));
}

#[test]
fn hundred_thousand_rows_render_only_what_is_visible() {
    let (mut t, _) = output_app();
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    let rows = page(
        (0..100_000).map(|i| mailbox(&format!("User {i:06}"), &format!("user{i}@contoso.com"), i)),
    );
    t.push(UiEvent::RunRows { conn: cid(1), rows });
    assert!(t.has("User 000000"));
    let shown = t.h.query_all_by_label_contains("User 0").count();
    assert!(
        shown > 5 && shown < 200,
        "virtualized: {shown} rows laid out"
    );
    assert!(t.has("100003 of 100003 rows"));
}

#[test]
fn profiles_import_and_export_go_through_the_dialogs() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    t.dialogs
        .set_answer(Some(PathBuf::from("/tmp/profiles-in.json")));
    t.click("Import profiles…");
    assert!(t.sent(|c| *c
        == UiCommand::ImportProfiles {
            path: PathBuf::from("/tmp/profiles-in.json")
        }));
    t.dialogs.set_answer(None);
    t.click("Export profiles…");
    assert!(
        !t.sent(|c| matches!(c, UiCommand::ExportProfiles { .. })),
        "cancelled dialog: nothing"
    );
    t.dialogs
        .set_answer(Some(PathBuf::from("/tmp/profiles-out.json")));
    t.click("Export profiles…");
    assert!(t.sent(|c| matches!(c, UiCommand::ExportProfiles { path, .. } if path.ends_with("profiles-out.json"))));
}

#[test]
fn column_chooser_and_json_view() {
    let (mut t, _) = output_app();
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    assert!(t.has("300"));
    t.click("Columns");
    t.h.get_by_role_and_label(egui::Role::CheckBox, "ItemCount")
        .click();
    t.h.run();
    t.h.key_press(Key::Escape);
    t.h.run();
    assert!(!t.has("300"), "hidden column's cells are gone");
    assert!(t.has("Alice Smith"));

    t.click("JSON view");
    assert!(t.has_containing(
        r#"{"DisplayName":"Alice Smith","PrimarySmtpAddress":"alice@contoso.com","ItemCount":300}"#
    ));
}

#[test]
fn a_foreign_verification_page_is_shown_with_a_warning_and_never_offered_to_open() {
    let mut t = app();
    let p = three_profiles()[0].clone();
    let mut view = device_code_view(&p, DeviceCodeState::Waiting);
    if let SignInStage::DeviceCode {
        verification_uri,
        warning,
        ..
    } = &mut view.stage
    {
        *verification_uri = "https://evil.example.net/devicelogin".into();
        *warning = Some("The sign-in service named https://evil.example.net/devicelogin as the page to enter the code; exo-connect does not open it.".into());
    }
    t.push(UiEvent::SignIn(view));
    assert!(t.has_containing("https://evil.example.net/devicelogin"));
    assert!(t.has_containing("exo-connect does not open it"));
    assert!(!t.has("Open verification page"));
    assert!(t.has("Copy code"), "the code can still be copied");
}

#[test]
fn device_code_copy_and_open_reach_the_platform() {
    let mut t = app();
    let p = three_profiles()[0].clone();
    t.push(UiEvent::SignIn(device_code_view(
        &p,
        DeviceCodeState::Waiting,
    )));
    t.h.get_by_label("Copy code").click();
    t.h.step();
    let copied =
        t.h.output()
            .platform_output
            .commands
            .iter()
            .any(|c| matches!(c, egui::OutputCommand::CopyText(s) if s == "ABCD-EFGH"));
    assert!(copied, "the code goes to the clipboard");
    t.h.run();
    t.h.get_by_label("Open verification page").click();
    t.h.run();
    assert!(
        t.sent(|c| *c
            == UiCommand::OpenUrl {
                url: "http://127.0.0.1:9/devicelogin".into()
            }),
        "the driver's browser launcher opens the verification page"
    );
}

#[test]
fn browser_method_shows_the_address_to_copy() {
    let mut t = app();
    let p = three_profiles()[2].clone();
    t.push(UiEvent::SignIn(SignInView {
        profile_id: p.id,
        profile_name: p.name.clone(),
        account: p.upn.clone(),
        method: SignInMethod::Browser,
        reason: None,
        stage: SignInStage::Browser {
            url: "http://127.0.0.1:9/authorize?client_id=x".into(),
        },
    }));
    assert!(t.has("Continue in your browser"));
    assert_eq!(
        t.h.get_by_label("Sign-in address").value().as_deref(),
        Some("http://127.0.0.1:9/authorize?client_id=x")
    );
    t.push(UiEvent::SignInFinished {
        profile_id: p.id,
        result: Err("The user declined.".into()),
    });
    assert!(!t.has("Continue in your browser"));
    assert!(
        t.has_containing("Sign-in failed: The user declined."),
        "status bar explains"
    );
}

#[test]
fn enter_on_a_tree_row_connects() {
    let mut t = app();
    let profiles = three_profiles();
    let fabrikam = profiles[2].id;
    t.push(UiEvent::ProfilesLoaded(profiles));
    t.h.get_by_label("Fabrikam Gov").focus();
    t.h.run();
    t.h.key_press(Key::Enter);
    t.h.run();
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: fabrikam
        }));
}

#[test]
fn settings_switch_the_theme() {
    let mut t = app();
    t.click("Settings");
    t.click("Light");
    assert_eq!(t.h.ctx.theme(), egui::Theme::Light);
    t.click("Dark");
    assert_eq!(t.h.ctx.theme(), egui::Theme::Dark);
    t.click("Close");
    assert!(!t.has("Follow system"));
}

#[derive(Default)]
struct MemStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn last_selection_and_theme_are_remembered_between_runs() {
    let mut t = app();
    let profiles = three_profiles();
    let northwind = profiles[1].id;
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    t.click("Northwind EOP");
    t.click("Settings");
    t.click("Light");
    t.click("Close");
    let mut storage = MemStorage::default();
    eframe::App::save(t.h.state_mut(), &mut storage);
    assert!(
        storage
            .0
            .values()
            .all(|v| !v.contains("admin@northwind.com")),
        "UI state only: no profile data in eframe storage"
    );

    // A new run with that storage.
    let storage: &'static MemStorage = Box::leak(Box::new(storage));
    let (backend, fake) = FakeBackend::new();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            cc.storage = Some(storage);
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions::default(),
            )
        });
    fake.push(UiEvent::ProfilesLoaded(profiles));
    h.run();
    assert_eq!(h.state().selected, Some(northwind));
    assert_eq!(
        h.get_by_label("Name").value().as_deref(),
        Some("Northwind EOP")
    );
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
}

#[test]
fn duplicate_makes_a_new_unsaved_copy() {
    let mut t = app();
    echo_saves(&t.fake);
    let profiles = three_profiles();
    let contoso = profiles[0].id;
    t.push(UiEvent::ProfilesLoaded(profiles));
    t.click("Contoso EXO");
    t.click("Duplicate");
    assert_eq!(
        t.h.get_by_label("Name").value().as_deref(),
        Some("Contoso EXO (copy)")
    );
    t.click("Save");
    assert!(t.sent(|c| matches!(c, UiCommand::SaveProfile(p)
        if p.name == "Contoso EXO (copy)" && p.id != contoso && p.upn == "admin@contoso.com")));
    assert_eq!(t.h.state().profiles.len(), 4);
}

#[test]
fn progress_while_pages_stream_and_cancel() {
    let (mut t, _) = output_app();
    t.type_into("Cmdlet", "Get-Recipient");
    t.click("Run");
    t.push(UiEvent::RunRows {
        conn: cid(1),
        rows: page([mailbox("Bob Jones", "bob@contoso.com", 20)]),
    });
    assert!(t.has_containing("Running Get-Recipient — 1 rows · 1 pages"));
    assert!(t.disabled("Run"), "one run at a time");
    t.click("Cancel run");
    assert!(t.sent(|c| *c == UiCommand::CancelRun { conn: cid(1) }));
    t.push(UiEvent::RunFailed {
        conn: cid(1),
        explanation: "Cancelled.".into(),
    });
    assert!(!t.has("Cancel run"));
    assert!(t.has("Bob Jones"), "rows received so far stay");
}

#[test]
fn copy_row_from_the_context_menu() {
    let (mut t, _) = output_app();
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    t.h.get_by_label("bob@contoso.com").click_secondary();
    t.h.run();
    t.h.get_by_label("Copy row").click();
    t.h.step();
    let copied = t.h.output().platform_output.commands.iter().any(
        |c| matches!(c, egui::OutputCommand::CopyText(s) if s == "Bob Jones\tbob@contoso.com\t20"),
    );
    assert!(copied, "the row goes to the clipboard, tab-separated");
}

#[test]
fn server_text_in_notices_and_the_sign_in_dialog_loses_its_control_characters() {
    let mut t = app();
    let p = three_profiles()[0].clone();
    t.push(UiEvent::Notice {
        level: exo_connect::ui::bridge::NoticeLevel::Error,
        text: "Run failed: \u{1b}]0;pwned\u{7}AADSTS50000 \u{1b}[31mred\u{202e}txt".into(),
    });
    t.push(UiEvent::SignIn(SignInView {
        profile_id: p.id,
        profile_name: p.name.clone(),
        account: p.upn.clone(),
        method: SignInMethod::Password,
        reason: None,
        stage: SignInStage::Failed {
            explanation: "Entra said: \u{1b}[2Jbad\u{7}".into(),
        },
    }));
    assert!(t.has_containing("AADSTS50000 redtxt"));
    t.click("Details"); // what Entra said waits behind Details
    assert!(t.has_containing("Entra said: bad"));
    let app = t.h.state();
    let shown: Vec<&str> = app.notices.iter().map(|(_, s)| s.as_str()).collect();
    for s in shown {
        assert!(
            !s.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{s:?}"
        );
    }
}

#[test]
fn outside_changes_reach_the_editor_but_unsaved_edits_stay() {
    let mut t = app();
    let mut profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    t.click("Contoso EXO");
    let upn = |t: &T| t.h.get_by_label("UPN").value().unwrap_or_default();
    assert_eq!(upn(&t), "admin@contoso.com");
    // The command line changed the profile: the editor (no unsaved edits) shows the new version.
    profiles[0].upn = "ops@contoso.com".into();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    assert_eq!(upn(&t), "ops@contoso.com");
    // An unsaved edit stays when the list comes again with another change.
    t.type_into("Name", " (mine)");
    profiles[0].upn = "third@contoso.com".into();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    assert!(
        t.h.get_by_label("Name")
            .value()
            .unwrap_or_default()
            .ends_with("(mine)")
    );
    assert_eq!(upn(&t), "ops@contoso.com", "the draft is kept as it was");
    assert!(t.has_containing("your unsaved edits are kept"));
}

#[test]
fn settings_switch_the_diagnostic_log_and_copy_diagnostics_goes_to_the_clipboard() {
    let mut t = app();
    t.click("Settings");
    assert!(
        t.disabled("Include debug detail"),
        "debug detail needs the log"
    );
    t.click("Write a diagnostic log");
    assert!(t.sent(|c| *c
        == UiCommand::SetDiagnostics {
            enabled: true,
            debug: false
        }));
    t.click("Include debug detail");
    assert!(t.sent(|c| *c
        == UiCommand::SetDiagnostics {
            enabled: true,
            debug: true
        }));
    t.click("Copy diagnostics");
    assert!(t.sent(|c| *c == UiCommand::CopyDiagnostics));
    t.click("Close");

    // The driver's answer goes to the clipboard in the frame that receives it.
    let text = "exo-connect 0.1.0 on linux x86_64\n--- last 1 log lines ---\nline\n".to_string();
    t.fake.push(UiEvent::Diagnostics { text: text.clone() });
    t.h.step();
    let copied: Vec<&egui::OutputCommand> =
        t.h.output()
            .platform_output
            .commands
            .iter()
            .filter(|c| matches!(c, egui::OutputCommand::CopyText(s) if *s == text))
            .collect();
    assert_eq!(
        copied.len(),
        1,
        "{:?}",
        t.h.output().platform_output.commands
    );
    t.h.run();
    assert!(t.has_containing("Diagnostics copied to the clipboard"));

    // The setting is remembered: the next run switches the log on at start.
    let mut storage = MemStorage::default();
    eframe::App::save(t.h.state_mut(), &mut storage);
    let storage: &'static MemStorage = Box::leak(Box::new(storage));
    let (backend, fake) = FakeBackend::new();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            cc.storage = Some(storage);
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions::default(),
            )
        });
    h.run();
    assert!(fake.commands().contains(&UiCommand::SetDiagnostics {
        enabled: true,
        debug: true
    }));
}

#[test]
fn ctrl_o_opens_the_selected_profiles_output_with_the_cmdlet_line_focused() {
    use exo_connect::ui::nav::Centre;
    let mut t = app();
    let profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    // Nothing to open yet: Ctrl+O does nothing.
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    t.h.run();
    assert_eq!(t.h.state().centre, Centre::Editor);
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &profiles[0], SessionState::Connected, 2700),
        session(2, &profiles[1], SessionState::Connected, 2700),
    ]));
    // No profile selected: the first session's output.
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    t.h.run();
    assert_eq!(t.h.state().centre, Centre::Output(cid(1)));
    assert!(t.h.get_by_label("Cmdlet").is_focused(), "ready to type");
    t.h.event(egui::Event::Text("Get-Mailbox".into()));
    t.h.run();
    assert_eq!(
        t.h.get_by_label("Cmdlet").value().as_deref(),
        Some("Get-Mailbox")
    );
    // The selected profile's session.
    t.h.state_mut().selected = Some(profiles[1].id);
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    t.h.run();
    assert_eq!(t.h.state().centre, Centre::Output(cid(2)));
    assert!(t.h.get_by_label("Cmdlet").is_focused());
}
