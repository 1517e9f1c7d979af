//! The window's side of the admin API's 2026 behaviours with the real driver and the sim: the
//! service's confirmation answered No (a later Get shows nothing changed) and Yes (the change is
//! there), `-WhatIf` (its answer shown, nothing changed), and the session row's rate gauge from
//! the sim's `Rate-Limit-*` headers; a revoked session's sign-in and re-run, and the re-run
//! refused again after the new sign-in failing plainly (no second sign-in loop).

use egui_kittest::kittest::Queryable;
use exo_connect::ui::bridge::{ConnId, SessionState, SignInStage};

use crate::common::signin_support::password_of;

use super::engine::{E, start};

const RULE: &str = "Window confirm test";

/// Runs `line` in `conn`'s output and waits for its end.
fn run(e: &mut E, conn: ConnId, line: &str) {
    e.h.state_mut().set_cmdlet_line(conn, line);
    e.h.run_steps(2);
    e.click("Run");
    e.wait(line, |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && (o.summary.is_some() || o.error.is_some()))
    });
}

/// The rule's `State` as a Get in the sim shows it (None: no such rule).
fn rule_state(e: &mut E, conn: ConnId) -> Option<String> {
    run(e, conn, &format!("Get-TransportRule -Identity '{RULE}'"));
    let o = e.h.state().output(conn).unwrap();
    if o.error.is_some() {
        return None;
    }
    let store = o.results();
    let col = store.column_index("State")?;
    (store.len() == 1).then(|| store.cell_string(0, col))
}

fn connect(e: &mut E) -> ConnId {
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the session", |a| {
        a.signin.is_none()
            && a.sessions.len() == 1
            && a.sessions[0].state == SessionState::Connected
    });
    e.click("Open output");
    e.h.state().sessions[0].conn
}

#[test]
fn the_services_confirmation_in_the_window_no_changes_nothing_yes_does() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    assert_eq!(rule_state(&mut e, conn), None, "no such rule yet");

    let create = format!("New-TransportRule -Name '{RULE}'");
    run(&mut e, conn, &create);
    e.wait("the service's question", |a| {
        a.service_confirm.pending.is_some()
    });
    assert!(e.has("Confirm New-TransportRule?"));
    assert!(
        e.has_containing("Creating transport rule"),
        "the service's own text"
    );
    assert!(e.has("Profile Contoso EXO · tenant Contoso · cmdlet New-TransportRule"));
    e.click("No");
    assert!(e.has_containing("was not run: not confirmed"));
    assert_eq!(rule_state(&mut e, conn), None, "No changed nothing");

    // -WhatIf: the service's preview, nothing changed, no question.
    run(&mut e, conn, &format!("{create} -WhatIf"));
    e.wait_label("What if: Performing the operation \"New-TransportRule\"");
    assert!(e.has("-WhatIf preview: the service changed nothing"));
    assert!(e.h.state().service_confirm.pending.is_none());
    assert_eq!(rule_state(&mut e, conn), None, "WhatIf changed nothing");

    // Yes: sent again with Confirm:false; a later Get shows the rule.
    let before = e.sim.admin.requests().len();
    run(&mut e, conn, &create);
    e.wait("the service's question", |a| {
        a.service_confirm.pending.is_some()
    });
    e.click("Yes, run New-TransportRule");
    e.wait("the confirmed run", |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && o.summary.is_some())
    });
    let sent = e.sim.admin.requests()[before..]
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("New-TransportRule"))
        .count();
    assert_eq!(sent, 2, "asked once, sent once more");
    assert_eq!(rule_state(&mut e, conn).as_deref(), Some("Enabled"));

    // The session row's gauge: the sim announces its budget on every answer.
    e.wait_label("% left");
    let rate = e.h.state().sessions[0].rate.expect("the sim's budget");
    assert_eq!(rate.limit, 1000, "the sim's default capacity");
    assert!(rate.remaining < rate.limit);
}

/// The `EXOModuleFile` requests the sim saw.
fn catalogue_fetches(e: &E) -> usize {
    e.sim
        .admin
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/EXOModuleFile"))
        .count()
}

#[test]
fn the_catalogue_comes_on_connect_once_and_completes_the_cmdlet_line() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    e.wait("the session's catalogue", |a| {
        a.output(conn)
            .is_some_and(|o| o.completion.catalogue.is_some())
    });
    assert_eq!(
        catalogue_fetches(&e),
        1,
        "fetched in the background on connect"
    );
    let cat =
        e.h.state()
            .output(conn)
            .unwrap()
            .completion
            .catalogue
            .clone();
    let cat = cat.unwrap();
    assert!(cat.cmdlet("Get-Mailbox").is_some());
    e.type_into("Cmdlet", "Get-Mai");
    assert!(e.has("Get-Mailbox"), "Get-Mai offers Get-Mailbox");
    assert!(e.has_containing("from the tenant's catalogue"));
    e.h.key_press(egui::Key::Tab);
    e.h.run_steps(2);
    e.h.get_by_label("Cmdlet").type_text("-");
    e.h.run_steps(2);
    let first_param = &cat.cmdlet("Get-Mailbox").unwrap().params[0].name;
    assert!(
        e.has(&format!("-{first_param}")),
        "its parameters after the name"
    );

    // A second session of the same tenant and service: the cached catalogue, no new fetch.
    e.click_profile("Contoso EXO");
    // A connected profile shows its output tab: back to its editor for Connect.
    e.click("Profile editor");
    e.click("Connect");
    e.wait("the second session", |a| {
        a.sessions
            .iter()
            .filter(|s| s.state == SessionState::Connected)
            .count()
            == 2
            && a.sessions.iter().all(|s| {
                a.output(s.conn)
                    .is_some_and(|o| o.completion.catalogue.is_some())
            })
    });
    assert_eq!(
        catalogue_fetches(&e),
        1,
        "the second session used the cache"
    );
    let cache = e.dir.path().join("catalogues");
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        1,
        "one cache file"
    );
}

/// The `acrs` claim of the last access token the sim issued.
fn last_token_acrs(e: &E) -> Vec<String> {
    use base64::Engine;
    let issued = e.sim.auth.issued_secrets();
    let (_, at) = issued
        .iter()
        .rev()
        .find(|(k, _)| *k == "access_tokens")
        .expect("an access token");
    let payload = at.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["acrs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_revoked_session_brings_the_sign_in_back_and_the_command_runs_again_in_it() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    // The tenant revokes the account's sessions and its refresh tokens: the cached sign-in
    // cannot answer the claims challenge, only an interactive sign-in can.
    let challenge = e.sim.revoke_account("ops@contoso.com");
    assert!(e.sim.auth.revoke_refresh_tokens("ops@contoso.com") > 0);
    let acrs: serde_json::Value = serde_json::from_str(&challenge).unwrap();
    let acrs = acrs["access_token"]["acrs"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let before = e.sim.admin.requests().len();
    run(&mut e, conn, "Get-AcceptedDomain");
    assert!(e.h.state().output(conn).unwrap().error.is_some());
    e.wait("the sign-in dialog, back", |a| {
        a.signin
            .as_ref()
            .is_some_and(|v| v.reason.is_some() && matches!(v.stage, SignInStage::Password { .. }))
    });
    assert!(e.has_containing("The tenant revoked this session's access"));
    e.type_into("Password", &password_of("ops@contoso.com"));
    e.click("Sign in");
    // Signed in again, the interrupted command runs again by itself in the same session.
    e.wait("the command's rows, without a second click", |a| {
        a.signin.is_none()
            && a.output(conn).is_some_and(|o| {
                o.running.is_none()
                    && o.error.is_none()
                    && o.result_of == "Get-AcceptedDomain"
                    && !o.results().is_empty()
            })
    });
    assert!(
        last_token_acrs(&e).contains(&acrs),
        "the interactive sign-in carried the challenge's claims"
    );
    let sent: Vec<u16> = e.sim.admin.requests()[before..]
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("Get-AcceptedDomain"))
        .map(|r| r.status)
        .collect();
    assert_eq!(sent.last(), Some(&200), "{sent:?}");
    assert_eq!(
        sent.iter().filter(|s| **s == 200).count(),
        1,
        "run once more, not in a loop: {sent:?}"
    );
    let s = &e.h.state().sessions;
    assert_eq!(s.len(), 1, "one session row for the profile: {s:?}");
    assert_eq!(s[0].conn, conn, "the same session, its token replaced");
    assert_eq!(s[0].state, SessionState::Connected);
}

#[test]
fn a_rerun_refused_again_after_the_new_sign_in_fails_plainly_instead_of_looping() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    e.sim.revoke_account("ops@contoso.com");
    assert!(e.sim.auth.revoke_refresh_tokens("ops@contoso.com") > 0);
    let before = e.sim.admin.requests().len();
    run(&mut e, conn, "Get-AcceptedDomain");
    e.wait("the sign-in dialog, back", |a| {
        a.signin
            .as_ref()
            .is_some_and(|v| v.reason.is_some() && matches!(v.stage, SignInStage::Password { .. }))
    });
    // The re-run's request is held 1.5 s at the server; meanwhile the tenant revokes the new
    // sign-in too (its sessions and refresh tokens): the re-run meets a claims challenge that
    // again only an interactive sign-in could answer.
    e.sim.admin.inject_spec("slow:ms=1500").unwrap();
    e.type_into("Password", &password_of("ops@contoso.com"));
    e.click("Sign in");
    e.wait("signed in again", |a| a.signin.is_none());
    e.sim.revoke_account("ops@contoso.com");
    assert!(e.sim.auth.revoke_refresh_tokens("ops@contoso.com") > 0);
    e.wait("the re-run's end", |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && o.error.is_some())
    });
    let error = e.h.state().output(conn).unwrap().error.clone().unwrap();
    assert!(
        error.contains("still refuses this session after the new sign-in"),
        "a plain message: {error}"
    );
    // No second sign-in: the dialog stays closed and the line is not sent again.
    for _ in 0..20 {
        e.h.run_steps(2);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(e.h.state().signin.is_none(), "no second sign-in dialog");
    }
    // (A refused request's cmdlet is not logged: the sim checks the token first.)
    let sent: Vec<u16> = e.sim.admin.requests()[before..]
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(sent, [401, 401], "the line once and its re-run once");
    assert_eq!(e.h.state().sessions.len(), 1, "the same session");
}

#[test]
fn a_get_organization_config_run_names_the_profiles_tenant_without_another_request() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    let named = |e: &E| {
        e.h.state()
            .profiles
            .iter()
            .find(|p| p.name == "Contoso EXO")
            .and_then(|p| p.tenant_display_name().map(str::to_string))
    };
    assert_eq!(named(&e), None, "not known before");
    let before = e.sim.admin.requests().len();
    run(&mut e, conn, "Get-OrganizationConfig");
    let o = e.h.state().output(conn).unwrap();
    assert!(o.error.is_none(), "{:?}", o.error);
    let store = o.results();
    assert_eq!(store.len(), 1, "the run's own output, unchanged");
    let shown = store.cell_string(0, store.column_index("DisplayName").unwrap());
    assert!(!shown.trim().is_empty());
    assert_eq!(o.result_of, "Get-OrganizationConfig");
    e.wait("the profile list with the tenant's name", |a| {
        a.profiles
            .iter()
            .any(|p| p.tenant_display_name() == Some(shown.as_str()))
    });
    assert_eq!(named(&e).as_deref(), Some(shown.as_str()));
    let asked = e.sim.admin.requests()[before..]
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("Get-OrganizationConfig"))
        .count();
    assert_eq!(asked, 1, "no request of its own for the name");
}
