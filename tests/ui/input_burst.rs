//! Issue 15: no typed character is lost when many input events arrive in one frame — a slow
//! frame gathers a burst of key presses, and a click can follow the typing before the next frame
//! is drawn. The Xvfb walkthrough (tests/system/ui_screens_xvfb.sh) checks the same with the real
//! window while a run fills the grid.

use egui::{Event, Key, Modifiers};
use egui_kittest::kittest::Queryable;

use super::app::{T, cid, output_app};

fn line(t: &T) -> String {
    t.h.state().output(cid(1)).unwrap().line.clone()
}

fn key_event(key: Key, pressed: bool) -> Event {
    Event::Key {
        key,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: Modifiers::NONE,
    }
}

/// What a window system sends for one typed character: key down, the text, key up.
fn queue_char(t: &T, c: char) {
    let key = Key::from_name(&c.to_ascii_uppercase().to_string());
    if let Some(k) = key {
        t.h.event(key_event(k, true));
    }
    t.h.event(Event::Text(c.to_string()));
    if let Some(k) = key {
        t.h.event(key_event(k, false));
    }
}

#[test]
fn a_burst_of_keys_in_one_frame_all_reach_the_cmdlet_line() {
    let (mut t, _) = output_app();
    t.type_into("Cmdlet", "");
    let text = "Get-Mailbox -Identity 'fatima.lefevre00000' -ResultSize 1 # typed in one frame";
    for c in text.chars() {
        queue_char(&t, c);
    }
    t.h.step(); // every event above in a single frame
    assert_eq!(line(&t), text);
    t.h.run();
    assert_eq!(line(&t), text, "nothing changed it afterwards");
}

#[test]
fn typing_then_clicking_another_field_in_the_same_frame_keeps_every_character() {
    let (mut t, _) = output_app();
    t.type_into("Cmdlet", "Get-");
    for c in "Mailbox -ResultSize 5".chars() {
        queue_char(&t, c);
    }
    // The click is queued after the keys: both land in the same frame.
    t.h.get_by_label("Filter").click();
    t.h.step();
    t.h.run();
    assert_eq!(line(&t), "Get-Mailbox -ResultSize 5");
    assert!(
        t.h.get_by_label("Filter").is_focused(),
        "the click moved the focus to the filter"
    );
    // What is typed next goes to the filter, not to the cmdlet line.
    for c in "alice".chars() {
        queue_char(&t, c);
    }
    t.h.step();
    t.h.run();
    assert_eq!(line(&t), "Get-Mailbox -ResultSize 5");
    assert_eq!(
        t.h.get_by_label("Filter").value().as_deref(),
        Some("alice"),
        "every character reached the filter"
    );
}
