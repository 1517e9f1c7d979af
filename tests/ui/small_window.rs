//! The session list and the output at 1024×700 (issue 15): the list's columns that do not fit
//! are dropped by priority (what they show stays on the profile's hover) so nothing is cut off
//! and the actions always show; the list is as high as its rows (at most a third of the window)
//! and folds, so the output grid gets the height. At 1600×1000 every column shows.

use egui_kittest::kittest::{NodeT, Queryable};

use exo_connect::ui::bridge::{SessionState, UiCommand, UiEvent};

use super::app::{T, app_with, cid, mailbox, page, session, three_profiles};

fn window(w: f32, h: f32) -> T {
    let mut t = app_with(|b| b.with_size(egui::vec2(w, h)));
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    let mut s = vec![
        session(1, &p[0], SessionState::Connected, 2700),
        session(2, &p[1], SessionState::Connected, 2700),
    ];
    s[1].endpoint_host = "outlook.northwind-endpoint.example".into();
    t.push(UiEvent::SessionsChanged(s));
    t
}

const HEADERS: [&str; 10] = [
    "State", "Rate", "Profile", "Service", "Account", "Tenant", "Token", "Idle", "Requests",
    "Endpoint",
];

/// The session list's column headers shown, each with its right edge.
fn headers(t: &T) -> Vec<(&'static str, f32)> {
    HEADERS
        .iter()
        .filter_map(|h| t.h.query_by_label(h).map(|n| (*h, n.rect().max.x)))
        .collect()
}

#[test]
fn at_1024_by_700_no_column_is_cut_and_the_actions_show() {
    let mut t = window(1024.0, 700.0);
    let shown = headers(&t);
    for (h, right) in &shown {
        assert!(*right <= 1024.0, "{h} ends at {right}, past the window");
    }
    for must in ["State", "Profile", "Token"] {
        assert!(shown.iter().any(|(h, _)| *h == must), "{must} shows");
    }
    assert!(
        shown.len() < HEADERS.len(),
        "some columns are dropped: {shown:?}"
    );
    assert!(
        !shown.iter().any(|(h, _)| *h == "Endpoint"),
        "dropped first"
    );
    for b in t.h.get_all_by_label("Disconnect") {
        assert!(b.rect().max.x <= 1024.0 && b.rect().max.y <= 700.0);
    }
    // What the dropped columns show is on the profile's hover.
    let lowest =
        t.h.get_all_by_label("Northwind EOP")
            .max_by(|a, b| a.rect().min.y.total_cmp(&b.rect().min.y));
    lowest.unwrap().hover();
    t.h.run();
    assert!(t.has_containing("Endpoint: outlook.northwind-endpoint.example"));
    t.h.get_all_by_label("Disconnect").nth(1).unwrap().click();
    t.h.run();
    assert!(t.sent(|c| *c == UiCommand::Disconnect { conn: cid(2) }));
}

#[test]
fn at_1600_by_1000_every_column_shows() {
    let t = window(1600.0, 1000.0);
    let shown = headers(&t);
    assert_eq!(shown.len(), HEADERS.len(), "{shown:?}");
    for (h, right) in &shown {
        assert!(*right <= 1600.0, "{h} ends at {right}");
    }
}

/// The rows of the output grid drawn inside the window.
fn grid_rows(t: &T) -> usize {
    // The PrimarySmtpAddress cells ("userN@contoso.com"): nothing else has a "user" in it.
    t.h.query_all_by_label_contains("user")
        .filter(|n| {
            n.accesskit_node()
                .bounding_box()
                .is_some_and(|r| r.y1 <= 700.0 && r.y0 >= 0.0)
        })
        .count()
}

#[test]
fn at_1024_by_700_the_output_grid_gets_the_height() {
    let mut t = window(1024.0, 700.0);
    let rows = (0..200).map(|i| mailbox(&format!("User {i}"), &format!("user{i}@contoso.com"), 1));
    t.push(UiEvent::RunStarted {
        conn: cid(1),
        line: "Get-Mailbox".into(),
    });
    t.push(UiEvent::RunRows {
        conn: cid(1),
        rows: page(rows),
    });
    t.push(UiEvent::RunDone {
        conn: cid(1),
        rows: 200,
        pages: 1,
        elapsed: std::time::Duration::from_millis(5),
    });
    t.click("Output tab: Contoso EXO");
    let open = grid_rows(&t);
    // Before: the list took 190 px of its own, ~9 rows were left.
    assert!(open >= 13, "{open} grid rows with the session list open");
    // The list folds to its header: more rows still.
    t.click("Hide list");
    let folded = grid_rows(&t);
    assert!(folded > open + 2, "{folded} rows folded, {open} open");
    assert!(!t.has("Open output"), "the rows are folded away");
    t.click("Show list");
    assert_eq!(t.h.get_all_by_label("Open output").count(), 2);
}

/// The session list never reaches under the panes above it: with no session (its list shorter
/// than a scroll area's usual minimum) and with the strip of sessions not restored, its header
/// sits below the profile pane's last row (the demo phone at the pane's bottom).
#[test]
fn the_session_list_stays_below_the_panes_above_it() {
    use exo_connect::model::workspace::{OpenSession, Workspace};
    use exo_connect::ui::bridge::DemoAccountView;
    let mut t = app_with(|b| b.with_size(egui::vec2(1024.0, 700.0)));
    let p = three_profiles();
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    t.push(UiEvent::DemoPhone(vec![DemoAccountView {
        upn: "admin@demo.example".into(),
        password: "demo-password-1".into(),
        code: None,
        valid_until: super::app::now(),
    }]));
    let phone_bottom = |t: &T| t.h.get_by_label("demo-password-1").rect().max.y;
    let header_top = |t: &T| t.h.get_by_label("Sessions (0)").rect().min.y;
    assert!(
        phone_bottom(&t) < header_top(&t),
        "the phone ends at {}, the list header at {}",
        phone_bottom(&t),
        header_top(&t)
    );
    let ws = Workspace {
        open: vec![OpenSession {
            profile_id: p[0].id,
            view: Default::default(),
        }],
        ..Default::default()
    };
    t.push(UiEvent::WorkspaceLoaded(Box::new(ws)));
    t.push(UiEvent::RestoreFailed {
        profile_id: p[0].id,
        reason: "needs an interactive sign-in".into(),
    });
    let strip_top = t.h.get_by_label("Reconnect Contoso EXO").rect().min.y;
    assert!(
        phone_bottom(&t) < strip_top,
        "the strip shows below the tree"
    );
}

/// The output's banner at 1024 px with a long account: its #prod tag shows whole, left of the
/// buttons, and the account is cut instead of drawn under them.
#[test]
fn at_1024_the_banner_keeps_prod_clear_of_its_buttons() {
    let mut t = app_with(|b| b.with_size(egui::vec2(1024.0, 700.0)));
    let mut p = three_profiles();
    p[0].tags = vec!["demo".into(), "customer-gold".into(), "prod".into()];
    t.push(UiEvent::ProfilesLoaded(p.clone()));
    let mut s = session(1, &p[0], SessionState::Connected, 2700);
    s.account = "a.very.long.administrator.account.name@contoso-international.example".into();
    t.push(UiEvent::SessionsChanged(vec![s]));
    t.click("Output tab: Contoso EXO");
    // The tree shows the tags too: the banner's are the ones right of the tree.
    let prod =
        t.h.get_all_by_label("#prod")
            .map(|n| n.rect())
            .max_by(|a, b| a.min.x.total_cmp(&b.min.x))
            .unwrap();
    let ps = t.h.get_by_label("Open in PowerShell").rect();
    assert!(
        prod.max.x <= ps.min.x,
        "#prod ends at {}, the button starts at {}",
        prod.max.x,
        ps.min.x
    );
    let who = t.h.get_by_label_contains("· a.very.long").rect();
    assert!(
        who.max.x <= ps.min.x,
        "the account ends at {}, under the button at {}",
        who.max.x,
        ps.min.x
    );
}
