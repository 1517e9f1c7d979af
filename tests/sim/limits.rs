//! The admin API's limits: concurrent requests per tenant (the REST API's real limit), no
//! connection count by default, and the retired remote PowerShell count only when asked for.

use std::time::Duration;

use exo_connect::sim::SimConfig;
use exo_connect::sim::admin::{Fault, FaultKind};
use serde_json::json;

use super::support::*;

/// What every `exo-connect run` does: sign in (password grant), then one InvokeCommand with a
/// fresh connection id. Ten in a row for the same account all succeed: the REST API keeps no
/// count of connections (the old sim refused the 4th within 15 minutes).
#[tokio::test]
async fn ten_sign_ins_and_runs_in_a_row_all_succeed() {
    let h = sim(cfg(20)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    for n in 0..10 {
        let t = password_token(
            &c,
            &h,
            "ops@contoso.com",
            "ops-Demo-2026!",
            &exo,
            "organizations",
        )
        .await;
        let r = Call::new(&c, &t)
            .header("connection-id", uuid::Uuid::new_v4().to_string())
            .post(
                &url(&exo, &tid(&h, "contoso.com")),
                &body("Get-Mailbox", json!({"ResultSize": 5})),
            )
            .await;
        let (s, v) = json_of(r).await;
        assert_eq!(s, 200, "run {n}: {v}");
        assert_eq!(v["value"].as_array().unwrap().len(), 5);
    }
    assert!(!h.admin.legacy_connection_limits());
    assert!(h.admin.connection_counts().is_empty());
}

/// Three requests of one tenant at once with a cap of 2: the third is refused with the
/// service's concurrency body while the first two are in flight; another tenant is not
/// affected; once they finish, the tenant is served again.
#[tokio::test]
async fn concurrent_requests_per_tenant_are_capped() {
    for status in [429u16, 503] {
        let h = sim(SimConfig {
            tenant_concurrency: 2,
            tenant_concurrency_status: status,
            ..cfg(10)
        })
        .await;
        let c = client();
        let exo = h.urls().exo.clone();
        let t = user_token(&h, "ops@contoso.com", &exo, 600);
        let u = url(&exo, "contoso.com");
        let b = body("Get-OrganizationConfig", json!({}));
        h.admin
            .inject(Fault::next(FaultKind::Slow { ms: 1500 }).times(2));
        let slow = |_| {
            let (c, t, u, b) = (c.clone(), t.clone(), u.clone(), b.clone());
            tokio::spawn(async move { Call::new(&c, &t).post(&u, &b).await.status().as_u16() })
        };
        let first = [slow(0), slow(1)];
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(h.admin.in_flight("contoso.com"), 2);
        let (s, v) = json_of(Call::new(&c, &t).post(&u, &b).await).await;
        assert_eq!(s, status, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("maximum number of concurrent requests per tenant"),
            "{v}"
        );
        assert!(detail(&v).contains("ConcurrencyThrottlingException"), "{v}");
        // Another tenant has its own budget.
        let tail = user_token(&h, "admin@tailspintoys.com", &exo, 600);
        let r = Call::new(&c, &tail)
            .post(&url(&exo, "tailspintoys.com"), &b)
            .await;
        assert_eq!(r.status(), 200);
        for j in first {
            assert_eq!(j.await.unwrap(), 200);
        }
        assert_eq!(h.admin.in_flight("contoso.com"), 0);
        assert_eq!(Call::new(&c, &t).post(&u, &b).await.status(), 200);
        let refused: Vec<_> = h
            .admin
            .requests()
            .into_iter()
            .filter(|r| r.limit.as_deref() == Some("tenant-concurrency"))
            .collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].status, status);
    }
}

#[tokio::test]
async fn a_bad_concurrency_status_is_refused_at_start() {
    let e = exo_connect::sim::start(SimConfig {
        tenant_concurrency_status: 500,
        ..cfg(1)
    })
    .await
    .err()
    .unwrap();
    assert!(e.to_string().contains("429 or 503"), "{e}");
}

#[tokio::test]
async fn legacy_connection_cap_counts_distinct_ids_per_user_and_service() {
    let h = sim(SimConfig {
        connection_cap: Some(2),
        connection_window: Duration::from_millis(400),
        ..cfg(5)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, "contoso.com");
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let b = body("Get-OrganizationConfig", json!({}));
    let with = |id: &str| Call::new(&c, &t).header("connection-id", id.to_string());
    assert_eq!(with("a").post(&u, &b).await.status(), 200);
    assert_eq!(with("b").post(&u, &b).await.status(), 200);
    assert_eq!(with("a").post(&u, &b).await.status(), 200);
    let (s, v) = json_of(with("c").post(&u, &b).await).await;
    assert_eq!(s, 400);
    assert!(
        detail(&v).contains("exceeded the maximum number of connections allowed : 2"),
        "{v}"
    );
    // Requests without a connection id are not counted; other users have their own quota.
    assert_eq!(Call::new(&c, &t).post(&u, &b).await.status(), 200);
    let other = user_token(&h, "admin@contoso.com", &exo, 600);
    let r = Call::new(&c, &other)
        .header("connection-id", "c")
        .post(&u, &b)
        .await;
    assert_eq!(r.status(), 200);
    let counts = h.admin.connection_counts();
    assert_eq!(counts.iter().map(|c| c.connections).sum::<usize>(), 3);
    // After the window the old ids expire.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(with("c").post(&u, &b).await.status(), 200);
}

#[tokio::test]
async fn legacy_caps_are_three_for_exo_and_five_for_eop() {
    // The retired remote PowerShell limit, only when asked for.
    let h = sim(SimConfig {
        legacy_connection_limits: true,
        ..cfg(5)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    for (upn, domain, cap) in [
        ("ops@contoso.com", "contoso.com", 3),
        ("admin@northwind.com", "northwind.com", 5),
    ] {
        let t = user_token(&h, upn, &exo, 600);
        let b = body("Get-OrganizationConfig", json!({}));
        for i in 0..cap {
            let r = Call::new(&c, &t)
                .header("connection-id", format!("id{i}"))
                .post(&url(&exo, domain), &b)
                .await;
            assert_eq!(r.status(), 200);
        }
        let r = Call::new(&c, &t)
            .header("connection-id", "one-more")
            .post(&url(&exo, domain), &b)
            .await;
        assert_eq!(r.status(), 400, "{domain}");
    }
}
