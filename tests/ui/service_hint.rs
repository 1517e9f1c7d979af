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
    t.push(UiEvent::CatalogueReady {
        conn: cid(1),
        catalogue: catalogue(&["Get-Mailbox", "Get-SafeLinksPolicy", "Get-OwaMailboxPolicy"]),
    });
    t.push(UiEvent::CatalogueReady {
        conn: cid(2),
        catalogue: catalogue(&["Get-ComplianceSearch", "Get-Label"]),
    });
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
