//! The favourites list has a search (issue 15): words typed narrow the saved lines shown.

use exo_connect::model::workspace::{Scope, Workspace};
use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};

use super::app::{app, cid, session, three_profiles};

#[test]
fn the_favourites_list_is_searched_by_the_words_typed() {
    let mut t = app();
    let p = three_profiles();
    let mut ws = Workspace::default();
    for line in [
        "Get-TransportRule -State Enabled",
        "Get-Mailbox -ResultSize 5",
        "Get-InboundConnector",
    ] {
        ws.add_favourite(Scope::Profile(p[1].id), line).unwrap();
    }
    t.push(UiEvent::WorkspaceLoaded(Box::new(ws)));
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[1],
        SessionState::Connected,
        2700,
    )]));
    t.click("Open output");
    t.click("Favourites (3)");
    assert!(t.has("Get-Mailbox -ResultSize 5") && t.has("Get-InboundConnector"));
    t.type_into("Search favourites", "rule enabled");
    assert!(t.has("Get-TransportRule -State Enabled"));
    assert!(!t.has("Get-Mailbox -ResultSize 5"));
    assert!(!t.has("Get-InboundConnector"));
    t.click("Get-TransportRule -State Enabled");
    assert!(t.sent(|c| *c
        == UiCommand::Run {
            conn: cid(1),
            line: "Get-TransportRule -State Enabled".into()
        }));
    // No match says so.
    t.click("Favourites (3)");
    t.type_into("Search favourites", " zzz");
    assert!(t.has("No saved line matches."));
}
