//! The modal sign-in dialog, driven entirely by the [`SignInView`] the engine sends.

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};

use super::action::Actions;
use super::bridge::{DeviceCodeState, Secret, SignInMethod, SignInStage, SignInView, UiCommand};
use super::countdown;
use super::theme;

fn method_name(m: SignInMethod) -> &'static str {
    match m {
        SignInMethod::Password => "Password",
        SignInMethod::Browser => "Browser",
        SignInMethod::DeviceCode => "Device code",
        SignInMethod::Certificate => "Certificate (app-only)",
    }
}

/// The sign-in dialog. What it shows is the engine's latest [`SignInView`] (kept by the app, as
/// the driver sent it); the dialog owns what the user types.
#[derive(Debug, Clone, Default)]
pub struct SignInDialog {
    /// The password typed at the password step (cleared when the dialog closes).
    password: String,
    /// The password step just appeared: focus its field once.
    password_focus: bool,
    /// A fan-out's sign-in (set by the app each frame): offer "Skip this tenant".
    pub skip: bool,
    /// A warning or error that arrived while the dialog showed (e.g. no browser could be
    /// opened): said here, where the admin looks, not only behind the dialog in the status bar.
    pub note: Option<String>,
}

impl SignInDialog {
    /// The engine's view of the sign-in goes from `old` (None: the dialog was closed) to `new`:
    /// another profile forgets the typed password; the password step focuses its field once.
    pub fn changed(&mut self, old: Option<&SignInView>, new: &SignInView) {
        if old.map(|v| v.profile_id) != Some(new.profile_id) {
            self.password.clear();
        }
        let was_password = matches!(old.map(|v| &v.stage), Some(SignInStage::Password { .. }));
        if !was_password && matches!(new.stage, SignInStage::Password { .. }) {
            self.password_focus = true;
        }
    }

    /// The sign-in ended (or was cancelled): forget the typed password.
    pub fn closed(&mut self) {
        self.password.clear();
        self.note = None;
    }

    /// Draws the dialog of `view` while it is Some; Cancel sets it to None. `now` drives the
    /// device-code countdown.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        view: &mut Option<SignInView>,
        now: DateTime<Utc>,
        actions: &mut Actions,
    ) {
        let Some(shown) = view.clone() else {
            return;
        };
        let mut cmds: Vec<UiCommand> = Vec::new();
        egui::Modal::new(egui::Id::unique("signin")).show(ctx, |ui| {
            ui.set_width(440.0);
            ui.heading(format!("Sign in — {}", shown.profile_name));
            ui.horizontal(|ui| {
                ui.label("Account:");
                ui.strong(&shown.account);
            });
            ui.label(format!("Method: {}", method_name(shown.method)));
            if let Some(why) = &shown.reason {
                // Why the dialog is back (continuous access evaluation).
                ui.label(
                    egui::RichText::new(format!("Why again: {why}")).color(super::theme::AMBER),
                );
            }
            ui.separator();
            self.stage_ui(ui, &shown.stage, now, &mut cmds);
            if let Some(note) = &self.note {
                ui.add_space(4.0);
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(note).color(theme::AMBER));
                    if ui.small_button("Copy message").clicked() {
                        ui.ctx().copy_text(note.clone());
                    }
                });
            }
            ui.separator();
            if self.skip {
                ui.label(
                    RichText::new(
                        "This tenant needs a sign-in; skip it and the run goes on with the others.",
                    )
                    .weak(),
                );
                // Either ends this profile's sign-in: a fan-out then skips the tenant.
                if ui.button("Skip this tenant").clicked() {
                    cmds.push(UiCommand::CancelSignIn);
                }
            }
            if ui.button("Cancel").clicked() {
                cmds.push(UiCommand::CancelSignIn);
            }
        });
        for cmd in cmds {
            if cmd == UiCommand::CancelSignIn {
                *view = None;
                self.closed();
            }
            actions.send(cmd);
        }
    }

    /// The body of the dialog for the current step; the buttons push their commands to `cmds`.
    fn stage_ui(
        &mut self,
        ui: &mut Ui,
        stage: &SignInStage,
        now: DateTime<Utc>,
        cmds: &mut Vec<UiCommand>,
    ) {
        match stage {
            SignInStage::Starting => {
                ui.horizontal(|ui| {
                    ui.label("Contacting the sign-in service…");
                });
            }
            SignInStage::Password { error } => self.password_step(ui, error.as_deref(), cmds),
            SignInStage::Browser { url } => browser_step(ui, url, cmds),
            SignInStage::DeviceCode { .. } => device_code_step(ui, stage, now, cmds),
            SignInStage::UpnMismatch { expected, actual } => {
                ui.label(
                    RichText::new(format!(
                        "Warning: you signed in as {actual}, but this profile is for {expected}."
                    ))
                    .color(theme::AMBER),
                );
                ui.label("Continue with this account, or retry with the right one.");
                ui.horizontal(|ui| {
                    if ui.button("Continue").clicked() {
                        cmds.push(UiCommand::ContinueDespiteMismatch);
                    }
                    if ui.button("Retry").clicked() {
                        cmds.push(UiCommand::RetrySignIn);
                    }
                });
            }
            SignInStage::Failed { explanation } => {
                explained(ui, &format!("Sign-in failed: {explanation}"));
                if ui.button("Retry").clicked() {
                    cmds.push(UiCommand::RetrySignIn);
                }
            }
        }
    }

    /// The password field (focused when the step appears) and Sign in (or Enter).
    fn password_step(&mut self, ui: &mut Ui, error: Option<&str>, cmds: &mut Vec<UiCommand>) {
        if let Some(e) = error {
            explained(ui, e);
        }
        let l = ui.label("Password");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut self.password)
                    .password(true)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
        if std::mem::take(&mut self.password_focus) {
            r.request_focus();
        }
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let can = !self.password.is_empty();
        if (ui.add_enabled(can, egui::Button::new("Sign in")).clicked() || enter) && can {
            cmds.push(UiCommand::SubmitPassword {
                password: Secret::new(std::mem::take(&mut self.password)),
            });
        }
    }
}

/// An explanation split in two: the plain sentence first, and what Entra said with its codes
/// and the trace and correlation ids support asks for (None when there is none).
pub fn split_details(explanation: &str) -> (&str, Option<&str>) {
    if let Some(at) = explanation.find(" Entra said: ") {
        return (&explanation[..at], Some(explanation[at..].trim_start()));
    }
    match explanation.find(" (trace id ") {
        Some(at) => (&explanation[..at], Some(explanation[at..].trim_start())),
        None => (explanation, None),
    }
}

/// The plain sentence in red; the codes and ids behind "Details", with a copy button.
fn explained(ui: &mut Ui, explanation: &str) {
    let (plain, details) = split_details(explanation);
    ui.add(egui::Label::new(RichText::new(plain).color(theme::RED)).wrap());
    if let Some(d) = details {
        egui::CollapsingHeader::new("Details")
            .id_salt("signin_error_details")
            .show(ui, |ui| {
                ui.add(egui::Label::new(RichText::new(d).weak()).wrap());
                if ui.small_button("Copy details").clicked() {
                    ui.ctx().copy_text(explanation.to_string());
                }
            });
    }
}

/// The browser step: the address to copy, and Open browser.
fn browser_step(ui: &mut Ui, url: &str, cmds: &mut Vec<UiCommand>) {
    ui.label(
        RichText::new("Continue in your browser")
            .size(18.0)
            .strong(),
    );
    ui.label(
        "Finish signing in in the browser window. If no browser opened, copy this address into one:",
    );
    let l = ui.label("Sign-in address");
    let mut u = url;
    ui.add(egui::TextEdit::singleline(&mut u).desired_width(f32::INFINITY))
        .labelled_by(l.id);
    ui.horizontal(|ui| {
        if ui.button("Copy address").clicked() {
            ui.ctx().copy_text(url.to_string());
        }
        if ui.button("Open browser").clicked() {
            cmds.push(UiCommand::OpenUrl {
                url: url.to_string(),
            });
        }
    });
}

/// The verification step: the code to type, the page to open, the countdown at `now`.
fn device_code_step(
    ui: &mut Ui,
    stage: &SignInStage,
    now: DateTime<Utc>,
    cmds: &mut Vec<UiCommand>,
) {
    let SignInStage::DeviceCode {
        user_code,
        verification_uri,
        expires_at,
        state,
        mfa_explanation,
        warning,
    } = stage
    else {
        return;
    };
    if let Some(m) = mfa_explanation {
        ui.label(RichText::new(m).color(theme::AMBER));
        ui.add_space(4.0);
    }
    ui.label(format!("Open {verification_uri} and enter this code:"));
    ui.horizontal(|ui| {
        ui.label(RichText::new(user_code).size(34.0).monospace().strong());
        if ui.button("Copy code").clicked() {
            ui.ctx().copy_text(user_code.clone());
        }
    });
    match warning {
        // Not a Microsoft sign-in page: the address stays text, with the warning, no button.
        Some(w) => {
            ui.label(RichText::new(w).color(theme::RED));
        }
        None => {
            if ui.button("Open verification page").clicked() {
                cmds.push(UiCommand::OpenUrl {
                    url: verification_uri.clone(),
                });
            }
        }
    }
    let left = countdown::left(*expires_at, now, false);
    let effective = if left.next.is_none() && *state != DeviceCodeState::Declined {
        DeviceCodeState::Expired
    } else {
        *state
    };
    device_state(ui, effective, &left.text);
    if let Some(next) = left.next {
        // The countdown's next change (and the code's expiry): no repaint before.
        ui.ctx().request_repaint_after(next);
    }
    if effective == DeviceCodeState::Expired && ui.button("Get a new code").clicked() {
        cmds.push(UiCommand::NewDeviceCode);
    }
}

fn device_state(ui: &mut Ui, state: DeviceCodeState, left: &str) {
    let (text, color) = match state {
        DeviceCodeState::Waiting => (
            format!("Waiting for you to finish… code expires in {left}"),
            ui.visuals().text_color(),
        ),
        DeviceCodeState::SlowedDown => (
            format!("Waiting (the service asked us to check less often)… code expires in {left}"),
            theme::AMBER,
        ),
        DeviceCodeState::Expired => ("The code expired.".to_string(), theme::RED),
        DeviceCodeState::Declined => (
            "The sign-in was declined on the verification page.".to_string(),
            theme::RED,
        ),
    };
    ui.horizontal(|ui| {
        // No spinner: it would repaint every frame; the countdown asks for its own repaints.
        ui.label(RichText::new(text).color(color));
    });
}

#[cfg(test)]
mod split_tests {
    use super::split_details;

    #[test]
    fn the_ids_go_behind_details() {
        let (p, d) = split_details("Wrong password. Entra said: AADSTS50126: x (trace id t)");
        assert_eq!(p, "Wrong password.");
        assert_eq!(d, Some("Entra said: AADSTS50126: x (trace id t)"));
        let (p, d) =
            split_details("Sign-in failed (invalid_grant). (trace id t, correlation id c)");
        assert_eq!(p, "Sign-in failed (invalid_grant).");
        assert_eq!(d, Some("(trace id t, correlation id c)"));
        assert_eq!(split_details("Cancelled."), ("Cancelled.", None));
    }
}
