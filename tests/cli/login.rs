//! `exo-connect login` / `logout` against the in-process sim (the binary runs as a child
//! process; the test plays the user in the sim's pages).

use crate::common::signin_support;

use exo_connect::model::{AuthMethod, Profile};
use signin_support::*;
use tokio::process::Command;

use super::support::{exo, home_with_file, streamed as run};

fn cmd(home: &tempfile::TempDir, args: &[&str]) -> Command {
    exo(home.path(), args)
}

fn named(mut p: Profile, name: &str) -> Profile {
    p.name = name.into();
    p
}

/// Parses `To sign in, open <uri> and enter the code <CODE>`.
fn code_of(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("To sign in, open ")?;
    let (uri, code) = rest.split_once(" and enter the code ")?;
    Some((uri.to_string(), code.trim().to_string()))
}

#[tokio::test]
async fn login_with_the_device_code_prints_instructions_on_stderr_and_the_account_on_stdout() {
    let h = start_sim(|_| {}).await;
    let home = home_with_file(&[named(profile(&h, "admin@contoso.com"), "Contoso EXO")]);
    let hh = h.clone();
    let r = run(
        cmd(&home, &["login", "contoso exo", "--method", "device-code"]),
        None,
        |l| {
            let h = hh.clone();
            async move {
                if let Some((uri, code)) = code_of(&l) {
                    assert_eq!(uri, format!("{}/devicelogin", h.urls().login));
                    complete_device_login(
                        &h,
                        &code,
                        &UserAction::SignIn("admin@contoso.com".into()),
                    )
                    .await;
                }
            }
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.lines().any(|l| code_of(l).is_some()),
        "{}",
        r.stderr
    );
    let tid = h.world().tenant("contoso.com").unwrap().id.to_string();
    assert!(
        r.stdout.contains("account: admin@contoso.com"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!("tenant: {tid}")), "{}", r.stdout);
    assert!(r.stdout.contains("expires: "), "{}", r.stdout);
    assert!(
        !r.stdout.contains("eyJ") && !r.stderr.contains("eyJ"),
        "no token is printed"
    );
    assert!(r.stderr.contains("memory only"), "{}", r.stderr);
    // No token lands in the profile folder.
    for f in std::fs::read_dir(home.path()).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap_or_default();
        assert!(!text.contains("eyJ"));
    }
}

#[tokio::test]
async fn login_with_a_password_and_the_mfa_fallback() {
    let h = start_sim(|_| {}).await;
    let mut ops = named(profile(&h, "ops@contoso.com"), "ops");
    ops.auth = AuthMethod::Password;
    let mut admin = named(profile(&h, "admin@contoso.com"), "admin");
    admin.auth = AuthMethod::Password;
    let home = home_with_file(&[ops, admin]);

    let pw = format!("{}\n", password_of("ops@contoso.com"));
    let r = run(
        cmd(&home, &["login", "ops", "--password-stdin"]),
        Some(&pw),
        |_| async {},
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("account: ops@contoso.com"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("To sign in"), "{}", r.stderr);

    let pw = format!("{}\n", password_of("admin@contoso.com"));
    let hh = h.clone();
    let r = run(
        cmd(&home, &["login", "admin", "--password-stdin"]),
        Some(&pw),
        |l| {
            let h = hh.clone();
            async move {
                if let Some((_, code)) = code_of(&l) {
                    complete_device_login(
                        &h,
                        &code,
                        &UserAction::SignIn("admin@contoso.com".into()),
                    )
                    .await;
                }
            }
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("multi-factor"), "{}", r.stderr);
    assert!(
        r.stdout.contains("account: admin@contoso.com"),
        "{}",
        r.stdout
    );

    // A wrong password: exit 1 with the explanation.
    let r = run(
        cmd(&home, &["login", "ops", "--password-stdin"]),
        Some("nope\n"),
        |_| async {},
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("password is wrong"), "{}", r.stderr);
    assert!(!r.stderr.contains("nope"), "the password is never echoed");
}

#[tokio::test]
async fn login_in_the_browser_prints_the_url_when_no_browser_opens() {
    let h = start_sim(|_| {}).await;
    let home = home_with_file(&[named(profile(&h, "ops@contoso.com"), "ops")]);
    let b = TestBrowser::new(h.clone(), UserAction::SignIn("ops@contoso.com".into()));
    let r = run(
        cmd(&home, &["login", "ops", "--method", "browser"]),
        None,
        |l| {
            let b = b.clone();
            async move {
                if l.starts_with("http://") && l.contains("/oauth2/v2.0/authorize?") {
                    let page = b.drive(&l).await.unwrap();
                    assert!(page.contains("close this window"), "{page}");
                }
            }
        },
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("No browser could be opened"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("account: ops@contoso.com"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn usage_errors_exit_2_and_logout_forgets() {
    let h = start_sim(|_| {}).await;
    let mut pw = named(profile(&h, "ops@contoso.com"), "ops");
    pw.auth = AuthMethod::Password;
    let home = home_with_file(&[pw]);
    let r = run(cmd(&home, &["login", "nobody"]), None, |_| async {}).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no profile named 'nobody'"),
        "{}",
        r.stderr
    );
    let r = run(cmd(&home, &["login", "ops"]), None, |_| async {}).await;
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--password-stdin"), "{}", r.stderr);
    let r = run(
        cmd(&home, &["login", "ops", "--method", "carrier-pigeon"]),
        None,
        |_| async {},
    )
    .await;
    assert_eq!(r.code, 2);
    let r = run(cmd(&home, &["logout"]), None, |_| async {}).await;
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--all"), "{}", r.stderr);
    let r = run(cmd(&home, &["logout", "ops"]), None, |_| async {}).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("no cached sign-in"), "{}", r.stdout);
    let r = run(cmd(&home, &["logout", "--all"]), None, |_| async {}).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Forgot 0"), "{}", r.stdout);
}

#[tokio::test]
async fn login_app_only_with_a_certificate_profile() {
    let h = start_sim(|_| {}).await;
    let app = h
        .app(exo_connect::sim::auth::certs::AUTOMATION_APP)
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(
        &pem,
        format!("{}{}", app.private_key_pem, app.certificate_pem),
    )
    .unwrap();
    let mut p = named(profile(&h, ""), "automation");
    p.auth = AuthMethod::Certificate {
        app_id: app.app_id.to_string(),
        certificate_path: Some(pem.to_string_lossy().into_owned()),
        thumbprint: None,
        organization: "contoso.onmicrosoft.com".into(),
    };
    let home = home_with_file(&[p]);
    let r = run(cmd(&home, &["login", "automation"]), None, |_| async {}).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("account: {}", app.app_id)),
        "{}",
        r.stdout
    );
    let tid = h.world().tenant("contoso.com").unwrap().id.to_string();
    assert!(r.stdout.contains(&format!("tenant: {tid}")), "{}", r.stdout);
    let r = run(
        cmd(&home, &["login", "automation", "--method", "browser"]),
        None,
        |_| async {},
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// With no keychain reachable (no D-Bus session bus on Linux), a logout cannot delete what the
/// keychain holds: it says so and exits 1 instead of reporting success.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn logout_without_a_reachable_keychain_fails_plainly() {
    let h = start_sim(|_| {}).await;
    let home = home_with_file(&[named(profile(&h, "ops@contoso.com"), "ops")]);
    for args in [&["logout", "ops"][..], &["logout", "--all"][..]] {
        let mut c = cmd(&home, args);
        c.env_remove("EXO_CONNECT_SECRETS")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        let r = run(c, None, |_| async {}).await;
        assert_eq!(r.code, 1, "{args:?}: {} {}", r.stdout, r.stderr);
        assert!(r.stderr.contains("could not be opened"), "{}", r.stderr);
        assert!(!r.stdout.contains("Signed out"), "{}", r.stdout);
    }
    // Removing the profile still works; the warning says what could not be checked.
    let mut c = cmd(&home, &["profile", "remove", "ops"]);
    c.env_remove("EXO_CONNECT_SECRETS")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let r = run(c, None, |_| async {}).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("logout --all"), "{}", r.stderr);
}

/// A hostile sign-in service on loopback: its device code, page and refusal carry terminal escape
/// sequences (a window title, a screen clear, a colour).
async fn hostile_sign_in_service() -> String {
    let app = axum::Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            axum::routing::post(|| async {
                axum::Json(serde_json::json!({
                    "device_code": "dc", "user_code": "AB\u{1b}]0;pwned\u{7}CD",
                    "verification_uri": "https://microsoft.com/devicelogin\u{1b}[2J",
                    "expires_in": 900, "interval": 1,
                    "message": "\u{1b}[31mTo sign in\u{1b}[0m"
                }))
            }),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            axum::routing::post(|| async {
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    axum::Json(serde_json::json!({
                        "error": "invalid_grant",
                        "error_description": "AADSTS50000: \u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31mbad\u{202e}txt"
                    })),
                )
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://127.0.0.1:{port}/organizations")
}

#[tokio::test]
async fn server_text_reaches_the_terminal_without_control_characters() {
    let h = start_sim(|_| {}).await;
    let mut p = named(profile(&h, "ops@contoso.com"), "hostile");
    p.authorization_endpoint = Some(hostile_sign_in_service().await);
    p.auth = AuthMethod::DeviceCode;
    let home = home_with_file(&[p]);
    let r = run(cmd(&home, &["login", "hostile"]), None, |_| async {}).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("ABCD"), "{all}");
    assert!(all.contains("AADSTS50000"), "{all}");
    assert!(
        !all.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{all:?}"
    );
}

#[tokio::test]
async fn a_device_code_refused_by_conditional_access_says_to_use_the_browser() {
    let h = start_sim(|_| {}).await;
    h.auth.block_device_code("admin@contoso.com", true);
    let home = home_with_file(&[named(profile(&h, "admin@contoso.com"), "Contoso EXO")]);
    let hh = h.clone();
    let r = run(
        cmd(&home, &["login", "contoso exo", "--method", "device-code"]),
        None,
        |l| {
            let h = hh.clone();
            async move {
                if let Some((_, code)) = code_of(&l) {
                    complete_device_login(
                        &h,
                        &code,
                        &UserAction::SignIn("admin@contoso.com".into()),
                    )
                    .await;
                }
            }
        },
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("Conditional Access"), "{}", r.stderr);
    assert!(r.stderr.contains("--method browser"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
