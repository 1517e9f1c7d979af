//! The editor's live "Route" line: selecting a profile asks the driver to resolve its route
//! (`UiCommand::ResolveRoute`, answered here by the engine's real `route_report_with` over fixed
//! settings), the lines appear under the proxy section, and a proxy's 407 asks for the credential.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use exo_connect::engine::proxy::{Fixture, route_report_with};
use exo_connect::model::{Profile, ProxyAccessType, Service};
use exo_connect::ui::bridge::{FakeBackend, UiCommand, UiEvent};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::{App, AppOptions};

#[test]
fn editor_shows_the_resolved_route_and_asks_for_the_proxy_credential() {
    let (backend, fake) = FakeBackend::new();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1400.0))
        .build_eframe(move |cc| {
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions::default(),
            )
        });
    h.run();
    fake.respond(|cmd| match cmd {
        UiCommand::ResolveRoute { profile } => {
            let mut f = Fixture::default();
            f.env
                .insert("HTTPS_PROXY".into(), "http://proxy.contoso.com:8080".into());
            vec![UiEvent::RouteResolved {
                profile_id: profile.id,
                lines: route_report_with(profile, Arc::new(f)),
            }]
        }
        _ => vec![],
    });
    let mut p = Profile::new("Contoso EXO", "admin@contoso.com", Service::ExchangeOnline);
    p.proxy.access_type = ProxyAccessType::IEConfig;
    let id = p.id;
    fake.push(UiEvent::ProfilesLoaded(vec![p]));
    h.run();
    h.get_by_label("Contoso EXO").click();
    h.run();
    h.run();
    assert!(
        fake.commands()
            .iter()
            .any(|c| matches!(c, UiCommand::ResolveRoute { profile } if profile.id == id)),
        "selecting a profile asks for its route"
    );
    let want = "Admin API (outlook.office365.com): via proxy.contoso.com:8080, from IEConfig (environment HTTPS_PROXY)";
    assert!(
        h.query_all_by_label(want).next().is_some(),
        "the editor shows the route"
    );
    assert!(
        h.query_all_by_label_contains(
            "Sign-in (login.microsoftonline.com): via proxy.contoso.com:8080"
        )
        .next()
        .is_some()
    );

    fake.push(UiEvent::ProxyCredentialNeeded {
        profile_id: id,
        proxy: "proxy.contoso.com:8080".into(),
        explanation: "The proxy proxy.contoso.com:8080 asked for credentials (407 Proxy Authentication Required).".into(),
    });
    h.run();
    assert!(
        h.query_all_by_label_contains("The proxy proxy.contoso.com:8080 asked for credentials (407): set Proxy authentication to Basic")
            .next()
            .is_some()
    );
}
