//! Continuous access evaluation answered interactively: when the refresh token cannot answer a
//! claims challenge, the interactive sign-in carries the challenge's `claims` — on the
//! authorize URL (browser) and the token request (password) — and the sim's token then holds
//! the authentication context the challenge asked for.

use crate::common::signin_support;

use std::time::Duration;

use exo_connect::engine::auth::{SignInEvent, SignInOptions};
use exo_connect::engine::token::TokenProvider;
use exo_connect::model::SignInMethod;
use signin_support::*;
use tokio::sync::mpsc;

/// The `acrs` value a challenge asks for.
fn asked_acrs(challenge: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(challenge).unwrap();
    v["access_token"]["acrs"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

fn acrs_of(jwt: &str) -> Vec<String> {
    jwt_payload(jwt)["acrs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn interactive_sign_ins_carry_the_claims_challenge() {
    let h = start_sim(|_| {}).await;
    let cache = memory_cache();

    // Browser: the authorize URL carries `claims`, the token answers the challenge.
    let challenge = h.revoke_account("admin@contoso.com");
    let p = profile(&h, "admin@contoso.com");
    let b = TestBrowser::new(h.clone(), UserAction::SignIn("admin@contoso.com".into()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let opts = SignInOptions {
        method: Some(SignInMethod::Browser),
        browser: b.clone(),
        events: Some(tx),
        timeout: Duration::from_secs(20),
        claims: Some(challenge.clone()),
        ..Default::default()
    };
    cache.sign_in(&p, opts).await.expect("signed in");
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    let url = seen
        .iter()
        .find_map(|e| match e {
            SignInEvent::BrowserOpened { url } => Some(url.clone()),
            _ => None,
        })
        .expect("the browser opened");
    let parsed = url::Url::parse(&url).unwrap();
    let sent: Vec<String> = parsed
        .query_pairs()
        .filter(|(k, _)| k == "claims")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(sent, std::slice::from_ref(&challenge), "{url}");
    let issued = h.auth.issued_secrets();
    let at = &issued
        .iter()
        .rev()
        .find(|(k, _)| *k == "access_tokens")
        .unwrap()
        .1;
    assert!(acrs_of(at).contains(&asked_acrs(&challenge)));

    // Password: the token request carries it; without it, no authentication context.
    let challenge = h.revoke_account("ops@contoso.com");
    let p = profile(&h, "ops@contoso.com");
    let sign_in = |claims: Option<String>| SignInOptions {
        method: Some(SignInMethod::Password),
        password: Some(password_of("ops@contoso.com")),
        timeout: Duration::from_secs(20),
        claims,
        ..Default::default()
    };
    cache.sign_in(&p, sign_in(None)).await.expect("signed in");
    let plain = cache
        .provider(&p, None, None)
        .unwrap()
        .token(false)
        .await
        .unwrap();
    assert!(
        acrs_of(&plain.secret).is_empty(),
        "no claims asked, none given"
    );
    cache
        .sign_in(&p, sign_in(Some(challenge.clone())))
        .await
        .expect("signed in");
    let answered = cache
        .provider(&p, None, None)
        .unwrap()
        .token(false)
        .await
        .unwrap();
    assert!(acrs_of(&answered.secret).contains(&asked_acrs(&challenge)));
}
