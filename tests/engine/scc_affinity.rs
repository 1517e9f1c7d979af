//! Security & Compliance affinity against the sim with `scc_affinity` on: the cookie the
//! regional redirect sets is kept by the connection and sent back (no second redirect), and
//! it belongs to that connection only (another connection to the same regional host is routed
//! again, as a client without the cookie would be).

use std::sync::Arc;
use std::time::Duration;

use crate::common::connections_fixture::{SimTokens, rest_client};
use exo_connect::engine::rest::{CmdletRequest, RestClient, RestConfig};
use exo_connect::sim::admin::AdminHost;
use exo_connect::sim::{SimConfig, SimHandle};

fn client(h: &SimHandle, base: &str) -> Arc<RestClient> {
    let tokens = SimTokens::new(h, &h.urls().scc, "admin@contoso.com");
    let cfg = RestConfig {
        base_delay: Duration::from_millis(5),
        ..Default::default()
    };
    rest_client(base, tokens, cfg)
}

/// (host, status) of the requests logged since `from`.
fn log(h: &SimHandle, from: usize) -> Vec<(AdminHost, u16)> {
    h.admin.requests()[from..]
        .iter()
        .map(|r| (r.host, r.status))
        .collect()
}

fn policies() -> CmdletRequest {
    CmdletRequest::new("Get-RetentionCompliancePolicy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_affinity_cookie_is_kept_per_connection_and_never_shared() {
    let h = exo_connect::sim::start(SimConfig {
        scc_affinity: true,
        connection_cap: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap();
    let regional = h.urls().scc_regional.clone();
    let a = client(&h, &h.urls().scc);
    a.invoke(policies()).await.unwrap();
    assert_eq!(
        log(&h, 0),
        [(AdminHost::SccGlobal, 302), (AdminHost::SccRegional, 200)],
        "the cookie of the first redirect is sent back: no second redirect"
    );
    assert_eq!(a.endpoint(), regional);
    assert_eq!(a.cookie_count(), 1);
    let n = h.admin.requests().len();
    a.invoke(policies()).await.unwrap();
    assert_eq!(log(&h, n), [(AdminHost::SccRegional, 200)]);

    // Another connection straight to the regional host: A's cookie is not its own, so it is
    // routed again once, then keeps the cookie it was given.
    let b = client(&h, &regional);
    assert_eq!(b.cookie_count(), 0);
    let n = h.admin.requests().len();
    b.invoke(policies()).await.unwrap();
    assert_eq!(
        log(&h, n),
        [(AdminHost::SccRegional, 302), (AdminHost::SccRegional, 200)]
    );
    let n = h.admin.requests().len();
    b.invoke(policies()).await.unwrap();
    assert_eq!(log(&h, n), [(AdminHost::SccRegional, 200)]);
}
