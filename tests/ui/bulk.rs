//! "Run for each row…" in the window with the real driver and the sim: 250 selected rows of a
//! Get-Mailbox result, an unknown placeholder named before anything runs, the dry-run preview
//! of the exact calls, one confirmation for the batch, the per-row results with the sim's 3
//! failing rows, "Retry failed" sending only those, and a later Get showing the change; the
//! same from a CSV file typed into the window's path field (no file dialog here).

use egui_kittest::kittest::Queryable;
use exo_connect::ui::bridge::{ConnId, SessionState, SignInStage};

use crate::common::signin_support::password_of;

use super::engine::{E, start};

const VALUE: &str = "Window bulk";

/// Runs `line` in `conn`'s output and waits for its end.
pub(crate) fn run(e: &mut E, conn: ConnId, line: &str) {
    e.h.state_mut().set_cmdlet_line(conn, line);
    e.h.run_steps(2);
    e.click("Run");
    e.wait(line, |a| {
        a.output(conn)
            .is_some_and(|o| o.running.is_none() && (o.summary.is_some() || o.error.is_some()))
    });
}

pub(crate) fn connect(e: &mut E) -> ConnId {
    e.connect_with_password("Contoso EXO", "ops@contoso.com");
    e.wait("the session", |a| {
        a.signin.is_none()
            && a.sessions.len() == 1
            && a.sessions[0].state == SessionState::Connected
    });
    e.click("Open output");
    e.h.state().sessions[0].conn
}

/// The bulk run's rows that failed (0-based), once every row has its result.
fn wait_results(e: &mut E, n: usize) -> Vec<usize> {
    e.wait("the bulk results", |a| {
        a.bulk.open.as_ref().is_some_and(|b| {
            b.progress.is_none() && b.results.len() == n && b.results.iter().all(|r| r.is_some())
        })
    });
    let b = e.h.state().bulk.open.as_ref().unwrap();
    let failed = b.results.iter().flatten().filter(|r| !r.ok);
    failed.map(|r| r.row).collect()
}

fn batches_since(e: &E, before: usize) -> usize {
    e.sim.admin.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("$batch"))
        .count()
}

#[test]
fn two_hundred_fifty_selected_rows_preview_confirm_results_and_retry_failed() {
    let mut e = start(|s| s.mailboxes = 300, |_| {});
    // 300 mailboxes include names in scripts the test fonts lack (Arabic): boxes, not a panic.
    e.h.ctx
        .set_missing_glyph_policy(egui::epaint::text::MissingGlyphPolicy::Tofu);
    let conn = connect(&mut e);
    run(&mut e, conn, "Get-Mailbox -ResultSize 250");
    assert_eq!(e.h.state().output(conn).unwrap().results().len(), 250);
    e.click("Select all");
    assert!(e.has("250 selected"));
    e.click("Run for each selected row…");
    assert!(e.has_containing("250 selected rows of Get-Mailbox -ResultSize 250"));

    // An unknown placeholder is named before anything can run.
    let field = "Change line ({Column} is the row's value)";
    e.type_into(field, "Set-Mailbox -Identity {Mailbox}");
    assert!(e.has_containing("{Mailbox} names no column of the table"));
    assert!(e.disabled("Preview"));
    let line = format!("Set-Mailbox -Identity {{PrimarySmtpAddress}} -CustomAttribute1 '{VALUE}'");
    e.h.state_mut().bulk.open.as_mut().unwrap().template = line;
    e.h.run_steps(2);

    // The dry run: the exact calls, nothing sent.
    let before = e.sim.admin.requests().len();
    e.click("Preview");
    assert!(e.has("Dry run: 250 calls of Set-Mailbox, nothing sent yet"));
    let first = e.h.state().output(conn).unwrap().results();
    let col = first.column_index("PrimarySmtpAddress").unwrap();
    let (a0, a5) = (first.cell_string(0, col), first.cell_string(5, col));
    assert!(e.has(&format!(
        "Row 1: Set-Mailbox -Identity '{a0}' -CustomAttribute1 '{VALUE}'"
    )));
    assert!(e.has_containing(&format!("\"Identity\":\"{a5}\"")));
    assert!(e.has_containing("\"Confirm\":false"));
    assert!(e.has("… and 230 more calls"));
    assert_eq!(
        e.sim.admin.requests().len(),
        before,
        "a preview sends nothing"
    );

    // One confirmation for the batch; three items of the sim's batches fail.
    e.click("Run for 250 rows…");
    assert!(e.has("Run Set-Mailbox for 250 rows?"));
    assert!(e.has("Profile Contoso EXO · tenant Contoso · cmdlet Set-Mailbox · 250 rows"));
    e.sim
        .admin
        .inject_spec(
            "batchitem:item=6:status=400,batchitem:item=1:status=400,batchitem:item=10:status=400",
        )
        .unwrap();
    e.click("Yes, run Set-Mailbox for 250 rows");
    assert_eq!(wait_results(&mut e, 250), [5, 10, 29]);
    assert!(e.has("250 rows: 247 ok, 3 failed"));
    assert_eq!(batches_since(&e, before), 25, "chunks of 10");
    assert!(e.has("error"), "the grid shows the failed rows");

    // Retry failed: only the three rows, in one $batch.
    let before = e.sim.admin.requests().len();
    e.click("Retry failed (3)");
    assert_eq!(wait_results(&mut e, 250), Vec::<usize>::new());
    assert!(e.has("250 rows: 250 ok, 0 failed"));
    assert_eq!(batches_since(&e, before), 1, "3 rows: one $batch, not 25");
    e.click("Close");

    // The sim's state: every mailbox has the value.
    run(&mut e, conn, "Get-Mailbox -ResultSize 250");
    let o = e.h.state().output(conn).unwrap();
    let store = o.results();
    let c = store.column_index("CustomAttribute1").unwrap();
    let wrong: Vec<String> = (0..store.len())
        .map(|r| store.cell_string(r, c))
        .filter(|v| v != VALUE)
        .collect();
    assert_eq!(store.len(), 250);
    assert!(
        wrong.is_empty(),
        "{} rows unchanged: {wrong:?}",
        wrong.len()
    );
}

/// A sim of `mailboxes`, the first `n` selected, "Set-Mailbox … -CustomAttribute1 'value'" for
/// each previewed: the dialog asks for the confirmation.
fn confirm_stage(mailboxes: usize, n: usize, value: &str) -> (E, ConnId) {
    let mut e = start(|s| s.mailboxes = mailboxes, |_| {});
    e.h.ctx
        .set_missing_glyph_policy(egui::epaint::text::MissingGlyphPolicy::Tofu);
    let conn = connect(&mut e);
    run(&mut e, conn, &format!("Get-Mailbox -ResultSize {n}"));
    e.click("Select all");
    e.click("Run for each selected row…");
    let line = format!("Set-Mailbox -Identity {{PrimarySmtpAddress}} -CustomAttribute1 '{value}'");
    e.h.state_mut().bulk.open.as_mut().unwrap().template = line;
    e.h.run_steps(2);
    e.click("Preview");
    e.click(&format!("Run for {n} rows…"));
    (e, conn)
}

#[test]
fn cancel_stops_after_the_chunk_in_flight_and_retry_sends_the_rest() {
    let (mut e, conn) = confirm_stage(120, 100, "Stopped");
    // Every $batch answers after 300 ms: the cancel lands while chunks remain.
    e.sim.admin.inject_spec("slow:ms=300:times=10").unwrap();
    let before = e.sim.admin.requests().len();
    e.click("Yes, run Set-Mailbox for 100 rows");
    e.wait("the first chunk", |a| {
        a.bulk
            .open
            .as_ref()
            .is_some_and(|b| b.progress.is_some_and(|p| p.0 >= 10))
    });
    // The first chunk's rows show while the run goes on.
    assert!(e.has_containing("Sent 10 of 100 rows") || e.has_containing("Sent 20 of 100"));
    e.click("Cancel");
    e.wait("the cancel", |a| {
        a.bulk.open.as_ref().is_some_and(|b| b.progress.is_none())
    });
    let b = e.h.state().bulk.open.as_ref().unwrap();
    let done = b.results.iter().flatten().count();
    assert!(
        (10..100).contains(&done) && done % 10 == 0,
        "{done} rows done"
    );
    assert!(
        b.results[..done]
            .iter()
            .all(|r| r.as_ref().is_some_and(|r| r.ok))
    );
    assert!(
        b.results[done..].iter().all(Option::is_none),
        "no row after the cancel"
    );
    assert_eq!(
        batches_since(&e, before),
        done / 10,
        "nothing sent after the cancel"
    );
    assert!(e.has_containing(&format!("Cancelled after {done} of 100 rows")));
    assert!(e.has(&format!(
        "100 rows: {done} ok, 0 failed, {} not sent",
        100 - done
    )));

    // Retry sends exactly the rows not sent.
    let before = e.sim.admin.requests().len();
    e.click(&format!("Retry failed and unsent ({})", 100 - done));
    assert_eq!(wait_results(&mut e, 100), Vec::<usize>::new());
    assert_eq!(batches_since(&e, before), (100 - done).div_ceil(10));
    assert!(e.has("100 rows: 100 ok, 0 failed"));
    e.click("Close");
    run(&mut e, conn, "Get-Mailbox -ResultSize 100");
    let store = e.h.state().output(conn).unwrap().results();
    let c = store.column_index("CustomAttribute1").unwrap();
    assert!((0..store.len()).all(|r| store.cell_string(r, c) == "Stopped"));
}

#[test]
fn a_revoked_session_mid_run_brings_the_sign_in_over_the_dialog_and_retry_sends_the_rest() {
    let (mut e, conn) = confirm_stage(60, 50, "Revoked");
    e.sim.admin.inject_spec("slow:ms=300:times=5").unwrap();
    e.click("Yes, run Set-Mailbox for 50 rows");
    e.wait("the first chunk", |a| {
        a.bulk
            .open
            .as_ref()
            .is_some_and(|b| b.progress.is_some_and(|p| p.0 >= 10))
    });
    // The tenant revokes the account's sessions and refresh tokens mid-run.
    e.sim.revoke_account("ops@contoso.com");
    assert!(e.sim.auth.revoke_refresh_tokens("ops@contoso.com") > 0);
    e.wait("the sign-in dialog, over the bulk dialog", |a| {
        a.signin
            .as_ref()
            .is_some_and(|v| v.reason.is_some() && matches!(v.stage, SignInStage::Password { .. }))
            && a.bulk.open.as_ref().is_some_and(|b| b.progress.is_none())
    });
    let b = e.h.state().bulk.open.as_ref().unwrap();
    let done = b.results.iter().flatten().count();
    assert!(
        (10..50).contains(&done),
        "{done} rows done before the revoke"
    );
    assert!(
        b.results.iter().flatten().all(|r| r.ok),
        "no row failed half-way"
    );
    assert!(e.has_containing("revoked this session's access"));
    // The sign-in dialog is the top modal (a newly shown one goes on top; under the bulk dialog
    // a person could not reach it).
    e.h.run_steps(2);
    let top = e.h.ctx.memory(|m| m.top_modal_layer()).map(|l| l.id);
    assert_eq!(
        top,
        Some(egui::Id::unique("signin")),
        "the sign-in dialog on top"
    );
    e.type_into("Password", &password_of("ops@contoso.com"));
    e.click("Sign in");
    e.wait("signed in again", |a| a.signin.is_none());
    e.click(&format!("Retry failed and unsent ({})", 50 - done));
    assert_eq!(wait_results(&mut e, 50), Vec::<usize>::new());
    e.click("Close");
    run(&mut e, conn, "Get-Mailbox -ResultSize 50");
    let store = e.h.state().output(conn).unwrap().results();
    let c = store.column_index("CustomAttribute1").unwrap();
    assert!((0..store.len()).all(|r| store.cell_string(r, c) == "Revoked"));
    assert_eq!(e.h.state().sessions.len(), 1, "the same session");
}

#[test]
fn a_csv_file_typed_into_the_path_field_runs_for_each_row() {
    let mut e = start(|_| {}, |_| {});
    let conn = connect(&mut e);
    run(&mut e, conn, "Get-Mailbox -ResultSize 3");
    let store = e.h.state().output(conn).unwrap().results();
    let col = store.column_index("PrimarySmtpAddress").unwrap();
    let ids: Vec<String> = (0..3).map(|r| store.cell_string(r, col)).collect();
    let path = e.dir.path().join("rows.csv");
    let mut text = String::from("Identity,Department\n");
    for (k, id) in ids.iter().enumerate() {
        text.push_str(&format!("{id},\"Dept {k}, O'Neil\"\n"));
    }
    text.push_str("ghost@contoso.com,x\n");
    std::fs::write(&path, text).unwrap();

    e.dialogs.set_unavailable(Some("no file dialog here"));
    e.click("Run for each row of a CSV file…");
    e.wait_exact("File path");
    set_path(&mut e, &path);
    e.click("Open");
    e.wait_label("4 rows · columns: Identity, Department");
    e.type_into(
        "Change line ({Column} is the row's value)",
        "Set-Mailbox -Identity {Identity} -CustomAttribute1 {Department}",
    );
    e.click("Preview");
    assert!(e.has(&format!(
        "Row 1: Set-Mailbox -Identity '{}' -CustomAttribute1 'Dept 0, O''Neil'",
        ids[0]
    )));
    e.click("Run for 4 rows…");
    e.click("Yes, run Set-Mailbox for 4 rows");
    assert_eq!(wait_results(&mut e, 4), [3], "the unknown mailbox fails");
    assert!(e.has_containing("ghost@contoso.com"));

    // Export CSV… of the results (the output pane's own Export is under the dialog).
    let out = e.dir.path().join("results.csv");
    e.dialogs.set_unavailable(None);
    e.dialogs.set_answer(Some(out.clone()));
    e.h.query_all_by_label("Export CSV…")
        .last()
        .unwrap()
        .click();
    e.wait("the export", |_| out.exists());
    e.wait_label("Exported 4 rows");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("Row,Result,Error,Call"), "{text}");
    assert!(
        text.contains("4,error,") && text.contains("ghost@contoso.com"),
        "{text}"
    );
    e.click("Close");
    run(&mut e, conn, "Get-Mailbox -ResultSize 3");
    let store = e.h.state().output(conn).unwrap().results();
    let c = store.column_index("CustomAttribute1").unwrap();
    for k in 0..3 {
        assert_eq!(store.cell_string(k, c), format!("Dept {k}, O'Neil"));
    }
}

/// Replaces the path field's text (the window filled in the default folder).
fn set_path(e: &mut E, path: &std::path::Path) {
    e.h.state_mut().set_path_prompt(&path.display().to_string());
    e.h.run_steps(2);
}

mod scripted {
    //! Against a scripted backend: Ctrl+click picks rows, a `prod` profile's batch needs the
    //! tick, the command carries exactly the picked rows' lines, Retry failed only the failed.

    use egui_kittest::kittest::Queryable;
    use exo_connect::ui::bridge::{BulkRowView, UiCommand, UiEvent};

    use super::super::app::{cid, output_app};

    fn bulk_sent(t: &super::super::app::T) -> Vec<Vec<(usize, String)>> {
        let cmds = t.fake.commands();
        let runs = cmds.iter().filter_map(|c| match c {
            UiCommand::RunBulk { rows, .. } => Some(rows.clone()),
            _ => None,
        });
        runs.collect()
    }

    #[test]
    fn a_prod_batch_needs_the_tick_and_retry_failed_sends_only_the_failed_rows() {
        let (mut t, _) = output_app();
        t.click("Quick test: Get-Mailbox -ResultSize 10");
        t.click("Bob Jones");
        t.h.get_by_label("Carol White")
            .click_modifiers(egui::Modifiers::COMMAND);
        t.h.run();
        assert!(t.has("2 selected"));
        t.click("Run for each selected row…");
        t.type_into(
            "Change line ({Column} is the row's value)",
            "Set-Mailbox -Identity {PrimarySmtpAddress} -CustomAttribute1 {DisplayName}",
        );
        t.click("Preview");
        assert!(t.has(
            "Row 2: Set-Mailbox -Identity 'carol@contoso.com' -CustomAttribute1 'Carol White'"
        ));
        t.click("Run for 2 rows…");
        assert!(t.has("Change the PRODUCTION tenant Contoso?"));
        let yes = "Yes, run Set-Mailbox for 2 rows";
        t.click(yes);
        assert!(bulk_sent(&t).is_empty(), "a disabled Yes sends nothing");
        t.click("I checked: these 2 changes are meant for the production tenant Contoso");
        // The spinner repaints while the batch runs: steps, not `run`.
        t.h.get_by_label(yes).click();
        t.h.run_steps(3);
        let sent = bulk_sent(&t);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].len(), 2);
        assert_eq!(
            sent[0][0].1,
            "Set-Mailbox -Identity 'bob@contoso.com' -CustomAttribute1 'Bob Jones'"
        );
        assert!(t.has("Sent 0 of 2 rows…"));
        let run = t.h.state().bulk.open.as_ref().unwrap().run;
        let row = |row, ok: bool| BulkRowView {
            row,
            ok,
            status: Some(if ok { 200 } else { 404 }),
            message: if ok { "" } else { "Couldn't find object" }.into(),
        };
        t.push(UiEvent::BulkDone {
            conn: cid(1),
            run,
            results: Ok(vec![row(0, true), row(1, false)]),
            note: None,
        });
        assert!(t.has("2 rows: 1 ok, 1 failed"));
        assert!(t.has("Couldn't find object"));
        t.h.get_by_label("Retry failed (1)").click();
        t.h.run_steps(3);
        let sent = bulk_sent(&t);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1].len(), 1, "only the failed row");
        assert_eq!(sent[1][0].0, 1);
        let run = t.h.state().bulk.open.as_ref().unwrap().run;
        t.push(UiEvent::BulkDone {
            conn: cid(1),
            run,
            results: Ok(vec![row(1, true)]),
            note: None,
        });
        assert!(t.has("2 rows: 2 ok, 0 failed"));
    }
}
