//! Renders the app in representative states (wgpu, Mesa lavapipe headless) and writes PNGs to
//! `docs/screenshots/`. Not part of the normal run: `cargo test --test ui screens:: -- --ignored`.
//! Look at the images before committing them.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use serde_json::json;

use exo_connect::model::{Profile, Service};
use exo_connect::ui::bridge::{
    ConnId, DeviceCodeState, FakeBackend, FakeHandle, SessionState, SessionView, SignInMethod,
    SignInStage, SignInView, UiEvent,
};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::{App, AppOptions};

/// The window's id of session `n` (the registry's Uuid in the real driver).
fn cid(n: u64) -> ConnId {
    ConnId(uuid::Uuid::from_u128(n as u128))
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

fn profiles() -> Vec<Profile> {
    let mk = |name: &str, upn: &str, s: Service, folder: &str, tags: &[&str], color: &str| {
        let mut p = Profile::new(name, upn, s);
        p.folder = folder.into();
        p.tags = tags.iter().map(|t| t.to_string()).collect();
        p.color = Some(color.into());
        p.tenant = upn.split('@').nth(1).map(str::to_string);
        p
    };
    vec![
        mk(
            "Contoso EXO",
            "admin@contoso.com",
            Service::ExchangeOnline,
            "Contoso",
            &["prod"],
            "#1f6fc5",
        ),
        mk(
            "Contoso SCC",
            "compliance@contoso.com",
            Service::SecurityCompliance,
            "Contoso",
            &["prod"],
            "#0f8a7a",
        ),
        mk(
            "Northwind EOP",
            "admin@northwind.com",
            Service::Protection,
            "Northwind",
            &["lab"],
            "#d98e04",
        ),
        mk(
            "Fabrikam Gov",
            "admin@fabrikam.gov",
            Service::ExchangeOnline,
            "Fabrikam",
            &[],
            "#7a4fc9",
        ),
    ]
}

fn session(
    conn: u64,
    p: &Profile,
    tenant: &str,
    state: SessionState,
    secs: i64,
    host: &str,
) -> SessionView {
    SessionView {
        conn: cid(conn),
        profile_id: p.id,
        profile_name: p.name.clone(),
        color: p.color.clone(),
        service: p.service,
        account: p.upn.clone(),
        tenant: tenant.into(),
        endpoint_host: host.into(),
        state,
        last_error: None,
        token_expires_at: Some(now() + chrono::Duration::seconds(secs)),
        last_activity: now() - chrono::Duration::seconds(conn as i64 * 75),
        requests: conn * 9,
        rate: None,
    }
}

fn app() -> (Harness<'static, App>, FakeHandle) {
    let (backend, fake) = FakeBackend::new();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_theme(egui::Theme::Dark)
        .wgpu()
        .build_eframe(move |cc| {
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions { demo: true },
            )
        });
    h.state_mut().set_clock(now);
    (h, fake)
}

fn save(h: &mut Harness<'static, App>, name: &str) {
    let img = h
        .render()
        .expect("render (needs a Vulkan driver such as Mesa lavapipe)");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    img.save(dir.join(name)).unwrap();
}

#[test]
#[ignore = "writes docs/screenshots; run with --ignored"]
fn screenshots() {
    let (mut h, fake) = app();
    let ps = profiles();
    fake.push(UiEvent::ProfilesLoaded(ps.clone()));
    h.run();
    fake.push(UiEvent::SessionsChanged(vec![
        session(
            1,
            &ps[0],
            "Contoso",
            SessionState::Connected,
            2650,
            "outlook.office365.com",
        ),
        session(
            2,
            &ps[1],
            "Contoso",
            SessionState::Expiring,
            170,
            "ps.compliance.protection.outlook.com",
        ),
        session(
            3,
            &ps[2],
            "Northwind Traders",
            SessionState::Stale,
            1200,
            "outlook.office365.com",
        ),
        SessionView {
            last_error: Some("token refresh refused (AADSTS50173)".into()),
            ..session(
                4,
                &ps[3],
                "Fabrikam Government",
                SessionState::Failed,
                0,
                "outlook.office365.us",
            )
        },
    ]));
    h.run();
    h.get_all_by_label("Contoso SCC").last().unwrap().click();
    h.run();

    // Sign-in dialog at the verification step.
    fake.push(UiEvent::SignIn(SignInView {
        profile_id: ps[0].id,
        profile_name: ps[0].name.clone(),
        account: ps[0].upn.clone(),
        method: SignInMethod::DeviceCode,
        reason: None,
        stage: SignInStage::DeviceCode {
            user_code: "HJKX-4QPL".into(),
            verification_uri: "http://127.0.0.1:47113/devicelogin".into(),
            expires_at: now() + chrono::Duration::seconds(871),
            state: DeviceCodeState::Waiting,
            mfa_explanation: Some("Your organization requires multi-factor authentication for this account, so sign-in continues on the verification page.".into()),
            warning: None,
        },
    }));
    h.run();
    save(&mut h, "signin-dialog.png");
    fake.push(UiEvent::SignInFinished {
        profile_id: ps[0].id,
        result: Ok(()),
    });
    h.run();

    // The output pane with a grid of mailboxes and the session list.
    h.get_all_by_label("Open output").next().unwrap().click();
    h.run();
    let rows = (0..40)
        .map(|i| {
            let names = ["Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Henrietta Mueller", "Isaiah Langer", "Johanna Lorenz", "Lee Gu"];
            let n = names[i % names.len()];
            let first = n.split(' ').next().unwrap().to_lowercase();
            json!({
                "DisplayName": format!("{n}{}", if i >= names.len() { format!(" {}", i / names.len() + 1) } else { String::new() }),
                "PrimarySmtpAddress": format!("{first}{}@contoso.com", if i >= names.len() { (i / names.len() + 1).to_string() } else { String::new() }),
                "RecipientTypeDetails": if i % 7 == 3 { "SharedMailbox" } else { "UserMailbox" },
                "ItemCount": (i * 37 + 120) % 5000,
                "ProhibitSendQuota": "99 GB (106,300,440,576 bytes)",
            })
        });
    let mut rows_store = exo_connect::model::results::ResultStore::new();
    for r in rows {
        rows_store.push_value(&r);
    }
    let rows = rows_store;
    fake.push(UiEvent::RunStarted {
        conn: cid(1),
        line: "Get-Mailbox -ResultSize 10".into(),
    });
    fake.push(UiEvent::RunRows { conn: cid(1), rows });
    fake.push(UiEvent::RunDone {
        conn: cid(1),
        rows: 40,
        pages: 1,
        elapsed: Duration::from_millis(640),
    });
    h.state_mut()
        .set_cmdlet_line(cid(1), "Get-Mailbox -ResultSize 10");
    h.run();
    h.get_by_label("DisplayName").click();
    h.run();
    save(&mut h, "sessions-and-grid.png");
}
