//! Every pane and dialog of the window, visited by its accessible labels (after egui_demo_app's
//! test that clicks every app by its label): each visit gets to a pane the way a user does (a
//! click or key by label; the driver's events for the dialogs the driver opens), checks every
//! label the pane must show, and leaves it again. A renamed or lost label fails here first.

use std::time::Duration;

use egui_kittest::kittest::Queryable;

use exo_connect::model::{AuthMethod, Profile, Service};
use exo_connect::ui::bridge::{
    DemoAccountView, DeviceCodeState, LimitView, NoticeLevel, SessionState, SignInStage, UiCommand,
    UiEvent,
};

use super::app::{T, app, cid, device_code_view, mailbox, page, profile, session, three_profiles};

/// One pane: how to get there, what it shows, how to leave it.
struct Visit {
    pane: &'static str,
    open: Box<dyn Fn(&mut T)>,
    /// Every label the pane shows once open; for a pane that closes, the first one is shown
    /// only while it is open.
    labels: Vec<&'static str>,
    /// The button that closes it again (None: it stays, e.g. a panel).
    close: Option<&'static str>,
}

fn visit(
    pane: &'static str,
    open: impl Fn(&mut T) + 'static,
    labels: &[&'static str],
    close: Option<&'static str>,
) -> Visit {
    Visit {
        pane,
        open: Box::new(open),
        labels: labels.to_vec(),
        close,
    }
}

/// Three profiles of `three_profiles` plus one signing in with a certificate.
fn profiles() -> Vec<Profile> {
    let mut ps = three_profiles();
    let mut cert = profile(
        "Woodgrove App",
        "automation@woodgrove.com",
        Service::ExchangeOnline,
        "Woodgrove",
        &[],
    );
    cert.auth = AuthMethod::Certificate {
        app_id: "00000000-0000-0000-0000-00000000beef".into(),
        certificate_path: Some("/certs/woodgrove.pfx".into()),
        thumbprint: None,
        organization: "woodgrove.onmicrosoft.com".into(),
    };
    ps.push(cert);
    ps
}

/// The three rows a Get-Mailbox answers with.
fn answer_get_mailbox(t: &T) {
    t.fake.respond(|cmd| match cmd {
        UiCommand::Run { conn, line } if line.starts_with("Get-Mailbox") => vec![
            UiEvent::RunStarted {
                conn: *conn,
                line: line.clone(),
            },
            UiEvent::RunRows {
                conn: *conn,
                rows: page([
                    mailbox("Bob Jones", "bob@contoso.com", 20),
                    mailbox("Alice Smith", "alice@contoso.com", 300),
                    mailbox("Carol White", "carol@contoso.com", 5),
                ]),
            },
            UiEvent::RunDone {
                conn: *conn,
                rows: 3,
                pages: 1,
                elapsed: Duration::from_millis(250),
            },
        ],
        _ => vec![],
    });
}

/// The window's chrome, the profile tree, the editor and its dialogs.
fn profile_visits() -> Vec<Visit> {
    vec![
        visit(
            "top bar",
            |_| {},
            &[
                "exo-connect",
                "New profile",
                "Import profiles…",
                "Export profiles…",
                "Quick connect (Ctrl+K)",
                "Settings",
                "About",
            ],
            None,
        ),
        visit(
            "status bar",
            |_| {},
            &["Ready", "4 profiles · 0 sessions"],
            None,
        ),
        visit(
            "profile tree",
            |_| {},
            &[
                "Search",
                "Contoso EXO",
                "Northwind EOP",
                "Fabrikam Gov",
                "Woodgrove App",
            ],
            None,
        ),
        visit(
            "editor without a profile",
            |_| {},
            &["Select a profile or create a new one", "Create a profile"],
            None,
        ),
        visit(
            "editor: toolbar and identity",
            |t| t.click("Contoso EXO"),
            &[
                "Test connection",
                "Connect",
                "Save",
                "Revert",
                "Duplicate",
                "Delete",
                "Name",
                "Folder",
                "Tags",
                "Colour",
                "UPN",
                "Service",
            ],
            None,
        ),
        visit(
            "editor: endpoints",
            |_| {},
            &[
                "Cloud",
                "ConnectionUri override",
                "Authorization endpoint override",
                "Endpoints this profile uses",
                "PowerShell equivalent",
                "Copy PowerShell",
                "What you would type in PowerShell for this profile:",
            ],
            None,
        ),
        visit(
            "editor: sign-in",
            |_| {},
            &["Sign-in method", "Tenant", "DelegatedOrganization"],
            None,
        ),
        visit(
            "editor: proxy",
            |_| {},
            &[
                "Proxy access type",
                "Proxy authentication",
                "Proxy user",
                "Proxy password",
                "Save to keychain",
                "Page size",
                "Notes",
                "Route",
            ],
            None,
        ),
        visit(
            "editor: certificate sign-in",
            |t| t.click("Woodgrove App"),
            &[
                "AppId",
                "Certificate file",
                "Certificate thumbprint",
                "Organization",
            ],
            None,
        ),
        visit(
            "editor: connection test",
            |t| t.click("Test connection"),
            &["Connection test", "Testing the connection…"],
            None,
        ),
        visit(
            "delete confirmation",
            |t| t.click("Delete"),
            &["Delete profile?", "Delete profile", "Cancel"],
            Some("Cancel"),
        ),
        visit(
            "unsaved-changes guard",
            |t| {
                // The connection test scrolled its result into view: back up to the name.
                t.h.get_by_label("Name").scroll_to_me();
                t.h.run();
                t.type_into("Name", " (edited)");
                t.click("Contoso EXO");
            },
            &[
                "Unsaved changes",
                "Save changes",
                "Discard changes",
                "Keep editing",
            ],
            Some("Discard changes"),
        ),
        visit(
            "quick-connect palette",
            |t| t.click("Quick connect (Ctrl+K)"),
            &[
                "Quick connect",
                "Profile",
                "Connect Contoso EXO",
                "Connect Woodgrove App",
                "Close",
            ],
            Some("Close"),
        ),
        visit(
            "settings",
            |t| t.click("Settings"),
            &["Theme", "Follow system", "Light", "Dark", "Close"],
            Some("Close"),
        ),
        visit(
            "about",
            |t| t.click("About"),
            &[concat!("Version ", env!("CARGO_PKG_VERSION")), "Close"],
            Some("Close"),
        ),
    ]
}

/// The session list, the output pane and the confirmations they ask.
fn session_visits(ps: &[Profile]) -> Vec<Visit> {
    let (contoso, northwind) = (ps[0].clone(), ps[1].clone());
    let sessions = vec![
        session(1, &contoso, SessionState::Connected, 2700),
        session(2, &northwind, SessionState::Stale, 1200),
    ];
    let limited = vec![sessions[0].clone()];
    vec![
        visit(
            "session list",
            move |t| t.push(UiEvent::SessionsChanged(sessions.clone())),
            &[
                "4 profiles · 2 sessions · 1 stale",
                "Sessions (2)",
                "Disconnect all",
                "Disconnect stale (1)",
                "State",
                "Token",
                "Idle",
                "Requests",
                "Open output",
                "Refresh",
                "Disconnect",
            ],
            None,
        ),
        visit(
            "disconnect-all confirmation",
            |t| t.click("Disconnect all"),
            &["Disconnect all sessions?", "Yes, disconnect all", "Cancel"],
            Some("Cancel"),
        ),
        visit(
            "output pane",
            |t| {
                t.h.get_all_by_label("Open output").next().unwrap().click();
                t.h.run();
            },
            &[
                "Close output",
                "Quick test: Get-Mailbox -ResultSize 10",
                "Cmdlet",
                "Run",
                "Filter",
                "Columns",
                "JSON view",
                "Export CSV…",
                "Export JSON…",
                "No results yet. Run the quick test or a cmdlet.",
            ],
            None,
        ),
        visit(
            "output pane: result grid",
            |t| {
                answer_get_mailbox(t);
                t.click("Quick test: Get-Mailbox -ResultSize 10");
            },
            &[
                "3 rows · 1 page · 0.2 s",
                "3 of 3 rows",
                "DisplayName",
                "PrimarySmtpAddress",
                "ItemCount",
                "Bob Jones",
                "alice@contoso.com",
            ],
            None,
        ),
        visit(
            "output pane: details of a row",
            |t| t.click("Carol White"),
            &["Details", "Close details"],
            Some("Close details"),
        ),
        visit(
            "production confirmation",
            |t| {
                t.type_into("Cmdlet", "Set-Mailbox bob -Type Shared");
                t.click("Run");
            },
            &["Change a production tenant?", "Run in production", "Cancel"],
            Some("Cancel"),
        ),
        visit(
            "limit guard",
            move |t| {
                t.push(UiEvent::LimitReached(LimitView {
                    tenant: "Contoso".into(),
                    service: Service::ExchangeOnline,
                    limit: 1,
                    sessions: limited.clone(),
                }))
            },
            &["Session limit reached", "Disconnect", "Close"],
            Some("Close"),
        ),
    ]
}

/// The sign-in dialog at each step (the driver opens it), the demo phone and a notice.
fn driver_visits(p: &Profile) -> Vec<Visit> {
    let step = |stage: SignInStage| {
        let mut view = device_code_view(p, DeviceCodeState::Waiting);
        view.stage = stage;
        move |t: &mut T| t.push(UiEvent::SignIn(view.clone()))
    };
    vec![
        visit(
            "sign-in: starting",
            step(SignInStage::Starting),
            &[
                "Contacting the sign-in service…",
                "Sign in — Contoso EXO",
                "Account:",
                "admin@contoso.com",
                "Cancel",
            ],
            Some("Cancel"),
        ),
        visit(
            "sign-in: password",
            step(SignInStage::Password {
                error: Some("The password is wrong.".into()),
            }),
            &["Password", "The password is wrong.", "Sign in", "Cancel"],
            Some("Cancel"),
        ),
        visit(
            "sign-in: browser",
            step(SignInStage::Browser {
                url: "http://127.0.0.1:9/authorize".into(),
            }),
            &[
                "Continue in your browser",
                "Sign-in address",
                "Copy address",
                "Open browser",
            ],
            Some("Cancel"),
        ),
        visit(
            "sign-in: verification code",
            {
                let view = device_code_view(p, DeviceCodeState::Waiting);
                move |t: &mut T| t.push(UiEvent::SignIn(view.clone()))
            },
            &["ABCD-EFGH", "Copy code", "Open verification page"],
            Some("Cancel"),
        ),
        visit(
            "sign-in: another account",
            step(SignInStage::UpnMismatch {
                expected: "admin@contoso.com".into(),
                actual: "someone@fabrikam.com".into(),
            }),
            &[
                "Continue with this account, or retry with the right one.",
                "Continue",
                "Retry",
            ],
            Some("Cancel"),
        ),
        visit(
            "sign-in: failed",
            step(SignInStage::Failed {
                explanation: "The user declined.".into(),
            }),
            &["Sign-in failed: The user declined.", "Retry"],
            Some("Cancel"),
        ),
        visit(
            "demo phone",
            |t| {
                t.push(UiEvent::DemoPhone(vec![DemoAccountView {
                    upn: "adele@demo.example".into(),
                    password: "demo-password".into(),
                    code: Some("246810".into()),
                    valid_until: super::app::now() + chrono::Duration::seconds(17),
                }]))
            },
            &[
                "Demo phone",
                "Made-up accounts of the simulated tenant",
                "adele@demo.example",
                "demo-password",
                "246810",
                "under 20 s",
            ],
            None,
        ),
        visit(
            "status bar: the latest notice",
            |t| {
                t.push(UiEvent::Notice {
                    level: NoticeLevel::Warning,
                    text: "Proxy answered 407".into(),
                })
            },
            &["Proxy answered 407"],
            None,
        ),
    ]
}

#[test]
fn every_pane_shows_its_labels() {
    let mut t = app();
    let ps = profiles();
    t.push(UiEvent::ProfilesLoaded(ps.clone()));
    let visits: Vec<Visit> = profile_visits()
        .into_iter()
        .chain(session_visits(&ps))
        .chain(driver_visits(&ps[0]))
        .collect();
    let mut failures = Vec::new();
    for v in &visits {
        let marker = v.labels[0];
        if v.close.is_some() && t.has(marker) {
            failures.push(format!("{}: {marker:?} shows before it opens", v.pane));
        }
        (v.open)(&mut t);
        let missing: Vec<&str> = v.labels.iter().copied().filter(|l| !t.has(l)).collect();
        if !missing.is_empty() {
            failures.push(format!("{}: no {missing:?}", v.pane));
        }
        if let Some(close) = v.close {
            t.click(close);
            if t.has(marker) {
                failures.push(format!("{}: {marker:?} still shows after closing", v.pane));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Closing a dialog sends nothing that changes anything: no delete, no run, no disconnect.
    let cmds = t.fake.commands();
    assert!(
        !cmds.iter().any(|c| matches!(
            c,
            UiCommand::DeleteProfile { .. }
                | UiCommand::DisconnectAll
                | UiCommand::Disconnect { .. }
                | UiCommand::SaveProfile(_)
        )),
        "{cmds:?}"
    );
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, UiCommand::Run { line, .. } if line.starts_with("Set-"))),
        "the production confirmation was cancelled"
    );
    assert!(cmds.contains(&UiCommand::CancelSignIn));
    assert!(cmds.contains(&UiCommand::Run {
        conn: cid(1),
        line: "Get-Mailbox -ResultSize 10".into()
    }));
}
