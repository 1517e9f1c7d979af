//! Quick connect (Ctrl+K) offers "Show X" for a profile already connected — its session's tab —
//! and "Connect X" for the others (issue 15).

use egui::{Key, Modifiers};

use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};
use exo_connect::ui::nav::Centre;

use super::app::{app, cid, session, three_profiles};

#[test]
fn quick_connect_shows_a_connected_profile_instead_of_connecting_it() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![session(
        4,
        &p[1],
        SessionState::Connected,
        2700,
    )]));
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::K);
    t.h.run();
    assert!(t.has("Quick connect"));
    assert!(t.has("Show Northwind EOP"));
    assert!(!t.has("Connect Northwind EOP"));
    assert!(t.has("Connect Fabrikam Gov"));
    t.click("Show Northwind EOP");
    assert!(!t.sent(|c| matches!(c, UiCommand::Connect { .. })));
    assert_eq!(t.h.state().centre, Centre::Output(cid(4)));
    assert_eq!(t.h.state().selected, Some(p[1].id));
    assert!(!t.has("Quick connect"), "the palette closed");

    // Another profile connects.
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::K);
    t.h.run();
    t.click("Connect Fabrikam Gov");
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: p[2].id
        }));
}
