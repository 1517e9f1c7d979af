//! One place per open session (issue 15, item 5): a connect shows that session's output, each
//! open output has a tab named after its profile, and the tree's selection and the output stay
//! in step — driven by accessible label against the fake backend.

use egui_kittest::kittest::Queryable;

use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};
use exo_connect::ui::nav::Centre;

use super::app::{T, app, cid, session, three_profiles};

/// Click a profile in the tree: the leftmost node of that name (the session list names it too).
pub(crate) fn click_profile(t: &mut T, name: &str) {
    let node =
        t.h.get_all_by_label(name)
            .min_by(|a, b| a.rect().min.x.total_cmp(&b.rect().min.x))
            .unwrap();
    node.click();
    t.h.run();
}

#[test]
fn a_connect_shows_the_sessions_output_once_it_is_up() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    click_profile(&mut t, "Contoso EXO");
    assert_eq!(t.h.state().centre, Centre::Editor);
    assert!(!t.has("Profile editor"), "no tabs without an open session");
    t.click("Connect");
    assert!(t.sent(|c| matches!(c, UiCommand::Connect { profile_id } if *profile_id == p[0].id)));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connecting,
        3600,
    )]));
    assert_eq!(t.h.state().centre, Centre::Editor, "not before it is up");
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        3600,
    )]));
    assert_eq!(t.h.state().centre, Centre::Output(cid(1)));
    assert!(t.has("Output tab: Contoso EXO"));
    assert!(t.has("Profile editor"));
    // A later change of the same session does not pull the window back.
    t.click("Profile editor");
    assert_eq!(t.h.state().centre, Centre::Editor);
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        3000,
    )]));
    assert_eq!(t.h.state().centre, Centre::Editor);
}

#[test]
fn tabs_and_the_tree_stay_in_step() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 3600),
        session(2, &p[1], SessionState::Connected, 3600),
    ]));
    // Selecting a connected profile shows its output (and opens its tab).
    click_profile(&mut t, "Contoso EXO");
    assert_eq!(t.h.state().centre, Centre::Output(cid(1)));
    click_profile(&mut t, "Northwind EOP");
    assert_eq!(t.h.state().centre, Centre::Output(cid(2)));
    assert!(t.has("Output tab: Contoso EXO") && t.has("Output tab: Northwind EOP"));
    // A tab selects its profile in the tree.
    t.click("Output tab: Contoso EXO");
    assert_eq!(t.h.state().centre, Centre::Output(cid(1)));
    assert_eq!(t.h.state().selected, Some(p[0].id));
    // A profile without a session shows its editor.
    click_profile(&mut t, "Fabrikam Gov");
    assert_eq!(t.h.state().centre, Centre::Editor);
    assert_eq!(t.h.state().selected, Some(p[2].id));
    // The session row's "Open output" selects its profile too.
    t.h.get_all_by_label("Open output").nth(1).unwrap().click();
    t.h.run();
    assert_eq!(t.h.state().centre, Centre::Output(cid(2)));
    assert_eq!(t.h.state().selected, Some(p[1].id));
    // A closed session's tab goes.
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        3600,
    )]));
    assert!(!t.has("Output tab: Northwind EOP"));
    // The centre moves to the session still open, its profile selected.
    assert_eq!(t.h.state().centre, Centre::Output(cid(1)));
    assert_eq!(t.h.state().selected, Some(p[0].id));
}

#[test]
fn two_sessions_of_one_profile_are_told_apart_by_service() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 3600),
        session(2, &p[0], SessionState::Connected, 3600),
    ]));
    assert_eq!(
        t.h.query_all_by_label("Output tab: Contoso EXO (EXO)")
            .count(),
        2
    );
}

#[test]
fn a_connect_does_not_leave_unsaved_edits() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    click_profile(&mut t, "Contoso EXO");
    t.click("Connect");
    t.type_into("Folder", "x");
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        3600,
    )]));
    assert_eq!(t.h.state().centre, Centre::Editor, "the edits stay in view");
    assert!(
        t.has("Output tab: Contoso EXO"),
        "its tab is there to go to"
    );
}
