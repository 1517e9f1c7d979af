//! The fan-out in the window (issue 12), by accessible label against the fake backend:
//! multi-select in the tree (Ctrl/Shift-click), the ways to start a run (selection, folder,
//! search results, tag) and its start dialog; the panel's per-profile states, Retry, Cancel all
//! and Retry failed; the merged grid (Profile and Tenant first, filtered by profile, exported);
//! a sign-in turn's "Skip this tenant".

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::Modifiers;
use egui_kittest::kittest::{NodeT, Queryable};
use serde_json::json;

use exo_connect::model::results::ResultStore;
use exo_connect::model::results::merge::append_attributed;
use exo_connect::model::{Profile, Service};
use exo_connect::ui::bridge::{FanoutProfileView, FanoutSummary, ProfileState, UiCommand, UiEvent};
use exo_connect::ui::nav::Centre;

use super::app::{T, app, device_code_view, now, profile};

/// Four customers in "Customers" (two tagged prod) and one in "Lab".
fn customers() -> Vec<Profile> {
    let exo = Service::ExchangeOnline;
    vec![
        profile("Contoso", "admin@contoso.com", exo, "Customers", &["prod"]),
        profile("Northwind", "admin@northwind.com", exo, "Customers", &[]),
        profile(
            "Fabrikam",
            "admin@fabrikam.com",
            exo,
            "Customers",
            &["prod"],
        ),
        profile("Woodgrove", "admin@woodgrove.com", exo, "Customers", &[]),
        profile("Lab EXO", "admin@lab.test", exo, "Lab", &[]),
    ]
}

fn loaded() -> (T, Vec<Profile>) {
    let mut t = app();
    let p = customers();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    (t, p)
}

/// The fan-outs asked for: (profile ids, line, concurrency).
fn runs(t: &T) -> Vec<(Vec<uuid::Uuid>, String, usize)> {
    let cmds = t.fake.commands();
    let runs = cmds.into_iter().filter_map(|c| match c {
        UiCommand::RunFanout {
            profile_ids,
            line,
            concurrency,
        } => Some((profile_ids, line, concurrency)),
        _ => None,
    });
    runs.collect()
}

fn click_with(t: &mut T, label: &str, m: Modifiers) {
    t.h.get_by_label(label).click_modifiers(m);
    t.h.run();
}

/// Types the line into the start dialog and runs it.
fn run_line(t: &mut T, line: &str) {
    t.type_into("Cmdlet", line);
    t.click("Run");
}

#[test]
fn ctrl_and_shift_click_select_several_and_run_on_them() {
    let (mut t, p) = loaded();
    t.click("Northwind");
    assert!(
        !t.has("Run on selected profiles…"),
        "one profile is no fan-out"
    );
    click_with(&mut t, "Woodgrove", Modifiers::COMMAND);
    assert!(t.has("2 selected"));
    // Shift-click runs from the last click (Woodgrove) up to Contoso, in the order shown
    // (folders, then the list's order): Contoso, Northwind, Fabrikam, Woodgrove.
    click_with(&mut t, "Contoso", Modifiers::SHIFT);
    assert!(t.has("4 selected"));
    assert_eq!(
        t.h.state().tree.picked,
        [p[0].id, p[1].id, p[2].id, p[3].id]
    );
    // Ctrl-click toggles one off again; the selection shows (selected rows).
    click_with(&mut t, "Fabrikam", Modifiers::COMMAND);
    assert!(t.has("3 selected"));
    let selected = |t: &T, name: &str| {
        let node = t.h.get_by_label(name);
        node.accesskit_node().toggled() == Some(egui::accesskit::Toggled::True)
    };
    assert!(selected(&t, "Contoso") && selected(&t, "Woodgrove"));
    assert!(!selected(&t, "Fabrikam") && !selected(&t, "Lab EXO"));

    t.click("Run on selected profiles…");
    assert!(t.has("Run on 3 profiles"));
    assert!(t.has("On 3 selected profiles:"));
    run_line(&mut t, "Get-TransportRule");
    assert_eq!(
        runs(&t),
        [(
            vec![p[0].id, p[1].id, p[3].id],
            "Get-TransportRule".to_string(),
            8
        )]
    );
    assert_eq!(t.h.state().centre, Centre::Fanout);
    assert!(!t.has("Run on 3 profiles"), "the dialog closed");
    // A plain click selects one again.
    t.click("Lab EXO");
    assert!(!t.has_containing(" selected"));
    assert_eq!(t.h.state().tree.picked, [p[4].id]);
}

#[test]
fn a_folder_the_search_results_and_a_tag_start_a_run() {
    let (mut t, p) = loaded();
    t.h.get_by_label("Customers").click_secondary();
    t.h.run();
    t.click("Run on folder…");
    assert!(t.has("Run on 4 profiles"));
    assert!(t.has("On folder Customers:"));
    // A bad line says what is wrong and cannot run.
    t.type_into("Cmdlet", "Get-Mailbox -Identity 'open");
    assert!(t.h.get_by_label("Run").accesskit_node().is_disabled());
    t.click("Cancel");
    assert!(runs(&t).is_empty());

    t.type_into("Search", "customers");
    t.click("Run on search results (4)…");
    assert!(t.has("On the search results for 'customers':"));
    assert_eq!(
        t.h.get_by_label("Cmdlet").value().as_deref(),
        Some("Get-Mailbox -Identity 'open"),
        "the dialog keeps the last line typed"
    );
    t.h.state_mut().fanout.input.clear();
    t.type_into("Cmdlet", "Get-Mailbox");
    t.h.get_by_label("Profiles at once")
        .set_value_accesskit(3.0);
    t.h.run();
    t.click("Run");
    let ids = vec![p[0].id, p[1].id, p[2].id, p[3].id];
    assert_eq!(runs(&t)[0], (ids, "Get-Mailbox".to_string(), 3));

    t.h.get_all_by_label("#prod")
        .next()
        .unwrap()
        .click_secondary();
    t.h.run();
    t.click("Run on tag #prod (2)…");
    assert!(t.has("On the profiles tagged #prod:"));
    t.click("Run");
    assert_eq!(runs(&t)[1].0, [p[0].id, p[2].id]);
}

#[test]
fn a_changing_cmdlet_over_many_tenants_asks_for_a_tick() {
    let (mut t, _) = loaded();
    t.h.get_by_label("Customers").click_secondary();
    t.h.run();
    t.click("Run on folder…");
    t.type_into("Cmdlet", "Set-Mailbox -Identity x -Office y");
    assert!(t.h.get_by_label("Run").accesskit_node().is_disabled());
    t.click("Yes, change 4 tenants with this line");
    t.click("Run");
    assert_eq!(runs(&t).len(), 1);
}

#[test]
fn a_new_run_while_one_is_going_says_it_cancels_that_one() {
    let (mut t, p) = loaded();
    started(&mut t, &p);
    state(
        &mut t,
        0,
        ProfileState::Done {
            rows: 3,
            elapsed: Duration::ZERO,
        },
    );
    t.h.run();
    t.h.get_by_label("Customers").click_secondary();
    t.h.run();
    t.click("Run on folder…");
    t.type_into("Cmdlet", "Get-AcceptedDomain");
    assert!(t.has(&format!(
        "The run of Get-TransportRule is still going (1 of {} profiles done): running this one cancels it and replaces its results.",
        p.len()
    )));
    assert!(!t.has("Run"), "the button says what it does");
    t.click("Cancel it and run");
    assert_eq!(runs(&t).len(), 1);
    // Once every profile is final, the dialog just runs.
    for k in 1..p.len() {
        state(
            &mut t,
            k,
            ProfileState::Done {
                rows: 1,
                elapsed: Duration::ZERO,
            },
        );
    }
    t.h.run();
    t.h.get_by_label("Customers").click_secondary();
    t.h.run();
    t.click("Run on folder…");
    assert!(!t.has_containing("is still going"));
    t.click("Run");
}

fn started(t: &mut T, p: &[Profile]) {
    let views = p
        .iter()
        .map(|p| FanoutProfileView {
            profile_id: p.id,
            name: p.name.clone(),
            tenant: p.upn.split('@').nth(1).unwrap().to_string(),
        })
        .collect();
    t.push(UiEvent::FanoutStarted {
        run: 1,
        line: "Get-TransportRule".into(),
        profiles: views,
    });
    t.h.state_mut().centre = Centre::Fanout;
    t.h.run();
}

fn state(t: &mut T, index: usize, state: ProfileState) {
    t.push(UiEvent::FanoutState {
        run: 1,
        index,
        state,
    });
}

/// Profile `p`'s rules as the driver sends them: led by Profile and Tenant.
fn rules(p: &Profile, names: &[&str]) -> ResultStore {
    let mut own = ResultStore::new();
    for (i, n) in names.iter().enumerate() {
        own.push_value(&json!({"Name": n, "Priority": i, "State": "Enabled"}));
    }
    let mut out = ResultStore::new();
    let tenant = p.upn.split('@').nth(1).unwrap();
    append_attributed(&mut out, &own, &p.name, tenant);
    out
}

#[test]
fn the_panel_shows_every_state_and_retries() {
    let (mut t, p) = loaded();
    started(&mut t, &p);
    assert!(t.has("Contoso: queued") && t.has("Lab EXO: queued"));
    assert!(t.has("Cancel all"));
    state(&mut t, 0, ProfileState::SigningIn);
    state(&mut t, 1, ProfileState::Running { rows: 120 });
    let until = now() + chrono::Duration::seconds(30);
    state(&mut t, 2, ProfileState::Throttled { until, rows: 7 });
    assert!(t.has("Contoso: signing in"));
    assert!(t.has("Northwind: running, 120 rows so far"));
    assert!(t.has_containing("Fabrikam: throttled until "));
    t.click("Cancel all");
    assert!(t.sent(|c| *c == UiCommand::CancelFanout));
    assert!(
        t.h.get_by_label("Retry failed")
            .accesskit_node()
            .is_disabled(),
        "not while profiles run"
    );

    let done = ProfileState::Done {
        rows: 2,
        elapsed: Duration::from_millis(1_300),
    };
    state(
        &mut t,
        0,
        ProfileState::Skipped {
            reason: "its sign-in was skipped".into(),
        },
    );
    state(&mut t, 1, done.clone());
    state(
        &mut t,
        2,
        ProfileState::Failed {
            message: "Get-TransportRule: access denied. The account lacks the role\u{1b}[31m"
                .into(),
        },
    );
    state(&mut t, 3, ProfileState::Cancelled);
    state(&mut t, 4, done);
    let summary = FanoutSummary::of(
        &t.h.state()
            .fanout
            .rows
            .iter()
            .map(|r| r.state.clone())
            .collect::<Vec<_>>(),
    );
    t.push(UiEvent::FanoutIdle { run: 1, summary });
    assert!(t.has("Contoso: skipped") && t.has("its sign-in was skipped"));
    assert!(t.has("Northwind: done, 2 rows") && t.has("1.3 s"));
    assert!(t.has("Fabrikam: failed"));
    assert!(
        t.has("Get-TransportRule: access denied. The account lacks the role"),
        "the error shows, without its escape character"
    );
    assert!(t.has("Woodgrove: cancelled"));
    assert!(t.has_containing("2 done, 1 failed, 1 skipped, 1 cancelled"));
    assert!(
        t.h.get_by_label("Cancel all")
            .accesskit_node()
            .is_disabled()
    );

    // A Retry on each of the failed, skipped and cancelled rows; none on the done ones.
    assert_eq!(t.h.get_all_by_label("Retry").count(), 3);
    t.h.get_all_by_label("Retry").next().unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c == UiCommand::RetryFanout { index: Some(0) }));
    t.click("Retry failed");
    assert!(t.sent(|c| *c == UiCommand::RetryFanout { index: None }));

    // Events of another run change nothing.
    t.push(UiEvent::FanoutState {
        run: 7,
        index: 1,
        state: ProfileState::Queued,
    });
    assert!(t.has("Northwind: done, 2 rows"));
    t.click("Close fan-out");
    assert_eq!(t.h.state().centre, Centre::Editor);
    t.click("Fan-out results");
    assert_eq!(t.h.state().centre, Centre::Fanout);
}

#[test]
fn the_merged_grid_leads_with_profile_and_tenant_filters_by_profile_and_exports() {
    let (mut t, p) = loaded();
    started(&mut t, &p[..3]);
    let done = |rows| ProfileState::Done {
        rows,
        elapsed: Duration::from_millis(200),
    };
    state(&mut t, 0, done(2));
    t.push(UiEvent::FanoutRows {
        run: 1,
        index: 0,
        rows: rules(&p[0], &["Block EXE", "Journal"]),
    });
    state(&mut t, 2, done(1));
    t.push(UiEvent::FanoutRows {
        run: 1,
        index: 2,
        rows: rules(&p[2], &["Block EXE"]),
    });
    state(
        &mut t,
        1,
        ProfileState::Failed {
            message: "x".into(),
        },
    );
    t.push(UiEvent::FanoutIdle {
        run: 1,
        summary: FanoutSummary::default(),
    });
    let out = &t.h.state().fanout.out;
    let cols: Vec<&str> = out.results().columns().collect();
    assert_eq!(cols, ["Profile", "Tenant", "Name", "Priority", "State"]);
    assert_eq!(out.results().len(), 3);
    assert!(t.has("Journal") && t.has("fabrikam.com"));

    // The grid's Column:value filter keeps one profile's rows.
    t.type_into("Filter", "Profile:fabrikam");
    settle(&mut t);
    assert_eq!(t.h.state().fanout.out.shown_rows(), [2]);
    assert!(!t.has("Journal"));
    // "Only its rows" on a done profile's row does the same.
    t.h.get_by_label("Filter").focus();
    t.h.get_all_by_label("Only its rows")
        .next()
        .unwrap()
        .click();
    t.h.run();
    settle(&mut t);
    assert_eq!(t.h.state().fanout.out.filter, "Profile:Contoso");
    assert_eq!(t.h.state().fanout.out.shown_rows(), [0, 1]);

    // Export writes the merged rows shown, Profile and Tenant first.
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("rules.csv");
    t.dialogs.set_answer(Some(path.clone()));
    t.click("Export CSV…");
    let start = Instant::now();
    while !t.has_containing("Exported 2 rows") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "export did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
        t.h.run();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "Profile,Tenant,Name,Priority,State\n\
         Contoso,contoso.com,Block EXE,0,Enabled\n\
         Contoso,contoso.com,Journal,1,Enabled\n"
    );
}

/// Runs frames until the grid's worker has the rows shown for the filter typed.
fn settle(t: &mut T) {
    let start = Instant::now();
    while !t.h.state().fanout.out.view_settled() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the filter did not settle"
        );
        std::thread::sleep(Duration::from_millis(5));
        t.h.run();
    }
    t.h.run();
}

#[test]
fn a_sign_in_turn_offers_skip_this_tenant_and_shows_skipped() {
    let (mut t, p) = loaded();
    // A Connect click's dialog has no skip.
    t.push(UiEvent::SignIn(device_code_view(
        &p[4],
        exo_connect::ui::bridge::DeviceCodeState::Waiting,
    )));
    assert!(t.has("Sign in — Lab EXO"));
    assert!(!t.has("Skip this tenant"));
    t.click("Cancel");

    started(&mut t, &p[..2]);
    state(&mut t, 1, ProfileState::SigningIn);
    t.push(UiEvent::FanoutSignInTurn { run: 1, index: 1 });
    t.push(UiEvent::SignIn(device_code_view(
        &p[1],
        exo_connect::ui::bridge::DeviceCodeState::Waiting,
    )));
    assert!(t.has("Sign in — Northwind"));
    t.fake.clear();
    t.click("Skip this tenant");
    assert!(t.sent(|c| *c == UiCommand::CancelSignIn));
    assert!(!t.has("Sign in — Northwind"), "the dialog closes");
    state(
        &mut t,
        1,
        ProfileState::Skipped {
            reason: "skipped".into(),
        },
    );
    assert!(t.has("Northwind: skipped"));

    // The run skips a profile itself (Cancel all): its dialog closes too.
    state(&mut t, 0, ProfileState::SigningIn);
    t.push(UiEvent::FanoutSignInTurn { run: 1, index: 0 });
    t.push(UiEvent::SignIn(device_code_view(
        &p[0],
        exo_connect::ui::bridge::DeviceCodeState::Waiting,
    )));
    assert!(t.has("Skip this tenant"));
    state(&mut t, 0, ProfileState::Cancelled);
    assert!(!t.has("Sign in — Contoso"));
    assert!(t.has("Contoso: cancelled"));
}

#[test]
fn compare_tenants_against_a_baseline_and_export_it() {
    let (mut t, p) = loaded();
    started(&mut t, &p[..3]);
    let done = |rows| ProfileState::Done {
        rows,
        elapsed: Duration::from_millis(200),
    };
    for (i, names) in [
        (0, &["Block EXE", "Journal"][..]),
        (2, &["Block EXE", "Journal"][..]),
    ] {
        state(&mut t, i, done(2));
        t.push(UiEvent::FanoutRows {
            run: 1,
            index: i,
            rows: rules(&p[i], names),
        });
    }
    assert!(
        !t.h.get_by_label("Compare tenants")
            .accesskit_node()
            .is_disabled(),
        "two profiles with rows can be compared"
    );
    state(&mut t, 1, done(1));
    t.push(UiEvent::FanoutRows {
        run: 1,
        index: 1,
        rows: rules(&p[1], &["Journal"]),
    });
    t.click("Compare tenants");
    // Keyed by Name (no Identity), against the first profile: Northwind lacks Block EXE and
    // has Journal at another priority; Fabrikam is the same.
    assert!(t.has("Block EXE in Northwind: missing"));
    assert!(t.has("Journal in Northwind: differs: Priority"));
    assert!(t.has("Journal in Fabrikam: same") && t.has("Journal in Contoso: baseline"));
    assert!(t.has("'Block EXE' is missing in 1 of 3"));
    assert!(t.has("2 items · 2 not the same in every profile · baseline Contoso"));

    t.h.state_mut().fanout.compare.baseline = Some("Northwind".into());
    t.h.run();
    assert!(t.has("Block EXE in Contoso: present"));
    assert!(t.has("Journal in Contoso: differs: Priority"));

    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("compare.csv");
    t.dialogs.set_answer(Some(path.clone()));
    t.click("Export comparison CSV…");
    let start = Instant::now();
    while !t.has_containing("Exported 2 rows") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "export did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
        t.h.run();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("Name,Summary,Contoso,Fabrikam,Northwind")
    );
    assert!(
        text.contains("Block EXE,'Block EXE' is not in the baseline Northwind"),
        "{text}"
    );

    // Back to the merged grid.
    t.click("Compare tenants");
    assert!(t.has("Export CSV…"));
}
