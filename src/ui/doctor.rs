//! The editor's "Test connection" section: the connectivity check's steps as they arrive, with
//! what happened, why and what to do under a failed step.
//!
//! [`DoctorPane`] is view state and drawing only (no network, never blocks): the driver answers
//! [`UiCommand::TestConnection`](super::bridge::UiCommand::TestConnection) with
//! [`UiEvent::DoctorStep`](super::bridge::UiEvent::DoctorStep)s and a
//! [`UiEvent::DoctorDone`](super::bridge::UiEvent::DoctorDone) (see `driver/checks.rs`).

use egui::{RichText, Ui};
use uuid::Uuid;

use super::theme;
use crate::model::diagnosis::{DiagStep, Outcome};

/// What the section shows for the profile in the editor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoctorPane {
    /// The profile the shown test belongs to (events of other profiles are ignored).
    pub profile_id: Option<Uuid>,
    pub running: bool,
    pub steps: Vec<DiagStep>,
    /// (passed, summary) once the test ended.
    pub result: Option<(bool, String)>,
    /// Something new arrived: scroll the section's end into view once (below the fold
    /// otherwise, and the button seems to do nothing).
    pub reveal: bool,
}

impl DoctorPane {
    /// A test of `profile_id` starts: forget the previous one.
    pub fn start(&mut self, profile_id: Uuid) {
        *self = DoctorPane {
            profile_id: Some(profile_id),
            running: true,
            reveal: true,
            ..Default::default()
        };
    }

    pub fn step(&mut self, profile_id: Uuid, step: DiagStep) {
        if self.profile_id == Some(profile_id) {
            self.steps.push(step);
            self.reveal = true;
        }
    }

    pub fn done(&mut self, profile_id: Uuid, passed: bool, summary: String) {
        if self.profile_id == Some(profile_id) {
            self.running = false;
            self.result = Some((passed, summary));
            self.reveal = true;
        }
    }

    fn mark(o: Outcome) -> (&'static str, egui::Color32) {
        match o {
            // Words, not symbols: the bundled fonts have no check marks, and screen readers
            // read words.
            Outcome::Passed => ("OK", theme::GREEN),
            Outcome::Failed => ("FAILED", theme::RED),
            Outcome::Warning => ("WARNING", theme::AMBER),
            Outcome::Skipped => ("skipped", theme::GREY),
        }
    }

    /// Draws the section (nothing before the first test).
    pub fn ui(&mut self, ui: &mut Ui) {
        if self.profile_id.is_none() {
            return;
        }
        ui.add_space(8.0);
        ui.separator();
        ui.strong("Connection test");
        for s in &self.steps {
            let (mark, color) = Self::mark(s.outcome);
            let time = if s.outcome == Outcome::Skipped {
                String::new()
            } else {
                format!(" ({} ms)", s.elapsed_ms)
            };
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(mark).color(color).strong());
                ui.label(RichText::new(format!("{} {}", s.kind.label(), s.target)).strong());
                ui.add(egui::Label::new(format!("{}{time}", plain_glyphs(&s.summary))).wrap());
            });
            if let Some(a) = &s.advice
                && matches!(s.outcome, Outcome::Failed | Outcome::Warning)
            {
                ui.indent(("doctor_advice", &s.target, s.kind.label()), |ui| {
                    ui.add(
                        egui::Label::new(RichText::new(format!(
                            "What happened: {}",
                            plain_glyphs(&a.what)
                        )))
                        .wrap(),
                    );
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!("Why: {}", plain_glyphs(&a.why))).weak(),
                        )
                        .wrap(),
                    );
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!("What to do: {}", plain_glyphs(&a.fix)))
                                .color(color),
                        )
                        .wrap(),
                    );
                });
            }
        }
        if self.running {
            // A static line, not a spinner: the driver wakes the window when a step arrives.
            ui.label(RichText::new("Testing the connection…").weak());
        }
        if let Some((passed, summary)) = &self.result {
            let color = if *passed { theme::GREEN } else { theme::RED };
            ui.label(RichText::new(summary).color(color).strong());
        }
        if std::mem::take(&mut self.reveal) {
            let end = ui.min_rect();
            let last =
                egui::Rect::from_min_max(egui::pos2(end.left(), end.bottom() - 1.0), end.max);
            ui.scroll_to_rect(last, Some(egui::Align::BOTTOM));
        }
    }
}

/// The bundled fonts have no arrows: the engine's `→` is drawn as `->`.
fn plain_glyphs(s: &str) -> String {
    s.replace('→', "->")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diagnosis::StepKind;

    #[test]
    fn pane_ignores_other_profiles_and_finishes() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut p = DoctorPane::default();
        p.start(a);
        let step = DiagStep {
            kind: StepKind::Tcp,
            target: "127.0.0.1:1".into(),
            outcome: Outcome::Failed,
            summary: "refused".into(),
            elapsed_ms: 1,
            advice: None,
        };
        p.step(b, step.clone());
        assert!(p.steps.is_empty());
        p.step(a, step.clone());
        p.done(b, true, "other".into());
        assert!(p.running);
        p.done(a, false, "1 of 1 checks failed".into());
        assert!(!p.running);
        assert_eq!(p.steps, vec![step]);
        assert_eq!(p.result, Some((false, "1 of 1 checks failed".into())));
    }
}
