//! System test (run by tests/system/proxy_tinyproxy.sh): profiles with IEConfig and AutoDetect
//! reach the sim through a real tinyproxy on loopback, with and without Basic authentication;
//! the proxy's log shows the traffic; a wrong proxy password gives the 407 explanation.
//! Needs EXO_TEST_PROXY_OPEN / _OPEN_LOG / _AUTH / _AUTH_LOG / _AUTH_USER / _AUTH_PASSWORD.

use crate::common::signin_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use exo_connect::engine::auth::{SignInError, SignInOptions, TokenCache};
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::proxy::{self, Clients, Fixture, wpad::FixedResolver};
use exo_connect::engine::rest::{CmdletRequest, RestClient, RestConfig};
use exo_connect::engine::secrets::{SecretStore, proxy_password_key};
use exo_connect::engine::sessions::ConnectRequest;
use exo_connect::model::{AuthMethod, Profile, ProxyAccessType, ProxyAuthentication};
use signin_support::*;

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run tests/system/proxy_tinyproxy.sh"))
}

fn env_fixture(proxy: &str) -> Fixture {
    let mut f = Fixture::default();
    f.env.insert("HTTP_PROXY".into(), format!("http://{proxy}"));
    f.env
        .insert("HTTPS_PROXY".into(), format!("http://{proxy}"));
    f.env.insert("NO_PROXY".into(), String::new());
    // The sim is on loopback: let its traffic follow the proxy (EXO_CONNECT_PROXY_LOOPBACK=1).
    f.proxy_loopback = true;
    f
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

/// A token cache and the profiles' client builder over `secrets`, proxy settings from `sys`.
fn engine(sys: Arc<Fixture>, secrets: SecretStore) -> (Arc<TokenCache>, Clients) {
    let shared = build_client(&HttpOptions::default()).unwrap();
    (
        TokenCache::new(shared.clone(), secrets.clone()),
        Clients::new(shared, secrets).with_source(sys),
    )
}

/// Signs in (password grant, ops@contoso.com) and runs Get-AcceptedDomain over the profile's
/// client (built once, as a connect does); returns the domain names.
async fn sign_in_and_run(
    h: &exo_connect::sim::SimHandle,
    p: &Profile,
    (cache, clients): &(Arc<TokenCache>, Clients),
) -> Result<Vec<String>, String> {
    let http = clients.for_profile(p).await.map_err(|e| e.to_string())?;
    let opts = SignInOptions {
        password: Some(password_of("ops@contoso.com")),
        timeout: Duration::from_secs(20),
        http: Some(http.clone()),
        ..Default::default()
    };
    cache.sign_in(p, opts).await.map_err(|e| match e {
        SignInError::ProxyAuth(a) => format!("PROXYAUTH {a}"),
        other => other.explanation(),
    })?;
    let _ = h;
    let tokens = Arc::new(cache.provider(p, None, None).map_err(|e| e.explanation())?);
    let target = ConnectRequest::for_profile(p, tokens.clone(), None)?.target;
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
    )
    .map_err(|e| e.to_string())?;
    let out = rest
        .start(CmdletRequest::new("Get-AcceptedDomain"))
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(out
        .rows
        .rows()
        .filter_map(|r| match r.get("DomainName") {
            exo_connect::model::results::Cell::Str(s) => Some(s.to_string()),
            _ => None,
        })
        .collect())
}

fn assert_log_shows(log: &str, h: &exo_connect::sim::SimHandle) {
    let text = std::fs::read_to_string(log).unwrap();
    let urls = h.urls();
    for (what, port) in [
        ("sign-in", port_of(&urls.login)),
        ("admin API", port_of(&urls.exo)),
    ] {
        assert!(
            text.contains(&format!("127.0.0.1:{port}/")),
            "the proxy log does not show the {what} traffic (port {port}):\n{text}"
        );
    }
}

#[tokio::test]
#[ignore = "needs tinyproxy: tests/system/proxy_tinyproxy.sh"]
async fn ieconfig_profile_reaches_the_sim_through_the_proxy() {
    let h = start_sim(|_| {}).await;
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    p.proxy.access_type = ProxyAccessType::IEConfig;
    let sys = Arc::new(env_fixture(&var("EXO_TEST_PROXY_OPEN")));
    let route =
        proxy::resolve_with(&p, &url::Url::parse(&h.urls().exo).unwrap(), sys.clone()).await;
    assert_eq!(
        route.describe(),
        format!(
            "via {}, from IEConfig (environment HTTPS_PROXY, HTTP_PROXY)",
            var("EXO_TEST_PROXY_OPEN")
        )
    );
    let cache = engine(sys, SecretStore::memory());
    let domains = sign_in_and_run(&h, &p, &cache).await.unwrap();
    assert!(domains.iter().any(|d| d == "contoso.com"), "{domains:?}");
    assert_log_shows(&var("EXO_TEST_PROXY_OPEN_LOG"), &h);
}

#[tokio::test]
#[ignore = "needs tinyproxy: tests/system/proxy_tinyproxy.sh"]
async fn autodetect_profile_finds_the_pac_by_wpad_and_uses_the_proxy() {
    let h = start_sim(|_| {}).await;
    let proxy_addr = var("EXO_TEST_PROXY_OPEN");
    let login_port = port_of(&h.urls().login);
    let _ = login_port;
    // The PAC sends the sim's loopback hosts through the proxy and everything else direct.
    let script = format!(
        "function FindProxyForURL(url, host) {{ if (isInNet(host, '127.0.0.0', '255.0.0.0') && shExpMatch(url, 'http://127.0.0.1:*')) return 'PROXY {proxy_addr}; DIRECT'; return 'DIRECT'; }}"
    );
    let app = axum::Router::new().route(
        "/wpad.dat",
        axum::routing::get(move || {
            let s = script.clone();
            async move { s }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pac_port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let sys = Arc::new(Fixture {
        resolver: Arc::new(FixedResolver {
            hosts: HashMap::from([(
                "wpad.proxylab.test".to_string(),
                "127.0.0.1".parse().unwrap(),
            )]),
            my_ip: "10.20.30.40".parse().unwrap(),
            domain: Some("eu.proxylab.test".into()),
        }),
        wpad_port: pac_port,
        proxy_loopback: true,
        ..Default::default()
    });
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    p.proxy.access_type = ProxyAccessType::AutoDetect;
    let route =
        proxy::resolve_with(&p, &url::Url::parse(&h.urls().login).unwrap(), sys.clone()).await;
    assert_eq!(
        route.describe(),
        format!(
            "via {proxy_addr}, from AutoDetect (WPAD http://wpad.proxylab.test:{pac_port}/wpad.dat)"
        )
    );
    let cache = engine(sys, SecretStore::memory());
    let domains = sign_in_and_run(&h, &p, &cache).await.unwrap();
    assert!(domains.iter().any(|d| d == "contoso.com"), "{domains:?}");
    assert_log_shows(&var("EXO_TEST_PROXY_OPEN_LOG"), &h);
}

#[tokio::test]
#[ignore = "needs tinyproxy: tests/system/proxy_tinyproxy.sh"]
async fn basic_proxy_authentication_from_the_keychain_and_the_407_explanation() {
    let h = start_sim(|_| {}).await;
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    p.proxy.access_type = ProxyAccessType::IEConfig;
    p.proxy.authentication = Some(ProxyAuthentication::Basic);
    p.proxy.user = Some(var("EXO_TEST_PROXY_AUTH_USER"));
    let sys = Arc::new(env_fixture(&var("EXO_TEST_PROXY_AUTH")));
    let proxy_addr = var("EXO_TEST_PROXY_AUTH");

    // No password stored: 407, asking for the credential.
    let secrets = SecretStore::memory();
    let cache = engine(sys.clone(), secrets.clone());
    let e = sign_in_and_run(&h, &p, &cache).await.unwrap_err();
    assert!(e.starts_with("PROXYAUTH"), "{e}");
    assert!(
        e.contains(&format!(
            "The proxy {proxy_addr} asked for credentials (407"
        )),
        "{e}"
    );
    assert!(e.contains("--proxy-password-stdin"), "{e}");

    // A wrong password: 407 explained as refused credentials.
    secrets
        .set(&proxy_password_key(&p.id), "not-the-password")
        .await;
    let e = sign_in_and_run(&h, &p, &cache).await.unwrap_err();
    assert!(
        e.contains("refused the proxy user name and password"),
        "{e}"
    );

    // The right password: signed in and Get-AcceptedDomain through the authenticating proxy.
    secrets
        .set(
            &proxy_password_key(&p.id),
            &var("EXO_TEST_PROXY_AUTH_PASSWORD"),
        )
        .await;
    let domains = sign_in_and_run(&h, &p, &cache).await.unwrap();
    assert!(domains.iter().any(|d| d == "contoso.com"), "{domains:?}");
    assert_log_shows(&var("EXO_TEST_PROXY_AUTH_LOG"), &h);
}

#[tokio::test]
#[ignore = "needs tinyproxy: tests/system/proxy_tinyproxy.sh"]
async fn doctor_explains_a_missing_or_wrong_proxy_password_through_the_real_proxy() {
    use exo_connect::engine::doctor::{DoctorOptions, ProxyCredential, check};
    use exo_connect::model::diagnosis::{Outcome, StepKind};
    use exo_connect::model::failures::ids;

    let h = start_sim(|_| {}).await;
    let mut p = profile(&h, "ops@contoso.com");
    p.proxy.access_type = ProxyAccessType::IEConfig;
    p.proxy.authentication = Some(ProxyAuthentication::Basic);
    p.proxy.user = Some(var("EXO_TEST_PROXY_AUTH_USER"));
    let sys = Arc::new(env_fixture(&var("EXO_TEST_PROXY_AUTH")));
    let login = url::Url::parse(&h.urls().login).unwrap();
    let route = proxy::resolve_with(&p, &login, sys).await;
    assert!(
        matches!(route.kind, proxy::RouteKind::Proxy { .. }),
        "{route:?}"
    );
    let doctor = |password: Option<&str>| {
        let opts = DoctorOptions {
            route: Some(route.clone()),
            proxy_credential: password.map(|pw| ProxyCredential {
                user: var("EXO_TEST_PROXY_AUTH_USER"),
                password: pw.to_string(),
            }),
            step_timeout: Duration::from_secs(10),
            ..Default::default()
        };
        let p = p.clone();
        async move { check(&p, &opts, None).await.unwrap() }
    };
    for (password, what) in [
        (None, "no proxy credential"),
        (Some("not-the-password"), "refused"),
    ] {
        let report = doctor(password).await;
        assert!(!report.passed(), "{:#?}", report.steps);
        let step = report
            .steps
            .iter()
            .find(|s| s.kind == StepKind::Proxy && s.outcome == Outcome::Failed)
            .unwrap_or_else(|| panic!("a failed proxy step: {:#?}", report.steps));
        assert!(step.summary.contains(what), "{}", step.summary);
        assert_eq!(
            step.advice.as_ref().map(|a| a.id.as_str()),
            Some(ids::PROXY_407)
        );
    }
    // The right password: every step passes through the authenticating proxy.
    let report = doctor(Some(&var("EXO_TEST_PROXY_AUTH_PASSWORD"))).await;
    assert!(report.passed(), "{:#?}", report.steps);
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.kind == StepKind::Proxy && s.outcome == Outcome::Passed)
    );
}
