//! The sign-in side as Microsoft's client libraries and 2026's services expect it: ID tokens
//! with `sub` and the documented claims, `client_info`, account type discovery (userrealm),
//! instance discovery, the advertised public origin behind a TLS front, conditional access
//! refusing the device-code flow (AADSTS53003), and continuous access evaluation (a revoked
//! session answered with a claims challenge that only a token requested with those claims cures).

use base64::Engine;
use exo_connect::sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::auth::{
    CLIENT, claims, client, complete_page, device_code, entra_error, exo_scope, poll, post,
    sim_with, token_url,
};

fn password_form<'a>(upn: &'a str, pw: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", CLIENT),
        ("grant_type", "password"),
        ("username", upn),
        ("password", pw),
        ("scope", scope),
        ("client_info", "1"),
    ]
}

#[tokio::test]
async fn id_tokens_carry_the_documented_claims_and_client_info() {
    let h = sim_with(|_| {}).await;
    let c = client();
    let scope = exo_scope(&h);
    let (s, body) = post(
        &c,
        &token_url(&h, "organizations"),
        &password_form("ops@contoso.com", "ops-Demo-2026!", &scope),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let user = h.world().user("ops@contoso.com").unwrap();
    let id = claims(body["id_token"].as_str().unwrap());
    for k in [
        "sub",
        "oid",
        "tid",
        "preferred_username",
        "ver",
        "aud",
        "iss",
        "iat",
        "nbf",
        "exp",
    ] {
        assert!(!id[k].is_null(), "{k} in {id}");
    }
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["aud"], CLIENT);
    assert_eq!(id["oid"], user.oid.to_string());
    assert_eq!(
        id["iss"],
        format!("{}/{}/v2.0", h.urls().login, user.tenant_id)
    );
    let info = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body["client_info"].as_str().unwrap())
        .unwrap();
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(
        info,
        json!({"uid": user.oid.to_string(), "utid": user.tenant_id.to_string()})
    );
    let at = claims(body["access_token"].as_str().unwrap());
    for k in [
        "sub", "uti", "ver", "sid", "upn", "scp", "tid", "oid", "appid",
    ] {
        assert!(!at[k].is_null(), "{k} in {at}");
    }
    // The same user and app: the same pairwise sub; no client_info unless asked for.
    let (_, again) = post(
        &c,
        &token_url(&h, "organizations"),
        &password_form("ops@contoso.com", "ops-Demo-2026!", &scope)[..5],
    )
    .await;
    assert_eq!(
        claims(again["id_token"].as_str().unwrap())["sub"],
        id["sub"]
    );
    assert!(again.get("client_info").is_none());
}

#[tokio::test]
async fn userrealm_instance_discovery_and_the_public_origin() {
    let h = sim_with(|c| c.public_login = Some("https://localhost:8443".into())).await;
    let c = client();
    assert_eq!(h.urls().login, "https://localhost:8443");
    // Advertised in the metadata (served by the real listener, found through the handle).
    let real = h.auth_listener();
    let meta: Value = c
        .get(format!(
            "{real}/organizations/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["token_endpoint"],
        "https://localhost:8443/organizations/oauth2/v2.0/token"
    );
    assert!(
        meta["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("sub"))
    );
    let realm: Value = c
        .get(format!(
            "{real}/common/userrealm/admin@contoso.com?api-version=1.0"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(realm["account_type"], "Managed");
    assert_eq!(realm["domain_name"], "contoso.com");
    let realm: Value = c
        .get(format!(
            "{real}/common/userrealm/someone@example.org?api-version=1.0"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(realm["account_type"], "Unknown");
    let inst: Value = c
        .get(format!("{real}/common/discovery/instance?api-version=1.1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inst["metadata"][0]["aliases"][0], "localhost:8443");
    let bad = exo_connect::sim::start(SimConfig {
        public_login: Some("https://localhost:8443/path".into()),
        ..SimConfig::default()
    })
    .await;
    assert!(bad.is_err());
}

/// Conditional access blocks the device-code flow for one account: the page says so and the
/// app's poll gets invalid_grant AADSTS53003; other accounts are not affected.
#[tokio::test]
async fn conditional_access_refuses_device_code_for_an_account() {
    let h = sim_with(|c| c.device_code_blocked = vec!["ops@contoso.com".into()]).await;
    let c = client();
    let dc = device_code(&c, &h, "organizations").await;
    let html = complete_page(&c, &h, dc["user_code"].as_str().unwrap(), "ops@contoso.com").await;
    assert!(html.contains("You cannot access this right now"), "{html}");
    assert!(html.contains("AADSTS53003"), "{html}");
    let (s, body) = poll(&c, &h, "organizations", &dc).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    entra_error(&body, "invalid_grant", 53003);
    // Lifted at run time; another account was never affected.
    h.auth.block_device_code("OPS@contoso.com", false);
    let dc = device_code(&c, &h, "organizations").await;
    complete_page(&c, &h, dc["user_code"].as_str().unwrap(), "ops@contoso.com").await;
    assert_eq!(poll(&c, &h, "organizations", &dc).await.0, StatusCode::OK);
    h.auth.block_device_code("admin@tailspintoys.com", true);
    let dc = device_code(&c, &h, "organizations").await;
    let e = h
        .auth
        .approve_device_code(dc["user_code"].as_str().unwrap(), "admin@tailspintoys.com")
        .unwrap_err();
    assert!(e.contains("AADSTS53003"), "{e}");
}

async fn invoke(
    c: &reqwest::Client,
    h: &exo_connect::sim::SimHandle,
    token: &str,
) -> reqwest::Response {
    c.post(format!(
        "{}/adminapi/beta/contoso.com/InvokeCommand",
        h.urls().exo
    ))
    .bearer_auth(token)
    .header("X-AnchorMailbox", "UPN:ops@contoso.com")
    .json(&json!({"CmdletInput": {"CmdletName": "Get-OrganizationConfig", "Parameters": {}}}))
    .send()
    .await
    .unwrap()
}

fn challenge_of(r: &reqwest::Response) -> (String, String) {
    let h = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(h.starts_with("Bearer "), "{h}");
    assert!(h.contains("error=\"insufficient_claims\""), "{h}");
    let b64 = h
        .split("claims=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    (h.clone(), String::from_utf8(json).unwrap())
}

/// A revoked session answers 401 insufficient_claims with a claims challenge; a plain refresh
/// does not cure it, a refresh carrying the claims does, and from then on the session is
/// trusted again. Revoking by token or with the `revoke` fault works the same way.
#[tokio::test]
async fn a_revoked_session_is_cured_only_by_the_claims_challenge() {
    let h = sim_with(|_| {}).await;
    let c = client();
    let scope = exo_scope(&h);
    let (_, body) = post(
        &c,
        &token_url(&h, "organizations"),
        &password_form("ops@contoso.com", "ops-Demo-2026!", &scope),
    )
    .await;
    let token = body["access_token"].as_str().unwrap().to_string();
    let mut rt = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(invoke(&c, &h, &token).await.status(), 200);
    let challenge = h.revoke_account("ops@contoso.com");
    let r = invoke(&c, &h, &token).await;
    assert_eq!(r.status(), 401);
    let (_, sent) = challenge_of(&r);
    assert_eq!(sent, challenge);
    let refresh = |rt: String, claims: Option<String>| {
        let (c, url, scope) = (c.clone(), token_url(&h, "organizations"), scope.clone());
        async move {
            let mut form = vec![
                ("client_id", CLIENT.to_string()),
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", rt),
                ("scope", scope),
            ];
            if let Some(cl) = claims {
                form.push(("claims", cl));
            }
            let v: Value = c
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let plain = refresh(rt.clone(), None).await;
    rt = plain["refresh_token"].as_str().unwrap().to_string();
    let r = invoke(&c, &h, plain["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 401, "a plain refresh does not cure it");
    let cured = refresh(rt, Some(challenge.clone())).await;
    let t = cured["access_token"].as_str().unwrap();
    let cl = claims(t);
    let asked: Value = serde_json::from_str(&challenge).unwrap();
    assert_eq!(cl["acrs"][0], asked["access_token"]["acrs"]["value"]);
    assert_eq!(invoke(&c, &h, t).await.status(), 200);
    let later = refresh(cured["refresh_token"].as_str().unwrap().to_string(), None).await;
    assert_eq!(
        invoke(&c, &h, later["access_token"].as_str().unwrap())
            .await
            .status(),
        200,
        "trusted again once answered"
    );
    // By token: only that session; the `revoke` fault: the caller's account.
    let fresh = later["access_token"].as_str().unwrap().to_string();
    h.revoke_token(&fresh).unwrap();
    assert_eq!(invoke(&c, &h, &fresh).await.status(), 401);
    let (_, other) = post(
        &c,
        &token_url(&h, "organizations"),
        &password_form("ops@contoso.com", "ops-Demo-2026!", &scope),
    )
    .await;
    let other = other["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        invoke(&c, &h, &other).await.status(),
        200,
        "another session is fine"
    );
    h.admin.inject_spec("revoke").unwrap();
    let r = invoke(&c, &h, &other).await;
    assert_eq!(r.status(), 401);
    challenge_of(&r);
    let last = h.admin.requests().last().unwrap().clone();
    assert_eq!(
        last.fault.as_deref(),
        Some(format!("revoke @{}", last.seq).as_str())
    );
}
