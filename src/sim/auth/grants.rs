//! The token side of the simulated Entra: `/{tenant}/oauth2/v2.0/devicecode` and
//! `/{tenant}/oauth2/v2.0/token` with its grants (device code, authorization code + PKCE,
//! password, refresh token, client credentials with a certificate assertion).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Path, RawForm, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::proto::{
    EntraError, bad, check_public_client, field, parse_claims, parse_form, pkce_s256, random_token,
    random_user_code,
};
use super::{
    AuthState, Authority, CA_BLOCKED, DEVICE_CODE_GRANT, DeviceGrant, DeviceStatus, Inner,
    JWT_BEARER, RefreshGrant, ScopeRequest, Shared, SignedIn, certs,
};
use crate::sim::cae;
use crate::sim::tokens::{AccessClaims, IdClaims, IssuedAccessClaims, pairwise_subject};
use crate::sim::world::{AppRegistration, User};

/// What the token request itself asks for besides the grant.
#[derive(Default)]
struct TokenOptions {
    /// `client_info=1`: answer with `client_info` (base64url `{"uid","utid"}`).
    client_info: bool,
    /// The `claims` parameter (a claims challenge's answer, client capabilities).
    claims: Option<Value>,
    /// Always hand out a refresh token (refresh grants rotate theirs).
    always_refresh: bool,
}

impl TokenOptions {
    fn from_form(f: &HashMap<String, String>) -> Result<TokenOptions, EntraError> {
        Ok(TokenOptions {
            client_info: f.get("client_info").is_some_and(|v| v.trim() == "1"),
            claims: parse_claims(f)?,
            always_refresh: false,
        })
    }
}

/// A poll of a device code not yet approved: `slow_down` when it comes sooner than the
/// interval after the last one, else `authorization_pending`.
fn poll_pending(grant: &mut DeviceGrant, now: Instant) -> EntraError {
    let too_soon = grant
        .last_poll
        .is_some_and(|t| now.duration_since(t) < grant.interval);
    grant.last_poll = Some(now);
    if too_soon {
        bad(
            "slow_down",
            70016,
            format!(
                "OAuth 2.0 device flow error. Authorization is pending, and the client polled faster than the interval of {} s. Slow down.",
                grant.interval.as_secs()
            ),
        )
    } else {
        bad(
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    }
}

/// `client_info`: base64url JSON `{"uid": <object id>, "utid": <home tenant id>}` (what MSAL
/// keys its account cache by).
fn client_info(uid: &str, utid: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"uid": uid, "utid": utid}).to_string())
}

impl AuthState {
    /// Issues access (+ refresh, + ID) tokens for a signed-in user; the JSON body of the answer.
    /// The first tokens of a sign-in start its session (`sid`); the request's `claims` (or the
    /// devicecode/authorize request's) answer a claims challenge ([`crate::sim::cae`]).
    fn user_tokens(
        &self,
        inner: &mut Inner,
        client_id: &str,
        who: &SignedIn,
        req: &ScopeRequest,
        opts: &TokenOptions,
    ) -> Result<Value, EntraError> {
        let user = self.user(&who.upn)?;
        let now = chrono::Utc::now().timestamp();
        let lifetime = self.shared.config.token_lifetime.as_secs() as i64;
        let mut who = who.clone();
        who.sid
            .get_or_insert_with(|| self.shared.cae.new_session(&user.upn));
        let claims = opts.claims.as_ref().or(req.claims.as_ref());
        let access = self.access_token(client_id, &who, user, req, claims, now);
        let mut body = json!({
            "token_type": "Bearer",
            "scope": req.scope_string(),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        });
        if req.offline || opts.always_refresh {
            let rt = random_token(48);
            inner.refresh.insert(
                rt.clone(),
                RefreshGrant {
                    client_id: client_id.to_string(),
                    who: who.clone(),
                },
            );
            inner.refresh_issued += 1;
            body["refresh_token"] = json!(rt);
        }
        if req.openid {
            body["id_token"] = json!(self.id_token(client_id, &who, req, now));
        }
        for (field, kind) in [
            ("access_token", "access_tokens"),
            ("refresh_token", "refresh_tokens"),
            ("id_token", "id_tokens"),
        ] {
            if let Some(v) = body[field].as_str() {
                self.record_issued(kind, v);
            }
        }
        if opts.client_info {
            body["client_info"] = json!(client_info(
                &user.oid.to_string(),
                &user.tenant_id.to_string()
            ));
        }
        Ok(body)
    }

    /// A user's access token (v1.0 claims) in the session `who.sid`, its `acrs` answering the
    /// request's `claims`.
    fn access_token(
        &self,
        client_id: &str,
        who: &SignedIn,
        user: &User,
        req: &ScopeRequest,
        claims: Option<&Value>,
        now: i64,
    ) -> String {
        let lifetime = self.shared.config.token_lifetime.as_secs() as i64;
        let sid = who.sid.clone();
        let acrs = self.shared.cae.answer_claims(sid.as_deref(), claims, now);
        self.shared
            .keys
            .issue_full_access_token(&IssuedAccessClaims {
                core: AccessClaims {
                    aud: req.resource.clone(),
                    iss: self.issuer(who.tid),
                    tid: who.tid.to_string(),
                    oid: user.oid.to_string(),
                    upn: Some(user.upn.clone()),
                    scp: Some(self.scp_for(&req.resource).to_string()),
                    roles: None,
                    appid: client_id.to_string(),
                    iat: now,
                    nbf: now,
                    exp: now + lifetime,
                },
                ver: "1.0".into(),
                sub: pairwise_subject(&user.oid.to_string(), client_id),
                uti: random_token(16),
                name: Some(user.display_name.clone()),
                unique_name: Some(user.upn.clone()),
                idtyp: "user".into(),
                sid,
                acrs,
                xms_cc: cae::requested_capabilities(claims),
            })
    }

    /// The ID token: Microsoft's documented v2.0 claims, `nonce` echoed.
    fn id_token(&self, client_id: &str, who: &SignedIn, req: &ScopeRequest, now: i64) -> String {
        let user = self
            .shared
            .world
            .user(&who.upn)
            .expect("signed-in user exists");
        let oid = user.oid.to_string();
        self.shared.keys.issue_id_token(&IdClaims {
            aud: client_id.to_string(),
            iss: self.issuer(who.tid),
            tid: who.tid.to_string(),
            sub: pairwise_subject(&oid, client_id),
            oid,
            preferred_username: user.upn.clone(),
            name: user.display_name.clone(),
            ver: "2.0".into(),
            iat: now,
            nbf: now,
            exp: now + self.shared.config.token_lifetime.as_secs() as i64,
            nonce: req.nonce.clone(),
        })
    }

    fn token_response(body: Value) -> Response {
        let mut r = axum::Json(body).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
        r
    }

    // ---- token endpoint grants ----

    fn device_code_grant(&self, f: &HashMap<String, String>) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
        let opts = TokenOptions::from_form(f)?;
        let code = f
            .get("device_code")
            .or_else(|| f.get("code"))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                bad(
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'device_code'.",
                )
            })?;
        let mut inner = self.lock();
        let now = Instant::now();
        let unknown = || {
            bad(
                "invalid_grant",
                70000,
                "The provided value for the input parameter 'device_code' is not valid: no such device code.",
            )
        };
        let grant = inner.device.get_mut(code).ok_or_else(unknown)?;
        if !grant.client_id.eq_ignore_ascii_case(client_id) {
            return Err(unknown());
        }
        if matches!(grant.status, DeviceStatus::Redeemed) {
            return Err(bad(
                "invalid_grant",
                54005,
                "The device code was already redeemed; request a new one.",
            ));
        }
        if grant.expires <= now {
            return Err(bad(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
            ));
        }
        match &grant.status {
            DeviceStatus::Declined => Err(bad(
                "access_denied",
                65004,
                "The user declined the sign-in request on the verification page.",
            )),
            DeviceStatus::Blocked => Err(bad("invalid_grant", CA_BLOCKED.0, CA_BLOCKED.1)),
            DeviceStatus::Pending => Err(poll_pending(grant, now)),
            DeviceStatus::Approved(who) => {
                let who = who.clone();
                let req = grant.request.clone();
                let client = grant.client_id.clone();
                grant.status = DeviceStatus::Redeemed;
                self.user_tokens(&mut inner, &client, &who, &req, &opts)
            }
            DeviceStatus::Redeemed => Err(unknown()),
        }
    }

    fn authorization_code_grant(&self, f: &HashMap<String, String>) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
        let opts = TokenOptions::from_form(f)?;
        let code = field(f, "code")?;
        let redirect_uri = field(f, "redirect_uri")?;
        let verifier = field(f, "code_verifier").map_err(|_| {
            bad(
                "invalid_grant",
                501481,
                "The Code_Verifier is missing: this authorization code was issued with a PKCE challenge.",
            )
        })?;
        let mut inner = self.lock();
        let c = inner.codes.get_mut(code).ok_or_else(|| {
            bad(
                "invalid_grant",
                70000,
                "The provided authorization code is not valid.",
            )
        })?;
        if c.redeemed {
            return Err(bad(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ));
        }
        c.redeemed = true;
        if c.expires <= Instant::now() {
            return Err(bad(
                "invalid_grant",
                70008,
                "The provided authorization code has expired. Sign in again.",
            ));
        }
        if !c.client_id.eq_ignore_ascii_case(client_id) {
            return Err(bad(
                "invalid_grant",
                70000,
                "The authorization code was issued to a different client.",
            ));
        }
        if c.redirect_uri != redirect_uri {
            return Err(bad(
                "invalid_grant",
                50011,
                format!(
                    "The redirect URI '{redirect_uri}' does not match the one the authorization code was issued for."
                ),
            ));
        }
        if pkce_s256(verifier) != c.challenge {
            return Err(bad(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
        let who = c.who.clone();
        let req = c.request.clone();
        let client = c.client_id.clone();
        self.user_tokens(&mut inner, &client, &who, &req, &opts)
    }

    fn password_grant(
        &self,
        authority: Authority,
        f: &HashMap<String, String>,
    ) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
        let opts = TokenOptions::from_form(f)?;
        let req = self.parse_scopes(f.get("scope"))?;
        let username = field(f, "username")?;
        let password = f.get("password").map(String::as_str).unwrap_or("");
        let user = self.user(username)?;
        let tid = self.token_tenant(authority, user)?;
        if password != user.password {
            return Err(bad(
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            ));
        }
        if user.mfa {
            return Err(bad(
                "invalid_grant",
                50076,
                format!(
                    "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{}'.",
                    req.resource
                ),
            ));
        }
        let who = SignedIn {
            upn: user.upn.clone(),
            tid,
            sid: None,
        };
        let mut inner = self.lock();
        self.user_tokens(&mut inner, client_id, &who, &req, &opts)
    }

    fn refresh_grant(
        &self,
        authority: Authority,
        f: &HashMap<String, String>,
    ) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
        let opts = TokenOptions::from_form(f)?;
        let rt = field(f, "refresh_token")?;
        let req = self.parse_scopes(f.get("scope"))?;
        let mut inner = self.lock();
        let grant = inner.refresh.get(rt).ok_or_else(|| {
            bad(
                "invalid_grant",
                70008,
                "The provided refresh token has expired or was revoked. Sign in again.",
            )
        })?;
        if !grant.client_id.eq_ignore_ascii_case(client_id) {
            return Err(bad(
                "invalid_grant",
                70000,
                "The refresh token was issued to a different client.",
            ));
        }
        let mut who = grant.who.clone();
        if let Authority::Tenant(t) = authority
            && t != who.tid
        {
            let user = self.user(&who.upn)?;
            who.tid = self.token_tenant(authority, user)?;
        }
        if self.shared.config.single_use_refresh_tokens {
            inner.refresh.remove(rt);
        }
        let opts = TokenOptions {
            always_refresh: true,
            ..opts
        };
        self.user_tokens(&mut inner, client_id, &who, &req, &opts)
    }

    fn client_credentials_grant(
        &self,
        segment: &str,
        authority: Authority,
        f: &HashMap<String, String>,
    ) -> Result<Value, EntraError> {
        let Authority::Tenant(tid) = authority else {
            return Err(bad(
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials. Use a tenant-specific authority (the tenant's domain or id) for app-only sign-in.",
            ));
        };
        let req = self.parse_scopes(f.get("scope"))?;
        if req.offline || req.openid || req.profile {
            return Err(bad(
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier only.",
            ));
        }
        check_assertion_type(f)?;
        let assertion = field(f, "client_assertion")?;
        let app = self.verify_assertion(segment, assertion, f.get("client_id"))?;
        let app_id = app.app_id.to_string();
        if app.tenant_id != tid {
            return Err(bad(
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{app_id}' was not found in the directory '{segment}'."
                ),
            ));
        }
        if !app.roles.iter().any(|r| r == certs::MANAGE_AS_APP) {
            return Err(bad(
                "unauthorized_client",
                501051,
                format!(
                    "Application '{app_id}' ({}) is not assigned to a role for the application '{}' (it lacks {}).",
                    app.display_name,
                    req.resource,
                    certs::MANAGE_AS_APP
                ),
            ));
        }
        let now = chrono::Utc::now().timestamp();
        let lifetime = self.shared.config.token_lifetime.as_secs() as i64;
        let access = self.shared.keys.issue_access_token(&AccessClaims {
            aud: req.resource.clone(),
            iss: self.issuer(tid),
            tid: tid.to_string(),
            oid: app.app_id.to_string(),
            upn: None,
            scp: None,
            roles: Some(app.roles.clone()),
            appid: app_id,
            iat: now,
            nbf: now,
            exp: now + lifetime,
        });
        self.record_issued("access_tokens", &access);
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        }))
    }
}

/// `client_assertion_type` must be the JWT bearer type (a secret is not accepted).
fn check_assertion_type(f: &HashMap<String, String>) -> Result<(), EntraError> {
    match f.get("client_assertion_type").map(String::as_str) {
        Some(JWT_BEARER) => Ok(()),
        Some(other) => Err(bad(
            "invalid_request",
            50027,
            format!("client_assertion_type '{other}' is not supported; use {JWT_BEARER}."),
        )),
        None => Err(invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The sim's apps sign in with a certificate.".into(),
        )),
    }
}

/// A certificate client assertion's failure: `invalid_client` (401).
fn invalid_client(code: u32, message: String) -> EntraError {
    EntraError {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        code,
        message,
    }
}

impl AuthState {
    /// The app registration whose certificate (`x5t`) signed `assertion`, once the signature,
    /// `iss`/`sub`, `client_id`, `aud` (this token endpoint) and `exp` check out.
    fn verify_assertion(
        &self,
        segment: &str,
        assertion: &str,
        client_id: Option<&String>,
    ) -> Result<&AppRegistration, EntraError> {
        let (app, claims) = self.assertion_signer(assertion)?;
        let app_id = app.app_id.to_string();
        let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
        if !s("iss").eq_ignore_ascii_case(&app_id) || !s("sub").eq_ignore_ascii_case(&app_id) {
            return Err(invalid_client(
                700021,
                format!(
                    "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must both be the app id {app_id}."
                ),
            ));
        }
        if let Some(cid) = client_id
            && !cid.eq_ignore_ascii_case(&app_id)
        {
            return Err(invalid_client(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter."
                    .into(),
            ));
        }
        let token_endpoint = format!("{}/{segment}/oauth2/v2.0/token", self.shared.urls.login);
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == &token_endpoint,
            Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(&token_endpoint)),
            _ => false,
        };
        if !aud_ok {
            return Err(invalid_client(
                50013,
                format!(
                    "Assertion audience is invalid. The client assertion's aud claim must be the token endpoint {token_endpoint}."
                ),
            ));
        }
        let now = chrono::Utc::now().timestamp();
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now => Ok(app),
            _ => Err(invalid_client(
                700024,
                "Client assertion is not within its valid time range (exp missing or in the past)."
                    .into(),
            )),
        }
    }

    /// The app whose registered certificate matches the assertion's `x5t` and verifies its
    /// RS256 signature, with the assertion's claims.
    fn assertion_signer(&self, assertion: &str) -> Result<(&AppRegistration, Value), EntraError> {
        let hdr = jsonwebtoken::decode_header(assertion).map_err(|_| {
            invalid_client(
                50012,
                "The client assertion is not a well-formed JWT.".into(),
            )
        })?;
        if hdr.alg != jsonwebtoken::Algorithm::RS256 {
            return Err(invalid_client(
                5002738,
                "The client assertion must be signed with RS256.".into(),
            ));
        }
        let x5t = hdr.x5t.clone().unwrap_or_default();
        let app: &AppRegistration = self
            .shared
            .world
            .apps
            .iter()
            .find(|a| !x5t.is_empty() && a.x5t == x5t)
            .ok_or_else(|| {
                invalid_client(
                    700027,
                    format!(
                        "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{x5t}'] No certificate with this x5t is registered for any application."
                    ),
                )
            })?;
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
            .map_err(|_| invalid_client(700027, "The app's certificate key is unusable.".into()))?;
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.validate_aud = false;
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(assertion, &key, &v)
            .map_err(|_| {
                invalid_client(
                    700027,
                    "Client assertion contains an invalid signature. [Reason - The signature does not verify with the registered certificate.]".into(),
                )
            })?
            .claims;
        Ok((app, claims))
    }
}

pub(super) async fn devicecode(
    State(s): Shared,
    Path(tenant): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, EntraError> {
    let f = parse_form(&body);
    s.authority(&tenant)?;
    let client_id = field(&f, "client_id")?;
    check_public_client(client_id)?;
    let mut request = s.parse_scopes(f.get("scope"))?;
    request.claims = parse_claims(&f)?;
    let device_code = random_token(48);
    s.record_issued("device_codes", &device_code);
    let user_code = random_user_code();
    let lifetime = s.shared.config.device_code_lifetime;
    let interval = s.shared.config.device_code_interval;
    let verification_uri = format!("{}/devicelogin", s.shared.urls.login);
    let mut inner = s.lock();
    let now = Instant::now();
    // Forget codes that expired more than ten minutes ago.
    inner
        .device
        .retain(|_, g| g.expires + Duration::from_secs(600) > now);
    inner.device.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            client_id: client_id.to_string(),
            authority: tenant.clone(),
            request,
            expires: now + lifetime,
            interval,
            last_poll: None,
            status: DeviceStatus::Pending,
        },
    );
    drop(inner);
    Ok(axum::Json(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": lifetime.as_secs(),
        "interval": interval.as_secs(),
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
        ),
    }))
    .into_response())
}

pub(super) async fn token(
    State(s): Shared,
    Path(tenant): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, EntraError> {
    let _counted = s.token_request();
    let _all = s.shared.requests.enter();
    let delay = s.shared.config.token_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let f = parse_form(&body);
    let authority = s.authority(&tenant)?;
    let grant_type = field(&f, "grant_type")?;
    let body = match grant_type {
        DEVICE_CODE_GRANT => s.device_code_grant(&f)?,
        "authorization_code" => s.authorization_code_grant(&f)?,
        "password" => s.password_grant(authority, &f)?,
        "refresh_token" => s.refresh_grant(authority, &f)?,
        "client_credentials" => s.client_credentials_grant(&tenant, authority, &f)?,
        other => {
            return Err(bad(
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    };
    Ok(AuthState::token_response(body))
}
