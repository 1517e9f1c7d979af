//! The centre's tab strip: "Profile editor" and one tab per open session's output, named after
//! its profile (the service added when a profile has more than one), with its state's
//! colour. A click asks to go there; the app keeps the tree's selection in step.

use egui::{RichText, Ui};

use super::action::Actions;
use super::bridge::{ConnId, SessionView};
use super::nav::{Centre, Go};
use super::sessions::Shown;

/// The name of a session's tab: the profile's name, with the service when `sessions` holds
/// another open output of the same profile.
pub fn tab_name(s: &SessionView, outputs: &[&SessionView]) -> String {
    let same = outputs
        .iter()
        .filter(|o| o.profile_id == s.profile_id)
        .count();
    if same > 1 {
        format!("{} ({})", s.profile_name, s.service.short())
    } else {
        s.profile_name.clone()
    }
}

/// Draws the strip when at least one session is open: the editor's tab, then the output of each
/// of `outputs` (in the session list's order). Nothing is drawn without an open session.
pub fn ui(ui: &mut Ui, centre: Centre, outputs: &[&SessionView], actions: &mut Actions) {
    if outputs.is_empty() {
        return;
    }
    egui::ScrollArea::horizontal()
        .id_salt("centre_tabs")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                let editor = ui
                    .selectable_label(centre == Centre::Editor, "Profile editor")
                    .on_hover_text("The selected profile's settings");
                if editor.clicked() && centre != Centre::Editor {
                    actions.go(Go::Editor);
                }
                for s in outputs {
                    ui.separator();
                    tab(ui, centre, s, &tab_name(s, outputs), actions);
                }
            });
        });
    ui.separator();
}

fn tab(ui: &mut Ui, centre: Centre, s: &SessionView, name: &str, actions: &mut Actions) {
    let shown = Shown::of(s);
    let on = centre == Centre::Output(s.conn);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(8.0, 8.0), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), 4.0, shown.color());
    let text = if on {
        RichText::new(name).strong()
    } else {
        RichText::new(name)
    };
    let r = ui
        .selectable_label(on, text)
        .on_hover_text(format!("{name}: {}", shown.text()));
    let label = format!("Output tab: {name}");
    r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Tab, true, on, &label));
    if r.clicked() && !on {
        actions.go(Go::Output(s.conn));
    }
}

/// The session a selected profile's output shows: one with an open output first, else its most
/// urgent open session.
pub fn output_of_profile(
    sessions: &[SessionView],
    profile_id: uuid::Uuid,
    has_output: impl Fn(ConnId) -> bool,
) -> Option<ConnId> {
    let open = super::sessions::of_profile(sessions, profile_id);
    open.iter()
        .find(|s| has_output(s.conn))
        .or(open.first())
        .map(|s| s.conn)
}
