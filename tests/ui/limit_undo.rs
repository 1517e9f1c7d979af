//! The session-limit dialog's Disconnect behaves as a single disconnect elsewhere (issue 15):
//! Undo for a few seconds in the dialog itself, and a #prod profile asks first.

use egui_kittest::kittest::Queryable;

use exo_connect::model::Service;
use exo_connect::ui::bridge::{LimitView, SessionState, UiCommand, UiEvent};

use super::app::{T, app, cid, session, three_profiles};

fn limit(t: &mut T) -> Vec<exo_connect::model::Profile> {
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    let open = vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(2, &p[1], SessionState::Stale, 2700),
    ];
    t.push(UiEvent::SessionsChanged(open.clone()));
    t.push(UiEvent::LimitReached(LimitView {
        tenant: "Contoso".into(),
        service: Service::ExchangeOnline,
        limit: 2,
        sessions: open,
    }));
    p
}

/// The dialog's Disconnect buttons (drawn after the session list's ×).
fn dialog_disconnect(t: &mut T, nth: usize) {
    let n = t.h.get_all_by_label("Disconnect").count();
    t.h.get_all_by_label("Disconnect")
        .nth(n - 2 + nth)
        .unwrap()
        .click();
    t.h.run();
}

#[test]
fn the_limit_dialogs_disconnect_can_be_undone() {
    let mut t = app();
    let p = limit(&mut t);
    // Stale first: Northwind EOP.
    dialog_disconnect(&mut t, 0);
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(2) }));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        2700,
    )]));
    assert!(t.has("Session limit reached"));
    assert!(
        t.has("Undo disconnect of Northwind EOP"),
        "Undo in the dialog"
    );
    t.click("Undo disconnect of Northwind EOP");
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: p[1].id
        }));
}

#[test]
fn the_limit_dialog_asks_before_disconnecting_a_prod_profile() {
    let mut t = app();
    limit(&mut t);
    // Contoso EXO is tagged prod.
    dialog_disconnect(&mut t, 1);
    assert!(!t.sent(|c| matches!(c, UiCommand::Disconnect { .. })));
    assert!(t.has("Disconnect Contoso EXO?"));
    t.click("Yes, disconnect");
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(1) }));
}
