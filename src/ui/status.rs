//! The status bar: last notice, counts, demo marker.

use egui::{RichText, Ui};

use crate::model::text::count;

use super::bridge::NoticeLevel;
use super::theme;

/// What the status bar shows; built by the app each frame (the bar keeps no state).
#[derive(Debug, Clone, Copy)]
pub struct StatusBar<'a> {
    /// The latest notice (None: "Ready").
    pub notice: Option<&'a (NoticeLevel, String)>,
    pub profiles: usize,
    pub sessions: usize,
    /// Expired or stale sessions.
    pub stale: usize,
    /// Demo mode: say the demo config folder is in use.
    pub demo: bool,
}

impl StatusBar<'_> {
    pub fn ui(self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            match self.notice {
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
                let stale = self.stale;
                ui.label(format!(
                    "{} · {}{}",
                    count(self.profiles, "profile"),
                    count(self.sessions, "session"),
                    if stale > 0 {
                        format!(" · {stale} stale")
                    } else {
                        String::new()
                    }
                ));
                if self.demo {
                    ui.label(RichText::new("demo config folder").weak());
                }
            });
        });
    }
}
