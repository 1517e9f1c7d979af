//! The per-profile HTTP client against the sim over real loopback: sign-in and REST traffic take
//! the profile's proxy route (a small forwarding proxy written here counts what passes), NO_PROXY
//! and NoProxyServer go direct, and a proxy's 407 is a typed error with the plain explanation.

use crate::common::signin_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use exo_connect::engine::auth::{SignInError, SignInOptions, SignedIn, TokenCache};
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::proxy::{Clients, Fixture, RouteKind};
use exo_connect::engine::rest::{CmdletRequest, RestClient, RestConfig, RestErrorKind};
use exo_connect::engine::secrets::{SecretStore, proxy_password_key};
use exo_connect::engine::sessions::ConnectRequest;
use exo_connect::model::{AuthMethod, Profile, ProxyAccessType, ProxyAuthentication};
use signin_support::*;

/// A forward proxy on loopback: counts requests; answers 407 unless `Proxy-Authorization`
/// equals `want_auth` (when set); forwards everything else directly.
async fn start_proxy(want_auth: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let direct = build_client(&HttpOptions {
        proxy: Some(None),
        ..Default::default()
    })
    .unwrap();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let hits = h2.clone();
            let direct = direct.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let auth = headers
                    .get("proxy-authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                if let Some(want) = want_auth
                    && auth.as_deref() != Some(want)
                {
                    return (
                        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                        [("proxy-authenticate", "Basic realm=\"test\"".to_string())],
                        Vec::new(),
                    );
                }
                let mut rb = direct.request(method, uri.to_string()).body(body);
                for (k, v) in headers.iter() {
                    if k != "host" && k != "proxy-authorization" && k != "proxy-connection" {
                        rb = rb.header(k, v);
                    }
                }
                match rb.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let ct = r
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("application/json")
                            .to_string();
                        let b = r.bytes().await.unwrap_or_default().to_vec();
                        (status, [("content-type", ct)], b)
                    }
                    Err(e) => (
                        StatusCode::BAD_GATEWAY,
                        [("content-type", "text/plain".to_string())],
                        e.to_string().into_bytes(),
                    ),
                }
            }
        },
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("127.0.0.1:{}", addr.port()), hits)
}

/// The environment names `proxy`; loopback targets (the sim) follow it too, as
/// `EXO_CONNECT_PROXY_LOOPBACK=1` asks (the proxy and the sim are both on loopback here).
fn env_fixture(proxy: &str, no_proxy: &str) -> Arc<Fixture> {
    let mut f = plain_env_fixture(proxy, no_proxy);
    f.proxy_loopback = true;
    Arc::new(f)
}

/// The environment names `proxy`, nothing else (loopback goes direct).
fn plain_env_fixture(proxy: &str, no_proxy: &str) -> Fixture {
    let mut f = Fixture::default();
    f.env.insert("HTTP_PROXY".into(), format!("http://{proxy}"));
    f.env.insert("NO_PROXY".into(), no_proxy.into());
    f
}

/// A token cache and the profiles' client builder over `secrets`, with proxy settings from `sys`.
struct Engine {
    cache: Arc<TokenCache>,
    clients: Clients,
}

fn cache_with(sys: Arc<Fixture>, secrets: SecretStore) -> Engine {
    let shared = build_client(&HttpOptions::default()).unwrap();
    Engine {
        cache: TokenCache::new(shared.clone(), secrets.clone()),
        clients: Clients::new(shared, secrets).with_source(sys),
    }
}

impl Engine {
    /// A password sign-in of ops@contoso.com over the profile's client (built now, as a
    /// connect does).
    async fn sign_in(&self, p: &Profile) -> Result<SignedIn, SignInError> {
        let http = self.clients.for_profile(p).await.unwrap();
        let opts = SignInOptions {
            password: Some(password_of("ops@contoso.com")),
            timeout: Duration::from_secs(20),
            http: Some(http),
            ..Default::default()
        };
        self.cache.sign_in(p, opts).await
    }
}

async fn run_accepted_domain(
    p: &Profile,
    e: &Engine,
) -> Result<usize, exo_connect::engine::rest::RestError> {
    let tokens = Arc::new(e.cache.provider(p, None, None).unwrap());
    let http = e.clients.for_profile(p).await.unwrap();
    let target = ConnectRequest::for_profile(p, tokens.clone(), None)
        .unwrap()
        .target;
    let rest = RestClient::new(
        target,
        tokens,
        RestConfig {
            http: HttpOptions {
                client: Some(http),
                ..Default::default()
            },
            ..Default::default()
        },
    )?;
    Ok(rest
        .start(CmdletRequest::new("Get-AcceptedDomain"))
        .collect()
        .await?
        .rows
        .len())
}

fn sim_profile(h: &exo_connect::sim::SimHandle, access: ProxyAccessType) -> Profile {
    let mut p = profile(h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    p.proxy.access_type = access;
    p
}

#[tokio::test]
async fn sign_in_and_rest_go_through_the_profile_proxy() {
    let h = start_sim(|_| {}).await;
    let (proxy, hits) = start_proxy(None).await;
    let p = sim_profile(&h, ProxyAccessType::IEConfig);
    let cache = cache_with(env_fixture(&proxy, ""), SecretStore::memory());
    cache.sign_in(&p).await.unwrap();
    let after_sign_in = hits.load(Ordering::SeqCst);
    assert!(
        after_sign_in >= 1,
        "the sign-in did not go through the proxy"
    );
    let rows = run_accepted_domain(&p, &cache).await.unwrap();
    assert!(rows >= 1);
    assert!(
        hits.load(Ordering::SeqCst) > after_sign_in,
        "REST did not go through the proxy"
    );
}

#[tokio::test]
async fn no_proxy_and_no_proxy_server_go_direct() {
    let h = start_sim(|_| {}).await;
    let (proxy, hits) = start_proxy(None).await;
    // NO_PROXY names the sim's address: direct.
    let p = sim_profile(&h, ProxyAccessType::IEConfig);
    let cache = cache_with(env_fixture(&proxy, "127.0.0.0/8"), SecretStore::memory());
    cache.sign_in(&p).await.unwrap();
    assert!(run_accepted_domain(&p, &cache).await.unwrap() >= 1);
    // NoProxyServer ignores the environment's proxy.
    let p = sim_profile(&h, ProxyAccessType::NoProxyServer);
    let cache = cache_with(env_fixture(&proxy, ""), SecretStore::memory());
    cache.sign_in(&p).await.unwrap();
    assert!(run_accepted_domain(&p, &cache).await.unwrap() >= 1);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "direct routes must not touch the proxy"
    );
    let r = exo_connect::engine::proxy::resolve_with(
        &p,
        &url::Url::parse(&h.urls().exo).unwrap(),
        env_fixture(&proxy, ""),
    )
    .await;
    assert_eq!(r.kind, RouteKind::Direct);
    assert_eq!(r.describe(), "direct, from NoProxyServer");
}

#[tokio::test]
async fn proxy_407_is_typed_and_basic_credentials_come_from_the_keychain() {
    let h = start_sim(|_| {}).await;
    // "user:pass" in Basic.
    let (proxy, hits) = start_proxy(Some("Basic dXNlcjpwYXNz")).await;
    let mut p = sim_profile(&h, ProxyAccessType::IEConfig);
    p.proxy.authentication = Some(ProxyAuthentication::Basic);
    p.proxy.user = Some("user".into());
    let secrets = SecretStore::memory();
    let cache = cache_with(env_fixture(&proxy, ""), secrets.clone());
    let e = cache.sign_in(&p).await.unwrap_err();
    let SignInError::ProxyAuth(a) = &e else {
        panic!("expected a proxy 407, got {e:?}")
    };
    assert_eq!(a.proxy, proxy);
    assert_eq!(a.offered, vec!["Basic"]);
    assert!(!a.sent_credential);
    assert!(
        e.explanation().contains("asked for credentials (407"),
        "{e}"
    );
    secrets.set(&proxy_password_key(&p.id), "wrong").await;
    let SignInError::ProxyAuth(a) = cache.sign_in(&p).await.unwrap_err() else {
        panic!()
    };
    assert!(a.sent_credential);
    assert!(
        a.to_string()
            .contains("refused the proxy user name and password")
    );
    secrets.set(&proxy_password_key(&p.id), "pass").await;
    cache.sign_in(&p).await.unwrap();
    assert!(run_accepted_domain(&p, &cache).await.unwrap() >= 1);
    // The REST side: the password is gone, the proxy says 407: a ProxyAuth error, not retried.
    let before = hits.load(Ordering::SeqCst);
    secrets.delete(&proxy_password_key(&p.id)).await.unwrap();
    let e = run_accepted_domain(&p, &cache).await.unwrap_err();
    assert_eq!(e.kind, RestErrorKind::ProxyAuth, "{e:?}");
    assert_eq!(e.status, Some(407));
    assert!(e.message.contains(&proxy), "{}", e.message);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before + 1,
        "a 407 is not retried"
    );
}

/// Loopback targets (the sim) go direct for every access type, whatever the settings say: the
/// environment's proxy sees none of the sign-in (password included) or the bearer token.
#[tokio::test]
async fn loopback_targets_never_go_through_a_proxy() {
    let h = start_sim(|_| {}).await;
    let (proxy, hits) = start_proxy(None).await;
    for access in [
        ProxyAccessType::None,
        ProxyAccessType::IEConfig,
        ProxyAccessType::WinHttpConfig,
        ProxyAccessType::AutoDetect,
    ] {
        let p = sim_profile(&h, access);
        let cache = cache_with(
            Arc::new(plain_env_fixture(&proxy, "")),
            SecretStore::memory(),
        );
        cache.sign_in(&p).await.unwrap();
        assert!(run_accepted_domain(&p, &cache).await.unwrap() >= 1);
        let r = exo_connect::engine::proxy::resolve_with(
            &p,
            &url::Url::parse(&h.urls().exo).unwrap(),
            Arc::new(plain_env_fixture(&proxy, "")),
        )
        .await;
        assert_eq!(r.kind, RouteKind::Direct, "{access:?}: {}", r.describe());
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "loopback traffic went through the proxy"
    );
}
