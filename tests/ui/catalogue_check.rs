//! The live catalogue flags what it does not know before a run (real driver, the sim's
//! `EXOModuleFile`): a misspelt parameter or cmdlet is said under the line with the closest
//! known name and nothing is sent; Run again sends it anyway (the catalogue may be stale).

use exo_connect::ui::bridge::ConnId;

use super::bulk::connect;
use super::engine::{E, start};

/// InvokeCommand requests of `cmdlet` the sim saw.
fn sent(e: &E, cmdlet: &str) -> usize {
    e.sim
        .admin
        .requests()
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some(cmdlet))
        .count()
}

fn click_run(e: &mut E, conn: ConnId, line: &str) {
    e.h.state_mut().set_cmdlet_line(conn, line);
    e.h.run_steps(2);
    e.click("Run");
}

#[test]
fn an_unknown_parameter_or_cmdlet_is_flagged_and_a_second_run_sends_it() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    e.wait("the session's catalogue", |a| {
        a.output(conn)
            .is_some_and(|o| o.completion.catalogue.is_some())
    });
    let before = sent(&e, "Get-Mailbox");
    click_run(&mut e, conn, "Get-Mailbox -ResultSise 5");
    assert!(e.has_containing(
        "Get-Mailbox has no parameter -ResultSise in this tenant's cmdlet catalogue"
    ));
    assert!(e.has_containing("did you mean -ResultSize?"));
    assert!(e.has_containing("Run again (or Enter) to send it anyway"));
    assert!(e.h.state().output(conn).unwrap().running.is_none());
    assert_eq!(sent(&e, "Get-Mailbox"), before, "nothing sent");

    // The second Run sends it as typed: the service has the last word.
    e.click("Run");
    e.wait("the service's answer", |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && o.error.is_some())
    });
    assert_eq!(sent(&e, "Get-Mailbox"), before + 1);
    assert!(!e.has_containing("Run again (or Enter)"));

    // A cmdlet the catalogue lacks, with the closest one; a known line runs at once.
    click_run(&mut e, conn, "Get-Mailboxx");
    assert!(e.has_containing("Get-Mailboxx is not in this tenant's cmdlet catalogue"));
    assert!(e.has_containing("did you mean Get-Mailbox?"));
    click_run(&mut e, conn, "Get-Mailbox -ResultSize 5");
    e.wait("the run", |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && o.summary.is_some())
    });
    assert_eq!(sent(&e, "Get-Mailbox"), before + 2);
    assert!(!e.has_containing("did you mean"));
}
