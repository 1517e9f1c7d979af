//! The cmdlet line's completion popup against a scripted backend: cmdlet names, then their
//! parameters; Tab / Enter accept, Esc closes; from the built-in list without a catalogue and
//! from the session's catalogue once the driver sent it.

use std::sync::Arc;

use egui::Key;
use egui_kittest::kittest::Queryable;
use exo_connect::model::catalogue::{CatalogueCmdlet, CatalogueParam, CmdletCatalogue};
use exo_connect::ui::bridge::{UiCommand, UiEvent};

use super::app::{T, cid, output_app};

fn line(t: &T) -> String {
    t.h.state().output(cid(1)).unwrap().line.clone()
}

fn key(t: &mut T, k: Key) {
    t.h.key_press(k);
    t.h.run();
}

fn type_more(t: &mut T, text: &str) {
    t.h.get_by_label("Cmdlet").type_text(text);
    t.h.run();
}

#[test]
fn cmdlets_then_parameters_tab_and_enter_accept_esc_closes() {
    let (mut t, _) = output_app();
    t.type_into("Cmdlet", "Get-Mai");
    assert!(t.has("Get-Mailbox"), "Get-Mai offers Get-Mailbox");
    assert!(t.has("Get-MailboxStatistics"));
    assert!(t.has_containing("built-in list"), "no catalogue yet");
    key(&mut t, Key::Tab);
    assert_eq!(line(&t), "Get-Mailbox ");
    assert!(!t.has("Get-MailboxStatistics"), "the popup closed");
    type_more(&mut t, "-Ide");
    assert!(t.has("-Identity"), "the cmdlet's parameters after a dash");
    key(&mut t, Key::Enter);
    assert_eq!(line(&t), "Get-Mailbox -Identity ");
    assert!(
        !t.sent(|c| matches!(c, UiCommand::Run { .. })),
        "Enter in the popup accepts, it does not run"
    );
    type_more(&mut t, "ann -Res");
    assert!(t.has("-ResultSize"));
    key(&mut t, Key::Escape);
    assert!(!t.has("-ResultSize"), "Esc closes the popup");
    assert_eq!(line(&t), "Get-Mailbox -Identity ann -Res");
    // The field kept the focus: Enter now runs the line as typed.
    assert!(
        t.h.get_by_label("Cmdlet").is_focused(),
        "Esc keeps the focus"
    );
    key(&mut t, Key::Enter);
    assert!(t.sent(|c| *c
        == UiCommand::Run {
            conn: cid(1),
            line: "Get-Mailbox -Identity ann -Res".into()
        }));
}

#[test]
fn the_sessions_catalogue_replaces_the_built_in_list() {
    let (mut t, _) = output_app();
    let mut cat = CmdletCatalogue {
        module_version: "3.9.0".into(),
        ..Default::default()
    };
    for (name, params) in [
        ("Get-Mailbox", &["Identity", "Archive"][..]),
        ("Get-MailboxPlan", &["Identity"][..]),
    ] {
        cat.cmdlets.insert(
            name.to_ascii_lowercase(),
            CatalogueCmdlet {
                name: name.into(),
                params: params
                    .iter()
                    .map(|p| CatalogueParam {
                        name: p.to_string(),
                        ps_type: "string".into(),
                        sets: Vec::new(),
                    })
                    .collect(),
            },
        );
    }
    t.push(UiEvent::CatalogueReady {
        conn: cid(1),
        catalogue: Arc::new(cat),
    });
    t.type_into("Cmdlet", "Get-Mai");
    assert!(t.has("Get-MailboxPlan"), "the tenant's own cmdlet");
    assert!(
        !t.has("Get-MailboxStatistics"),
        "not in this tenant's catalogue"
    );
    assert!(t.has_containing("from the tenant's catalogue"));
    key(&mut t, Key::ArrowDown);
    key(&mut t, Key::Tab);
    assert_eq!(line(&t), "Get-MailboxPlan ", "Down chose the second");
    t.h.state_mut().set_cmdlet_line(cid(1), "");
    t.h.run();
    type_more(&mut t, "Get-Mailbox -A");
    assert!(t.has("-Archive"));
}
