//! Feedback where the action happened (issue 15, item 8): a warning that arrives while the
//! sign-in dialog covers the window shows in the dialog, the connection test's result scrolls
//! into view, the status bar cuts a long message instead of running over its counts, and
//! "Messages" lists every message of the session with its time, to copy.

use egui_kittest::kittest::Queryable;

use exo_connect::model::diagnosis::{DiagStep, Outcome, StepKind};
use exo_connect::ui::bridge::{DeviceCodeState, NoticeLevel, UiEvent};

use super::app::{T, app, app_with, device_code_view, three_profiles};
use super::outputs::click_profile;

fn notice(t: &mut T, level: NoticeLevel, text: &str) {
    t.push(UiEvent::Notice {
        level,
        text: text.into(),
    });
}

#[test]
fn messages_lists_every_notice_of_the_session() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    notice(&mut t, NoticeLevel::Info, "Saved profile Contoso EXO");
    notice(&mut t, NoticeLevel::Error, "Export failed: disk full");
    notice(&mut t, NoticeLevel::Info, "Disconnected 2 stale sessions");
    assert!(t.has("Messages (3 new)"));
    t.click("Messages (3 new)");
    assert!(
        t.has("Saved profile Contoso EXO"),
        "older ones are listed too"
    );
    assert!(t.has("Export failed: disk full"));
    assert!(t.has("3 this session"));
    assert!(t.has("Copy message 1") && t.has("Copy message 3") && t.has("Copy all"));
    assert!(t.has("Messages"), "read: no count");
    let list = &t.h.state().messages;
    assert_eq!(list.list().len(), 3);
    assert!(
        list.list()[1]
            .line()
            .ends_with("Error: Export failed: disk full")
    );
    t.click("Clear");
    assert!(t.has("0 this session"));
}

#[test]
fn a_warning_behind_the_sign_in_dialog_shows_in_it() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SignIn(device_code_view(
        &p[0],
        DeviceCodeState::Waiting,
    )));
    notice(&mut t, NoticeLevel::Info, "Signed in elsewhere");
    assert!(!t.has("Copy message"), "info stays in the status bar");
    let why =
        "No browser could be opened (exit 4); copy the address: http://127.0.0.1:9/devicelogin";
    notice(&mut t, NoticeLevel::Warning, why);
    // In the dialog (and in the status bar behind it, cut to fit).
    assert!(t.h.query_all_by_label(why).count() >= 2);
    assert!(t.has("Copy message"));
    assert!(t.has("Copy code"), "the code stays copyable");
    t.click("Cancel");
    t.push(UiEvent::SignIn(device_code_view(
        &p[0],
        DeviceCodeState::Waiting,
    )));
    assert!(!t.has("Copy message"), "a new sign-in starts clean");
}

#[test]
fn a_long_message_does_not_run_over_the_counts() {
    let mut t = app_with(|b| b.with_size(egui::vec2(1024.0, 700.0)));
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    let long = "Export failed: ".to_string() + &"a very long reason ".repeat(30);
    notice(&mut t, NoticeLevel::Error, &long);
    let counts = t.h.get_by_label("3 profiles · 0 sessions").rect();
    let text = t.h.get_by_label(&long).rect();
    assert!(
        text.max.x <= counts.min.x,
        "the message {text:?} ends before the counts {counts:?}"
    );
}

#[test]
fn the_connection_tests_result_scrolls_into_view() {
    let mut t = app_with(|b| b.with_size(egui::vec2(1024.0, 700.0)));
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    click_profile(&mut t, "Contoso EXO");
    t.click("Test connection");
    for i in 0..12 {
        t.push(UiEvent::DoctorStep {
            profile_id: p[0].id,
            step: DiagStep {
                kind: StepKind::Tcp,
                target: format!("host{i}.example.com:443"),
                outcome: Outcome::Passed,
                summary: "connected".into(),
                elapsed_ms: 3,
                advice: None,
            },
        });
    }
    t.push(UiEvent::DoctorDone {
        profile_id: p[0].id,
        passed: true,
        summary: "All 12 checks passed".into(),
    });
    t.h.run();
    let r = t.h.get_by_label("All 12 checks passed").rect();
    assert!(
        r.min.y >= 0.0 && r.max.y <= 700.0,
        "the result is in view: {r:?}"
    );
}

#[test]
fn a_sign_in_failure_says_the_plain_sentence_first_and_keeps_the_ids_behind_details() {
    use exo_connect::ui::bridge::SignInStage;
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    let mut view = device_code_view(&p[0], DeviceCodeState::Waiting);
    let plain = "The account must use multi-factor authentication. Use the device code method.";
    let entra = "Entra said: AADSTS50076: Due to a configuration change you must use MFA. (trace id t-1, correlation id c-1)";
    view.stage = SignInStage::Failed {
        explanation: format!("{plain} {entra}"),
    };
    t.push(UiEvent::SignIn(view));
    assert!(
        t.has(&format!("Sign-in failed: {plain}")),
        "the plain sentence"
    );
    assert!(
        !t.has_containing("AADSTS50076"),
        "the codes wait behind Details"
    );
    t.click("Details");
    assert!(t.has(entra));
    assert!(t.has("Copy details"));
}
