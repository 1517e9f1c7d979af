//! The sign-in engine against the simulated tenant over loopback: every flow, the token cache,
//! refresh, the keychain (mock store) and the account checks.

use crate::common::signin_support;

use std::sync::Arc;
use std::time::Duration;

use exo_connect::engine::auth::{
    CancellationToken, SignInError, SignInEvent, SignInOptions, TokenCache, browser,
};
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::secrets::SecretStore;
use exo_connect::engine::token::TokenProvider;
use exo_connect::model::{AuthMethod, SignInMethod};
use signin_support::*;
use tokio::sync::mpsc;

fn cache() -> Arc<TokenCache> {
    memory_cache()
}

fn opts_with_events() -> (SignInOptions, mpsc::UnboundedReceiver<SignInEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        SignInOptions {
            events: Some(tx),
            timeout: Duration::from_secs(20),
            ..Default::default()
        },
        rx,
    )
}

fn tenant_id(h: &exo_connect::sim::SimHandle, domain: &str) -> String {
    h.world().tenant(domain).unwrap().id.to_string()
}

#[tokio::test]
async fn device_code_signs_in_an_mfa_account_through_the_verification_page() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "admin@contoso.com");
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let run = tokio::spawn({
        let c = c.clone();
        let p = p.clone();
        async move { c.sign_in(&p, opts).await }
    });
    let mut seen = Vec::new();
    let (code, uri) = next_code(&mut rx, &mut seen).await;
    assert_eq!(uri, format!("{}/devicelogin", h.urls().login));
    let SignInEvent::CodeIssued {
        message,
        expires_at,
        ..
    } = &seen[0]
    else {
        panic!()
    };
    assert!(message.contains(&code), "{message}");
    assert!(*expires_at > chrono::Utc::now());
    // Let the engine poll at least once while the user is still busy.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let page =
        complete_device_login(&h, &code, &UserAction::SignIn("admin@contoso.com".into())).await;
    assert!(!page.contains("class=\"error\""), "{page}");
    let s = run.await.unwrap().expect("signed in");
    drain(&mut rx, &mut seen);
    assert_eq!(s.account, "admin@contoso.com");
    assert_eq!(s.tenant_id, tenant_id(&h, "contoso.com"));
    assert!(s.upn_mismatch.is_none());
    assert!(seen.contains(&SignInEvent::Waiting), "{seen:?}");
    assert!(
        matches!(seen.last(), Some(SignInEvent::Succeeded { account, .. }) if account == "admin@contoso.com")
    );
    // The access token is for the EXO resource and is cached in memory.
    assert_eq!(jwt_payload(&s.access.secret)["aud"], h.urls().exo.as_str());
    let prov = c.provider(&p, None, None).unwrap();
    assert!(prov.token(false).await.unwrap().secret == s.access.secret);
}

#[tokio::test]
async fn device_code_declined_and_expired_and_cancelled() {
    let h = start_sim(|c| c.device_code_lifetime = Duration::from_secs(2)).await;
    let p = profile(&h, "ops@contoso.com");
    // Declined on the page.
    let c = cache();
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let mut seen = Vec::new();
    let (code, _) = next_code(&mut rx, &mut seen).await;
    complete_device_login(&h, &code, &UserAction::Decline).await;
    let e = run.await.unwrap().unwrap_err();
    assert!(matches!(e, SignInError::Declined), "{e:?}");
    drain(&mut rx, &mut seen);
    assert!(seen.contains(&SignInEvent::Declined), "{seen:?}");
    assert!(matches!(seen.last(), Some(SignInEvent::Failed { .. })));

    // Nobody enters the code: it expires (2 s in this sim).
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let started = std::time::Instant::now();
    let e = c.sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::Expired), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    assert!(seen.contains(&SignInEvent::Expired), "{seen:?}");

    // Cancelled while waiting.
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let cancel = CancellationToken::new();
    opts.cancel = cancel.clone();
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    next_code(&mut rx, &mut Vec::new()).await;
    let t = std::time::Instant::now();
    cancel.cancel();
    let e = run.await.unwrap().unwrap_err();
    assert!(matches!(e, SignInError::Cancelled), "{e:?}");
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn device_code_honours_slow_down() {
    // The sim asks for 1.5 s but announces `interval: 1`: the engine's 1 s poll is too fast.
    let h = start_sim(|c| c.device_code_interval = Duration::from_millis(1500)).await;
    let p = profile(&h, "ops@contoso.com");
    let c = cache();
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let mut seen = Vec::new();
    let (code, _) = next_code(&mut rx, &mut seen).await;
    // Wait for the first SlowedDown, then approve.
    loop {
        let e = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push(e.clone());
        if let SignInEvent::SlowedDown { interval_secs } = e {
            assert_eq!(interval_secs, 6);
            break;
        }
    }
    h.auth
        .approve_device_code(&code, "ops@contoso.com")
        .unwrap();
    let t = std::time::Instant::now();
    let s = run.await.unwrap().unwrap();
    assert_eq!(s.account, "ops@contoso.com");
    // The next poll came only after the longer interval.
    assert!(t.elapsed() >= Duration::from_secs(4), "{:?}", t.elapsed());
}

#[tokio::test]
async fn browser_pkce_signs_in_and_one_sign_in_serves_both_services() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "admin@contoso.com");
    let b = TestBrowser::new(h.clone(), UserAction::SignIn("admin@contoso.com".into()));
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::Browser);
    opts.browser = b.clone();
    let s = c.sign_in(&p, opts).await.expect("signed in");
    assert_eq!(s.account, "admin@contoso.com");
    assert_eq!(s.tenant_id, tenant_id(&h, "contoso.com"));
    let delivered = b.delivered.lock().unwrap().clone().unwrap();
    assert!(delivered.starts_with("http://localhost:"), "{delivered}");
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    assert!(seen.iter().any(|e| matches!(e, SignInEvent::BrowserOpened { url } if url.contains("code_challenge_method=S256"))), "{seen:?}");
    // The SCC token comes from the same sign-in, no prompt.
    let scc = c.provider(&p, None, Some(&h.urls().scc)).unwrap();
    let t = scc.token(false).await.expect("SCC token without a prompt");
    assert_eq!(jwt_payload(&t.secret)["aud"], h.urls().scc.as_str());
    assert_eq!(t.account.as_deref(), Some("admin@contoso.com"));
}

#[tokio::test]
async fn browser_without_a_browser_reports_the_url_to_copy() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "ops@contoso.com");
    let b = Arc::new(TestBrowser {
        can_open: false,
        ..Arc::try_unwrap(TestBrowser::new(
            h.clone(),
            UserAction::SignIn("ops@contoso.com".into()),
        ))
        .ok()
        .unwrap()
    });
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::Browser);
    opts.browser = b.clone();
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let url = loop {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap()
        {
            SignInEvent::OpenBrowserFailed { url } => break url,
            SignInEvent::BrowserOpened { .. } => panic!("no browser can open here"),
            _ => {}
        }
    };
    // The user pastes the URL into a browser by hand.
    let page = b.drive(&url).await.unwrap();
    assert!(page.contains("close this window"), "{page}");
    assert_eq!(run.await.unwrap().unwrap().account, "ops@contoso.com");
}

fn tampering_browser(h: &Arc<exo_connect::sim::SimHandle>, tamper: Tamper) -> Arc<TestBrowser> {
    Arc::new(TestBrowser {
        tamper,
        ..Arc::try_unwrap(TestBrowser::new(
            h.clone(),
            UserAction::SignIn("ops@contoso.com".into()),
        ))
        .ok()
        .unwrap()
    })
}

#[tokio::test]
async fn browser_wrong_state_is_refused_without_a_token_request() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "ops@contoso.com");
    let (mut opts, _rx) = opts_with_events();
    opts.method = Some(SignInMethod::Browser);
    opts.browser = tampering_browser(&h, Tamper::WrongState);
    opts.timeout = Duration::from_secs(3);
    // The forged answer does not end the wait: only the real redirect could, and none comes.
    let e = c.sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::TimedOut(_)), "{e:?}");
    // The code was never redeemed.
    assert_eq!(h.auth.authorization_codes_outstanding(), 1);
}

#[tokio::test]
async fn a_forged_state_gets_400_and_the_listener_waits_for_the_real_redirect() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "ops@contoso.com");
    let b = tampering_browser(&h, Tamper::WrongStateThenReal);
    let (mut opts, _rx) = opts_with_events();
    opts.method = Some(SignInMethod::Browser);
    opts.browser = b.clone();
    let s = c.sign_in(&p, opts).await.unwrap();
    assert_eq!(s.account, "ops@contoso.com");
    let (status, page) = b
        .forged_answer
        .lock()
        .unwrap()
        .clone()
        .expect("forged sent");
    assert_eq!(status, 400, "{page}");
    assert!(!page.contains("Sign-in complete"), "{page}");
    assert_eq!(h.auth.authorization_codes_outstanding(), 0);
}

#[tokio::test]
async fn browser_declined_in_the_page() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "ops@contoso.com");
    let b = TestBrowser::new(h.clone(), UserAction::Decline);
    let (mut opts, _rx) = opts_with_events();
    opts.method = Some(SignInMethod::Browser);
    opts.browser = b;
    let e = c.sign_in(&p, opts).await.unwrap_err();
    assert!(
        matches!(e, SignInError::Declined | SignInError::Entra(_)),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_authorization_code_is_single_use() {
    let h = start_sim(|_| {}).await;
    let http = exo_connect::engine::auth::transport::OAuthHttp::new(
        build_client(&HttpOptions::default()).unwrap(),
    );
    let scope = exo_connect::engine::auth::delegated_scope(&h.urls().exo);
    let prep = browser::prepare(&h.urls().authority(), &scope, None)
        .await
        .unwrap();
    let expected = prep.state.secret().clone();
    let listener_task =
        tokio::spawn(async move { browser::receive_redirect(prep.listener, &expected).await });
    let b = TestBrowser::new(h.clone(), UserAction::SignIn("ops@contoso.com".into()));
    b.drive(&prep.url).await.unwrap();
    let r = listener_task.await.unwrap().unwrap();
    let code = browser::check_redirect(&r, &prep.state).unwrap();
    let client = browser::entra_client(&h.urls().authority(), &prep.redirect_uri).unwrap();
    let secret = prep.verifier.secret().clone();
    browser::redeem_code(
        &http,
        &client,
        &code,
        oauth2::PkceCodeVerifier::new(secret.clone()),
    )
    .await
    .expect("first redemption");
    let e = browser::redeem_code(&http, &client, &code, oauth2::PkceCodeVerifier::new(secret))
        .await
        .unwrap_err();
    let SignInError::Entra(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(e.error, "invalid_grant");
}

#[tokio::test]
async fn password_without_mfa_signs_in_directly() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let (mut opts, mut rx) = opts_with_events();
    opts.password = Some(password_of("ops@contoso.com"));
    let s = c.sign_in(&p, opts).await.unwrap();
    assert_eq!(s.account, "ops@contoso.com");
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            SignInEvent::MfaRequired { .. } | SignInEvent::CodeIssued { .. }
        )),
        "{seen:?}"
    );

    // A wrong password is explained, not retried.
    let (mut opts, _rx) = opts_with_events();
    opts.password = Some("wrong".into());
    let e = c.sign_in(&p, opts).await.unwrap_err();
    let SignInError::Entra(ee) = &e else {
        panic!("{e:?}")
    };
    assert!(ee.codes().contains(&50126), "{ee:?}");
    assert!(e.to_string().contains("password is wrong"), "{e}");
}

#[tokio::test]
async fn password_of_an_mfa_account_continues_with_the_device_code() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let mut p = profile(&h, "admin@contoso.com");
    p.auth = AuthMethod::Password;
    let (mut opts, mut rx) = opts_with_events();
    opts.password = Some(password_of("admin@contoso.com"));
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let mut seen = Vec::new();
    let (code, _) = next_code(&mut rx, &mut seen).await;
    let mfa = seen
        .iter()
        .find_map(|e| match e {
            SignInEvent::MfaRequired { explanation } => Some(explanation.clone()),
            _ => None,
        })
        .expect("MfaRequired before the code");
    assert!(
        mfa.contains("multi-factor") && mfa.contains("device-code"),
        "{mfa}"
    );
    complete_device_login(&h, &code, &UserAction::SignIn("admin@contoso.com".into())).await;
    let s = run
        .await
        .unwrap()
        .expect("signed in through the device code");
    assert_eq!(s.account, "admin@contoso.com");
}

#[tokio::test]
async fn upn_mismatch_is_reported_and_the_caller_may_continue() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let p = profile(&h, "admin@contoso.com");
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let mut seen = Vec::new();
    let (code, _) = next_code(&mut rx, &mut seen).await;
    complete_device_login(&h, &code, &UserAction::SignIn("ops@contoso.com".into())).await;
    let s = run.await.unwrap().unwrap();
    drain(&mut rx, &mut seen);
    assert_eq!(s.account, "ops@contoso.com");
    assert_eq!(
        s.upn_mismatch,
        Some((
            "admin@contoso.com".to_string(),
            "ops@contoso.com".to_string()
        ))
    );
    assert!(seen.contains(&SignInEvent::UpnMismatch {
        expected: "admin@contoso.com".into(),
        actual: "ops@contoso.com".into()
    }));
    // Continuing: the provider for the account that really signed in works.
    let prov = c.provider(&p, Some(&s.account), None).unwrap();
    assert!(prov.token(true).await.is_ok());
}

#[tokio::test]
async fn delegated_partner_access_gets_a_customer_tenant_token() {
    let h = start_sim(|_| {}).await;
    let c = cache();
    let mut p = profile(&h, "partner@adatum.com");
    p.delegated_organization = Some("tailspin.onmicrosoft.com".into());
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let (code, _) = next_code(&mut rx, &mut Vec::new()).await;
    complete_device_login(&h, &code, &UserAction::SignIn("partner@adatum.com".into())).await;
    let s = run.await.unwrap().unwrap();
    assert_eq!(s.tenant_id, tenant_id(&h, "tailspin.onmicrosoft.com"));
    assert!(
        s.authority.ends_with("/tailspin.onmicrosoft.com"),
        "{}",
        s.authority
    );
}

#[tokio::test]
async fn certificate_app_only_signs_in_with_a_client_assertion() {
    let h = start_sim(|_| {}).await;
    let app = h
        .app(exo_connect::sim::auth::certs::AUTOMATION_APP)
        .expect("seeded app")
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.pem");
    std::fs::write(
        &path,
        format!("{}{}", app.private_key_pem, app.certificate_pem),
    )
    .unwrap();
    let mut p = profile(&h, "");
    p.auth = AuthMethod::Certificate {
        app_id: app.app_id.to_string(),
        certificate_path: Some(path.to_string_lossy().into_owned()),
        thumbprint: None,
        organization: "contoso.onmicrosoft.com".into(),
    };
    let c = cache();
    let s = c
        .sign_in(&p, SignInOptions::default())
        .await
        .expect("app-only sign-in");
    assert_eq!(s.account, app.app_id.to_string());
    assert_eq!(s.tenant_id, tenant_id(&h, "contoso.com"));
    assert!(s.access.account.is_none());
    let claims = jwt_payload(&s.access.secret);
    assert!(
        claims["roles"].to_string().contains("Exchange.ManageAsApp"),
        "{claims}"
    );
    // The provider re-requests with the certificate when forced (no refresh token for apps).
    // (Sim tokens of the same second are identical: let the clock move.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let prov = c.provider(&p, None, None).unwrap();
    let t = prov.token(true).await.unwrap();
    assert!(t.secret != s.access.secret, "a new app-only token");
    assert!(
        prov.token(false).await.unwrap().secret == t.secret,
        "then cached"
    );

    // A certificate the app does not know is refused with an explanation.
    let other = h
        .app(exo_connect::sim::auth::certs::NO_ROLE_APP)
        .unwrap()
        .clone();
    std::fs::write(
        &path,
        format!("{}{}", other.private_key_pem, other.certificate_pem),
    )
    .unwrap();
    let e = cache()
        .sign_in(&p, SignInOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, SignInError::Entra(_)), "{e:?}");
}

#[tokio::test]
async fn access_tokens_refresh_ahead_of_expiry_and_after_a_401() {
    // Tokens live 60 s: inside the 5-minute margin, so every request refreshes.
    let h = start_sim(|c| c.token_lifetime = Duration::from_secs(60)).await;
    let c = cache();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let opts = SignInOptions {
        password: Some(password_of("ops@contoso.com")),
        ..Default::default()
    };
    c.sign_in(&p, opts).await.unwrap();
    let prov = c.provider(&p, None, None).unwrap();
    let issued = h.auth.refresh_tokens_issued();
    let t1 = prov.token(false).await.unwrap();
    assert!(
        h.auth.refresh_tokens_issued() > issued,
        "refreshed ahead of expiry"
    );
    assert!(t1.expires_at > chrono::Utc::now());

    // Long-lived tokens are served from memory until a 401 forces a refresh.
    let h = start_sim(|_| {}).await;
    let c = cache();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let opts = SignInOptions {
        password: Some(password_of("ops@contoso.com")),
        ..Default::default()
    };
    let s = c.sign_in(&p, opts).await.unwrap();
    let prov = c.provider(&p, None, None).unwrap();
    let issued = h.auth.refresh_tokens_issued();
    assert!(
        prov.token(false).await.unwrap().secret == s.access.secret,
        "served from memory"
    );
    assert_eq!(
        h.auth.refresh_tokens_issued(),
        issued,
        "no refresh while the token is fresh"
    );
    let forced = prov.token(true).await.unwrap();
    assert!(
        h.auth.refresh_tokens_issued() > issued,
        "the refresh token was redeemed after a 401"
    );
    let issued = h.auth.refresh_tokens_issued();
    assert!(prov.token(false).await.unwrap().secret == forced.secret);
    assert_eq!(h.auth.refresh_tokens_issued(), issued);
}

#[tokio::test]
async fn refresh_tokens_survive_a_restart_in_the_keychain_and_logout_forgets_them() {
    let h = start_sim(|_| {}).await;
    let mock = keyring_core::mock::Store::new().unwrap();
    let client = build_client(&HttpOptions::default()).unwrap();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let first = TokenCache::new(client.clone(), SecretStore::with_store(mock.clone()));
    first
        .sign_in(
            &p,
            SignInOptions {
                password: Some(password_of("ops@contoso.com")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // "Restart": a new cache, nothing in memory, the same keychain.
    let second = TokenCache::new(client.clone(), SecretStore::with_store(mock.clone()));
    let s = second
        .sign_in_silent(&p, None)
        .await
        .expect("silent sign-in from the keychain");
    assert_eq!(s.account, "ops@contoso.com");
    assert_eq!(second.secrets().keys("rt|").await.len(), 1);
    assert!(second.forget(&p).await.unwrap());
    let third = TokenCache::new(client, SecretStore::with_store(mock));
    let e = third.sign_in_silent(&p, None).await.unwrap_err();
    assert!(matches!(e, SignInError::NeedsInteractive(_)), "{e:?}");
    let prov = third.provider(&p, None, None).unwrap();
    let u = prov.token(false).await.unwrap_err();
    assert!(u.needs_interactive);
}

#[tokio::test]
async fn a_revoked_refresh_token_asks_for_an_interactive_sign_in() {
    let h = start_sim(|_| {}).await;
    let secrets = SecretStore::memory();
    let c = TokenCache::new(
        build_client(&HttpOptions::default()).unwrap(),
        secrets.clone(),
    );
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let s = c
        .sign_in(
            &p,
            SignInOptions {
                password: Some(password_of("ops@contoso.com")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Replace the cached refresh token by one the service never issued.
    let key = exo_connect::engine::secrets::refresh_key(&s.authority, &s.account);
    secrets.set(&key, "not-a-refresh-token").await;
    let prov = c.provider(&p, None, None).unwrap();
    let e = prov.token(true).await.unwrap_err();
    assert!(e.needs_interactive, "{e:?}");
    assert!(
        e.message.to_lowercase().contains("sign in again"),
        "{}",
        e.message
    );
    assert!(
        secrets.get(&key).await.is_none(),
        "the dead token is forgotten"
    );
}

fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let s = pem.find(&begin).unwrap() + begin.len();
    let e = pem.find(&end).unwrap();
    let b64: String = pem[s..e].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[tokio::test]
async fn certificate_app_only_from_a_pfx_with_its_password_in_the_keychain() {
    let h = start_sim(|_| {}).await;
    let app = h
        .app(exo_connect::sim::auth::certs::AUTOMATION_APP)
        .unwrap()
        .clone();
    // Build a PFX of the app's key and certificate (password-protected).
    let mut ks = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        "app",
        p12_keystore::PrivateKey::from_der(&pem_der(&app.private_key_pem, "PRIVATE KEY")).unwrap(),
        [
            p12_keystore::Certificate::from_der(&pem_der(&app.certificate_pem, "CERTIFICATE"))
                .unwrap(),
        ],
    );
    ks.add_entry("app", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    let pfx = ks.writer("pfx-pass").write().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.pfx");
    std::fs::write(&path, pfx).unwrap();
    let path_s = path.to_string_lossy().into_owned();
    let mut p = profile(&h, "");
    p.auth = AuthMethod::Certificate {
        app_id: app.app_id.to_string(),
        certificate_path: Some(path_s.clone()),
        thumbprint: None,
        organization: "contoso.onmicrosoft.com".into(),
    };
    let mock = keyring_core::mock::Store::new().unwrap();
    let client = build_client(&HttpOptions::default()).unwrap();
    // Without the password in the keychain the PFX cannot be opened: a clear error.
    let c = TokenCache::new(client.clone(), SecretStore::with_store(mock.clone()));
    let e = c.sign_in(&p, SignInOptions::default()).await.unwrap_err();
    assert!(matches!(e, SignInError::Config(_)), "{e:?}");
    assert!(e.to_string().contains("PFX"), "{e}");
    // With it, app-only sign-in works.
    c.secrets()
        .set(
            &exo_connect::engine::secrets::cert_password_key(&path_s),
            "pfx-pass",
        )
        .await;
    let s = c
        .sign_in(&p, SignInOptions::default())
        .await
        .expect("PFX sign-in");
    assert_eq!(s.tenant_id, tenant_id(&h, "contoso.com"));
    assert!(
        jwt_payload(&s.access.secret)["roles"]
            .to_string()
            .contains("Exchange.ManageAsApp")
    );
}

#[tokio::test]
async fn mfa_in_21vianet_is_explained_instead_of_falling_back() {
    let h = start_sim(|_| {}).await;
    let mut p = profile(&h, "admin@contoso.com");
    p.cloud = exo_connect::model::Cloud::O365China;
    p.auth = AuthMethod::Password;
    let (mut opts, mut rx) = opts_with_events();
    opts.password = Some(password_of("admin@contoso.com"));
    let e = cache().sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::ChinaMfa), "{e:?}");
    assert!(e.to_string().contains("21Vianet"), "{e}");
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, SignInEvent::CodeIssued { .. })),
        "{seen:?}"
    );
}

#[tokio::test]
async fn every_wait_has_a_timeout() {
    let h = start_sim(|_| {}).await;
    let p = profile(&h, "ops@contoso.com");
    // Device code: nobody enters the code, the flow's own timeout ends it.
    let (mut opts, _rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    opts.timeout = Duration::from_secs(2);
    let t = std::time::Instant::now();
    let e = cache().sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::TimedOut(_)), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Browser: nobody comes back to the listener.
    let b = Arc::new(TestBrowser {
        can_open: false,
        ..Arc::try_unwrap(TestBrowser::new(h.clone(), UserAction::Decline))
            .ok()
            .unwrap()
    });
    let (mut opts, _rx) = opts_with_events();
    opts.method = Some(SignInMethod::Browser);
    opts.browser = b;
    opts.timeout = Duration::from_secs(1);
    let e = cache().sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::TimedOut(_)), "{e:?}");
}

#[tokio::test]
async fn a_cancelled_sign_in_stops_before_any_request() {
    let h = start_sim(|_| {}).await;
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let (mut opts, mut rx) = opts_with_events();
    opts.password = Some(password_of("ops@contoso.com"));
    opts.cancel.cancel();
    let issued = h.auth.refresh_tokens_issued();
    let e = cache().sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::Cancelled), "{e:?}");
    assert_eq!(
        h.auth.refresh_tokens_issued(),
        issued,
        "no token was issued"
    );
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    assert!(
        matches!(seen.last(), Some(SignInEvent::Failed { explanation }) if explanation.contains("cancelled")),
        "{seen:?}"
    );
}

/// A hostile sign-in service on loopback: its device code names a foreign verification page and
/// its message carries terminal escape sequences; polling stays pending.
async fn hostile_device_code_authority(verification_uri: &'static str) -> String {
    let app = axum::Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            axum::routing::post(move || async move {
                axum::Json(serde_json::json!({
                    "device_code": "dc", "user_code": "EVIL-CODE",
                    "verification_uri": verification_uri,
                    "expires_in": 900, "interval": 1,
                    "message": "\u{1b}]0;pwned\u{7}\u{1b}[2JTo sign in, open the page"
                }))
            }),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            axum::routing::post(|| async {
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    axum::Json(serde_json::json!({"error": "authorization_pending"})),
                )
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://127.0.0.1:{port}/organizations")
}

async fn issued_code(authority: &str) -> SignInEvent {
    let http = exo_connect::engine::auth::transport::OAuthHttp::new(
        build_client(&HttpOptions::default()).unwrap(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = exo_connect::engine::auth::flows::FlowCtx {
        http,
        events: exo_connect::engine::auth::Events(Some(tx)),
        cancel: CancellationToken::new(),
        timeout: Duration::from_secs(3),
        claims: None,
    };
    let a = authority.to_string();
    let flow =
        tokio::spawn(
            async move { exo_connect::engine::auth::flows::device_code(&ctx, &a, "s").await },
        );
    let e = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    flow.abort();
    e
}

#[tokio::test]
async fn a_foreign_verification_page_comes_with_a_warning() {
    let authority = hostile_device_code_authority("https://evil.example.net/devicelogin").await;
    let SignInEvent::CodeIssued {
        verification_warning,
        ..
    } = issued_code(&authority).await
    else {
        panic!("a code first")
    };
    let w = verification_warning.expect("a warning for a foreign page");
    assert!(
        w.contains("evil.example.net") && w.contains("does not open it"),
        "{w}"
    );
    // Microsoft's own page and the authority's own host need no warning.
    for ok in [
        "https://microsoft.com/devicelogin",
        "http://127.0.0.1/devicelogin",
    ] {
        let authority = hostile_device_code_authority(ok).await;
        let SignInEvent::CodeIssued {
            verification_warning,
            ..
        } = issued_code(&authority).await
        else {
            panic!("a code first")
        };
        assert_eq!(verification_warning, None, "{ok}");
    }
}

/// Signs `p` in with its password over a cache on `secrets`.
async fn password_sign_in(
    c: &TokenCache,
    p: &exo_connect::model::Profile,
) -> exo_connect::engine::auth::SignedIn {
    c.sign_in(
        p,
        SignInOptions {
            password: Some(password_of(&p.upn)),
            timeout: Duration::from_secs(20),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Makes the mock keychain fail the next operation on `key`.
fn fail_next(mock: &Arc<keyring_core::mock::Store>, key: &str) {
    use keyring_core::api::CredentialStoreApi;
    let e = mock
        .build(exo_connect::engine::secrets::SERVICE, key, None)
        .unwrap();
    let cred: &keyring_core::mock::Cred = e.as_any().downcast_ref().unwrap();
    cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
}

#[tokio::test]
async fn logout_after_a_keychain_error_still_deletes_in_the_keychain() {
    let h = start_sim(|_| {}).await;
    let mock = keyring_core::mock::Store::new().unwrap();
    let client = build_client(&HttpOptions::default()).unwrap();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let c = TokenCache::new(client, SecretStore::with_store(mock.clone()));
    password_sign_in(&c, &p).await;
    // One keychain error in this process (an unrelated entry).
    fail_next(&mock, "proxy|x");
    c.secrets().set("proxy|x", "v").await;
    assert!(c.secrets().is_memory_only(), "degraded after the error");
    c.forget(&p).await.unwrap();
    // The keychain itself no longer has the refresh token (another process sees none).
    let fresh = SecretStore::with_store(mock.clone());
    assert_eq!(fresh.keys("rt|").await, Vec::<String>::new());
}

#[tokio::test]
async fn logout_reports_a_keychain_that_refuses_to_delete() {
    let h = start_sim(|_| {}).await;
    let mock = keyring_core::mock::Store::new().unwrap();
    let client = build_client(&HttpOptions::default()).unwrap();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let c = TokenCache::new(client, SecretStore::with_store(mock.clone()));
    password_sign_in(&c, &p).await;
    let key = c.secrets().keys("rt|").await.pop().unwrap();
    fail_next(&mock, &key);
    assert!(c.forget(&p).await.is_err(), "a refused delete is a failure");
}

#[tokio::test]
async fn logout_all_empties_every_keychain_entry_of_ours() {
    let h = start_sim(|_| {}).await;
    let mock = keyring_core::mock::Store::new().unwrap();
    let client = build_client(&HttpOptions::default()).unwrap();
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let secrets = SecretStore::with_store(mock.clone());
    let c = TokenCache::new(client, secrets.clone());
    password_sign_in(&c, &p).await;
    secrets
        .set(
            &exo_connect::engine::secrets::proxy_password_key(&p.id),
            "proxy-pw",
        )
        .await;
    secrets
        .set(
            &exo_connect::engine::secrets::cert_password_key("/tmp/app.pfx"),
            "pfx-pw",
        )
        .await;
    assert!(c.forget_all(&[p.clone()]).await.is_complete());
    let fresh = SecretStore::with_store(mock.clone());
    assert_eq!(fresh.keys("").await, Vec::<String>::new());
    for key in [
        exo_connect::engine::secrets::proxy_password_key(&p.id),
        exo_connect::engine::secrets::cert_password_key("/tmp/app.pfx"),
        exo_connect::engine::secrets::INDEX_KEY.to_string(),
    ] {
        assert_eq!(fresh.get(&key).await, None, "{key} is left behind");
    }
}

/// Signs `p` (UPN admin@contoso.com) in through the device code as ops@contoso.com (single sign-on
/// picked another account).
async fn mismatched_sign_in(
    h: &Arc<exo_connect::sim::SimHandle>,
    c: &Arc<TokenCache>,
    p: &exo_connect::model::Profile,
) {
    let (mut opts, mut rx) = opts_with_events();
    opts.method = Some(SignInMethod::DeviceCode);
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let (code, _) = next_code(&mut rx, &mut Vec::new()).await;
    complete_device_login(h, &code, &UserAction::SignIn("ops@contoso.com".into())).await;
    assert_eq!(run.await.unwrap().unwrap().account, "ops@contoso.com");
}

#[tokio::test]
async fn logout_of_a_profile_removes_everything_it_owns_and_says_what() {
    use exo_connect::engine::secrets::{cert_password_key, proxy_password_key};
    let h = start_sim(|_| {}).await;
    let mock = keyring_core::mock::Store::new().unwrap();
    let secrets = SecretStore::with_store(mock.clone());
    let c = TokenCache::new(
        build_client(&HttpOptions::default()).unwrap(),
        secrets.clone(),
    );
    let p = profile(&h, "admin@contoso.com");
    mismatched_sign_in(&h, &c, &p).await;
    secrets
        .set_owned(&proxy_password_key(&p.id), "proxy-pw", Some(p.id))
        .await;
    secrets
        .set_owned(&cert_password_key("/k/app.pfx"), "pfx-pw", Some(p.id))
        .await;
    // Another profile's entries stay.
    let other = uuid::Uuid::new_v4();
    secrets
        .set_owned(&proxy_password_key(&other), "other-pw", Some(other))
        .await;
    let done = c.forget_profile(&p, &[], false).await;
    assert!(done.is_complete(), "{done:?}");
    let text = done.removed.join("\n");
    assert!(text.contains("the sign-in of ops@contoso.com"), "{text}");
    assert!(text.contains("the proxy password"), "{text}");
    assert!(
        text.contains("the certificate password of /k/app.pfx"),
        "{text}"
    );
    let fresh = SecretStore::with_store(mock);
    assert_eq!(fresh.keys("").await, vec![proxy_password_key(&other)]);
    assert_eq!(fresh.get(&proxy_password_key(&p.id)).await, None);
}

#[tokio::test]
async fn removing_a_profile_keeps_what_another_profile_still_uses() {
    let h = start_sim(|_| {}).await;
    let mock = keyring_core::mock::Store::new().unwrap();
    let c = TokenCache::new(
        build_client(&HttpOptions::default()).unwrap(),
        SecretStore::with_store(mock.clone()),
    );
    let mut exo = profile(&h, "ops@contoso.com");
    exo.name = "contoso-exo".into();
    exo.auth = AuthMethod::Password;
    let mut scc = exo.clone();
    scc.id = uuid::Uuid::new_v4();
    scc.name = "contoso-scc".into();
    password_sign_in(&c, &exo).await;
    let done = c
        .forget_profile(&exo, &[exo.clone(), scc.clone()], true)
        .await;
    assert!(done.removed.is_empty(), "{done:?}");
    assert_eq!(done.kept.len(), 1, "{done:?}");
    assert!(done.kept[0].contains("'contoso-scc'"), "{done:?}");
    // The sign-in still serves contoso-scc; the index no longer names contoso-exo.
    let fresh = TokenCache::new(
        build_client(&HttpOptions::default()).unwrap(),
        SecretStore::with_store(mock.clone()),
    );
    fresh.sign_in_silent(&scc, None).await.unwrap();
    assert!(fresh.secrets().owned_by(exo.id).await.unwrap().is_empty());
    // A logout of contoso-scc removes it, saying who else used it.
    let done = fresh.forget_profile(&scc, &[exo.clone()], false).await;
    assert_eq!(done.removed.len(), 1, "{done:?}");
    assert!(
        done.removed[0].contains("also used by 'contoso-exo'"),
        "{done:?}"
    );
}
