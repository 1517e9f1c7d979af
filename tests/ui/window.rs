//! The window an admin lives in all day (issue 15): the details panel beside the grid, the
//! session list at 1024×700, default views per cmdlet, a failed run keeping the last result,
//! the column chooser, export without a file-dialog backend and the smaller fixes — each
//! driven by accessible label.

use std::time::Duration;

use egui::Key;
use egui_kittest::kittest::Queryable;

use exo_connect::ui::bridge::{DemoAccountView, SessionState, UiCommand, UiEvent};

use super::app::{T, app_with, cid, now, output_app, page, session, three_profiles};

/// What the window put on the clipboard in the last frame.
fn copied(t: &T) -> Vec<String> {
    t.h.output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn click_then_step(t: &mut T, label: &str) {
    t.h.get_by_label(label).click();
    t.h.step();
}

#[test]
fn details_sit_beside_the_grid_close_by_button_and_esc_and_copy() {
    let (mut t, _) = output_app();
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    t.click("Alice Smith");
    assert!(t.has("Details") && t.has("Close details"));
    // Beside the grid, not over it: every grid cell ends left of the panel.
    let panel_left = t.h.get_by_label("Copy as JSON").rect().min.x;
    let grid_right =
        t.h.get_all_by_label("bob@contoso.com")
            .map(|n| n.rect().max.x)
            .fold(0.0, f32::max);
    assert!(
        grid_right <= panel_left,
        "grid {grid_right} ends before the panel {panel_left}"
    );
    assert!(t.has("Resize details"));

    // A value, the row as JSON and as Format-List text.
    click_then_step(&mut t, "Copy PrimarySmtpAddress");
    assert_eq!(copied(&t), vec!["alice@contoso.com".to_string()]);
    t.h.run();
    click_then_step(&mut t, "Copy as JSON");
    let json = copied(&t).pop().unwrap();
    assert!(
        json.contains("\n  \"DisplayName\": \"Alice Smith\""),
        "{json}"
    );
    t.h.run();
    click_then_step(&mut t, "Copy as list");
    assert_eq!(
        copied(&t).pop().unwrap(),
        "DisplayName        : Alice Smith\n\
         PrimarySmtpAddress : alice@contoso.com\n\
         ItemCount          : 300\n"
    );
    t.h.run();

    t.click("Close details");
    assert!(!t.has("Close details"), "the button closes the panel");
    t.click("Alice Smith");
    assert!(t.has("Close details"));
    t.h.key_press(Key::Escape);
    t.h.run();
    assert!(!t.has("Close details"), "Esc closes the panel");
    assert!(t.h.state().output(cid(1)).unwrap().selected.is_none());
}

#[test]
fn the_json_view_pretty_prints_the_selected_row() {
    let (mut t, _) = output_app();
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    t.click("JSON view");
    t.h.get_by_label_contains(r#""DisplayName":"Carol White""#)
        .click();
    t.h.run();
    assert!(t.has_containing("{\n  \"DisplayName\": \"Carol White\",\n"));
}

/// Three sessions with long names, as an admin with many tenants has them.
fn long_sessions(t: &mut T) -> Vec<exo_connect::model::Profile> {
    let mut profiles = three_profiles();
    for (i, p) in profiles.iter_mut().enumerate() {
        p.name = format!(
            "{} — a customer tenant with a long profile name {i}",
            p.name
        );
        p.upn =
            format!("global.administrator.account{i}@averylongcustomerdomainname.onmicrosoft.com");
    }
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    t.push(UiEvent::SessionsChanged(vec![
        session(1, &profiles[0], SessionState::Connected, 2700),
        session(2, &profiles[1], SessionState::Stale, 2000),
        session(3, &profiles[2], SessionState::Expired, -5),
    ]));
    profiles
}

fn small_window() -> T {
    app_with(|b| b.with_size(egui::vec2(1024.0, 700.0)))
}

#[test]
fn at_1024_by_700_every_session_can_be_disconnected_and_reconnected() {
    let mut t = small_window();
    let profiles = long_sessions(&mut t);
    let buttons: Vec<_> = t.h.get_all_by_label("Disconnect").collect();
    assert_eq!(buttons.len(), 3, "one Disconnect per session");
    for b in &buttons {
        let r = b.rect();
        assert!(
            r.min.x >= 0.0 && r.max.x <= 1024.0 && r.max.y <= 700.0,
            "Disconnect in the window: {r:?}"
        );
    }
    t.h.get_all_by_label("Disconnect").nth(1).unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(2) }));
    assert!(
        !t.sent(|c| *c == UiCommand::Disconnect { conn: cid(1) }),
        "only that one"
    );
    // Stale and expired rows offer Reconnect (a new sign-in with the same profile).
    assert_eq!(t.h.get_all_by_label("Reconnect").count(), 2);
    t.h.get_all_by_label("Reconnect").next().unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c
        == UiCommand::Connect {
            profile_id: profiles[1].id
        }));
}

#[test]
fn the_demo_phone_folds_away() {
    let mut t = small_window();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    t.push(UiEvent::DemoPhone(vec![DemoAccountView {
        upn: "admin@demo.example".into(),
        password: "demo-password-1".into(),
        code: None,
        valid_until: now(),
    }]));
    assert!(t.has("demo-password-1"));
    t.click("Demo phone");
    assert!(!t.has("demo-password-1"), "folded");
    assert!(t.has("Contoso EXO"), "the tree keeps its rows");
    t.click("Demo phone");
    assert!(t.has("demo-password-1"), "unfolded again");
}

/// A mailbox with a dozen properties, as Get-Mailbox returns (with ~120 in a real tenant).
fn big_mailbox(i: usize, dept: &str) -> serde_json::Value {
    serde_json::json!({
        "Guid": format!("guid-{i}"), "Name": format!("user{i}"), "Alias": format!("user{i}"),
        "DisplayName": format!("User {i}"), "Department": dept, "Office": "HQ",
        "City": "Oslo", "PrimarySmtpAddress": format!("user{i}@contoso.com"),
        "RecipientTypeDetails": "UserMailbox", "WhenCreated": "2024-01-01", "Company": "Contoso",
        "CustomAttribute1": "x",
    })
}

/// The output pane answering Get-Mailbox with two big mailboxes, Get-TransportRule with a
/// rule, and refusing anything else.
fn views_app() -> T {
    let (t, _) = output_app();
    t.fake.respond(|cmd| match cmd {
        UiCommand::Run { conn, line } => {
            let rows = if line.starts_with("Get-Mailbox") {
                page([big_mailbox(1, "Sales"), big_mailbox(2, "IT")])
            } else if line.starts_with("Get-TransportRule") {
                page([
                    serde_json::json!({"Guid": "g", "Name": "Block EXE", "State": "Enabled",
                    "Mode": "Enforce", "Priority": 0, "Comments": "", "A": 1, "B": 2, "C": 3}),
                ])
            } else {
                return vec![UiEvent::RunFailed {
                    conn: *conn,
                    explanation: format!("The term '{line}' is not recognized"),
                }];
            };
            let n = rows.len() as u64;
            vec![
                UiEvent::RunStarted {
                    conn: *conn,
                    line: line.clone(),
                },
                UiEvent::RunRows { conn: *conn, rows },
                UiEvent::RunDone {
                    conn: *conn,
                    rows: n,
                    pages: 1,
                    elapsed: Duration::from_millis(5),
                },
            ]
        }
        _ => vec![],
    });
    t
}

fn run(t: &mut T, line: &str) {
    t.h.state_mut().set_cmdlet_line(cid(1), line);
    t.h.run();
    t.click("Run");
}

#[test]
fn each_cmdlet_has_a_default_view_all_columns_one_click_away_and_remembered() {
    let mut t = views_app();
    run(&mut t, "Get-Mailbox");
    for shown in [
        "DisplayName",
        "PrimarySmtpAddress",
        "RecipientTypeDetails",
        "Alias",
    ] {
        assert!(t.has(shown), "{shown} in Get-Mailbox's default view");
    }
    assert!(!t.has("Department") && !t.has("Guid"), "the rest wait");
    // PowerShell's order, not the result's.
    let x = |t: &T, l: &str| t.h.get_by_label(l).rect().min.x;
    assert!(x(&t, "DisplayName") < x(&t, "PrimarySmtpAddress"));
    assert!(x(&t, "RecipientTypeDetails") < x(&t, "Alias"));

    // The filter matches a hidden column and says so; Column:value filters one column.
    t.type_into("Filter", "sales");
    assert!(t.has("matched in: Department (hidden)"));
    assert!(t.has("User 1") && !t.has("User 2"));
    t.h.state_mut().output_state_mut(cid(1)).unwrap().filter = "Department:it".into();
    t.h.run();
    t.h.run();
    assert!(t.has("User 2") && !t.has("User 1"));
    assert!(t.has("matched in: Department (hidden)"));
    t.h.state_mut()
        .output_state_mut(cid(1))
        .unwrap()
        .filter
        .clear();
    t.h.run();

    t.click("Show all columns (12)");
    assert!(t.has("Department") && t.has("Guid"));
    assert!(t.has("Default view"));

    // Get-TransportRule: Name, State, Mode, Priority.
    run(&mut t, "Get-TransportRule");
    for shown in ["Name", "State", "Mode", "Priority"] {
        assert!(t.has(shown), "{shown} in Get-TransportRule's default view");
    }
    assert!(!t.has("Comments"));
    // Back to Get-Mailbox: the view chosen for it (every column) is remembered.
    run(&mut t, "Get-Mailbox");
    assert!(t.has("Department") && t.has("Guid"));
    t.click("Default view");
    assert!(!t.has("Department"));
}

#[test]
fn a_refused_or_failed_command_keeps_the_last_result() {
    let mut t = views_app();
    run(&mut t, "Get-Mailbox");
    assert!(t.has("User 1"));
    // While the next command has sent nothing, the last result stays.
    t.fake.respond(|_| vec![]);
    run(&mut t, "Get-TransportRule");
    assert!(t.has("User 1"), "kept while nothing arrived");
    t.push(UiEvent::RunFailed {
        conn: cid(1),
        explanation: "Access denied".into(),
    });
    assert!(t.has("User 1"), "kept after the failure");
    assert!(t.has_containing("Access denied"));
    assert!(t.has("Still showing the result of Get-Mailbox"));
    // A new result replaces it as soon as its rows come.
    t.push(UiEvent::RunStarted {
        conn: cid(1),
        line: "Get-TransportRule".into(),
    });
    assert!(t.has("User 1"));
    t.push(UiEvent::RunRows {
        conn: cid(1),
        rows: page([serde_json::json!({"Name": "Block EXE"})]),
    });
    assert!(!t.has("User 1") && t.has("Block EXE"));
}

#[test]
fn the_column_chooser_searches_stays_open_and_keeps_widths() {
    let mut t = views_app();
    run(&mut t, "Get-Mailbox");
    let width = |t: &T| t.h.get_by_label("DisplayName").rect().width();
    let before = width(&t);
    t.click("Columns");
    assert!(t.has("Choose columns"));
    t.type_into("Search columns", "dep");
    assert!(
        t.h.query_by_role_and_label(egui::Role::CheckBox, "Department")
            .is_some()
    );
    assert!(
        t.h.query_by_role_and_label(egui::Role::CheckBox, "Guid")
            .is_none(),
        "the search narrows the list"
    );
    t.h.get_by_role_and_label(egui::Role::CheckBox, "Department")
        .click();
    t.h.run();
    assert!(t.has("Choose columns"), "stays open after a toggle");
    assert!(
        t.h.query_by_role_and_label(egui::Role::Button, "Department")
            .is_some()
    );
    assert!((width(&t) - before).abs() < 0.5, "widths stay");
    t.click("None");
    assert!(
        t.h.query_by_role_and_label(egui::Role::Button, "DisplayName")
            .is_none()
    );
    t.click("All");
    assert!(
        t.h.query_by_role_and_label(egui::Role::Button, "Guid")
            .is_some()
    );
    assert!((width(&t) - before).abs() < 0.5, "widths stay");
    t.click("Default");
    assert!(
        t.h.query_by_role_and_label(egui::Role::Button, "Guid")
            .is_none()
    );
    assert!(
        t.h.query_by_role_and_label(egui::Role::Button, "DisplayName")
            .is_some()
    );
    t.h.key_press(Key::Escape);
    t.h.run();
    assert!(!t.has("Choose columns"), "Esc closes it");
}

fn wait_for(t: &mut T, part: &str) {
    let start = std::time::Instant::now();
    while !t.has_containing(part) {
        assert!(start.elapsed() < Duration::from_secs(5), "no '{part}'");
        std::thread::sleep(Duration::from_millis(10));
        t.h.run();
    }
}

#[test]
fn export_without_a_file_dialog_asks_for_the_path_in_the_window() {
    let (mut t, _) = output_app();
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    // Cancelling the native dialog says so.
    t.dialogs.set_answer(None);
    t.click("Export CSV…");
    wait_for(&mut t, "Export cancelled");

    // No dialog backend: a path field with the default folder and name.
    t.dialogs
        .set_unavailable(Some("no desktop portal, no zenity"));
    t.click("Export CSV…");
    assert!(t.has_containing("no desktop portal, no zenity"));
    let field = t.h.get_by_label("File path").value().unwrap_or_default();
    assert!(field.ends_with("contoso-results.csv"), "{field}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.csv");
    t.h.get_by_label("File path").click();
    t.h.run();
    t.h.key_press_modifiers(egui::Modifiers::COMMAND, Key::A);
    t.h.get_by_label("File path")
        .type_text(&path.display().to_string());
    t.h.run();
    t.click("Save");
    wait_for(&mut t, "Exported 3 rows");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("DisplayName,PrimarySmtpAddress,ItemCount\n"),
        "{text}"
    );

    // Cancel in the window's prompt says so too.
    t.click("Export JSON…");
    t.click("Cancel");
    assert!(!t.has("File path"));
    assert!(t.has_containing("Export cancelled"));
}

#[test]
fn ctrl_s_on_an_invalid_profile_says_why_and_counts_are_singular() {
    let mut t = app_with(|b| b);
    t.push(UiEvent::ProfilesLoaded(vec![]));
    t.click("New profile");
    t.type_into("Name", "Northwind");
    t.type_into("UPN", "admin");
    t.h.key_press_modifiers(egui::Modifiers::COMMAND, Key::S);
    t.h.run();
    assert!(!t.sent(|c| matches!(c, UiCommand::SaveProfile(_))));
    assert!(t.has_containing("Not saved: "), "Ctrl+S says why");
    assert!(t.has_containing("is not a user principal name"));

    let profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(vec![profiles[0].clone()]));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &profiles[0],
        SessionState::Connected,
        2700,
    )]));
    assert!(t.has("1 profile · 1 session"));
}

#[test]
fn csv_export_offers_a_utf8_bom_for_excel() {
    let (mut t, _) = output_app();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.csv");
    t.dialogs.set_answer(Some(path.clone()));
    t.click("Quick test: Get-Mailbox -ResultSize 10");
    if !t.h.state().output(cid(1)).unwrap().csv_bom() {
        t.click("UTF-8 BOM");
    }
    t.click("Export CSV…");
    wait_for(&mut t, "Exported 3 rows");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFDisplayName,"), "BOM first");
}

#[test]
fn quitting_with_live_sessions_asks_first() {
    let mut t = app_with(|b| b);
    let profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(profiles.clone()));
    t.push(UiEvent::SessionsChanged(vec![session(
        1,
        &profiles[0],
        SessionState::Connected,
        2700,
    )]));
    let close = |t: &mut T| {
        t.h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        t.h.step();
    };
    let commands = |t: &T| -> Vec<egui::ViewportCommand> {
        t.h.output()
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .map(|v| v.commands.clone())
            .unwrap_or_default()
    };
    close(&mut t);
    assert!(commands(&t).contains(&egui::ViewportCommand::CancelClose));
    t.h.run();
    assert!(t.has("Quit with live sessions?"));
    assert!(t.has_containing("1 open session will close"));
    t.click("Cancel");
    assert!(!t.has("Quit with live sessions?"));
    close(&mut t);
    t.h.run();
    t.h.get_by_label("Quit").click();
    t.h.step();
    assert!(commands(&t).contains(&egui::ViewportCommand::Close));
}
