//! The wrong-service hint from the live catalogues (issue 15): a cmdlet the other service's
//! catalogue knows — not only the names of a fixed list — is flagged in a session of the wrong
//! service with "this cmdlet belongs to Exchange Online / Security & Compliance" first.

use std::sync::Arc;

use exo_connect::model::Service;
use exo_connect::model::catalogue::{CatalogueCmdlet, CmdletCatalogue};
use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};

use super::app::{app, cid, profile, session, three_profiles};

fn catalogue(names: &[&str]) -> Arc<CmdletCatalogue> {
    let mut c = CmdletCatalogue::default();
    for n in names {
        let cmdlet = CatalogueCmdlet {
            name: n.to_string(),
            params: Vec::new(),
        };
        c.cmdlets.insert(n.to_ascii_lowercase(), cmdlet);
    }
    Arc::new(c)
}

#[test]
fn a_cmdlet_the_other_services_catalogue_knows_is_named_as_its() {
    let mut t = app();
    let mut p = three_profiles();
    p.push(profile(
        "Contoso SCC",
        "admin@contoso.com",
        Service::SecurityCompliance,
        "Contoso",
        &[],
    ));
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &p[2], SessionState::Connected, 2700),
        session(2, &p[3], SessionState::Connected, 2700),
    ]));
    // Neither name is in any fixed list: only Exchange Online's catalogue knows them.
    let exo = catalogue(&["Get-Mailbox", "Get-SafeLinksPolicy", "Get-OwaMailboxPolicy"]);
    let scc = catalogue(&["Get-ComplianceSearch", "Get-Label"]);
    t.push(UiEvent::CatalogueReady {
        conn: cid(1),
        catalogue: exo.clone(),
    });
    t.push(UiEvent::CatalogueReady {
        conn: cid(2),
        catalogue: scc.clone(),
    });
    // The driver's list of what is known per service.
    t.push(UiEvent::CataloguesKnown(Arc::new(vec![
        (Service::ExchangeOnline, exo),
        (Service::SecurityCompliance, scc),
    ])));
    t.click("Output tab: Contoso SCC");
    t.h.state_mut()
        .set_cmdlet_line(cid(2), "Get-SafeLinksPolicy");
    t.h.run();
    t.click("Run");
    assert!(t.has_containing(
        "Get-SafeLinksPolicy belongs to Exchange Online, not Security & Compliance"
    ));
    assert!(!t.sent(|c| matches!(c, UiCommand::Run { .. })), "not sent");

    // The reverse: a compliance cmdlet in the Exchange Online session.
    t.click("Output tab: Fabrikam Gov");
    t.h.state_mut().set_cmdlet_line(cid(1), "Get-Label");
    t.h.run();
    t.click("Run");
    assert!(t.has_containing("Get-Label belongs to Security & Compliance, not Exchange Online"));
}

/// The real driver and the sim: Get-User is Exchange Online's (the sim's SCC host has no such
/// cmdlet) and no fixed list names it; once an Exchange Online session brought its catalogue,
/// the line in a Security & Compliance session is flagged as Exchange Online's, and the
/// service's refusal, when sent anyway, leads with the same sentence.
#[test]
fn the_driver_names_the_service_from_the_live_catalogues() {
    use super::engine::start;
    let mut e = start(|_| {}, |_| {});
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the EXO session's catalogue", |a| {
        a.sessions.iter().any(|s| {
            a.output(s.conn)
                .is_some_and(|o| o.completion.catalogue.is_some())
        })
    });
    e.click_profile("Contoso SCC");
    e.click("Profile editor");
    connect_scc(&mut e, 2);
    e.wait("the SCC session's catalogue", |a| {
        a.sessions.iter().any(|s| {
            s.service == Service::SecurityCompliance
                && a.output(s.conn)
                    .is_some_and(|o| o.completion.catalogue.is_some())
        })
    });
    let scc =
        e.h.state()
            .sessions
            .iter()
            .find(|s| s.service == Service::SecurityCompliance);
    let conn = scc.unwrap().conn;
    e.click("Output tab: Contoso SCC");
    e.h.state_mut().set_cmdlet_line(conn, "Get-User");
    e.h.run_steps(2);
    e.click("Run");
    let lead = "Get-User belongs to Exchange Online, not Security & Compliance";
    assert!(e.has_containing(lead), "flagged before it is sent");
    e.click("Run");
    e.wait("the service's refusal", |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && o.error.is_some())
    });
    let error = e.h.state().output(conn).unwrap().error.clone().unwrap();
    assert!(error.starts_with(lead), "{error}");
}

/// The driver owns the list of catalogues known per service and sends it to the window: a
/// catalogue it knows only from the tenant's cache file (Exchange Online's, from an earlier
/// day's session; no Exchange Online session now) flags the line in a Security & Compliance
/// session before it is sent (a name no noun list knows: only that catalogue can tell).
#[test]
fn the_window_flags_a_line_with_the_catalogue_the_driver_knows_from_the_cache() {
    use super::engine::start;
    use exo_connect::model::catalogue::{cache_path, save_cached};
    let mut e = start(|_| {}, |_| {});
    let tid = e.sim.world().tenant("contoso.onmicrosoft.com").unwrap().id;
    let path = cache_path(e.dir.path(), "ExchangeOnline", &tid.to_string());
    save_cached(&path, &catalogue(&["Get-Mailbox", "Get-CachedOnlyThing"])).unwrap();
    e.click_profile("Contoso SCC");
    connect_scc(&mut e, 1);
    e.wait("the SCC session's catalogue", |a| {
        a.sessions.iter().any(|s| {
            a.output(s.conn)
                .is_some_and(|o| o.completion.catalogue.is_some())
        })
    });
    let conn = e.h.state().sessions[0].conn;
    e.click("Output tab: Contoso SCC");
    e.h.state_mut().set_cmdlet_line(conn, "Get-CachedOnlyThing");
    e.h.run_steps(2);
    let before = e.sim.admin.requests().len();
    e.click("Run");
    for _ in 0..10 {
        e.h.run_steps(2);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert!(
        e.has_containing(
            "Get-CachedOnlyThing belongs to Exchange Online, not Security & Compliance"
        ),
        "flagged"
    );
    let o = e.h.state().output(conn).unwrap();
    assert!(
        o.running.is_none() && o.error.is_none(),
        "not sent, no failure"
    );
    assert_eq!(e.sim.admin.requests().len(), before, "nothing sent");
}

/// Connect on the selected "Contoso SCC" profile: the password step if the sign-in asks for one
/// (the account may already be signed in), until the window has `sessions` sessions or the dialog.
fn connect_scc(e: &mut super::engine::E, sessions: usize) {
    use exo_connect::ui::bridge::SignInStage;
    e.click("Connect");
    e.wait("a password step or the SCC session", |a| {
        matches!(
            a.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::Password { .. })
        ) || a.sessions.len() == sessions
    });
    if e.h.state().signin.is_some() {
        e.type_into(
            "Password",
            &crate::common::signin_support::password_of("ops@contoso.com"),
        );
        e.click("Sign in");
    }
}
