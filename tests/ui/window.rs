//! The window an admin lives in all day (issue 15): the details panel beside the grid, the
//! session list at 1024×700, default views per cmdlet, a failed run keeping the last result,
//! the column chooser, export without a file-dialog backend and the smaller fixes — each
//! driven by accessible label.

use egui::Key;
use egui_kittest::kittest::Queryable;

use super::app::{T, cid, output_app};

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
