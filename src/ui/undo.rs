//! Session settings and a single disconnect made safe: Settings → "Stale after (minutes)" (the
//! registry's idle threshold) and "Ask before disconnecting a #prod profile"; a disconnect of any
//! other profile goes at once with a toast "Disconnected X — Undo" for [`UNDO_SECONDS`], whose
//! Undo connects the same profiles again (silently from the cached sign-in, which a disconnect
//! keeps).

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::action::Actions;
use super::bridge::{ConnId, UiCommand};

/// How long the toast offers Undo.
pub const UNDO_SECONDS: i64 = 10;

/// The registry's default idle threshold.
pub const DEFAULT_STALE_MINUTES: u32 = 15;

/// Settings → Sessions (remembered between runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSettings {
    /// A session with no cmdlet for longer than this is Stale.
    pub stale_after_min: u32,
    /// A single disconnect of a profile tagged `prod` asks first.
    pub confirm_prod: bool,
    /// At start, bring back the sessions open at the last close (silently, from cached
    /// sign-ins) and their output views.
    pub restore: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            stale_after_min: DEFAULT_STALE_MINUTES,
            confirm_prod: true,
            restore: true,
        }
    }
}

impl SessionSettings {
    /// The driver's command for the threshold.
    pub fn command(self) -> UiCommand {
        UiCommand::SetStaleAfter {
            minutes: self.stale_after_min,
        }
    }

    /// The Sessions part of Settings; sends the threshold when it changed.
    pub fn ui(&mut self, ui: &mut Ui, actions: &mut Actions) {
        ui.label("Sessions");
        let before = *self;
        ui.horizontal(|ui| {
            let l = ui.label("Stale after (minutes)");
            ui.add(egui::DragValue::new(&mut self.stale_after_min).range(1..=480))
                .labelled_by(l.id)
                .on_hover_text(
                    "A session with no cmdlet for longer than this is shown as Stale and \
                     \"Disconnect stale\" closes it",
                );
        });
        ui.checkbox(
            &mut self.confirm_prod,
            "Ask before disconnecting a #prod profile",
        )
        .on_hover_text("Other disconnects go at once and can be undone for a few seconds");
        ui.checkbox(&mut self.restore, "Restore open sessions at start")
            .on_hover_text(
                "Reconnect the sessions open when exo-connect closed, silently from cached \
                 sign-ins, with their cmdlet lines, columns and filters (never the rows)",
            );
        if self.stale_after_min != before.stale_after_min {
            actions.send(self.command());
        }
    }
}

/// The disconnects the toast can undo.
#[derive(Debug, Clone)]
struct Undoable {
    /// The profiles to connect again, and the name the toast shows.
    profiles: Vec<Uuid>,
    what: String,
    until: DateTime<Utc>,
}

/// The undo toast and the #prod confirmation.
#[derive(Debug, Clone, Default)]
pub struct DisconnectGuard {
    undo: Option<Undoable>,
    /// The #prod sessions waiting for "Yes, disconnect": their ids and profiles' names.
    confirm: Vec<(ConnId, String)>,
}

impl DisconnectGuard {
    /// A single disconnect of `name`'s session: Some(command) to send now (the toast offers
    /// Undo), or None when it waits for the confirmation (`prod` and asked to confirm).
    pub fn disconnect(
        &mut self,
        conn: ConnId,
        (profile, name): (Uuid, &str),
        prod: bool,
        settings: SessionSettings,
        now: DateTime<Utc>,
    ) -> Option<UiCommand> {
        if prod && settings.confirm_prod {
            self.confirm.push((conn, name.to_string()));
            return None;
        }
        self.done(profile, name, now);
        Some(UiCommand::Disconnect { conn })
    }

    /// `name` was disconnected: the toast offers Undo (several in a row add up).
    fn done(&mut self, profile: Uuid, name: &str, now: DateTime<Utc>) {
        let until = now + chrono::Duration::seconds(UNDO_SECONDS);
        match &mut self.undo {
            Some(u) if u.until > now => {
                u.profiles.push(profile);
                u.what = format!("{} sessions", u.profiles.len());
                u.until = until;
            }
            _ => {
                self.undo = Some(Undoable {
                    profiles: vec![profile],
                    what: name.to_string(),
                    until,
                })
            }
        }
    }

    /// What the toast offers to undo at `now` ("Northwind EOP", "2 sessions"), if it shows.
    pub fn undo_offer(&self, now: DateTime<Utc>) -> Option<&str> {
        self.undo
            .as_ref()
            .filter(|u| u.until > now)
            .map(|u| u.what.as_str())
    }

    /// Undo now (from another place than the toast, e.g. the session-limit dialog): the
    /// connects to send straight to the driver; the toast goes.
    pub fn undo_now(&mut self) -> Vec<UiCommand> {
        self.undo
            .take()
            .map(|u| {
                u.profiles
                    .into_iter()
                    .map(|profile_id| UiCommand::Connect { profile_id })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Is the toast showing at `now`?
    pub fn offers_undo(&self, now: DateTime<Utc>) -> bool {
        self.undo.as_ref().is_some_and(|u| u.until > now)
    }

    /// The toast (bottom right, over the panes) and the #prod confirmation, while they show.
    /// Returns what to send now: the confirmed disconnects, or Undo's connects (sent straight
    /// to the driver, not through this guard again).
    pub fn ui(&mut self, ctx: &egui::Context, now: DateTime<Utc>) -> Vec<UiCommand> {
        let mut out = self.confirm_dialog(ctx);
        let Some(u) = self.undo.clone() else {
            return out;
        };
        if u.until <= now {
            self.undo = None;
            return out;
        }
        egui::Area::new(egui::Id::unique("undo_toast"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -40.0))
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(format!("Disconnected {}", u.what)).strong());
                        let undo = ui.button("Undo").on_hover_text(
                            "Connect again (from the cached sign-in: no sign-in dialog)",
                        );
                        if undo.clicked() {
                            out.extend(
                                u.profiles
                                    .iter()
                                    .map(|&profile_id| UiCommand::Connect { profile_id }),
                            );
                            self.undo = None;
                        }
                        if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                            self.undo = None;
                        }
                    });
                });
            });
        let left = (u.until - now).to_std().unwrap_or_default();
        ctx.request_repaint_after(left);
        out
    }

    fn confirm_dialog(&mut self, ctx: &egui::Context) -> Vec<UiCommand> {
        if self.confirm.is_empty() {
            return Vec::new();
        }
        let names: Vec<&str> = self.confirm.iter().map(|(_, n)| n.as_str()).collect();
        let mut choice = None;
        let r = egui::Modal::new(egui::Id::unique("confirm_disconnect_prod")).show(ctx, |ui| {
            ui.heading(format!("Disconnect {}?", names.join(", ")));
            ui.label("Tagged #prod: closing its session stops whatever runs in it.");
            choice = super::widgets::confirm_row(ui, "Yes, disconnect");
        });
        if r.should_close() {
            choice = Some(false);
        }
        match choice {
            Some(yes) => {
                let asked = std::mem::take(&mut self.confirm);
                if yes {
                    asked
                        .into_iter()
                        .map(|(conn, _)| UiCommand::Disconnect { conn })
                        .collect()
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        }
    }
}
