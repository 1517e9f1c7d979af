//! The service's confirmation, in the window (reference page §7): a change cmdlet the service
//! answered with `@adminapi.confirmationmessage` did nothing; this dialog shows the service's
//! own question, naming the profile, the tenant and the cmdlet. Yes sends the line once more
//! with `Confirm: false` ([`UiCommand::RunConfirmed`]); No (or Esc) leaves the tenant as it is.
//! A profile tagged `prod` makes it stronger: a red heading, and Yes stays disabled until "I
//! checked…" is ticked.

use egui::{RichText, Ui};

use super::action::Actions;
use super::bridge::{ConnId, SessionView, UiCommand};
use super::theme;

/// A question of the service waiting for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub conn: ConnId,
    pub line: String,
    /// The service's own text.
    pub question: String,
    pub profile: String,
    pub tenant: String,
    pub cmdlet: String,
    /// The profile is tagged `prod`.
    pub prod: bool,
    /// Production: "I checked…" is ticked.
    sure: bool,
}

/// What the user answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Go ahead: the line is sent again with `Confirm: false`.
    Yes { conn: ConnId, line: String },
    /// Not confirmed: nothing was changed.
    No { conn: ConnId, cmdlet: String },
}

/// The dialog's state: the question showing, if any (a newer question replaces it).
#[derive(Debug, Clone, Default)]
pub struct ServiceConfirm {
    pub pending: Option<Pending>,
}

/// The cmdlet of a line (its first word).
fn cmdlet_of(line: &str) -> String {
    line.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

impl ServiceConfirm {
    /// The service asked about `line` in `session` (None: the session closed meanwhile).
    pub fn ask(
        &mut self,
        conn: ConnId,
        line: String,
        question: String,
        session: Option<&SessionView>,
        prod: bool,
    ) {
        let (profile, tenant) = session
            .map(|s| (s.profile_name.clone(), s.tenant.clone()))
            .unwrap_or_default();
        self.pending = Some(Pending {
            conn,
            cmdlet: cmdlet_of(&line),
            line,
            question,
            profile,
            tenant,
            prod,
            sure: false,
        });
    }

    /// Draws the dialog while a question waits; returns the answer when the user gave one (and
    /// sends the confirmed line on yes).
    pub fn ui(&mut self, ctx: &egui::Context, actions: &mut Actions) -> Option<Answer> {
        let p = self.pending.as_mut()?;
        let mut choice = None;
        let r = egui::Modal::new(egui::Id::unique("service_confirmation")).show(ctx, |ui| {
            ui.set_max_width(560.0);
            choice = body(ui, p);
        });
        if r.should_close() && choice.is_none() {
            choice = Some(false);
        }
        let yes = choice?;
        let p = self.pending.take()?;
        Some(if yes {
            actions.send(UiCommand::RunConfirmed {
                conn: p.conn,
                line: p.line.clone(),
            });
            Answer::Yes {
                conn: p.conn,
                line: p.line,
            }
        } else {
            Answer::No {
                conn: p.conn,
                cmdlet: p.cmdlet,
            }
        })
    }
}

/// The dialog's text and buttons: Some(true) yes, Some(false) no.
fn body(ui: &mut Ui, p: &mut Pending) -> Option<bool> {
    if p.prod {
        ui.heading(
            RichText::new(format!("Change the PRODUCTION tenant {}?", p.tenant))
                .color(theme::RED)
                .strong(),
        );
    } else {
        ui.heading(format!("Confirm {}?", p.cmdlet));
    }
    ui.label(format!(
        "Profile {} · tenant {} · cmdlet {}",
        p.profile, p.tenant, p.cmdlet
    ));
    ui.add_space(4.0);
    ui.label(RichText::new("The service asks:").weak());
    egui::Frame::group(ui.style()).show(ui, |ui| {
        egui::ScrollArea::vertical()
            .max_height(180.0)
            .show(ui, |ui| ui.label(&p.question));
    });
    ui.label(RichText::new(&p.line).monospace());
    ui.label(RichText::new("Nothing has been changed yet.").weak());
    if p.prod {
        ui.checkbox(
            &mut p.sure,
            format!(
                "I checked: this change is meant for the production tenant {}",
                p.tenant
            ),
        );
    }
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let yes = if p.prod {
            format!("Yes, change production: run {}", p.cmdlet)
        } else {
            format!("Yes, run {}", p.cmdlet)
        };
        if ui
            .add_enabled(!p.prod || p.sure, egui::Button::new(yes))
            .clicked()
        {
            Some(true)
        } else if ui.button("No").clicked() {
            Some(false)
        } else {
            None
        }
    })
    .inner
}

/// Whether `line` asks for a `-WhatIf` preview (the service changes nothing).
pub fn is_what_if(line: &str) -> bool {
    crate::model::cmdline::parse_cmdlet_line(line)
        .ok()
        .and_then(|l| l.get("WhatIf").cloned())
        .is_some_and(|v| v == serde_json::Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_if_is_read_from_the_line() {
        assert!(is_what_if("Remove-TransportRule -Identity x -WhatIf"));
        assert!(is_what_if("Remove-TransportRule -Identity x -whatif:$true"));
        assert!(!is_what_if(
            "Remove-TransportRule -Identity x -WhatIf:$false"
        ));
        assert!(!is_what_if("Remove-TransportRule -Identity WhatIf"));
        assert_eq!(cmdlet_of("  Set-Mailbox -Identity a"), "Set-Mailbox");
    }
}
