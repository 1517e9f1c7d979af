//! The sim's Exchange admin API, called with a plain reqwest client over loopback (never the
//! engine's client code), with tokens minted directly by the sim's keys.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use exo_connect::sim::admin::{Fault, FaultKind};
use exo_connect::sim::tokens::SimKeys;
use exo_connect::sim::{SimConfig, start};
use serde_json::{Value, json};

use super::support::*;

#[tokio::test]
async fn auth_anchor_and_tenant_checks() {
    let h = sim(cfg(50)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let contoso = tid(&h, "contoso.com");
    let b = body("Get-Mailbox", json!({"ResultSize": 3}));
    let good = user_token(&h, "ops@contoso.com", &exo, 600);

    // Missing token.
    let mut call = Call::new(&c, &good);
    call.token = None;
    let r = call.post(&url(&exo, &contoso), &b).await;
    assert_eq!(r.status(), 401);
    let www = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(www.starts_with("Bearer "), "{www}");
    // Expired, wrong audience, foreign signature.
    let expired = user_token(&h, "ops@contoso.com", &exo, -5);
    let wrong_aud = user_token(&h, "ops@contoso.com", &h.urls().scc, 600);
    let other_keys = SimKeys::generate(99);
    let forged = mint(
        &other_keys,
        &contoso,
        Some("ops@contoso.com"),
        None,
        &exo,
        600,
    );
    for (t, why) in [
        (&expired, "expired"),
        (&wrong_aud, "audience"),
        (&forged, "signature"),
    ] {
        let (s, v) = json_of(Call::new(&c, t).post(&url(&exo, &contoso), &b).await).await;
        assert_eq!(s, 401, "{why}");
        assert!(v["error"]["message"].as_str().unwrap().contains(why), "{v}");
    }
    // Anchor missing.
    let mut call = Call::new(&c, &good);
    call.anchor = None;
    let (s, v) = json_of(call.post(&url(&exo, &contoso), &b).await).await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-AnchorMailbox")
    );
    // Good token, by GUID and by domain.
    for t in [contoso.as_str(), "contoso.onmicrosoft.com"] {
        let (s, v) = json_of(Call::new(&c, &good).post(&url(&exo, t), &b).await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["value"].as_array().unwrap().len(), 3);
    }
    // Wrong tenant.
    let (s, v) = json_of(
        Call::new(&c, &good)
            .post(&url(&exo, &tid(&h, "tailspintoys.com")), &b)
            .await,
    )
    .await;
    assert_eq!(s, 403);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    // Partner: delegated customers OK, others not.
    let partner = user_token(&h, "partner@adatum.com", &exo, 600);
    let (s, v) = json_of(
        Call::new(&c, &partner)
            .post(&url(&exo, "tailspin.onmicrosoft.com"), &b)
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["value"][0]["PrimarySmtpAddress"]
            .as_str()
            .unwrap()
            .ends_with("@tailspintoys.com")
    );
    let r = Call::new(&c, &partner).post(&url(&exo, &contoso), &b).await;
    assert_eq!(r.status(), 403);
    // App-only with Exchange.ManageAsApp; without it 403.
    let app = mint(
        &h.shared.keys,
        &contoso,
        None,
        Some(vec!["Exchange.ManageAsApp".into()]),
        &exo,
        600,
    );
    let mut call = Call::new(&c, &app);
    call.anchor = Some("APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.com");
    let r = call.post(&url(&exo, &contoso), &b).await;
    assert_eq!(r.status(), 200);
    let no_role = mint(&h.shared.keys, &contoso, None, Some(vec![]), &exo, 600);
    let r = Call::new(&c, &no_role).post(&url(&exo, &contoso), &b).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn paging_by_post_and_get_loses_nothing() {
    let h = sim(cfg(3000)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let contoso = tid(&h, "contoso.com");
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t).header("Prefer", "odata.maxpagesize=700");
    let b = body("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    let first = format!(
        "{}?$select=ExternalDirectoryObjectId,Alias",
        url(&exo, &contoso)
    );
    let r = call.post(&first, &b).await;
    assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=700");
    let v: Value = r.json().await.unwrap();
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{exo}/adminapi/beta/")), "{next}");
    assert!(v["@odata.context"].as_str().unwrap().starts_with(&exo));
    assert!(v.get("@adminapi.warnings").is_none());

    let (by_post, pages) = collect(&call, &first, &b, false).await;
    let (by_get, _) = collect(&call, &first, &b, true).await;
    assert_eq!(pages, 5);
    assert_eq!(by_post.len(), 3000);
    assert_eq!(by_post, by_get);
    let ids: HashSet<_> = by_post
        .iter()
        .map(|r| r["ExternalDirectoryObjectId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3000);
    // Order is the generation order: row i has alias ending in i.
    for (i, r) in by_post.iter().enumerate() {
        assert!(r["Alias"].as_str().unwrap().ends_with(&format!("{i:05}")));
        assert_eq!(r.as_object().unwrap().len(), 2);
    }
    // A nextLink posted with another body is refused.
    let other = body("Get-Mailbox", json!({"ResultSize": 10}));
    let r = call.post(next, &other).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn page_size_bounds_warnings_and_rich_rows() {
    let h = sim(cfg(2500)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, &tid(&h, "contoso.com"));
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let b = body("Get-Mailbox", json!({}));
    for bad in ["0", "abc", "-3"] {
        let r = Call::new(&c, &t)
            .header("Prefer", format!("odata.maxpagesize={bad}"))
            .post(&u, &b)
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = Call::new(&c, &t)
        .header("Prefer", "odata.maxpagesize=5000")
        .post(&u, &b)
        .await;
    assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=1000");
    assert!(r.headers().contains_key("request-id"));
    assert!(r.headers().contains_key("x-calculatedbetarget"));
    assert!(r.headers().contains_key("date"));
    let v: Value = r.json().await.unwrap();
    // No ResultSize: the first 1000 only, with the service's warning, and no next page.
    let w = v["@adminapi.warnings"][0].as_str().unwrap();
    assert!(w.starts_with("By default, only the first 1000 items are returned"));
    let rows = v["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    assert!(v.get("@odata.nextLink").is_none());
    let row = rows[0].as_object().unwrap();
    assert!(row.len() >= 80, "{} properties", row.len());
    assert!(
        row["ProhibitSendQuota"]
            .as_str()
            .unwrap()
            .ends_with("bytes)")
    );
    assert!(
        row["EmailAddresses"][0]
            .as_str()
            .unwrap()
            .starts_with("SMTP:")
    );
    assert!(uuid::Uuid::parse_str(row["ExchangeGuid"].as_str().unwrap()).is_ok());
    assert!(row["CustomAttribute15"].is_null() || row["CustomAttribute15"].is_string());
    let kinds: HashSet<_> = rows
        .iter()
        .map(|r| r["RecipientTypeDetails"].as_str().unwrap())
        .collect();
    for k in [
        "UserMailbox",
        "SharedMailbox",
        "RoomMailbox",
        "EquipmentMailbox",
    ] {
        assert!(kinds.contains(k), "{k} missing");
    }
    assert!(
        rows.iter()
            .any(|r| !r["DisplayName"].as_str().unwrap().is_ascii())
    );
    // Only warnings: value absent.
    let b = body(
        "Get-Mailbox",
        json!({"Filter": "Alias -eq 'nobody.at.all'"}),
    );
    let (s, v) = json_of(Call::new(&c, &t).post(&u, &b).await).await;
    assert_eq!(s, 200);
    assert!(
        v.get("value").is_none() && v["@adminapi.warnings"].is_array(),
        "{v}"
    );
}

#[tokio::test]
async fn rows_are_deterministic_by_seed() {
    let mut firsts = Vec::new();
    for seed in [5, 5, 6] {
        let h = sim(SimConfig { seed, ..cfg(20) }).await;
        let c = client();
        let exo = h.urls().exo.clone();
        let t = user_token(&h, "ops@contoso.com", &exo, 600);
        let (_, v) = json_of(
            Call::new(&c, &t)
                .post(
                    &url(&exo, "contoso.com"),
                    &body("Get-Mailbox", json!({"ResultSize": 20})),
                )
                .await,
        )
        .await;
        firsts.push(v["value"].clone());
    }
    assert_eq!(firsts[0], firsts[1]);
    assert_ne!(firsts[0], firsts[2]);
}

#[tokio::test]
async fn identity_filters_and_error_shapes() {
    let h = sim(cfg(400)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, &tid(&h, "contoso.com"));
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t);
    let (_, v) = json_of(
        call.post(&u, &body("Get-Mailbox", json!({"ResultSize": 200})))
            .await,
    )
    .await;
    let row = &v["value"][123];
    for key in ["Alias", "PrimarySmtpAddress", "Guid"] {
        let id = row[key].as_str().unwrap();
        let (s, v) = json_of(
            call.post(&u, &body("Get-Mailbox", json!({"Identity": id})))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{key}");
        assert_eq!(v["value"][0]["Guid"], row["Guid"]);
    }
    let (s, v) = json_of(
        call.post(
            &u,
            &body("Get-User", json!({"Identity": row["UserPrincipalName"]})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"][0]["DisplayName"], row["DisplayName"]);
    // Missing identity: 404, pipe form.
    let r = call
        .post(
            &u,
            &body("Get-Mailbox", json!({"Identity": "ghost@contoso.com"})),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()["x-exceptiontype"],
        "ManagementObjectNotFoundException"
    );
    let v: Value = r.json().await.unwrap();
    let d = detail(&v);
    let parts: Vec<_> = d.splitn(3, '|').collect();
    assert_eq!(parts.len(), 3, "{d}");
    assert!(parts[1].ends_with("ManagementObjectNotFoundException"));
    assert!(parts[2].contains("ghost@contoso.com"));
    // Unknown parameter: 400, JSON form.
    let (s, v) = json_of(
        call.post(&u, &body("Get-Mailbox", json!({"Bogus": 1})))
            .await,
    )
    .await;
    assert_eq!(s, 400);
    let d: Value = serde_json::from_str(&detail(&v)).unwrap();
    assert!(d["Message"].as_str().unwrap().contains("'Bogus'"));
    assert!(
        d["TypeName"]
            .as_str()
            .unwrap()
            .ends_with("ParameterBindingException")
    );
    // Unknown cmdlet: 403.
    let (s, v) = json_of(call.post(&u, &body("Get-Nothing", json!({}))).await).await;
    assert_eq!(s, 403);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Get-Nothing")
    );
    // Filter subset and RecipientTypeDetails.
    let b = body(
        "Get-Mailbox",
        json!({"ResultSize": "Unlimited", "Filter": "RecipientTypeDetails -eq 'SharedMailbox' -and Alias -like 'shared*'"}),
    );
    let (_, v) = json_of(call.post(&u, &b).await).await;
    let shared = v["value"].as_array().unwrap();
    assert!(!shared.is_empty());
    assert!(
        shared
            .iter()
            .all(|r| r["RecipientTypeDetails"] == "SharedMailbox")
    );
    let b = body(
        "Get-Mailbox",
        json!({"ResultSize": "Unlimited", "RecipientTypeDetails": ["RoomMailbox"]}),
    );
    let (_, v) = json_of(call.post(&u, &b).await).await;
    assert!(
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["RecipientTypeDetails"] == "RoomMailbox")
    );
    let b = body("Get-Mailbox", json!({"Filter": "Nope -eq 'x'"}));
    assert_eq!(call.post(&u, &b).await.status(), 400);
}

#[tokio::test]
async fn roles_remote_powershell_and_eop() {
    let h = sim(cfg(30)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, &tid(&h, "contoso.com"));
    let mb = body("Get-Mailbox", json!({"ResultSize": 1}));
    // Compliance Administrator only: no Get-Mailbox.
    let t = user_token(&h, "compliance@contoso.com", &exo, 600);
    let (s, v) = json_of(Call::new(&c, &t).post(&u, &mb).await).await;
    assert_eq!(s, 403);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("management role")
    );
    // RemotePowerShellEnabled = false: every call fails.
    let t = user_token(&h, "helpdesk@contoso.com", &exo, 600);
    for cmd in ["Get-Mailbox", "Get-User", "Get-AcceptedDomain"] {
        let r = Call::new(&c, &t).post(&u, &body(cmd, json!({}))).await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()["x-exceptiontype"],
            "DirectInvokeCmdletExecutionException"
        );
        let v: Value = r.json().await.unwrap();
        assert!(
            detail(&v).contains("RemotePowerShellEnabled is False"),
            "{v}"
        );
    }
    // EOP standalone: no Get-Mailbox, but rules/domains/config work.
    let t = user_token(&h, "admin@northwind.com", &exo, 600);
    let call = Call::new(&c, &t);
    let u = url(&exo, "northwind.com");
    assert_eq!(call.post(&u, &mb).await.status(), 403);
    let (s, v) = json_of(call.post(&u, &body("Get-TransportRule", json!({}))).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    let (_, v) = json_of(call.post(&u, &body("Get-AcceptedDomain", json!({}))).await).await;
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    let (_, v) = json_of(
        call.post(&u, &body("Get-OrganizationConfig", json!({})))
            .await,
    )
    .await;
    assert_eq!(v["value"][0]["DisplayName"], "Northwind Traders");
}

#[tokio::test]
async fn transport_rules_new_get_remove_and_state() {
    let h = sim(cfg(10)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, "contoso.com");
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t);
    let count = |v: &Value| v["value"].as_array().map_or(0, |a| a.len());
    let (_, v) = json_of(call.post(&u, &body("Get-TransportRule", json!({}))).await).await;
    assert_eq!(count(&v), 3);
    let nb = body(
        "New-TransportRule",
        json!({"Name": "Tag Ø external", "Mode": "Audit", "Comments": "test", "Confirm": false}),
    );
    let (s, v) = json_of(call.post(&u, &nb).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"][0]["Mode"], "Audit");
    assert_eq!(call.post(&u, &nb).await.status(), 400);
    assert_eq!(
        call.post(&u, &body("New-TransportRule", json!({"Confirm": false})))
            .await
            .status(),
        400
    );
    let (_, v) = json_of(call.post(&u, &body("Get-TransportRule", json!({}))).await).await;
    assert_eq!(count(&v), 4);
    let (_, v) = json_of(
        call.post(
            &u,
            &body("Get-TransportRule", json!({"Identity": "tag ø external"})),
        )
        .await,
    )
    .await;
    assert_eq!(count(&v), 1);
    assert_eq!(h.admin.transport_rule_count("contoso.com"), Some(4));
    // Other tenants are separate.
    assert_eq!(h.admin.transport_rule_count("tailspintoys.com"), Some(3));
    let state: Value = c
        .get(format!("{exo}/sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["transport_rules"]["contoso.onmicrosoft.com"], 4);
    let rb = body(
        "Remove-TransportRule",
        json!({"Identity": "Tag Ø external", "Confirm": false}),
    );
    assert_eq!(call.post(&u, &rb).await.status(), 200);
    assert_eq!(call.post(&u, &rb).await.status(), 404);
    let (_, v) = json_of(call.post(&u, &body("Get-TransportRule", json!({}))).await).await;
    assert_eq!(count(&v), 3);
}

#[tokio::test]
async fn scc_redirects_then_regional_accepts_the_same_token() {
    let h = sim(cfg(10)).await;
    let c = client();
    let urls = h.urls().clone();
    let contoso = tid(&h, "contoso.com");
    let t = user_token(&h, "compliance@contoso.com", &urls.scc, 600);
    let b = body("Get-RetentionCompliancePolicy", json!({}));
    let global = format!("{}?$select=Name", url(&urls.scc, &contoso));
    let r = Call::new(&c, &t).post(&global, &b).await;
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        loc,
        format!("{}?$select=Name", url(&urls.scc_regional, &contoso))
    );
    let (s, v) = json_of(Call::new(&c, &t).post(&loc, &b).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    assert_eq!(v["value"][0].as_object().unwrap().len(), 1);
    let (s, v) = json_of(
        Call::new(&c, &t)
            .post(&loc, &body("Get-ComplianceSearch", json!({})))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    // Every call on the global host redirects; EXO cmdlets don't exist on SCC and vice versa.
    assert_eq!(Call::new(&c, &t).post(&global, &b).await.status(), 302);
    assert_eq!(
        Call::new(&c, &t)
            .post(&loc, &body("Get-Mailbox", json!({})))
            .await
            .status(),
        403
    );
    // The path-case variant of the Location is served too.
    h.admin.inject(Fault::next(FaultKind::RedirectPathCase));
    let r = Call::new(&c, &t).post(&global, &b).await;
    let odd = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        odd.starts_with(&format!("{}/AdminApi/Beta/", urls.scc_regional)),
        "{odd}"
    );
    assert_eq!(Call::new(&c, &t).post(&odd, &b).await.status(), 200);
    let exo_t = user_token(&h, "ops@contoso.com", &urls.exo, 600);
    assert_eq!(Call::new(&c, &exo_t).post(&loc, &b).await.status(), 401);
    assert_eq!(
        Call::new(&c, &exo_t)
            .post(&url(&urls.exo, &contoso), &b)
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn spec_faults_fire_on_their_request_numbers() {
    let h = sim(SimConfig {
        faults: "429@1:retry=3,503@2,500@3,504@4,408@5,concurrency@6,401@7,garbage403@8,empty403@9,pipe@10,json@12,concurrency@13:status=503".into(),
        ..cfg(10)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, "contoso.com");
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t);
    let b = body("Get-AcceptedDomain", json!({}));
    let r = call.post(&u, &b).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    for want in [503, 500, 504, 408] {
        let (s, v) = json_of(call.post(&u, &b).await).await;
        assert_eq!(s, want);
        assert!(v["error"]["code"].is_string());
    }
    let (s, v) = json_of(call.post(&u, &b).await).await;
    assert_eq!(s, 429);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum number of concurrent requests per tenant")
    );
    let r = call.post(&u, &b).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Garbage declared as gzip: the client sees a body error, not a crash.
    let r = call.post(&u, &b).await;
    assert_eq!(r.status(), 403);
    assert!(r.bytes().await.is_err());
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let mut rc = Call::new(&raw, &t);
    rc.extra.push(("Accept-Encoding", "gzip".into()));
    let r = rc.post(&u, &b).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert!(r.bytes().await.unwrap().is_empty());
    // Forced pipe form on an error that is normally JSON.
    let (s, v) = json_of(
        call.post(&u, &body("Get-AcceptedDomain", json!({"Bogus": 1})))
            .await,
    )
    .await;
    assert_eq!(s, 400);
    assert!(detail(&v).contains("|System.Management.Automation.ParameterBindingException|"));
    // Then back to normal.
    assert_eq!(call.post(&u, &b).await.status(), 200);
    // Forced JSON form on an error that is normally in the pipe form.
    let (s, v) = json_of(
        call.post(
            &u,
            &body("Get-AcceptedDomain", json!({"Identity": "nope.example"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 404);
    let d: Value = serde_json::from_str(&detail(&v)).unwrap();
    assert!(
        d["TypeName"]
            .as_str()
            .unwrap()
            .ends_with("ManagementObjectNotFoundException")
    );
    let (s, v) = json_of(call.post(&u, &b).await).await;
    assert_eq!(s, 503);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("concurrent requests")
    );
    let log = h.admin.requests();
    assert_eq!(log.len(), 13);
    assert_eq!(log[0].fault.as_deref(), Some("429:retry=3 @1"));
    assert!(log[10].fault.is_none());
    assert!(h.admin.faults().is_empty());
    // Bad specs refuse to start.
    assert!(
        start(SimConfig {
            faults: "teapot@1".into(),
            ..cfg(1)
        })
        .await
        .is_err()
    );
}

#[tokio::test]
async fn programmatic_faults_slow_reset_and_401_mid_paging() {
    let h = sim(cfg(120)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, "contoso.com");
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t).header("Prefer", "odata.maxpagesize=50");
    let b = body("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    // Slow.
    h.admin.inject(Fault::next(FaultKind::Slow { ms: 300 }));
    let started = Instant::now();
    assert_eq!(call.post(&u, &b).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Reset mid-body: headers arrive, the body fails.
    h.admin
        .faults()
        .push(Fault::next(FaultKind::Reset { after_bytes: 500 }));
    let r = call.post(&u, &b).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.is_err());
    // 401 in the middle of paging, then the retry of the same page succeeds.
    let (_, v1) = json_of(call.post(&u, &b).await).await;
    let next = v1["@odata.nextLink"].as_str().unwrap().to_string();
    h.admin.inject(Fault::next(FaultKind::Unauthorized));
    assert_eq!(call.post(&next, &b).await.status(), 401);
    let (s, v2) = json_of(call.post(&next, &b).await).await;
    assert_eq!(s, 200);
    assert_eq!(v2["value"].as_array().unwrap().len(), 50);
    assert!(h.admin.faults().is_empty());
    assert!(h.admin.inject_spec("bogus").is_err());
}

#[tokio::test]
async fn request_log_and_state_never_hold_tokens() {
    let h = sim(cfg(10)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t)
        .header("connection-id", "conn-1")
        .header("client-request-id", "req-42");
    call.post(
        &url(&exo, "contoso.com"),
        &body("Get-Mailbox", json!({"ResultSize": 2})),
    )
    .await;
    call.post(&url(&exo, "contoso.com"), &body("Get-Nope", json!({})))
        .await;
    let log = h.admin.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].cmdlet.as_deref(), Some("Get-Mailbox"));
    assert_eq!(log[0].status, 200);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].connection_id.as_deref(), Some("conn-1"));
    assert_eq!(log[0].client_request_id.as_deref(), Some("req-42"));
    assert_eq!(log[1].status, 403);
    let state = c
        .get(format!("{exo}/sim/state"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logged = serde_json::to_string(&log).unwrap();
    let signature = t.rsplit('.').next().unwrap();
    for text in [&state, &logged, &format!("{log:?}")] {
        assert!(!text.contains(signature));
        assert!(!text.contains("Bearer"));
    }
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["invoke_count"], 2);
    assert_eq!(state["requests"].as_array().unwrap().len(), 2);
    // No connection count by default (the REST API has none; see limits.rs).
    assert_eq!(state["connections"], json!([]));
    assert_eq!(state["legacy_connection_limits"], false);
    // The state endpoint only exists on the EXO listener.
    let r = c
        .get(format!("{}/sim/state", h.urls().scc_regional))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_hundred_thousand_mailboxes_are_cheap() {
    let h = sim(cfg(100_000)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, "contoso.com");
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t).header("Prefer", "odata.maxpagesize=100");
    let started = Instant::now();
    let (s, v) = json_of(
        call.post(&u, &body("Get-Mailbox", json!({"ResultSize": "Unlimited"})))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 100);
    assert!(v["@odata.nextLink"].is_string());
    // The last mailbox, by its SMTP address, resolves without holding the tenant.
    let tenant = h.world().tenant("contoso.com").unwrap();
    let last = exo_connect::sim::admin::dataset::mailbox(h.shared.config.seed, tenant, 99_999);
    let (s, v) = json_of(
        call.post(
            &u,
            &body(
                "Get-Mailbox",
                json!({"Identity": last["PrimarySmtpAddress"]}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"][0]["Guid"], last["Guid"]);
    assert!(started.elapsed() < Duration::from_secs(5));
}
