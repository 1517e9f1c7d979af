//! The status bar: last notice, the current session, counts, demo marker.

use egui::{RichText, Ui};

use crate::model::text::count;

use super::bridge::NoticeLevel;
use super::theme;

/// What the status bar shows; built by the app each frame (the bar keeps no state).
#[derive(Debug, Clone)]
pub struct StatusBar<'a> {
    /// The latest notice (None: "Ready").
    pub notice: Option<&'a (NoticeLevel, String)>,
    pub profiles: usize,
    pub sessions: usize,
    /// Expired or stale sessions.
    pub stale: usize,
    /// Demo mode: say the demo config folder is in use.
    pub demo: bool,
    /// Messages that arrived since the list was last looked at.
    pub unread: usize,
    /// The session the window works with now (the centre's output, else the selected
    /// profile's): its profile's name and state; None: no session.
    pub current: Option<(String, String)>,
}

impl StatusBar<'_> {
    /// Draws the bar: counts and "Messages" on the right, the latest notice cut to the room
    /// left (the whole text on hover and in Messages). True when "Messages" was clicked.
    pub fn ui(self, ui: &mut Ui) -> bool {
        let mut messages = false;
        ui.horizontal(|ui| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let label = match self.unread {
                    0 => "Messages".to_string(),
                    n => format!("Messages ({n} new)"),
                };
                messages = ui
                    .small_button(label)
                    .on_hover_text("Every message of this session, with its time, to copy")
                    .clicked();
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
                let current = match &self.current {
                    Some((name, state)) => format!("Session: {name} · {state}"),
                    None => "Session: none".to_string(),
                };
                ui.label(RichText::new(current).strong())
                    .on_hover_text("The session the centre shows, else the selected profile's");
                ui.separator();
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    notice(ui, self.notice)
                });
            });
        });
        messages
    }
}

fn notice(ui: &mut Ui, notice: Option<&(NoticeLevel, String)>) {
    match notice {
        Some((level, text)) => {
            let color = match level {
                NoticeLevel::Info => ui.visuals().text_color(),
                NoticeLevel::Warning => theme::AMBER,
                NoticeLevel::Error => theme::RED,
            };
            ui.add(egui::Label::new(RichText::new(text).color(color)).truncate())
                .on_hover_text(text);
        }
        None => {
            ui.label(RichText::new("Ready").weak());
        }
    }
}
