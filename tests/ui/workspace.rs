//! The workspace kept between runs (issue 15, "features admins expect"): the cmdlet line's
//! history per profile across restarts (Up/Down walks it, secret lines never kept), favourites
//! per profile or folder (one click runs one, × removes it, at 1024×700), and the sessions open
//! at the last close asked back silently, with Reconnect for those that need a sign-in and their
//! output views restored. Against the fake backend: the commands the window sends are checked.

use std::time::Duration;

use egui::Key;
use egui_kittest::kittest::Queryable;

use exo_connect::model::workspace::{OpenSession, OutputView, Scope, Workspace};
use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};

use super::app::{T, app, app_with, cid, session, three_profiles};

/// The last workspace the window asked the driver to save (after its once-a-second check).
fn saved(t: &mut T) -> Workspace {
    std::thread::sleep(Duration::from_millis(1100));
    t.h.run();
    t.fake
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            UiCommand::SaveWorkspace(ws) => Some(*ws),
            _ => None,
        })
        .next_back()
        .expect("a SaveWorkspace was sent")
}

#[test]
fn the_history_comes_back_after_a_restart_and_never_keeps_a_secret() {
    let mut t = app();
    assert!(t.sent(|c| *c == UiCommand::LoadWorkspace));
    let p = three_profiles();
    let mut ws = Workspace::default();
    ws.push_history(p[0].id, "Get-Mailbox -ResultSize 5");
    ws.push_history(p[0].id, "Get-User");
    t.push(UiEvent::WorkspaceLoaded(Box::new(ws)));
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        2700,
    )]));
    t.click("Open output");
    t.h.get_by_label("Cmdlet").click();
    t.h.run();
    t.h.key_press(Key::ArrowUp);
    t.h.run();
    assert_eq!(t.h.state().output(cid(1)).unwrap().line, "Get-User");
    t.h.key_press(Key::ArrowUp);
    t.h.run();
    assert_eq!(
        t.h.state().output(cid(1)).unwrap().line,
        "Get-Mailbox -ResultSize 5"
    );
    // Run a safe line and one the parser refuses (a password): only the first is kept.
    for line in ["Get-AcceptedDomain", "New-Thing -Password 'hunter2'"] {
        t.h.state_mut().set_cmdlet_line(cid(1), line);
        t.click("Run");
    }
    let ws = saved(&mut t);
    let h = &ws.history[&p[0].id];
    assert_eq!(h.last().unwrap(), "Get-AcceptedDomain", "{h:?}");
    assert!(!h.iter().any(|l| l.contains("hunter2")));
    assert_eq!(ws.open.len(), 1, "the open session is kept");
    assert_eq!(ws.open[0].profile_id, p[0].id);
    assert!(!ws.open[0].view.line.contains("hunter2"), "nor in the view");
}

#[test]
fn favourites_per_profile_and_folder_run_with_one_click_and_go_with_their_x() {
    let mut t = app_with(|b| b.with_size(egui::vec2(1024.0, 700.0)));
    let p = three_profiles();
    t.push(UiEvent::WorkspaceLoaded(Box::default()));
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[1],
        SessionState::Connected,
        2700,
    )]));
    t.click("Open output");
    assert!(t.has("Favourites (0)"));
    t.h.state_mut()
        .set_cmdlet_line(cid(1), "Get-TransportRule -State Enabled");
    t.click("Save line");
    t.click("For folder Northwind");
    assert!(t.has("Favourites (1)"));
    t.h.state_mut()
        .set_cmdlet_line(cid(1), "Set-X -Credential $c");
    t.click("Save line");
    t.click("For this profile");
    assert!(t.has("Favourites (1)"), "a refused line is not saved");
    assert!(t.has_containing("Not saved"));
    let ws = t.h.state().workspace().unwrap();
    assert_eq!(ws.favourites[0].scope, Scope::Folder("Northwind".into()));
    t.h.state_mut().set_cmdlet_line(cid(1), "");
    t.click("Favourites (1)");
    t.click("Get-TransportRule -State Enabled");
    assert!(t.sent(|c| *c
        == UiCommand::Run {
            conn: cid(1),
            line: "Get-TransportRule -State Enabled".into()
        }));
    t.click("Favourites (1)");
    t.click("Remove favourite: Get-TransportRule -State Enabled");
    assert!(t.has("Favourites (0)"));
    assert!(saved(&mut t).favourites.is_empty(), "the removal is saved");
}

#[test]
fn sessions_open_at_the_last_close_are_asked_back_and_those_needing_a_sign_in_get_reconnect() {
    let mut t = app();
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    let ws = Workspace {
        open: vec![
            OpenSession {
                profile_id: p[0].id,
                view: OutputView {
                    line: "Get-Mailbox -ResultSize 3".into(),
                    cmdlet: "get-mailbox".into(),
                    columns: Some(vec!["DisplayName".into()]),
                    hidden: vec![],
                    filter: "bob".into(),
                },
            },
            OpenSession {
                profile_id: p[1].id,
                view: OutputView::default(),
            },
        ],
        ..Workspace::default()
    };
    t.push(UiEvent::WorkspaceLoaded(Box::new(ws)));
    assert!(t.sent(|c| *c
        == UiCommand::Restore {
            profile_ids: vec![p[0].id, p[1].id]
        }));
    t.push(UiEvent::RestoreFailed {
        profile_id: p[1].id,
        reason: "needs an interactive sign-in".into(),
    });
    assert!(t.has("Reconnect Northwind EOP"));
    assert!(t.h.state().signin.is_none(), "no dialog opens by itself");
    // The other one came back silently: its view (no rows) is there.
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &p[0],
        SessionState::Connected,
        2700,
    )]));
    let out = t.h.state().output(cid(1)).unwrap();
    assert_eq!(out.line, "Get-Mailbox -ResultSize 3");
    assert_eq!(out.filter, "bob");
    assert!(out.results().is_empty());
    // Both are still what the workspace keeps (the listed one until it is forgotten).
    let ws = saved(&mut t);
    assert_eq!(ws.open.len(), 2);
    assert_eq!(ws.open[0].view.filter, "bob");
    t.click("Reconnect Northwind EOP");
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: p[1].id
        }));
    t.click("Forget Northwind EOP");
    assert!(!t.has("Reconnect Northwind EOP"));
    assert_eq!(saved(&mut t).open.len(), 1);
}
