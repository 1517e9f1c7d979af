//! "Pick up where you left off" against the real driver and the sim: the sessions in the
//! workspace file come back silently from cached sign-ins and never open a sign-in dialog; one
//! whose cache is empty is listed with Reconnect, which is an ordinary connect. Each restored
//! session's cmdlet line comes back too (without rows).

use std::time::{Duration, Instant};

use exo_connect::model::store::ProfileStore;
use exo_connect::model::workspace::{self, OpenSession, OutputView, Workspace};
use exo_connect::model::{AuthMethod, Profile, Service};
use exo_connect::ui::bridge::{SessionState, SignInStage, UiEvent};

use crate::common::signin_support::password_of;
use crate::engine::{E, start_cfg};

fn workspace_with(id: uuid::Uuid) -> Workspace {
    let mut ws = Workspace::default();
    ws.open.push(OpenSession {
        profile_id: id,
        view: OutputView {
            line: "Get-AcceptedDomain".into(),
            filter: "contoso".into(),
            ..Default::default()
        },
    });
    ws
}

/// Step frames until `pred`, failing if a sign-in dialog ever shows meanwhile.
fn wait_no_dialog(e: &mut E, what: &str, pred: impl Fn(&exo_connect::ui::App) -> bool) {
    let start = Instant::now();
    loop {
        e.h.step();
        assert!(
            e.h.state().signin.is_none(),
            "a sign-in dialog opened while {what}"
        );
        if pred(e.h.state()) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(12),
            "timed out waiting for {what}; notices: {:?}",
            e.h.state().notices
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

#[test]
fn restore_lists_an_empty_cache_with_reconnect_and_reconnects_a_cached_one_silently() {
    let mut id = None;
    let mut e = start_cfg(
        |_| {},
        |_| {},
        |cfg| {
            // The profile the last run had open (the demo seeding keeps its id).
            let (mut store, _) = ProfileStore::open(&cfg.root).unwrap();
            let mut p = Profile::new("Contoso EXO", "ops@contoso.com", Service::ExchangeOnline);
            p.auth = AuthMethod::Password;
            id = Some(p.id);
            workspace::save(&cfg.root, &workspace_with(p.id)).unwrap();
            store.upsert(p).unwrap();
            store.save().unwrap();
        },
    );
    let id = id.unwrap();
    // The cache is empty (a new process, secrets in memory): listed, not prompted for.
    wait_no_dialog(&mut e, "the restore", |a| a.not_restored() == vec![id]);
    assert!(e.has("Reconnect Contoso EXO"));
    assert!(e.h.state().sessions.is_empty());

    // Reconnect is an ordinary connect: the password step, then the session with its view.
    e.click("Reconnect Contoso EXO");
    e.wait("the password step", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::Password { .. })
        )
    });
    e.type_into("Password", &password_of("ops@contoso.com"));
    e.click("Sign in");
    e.wait("the session", |a| {
        a.signin.is_none()
            && a.sessions
                .iter()
                .any(|s| s.state == SessionState::Connected)
    });
    let conn = e.h.state().sessions[0].conn;
    e.wait("the view", move |a| {
        a.output(conn)
            .is_some_and(|o| o.line == "Get-AcceptedDomain")
    });
    assert_eq!(e.h.state().output(conn).unwrap().filter, "contoso");
    assert!(e.h.state().not_restored().is_empty());

    // Closed (the sign-in stays cached), then restored: silently, no dialog.
    e.click("Disconnect");
    e.wait("the disconnect", |a| {
        a.sessions
            .iter()
            .all(|s| s.state == SessionState::Disconnected)
    });
    e.h.state_mut()
        .apply(UiEvent::WorkspaceLoaded(Box::new(workspace_with(id))));
    wait_no_dialog(&mut e, "the silent restore", |a| {
        a.sessions
            .iter()
            .any(|s| s.profile_id == id && s.state == SessionState::Connected)
    });
    let conn =
        e.h.state()
            .sessions
            .iter()
            .find(|s| s.state == SessionState::Connected)
            .unwrap()
            .conn;
    wait_no_dialog(&mut e, "the restored view", move |a| {
        a.output(conn)
            .is_some_and(|o| o.line == "Get-AcceptedDomain")
    });
    assert!(e.h.state().not_restored().is_empty());
}
