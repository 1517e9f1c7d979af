//! Validation on a new profile (issue 15, item 10): nothing is red on the empty form; a field's
//! error shows once that field was touched, and every error once Save was tried.

use egui::{Key, Modifiers};

use exo_connect::ui::bridge::UiEvent;

use super::app::{app, three_profiles};

const NAME_EMPTY: &str = "Name is empty: give the profile a name, e.g. 'Contoso EXO'.";
const UPN_EMPTY: &str = "UPN is empty: give the admin account, e.g. admin@contoso.onmicrosoft.com.";

#[test]
fn a_new_profile_shows_errors_after_a_field_is_touched_or_save_is_tried() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    t.click("New profile");
    assert!(
        !t.has(NAME_EMPTY) && !t.has(UPN_EMPTY),
        "the empty form is not red"
    );
    t.type_into("UPN", "admin");
    assert!(
        t.has_containing("UPN 'admin' is not a user principal name"),
        "the touched field says what is wrong"
    );
    assert!(!t.has(NAME_EMPTY), "the untouched one waits");
    t.h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    t.h.run();
    assert!(
        t.has(NAME_EMPTY),
        "after a save was tried, every error shows"
    );
    assert!(t.has_containing("Not saved: name"), "and Ctrl+S says why");
}
