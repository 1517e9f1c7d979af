//! Generated customer tenants (`--tenants N`): headless partner sign-in to each of them,
//! transport rules that differ a little, slow and throttling tenants, `GET /sim/world`, and the
//! banner of `exo-connect sim --tenants 30`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use exo_connect::sim::world::TenantBehaviour;
use exo_connect::sim::world::customers::{PARTNER_DOMAIN, PARTNER_UPN};
use exo_connect::sim::{SimConfig, SimHandle};
use serde_json::{Value, json};

use super::support::*;

fn customers(n: usize, mailboxes: usize) -> SimConfig {
    SimConfig {
        customer_tenants: n,
        customer_mailboxes: mailboxes,
        slow_tenants: Some(0),
        throttled_tenants: Some(0),
        ..cfg(10)
    }
}

fn partner_call<'a>(c: &'a reqwest::Client, token: &'a str) -> Call<'a> {
    let mut call = Call::new(c, token);
    call.anchor = Some("UPN:partner@litware.com");
    call
}

/// The partner account has no MFA and delegated access to every customer: a password grant at
/// the authority `/<customer domain>` gives a token for that customer's tenant, which runs
/// cmdlets there. It gets nothing for a tenant that is not its customer.
#[tokio::test]
async fn the_partner_signs_in_headless_to_every_customer() {
    let h = sim(customers(12, 30)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let password = "partner-Demo-2026!";
    for t in h.world().customers() {
        let domain = &t.domains[0];
        let token = password_token(&c, &h, PARTNER_UPN, password, &exo, domain).await;
        let claims = jwt_claims(&token);
        assert_eq!(claims["tid"], t.id.to_string(), "{domain}");
        let (s, v) = json_of(
            partner_call(&c, &token)
                .post(
                    &url(&exo, &t.id.to_string()),
                    &body("Get-Mailbox", json!({"ResultSize": "Unlimited"})),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{domain}: {v}");
        let rows = v["value"].as_array().unwrap();
        assert_eq!(rows.len(), 30);
        let vanity = &t.domains[1];
        assert!(
            rows[0]["PrimarySmtpAddress"]
                .as_str()
                .unwrap()
                .ends_with(vanity.as_str())
        );
        // The customer's own admin signs in too (no MFA).
        let admin = format!("admin@{domain}");
        let own = password_token(&c, &h, &admin, "admin-Demo-2026!", &exo, "organizations").await;
        assert_eq!(jwt_claims(&own)["tid"], t.id.to_string());
    }
    // Not a customer of the partner: Entra refuses (AADSTS50020).
    let r = c
        .post(format!("{}/contoso.com/oauth2/v2.0/token", h.urls().login))
        .form(&[
            ("client_id", "fb78d390-0c51-40cd-8e17-fdbfab77341b"),
            ("grant_type", "password"),
            ("username", PARTNER_UPN),
            ("password", password),
            ("scope", &format!("{exo}/.default")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_codes"][0], 50020, "{v}");
    // A customer admin cannot reach another customer.
    let one = password_token(
        &c,
        &h,
        "admin@cust001.onmicrosoft.com",
        "admin-Demo-2026!",
        &exo,
        "organizations",
    )
    .await;
    let r = Call::new(&c, &one)
        .post(
            &url(&exo, "cust002.onmicrosoft.com"),
            &body("Get-TransportRule", json!({})),
        )
        .await;
    assert_eq!(r.status(), 403);
}

fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// 200 customers' transport rules, by the partner: customer 1 has the baseline set, 2 lacks a
/// rule, 3 has one Disabled and two priorities swapped; across all 200 some rules are missing,
/// some have another Priority and some another State, and the rows stay the same on a repeat.
#[tokio::test]
async fn transport_rules_differ_a_little_between_200_customers() {
    let h = sim(customers(200, 0)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let partner = h.world().tenant(PARTNER_DOMAIN).unwrap();
    let token = mint(
        &h.shared.keys,
        &partner.id.to_string(),
        Some(PARTNER_UPN),
        None,
        &exo,
        600,
    );
    let call = partner_call(&c, &token);
    let b = body("Get-TransportRule", json!({}));
    let mut by_tenant: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    for t in h.world().customers() {
        let (s, v) = json_of(call.post(&url(&exo, &t.domains[0]), &b).await).await;
        assert_eq!(s, 200, "{v}");
        by_tenant.insert(t.customer.unwrap(), v["value"].as_array().unwrap().clone());
    }
    assert_eq!(by_tenant.len(), 200);
    let names = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["Name"].as_str().unwrap().to_string())
            .collect()
    };
    let field = |rows: &[Value], name: &str, f: &str| -> Option<Value> {
        rows.iter()
            .find(|r| r["Name"] == name)
            .map(|r| r[f].clone())
    };
    let baseline = &by_tenant[&1];
    assert_eq!(baseline.len(), 6);
    assert!(baseline.iter().all(|r| r["State"] == "Enabled"));
    let encrypt = "Encrypt mail to finance partners";
    assert!(!names(&by_tenant[&2]).contains(&encrypt.to_string()));
    assert_eq!(by_tenant[&2].len(), 5);
    let ceo = "Quarantine CEO impersonation";
    assert_eq!(field(&by_tenant[&3], ceo, "State"), Some(json!("Disabled")));
    let first = "Block executable attachments";
    assert_ne!(
        field(&by_tenant[&3], first, "Priority"),
        field(baseline, first, "Priority")
    );
    let (mut missing, mut priority, mut state) = (0, 0, 0);
    for rows in by_tenant.values() {
        for base in baseline {
            let name = base["Name"].as_str().unwrap();
            match rows.iter().find(|r| r["Name"] == name) {
                None => missing += 1,
                Some(r) => {
                    priority += usize::from(r["Priority"] != base["Priority"]);
                    state += usize::from(r["State"] != base["State"]);
                }
            }
        }
    }
    assert!(
        missing >= 20 && priority >= 20 && state >= 20,
        "{missing} {priority} {state}"
    );
    assert!(
        missing < 300 && state < 300,
        "a little, not a lot: {missing} {state}"
    );
    // The same rows on a repeat (and per tenant, not shared).
    let (_, again) = json_of(call.post(&url(&exo, "cust042.onmicrosoft.com"), &b).await).await;
    assert_eq!(again["value"].as_array().unwrap(), &by_tenant[&42]);
}

/// A tenant with 5,000 mailboxes pages through all of them (the fan-out benchmark's size).
#[tokio::test]
async fn a_customer_with_5000_mailboxes_pages_them_all() {
    let h = sim(customers(2, 5000)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let t = h.world().tenant("cust002.onmicrosoft.com").unwrap();
    let token = mint(
        &h.shared.keys,
        &t.id.to_string(),
        Some("admin@cust002.onmicrosoft.com"),
        None,
        &exo,
        600,
    );
    let call = Call::new(&c, &token);
    let b = body("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    let (rows, pages) = collect(&call, &url(&exo, &t.id.to_string()), &b, true).await;
    assert_eq!(rows.len(), 5000);
    assert_eq!(pages, 5);
    let guids: HashSet<&str> = rows.iter().map(|r| r["Guid"].as_str().unwrap()).collect();
    assert_eq!(guids.len(), 5000);
}

fn of(h: &SimHandle, b: TenantBehaviour) -> String {
    h.world()
        .customers()
        .find(|t| t.behaviour == b)
        .unwrap()
        .domains[0]
        .clone()
}

/// A slow customer answers after the configured delay; a throttling one answers 429 with
/// Retry-After during its throttle periods (from its first request, then after every
/// `throttle_every` requests served), and serves once the period is over.
#[tokio::test]
async fn slow_and_throttling_customers() {
    let h = sim(SimConfig {
        slow_tenants: Some(1),
        throttled_tenants: Some(1),
        slow_tenant_delay: Duration::from_millis(400),
        throttle_retry_after: Duration::from_millis(900),
        throttle_every: 3,
        ..customers(6, 5)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    let partner = h.world().tenant(PARTNER_DOMAIN).unwrap().id.to_string();
    let token = mint(&h.shared.keys, &partner, Some(PARTNER_UPN), None, &exo, 600);
    let call = partner_call(&c, &token);
    let b = body("Get-OrganizationConfig", json!({}));
    let slow = of(&h, TenantBehaviour::Slow);
    let started = Instant::now();
    assert_eq!(call.post(&url(&exo, &slow), &b).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let throttling = of(&h, TenantBehaviour::Throttling);
    let u = url(&exo, &throttling);
    let statuses = |rs: &[reqwest::StatusCode]| rs.iter().map(|s| s.as_u16()).collect::<Vec<_>>();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = call.post(&u, &b).await;
        assert_eq!(r.headers()["retry-after"], "1");
        seen.push(r.status());
    }
    assert_eq!(statuses(&seen), [429, 429]);
    tokio::time::sleep(Duration::from_millis(950)).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(call.post(&u, &b).await.status());
    }
    assert_eq!(statuses(&seen), [200, 200, 200, 429]);
    // The other customers are not throttled.
    let normal = of(&h, TenantBehaviour::Normal);
    for _ in 0..5 {
        assert_eq!(call.post(&url(&exo, &normal), &b).await.status(), 200);
    }
    let throttled = h
        .admin
        .requests()
        .iter()
        .filter(|r| r.limit.as_deref() == Some("tenant-throttling"))
        .count();
    assert_eq!(throttled, 3);
}

/// `exo-connect sim --tenants 30`: the banner lists the fixed tenants, the partner and the first
/// five customers, then a `tenants-more:` line; `--tenants-file` and `GET <exo>/sim/world` hold
/// all of them, with each account's demo password.
#[tokio::test]
async fn the_banner_stays_short_and_the_world_lists_every_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenants.json");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exo-connect"))
        .args([
            "sim",
            "--tenants",
            "30",
            "--slow-tenants",
            "2",
            "--throttle-tenants",
            "3",
        ])
        .arg("--tenants-file")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Press Ctrl-C");
            out.push(line);
            if done {
                break;
            }
        }
        out
    });
    let lines = tokio::time::timeout(Duration::from_secs(20), lines)
        .await
        .expect("banner in time")
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let starting = |p: &str| lines.iter().filter(|l| l.starts_with(p)).count();
    assert_eq!(starting("tenant: "), 6 + 1 + 5, "{lines:#?}");
    assert_eq!(starting("account: "), 10 + 1 + 5);
    let more = lines
        .iter()
        .find(|l| l.starts_with("tenants-more: "))
        .unwrap();
    assert!(
        more.contains("25 more") && more.contains("cust030.onmicrosoft.com"),
        "{more}"
    );
    assert_eq!(
        lines
            .iter()
            .find(|l| l.starts_with("tenants-slow: "))
            .unwrap()
            .matches("cust")
            .count(),
        2
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("accounts-more: 25 more"))
    );
    let partner_line = lines.iter().find(|l| l.contains("Litware MSP")).unwrap();
    assert!(partner_line.contains("(30 customers)"), "{partner_line}");
    let exo = lines
        .iter()
        .find_map(|l| l.strip_prefix("exo: "))
        .unwrap()
        .to_string();
    let from_file: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(from_file["customer_tenants"], 30);
    assert_eq!(from_file["exo"], exo.as_str());
    let tenants = from_file["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 6 + 1 + 30);
    let c30 = tenants
        .iter()
        .find(|t| t["domains"][0] == "cust030.onmicrosoft.com")
        .unwrap();
    assert_eq!(c30["customer"], 30);
    let accounts = from_file["accounts"].as_array().unwrap();
    let a30 = accounts
        .iter()
        .find(|a| a["upn"] == "admin@cust030.onmicrosoft.com")
        .unwrap();
    assert_eq!(a30["password"], "admin-Demo-2026!");
    assert_eq!(a30["mfa"], false);
    let behaviours = |b: &str| tenants.iter().filter(|t| t["behaviour"] == b).count();
    assert_eq!((behaviours("slow"), behaviours("throttling")), (2, 3));
}

/// In-process: `GET /sim/world` is the handle's `world_json()`, and never holds a TOTP secret.
#[tokio::test]
async fn sim_world_endpoint_matches_the_handle() {
    let h = sim(customers(3, 1)).await;
    let v: Value = client()
        .get(format!("{}/sim/world", h.urls().exo))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, h.world_json());
    let text = v.to_string();
    for u in &h.world().users {
        assert!(!text.contains(&u.totp_secret));
    }
}
