//! A restart brings back every session that was open, several of one profile too (issue 15),
//! each with its own output view; the workspace saved keeps them all.

use exo_connect::model::workspace::{OpenSession, OutputView, Workspace};
use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};

use super::app::{app, cid, session, three_profiles};

fn open(id: uuid::Uuid, line: &str) -> OpenSession {
    OpenSession {
        profile_id: id,
        view: OutputView {
            line: line.into(),
            ..Default::default()
        },
    }
}

#[test]
fn two_sessions_of_one_profile_both_come_back_with_their_views() {
    let mut t = app();
    let p = three_profiles();
    let ws = Workspace {
        open: vec![
            open(p[0].id, "Get-Mailbox -ResultSize 5"),
            open(p[0].id, "Get-TransportRule"),
            open(p[1].id, "Get-AcceptedDomain"),
        ],
        ..Default::default()
    };
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::WorkspaceLoaded(Box::new(ws)));
    assert!(t.sent(|c| *c
        == UiCommand::Restore {
            profile_ids: vec![p[0].id, p[0].id, p[1].id]
        }));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(2, &p[0], SessionState::Connected, 2700),
        session(3, &p[1], SessionState::Connected, 2700),
    ]));
    let line = |n| t.h.state().output(cid(n)).unwrap().line.clone();
    assert_eq!(line(1), "Get-Mailbox -ResultSize 5");
    assert_eq!(line(2), "Get-TransportRule");
    assert_eq!(line(3), "Get-AcceptedDomain");
    // The next save keeps all three.
    t.h.state_mut()
        .set_cmdlet_line(cid(2), "Get-TransportRule -State Enabled");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    t.h.run();
    let saved = t
        .fake
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            UiCommand::SaveWorkspace(ws) => Some(*ws),
            _ => None,
        })
        .next_back()
        .expect("a SaveWorkspace was sent");
    let lines: Vec<&str> = saved.open.iter().map(|o| o.view.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "Get-Mailbox -ResultSize 5",
            "Get-TransportRule -State Enabled",
            "Get-AcceptedDomain"
        ]
    );
}
