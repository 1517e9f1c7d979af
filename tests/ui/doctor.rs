//! The editor's "Test connection": the button sends the draft, the steps show as they arrive
//! with the catalogue's explanation under a failure; and the local driver answers the command
//! with a real check against the sim.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use exo_connect::model::diagnosis::{Advice, DiagStep, Outcome, StepKind};
use exo_connect::model::failures::ids;
use exo_connect::model::{Profile, Service};
use exo_connect::ui::bridge::{FakeBackend, UiCommand, UiEvent};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::{App, AppOptions};

fn step(kind: StepKind, target: &str, outcome: Outcome, summary: &str) -> DiagStep {
    DiagStep {
        kind,
        target: target.into(),
        outcome,
        summary: summary.into(),
        elapsed_ms: 3,
        advice: None,
    }
}

#[test]
fn test_connection_sends_the_draft_and_shows_steps_as_they_arrive() {
    let (backend, fake) = FakeBackend::new();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1200.0))
        .build_eframe(move |cc| {
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions::default(),
            )
        });
    h.run();
    let p = Profile::new("Contoso EXO", "admin@contoso.com", Service::ExchangeOnline);
    fake.push(UiEvent::ProfilesLoaded(vec![p.clone()]));
    h.run();
    h.get_by_label("Contoso EXO").click();
    h.run();
    h.get_by_label("Test connection").click();
    h.run();
    let sent: Vec<Profile> = fake
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            UiCommand::TestConnection { profile } => Some(*profile),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, p.id);
    assert!(
        h.query_all_by_label_contains("Testing the connection")
            .next()
            .is_some()
    );

    fake.push(UiEvent::DoctorStep {
        profile_id: p.id,
        step: step(
            StepKind::Dns,
            "login.microsoftonline.com",
            Outcome::Passed,
            "→ 20.190.1.2",
        ),
    });
    h.run();
    assert!(
        h.query_all_by_label_contains("-> 20.190.1.2")
            .next()
            .is_some()
    );
    let mut tcp = step(
        StepKind::Tcp,
        "outlook.office365.com:443",
        Outcome::Failed,
        "connection refused",
    );
    tcp.advice = Advice::from_catalogue(ids::TCP_BLOCKED);
    fake.push(UiEvent::DoctorStep {
        profile_id: p.id,
        step: tcp,
    });
    let mut tls = step(
        StepKind::Tls,
        "outlook.office365.com:443",
        Outcome::Warning,
        "issued by Contoso Inspection CA — not trusted by the system's roots; clock “3 h” ahead…",
    );
    tls.advice = Advice::from_catalogue(ids::TLS_UNKNOWN_ISSUER);
    fake.push(UiEvent::DoctorStep {
        profile_id: p.id,
        step: tls,
    });
    // A step of another profile is not shown here.
    fake.push(UiEvent::DoctorStep {
        profile_id: uuid::Uuid::new_v4(),
        step: step(
            StepKind::Dns,
            "elsewhere.example",
            Outcome::Passed,
            "→ 1.2.3.4",
        ),
    });
    fake.push(UiEvent::DoctorDone {
        profile_id: p.id,
        passed: false,
        summary: "1 of 2 checks failed".into(),
    });
    h.run();
    assert!(
        h.query_all_by_label_contains("What to do: Check the host and port")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label_contains("Why: Nothing listens")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label("1 of 2 checks failed")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label_contains("Contoso Inspection CA")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label_contains("update-ca-certificates")
            .next()
            .is_some()
    );
    assert!(h.query_all_by_label_contains("1.2.3.4").next().is_none());
    assert!(
        h.query_all_by_label_contains("Testing the connection")
            .next()
            .is_none()
    );
}
