//! The sim's sign-in side, driven over loopback HTTP with a plain reqwest client (no exo-connect
//! client code): device code + the /devicelogin pages, PKCE, password, refresh, client
//! credentials, discovery, errors, and the `exo-connect sim` binary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use base64::Engine;
use exo_connect::sim::auth::totp;
use exo_connect::sim::{SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(super) const CLIENT: &str = "fb78d390-0c51-40cd-8e17-fdbfab77341b";
pub(super) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(super) async fn sim_with(f: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut c = SimConfig {
        mailboxes: 10,
        device_code_interval: Duration::ZERO,
        ..SimConfig::default()
    };
    f(&mut c);
    exo_connect::sim::start(c).await.expect("sim starts")
}

async fn sim() -> SimHandle {
    sim_with(|_| {}).await
}

pub(super) fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(super) fn token_url(h: &SimHandle, tenant: &str) -> String {
    format!("{}/{tenant}/oauth2/v2.0/token", h.urls().login)
}

pub(super) fn exo_scope(h: &SimHandle) -> String {
    format!("{}/.default offline_access openid profile", h.urls().exo)
}

pub(super) async fn post(
    c: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = c.post(url).form(form).send().await.expect("request");
    let status = r.status();
    (status, r.json().await.expect("json body"))
}

pub(super) async fn post_page(
    c: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = c.post(url).form(form).send().await.expect("request");
    (r.status(), r.text().await.expect("text"))
}

/// Asserts the Entra error shape and returns the AADSTS code.
pub(super) fn entra_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"][0], code, "{body}");
    let desc = body["error_description"].as_str().unwrap();
    assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{desc}");
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
    }
}

pub(super) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

/// The value of a hidden (or any) input by name.
pub(super) fn input_value(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

pub(super) fn tenant_id(h: &SimHandle, domain: &str) -> String {
    h.world().tenant(domain).unwrap().id.to_string()
}

/// A code that is none of the accepted (current, previous, next) codes.
fn wrong_totp(h: &SimHandle, upn: &str) -> String {
    let secret = &h.world().user(upn).unwrap().totp_secret;
    let now = totp::now_unix();
    let valid: Vec<String> = [now - 60, now - 30, now, now + 30, now + 60]
        .iter()
        .map(|t| totp::totp(secret, *t).unwrap())
        .collect();
    (0..)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !valid.contains(c))
        .unwrap()
}

pub(super) async fn device_code(c: &reqwest::Client, h: &SimHandle, tenant: &str) -> Value {
    let (s, body) = post(
        c,
        &format!("{}/{tenant}/oauth2/v2.0/devicecode", h.urls().login),
        &[("client_id", CLIENT), ("scope", &exo_scope(h))],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

pub(super) async fn poll(
    c: &reqwest::Client,
    h: &SimHandle,
    tenant: &str,
    dc: &Value,
) -> (StatusCode, Value) {
    post(
        c,
        &token_url(h, tenant),
        &[
            ("client_id", CLIENT),
            ("grant_type", DEVICE_GRANT),
            ("device_code", dc["device_code"].as_str().unwrap()),
        ],
    )
    .await
}

/// Plays the browser through /devicelogin: code → account → password → (MFA) code.
pub(super) async fn complete_page(
    c: &reqwest::Client,
    h: &SimHandle,
    user_code: &str,
    upn: &str,
) -> String {
    let login = &h.urls().login;
    let (_, html) = post_page(c, &format!("{login}/devicelogin"), &[("otc", user_code)]).await;
    let flow = input_value(&html, "flow");
    let (_, html) = post_page(
        c,
        &format!("{login}/login"),
        &[("flow", &flow), ("login", upn), ("action", "next")],
    )
    .await;
    assert!(html.contains("id=\"passwd\""), "{html}");
    let pw = h.world().user(upn).unwrap().password.clone();
    let (_, mut html) = post_page(
        c,
        &format!("{login}/login"),
        &[("flow", &flow), ("passwd", &pw)],
    )
    .await;
    if h.world().user(upn).unwrap().mfa {
        assert!(html.contains("<label for=\"otc\">"), "{html}");
        let code = h.current_totp(upn).unwrap();
        html = post_page(
            c,
            &format!("{login}/login"),
            &[("flow", &flow), ("otc", &code)],
        )
        .await
        .1;
    }
    html
}

#[tokio::test]
async fn device_code_completed_through_the_page_forms_gives_tokens() {
    let h = sim_with(|c| c.token_lifetime = Duration::from_secs(120)).await;
    let c = client();
    let login = h.urls().login.clone();
    let dc = device_code(&c, &h, "organizations").await;
    let user_code = dc["user_code"].as_str().unwrap().to_string();
    assert_eq!(dc["verification_uri"], format!("{login}/devicelogin"));
    assert_eq!(dc["expires_in"], 900);
    assert_eq!(dc["interval"], 0);
    let msg = dc["message"].as_str().unwrap();
    assert!(
        msg.contains(&user_code) && msg.contains(&format!("{login}/devicelogin")),
        "{msg}"
    );
    assert_eq!(h.auth.pending_device_codes(), 1);

    let (s, body) = poll(&c, &h, "organizations", &dc).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    entra_error(&body, "authorization_pending", 70016);

    // The page: a labelled code field; the code is accepted in lower case without the hyphen.
    let page = c.get(format!("{login}/devicelogin")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("<label for=\"code\">") && page.contains("id=\"code\""));
    assert!(!page.contains("<script"));
    let sloppy = user_code.replace('-', "").to_lowercase();
    let (_, html) = post_page(&c, &format!("{login}/devicelogin"), &[("otc", &sloppy)]).await;
    let flow = input_value(&html, "flow");
    assert!(html.contains("<label for=\"login\">"));
    let upn = "admin@contoso.com";
    let step = |form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = format!("{login}/login");
        async move {
            c.post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = step(vec![("flow", flow.clone()), ("login", upn.into())]).await;
    assert!(html.contains("<label for=\"passwd\">"), "{html}");
    let html = step(vec![("flow", flow.clone()), ("passwd", "wrong".into())]).await;
    assert!(
        html.contains("id=\"error\"") && html.contains("AADSTS50126"),
        "{html}"
    );
    let html = step(vec![
        ("flow", flow.clone()),
        ("passwd", "admin-Demo-2026!".into()),
    ])
    .await;
    assert!(html.contains("<label for=\"otc\">"), "{html}");
    assert!(
        !html.contains("admin-Demo-2026!"),
        "the password never comes back"
    );
    let html = step(vec![("flow", flow.clone()), ("otc", wrong_totp(&h, upn))]).await;
    assert!(
        html.contains("id=\"error\"") && html.contains("wrong or has expired"),
        "{html}"
    );
    let (s, body) = poll(&c, &h, "organizations", &dc).await;
    entra_error(&body, "authorization_pending", 70016);
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let html = step(vec![
        ("flow", flow.clone()),
        ("otc", h.current_totp(upn).unwrap()),
    ])
    .await;
    assert!(
        html.contains("You have signed in") && html.contains("close this window"),
        "{html}"
    );

    let (s, body) = poll(&c, &h, "organizations", &dc).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["ext_expires_in"], 120);
    assert!(body["scope"].as_str().unwrap().contains(&h.urls().exo));
    assert!(body["refresh_token"].as_str().is_some_and(|r| r.len() > 20));
    let at = body["access_token"].as_str().unwrap();
    let verified = h
        .shared
        .keys
        .verify_access_token(at, &h.urls().exo)
        .unwrap();
    assert_eq!(verified.upn.as_deref(), Some(upn));
    let a = claims(at);
    let contoso = tenant_id(&h, "contoso.com");
    assert_eq!(a["aud"], h.urls().exo.as_str());
    assert_eq!(a["tid"], contoso.as_str());
    assert_eq!(a["iss"], format!("{login}/{contoso}/v2.0"));
    assert_eq!(a["oid"], h.world().user(upn).unwrap().oid.to_string());
    assert_eq!(a["appid"], CLIENT);
    assert!(a["scp"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 120);
    assert_eq!(a["nbf"], a["iat"]);
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["tid"], contoso.as_str());
    assert_eq!(id["preferred_username"], upn);
    assert_eq!(id["name"], "Contoso Admin");
    assert_eq!(h.auth.pending_device_codes(), 0);

    // A device code gives tokens once.
    let (_, body) = poll(&c, &h, "organizations", &dc).await;
    entra_error(&body, "invalid_grant", 54005);
}

#[tokio::test]
async fn device_code_slow_down_expiry_and_unknown_codes() {
    let h = sim_with(|c| {
        c.device_code_interval = Duration::from_secs(1);
        c.device_code_lifetime = Duration::from_millis(1200);
    })
    .await;
    let c = client();
    let dc = device_code(&c, &h, "contoso.onmicrosoft.com").await;
    assert_eq!(dc["interval"], 1);
    assert_eq!(dc["expires_in"], 1);
    let (_, body) = poll(&c, &h, "contoso.onmicrosoft.com", &dc).await;
    entra_error(&body, "authorization_pending", 70016);
    let (_, body) = poll(&c, &h, "contoso.onmicrosoft.com", &dc).await;
    entra_error(&body, "slow_down", 70016);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (s, body) = poll(&c, &h, "contoso.onmicrosoft.com", &dc).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    entra_error(&body, "expired_token", 70020);
    // The page says so too.
    let (_, html) = post_page(
        &c,
        &format!("{}/devicelogin", h.urls().login),
        &[("otc", dc["user_code"].as_str().unwrap())],
    )
    .await;
    assert!(
        html.contains("id=\"error\"") && html.contains("expired"),
        "{html}"
    );
    let (_, body) = post(
        &c,
        &token_url(&h, "organizations"),
        &[
            ("client_id", CLIENT),
            ("grant_type", DEVICE_GRANT),
            ("device_code", "nope"),
        ],
    )
    .await;
    entra_error(&body, "invalid_grant", 70000);
    assert_eq!(h.auth.pending_device_codes(), 0);
}

#[tokio::test]
async fn device_code_declined_on_the_page_and_page_errors() {
    let h = sim().await;
    let c = client();
    let login = h.urls().login.clone();
    // Wrong code.
    let (_, html) = post_page(&c, &format!("{login}/devicelogin"), &[("otc", "ZZZZ-ZZZZ")]).await;
    assert!(
        html.contains("id=\"error\"") && html.contains("Check the code and try again"),
        "{html}"
    );
    // Unknown user, then a user of a tenant that is not this one, then decline.
    let dc = device_code(&c, &h, "tailspin.onmicrosoft.com").await;
    let (_, html) = post_page(
        &c,
        &format!("{login}/devicelogin"),
        &[("otc", dc["user_code"].as_str().unwrap())],
    )
    .await;
    let flow = input_value(&html, "flow");
    let (_, html) = post_page(
        &c,
        &format!("{login}/login"),
        &[("flow", &flow), ("login", "nobody@contoso.com")],
    )
    .await;
    assert!(html.contains("AADSTS50034"), "{html}");
    let (_, html) = post_page(
        &c,
        &format!("{login}/login"),
        &[("flow", &flow), ("login", "ops@contoso.com")],
    )
    .await;
    assert!(html.contains("AADSTS50020"), "{html}");
    let (_, html) = post_page(
        &c,
        &format!("{login}/login"),
        &[("flow", &flow), ("action", "cancel")],
    )
    .await;
    assert!(html.contains("declined"), "{html}");
    let (_, body) = poll(&c, &h, "tailspin.onmicrosoft.com", &dc).await;
    entra_error(&body, "access_denied", 65004);
    // An unknown or finished flow is an error page, not a crash.
    let (s, html) = post_page(&c, &format!("{login}/login"), &[("flow", &flow)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("id=\"error\""), "{html}");
    // Programmatic approval (demos).
    let dc2 = device_code(&c, &h, "organizations").await;
    h.auth
        .approve_device_code(dc2["user_code"].as_str().unwrap(), "ops@contoso.com")
        .unwrap();
    let (s, _) = poll(&c, &h, "organizations", &dc2).await;
    assert_eq!(s, StatusCode::OK);
}

fn pkce() -> (String, String) {
    use sha2::Digest;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-sim-verifier".to_string();
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
    (verifier, challenge)
}

fn authorize_url(h: &SimHandle, redirect: &str, challenge: &str, method: &str) -> String {
    let mut u = url::Url::parse(&format!(
        "{}/organizations/oauth2/v2.0/authorize",
        h.urls().login
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", CLIENT)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", &exo_scope(h))
        .append_pair("state", "st-42")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", method)
        .append_pair("login_hint", "admin@contoso.com");
    u.to_string()
}

fn location_params(r: &reqwest::Response) -> (String, HashMap<String, String>) {
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()[reqwest::header::LOCATION].to_str().unwrap();
    let u = url::Url::parse(loc).unwrap();
    let base = format!("{}://{}{}", u.scheme(), u.host_str().unwrap(), u.path());
    let base = match u.port() {
        Some(p) => base.replacen(
            u.host_str().unwrap(),
            &format!("{}:{p}", u.host_str().unwrap()),
            1,
        ),
        None => base,
    };
    (base, u.query_pairs().into_owned().collect())
}

/// Runs the authorize pages for admin@contoso.com (MFA) and returns the redirect.
async fn authorize_flow(
    c: &reqwest::Client,
    h: &SimHandle,
    redirect: &str,
    challenge: &str,
) -> reqwest::Response {
    let login = &h.urls().login;
    let html = c
        .get(authorize_url(h, redirect, challenge, "S256"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("value=\"admin@contoso.com\""),
        "login_hint pre-fills: {html}"
    );
    let flow = input_value(&html, "flow");
    let url = format!("{login}/login");
    let html = post_page(c, &url, &[("flow", &flow), ("login", "admin@contoso.com")])
        .await
        .1;
    assert!(html.contains("id=\"passwd\""));
    let html = post_page(c, &url, &[("flow", &flow), ("passwd", "admin-Demo-2026!")])
        .await
        .1;
    assert!(html.contains("id=\"otc\""));
    let code = h.current_totp("admin@contoso.com").unwrap();
    c.post(&url)
        .form(&[("flow", flow.as_str()), ("otc", code.as_str())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pkce_round_trip_with_loopback_redirect_and_single_use_codes() {
    let h = sim().await;
    let c = client();
    let (verifier, challenge) = pkce();
    let redirect = "http://localhost:53123/callback";
    let r = authorize_flow(&c, &h, redirect, &challenge).await;
    let (base, q) = location_params(&r);
    assert_eq!(base, redirect);
    assert_eq!(q["state"], "st-42");
    let code = q["code"].clone();
    assert_eq!(h.auth.authorization_codes_outstanding(), 1);
    let redeem = |code: String, verifier: String, redirect: &'static str| {
        let c = c.clone();
        let url = token_url(&h, "organizations");
        async move {
            post(
                &c,
                &url,
                &[
                    ("client_id", CLIENT),
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                    ("scope", "ignored"),
                ],
            )
            .await
        }
    };
    let (s, body) = redeem(code.clone(), verifier.clone(), redirect).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a = claims(body["access_token"].as_str().unwrap());
    assert_eq!(a["upn"], "admin@contoso.com");
    assert_eq!(a["aud"], h.urls().exo.as_str());
    assert!(body["id_token"].is_string() && body["refresh_token"].is_string());
    let (_, body) = redeem(code, verifier.clone(), redirect).await;
    entra_error(&body, "invalid_grant", 54005);

    // Wrong verifier; and a code bound to another redirect URI (127.0.0.1 form).
    let redirect2 = "http://127.0.0.1:40000";
    let r = authorize_flow(&c, &h, redirect2, &challenge).await;
    let (_, q) = location_params(&r);
    let (_, body) = redeem(
        q["code"].clone(),
        "not-the-verifier-at-all-0123456789-abcdefghij".into(),
        redirect2,
    )
    .await;
    entra_error(&body, "invalid_grant", 501481);
    let r = authorize_flow(&c, &h, redirect2, &challenge).await;
    let (_, q) = location_params(&r);
    let (_, body) = redeem(q["code"].clone(), verifier, "http://127.0.0.1:40001").await;
    entra_error(&body, "invalid_grant", 50011);
}

#[tokio::test]
async fn authorize_refuses_plain_pkce_foreign_redirects_and_reports_decline() {
    let h = sim().await;
    let c = client();
    let (_, challenge) = pkce();
    let r = c
        .get(authorize_url(
            &h,
            "http://localhost:5000",
            &challenge,
            "plain",
        ))
        .send()
        .await
        .unwrap();
    let (_, q) = location_params(&r);
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].starts_with("AADSTS501491"), "{q:?}");
    assert_eq!(q["state"], "st-42");
    for bad in [
        "https://evil.example/cb",
        "http://example.com:80/cb",
        "urn:ietf:wg:oauth:2.0:oob",
    ] {
        let r = c
            .get(authorize_url(&h, bad, &challenge, "S256"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.text().await.unwrap().contains("AADSTS50011"), "{bad}");
    }
    // Decline on the page → error=access_denied back to the app.
    let html = c
        .get(authorize_url(
            &h,
            "http://localhost:5000/cb",
            &challenge,
            "S256",
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let flow = input_value(&html, "flow");
    let r = c
        .post(format!("{}/login", h.urls().login))
        .form(&[("flow", flow.as_str()), ("action", "cancel")])
        .send()
        .await
        .unwrap();
    let (base, q) = location_params(&r);
    assert_eq!(base, "http://localhost:5000/cb");
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-42");
}

async fn password(
    c: &reqwest::Client,
    h: &SimHandle,
    tenant: &str,
    user: &str,
    pw: &str,
    scope: &str,
) -> (StatusCode, Value) {
    post(
        c,
        &token_url(h, tenant),
        &[
            ("client_id", CLIENT),
            ("grant_type", "password"),
            ("username", user),
            ("password", pw),
            ("scope", scope),
        ],
    )
    .await
}

#[tokio::test]
async fn password_grant_outcomes() {
    let h = sim().await;
    let c = client();
    let exo_only = format!("{}/.default", h.urls().exo);
    let (s, body) = password(
        &c,
        &h,
        "organizations",
        "ops@contoso.com",
        "ops-Demo-2026!",
        &exo_only,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    assert!(body.get("id_token").is_none());
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["upn"],
        "ops@contoso.com"
    );
    let (s, body) = password(
        &c,
        &h,
        "organizations",
        "admin@contoso.com",
        "admin-Demo-2026!",
        &exo_only,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    entra_error(&body, "invalid_grant", 50076);
    let (_, body) = password(
        &c,
        &h,
        "organizations",
        "ops@contoso.com",
        "nope",
        &exo_only,
    )
    .await;
    entra_error(&body, "invalid_grant", 50126);
    let (_, body) = password(&c, &h, "organizations", "ghost@contoso.com", "x", &exo_only).await;
    entra_error(&body, "invalid_grant", 50034);
}

async fn refresh(
    c: &reqwest::Client,
    h: &SimHandle,
    tenant: &str,
    rt: &str,
    scope: &str,
) -> (StatusCode, Value) {
    post(
        c,
        &token_url(h, tenant),
        &[
            ("client_id", CLIENT),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", scope),
        ],
    )
    .await
}

/// Entra's documented behaviour (the sim's default): each redemption hands out a new refresh
/// token, and the redeemed one keeps working ("doesn't revoke old refresh tokens when used to
/// fetch new access tokens"), so one account's tokens for many tenants can be fetched at once.
/// A revocation ends every one of them.
#[tokio::test]
async fn a_redeemed_refresh_token_keeps_working_as_in_entra_until_revoked() {
    let h = sim().await;
    let c = client();
    let (_, body) = password(
        &c,
        &h,
        "organizations",
        "ops@contoso.com",
        "ops-Demo-2026!",
        &exo_scope(&h),
    )
    .await;
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();
    let scope = exo_scope(&h);
    let (s, body) = refresh(&c, &h, "organizations", &rt1, &scope).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2, "each redemption hands out a new refresh token");
    for rt in [&rt1, &rt2, &rt1] {
        let (s, body) = refresh(&c, &h, "organizations", rt, &scope).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    assert_eq!(h.auth.refresh_tokens_issued(), 5);
    assert!(h.auth.revoke_refresh_tokens("ops@contoso.com") >= 5);
    for rt in [&rt1, &rt2] {
        let (_, body) = refresh(&c, &h, "organizations", rt, &scope).await;
        entra_error(&body, "invalid_grant", 70008);
    }
}

/// A stricter server (`single_use_refresh_tokens`): a redeemed refresh token is gone.
#[tokio::test]
async fn refresh_tokens_rotate_and_cross_to_the_other_resource() {
    let h = sim_with(|c| c.single_use_refresh_tokens = true).await;
    let c = client();
    let (_, body) = password(
        &c,
        &h,
        "organizations",
        "ops@contoso.com",
        "ops-Demo-2026!",
        &exo_scope(&h),
    )
    .await;
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();
    let scc = format!("{}/.default offline_access", h.urls().scc);
    let (s, body) = refresh(&c, &h, "organizations", &rt1, &scc).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a = claims(body["access_token"].as_str().unwrap());
    assert_eq!(a["aud"], h.urls().scc.as_str());
    assert_eq!(a["upn"], "ops@contoso.com");
    assert_eq!(a["tid"], tenant_id(&h, "contoso.com"));
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    let (_, body) = refresh(&c, &h, "organizations", &rt1, &scc).await;
    entra_error(&body, "invalid_grant", 70008);
    // The trailing-slash form of the EXO resource is the same resource.
    let (s, body) = refresh(
        &c,
        &h,
        "organizations",
        &rt2,
        &format!("{}//.default", h.urls().exo),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        h.urls().exo.as_str()
    );
    assert_eq!(h.auth.refresh_tokens_issued(), 3);
    assert_eq!(h.auth.refresh_tokens_outstanding(), 1);
}

#[tokio::test]
async fn partner_signs_in_to_delegated_customers_only() {
    let h = sim().await;
    let c = client();
    let tailspin = tenant_id(&h, "tailspintoys.com");
    let dc = device_code(&c, &h, "tailspin.onmicrosoft.com").await;
    let html = complete_page(
        &c,
        &h,
        dc["user_code"].as_str().unwrap(),
        "partner@adatum.com",
    )
    .await;
    assert!(html.contains("You have signed in"), "{html}");
    let (s, body) = poll(&c, &h, "tailspin.onmicrosoft.com", &dc).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a = claims(body["access_token"].as_str().unwrap());
    assert_eq!(a["tid"], tailspin.as_str());
    assert_eq!(a["upn"], "partner@adatum.com");
    // Its refresh token also works at the other customer (by GUID authority).
    let woodgrove = tenant_id(&h, "woodgrovebank.com");
    let rt = body["refresh_token"].as_str().unwrap();
    let (s, body) = refresh(&c, &h, &woodgrove, rt, &exo_scope(&h)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["tid"],
        woodgrove.as_str()
    );
    // At organizations the partner's own tenant.
    let dc = device_code(&c, &h, "organizations").await;
    complete_page(
        &c,
        &h,
        dc["user_code"].as_str().unwrap(),
        "partner@adatum.com",
    )
    .await;
    let (_, body) = poll(&c, &h, "organizations", &dc).await;
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["tid"],
        tenant_id(&h, "adatum.com")
    );
    // A user of an unrelated tenant is refused.
    let (_, body) = password(
        &c,
        &h,
        "tailspin.onmicrosoft.com",
        "ops@contoso.com",
        "ops-Demo-2026!",
        &exo_scope(&h),
    )
    .await;
    entra_error(&body, "invalid_grant", 50020);
    let (_, body) = password(
        &c,
        &h,
        "fabrikam.gov",
        "admin@northwind.com",
        "admin-Demo-2026!",
        &exo_scope(&h),
    )
    .await;
    entra_error(&body, "invalid_grant", 50020);
}

fn assertion(key_pem: &str, x5t: &str, app_id: &str, aud: &str, exp_in: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.x5t = Some(x5t.to_string());
    let claims = serde_json::json!({
        "aud": aud, "iss": app_id, "sub": app_id, "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now, "iat": now, "exp": now + exp_in,
    });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

async fn app_token(
    c: &reqwest::Client,
    h: &SimHandle,
    tenant: &str,
    jwt: &str,
) -> (StatusCode, Value) {
    let scope = format!("{}/.default", h.urls().exo);
    post(
        c,
        &token_url(h, tenant),
        &[
            ("grant_type", "client_credentials"),
            ("scope", &scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ],
    )
    .await
}

#[tokio::test]
async fn client_credentials_with_a_certificate_assertion() {
    let h = sim().await;
    let c = client();
    let app = h.app("Contoso Exchange Automation").unwrap().clone();
    let other = h
        .app("Contoso Reporting (no Exchange role)")
        .unwrap()
        .clone();
    assert!(
        app.certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        app.private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // x5t is the base64url SHA-1 of the certificate's DER.
    let der: Vec<u8> = base64::engine::general_purpose::STANDARD
        .decode(
            app.certificate_pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    use sha1::Digest;
    assert_eq!(
        app.x5t,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der))
    );
    // The PEMs can be written out for a client that reads files.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.key"), &app.private_key_pem).unwrap();
    let key_pem = std::fs::read_to_string(dir.path().join("app.key")).unwrap();

    let tenant = "contoso.onmicrosoft.com";
    let aud = token_url(&h, tenant);
    let id = app.app_id.to_string();
    let (s, body) = app_token(
        &c,
        &h,
        tenant,
        &assertion(&key_pem, &app.x5t, &id, &aud, 300),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a = claims(body["access_token"].as_str().unwrap());
    assert_eq!(a["roles"], serde_json::json!(["Exchange.ManageAsApp"]));
    assert!(a.get("upn").is_none() && a.get("scp").is_none());
    assert_eq!(a["tid"], tenant_id(&h, "contoso.com"));
    assert_eq!(a["appid"], id.as_str());
    assert!(
        h.shared
            .keys
            .verify_access_token(body["access_token"].as_str().unwrap(), &h.urls().exo)
            .is_ok()
    );

    // Signed by another key than the certificate's.
    let (s, body) = app_token(
        &c,
        &h,
        tenant,
        &assertion(&other.private_key_pem, &app.x5t, &id, &aud, 300),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    entra_error(&body, "invalid_client", 700027);
    // Unknown thumbprint.
    let (_, body) = app_token(
        &c,
        &h,
        tenant,
        &assertion(&key_pem, "AAAAAAAAAAAAAAAAAAAAAAAAAAA", &id, &aud, 300),
    )
    .await;
    entra_error(&body, "invalid_client", 700027);
    // Wrong audience.
    let (_, body) = app_token(
        &c,
        &h,
        tenant,
        &assertion(&key_pem, &app.x5t, &id, "https://login.example/token", 300),
    )
    .await;
    entra_error(&body, "invalid_client", 50013);
    // Expired assertion.
    let (_, body) = app_token(
        &c,
        &h,
        tenant,
        &assertion(&key_pem, &app.x5t, &id, &aud, -10),
    )
    .await;
    entra_error(&body, "invalid_client", 700024);
    // The app without Exchange.ManageAsApp.
    let oid = other.app_id.to_string();
    let (_, body) = app_token(
        &c,
        &h,
        tenant,
        &assertion(&other.private_key_pem, &other.x5t, &oid, &aud, 300),
    )
    .await;
    entra_error(&body, "unauthorized_client", 501051);
    // Multi-tenant authority and another tenant.
    let org_aud = token_url(&h, "organizations");
    let (_, body) = app_token(
        &c,
        &h,
        "organizations",
        &assertion(&key_pem, &app.x5t, &id, &org_aud, 300),
    )
    .await;
    entra_error(&body, "invalid_request", 50059);
    let tw = token_url(&h, "tailspin.onmicrosoft.com");
    let (_, body) = app_token(
        &c,
        &h,
        "tailspin.onmicrosoft.com",
        &assertion(&key_pem, &app.x5t, &id, &tw, 300),
    )
    .await;
    entra_error(&body, "unauthorized_client", 700016);
}

#[tokio::test]
async fn openid_configuration_and_jwks_verify_issued_tokens() {
    let h = sim().await;
    let c = client();
    let login = h.urls().login.clone();
    let contoso = tenant_id(&h, "contoso.com");
    for tenant in ["organizations", "common", "contoso.com", contoso.as_str()] {
        let r = c
            .get(format!(
                "{login}/{tenant}/v2.0/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cfg: Value = r.json().await.unwrap();
        assert_eq!(
            cfg["token_endpoint"],
            format!("{login}/{tenant}/oauth2/v2.0/token")
        );
        assert_eq!(
            cfg["authorization_endpoint"],
            format!("{login}/{tenant}/oauth2/v2.0/authorize")
        );
        assert_eq!(
            cfg["device_authorization_endpoint"],
            format!("{login}/{tenant}/oauth2/v2.0/devicecode")
        );
        assert_eq!(
            cfg["jwks_uri"],
            format!("{login}/{tenant}/discovery/v2.0/keys")
        );
        if tenant.contains('.') || tenant == contoso {
            assert_eq!(cfg["issuer"], format!("{login}/{contoso}/v2.0"));
        }
    }
    let jwks: Value = c
        .get(format!("{login}/organizations/discovery/v2.0/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let k = &jwks["keys"][0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["kid"], h.shared.keys.kid.as_str());
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        k["n"].as_str().unwrap(),
        k["e"].as_str().unwrap(),
    )
    .unwrap();
    let (_, body) = password(
        &c,
        &h,
        "organizations",
        "ops@contoso.com",
        "ops-Demo-2026!",
        &exo_scope(&h),
    )
    .await;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[h.urls().exo.as_str()]);
    let data =
        jsonwebtoken::decode::<Value>(body["access_token"].as_str().unwrap(), &key, &v).unwrap();
    assert_eq!(data.header.kid.as_deref(), Some(h.shared.keys.kid.as_str()));
}

#[tokio::test]
async fn unknown_tenant_client_resource_and_grant_are_refused() {
    let h = sim().await;
    let c = client();
    let login = h.urls().login.clone();
    let dc_url = |t: &str| format!("{login}/{t}/oauth2/v2.0/devicecode");
    let (s, body) = post(
        &c,
        &dc_url("nosuch.example"),
        &[("client_id", CLIENT), ("scope", &exo_scope(&h))],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    entra_error(&body, "invalid_tenant", 90002);
    let r = c
        .get(format!(
            "{login}/nosuch.example/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, body) = post(
        &c,
        &dc_url("organizations"),
        &[
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("scope", &exo_scope(&h)),
        ],
    )
    .await;
    entra_error(&body, "unauthorized_client", 700016);
    let (_, body) = post(
        &c,
        &dc_url("organizations"),
        &[
            ("client_id", CLIENT),
            ("scope", "https://outlook.office365.com/.default"),
        ],
    )
    .await;
    entra_error(&body, "invalid_resource", 500011);
    let (_, body) = post(
        &c,
        &dc_url("organizations"),
        &[("client_id", CLIENT), ("scope", "openid profile")],
    )
    .await;
    entra_error(&body, "invalid_scope", 70011);
    let two = format!("{}/.default {}/.default", h.urls().exo, h.urls().scc);
    let (_, body) = post(
        &c,
        &dc_url("organizations"),
        &[("client_id", CLIENT), ("scope", &two)],
    )
    .await;
    entra_error(&body, "invalid_scope", 28000);
    let (s, _) = post(
        &c,
        &dc_url("common"),
        &[
            ("client_id", CLIENT),
            ("scope", &format!("{}/.default", h.urls().scc)),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = post(&c, &dc_url("organizations"), &[("scope", &exo_scope(&h))]).await;
    entra_error(&body, "invalid_request", 900144);
    let (_, body) = post(
        &c,
        &token_url(&h, "organizations"),
        &[("client_id", CLIENT), ("grant_type", "implicit")],
    )
    .await;
    entra_error(&body, "unsupported_grant_type", 70003);
}

#[tokio::test]
async fn handle_exposes_current_totp_codes() {
    let h = sim_with(|c| c.seed = 42).await;
    let user = h.world().user("admin@contoso.com").unwrap().clone();
    let before = totp::now_unix();
    let code = h.current_totp("admin@contoso.com").unwrap();
    let after = totp::now_unix();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        [before, after]
            .iter()
            .any(|t| totp::totp(&user.totp_secret, *t).as_deref() == Some(code.as_str()))
    );
    assert!(totp::verify(&user.totp_secret, &code, after));
    assert!(h.current_totp("nobody@contoso.com").is_none());
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_sim_command_prints_its_urls_and_serves_tokens() {
    let mut child = Child(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("exo-connect"))
            .args([
                "sim",
                "--seed",
                "3",
                "--mailboxes",
                "50",
                "--token-lifetime",
                "77",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn exo-connect sim"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            let done = line.starts_with("Press Ctrl-C");
            lines.push(line.trim_end().to_string());
            line.clear();
            if done {
                break;
            }
        }
        (lines, reader)
    });
    let (lines, reader) = tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("banner in time")
        .unwrap();
    let get = |k: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .unwrap_or_else(|| panic!("{k}: line in {lines:?}"))
            .to_string()
    };
    let login = get("login");
    let exo = get("exo");
    assert!(login.starts_with("http://127.0.0.1:") && exo.starts_with("http://127.0.0.1:"));
    assert_eq!(get("authority"), format!("{login}/organizations"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tenant: Contoso | contoso.onmicrosoft.com"))
    );
    assert!(lines.iter().any(|l| {
        l.starts_with("account: admin@contoso.com | password admin-Demo-2026! | mfa yes | totp ")
    }));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("account: ops@contoso.com | password ops-Demo-2026! | mfa no"))
    );
    let c = client();
    let (s, body) = post(
        &c,
        &format!("{login}/organizations/oauth2/v2.0/token"),
        &[
            ("client_id", CLIENT),
            ("grant_type", "password"),
            ("username", "ops@contoso.com"),
            ("password", "ops-Demo-2026!"),
            ("scope", &format!("{exo}/.default")),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 77);

    // Ctrl-C (SIGINT) stops it cleanly.
    #[cfg(unix)]
    {
        let pid = child.0.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let rest = tokio::task::spawn_blocking(move || {
            reader.lines().map(|l| l.unwrap()).collect::<Vec<_>>()
        });
        let rest = tokio::time::timeout(Duration::from_secs(10), rest)
            .await
            .expect("stops in time")
            .unwrap();
        assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
        let status = child.0.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
    #[cfg(not(unix))]
    drop(reader);
}

#[tokio::test]
async fn authorization_codes_expire() {
    let h = sim_with(|c| c.auth_code_lifetime = Duration::from_millis(300)).await;
    let c = client();
    let (verifier, challenge) = pkce();
    let redirect = "http://localhost:53124";
    let r = authorize_flow(&c, &h, redirect, &challenge).await;
    let (_, q) = location_params(&r);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (s, body) = post(
        &c,
        &token_url(&h, "organizations"),
        &[
            ("client_id", CLIENT),
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    entra_error(&body, "invalid_grant", 70008);
}

/// `/sim/issued` lists every token and code handed out, with the passwords and TOTP secrets
/// (what the secret scan looks for in a client's files); a refreshed-away token stays listed.
#[tokio::test]
async fn issued_secrets_are_listed_for_the_secret_scan() {
    let h = sim().await;
    let c = client();
    let scope = format!("{}/.default offline_access openid", h.urls().exo);
    let (s, first) = password(
        &c,
        &h,
        "organizations",
        "ops@contoso.com",
        "ops-Demo-2026!",
        &scope,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let rt = first["refresh_token"].as_str().unwrap();
    let (s, second) = post(
        &c,
        &token_url(&h, "organizations"),
        &[
            ("client_id", CLIENT),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{second}");
    let listed: Value = c
        .get(format!("{}/sim/issued", h.urls().login))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let has = |kind: &str, v: &Value| listed[kind].as_array().unwrap().contains(v);
    for body in [&first, &second] {
        assert!(has("access_tokens", &body["access_token"]));
        assert!(has("refresh_tokens", &body["refresh_token"]));
        assert!(has("id_tokens", &body["id_token"]));
    }
    assert!(has("passwords", &json!("ops-Demo-2026!")));
    let secret = h
        .world()
        .user("admin@contoso.com")
        .unwrap()
        .totp_secret
        .clone();
    assert!(!secret.is_empty() && has("totp_secrets", &json!(secret)));
    assert_eq!(h.auth.issued_secrets().len(), 6);
}
