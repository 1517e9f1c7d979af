//! `exo-connect login` through a proxy that wants credentials: the 407 is explained in plain
//! words (which proxy, what to set), and `--proxy-password-stdin` keeps the proxy password for
//! the profile's proxy user (a wrong one is explained as refused).

use crate::common::signin_support;

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use exo_connect::model::{AuthMethod, Profile, ProxyAccessType, ProxyAuthentication};
use signin_support::*;

use super::support::{exo, finish, home_with_file};

async fn login(home: &tempfile::TempDir, proxy: &str, args: &[&str], stdin: &str) -> (i32, String) {
    login_with(home, proxy, "1", args, stdin).await
}

/// A proxy that answers 407 unless it gets `user:pass` in Basic.
async fn strict_proxy() -> String {
    let app = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let ok = headers
            .get("proxy-authorization")
            .is_some_and(|v| v == "Basic dXNlcjpwYXNz");
        let status = if ok {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::PROXY_AUTHENTICATION_REQUIRED
        };
        (status, [("proxy-authenticate", "Basic realm=\"corp\"")], "")
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("127.0.0.1:{port}")
}

/// `login` with the environment's proxy; `loopback_via_proxy` "1" sends the loopback sim's
/// traffic through it too (EXO_CONNECT_PROXY_LOOPBACK), "" leaves loopback direct.
async fn login_with(
    home: &tempfile::TempDir,
    proxy: &str,
    loopback_via_proxy: &str,
    args: &[&str],
    stdin: &str,
) -> (i32, String) {
    let mut c = exo(home.path(), &["login"]);
    c.args(args)
        .env("HTTP_PROXY", format!("http://{proxy}"))
        .env("HTTPS_PROXY", format!("http://{proxy}"))
        .env("EXO_CONNECT_PROXY_LOOPBACK", loopback_via_proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let out = finish(c, stdin, Duration::from_secs(30)).await;
    (out.code, out.stderr)
}

#[tokio::test]
async fn login_through_a_proxy_that_wants_credentials_explains_the_407() {
    let h = start_sim(|_| {}).await;
    let proxy = strict_proxy().await;
    let mut p: Profile = profile(&h, "ops@contoso.com");
    p.name = "ops".into();
    p.auth = AuthMethod::Password;
    p.proxy.access_type = ProxyAccessType::IEConfig;
    p.proxy.authentication = Some(ProxyAuthentication::Basic);
    p.proxy.user = Some("user".into());
    let home = home_with_file(&[p]);
    let pw = password_of("ops@contoso.com");

    let (code, err) = login(
        &home,
        &proxy,
        &["ops", "--password-stdin"],
        &format!("{pw}\n"),
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("The proxy {proxy} asked for credentials (407 Proxy Authentication Required) and offers Basic")),
        "{err}"
    );
    assert!(err.contains("--proxy-password-stdin"), "{err}");

    let (code, err) = login(
        &home,
        &proxy,
        &["ops", "--password-stdin", "--proxy-password-stdin"],
        &format!("{pw}\nwrong\n"),
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Stored the proxy password in the keychain."),
        "{err}"
    );
    assert!(
        err.contains("refused the proxy user name and password"),
        "{err}"
    );
}

/// A loopback profile with the platform default (access type None) signs in directly, although
/// the environment names a proxy (which would want credentials): its password grant never goes
/// through the proxy.
#[tokio::test]
async fn a_loopback_profile_ignores_the_environments_proxy() {
    let h = start_sim(|_| {}).await;
    let proxy = strict_proxy().await;
    let mut p: Profile = profile(&h, "ops@contoso.com");
    p.name = "ops".into();
    p.auth = AuthMethod::Password;
    p.proxy.access_type = ProxyAccessType::None;
    let home = home_with_file(&[p]);
    let pw = password_of("ops@contoso.com");
    let (code, err) = login_with(
        &home,
        &proxy,
        "",
        &["ops", "--password-stdin"],
        &format!("{pw}\n"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("407"), "{err}");
}
