//! The profile tree at a glance (issue 12): a state dot per profile, taken from the open
//! sessions, and a folder's "Connect all in folder" / "Disconnect all in folder" — driven by
//! accessible label against the fake backend.

use egui_kittest::kittest::{NodeT, Queryable};

use exo_connect::model::{Profile, Service};
use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};

use super::app::{T, app, cid, profile, session};

/// Four customer profiles in "Customers" and one in "Lab".
fn customers() -> Vec<Profile> {
    let exo = Service::ExchangeOnline;
    vec![
        profile("Contoso EXO", "admin@contoso.com", exo, "Customers", &[]),
        profile(
            "Northwind EXO",
            "admin@northwind.com",
            exo,
            "Customers",
            &[],
        ),
        profile("Fabrikam EXO", "admin@fabrikam.com", exo, "Customers", &[]),
        profile(
            "Woodgrove EXO",
            "admin@woodgrove.com",
            exo,
            "Customers",
            &[],
        ),
        profile("Lab EXO", "admin@lab.test", exo, "Lab", &[]),
    ]
}

fn connects(t: &T) -> Vec<uuid::Uuid> {
    let cmds = t.fake.commands();
    let ids = cmds.iter().filter_map(|c| match c {
        UiCommand::Connect { profile_id } => Some(*profile_id),
        _ => None,
    });
    ids.collect()
}

fn disconnects(t: &T) -> Vec<exo_connect::ui::bridge::ConnId> {
    let cmds = t.fake.commands();
    let conns = cmds.iter().filter_map(|c| match c {
        UiCommand::Disconnect { conn } => Some(*conn),
        _ => None,
    });
    conns.collect()
}

fn open_folder_menu(t: &mut T, folder: &str) {
    t.h.get_by_label(folder).click_secondary();
    t.h.run();
}

#[test]
fn each_profile_shows_its_session_state_as_a_dot() {
    let mut t = app();
    let p = customers();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(2, &p[1], SessionState::Stale, 2000),
        session(3, &p[4], SessionState::Expiring, 120),
        session(4, &p[3], SessionState::Disconnected, 2000),
    ]));
    assert!(t.has("Contoso EXO session: Connected"));
    assert!(t.has("Northwind EXO session: Stale"));
    assert!(t.has("Lab EXO session: Expiring"));
    assert!(
        !t.has_containing("Fabrikam EXO session"),
        "no session, no dot"
    );
    assert!(
        !t.has_containing("Woodgrove EXO session"),
        "a disconnected session shows no dot"
    );
    t.h.get_by_label("Northwind EXO session: Stale").hover();
    t.h.run();
    assert!(t.has("Session: Stale"), "the state as hover text");

    // The dot follows the sessions; with two open, the more urgent one shows.
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(5, &p[0], SessionState::Expired, -5),
        session(2, &p[1], SessionState::Connected, 3000),
    ]));
    assert!(t.has("Contoso EXO session: Expired"));
    assert!(t.has("Northwind EXO session: Connected"));
    assert!(!t.has_containing("Lab EXO session"));
    t.h.get_by_label("Contoso EXO session: Expired").hover();
    t.h.run();
    assert!(t.has("Session: Expired (2 sessions)"));
}

#[test]
fn connect_all_in_folder_sends_one_connect_per_profile() {
    let mut t = app();
    let p = customers();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    open_folder_menu(&mut t, "Customers");
    t.click("Connect all in folder");
    let sent = connects(&t);
    assert_eq!(sent, vec![p[0].id, p[1].id, p[2].id, p[3].id], "{sent:?}");
    assert!(!sent.contains(&p[4].id), "not the other folder's profile");
}

#[test]
fn connect_all_skips_live_sessions_and_disconnect_all_closes_the_folders_sessions() {
    let mut t = app();
    let p = customers();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(2, &p[1], SessionState::Stale, 2000),
        session(3, &p[4], SessionState::Connected, 2000),
    ]));
    open_folder_menu(&mut t, "Customers");
    t.click("Connect all in folder");
    assert_eq!(
        connects(&t),
        vec![p[1].id, p[2].id, p[3].id],
        "a stale session's profile is connected again, a connected one is left alone"
    );

    open_folder_menu(&mut t, "Customers");
    t.click("Disconnect all in folder");
    assert_eq!(disconnects(&t), vec![cid(1), cid(2)], "not the Lab session");

    // A folder with nothing to disconnect offers nothing.
    t.push(UiEvent::SessionsChanged(vec![]));
    open_folder_menu(&mut t, "Customers");
    let node = t.h.get_by_label("Disconnect all in folder");
    assert!(node.accesskit_node().is_disabled());
}
