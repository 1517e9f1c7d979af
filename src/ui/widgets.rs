//! Small shared widgets: colour band, service badge, labelled text fields, the confirm row.

use egui::{Color32, Response, RichText, Ui, Vec2, WidgetText};

use crate::model::Service;

/// A short vertical band in the profile's colour.
pub fn color_band(ui: &mut Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(5.0, 16.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 1.5, color);
}

/// EXO / EOP / SCC badge.
pub fn service_badge(ui: &mut Ui, service: Service) -> Response {
    let color = match service {
        Service::ExchangeOnline => Color32::from_rgb(0x1f, 0x6f, 0xc5),
        Service::Protection => Color32::from_rgb(0x7a, 0x4f, 0xc9),
        Service::SecurityCompliance => Color32::from_rgb(0x0f, 0x8a, 0x7a),
    };
    egui::Frame::new()
        .fill(color)
        .corner_radius(3.0)
        .inner_margin(egui::Margin::symmetric(4, 0))
        .show(ui, |ui| {
            ui.label(
                RichText::new(service.short())
                    .small()
                    .strong()
                    .color(Color32::WHITE),
            )
        })
        .inner
}

/// A single-line text field with an accessible name (the visible label before it).
pub fn labelled_text(ui: &mut Ui, label: &str, value: &mut String) -> Response {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).desired_width(260.0))
        .labelled_by(l.id)
}

/// The button row of a confirmation dialog: `yes` then Cancel. Some(true) = confirmed,
/// Some(false) = cancelled, None = nothing clicked this frame.
pub fn confirm_row(ui: &mut Ui, yes: impl Into<WidgetText>) -> Option<bool> {
    ui.horizontal(|ui| {
        if ui.button(yes).clicked() {
            Some(true)
        } else if ui.button("Cancel").clicked() {
            Some(false)
        } else {
            None
        }
    })
    .inner
}
