//! Fan-out runs (`engine::fanout`) against `sim --tenants N` over loopback: 200
//! DelegatedOrganization profiles of the partner on one partner sign-in, merged rows complete
//! and attributed; failing and throttling tenants; cancel mid-run and retry; cached and
//! uncached profiles with no prompt.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc::UnboundedReceiver;

use exo_connect::engine::auth::{SignInError, SignInEvent};
use exo_connect::engine::connect::{
    ConnectError, ConnectOptions, Connector, OnFailure, OnMismatch, SignInPrompt,
};
use exo_connect::engine::fanout::{
    self, FanoutEvent, FanoutOptions, FanoutSummary, FanoutTarget, ProfileState,
};
use exo_connect::engine::rest::{CmdletRequest, RunEvent};
use exo_connect::engine::sessions::RegistrySettings;
use exo_connect::model::Profile;
use exo_connect::sim::world::TenantBehaviour;
use exo_connect::sim::world::customers::PARTNER_UPN;
use exo_connect::sim::{SimConfig, SimHandle};

use crate::common::signin_support::engine_connector;
use crate::common::tenants::{
    PARTNER_PASSWORD, customers_config, delegated_profile as profile, partner_profiles,
};

const ADMIN_PASSWORD: &str = "admin-Demo-2026!";

async fn sim(tenants: usize, f: impl FnOnce(&mut SimConfig)) -> Arc<SimHandle> {
    let mut cfg = customers_config(tenants);
    f(&mut cfg);
    Arc::new(exo_connect::sim::start(cfg).await.expect("sim starts"))
}

fn connector() -> Connector {
    engine_connector(RegistrySettings::default(), |c| c, Duration::from_secs(20))
}

/// Gives one password to every profile that asks (the sign-in queue asks one at a time); a
/// failed sign-in gives up.
struct Password(String);

impl Password {
    fn of(pw: &str) -> Arc<Password> {
        Arc::new(Password(pw.to_string()))
    }
}

impl SignInPrompt for Password {
    fn show(&self, _: &SignInEvent) {}
    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        let pw = self.0.clone();
        Box::pin(async move { Ok(pw) })
    }
    fn upn_mismatch<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, OnMismatch> {
        Box::pin(async { OnMismatch::Continue })
    }
    fn failed<'a>(&'a self, _: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        Box::pin(async { OnFailure::GiveUp })
    }
}

async fn sign_in(c: &Connector, p: &Profile, password: &str) {
    let prompt = Password::of(password);
    c.sign_in(p, prompt.as_ref(), &ConnectOptions::default())
        .await
        .expect("signs in");
}

/// Events until every profile is final; the summary of the Idle event.
async fn until_idle(
    rx: &mut UnboundedReceiver<FanoutEvent>,
    seen: &mut Vec<FanoutEvent>,
) -> FanoutSummary {
    let wait = async {
        while let Some(e) = rx.recv().await {
            seen.push(e.clone());
            if let FanoutEvent::Idle(s) = e {
                return s;
            }
        }
        panic!("the run's events ended without Idle");
    };
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .expect("the run ends")
}

fn rows_per_profile(merged: &exo_connect::model::results::ResultStore) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in 0..merged.len() {
        *m.entry(merged.cell_string(r, 0)).or_insert(0) += 1;
    }
    m
}

/// A customer's display name in the sim (`cust001` → "Blue Falcon 001").
fn display_name(h: &SimHandle, customer: &str) -> String {
    let domain = format!("{customer}.onmicrosoft.com");
    h.world().tenant(&domain).unwrap().display_name.clone()
}

/// `Get-OrganizationConfig` requests the sim answered so far.
fn org_config_requests(h: &SimHandle) -> usize {
    h.admin
        .requests()
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("Get-OrganizationConfig"))
        .count()
}

/// The sorted Guids of a single run of `Get-TransportRule` with `p` (its cached sign-in).
async fn single_run_guids(c: &Connector, p: &Profile) -> Vec<String> {
    let connected = c
        .connect(
            p,
            Password::of("unused").as_ref(),
            &ConnectOptions::default(),
        )
        .await
        .unwrap();
    let id = connected.session.connection_id;
    let mut run = c
        .registry()
        .run(id, CmdletRequest::new("Get-TransportRule"))
        .await
        .unwrap();
    let mut guids = Vec::new();
    while let Some(e) = run.events.recv().await {
        match e {
            RunEvent::Page { rows, .. } => {
                let g = rows.column_index("Guid").unwrap();
                guids.extend((0..rows.len()).map(|r| rows.cell_string(r, g)));
            }
            RunEvent::Done { .. } => break,
            RunEvent::Failed(e) => panic!("{e}"),
            _ => {}
        }
    }
    c.registry().disconnect(id, false).await.unwrap();
    guids.sort();
    guids
}

/// A partner's customer tokens are redeemed from its one refresh token at the same time (Entra
/// keeps a redeemed refresh token valid), not one after another; against a server that retires
/// redeemed refresh tokens, every customer is still served (the cache falls back to one at a
/// time) and the keychain keeps the one token that still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_tokens_are_redeemed_at_once_and_a_single_use_server_still_serves_all() {
    for single_use in [false, true] {
        let h = sim(41, |c| {
            c.token_delay = Duration::from_millis(40);
            c.single_use_refresh_tokens = single_use;
        })
        .await;
        let c = connector();
        let mut profiles = partner_profiles(&h);
        let late = profiles.pop().unwrap();
        sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
        let targets: Vec<FanoutTarget> = profiles.iter().cloned().map(FanoutTarget::new).collect();
        let (run, mut rx) = fanout::start(
            c.clone(),
            targets,
            CmdletRequest::new("Get-TransportRule"),
            FanoutOptions::default(),
        );
        let summary = until_idle(&mut rx, &mut Vec::new()).await;
        assert_eq!(
            summary.done,
            40,
            "single use {single_use}: {summary}: {:?}",
            run.states()
        );
        let at_once = h.auth.most_token_requests_at_once();
        if single_use {
            assert_eq!(h.auth.refresh_tokens_outstanding(), 1);
        } else {
            // Eight profiles at once (the default) each need their customer's token.
            assert!(at_once >= 4, "token requests at once: {at_once}");
        }
        // The refresh token the keychain kept still works: the 41st customer, whose token
        // nobody fetched yet, needs no sign-in turn.
        let (again, mut rx) = fanout::start(
            c.clone(),
            vec![FanoutTarget::new(late)],
            CmdletRequest::new("Get-TransportRule"),
            FanoutOptions::default(),
        );
        let summary = until_idle(&mut rx, &mut Vec::new()).await;
        assert_eq!(
            summary.done,
            1,
            "single use {single_use}: {:?}",
            again.states()
        );
    }
}

/// With nothing cached (a new process, as `exo-connect run --folder` is), every profile waits
/// for the sign-in queue; after the one partner sign-in, the profiles behind it leave the queue
/// and redeem their customer tokens at the same time, not one turn each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_one_sign_in_the_queued_profiles_redeem_their_tokens_together() {
    let h = sim(40, |c| c.token_delay = Duration::from_millis(40)).await;
    let c = connector();
    let profiles = partner_profiles(&h);
    let (on_turn, seen) = turns();
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions {
            prompt: Some(Password::of(PARTNER_PASSWORD)),
            on_signin_turn: Some(on_turn),
            ..Default::default()
        },
    );
    let summary = until_idle(&mut rx, &mut Vec::new()).await;
    assert_eq!(summary.done, 40, "{summary}: {:?}", run.states());
    assert_eq!(seen.lock().unwrap().len(), 1, "one partner sign-in");
    let at_once = h.auth.most_token_requests_at_once();
    assert!(at_once >= 4, "token requests at once: {at_once}");
}

/// The profiles released from the sign-in queue after the one partner sign-in are bounded by
/// the run slots like every other: with nothing cached, never more than `concurrency` token and
/// admin API requests are being answered at once (one profile has one request in flight), and
/// the tokens are still redeemed several at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profiles_released_after_the_one_sign_in_stay_within_the_concurrency() {
    let h = sim(40, |c| c.token_delay = Duration::from_millis(40)).await;
    let c = connector();
    let profiles = partner_profiles(&h);
    let (on_turn, seen) = turns();
    let concurrency = 5;
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions {
            concurrency,
            prompt: Some(Password::of(PARTNER_PASSWORD)),
            on_signin_turn: Some(on_turn),
            ..Default::default()
        },
    );
    let summary = until_idle(&mut rx, &mut Vec::new()).await;
    assert_eq!(summary.done, 40, "{summary}: {:?}", run.states());
    assert_eq!(seen.lock().unwrap().len(), 1, "one partner sign-in");
    let requests = h.most_requests_at_once();
    assert!(
        requests <= concurrency,
        "{requests} requests at once with {concurrency} run slots"
    );
    let tokens = h.auth.most_token_requests_at_once();
    assert!(tokens >= 3, "token requests at once: {tokens}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_delegated_profiles_on_one_partner_sign_in() {
    let h = sim(200, |_| {}).await;
    let c = connector();
    let profiles = partner_profiles(&h);
    // One interactive (password) sign-in, at the first customer.
    sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
    let targets: Vec<FanoutTarget> = profiles.iter().cloned().map(FanoutTarget::new).collect();
    let (run, mut rx) = fanout::start(
        c.clone(),
        targets,
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions::default(),
    );
    let mut seen = Vec::new();
    let summary = until_idle(&mut rx, &mut seen).await;
    assert_eq!(summary.done, 200, "{summary}: {:?}", run.states());
    assert!(summary.all_done());
    let merged = run.merged();
    let cols: Vec<&str> = merged.columns().take(3).collect();
    assert_eq!(cols, ["Profile", "Tenant", "Name"]);
    let per = rows_per_profile(&merged);
    assert_eq!(per.len(), 200);
    let mut total = 0;
    for t in h.world().customers() {
        let domain = &t.domains[0];
        let name = domain.split('.').next().unwrap();
        let expected = h.admin.transport_rule_count(domain).unwrap();
        assert_eq!(per[name], expected, "{name}");
        total += expected;
    }
    assert_eq!(merged.len(), total);
    assert_eq!(summary.rows, total);
    // Attributed to the right profile: each row's Tenant is its profile's customer's display
    // name (asked once, after its run), and the customers' differences are where the sim put
    // them (customer 2 lacks a rule that customer 1 has; customer 3 has a disabled one).
    let tenant = merged.column_index("Tenant").unwrap();
    let state = merged.column_index("State").unwrap();
    for r in 0..merged.len() {
        let p = merged.cell_string(r, 0);
        assert_eq!(merged.cell_string(r, tenant), display_name(&h, &p));
    }
    assert_eq!(per["cust002"] + 1, per["cust001"]);
    let disabled: Vec<String> = (0..merged.len())
        .filter(|&r| merged.cell_string(r, state) == "Disabled")
        .map(|r| merged.cell_string(r, 0))
        .collect();
    assert!(disabled.contains(&"cust003".to_string()), "{disabled:?}");
    assert!(!disabled.contains(&"cust001".to_string()), "{disabled:?}");
    // The same rows (by their tenant-unique Guid) as a single run of that profile gives.
    let guid = merged.column_index("Guid").unwrap();
    for name in ["cust002", "cust003", "cust100", "cust200"] {
        let p = profiles.iter().find(|p| p.name == name).unwrap();
        let mut fanned: Vec<String> = (0..merged.len())
            .filter(|&r| merged.cell_string(r, 0) == name)
            .map(|r| merged.cell_string(r, guid))
            .collect();
        fanned.sort();
        assert_eq!(fanned, single_run_guids(&c, p).await, "{name}");
    }
    // Every profile went Queued → Running → Done; no profile needed the sign-in queue.
    assert!(!seen.iter().any(|e| matches!(
        e,
        FanoutEvent::State {
            state: ProfileState::SigningIn,
            ..
        }
    )));
    // The sessions were closed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(c.registry().list().await.unwrap().is_empty());
}

/// The first fan-out over profiles that do not know their tenant's name asks each tenant once
/// (`Get-OrganizationConfig`, after its run) and shows the display names already; with the
/// names kept in the profiles, the next fan-out shows them without asking. A profile edited to
/// another tenant asks again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_display_names_after_the_first_connect() {
    let h = sim(4, |_| {}).await;
    let c = connector();
    let mut profiles = partner_profiles(&h);
    sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
    let fan = |profiles: &[Profile]| {
        fanout::start(
            c.clone(),
            profiles.iter().cloned().map(FanoutTarget::new).collect(),
            CmdletRequest::new("Get-TransportRule"),
            FanoutOptions::default(),
        )
    };
    let (run, mut rx) = fan(&profiles);
    let mut seen = Vec::new();
    let summary = until_idle(&mut rx, &mut seen).await;
    assert_eq!(summary.done, 4, "{summary}: {:?}", run.states());
    assert_eq!(org_config_requests(&h), 4);
    let tenants_of = |merged: &exo_connect::model::results::ResultStore| {
        let t = merged.column_index("Tenant").unwrap();
        (0..merged.len())
            .map(|r| (merged.cell_string(r, 0), merged.cell_string(r, t)))
            .collect::<BTreeMap<String, String>>()
    };
    let expected: BTreeMap<String, String> = profiles
        .iter()
        .map(|p| (p.name.clone(), display_name(&h, &p.name)))
        .collect();
    assert_eq!(tenants_of(&run.merged()), expected);
    // Each name came before its profile's Done; kept in the profiles as a caller does.
    for e in &seen {
        if let FanoutEvent::TenantNamed { index, tenant, .. } = e {
            let done_before = seen.iter().take_while(|x| *x != e).any(|x| {
                matches!(x, FanoutEvent::State { index: i, state: ProfileState::Done { .. }, .. } if i == index)
            });
            assert!(!done_before, "{e:?}");
            profiles[*index].known_tenant = Some(tenant.clone());
        }
    }
    assert!(profiles.iter().all(|p| p.known_tenant.is_some()));
    let (again, mut rx) = fan(&profiles);
    let mut seen = Vec::new();
    until_idle(&mut rx, &mut seen).await;
    assert_eq!(tenants_of(&again.merged()), expected);
    assert_eq!(org_config_requests(&h), 4, "no request for a known name");
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, FanoutEvent::TenantNamed { .. }))
    );
    // Edited to reach another customer: that tenant is asked.
    profiles[0].delegated_organization = Some("cust004.onmicrosoft.com".into());
    let (edited, mut rx) = fan(&profiles[..1]);
    until_idle(&mut rx, &mut Vec::new()).await;
    assert_eq!(org_config_requests(&h), 5);
    assert_eq!(edited.tenant_label(0), display_name(&h, "cust004"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_throttling_tenants_do_not_stop_or_corrupt_the_others() {
    let h = sim(12, |c| {
        c.throttled_tenants = Some(1);
        c.throttle_retry_after = Duration::from_secs(1);
    })
    .await;
    let c = connector();
    let mut profiles = partner_profiles(&h);
    sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
    let throttling = h
        .world()
        .customers()
        .position(|t| t.behaviour == TenantBehaviour::Throttling)
        .expect("one throttling customer");
    // A customer's own admin with a wrong password (asked through the prompt), and the partner
    // at a tenant that is not its customer.
    let wrong = profile(&h, "wrong-password", "admin@cust005.onmicrosoft.com", None);
    let foreign = profile(&h, "not-a-customer", PARTNER_UPN, Some("contoso.com"));
    profiles.push(wrong);
    profiles.push(foreign);
    // Server errors on the way (retried by the REST client). The profiles know their tenants'
    // names, so every request counted is a Get-TransportRule page.
    for p in &mut profiles {
        let name = p.name.clone();
        p.known_tenant = Some(exo_connect::model::KnownTenant::learnt(
            &p.tenant_key(),
            Some(&name),
        ));
    }
    h.admin.inject_spec("500@20:times=2,503@40").unwrap();
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions {
            concurrency: 4,
            prompt: Some(Password::of("nope")),
            ..Default::default()
        },
    );
    let mut seen = Vec::new();
    let summary = until_idle(&mut rx, &mut seen).await;
    let states = run.states();
    // Requests 20 and 21 answered 500 (not retried, as in a single run): two customers failed
    // with that, the others are done.
    assert_eq!(
        (summary.done, summary.failed),
        (10, 4),
        "{summary}: {states:?}"
    );
    let server: Vec<usize> = (0..12)
        .filter(|&i| matches!(&states[i], ProfileState::Failed { message } if message.contains("HTTP 500")))
        .collect();
    assert_eq!(server.len(), 2, "{states:?}");
    match &states[12] {
        ProfileState::Failed { message } => {
            assert!(message.starts_with("sign-in failed:"), "{message}");
            assert!(message.contains("AADSTS50126"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&states[13], ProfileState::Failed { message } if message.contains("AADSTS50020")),
        "{:?}",
        states[13]
    );
    let per = rows_per_profile(&run.merged());
    assert_eq!(per.len(), 10);
    // Retry the failed: the customers the 500s hit are done now; the two sign-ins fail again.
    assert_eq!(run.retry_failed(), 4);
    let summary = until_idle(&mut rx, &mut seen).await;
    assert_eq!((summary.done, summary.failed), (12, 2), "{summary}");
    // The throttling tenant was shown as throttled, then done.
    assert!(seen.iter().any(|e| matches!(
        e,
        FanoutEvent::State { index, state: ProfileState::Throttled { .. }, .. } if *index == throttling
    )));
    let per = rows_per_profile(&run.merged());
    for t in h.world().customers() {
        let domain = &t.domains[0];
        let name = domain.split('.').next().unwrap();
        assert_eq!(
            per[name],
            h.admin.transport_rule_count(domain).unwrap(),
            "{name}"
        );
    }
    assert!(!per.contains_key("wrong-password") && !per.contains_key("not-a-customer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_run_then_retry_the_rest() {
    let h = sim(24, |c| {
        c.slow_tenants = Some(24);
        c.slow_tenant_delay = Duration::from_millis(300);
    })
    .await;
    let c = connector();
    let profiles = partner_profiles(&h);
    sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions {
            concurrency: 2,
            ..Default::default()
        },
    );
    // The last one is skipped while it waits; cancel once the first profile is done.
    run.skip(23);
    let mut seen = Vec::new();
    loop {
        let e = rx.recv().await.unwrap();
        let done = matches!(
            e,
            FanoutEvent::State {
                state: ProfileState::Done { .. },
                ..
            }
        );
        seen.push(e);
        if done {
            break;
        }
    }
    run.cancel_all();
    let first = until_idle(&mut rx, &mut seen).await;
    assert!(first.done >= 1 && first.done < 23, "{first}");
    assert_eq!((first.failed, first.skipped), (0, 1), "{first}");
    assert_eq!(first.done + first.cancelled, 23, "{first}");
    assert_eq!(
        run.states()[23],
        ProfileState::Skipped {
            reason: "skipped".into()
        }
    );
    let partial = rows_per_profile(&run.merged());
    assert_eq!(partial.len(), first.done);
    // Retry: the cancelled ones run from nothing (the skipped one stays skipped); nothing is
    // duplicated.
    assert_eq!(run.retry_failed(), first.cancelled);
    let second = until_idle(&mut rx, &mut seen).await;
    assert_eq!((second.done, second.skipped), (23, 1), "{second}");
    let per = rows_per_profile(&run.merged());
    assert_eq!(per.len(), 23);
    for t in h.world().customers().take(23) {
        let domain = &t.domains[0];
        let name = domain.split('.').next().unwrap();
        assert_eq!(per[name], h.admin.transport_rule_count(domain).unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(c.registry().list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_and_uncached_profiles_without_a_prompt_then_retry_the_failed() {
    let h = sim(6, |_| {}).await;
    let c = connector();
    let mut profiles = partner_profiles(&h);
    sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
    // Two customers' own admins: never signed in.
    profiles.push(profile(
        &h,
        "cust002 admin",
        "admin@cust002.onmicrosoft.com",
        None,
    ));
    profiles.push(profile(
        &h,
        "cust004-admin",
        "admin@cust004.onmicrosoft.com",
        None,
    ));
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-AcceptedDomain"),
        FanoutOptions::default(),
    );
    let mut seen = Vec::new();
    let s = until_idle(&mut rx, &mut seen).await;
    assert_eq!((s.done, s.failed), (6, 2), "{s}");
    let states = run.states();
    assert_eq!(
        states[6],
        ProfileState::Failed {
            message: "needs sign-in: run exo-connect login 'cust002 admin'".into()
        }
    );
    assert_eq!(
        states[7],
        ProfileState::Failed {
            message: "needs sign-in: run exo-connect login cust004-admin".into()
        }
    );
    // They waited in the sign-in queue first.
    assert!(seen.iter().any(|e| matches!(
        e,
        FanoutEvent::State {
            index: 6,
            state: ProfileState::SigningIn,
            ..
        }
    )));
    // Signed in (as `exo-connect login` would), retry: only those two run again.
    sign_in(&c, &profiles[6], ADMIN_PASSWORD).await;
    sign_in(&c, &profiles[7], ADMIN_PASSWORD).await;
    assert_eq!(run.retry_failed(), 2);
    let s = until_idle(&mut rx, &mut seen).await;
    assert!(s.all_done(), "{s}");
    let per = rows_per_profile(&run.merged());
    assert_eq!(per.len(), 8);
    assert!(per["cust002 admin"] >= 1);
}

/// Records the profiles whose sign-in turn came (the window opens their dialog there).
fn turns() -> (fanout::SignInTurn, Arc<std::sync::Mutex<Vec<usize>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let f: fanout::SignInTurn = Arc::new(move |index, _skip| s.lock().unwrap().push(index));
    (f, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sign_in_turn_for_the_partner_and_one_profile_retried_alone() {
    let h = sim(4, |c| {
        c.slow_tenants = Some(0);
        c.throttled_tenants = Some(0);
    })
    .await;
    let c = connector();
    let profiles = partner_profiles(&h);
    let (on_turn, seen) = turns();
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions {
            concurrency: 4,
            prompt: Some(Password::of(PARTNER_PASSWORD)),
            on_signin_turn: Some(on_turn),
            ..Default::default()
        },
    );
    // The last one is skipped while it waits.
    run.skip(3);
    let mut events = Vec::new();
    let first = until_idle(&mut rx, &mut events).await;
    assert_eq!((first.done, first.skipped), (3, 1), "{first}");
    let turned = seen.lock().unwrap().clone();
    assert_eq!(
        turned.len(),
        1,
        "one partner sign-in serves the others: {turned:?}"
    );
    assert!(turned[0] < 3);
    // A done profile is not run again; the skipped one runs alone, on the cached sign-in.
    assert!(!run.retry(0));
    assert!(run.retry(3));
    let second = until_idle(&mut rx, &mut events).await;
    assert_eq!((second.done, second.skipped), (4, 0), "{second}");
    assert_eq!(seen.lock().unwrap().len(), 1, "no second sign-in");
    let per = rows_per_profile(&run.merged());
    for t in h.world().customers() {
        let domain = &t.domains[0];
        let name = domain.split('.').next().unwrap();
        assert_eq!(
            per[name],
            h.admin.transport_rule_count(domain).unwrap(),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_the_role_fails_plainly_and_the_others_finish() {
    let h = sim(3, |c| {
        c.slow_tenants = Some(0);
        c.throttled_tenants = Some(0);
    })
    .await;
    let c = connector();
    let mut profiles = partner_profiles(&h);
    sign_in(&c, &profiles[0], PARTNER_PASSWORD).await;
    // Help Desk only: Get-TransportRule is not in its roles.
    let desk = profile(&h, "contoso servicedesk", "servicedesk@contoso.com", None);
    sign_in(&c, &desk, "servicedesk-Demo-2026!").await;
    profiles.insert(1, desk);
    let (run, mut rx) = fanout::start(
        c.clone(),
        profiles.iter().cloned().map(FanoutTarget::new).collect(),
        CmdletRequest::new("Get-TransportRule"),
        FanoutOptions::default(),
    );
    let summary = until_idle(&mut rx, &mut Vec::new()).await;
    assert_eq!((summary.done, summary.failed), (3, 1), "{summary}");
    let states = run.states();
    let ProfileState::Failed { message } = &states[1] else {
        panic!("{states:?}");
    };
    let missing = exo_connect::model::failures::CATALOGUE
        .iter()
        .find(|f| f.id == "missing-role")
        .unwrap();
    assert!(message.contains(missing.why), "{message}");
    assert!(!message.contains('\n'), "{message}");
    let per = rows_per_profile(&run.merged());
    assert_eq!(per.len(), 3);
    assert!(!per.contains_key("contoso servicedesk"));
}
