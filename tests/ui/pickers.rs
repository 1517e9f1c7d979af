//! Friendly cloud names in the editor's picker (issue 15, item 10): "Worldwide (O365Default)"
//! rather than the enum's name, and the retired Germany cloud only for a profile that uses it.

use exo_connect::model::Cloud;
use exo_connect::ui::bridge::UiEvent;

use super::app::{app, three_profiles};
use super::outputs::click_profile;

#[test]
fn the_cloud_picker_has_friendly_names_and_hides_germany() {
    let mut t = app();
    let mut p = three_profiles();
    p[1].cloud = Cloud::O365GermanyCloud;
    let id = p[1].id;
    t.push(UiEvent::ProfilesLoaded(p));
    click_profile(&mut t, "Contoso EXO");
    t.click("Cloud");
    assert!(t.has("Worldwide (O365Default)"));
    assert!(t.has("US Government GCC High (O365USGovGCCHigh)"));
    assert!(t.has("Custom endpoints"));
    assert!(
        !t.has("Germany, retired (O365GermanyCloud)"),
        "not offered to a profile on another cloud"
    );
    t.click("Cloud");
    click_profile(&mut t, "Northwind EOP");
    assert_eq!(t.h.state().selected, Some(id));
    t.click("Cloud");
    assert!(t.has("Worldwide (O365Default)"), "the list is open");
    assert!(
        t.has("Germany, retired (O365GermanyCloud)"),
        "kept where used"
    );
    assert!(t.has_containing("is retired"), "with its warning");
}
