//! The live cmdlet catalogue (EXOModuleFile) fetched from the sim and parsed: the account's
//! roles decide what it lists (a Help Desk account sees fewer cmdlets), with typed parameters.

use std::sync::Arc;

use crate::common::connections_fixture::sim_rest_client;
use exo_connect::engine::rest::{RestClient, RestConfig};
use exo_connect::model::cmdline::parse_cmdlet_line;

fn client(h: &exo_connect::sim::SimHandle, upn: &str) -> Arc<RestClient> {
    sim_rest_client(h, upn, RestConfig::default())
}

#[tokio::test]
async fn the_catalogue_follows_the_accounts_roles() {
    let h = exo_connect::sim::start(Default::default()).await.unwrap();
    let admin = client(&h, "admin@contoso.com")
        .fetch_catalogue()
        .await
        .unwrap();
    let desk = client(&h, "servicedesk@contoso.com")
        .fetch_catalogue()
        .await
        .unwrap();
    assert!(!admin.module_version.is_empty());
    assert!(admin.cmdlet("Set-Mailbox").is_some());
    assert!(desk.cmdlet("Set-Mailbox").is_none());
    assert!(desk.cmdlet("Get-Mailbox").is_some());
    assert!(desk.cmdlets.len() < admin.cmdlets.len());
    assert_eq!(admin.complete("Get-Transport"), ["Get-TransportRule"]);
    let trace = admin.cmdlet("Get-MessageTrace").unwrap();
    let start = trace.params.iter().find(|p| p.name == "StartDate").unwrap();
    assert_eq!(start.ps_type, "datetime");
    // A line checked by it: dates by their declared type, unknown parameters refused.
    let mut l =
        parse_cmdlet_line("Get-MessageTrace -StartDate '2026-11-29T01:00:00+01:00'").unwrap();
    admin.check(&mut l).unwrap();
    assert_eq!(l.get("StartDate").unwrap(), "2026-11-29T00:00:00Z");
    let mut l = parse_cmdlet_line("Get-Mailbox -NoSuchThing").unwrap();
    assert!(admin.check(&mut l).is_err());
}
