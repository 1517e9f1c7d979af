//! Connects that come while a sign-in dialog is open (issue 12: "Connect all in folder"; an
//! Undo; a Connect during a fan-out's sign-in turn), against the real driver and the sim: the
//! profiles with a cached sign-in connect without a dialog, the one that needs a sign-in waits
//! for the dialog, and the dialog that is open stays.

use egui_kittest::kittest::Queryable;

use exo_connect::ui::bridge::{SessionState, SignInStage};

use super::engine::start;

#[test]
fn connect_all_in_folder_connects_the_cached_ones_and_gives_the_dialog_to_the_one_left() {
    let mut e = start(|_| {}, |_| {});
    // ops@contoso.com signs in once (Contoso EXO); Contoso SCC uses the same account.
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the Contoso EXO session", |a| {
        a.signin.is_none() && a.sessions.len() == 1
    });
    e.click("Disconnect");
    e.wait("no session", |a| a.sessions.is_empty());
    // The folder holds Contoso EXO (MFA) (admin@contoso.com: device code, no cached sign-in),
    // Contoso EXO and Contoso SCC (ops@contoso.com: cached).
    e.h.get_by_label("Contoso").click_secondary();
    e.h.run_steps(2);
    e.click("Connect all in folder");
    e.wait("two sessions, and the MFA profile's dialog", |a| {
        let connected = a
            .sessions
            .iter()
            .filter(|s| s.state == SessionState::Connected)
            .count();
        connected == 2
            && a.signin.as_ref().is_some_and(|v| {
                v.profile_name == "Contoso EXO (MFA)"
                    && matches!(v.stage, SignInStage::DeviceCode { .. })
            })
    });
    let mut names: Vec<String> =
        e.h.state()
            .sessions
            .iter()
            .map(|s| s.profile_name.clone())
            .collect();
    names.sort();
    assert_eq!(names, ["Contoso EXO", "Contoso SCC"]);
    // Cancel closes it; nothing else waits, so no other dialog opens and the sessions stay.
    e.click("Cancel");
    e.wait("the dialog closed", |a| a.signin.is_none());
    e.h.run_steps(5);
    assert!(e.h.state().signin.is_none());
    assert_eq!(e.connected(), 2);
}
