//! A single disconnect made safe and the stale threshold a setting (issue 15, item 9): the
//! toast's Undo connects the profile again, a #prod profile asks first, Settings → "Stale after
//! (minutes)" goes to the engine and into the Stale state's explanation.

use chrono::{DateTime, Utc};
use egui::Key;
use egui_kittest::kittest::Queryable;

use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};
use exo_connect::ui::nav::Centre;

use super::app::{T, app, cid, now, session, three_profiles};

fn two_sessions(t: &mut T) -> Vec<exo_connect::model::Profile> {
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(2, &p[1], SessionState::Stale, 2700),
    ]));
    p
}

fn connects(t: &T) -> usize {
    let cmds = t.fake.commands();
    cmds.iter()
        .filter(|c| matches!(c, UiCommand::Connect { .. }))
        .count()
}

#[test]
fn a_disconnect_can_be_undone_for_a_few_seconds() {
    let mut t = app();
    let p = two_sessions(&mut t);
    // Northwind EOP (not #prod): at once, with the toast.
    t.h.get_all_by_label("Disconnect").nth(1).unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(2) }));
    assert!(t.has("Disconnected Northwind EOP"));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        2700,
    )]));
    t.click("Undo");
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: p[1].id
        }));
    assert!(!t.has("Undo"), "the toast goes");
    // The reconnected session does not take the window over.
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(3, &p[1], SessionState::Connected, 3600),
    ]));
    assert_eq!(t.h.state().centre, Centre::Editor);
}

#[test]
fn the_undo_toast_times_out() {
    let mut t = app();
    let later: fn() -> DateTime<Utc> = || now() + chrono::Duration::seconds(11);
    two_sessions(&mut t);
    t.h.get_all_by_label("Disconnect").nth(1).unwrap().click();
    t.h.run();
    assert!(t.has("Undo"));
    t.h.state_mut().set_clock(later);
    t.h.run();
    assert!(!t.has("Undo"), "gone after ten seconds");
    assert_eq!(connects(&t), 0);
}

#[test]
fn a_prod_profile_asks_before_it_disconnects() {
    let mut t = app();
    two_sessions(&mut t);
    t.h.get_all_by_label("Disconnect").next().unwrap().click();
    t.h.run();
    assert!(t.has("Disconnect Contoso EXO?"));
    t.click("Cancel");
    assert!(!t.sent(|c| matches!(c, UiCommand::Disconnect { .. })));
    assert!(!t.has("Disconnect Contoso EXO?"));
    // Settings can turn the question off.
    t.click("Settings");
    t.click("Ask before disconnecting a #prod profile");
    t.click("Close");
    t.h.get_all_by_label("Disconnect").next().unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(1) }));
    assert!(t.has("Disconnected Contoso EXO"));
}

#[test]
fn the_stale_threshold_is_a_setting() {
    let mut t = app();
    two_sessions(&mut t);
    t.click("Settings");
    t.click("Stale after (minutes)");
    for _ in 0..2 {
        t.h.key_press(Key::Backspace);
    }
    t.h.get_by_label("Stale after (minutes)").type_text("30");
    t.h.key_press(Key::Enter);
    t.h.run();
    t.click("Close");
    assert!(t.sent(|c| *c == UiCommand::SetStaleAfter { minutes: 30 }));
    // The Stale state says which threshold it is.
    t.h.get_by_label("Stale").hover();
    t.h.run();
    assert!(t.has_containing("no cmdlet for more than 30 min"));
}

#[test]
fn the_status_bar_stops_offering_undo_once_the_toast_is_gone() {
    let mut t = app();
    two_sessions(&mut t);
    t.h.get_all_by_label("Disconnect").nth(1).unwrap().click();
    t.h.run();
    assert!(t.has_containing("Disconnected Northwind EOP (Undo: bottom right, 10 s)"));
    // Ten seconds on: the toast is gone and so is the status bar's Undo.
    let later: fn() -> DateTime<Utc> = || now() + chrono::Duration::seconds(11);
    t.h.state_mut().set_clock(later);
    t.h.run();
    assert!(!t.has("Undo"), "the toast is gone");
    assert!(
        !t.has_containing("(Undo"),
        "the status bar no longer offers Undo"
    );
    let at = now().with_timezone(&chrono::Local).format("%H:%M");
    assert!(t.has_containing(&format!("Disconnected Northwind EOP at {at}")));
}

#[test]
fn dismissing_the_undo_toast_ends_the_status_bar_offer_too() {
    let mut t = app();
    two_sessions(&mut t);
    t.h.get_all_by_label("Disconnect").nth(1).unwrap().click();
    t.h.run();
    t.click("×");
    assert!(!t.has("Undo"), "the toast is dismissed");
    assert!(!t.has_containing("(Undo"));
    assert!(t.has_containing("Disconnected Northwind EOP at "));
}
