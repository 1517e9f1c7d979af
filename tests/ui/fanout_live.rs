//! The fan-out in the window against the real engine driver and the in-process sim with
//! generated customer tenants: a folder of DelegatedOrganization profiles of one partner
//! account runs Get-TransportRule with one sign-in for all of them (the sign-in queue: one
//! dialog at a time), a customer profile with an account of its own is skipped with "Skip this
//! tenant", and the merged grid holds every done profile's rules led by Profile and Tenant.

use crate::common::signin_support::password_of;

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use exo_connect::engine::auth::NoBrowser;
use exo_connect::model::store::ProfileStore;
use exo_connect::sim::SimConfig;
use exo_connect::sim::world::customers::PARTNER_UPN;
use exo_connect::ui::App;
use exo_connect::ui::bridge::{ProfileState, SignInStage};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::driver::{DriverConfig, Secrets};

use super::engine::live_window;
use crate::common::tenants::{customers_config, delegated_profile};

/// Steps frames until `pred` holds (bounded); `each` runs every frame (the user's part).
fn until(
    h: &mut Harness<'static, App>,
    what: &str,
    mut each: impl FnMut(&mut Harness<'static, App>),
    pred: impl Fn(&App) -> bool,
) {
    let start = Instant::now();
    loop {
        h.step();
        each(h);
        if pred(h.state()) {
            h.step();
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}; notices: {:?}; sign-in {:?}, turn {:?}; rows: {:?}",
            h.state().notices,
            h.state().signin,
            h.state().fanout.turn,
            h.state().fanout.rows
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn click(h: &mut Harness<'static, App>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
}

#[test]
fn a_folder_of_customers_runs_with_one_partner_sign_in_and_a_skipped_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DriverConfig::new(dir.path().to_path_buf());
    cfg.secrets = Secrets::Memory;
    cfg.browser = Arc::new(NoBrowser);
    cfg.signin_timeout = Duration::from_secs(30);
    cfg.demo = Some(SimConfig {
        customer_mailboxes: 10,
        ..customers_config(3)
    });
    let (mut h, sim) = live_window(cfg, FakeDialogs::default());
    until(
        &mut h,
        "the demo profiles",
        |_| {},
        |a| a.profiles.len() >= 5,
    );

    // Another exo-connect saves the customer profiles: the partner's for cust001..003, and
    // cust002's own admin (an account nobody signed in).
    let customer = |name: &str, upn: &str, delegated: Option<&str>| {
        let mut p = delegated_profile(&sim, name, upn, delegated);
        p.folder = "Customers".into();
        p
    };
    let (mut store, _) = ProfileStore::open(dir.path()).unwrap();
    for i in 1..=3 {
        let domain = format!("cust00{i}.onmicrosoft.com");
        let p = customer(&format!("cust00{i}"), PARTNER_UPN, Some(&domain));
        store.upsert(p).unwrap();
    }
    let own = customer("cust002 admin", "admin@cust002.onmicrosoft.com", None);
    store.upsert(own).unwrap();
    store.save().unwrap();
    until(
        &mut h,
        "the customer profiles",
        |_| {},
        |a| {
            a.profiles
                .iter()
                .filter(|p| p.folder == "Customers")
                .count()
                == 4
        },
    );

    h.get_by_label("Customers").click_secondary();
    h.run_steps(2);
    click(&mut h, "Run on folder…");
    h.run_steps(10);
    click(&mut h, "Cmdlet");
    h.get_by_label("Cmdlet").type_text("Get-TransportRule");
    h.run_steps(2);
    // The modal settles (its first frames size and place it) before the click.
    h.run_steps(10);
    click(&mut h, "Run");
    until(
        &mut h,
        "the run to start",
        |_| {},
        |a| a.fanout.rows.len() == 4,
    );

    // The user: types the partner's password in its dialog, skips cust002's own admin.
    let mut partner_dialogs = 0;
    let mut skipped = 0;
    let user = |h: &mut Harness<'static, App>| {
        let Some(view) = h.state().signin.clone() else {
            return;
        };
        if !matches!(view.stage, SignInStage::Password { error: None }) {
            return;
        }
        if h.query_all_by_label("Skip this tenant").next().is_none() {
            return;
        }
        // The dialog settles (its first frames size and place it) before a click.
        h.run_steps(6);
        if view.account == PARTNER_UPN {
            partner_dialogs += 1;
            h.get_by_label("Password").click();
            h.run_steps(2);
            h.get_by_label("Password")
                .type_text(&password_of(PARTNER_UPN));
            h.run_steps(2);
            click(h, "Sign in");
        } else {
            skipped += 1;
            click(h, "Skip this tenant");
        }
        until(
            h,
            "the dialog to move on",
            |_| {},
            |a| {
                a.signin.as_ref().map(|v| (&v.profile_id, &v.stage))
                    != Some((&view.profile_id, &view.stage))
            },
        );
    };
    until(&mut h, "the run to end", user, |a| {
        let f = &a.fanout;
        f.rows.len() == 4 && f.summary.is_some() && f.counts().pending == 0
    });
    assert_eq!(
        partner_dialogs, 1,
        "one partner sign-in serves every customer"
    );
    assert_eq!(skipped, 1);

    let app = h.state();
    let states: Vec<_> = app.fanout.rows.iter().map(|r| r.state.clone()).collect();
    let mut rules = 0;
    for r in &app.fanout.rows {
        match (&r.profile.name[..], &r.state) {
            ("cust002 admin", ProfileState::Skipped { .. }) => {}
            (_, ProfileState::Done { rows, .. }) if r.profile.name != "cust002 admin" => {
                assert!(*rows > 0, "{states:?}");
                rules += rows;
            }
            _ => panic!("unexpected: {states:?}"),
        }
    }
    let merged = app.fanout.out.results();
    assert_eq!(merged.len(), rules, "every done profile's rows, once");
    let cols: Vec<&str> = merged.columns().take(2).collect();
    assert_eq!(cols, ["Profile", "Tenant"]);
    let profiles: std::collections::BTreeSet<String> = (0..merged.len())
        .map(|r| merged.cell_string(r, 0))
        .collect();
    assert_eq!(
        profiles.into_iter().collect::<Vec<_>>(),
        ["cust001", "cust002", "cust003"]
    );
    assert!(
        h.query_all_by_label("cust002 admin: skipped")
            .next()
            .is_some()
    );
}
