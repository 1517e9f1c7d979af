//! The interactive sign-in pages: `/{tenant}/oauth2/v2.0/authorize` (authorization code with
//! PKCE and a loopback redirect) and `/devicelogin` (device code), both continuing through the
//! steps posted to `/login`: account → password → (MFA) verification code → done.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, Query, RawForm, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::proto::{
    EntraError, bad, check_public_client, normalize_user_code, parse_claims, parse_form,
    random_token, valid_redirect_uri,
};
use super::{
    AuthCode, AuthState, CA_BLOCKED, DeviceStatus, FLOW_LIFETIME, Flow, FlowKind, Inner, Shared,
    SignedIn, Step, page, totp,
};

pub(super) fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    r
}

pub(super) fn redirect(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = location.parse() {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    r
}

pub(super) fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut u = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => {
            return html(
                StatusCode::BAD_REQUEST,
                page::message("Sign-in error", "The redirect URI is not valid.", true),
            );
        }
    };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    redirect(u.as_str())
}

pub(super) async fn authorize(
    State(s): Shared,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page_error = |e: EntraError| {
        html(
            StatusCode::BAD_REQUEST,
            page::message("Sign-in error", &e.description(), true),
        )
    };
    // Errors before the redirect URI is trusted are shown on the page, never redirected.
    if let Err(e) = s.authority(&tenant) {
        return page_error(e);
    }
    let client_id = q.get("client_id").map(|s| s.trim()).unwrap_or("");
    if let Err(e) = check_public_client(client_id) {
        return page_error(e);
    }
    let redirect_uri = q.get("redirect_uri").map(|s| s.trim()).unwrap_or("");
    if !valid_redirect_uri(redirect_uri) {
        return page_error(bad(
            "invalid_request",
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Use http://localhost:<port> or http://127.0.0.1:<port>."
            ),
        ));
    }
    let state = q.get("state").cloned();
    let kind = match authorize_request(&s, &q, client_id, redirect_uri, state.clone()) {
        Ok(k) => k,
        Err(e) => {
            let desc = e.description();
            let mut p = vec![("error", e.error), ("error_description", desc.as_str())];
            if let Some(st) = &state {
                p.push(("state", st.as_str()));
            }
            return redirect_with(redirect_uri, &p);
        }
    };
    let flow_id = random_token(24);
    s.lock().flows.insert(
        flow_id.clone(),
        Flow {
            kind,
            authority: tenant,
            step: Step::Account,
            expires: Instant::now() + FLOW_LIFETIME,
        },
    );
    let hint = q.get("login_hint").map(String::as_str).unwrap_or("");
    html(
        StatusCode::OK,
        page::account(
            &flow_id,
            "Sign in to Exchange Online PowerShell (simulated)",
            None,
            hint,
        ),
    )
}

/// The checks whose errors go back to the (valid) redirect URI: response type, scopes, PKCE.
fn authorize_request(
    s: &AuthState,
    q: &HashMap<String, String>,
    client_id: &str,
    redirect_uri: &str,
    state: Option<String>,
) -> Result<FlowKind, EntraError> {
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err(bad(
            "unsupported_response_type",
            700054,
            "response_type must be 'code'.",
        ));
    }
    let mut request = s.parse_scopes(q.get("scope"))?;
    request.claims = parse_claims(q)?;
    request.nonce = q.get("nonce").cloned();
    let challenge = q.get("code_challenge").map(|s| s.trim()).unwrap_or("");
    if challenge.is_empty() {
        return Err(bad(
            "invalid_request",
            9002325,
            "Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.",
        ));
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err(bad(
            "invalid_request",
            501491,
            "Invalid code_challenge_method: only S256 is accepted (plain is refused).",
        ));
    }
    Ok(FlowKind::Authorize {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        state,
        challenge: challenge.to_string(),
        request,
    })
}

pub(super) async fn devicelogin_get() -> Response {
    html(StatusCode::OK, page::enter_code(None, ""))
}

pub(super) async fn devicelogin_post(State(s): Shared, RawForm(body): RawForm) -> Response {
    let f = parse_form(&body);
    let entered = f.get("otc").map(String::as_str).unwrap_or("").trim();
    let wanted = normalize_user_code(entered);
    let mut inner = s.lock();
    let now = Instant::now();
    let found = inner
        .device
        .iter()
        .find(|(_, g)| !wanted.is_empty() && normalize_user_code(&g.user_code) == wanted)
        .map(|(dc, g)| {
            (
                dc.clone(),
                g.expires,
                g.authority.clone(),
                matches!(g.status, DeviceStatus::Pending),
            )
        });
    let Some((device_code, expires, authority, pending)) = found else {
        return html(
            StatusCode::OK,
            page::enter_code(
                Some("That code didn't work. Check the code and try again."),
                entered,
            ),
        );
    };
    if expires <= now {
        return html(
            StatusCode::OK,
            page::enter_code(
                Some("That code has expired. Go back to the app or device and request a new code."),
                entered,
            ),
        );
    }
    if !pending {
        return html(
            StatusCode::OK,
            page::enter_code(Some("That code has already been used."), entered),
        );
    }
    inner.flows.retain(|_, fl| fl.expires > now);
    let flow_id = random_token(24);
    inner.flows.insert(
        flow_id.clone(),
        Flow {
            kind: FlowKind::Device { device_code },
            authority,
            step: Step::Account,
            expires: now + FLOW_LIFETIME,
        },
    );
    html(
        StatusCode::OK,
        page::account(
            &flow_id,
            "You're signing in to Exchange Online PowerShell (simulated) on another device. Only continue if you started it.",
            None,
            "",
        ),
    )
}

/// The page steps: account → password → (MFA) verification code → done.
pub(super) async fn login_step(State(s): Shared, RawForm(body): RawForm) -> Response {
    let f = parse_form(&body);
    let flow_id = f.get("flow").cloned().unwrap_or_default();
    let action = f.get("action").map(String::as_str).unwrap_or("next");
    let mut inner = s.lock();
    let now = Instant::now();
    let Some((step, authority)) = inner
        .flows
        .get(&flow_id)
        .filter(|fl| fl.expires > now)
        .map(|fl| (fl.step.clone(), fl.authority.clone()))
    else {
        return html(
            StatusCode::BAD_REQUEST,
            page::message(
                "Sign-in expired",
                "This sign-in page has expired or is unknown. Start again from the app (or /devicelogin).",
                true,
            ),
        );
    };
    if let Some(r) = device_code_gone(&mut inner, &flow_id, now) {
        return r;
    }
    if action == "cancel" {
        return cancel_flow(&mut inner, &flow_id);
    }
    let signed_in = match step {
        Step::Account => return account_step(&s, &mut inner, &flow_id, &authority, &f),
        Step::Password(who) => match password_step(&s, &mut inner, &flow_id, who, &f) {
            Ok(who) => who,
            Err(page) => return *page,
        },
        Step::Mfa(who) => match mfa_step(&s, &flow_id, who, &f) {
            Ok(who) => who,
            Err(page) => return *page,
        },
    };
    finish_flow(&s, &mut inner, &flow_id, signed_in, now)
}

/// A device sign-in whose code has expired (or was used) in the meantime ends here.
fn device_code_gone(inner: &mut Inner, flow_id: &str, now: Instant) -> Option<Response> {
    let FlowKind::Device { device_code } = &inner.flows.get(flow_id)?.kind else {
        return None;
    };
    let gone = inner
        .device
        .get(device_code)
        .is_none_or(|g| g.expires <= now || !matches!(g.status, DeviceStatus::Pending));
    if !gone {
        return None;
    }
    inner.flows.remove(flow_id);
    Some(html(
        StatusCode::OK,
        page::message(
            "Code expired",
            "The code has expired or was already used. Go back to the app or device and request a new code.",
            true,
        ),
    ))
}

/// "Cancel": the device code is declined, the authorize flow redirects with `access_denied`.
fn cancel_flow(inner: &mut Inner, flow_id: &str) -> Response {
    let flow = inner.flows.remove(flow_id).expect("flow present");
    match flow.kind {
        FlowKind::Device { device_code } => {
            if let Some(g) = inner.device.get_mut(&device_code) {
                g.status = DeviceStatus::Declined;
            }
            html(
                StatusCode::OK,
                page::message(
                    "Sign-in declined",
                    "You have declined to sign in to the application on your device. You may now close this window.",
                    false,
                ),
            )
        }
        FlowKind::Authorize {
            redirect_uri,
            state,
            ..
        } => {
            let desc = "AADSTS65004: The user declined the sign-in request.";
            let mut p = vec![("error", "access_denied"), ("error_description", desc)];
            if let Some(st) = &state {
                p.push(("state", st.as_str()));
            }
            redirect_with(&redirect_uri, &p)
        }
    }
}

/// Step 1: the account name, checked against the flow's authority (home or delegated tenant).
fn account_step(
    s: &AuthState,
    inner: &mut Inner,
    flow_id: &str,
    authority: &str,
    f: &HashMap<String, String>,
) -> Response {
    let login = f.get("login").map(String::as_str).unwrap_or("").trim();
    let retry = |msg: &str| {
        html(
            StatusCode::OK,
            page::account(flow_id, "Sign in", Some(msg), login),
        )
    };
    if login.is_empty() {
        return retry("Enter your account name (user@domain).");
    }
    let Some(user) = s.shared.world.user(login) else {
        return retry(
            "AADSTS50034: We couldn't find an account with that username. Try another account.",
        );
    };
    let tid = match s.authority(authority).and_then(|a| s.token_tenant(a, user)) {
        Ok(t) => t,
        Err(e) => return retry(&e.description()),
    };
    let who = SignedIn {
        upn: user.upn.clone(),
        tid,
        sid: None,
    };
    if let Some(fl) = inner.flows.get_mut(flow_id) {
        fl.step = Step::Password(who.clone());
    }
    html(StatusCode::OK, page::password(flow_id, &who.upn, None))
}

/// Step 2: the password; an MFA account continues with step 3. Err = the page to show.
fn password_step(
    s: &AuthState,
    inner: &mut Inner,
    flow_id: &str,
    who: SignedIn,
    f: &HashMap<String, String>,
) -> Result<SignedIn, Box<Response>> {
    let pw = f.get("passwd").map(String::as_str).unwrap_or("");
    let Some(user) = s.shared.world.user(&who.upn) else {
        return Err(Box::new(html(
            StatusCode::OK,
            page::message("Sign-in error", "Unknown account.", true),
        )));
    };
    if pw != user.password {
        return Err(Box::new(html(
            StatusCode::OK,
            page::password(
                flow_id,
                &who.upn,
                Some("AADSTS50126: Your account or password is incorrect."),
            ),
        )));
    }
    if user.mfa {
        if let Some(fl) = inner.flows.get_mut(flow_id) {
            fl.step = Step::Mfa(who.clone());
        }
        return Err(Box::new(html(
            StatusCode::OK,
            page::verify(flow_id, &who.upn, None),
        )));
    }
    Ok(who)
}

/// Step 3 (MFA accounts): the authenticator's current code. Err = the page to show.
fn mfa_step(
    s: &AuthState,
    flow_id: &str,
    who: SignedIn,
    f: &HashMap<String, String>,
) -> Result<SignedIn, Box<Response>> {
    let code = f.get("otc").map(String::as_str).unwrap_or("");
    let ok = s
        .shared
        .world
        .user(&who.upn)
        .is_some_and(|u| totp::verify(&u.totp_secret, code, totp::now_unix()));
    if ok {
        return Ok(who);
    }
    Err(Box::new(html(
        StatusCode::OK,
        page::verify(
            flow_id,
            &who.upn,
            Some("The code you entered is wrong or has expired. Enter the current 6-digit code."),
        ),
    )))
}

/// Signed in: approve the device code, or redirect with an authorization code.
fn finish_flow(
    s: &AuthState,
    inner: &mut Inner,
    flow_id: &str,
    signed_in: SignedIn,
    now: Instant,
) -> Response {
    let flow = inner.flows.remove(flow_id).expect("flow present");
    match flow.kind {
        FlowKind::Device { device_code } => {
            if s.device_code_blocked_for(&signed_in.upn) {
                if let Some(g) = inner.device.get_mut(&device_code) {
                    g.status = DeviceStatus::Blocked;
                }
                return html(
                    StatusCode::OK,
                    page::message(
                        "You cannot access this right now",
                        &format!("AADSTS{}: {}", CA_BLOCKED.0, CA_BLOCKED.1),
                        true,
                    ),
                );
            }
            if let Some(g) = inner.device.get_mut(&device_code) {
                g.status = DeviceStatus::Approved(signed_in.clone());
            }
            html(
                StatusCode::OK,
                page::message(
                    "You have signed in",
                    &format!(
                        "You have signed in as {} to Exchange Online PowerShell (simulated) on your device. You may now close this window.",
                        signed_in.upn
                    ),
                    false,
                ),
            )
        }
        FlowKind::Authorize {
            client_id,
            redirect_uri,
            state,
            challenge,
            request,
        } => {
            let code = random_token(48);
            s.record_issued("authorization_codes", &code);
            inner.codes.retain(|_, c| c.expires > now);
            inner.codes.insert(
                code.clone(),
                AuthCode {
                    client_id,
                    redirect_uri: redirect_uri.clone(),
                    challenge,
                    who: signed_in,
                    request,
                    expires: now + s.shared.config.auth_code_lifetime,
                    redeemed: false,
                },
            );
            let mut p = vec![("code", code.as_str())];
            if let Some(st) = &state {
                p.push(("state", st.as_str()));
            }
            redirect_with(&redirect_uri, &p)
        }
    }
}
