//! Rate limits as information (Rate-Limit-* headers consistent with a token bucket, 429 with a
//! sometimes fractional Retry-After when it is spent) and the Security & Compliance affinity
//! cookie (kept: one redirect; dropped: a second, slower redirect on every request).

use std::time::{Duration, Instant};

use exo_connect::sim::{RateScope, SimConfig};
use serde_json::json;

use super::support::*;

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()[name].to_str().unwrap().to_string()
}

#[tokio::test]
async fn rate_headers_count_down_and_the_empty_bucket_answers_429() {
    // 3 requests, refilled at 2/3 per second: the 4th waits 1.5 s.
    let h = sim(SimConfig {
        rate_limit_capacity: 3,
        rate_limit_per_second: 2.0 / 3.0,
        ..cfg(10)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let u = url(&exo, "contoso.com");
    let b = body("Get-OrganizationConfig", json!({}));
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = Call::new(&c, &t).post(&u, &b).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "rate-limit-limit"), "3");
        remaining.push(header(&r, "rate-limit-remaining"));
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = Call::new(&c, &t).post(&u, &b).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), "1.5");
    assert_eq!(header(&r, "rate-limit-remaining"), "0");
    let reset: u64 = header(&r, "rate-limit-reset").parse().unwrap();
    assert!((4..=5).contains(&reset), "{reset}");
    assert_eq!(
        h.admin.requests().last().unwrap().limit.as_deref(),
        Some("rate-limit")
    );
    // A client that waits as told is served; another tenant has its own bucket.
    tokio::time::sleep(Duration::from_millis(1550)).await;
    assert_eq!(Call::new(&c, &t).post(&u, &b).await.status(), 200);
    let other = user_token(&h, "admin@tailspintoys.com", &exo, 600);
    let r = Call::new(&c, &other)
        .post(&url(&exo, "tailspintoys.com"), &b)
        .await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "rate-limit-remaining")),
        (200, "2".into())
    );
}

#[tokio::test]
async fn per_account_buckets_and_off() {
    let h = sim(SimConfig {
        rate_limit_capacity: 1,
        rate_limit_per_second: 0.1,
        rate_limit_scope: RateScope::Account,
        ..cfg(10)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    let u = url(&exo, "contoso.com");
    let b = body("Get-OrganizationConfig", json!({}));
    for upn in ["ops@contoso.com", "admin@contoso.com"] {
        let t = user_token(&h, upn, &exo, 600);
        assert_eq!(Call::new(&c, &t).post(&u, &b).await.status(), 200, "{upn}");
        let r = Call::new(&c, &t).post(&u, &b).await;
        assert_eq!(r.status(), 429);
        assert_eq!(header(&r, "retry-after"), "10");
    }
    let off = sim(SimConfig {
        rate_limit_capacity: 0,
        ..cfg(10)
    })
    .await;
    let t = user_token(&off, "ops@contoso.com", &off.urls().exo, 600);
    let r = Call::new(&c, &t)
        .post(&url(&off.urls().exo, "contoso.com"), &b)
        .await;
    assert!(r.headers().get("rate-limit-limit").is_none());
}

/// Follows SCC redirects like a client; `keep` = send the affinity cookie back. Returns the
/// number of requests and the time taken.
async fn scc_call(h: &exo_connect::sim::SimHandle, keep: bool) -> (usize, Duration) {
    let c = client();
    let scc = h.urls().scc.clone();
    let t = user_token(h, "ops@contoso.com", &scc, 600);
    let b = body("Get-RetentionCompliancePolicy", json!({}));
    let mut target = url(&scc, "contoso.com");
    let mut cookie: Option<String> = None;
    let started = Instant::now();
    for n in 1..=6 {
        let mut call = Call::new(&c, &t);
        if let Some(ck) = &cookie {
            call = call.header("Cookie", ck.clone());
        }
        let r = call.post(&target, &b).await;
        if r.status() == 302 {
            if keep && let Some(set) = r.headers().get("set-cookie") {
                let set = set.to_str().unwrap();
                assert!(set.contains("Path=/") && set.contains("HttpOnly"), "{set}");
                cookie = Some(set.split(';').next().unwrap().to_string());
            }
            target = header(&r, "location");
            continue;
        }
        assert_eq!(r.status(), 200);
        return (n, started.elapsed());
    }
    panic!("no answer after 6 requests");
}

#[tokio::test]
async fn scc_affinity_cookie_kept_or_dropped() {
    let h = sim(SimConfig {
        scc_affinity: true,
        scc_affinity_penalty: Duration::from_millis(400),
        ..cfg(10)
    })
    .await;
    let (kept, fast) = scc_call(&h, true).await;
    let (dropped, slow) = scc_call(&h, false).await;
    assert_eq!(kept, 2, "global redirect, then served");
    assert_eq!(
        dropped, 3,
        "a second redirect for the request without the cookie"
    );
    assert!(
        slow >= fast + Duration::from_millis(350),
        "{fast:?} {slow:?}"
    );
    // Off (the default): no cookie, one redirect.
    h.admin.set_scc_affinity(false);
    assert_eq!(scc_call(&h, false).await.0, 2);
}

/// `page_delay` (`--page-delay-ms`): every InvokeCommand page waits that long, so a result of
/// three pages takes at least three delays; the rows are the same as without it.
#[tokio::test]
async fn every_invoke_page_waits_the_page_delay() {
    let delay = Duration::from_millis(250);
    let h = sim(SimConfig {
        page_delay: delay,
        ..cfg(30)
    })
    .await;
    let c = client();
    let exo = h.urls().exo.clone();
    let t = user_token(&h, "ops@contoso.com", &exo, 600);
    let call = Call::new(&c, &t).header("Prefer", "odata.maxpagesize=10");
    let b = body("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    let started = Instant::now();
    let (rows, pages) = collect(&call, &url(&exo, "contoso.com"), &b, false).await;
    let took = started.elapsed();
    assert_eq!((rows.len(), pages), (30, 3));
    assert!(took >= 3 * delay, "3 pages in {took:?}");
}
