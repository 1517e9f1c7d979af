//! The window's chrome around the panes: the top bar with the Settings and About dialogs it
//! opens, the unsaved-changes guard and the demo phone panel.

use std::time::Duration;

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};

use serde::{Deserialize, Serialize};

use super::action::{Action, Actions, GuardChoice};
use super::bridge::{DemoAccountView, UiCommand};
use super::countdown;
use super::dialogs::{DialogPurpose, DialogRequest};
use super::nav::Go;
use super::theme::{self, ThemeSetting};

/// Settings → the diagnostic log (remembered between runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiagnosticsSetting {
    /// Write `<config>/logs/exo-connect-<date>.log` (no secrets).
    pub enabled: bool,
    /// With debug detail (each sign-in poll, each session change).
    pub debug: bool,
}

impl DiagnosticsSetting {
    /// The driver's command for this setting.
    pub fn command(self) -> UiCommand {
        UiCommand::SetDiagnostics {
            enabled: self.enabled,
            debug: self.debug,
        }
    }
}

/// The top bar: New profile, Import / Export, Quick connect, Settings, About.
#[derive(Debug, Clone, Default)]
pub struct TopBar {
    show_settings: bool,
    show_about: bool,
}

impl TopBar {
    /// Draws the bar; `demo` shows the DEMO badge.
    pub fn ui(&mut self, ui: &mut Ui, demo: bool, actions: &mut Actions) {
        ui.horizontal(|ui| {
            ui.heading("exo-connect");
            if demo {
                ui.label(
                    RichText::new(" DEMO ")
                        .strong()
                        .color(egui::Color32::WHITE)
                        .background_color(theme::AMBER),
                );
            }
            ui.separator();
            if ui.button("New profile").clicked() {
                actions.go(Go::New);
            }
            if ui.button("Import profiles…").clicked() {
                actions.push(Action::AskFile(profiles_file(false)));
            }
            if ui.button("Export profiles…").clicked() {
                actions.push(Action::AskFile(profiles_file(true)));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("About").clicked() {
                    self.show_about = true;
                }
                if ui.button("Settings").clicked() {
                    self.show_settings = true;
                }
                if ui
                    .button("Quick connect (Ctrl+K)")
                    .on_hover_text("Find a profile by name, UPN, tenant or tag and connect")
                    .clicked()
                {
                    actions.push(Action::OpenPalette);
                }
            });
        });
    }

    /// The Settings (theme, diagnostic log) and About dialogs, while one is open.
    pub fn dialogs(
        &mut self,
        ctx: &egui::Context,
        (theme, diagnostics, sessions): (
            &mut ThemeSetting,
            &mut DiagnosticsSetting,
            &mut super::undo::SessionSettings,
        ),
        actions: &mut Actions,
    ) {
        if self.show_settings {
            let r = egui::Modal::new(egui::Id::unique("settings")).show(ctx, |ui| {
                ui.heading("Settings");
                ui.label("Theme");
                for t in ThemeSetting::ALL {
                    ui.radio_value(theme, t, t.label());
                }
                ui.add_space(8.0);
                diagnostics_settings(ui, diagnostics, actions);
                ui.add_space(8.0);
                sessions.ui(ui, actions);
                ui.add_space(8.0);
                ui.button("Close").clicked()
            });
            if r.inner || r.should_close() {
                self.show_settings = false;
            }
        }
        if self.show_about {
            let r = egui::Modal::new(egui::Id::unique("about")).show(ctx, |ui| {
                ui.heading("exo-connect");
                ui.label(format!("Version {}", env!("CARGO_PKG_VERSION")));
                ui.label(
                    "A connection manager for Exchange Online, Exchange Online Protection \
                     and Security & Compliance.",
                );
                if ui
                    .button("Copy diagnostics")
                    .on_hover_text("Version, OS and the recent log lines, for a support ticket")
                    .clicked()
                {
                    actions.send(UiCommand::CopyDiagnostics);
                }
                ui.button("Close").clicked()
            });
            if r.inner || r.should_close() {
                self.show_about = false;
            }
        }
    }
}

/// The diagnostic log's part of Settings: on/off, debug detail, "Copy diagnostics".
fn diagnostics_settings(ui: &mut Ui, d: &mut DiagnosticsSetting, actions: &mut Actions) {
    ui.label("Diagnostics");
    let before = *d;
    ui.checkbox(&mut d.enabled, "Write a diagnostic log")
        .on_hover_text(
            "Request ids, hosts, status codes, timings, retries and sign-in steps — never a \
             password or token — in the logs folder of exo-connect's configuration folder",
        );
    ui.add_enabled(
        d.enabled,
        egui::Checkbox::new(&mut d.debug, "Include debug detail"),
    );
    if *d != before {
        actions.send(d.command());
    }
    if ui
        .button("Copy diagnostics")
        .on_hover_text("Version, OS and the recent log lines (no secrets), for a support ticket")
        .clicked()
    {
        actions.send(UiCommand::CopyDiagnostics);
    }
}

/// The file dialog of Import profiles… (`save` = false) or Export profiles… (`save` = true).
fn profiles_file(save: bool) -> DialogRequest {
    DialogRequest {
        purpose: if save {
            DialogPurpose::ExportProfiles
        } else {
            DialogPurpose::ImportProfiles
        },
        title: if save {
            "Export profiles"
        } else {
            "Import profiles"
        }
        .into(),
        default_name: if save {
            "exo-connect-profiles.json".into()
        } else {
            String::new()
        },
        // Import reads the CSV layout too (`model::store` import).
        filter: if save {
            ("Profiles".into(), vec!["json".into()])
        } else {
            ("Profiles".into(), vec!["json".into(), "csv".into()])
        },
        save,
    }
}

/// The unsaved-changes guard (shown while a navigation waits for it); `valid` = the draft can
/// be saved. The answer is pushed as [`Action::Guard`].
pub fn guard_dialog(ctx: &egui::Context, valid: bool, actions: &mut Actions) {
    let mut choice = None;
    let r = egui::Modal::new(egui::Id::unique("unsaved_guard")).show(ctx, |ui| {
        ui.heading("Unsaved changes");
        ui.label("The profile you are editing has unsaved changes.");
        ui.horizontal(|ui| {
            if ui
                .add_enabled(valid, egui::Button::new("Save changes"))
                .clicked()
            {
                choice = Some(GuardChoice::Save);
            }
            if ui.button("Discard changes").clicked() {
                choice = Some(GuardChoice::Discard);
            }
            if ui.button("Keep editing").clicked() {
                choice = Some(GuardChoice::KeepEditing);
            }
        });
    });
    if r.should_close() {
        choice = Some(GuardChoice::KeepEditing);
    }
    if let Some(c) = choice {
        actions.push(Action::Guard(c));
    }
}

/// Demo mode: the current verification codes and the demo passwords, with the time each code
/// has left at `now` in 10-second steps. While the phone is on screen it asks for a repaint when
/// that changes (and only then: a hidden phone costs nothing).
pub fn demo_phone(ui: &mut Ui, accounts: &[DemoAccountView], now: DateTime<Utc>) {
    ui.add_space(4.0);
    let mut next = None;
    egui::CollapsingHeader::new(RichText::new("Demo phone").strong())
        .default_open(true)
        .show(ui, |ui| {
            ui.label(
                RichText::new("Made-up accounts of the simulated tenant")
                    .small()
                    .weak(),
            );
            egui::ScrollArea::vertical()
                .max_height(ui.ctx().content_rect().height() * 0.25)
                .show(ui, |ui| demo_accounts(ui, accounts, now, &mut next));
        });
    if let Some(next) = next {
        ui.ctx().request_repaint_after(next);
    }
}

/// The accounts of the demo phone; `next` is when a code's seconds change.
fn demo_accounts(
    ui: &mut Ui,
    accounts: &[DemoAccountView],
    now: DateTime<Utc>,
    next: &mut Option<Duration>,
) {
    for a in accounts {
        ui.add_space(2.0);
        ui.label(RichText::new(&a.upn).strong());
        ui.horizontal(|ui| {
            ui.label("Password:");
            ui.label(RichText::new(&a.password).monospace());
        });
        if let Some(code) = &a.code {
            ui.horizontal(|ui| {
                ui.label("Code:");
                let l = ui.label(
                    RichText::new(code)
                        .monospace()
                        .strong()
                        .size(18.0)
                        .color(theme::AMBER),
                );
                l.on_hover_text("The verification code of this account's authenticator");
                let left = (a.valid_until - now).num_milliseconds().max(0);
                let (text, to_next) = code_left(left);
                let secs = ui.label(RichText::new(text).weak());
                if let Some(to_next) = to_next
                    && ui.is_rect_visible(secs.rect)
                {
                    *next = countdown::sooner(*next, Some(to_next));
                }
            });
        }
    }
    ui.add_space(4.0);
}

/// What a demo code's time left shows, in 10-second steps ("under 30 s"… "under 10 s", then
/// "expired"), and when that changes: three repaints per 30-second code instead of thirty (each
/// frame of a software-rendered window costs tens of milliseconds of CPU). `left` in ms.
fn code_left(left: i64) -> (String, Option<Duration>) {
    const STEP: i64 = 10_000;
    if left <= 0 {
        return ("expired".into(), None);
    }
    let steps = (left + STEP - 1) / STEP;
    let to_next = left - (steps - 1) * STEP;
    (
        format!("under {} s", steps * STEP / 1000),
        Some(Duration::from_millis(to_next as u64)),
    )
}

/// Quitting with live sessions asks first (they close with the window; their cached sign-ins
/// stay, so the next start reconnects quickly).
#[derive(Debug, Default)]
pub struct QuitGuard {
    asking: bool,
    confirmed: bool,
}

impl QuitGuard {
    /// Called every frame with the number of live sessions: a close request of the window is
    /// held back while the question shows.
    pub fn ui(&mut self, ctx: &egui::Context, live: usize) {
        if ctx.input(|i| i.viewport().close_requested()) && live > 0 && !self.confirmed {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.asking = true;
        }
        if !self.asking {
            return;
        }
        let mut choice = None;
        let r = egui::Modal::new(egui::Id::unique("confirm_quit")).show(ctx, |ui| {
            ui.heading("Quit with live sessions?");
            ui.label(format!(
                "{} will close with the window. Their cached sign-ins stay.",
                crate::model::text::count(live, "open session")
            ));
            choice = super::widgets::confirm_row(ui, "Quit");
        });
        if r.should_close() {
            choice = Some(false);
        }
        if let Some(yes) = choice {
            self.asking = false;
            if yes {
                self.confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn import_offers_csv_and_export_writes_json() {
        let import = super::profiles_file(false);
        assert_eq!(import.filter.1, vec!["json", "csv"]);
        let export = super::profiles_file(true);
        assert_eq!(export.filter.1, vec!["json"]);
    }
}
