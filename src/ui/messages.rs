//! The notifications list: every notice of this session with its time and level, newest first,
//! each copyable ("Copy", "Copy all"), in a window opened from the status bar's "Messages (n)".
//! Kept for the session only (never written to disk: a message may name a tenant or a path).

use chrono::{DateTime, Local, Utc};
use egui::{RichText, Ui};

use super::bridge::NoticeLevel;
use super::theme;

/// How many messages the list keeps (the oldest go first).
pub const KEEP: usize = 500;

/// One message as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub at: DateTime<Utc>,
    pub level: NoticeLevel,
    pub text: String,
}

impl Message {
    /// "09:00:00 Warning: text" — a line for the clipboard (local time).
    pub fn line(&self) -> String {
        let at = self.at.with_timezone(&Local).format("%H:%M:%S");
        format!("{at} {}: {}", level_name(self.level), self.text)
    }
}

fn level_name(level: NoticeLevel) -> &'static str {
    match level {
        NoticeLevel::Info => "Info",
        NoticeLevel::Warning => "Warning",
        NoticeLevel::Error => "Error",
    }
}

/// The list and whether its window is open.
#[derive(Debug, Clone, Default)]
pub struct Messages {
    list: Vec<Message>,
    open: bool,
    /// Messages that arrived since the window was last open.
    unread: usize,
}

impl Messages {
    pub fn push(&mut self, at: DateTime<Utc>, level: NoticeLevel, text: &str) {
        self.list.push(Message {
            at,
            level,
            text: text.to_string(),
        });
        if self.list.len() > KEEP {
            self.list.remove(0);
        }
        if !self.open {
            self.unread += 1;
        }
    }

    pub fn open(&mut self) {
        self.open = true;
        self.unread = 0;
    }

    pub fn unread(&self) -> usize {
        self.unread
    }

    pub fn list(&self) -> &[Message] {
        &self.list
    }

    /// The window, while it is open: newest first, a Copy per message, Copy all, Clear.
    pub fn window(&mut self, ctx: &egui::Context) {
        if !self.open {
            return;
        }
        let mut open = true;
        let mut clear = false;
        egui::Window::new("Messages")
            .open(&mut open)
            .default_size([560.0, 360.0])
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.label(format!("{} this session", self.list.len()));
                    if ui.button("Copy all").clicked() {
                        let all: Vec<String> = self.list.iter().map(Message::line).collect();
                        ui.ctx().copy_text(all.join("\n"));
                    }
                    clear = ui.button("Clear").clicked();
                });
                ui.separator();
                if self.list.is_empty() {
                    ui.label(RichText::new("No messages yet.").weak());
                }
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        for (i, m) in self.list.iter().enumerate().rev() {
                            row(ui, i, m);
                        }
                    });
            });
        self.open = open;
        self.unread = 0;
        if clear {
            self.list.clear();
        }
    }
}

fn row(ui: &mut Ui, i: usize, m: &Message) {
    let color = match m.level {
        NoticeLevel::Info => ui.visuals().text_color(),
        NoticeLevel::Warning => theme::AMBER,
        NoticeLevel::Error => theme::RED,
    };
    ui.horizontal(|ui| {
        let at = m.at.with_timezone(&Local).format("%H:%M:%S").to_string();
        ui.label(RichText::new(at).monospace().weak());
        let copy = ui
            .small_button("Copy")
            .on_hover_text("Copy this message")
            .accessible_name(format!("Copy message {}", i + 1));
        if copy.clicked() {
            ui.ctx().copy_text(m.line());
        }
        ui.add(egui::Label::new(RichText::new(&m.text).color(color)).wrap());
    });
}
