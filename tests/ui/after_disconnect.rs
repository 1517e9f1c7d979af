//! After a single disconnect the window shows what is true (issue 15): the status bar names the
//! session the window now works with (or none), the centre moves from the closed session's
//! output to another open session's tab (its profile selected in the tree), or to the profile's
//! editor when none is left, and a notice says "Disconnected X" with its Undo.

use egui_kittest::kittest::Queryable;

use exo_connect::ui::bridge::{SessionState, UiEvent};
use exo_connect::ui::nav::Centre;

use super::app::{app, cid, session, three_profiles};

#[test]
fn a_disconnect_moves_the_window_to_what_is_still_open() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    let both = vec![
        session(2, &p[1], SessionState::Connected, 2700),
        session(3, &p[2], SessionState::Connected, 2700),
    ];
    t.push(UiEvent::SessionsChanged(both.clone()));
    t.push(UiEvent::SignInFinished {
        profile_id: p[1].id,
        result: Ok(()),
    });
    t.click("Output tab: Northwind EOP");
    assert_eq!(t.h.state().centre, Centre::Output(cid(2)));
    assert!(t.has("Session: Northwind EOP · Connected"));

    // Northwind EOP's × (the first row's), then the driver's list without it.
    t.h.get_all_by_label("Disconnect").next().unwrap().click();
    t.h.run();
    t.push(UiEvent::SessionsChanged(vec![both[1].clone()]));
    assert_eq!(
        t.h.state().centre,
        Centre::Output(cid(3)),
        "the other open session's tab"
    );
    assert_eq!(t.h.state().selected, Some(p[2].id), "the tree follows");
    assert!(t.has("Session: Fabrikam Gov · Connected"));
    assert!(
        !t.has_containing("Signed in: Northwind EOP"),
        "the status bar no longer names the closed session"
    );
    assert!(t.has_containing("Disconnected Northwind EOP (Undo"));

    // The last one: the profile's editor, and no session.
    t.h.get_all_by_label("Disconnect").next().unwrap().click();
    t.h.run();
    t.push(UiEvent::SessionsChanged(vec![]));
    assert_eq!(t.h.state().centre, Centre::Editor);
    assert_eq!(t.h.state().selected, Some(p[2].id));
    assert!(t.has("Session: none"));
    assert!(t.has_containing("Disconnected Fabrikam Gov"));
}
