//! The status bar: last notice, counts, demo marker.

use egui::{RichText, Ui};

use super::app::App;
use super::bridge::NoticeLevel;
use super::theme;

impl App {
    pub(crate) fn status_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            match self.notices.last() {
                Some((level, text)) => {
                    let color = match level {
                        NoticeLevel::Info => ui.visuals().text_color(),
                        NoticeLevel::Warning => theme::AMBER,
                        NoticeLevel::Error => theme::RED,
                    };
                    ui.label(RichText::new(text).color(color));
                }
                None => {
                    ui.label(RichText::new("Ready").weak());
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let stale = self.stale_count();
                ui.label(format!(
                    "{} profiles · {} sessions{}",
                    self.profiles.len(),
                    self.sessions.len(),
                    if stale > 0 {
                        format!(" · {stale} stale")
                    } else {
                        String::new()
                    }
                ));
                if self.options.demo {
                    ui.label(RichText::new("demo config folder").weak());
                }
            });
        });
    }
}
