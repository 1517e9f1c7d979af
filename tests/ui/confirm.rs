//! The window's side of the admin API's 2026 behaviours against a scripted backend: the
//! service's confirmation dialog (its own text, the profile, tenant and cmdlet; yes re-sends,
//! no changes nothing; stronger for `prod`), `-WhatIf`'s answer, `@adminapi.errors` per target,
//! and the session row's rate gauge at 1024×700.

use std::time::Duration;

use chrono::Local;
use egui_kittest::kittest::{NodeT, Queryable};
use exo_connect::ui::bridge::{RateView, SessionState, SessionView, UiCommand, UiEvent};

use super::app::{T, app_with, cid, now, session, three_profiles};

const QUESTION: &str =
    "Are you sure you want to perform this action?\nRemoving transport rule \"Block EXE\".";
const LINE: &str = "Remove-TransportRule -Identity 'Block EXE'";

/// A window of `w`×`h` with one connected session of profile `which` (0: tagged prod, 2: no
/// tags), its output open; a run of anything answers with the service's question.
fn window(which: usize, size: (f32, f32)) -> T {
    let mut t = app_with(|b| b.with_size(egui::vec2(size.0, size.1)));
    t.fake.respond(|cmd| match cmd {
        UiCommand::Run { conn, line } => vec![
            UiEvent::RunStarted {
                conn: *conn,
                line: line.clone(),
            },
            UiEvent::RunConfirmation {
                conn: *conn,
                line: line.clone(),
                question: QUESTION.into(),
            },
            UiEvent::RunDone {
                conn: *conn,
                rows: 0,
                pages: 1,
                elapsed: Duration::from_millis(5),
            },
        ],
        _ => vec![],
    });
    t.open_session_output(which);
    t
}

fn run(t: &mut T, line: &str) {
    t.h.state_mut().set_cmdlet_line(cid(1), line);
    t.h.run();
    t.click("Run");
}

fn confirmed_sent(t: &T) -> bool {
    t.sent(|c| matches!(c, UiCommand::RunConfirmed { .. }))
}

#[test]
fn the_services_question_names_profile_tenant_and_cmdlet_and_yes_re_sends() {
    let mut t = window(2, (1400.0, 900.0));
    run(&mut t, LINE);
    assert!(t.has("Confirm Remove-TransportRule?"));
    assert!(
        t.has_containing("Removing transport rule \"Block EXE\""),
        "the service's own text"
    );
    assert!(t.has("Profile Fabrikam Gov · tenant Contoso · cmdlet Remove-TransportRule"));
    assert!(!confirmed_sent(&t), "nothing re-sent before the answer");
    t.click("Yes, run Remove-TransportRule");
    assert!(t.sent(|c| *c
        == UiCommand::RunConfirmed {
            conn: cid(1),
            line: LINE.into()
        }));
    assert!(
        t.h.state().service_confirm.pending.is_none(),
        "the dialog closed"
    );
}

#[test]
fn no_and_esc_change_nothing_and_say_so() {
    let mut t = window(2, (1400.0, 900.0));
    run(&mut t, LINE);
    t.click("No");
    assert!(!confirmed_sent(&t));
    assert!(
        t.has_containing("Remove-TransportRule was not run: not confirmed, nothing was changed")
    );
    run(&mut t, LINE);
    assert!(t.h.state().service_confirm.pending.is_some());
    t.h.key_press(egui::Key::Escape);
    t.h.run();
    assert!(t.h.state().service_confirm.pending.is_none(), "Esc is No");
    assert!(!confirmed_sent(&t));
}

#[test]
fn a_prod_profile_makes_the_question_stronger() {
    let mut t = window(0, (1400.0, 900.0));
    // The app's own prod question comes first (a changing cmdlet in a prod profile), then the
    // service's.
    run(&mut t, LINE);
    t.click("Run in production");
    assert!(t.has("Change the PRODUCTION tenant Contoso?"));
    let yes = "Yes, change production: run Remove-TransportRule";
    assert!(
        t.h.get_by_label(yes).accesskit_node().is_disabled(),
        "Yes waits for the tick"
    );
    t.click(yes);
    assert!(!confirmed_sent(&t), "a disabled Yes does nothing");
    t.click("I checked: this change is meant for the production tenant Contoso");
    t.click(yes);
    assert!(confirmed_sent(&t));
}

#[test]
fn what_if_answers_and_row_errors_show_in_the_output() {
    let mut t = window(2, (1400.0, 900.0));
    t.fake.respond(|cmd| match cmd {
        UiCommand::Run { conn, line } => vec![
            UiEvent::RunStarted {
                conn: *conn,
                line: line.clone(),
            },
            UiEvent::RunWarning {
                conn: *conn,
                text: "What if: Performing the operation \"Remove-TransportRule\" on target \"Block EXE\".".into(),
            },
            UiEvent::RunWarning {
                conn: *conn,
                text: "Error on nobody@contoso.com: The operation couldn't be performed because object 'nobody@contoso.com' couldn't be found.".into(),
            },
            UiEvent::RunDone {
                conn: *conn,
                rows: 0,
                pages: 1,
                elapsed: Duration::from_millis(5),
            },
        ],
        _ => vec![],
    });
    run(&mut t, &format!("{LINE} -WhatIf"));
    assert!(t.has(
        "What if: Performing the operation \"Remove-TransportRule\" on target \"Block EXE\"."
    ));
    assert!(t.has("-WhatIf preview: the service changed nothing"));
    assert!(t.has_containing("Warning: Error on nobody@contoso.com: The operation"));
    assert!(
        t.h.state().service_confirm.pending.is_none(),
        "no question for a preview"
    );
}

fn with_rate(s: SessionView, remaining: u32, paced_secs: Option<i64>) -> SessionView {
    SessionView {
        rate: Some(RateView {
            limit: 100,
            remaining,
            at: now(),
            full_at: now() + chrono::Duration::seconds(60),
            paced_until: paced_secs.map(|p| now() + chrono::Duration::seconds(p)),
        }),
        ..s
    }
}

#[test]
fn the_rate_gauge_shows_the_budget_and_pacing_at_1024_by_700() {
    let mut t = window(2, (1024.0, 700.0));
    let p = three_profiles()[2].clone();
    assert!(!t.has_containing("% left"), "no budget announced: no gauge");
    t.push(UiEvent::SessionsChanged(vec![with_rate(
        session(1, &p, SessionState::Connected, 2700),
        62,
        None,
    )]));
    let gauge = t.h.get_by_label("rate 62% left").rect();
    assert!(
        gauge.min.x >= 0.0 && gauge.max.x <= 1024.0 && gauge.max.y <= 700.0,
        "readable at 1024×700: {gauge:?}"
    );
    assert!(!t.has_containing("paced until"));
    // During a run the driver sends the budget as it comes; at its reserve, the pacer waits.
    t.push(UiEvent::RateChanged {
        conn: cid(1),
        rate: with_rate(session(1, &p, SessionState::Connected, 2700), 1, Some(3))
            .rate
            .unwrap(),
    });
    assert!(t.has("rate 1% left"));
    let until = (now() + chrono::Duration::seconds(3))
        .with_timezone(&Local)
        .format("%H:%M:%S");
    let paced = format!("paced until {until}");
    assert!(t.has(&paced), "{paced}");
    let r = t.h.get_by_label(&paced).rect();
    assert!(r.max.x <= 1024.0 && r.max.y <= 700.0, "{r:?}");
}
