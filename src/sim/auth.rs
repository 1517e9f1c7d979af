//! The Entra-like sign-in side of the sim: `/{tenant}/oauth2/v2.0/devicecode|authorize|token`,
//! `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`, and the
//! `/devicelogin` verification page (plain HTML forms; steps posted to `/login`).
//!
//! Choices worth knowing (the tests pin them):
//! - Refresh tokens rotate: a redeemed refresh token is gone (AADSTS70008 afterwards).
//! - The app registration without `Exchange.ManageAsApp` gets no token at all:
//!   `unauthorized_client` AADSTS501051 (the real service would issue a role-less token and the
//!   admin API would refuse it; refusing early gives the clearer message).
//! - Client credentials need a tenant-specific authority (AADSTS50059 at organizations/common).
//! - Device codes: a poll sooner than `interval` after the previous poll answers `slow_down`.

pub mod certs;
mod page;
pub mod totp;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use uuid::Uuid;

use super::SimShared;
use super::tokens::{AccessClaims, IdClaims};
use super::world::{AppRegistration, User};

/// The public client id of the Exchange Online PowerShell module (accepted in every tenant).
pub const PUBLIC_CLIENT_ID: &str = "fb78d390-0c51-40cd-8e17-fdbfab77341b";
/// Authorization codes live this long.
pub const AUTH_CODE_LIFETIME: Duration = Duration::from_secs(60);
/// A half-finished page sign-in is forgotten after this long.
const FLOW_LIFETIME: Duration = Duration::from_secs(15 * 60);

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Mutable state of the sign-in side (pending device codes, authorization codes, refresh tokens).
pub struct AuthState {
    pub shared: Arc<SimShared>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("pending_device_codes", &self.pending_device_codes())
            .field("refresh_tokens", &self.refresh_tokens_outstanding())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    /// By device code.
    device: HashMap<String, DeviceGrant>,
    /// By authorization code.
    codes: HashMap<String, AuthCode>,
    /// By refresh token.
    refresh: HashMap<String, RefreshGrant>,
    /// Page sign-ins in progress, by flow id.
    flows: HashMap<String, Flow>,
    refresh_issued: usize,
}

/// Who signed in, and for which tenant the tokens are (home or delegated customer).
#[derive(Clone, Debug)]
struct SignedIn {
    upn: String,
    tid: Uuid,
}

#[derive(Clone, Debug)]
struct ScopeRequest {
    /// The resource origin as the sim knows it (no trailing slash).
    resource: String,
    offline: bool,
    openid: bool,
    profile: bool,
}

impl ScopeRequest {
    fn scope_string(&self) -> String {
        let mut s = vec![format!("{}/.default", self.resource)];
        if self.offline {
            s.push("offline_access".into());
        }
        if self.openid {
            s.push("openid".into());
        }
        if self.profile {
            s.push("profile".into());
        }
        s.join(" ")
    }
}

#[derive(Debug)]
enum DeviceStatus {
    Pending,
    Approved(SignedIn),
    Declined,
    Redeemed,
}

struct DeviceGrant {
    user_code: String,
    client_id: String,
    /// The `{tenant}` path segment the code was requested at.
    authority: String,
    request: ScopeRequest,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    status: DeviceStatus,
}

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    who: SignedIn,
    request: ScopeRequest,
    expires: Instant,
    redeemed: bool,
}

struct RefreshGrant {
    client_id: String,
    who: SignedIn,
}

enum FlowKind {
    Device {
        device_code: String,
    },
    Authorize {
        client_id: String,
        redirect_uri: String,
        state: Option<String>,
        challenge: String,
        request: ScopeRequest,
    },
}

#[derive(Clone)]
enum Step {
    Account,
    Password(SignedIn),
    Mfa(SignedIn),
}

struct Flow {
    kind: FlowKind,
    authority: String,
    step: Step,
    expires: Instant,
}

/// An error in Entra's JSON shape.
#[derive(Debug)]
pub struct EntraError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

fn bad(error: &'static str, code: u32, message: impl Into<String>) -> EntraError {
    EntraError {
        status: StatusCode::BAD_REQUEST,
        error,
        code,
        message: message.into(),
    }
}

impl EntraError {
    fn description(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.message)
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        let trace = Uuid::new_v4();
        let correlation = Uuid::new_v4();
        let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "{} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}",
                self.description()
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace.to_string(),
            "correlation_id": correlation.to_string(),
        });
        let mut r = (self.status, axum::Json(body)).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
        r
    }
}

/// The `{tenant}` path segment, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Authority {
    /// `organizations` / `common`: the user's home tenant.
    Multi,
    Tenant(Uuid),
}

fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn random_user_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";
    let mut rng = rand::thread_rng();
    let mut s = String::new();
    for i in 0..8 {
        if i == 4 {
            s.push('-');
        }
        s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    s
}

fn normalize_user_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> Result<&'a str, EntraError> {
    match f.get(name).map(|s| s.trim()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(bad(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )),
    }
}

fn check_public_client(client_id: &str) -> Result<(), EntraError> {
    if client_id.eq_ignore_ascii_case(PUBLIC_CLIENT_ID) {
        Ok(())
    } else {
        Err(EntraError {
            status: StatusCode::BAD_REQUEST,
            error: "unauthorized_client",
            code: 700016,
            message: format!(
                "Application with identifier '{client_id}' was not found in the directory. \
                 The sim knows the public client {PUBLIC_CLIENT_ID} and its seeded app registrations."
            ),
        })
    }
}

/// `http://localhost[:port][/path]` or `http://127.0.0.1[:port][/path]`, no fragment.
fn valid_redirect_uri(uri: &str) -> bool {
    match url::Url::parse(uri) {
        Ok(u) => {
            u.scheme() == "http"
                && matches!(u.host_str(), Some("localhost") | Some("127.0.0.1"))
                && u.fragment().is_none()
                && u.username().is_empty()
        }
        Err(_) => false,
    }
}

fn pkce_s256(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

impl AuthState {
    pub fn new(shared: Arc<SimShared>) -> Arc<AuthState> {
        Arc::new(AuthState {
            shared,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Device codes issued and neither redeemed, declined nor expired.
    pub fn pending_device_codes(&self) -> usize {
        let now = Instant::now();
        self.lock()
            .device
            .values()
            .filter(|g| {
                g.expires > now
                    && matches!(g.status, DeviceStatus::Pending | DeviceStatus::Approved(_))
            })
            .count()
    }

    /// Refresh tokens currently redeemable.
    pub fn refresh_tokens_outstanding(&self) -> usize {
        self.lock().refresh.len()
    }

    /// Refresh tokens issued since start (rotation issues a new one per redemption).
    pub fn refresh_tokens_issued(&self) -> usize {
        self.lock().refresh_issued
    }

    /// Authorization codes issued and not yet redeemed.
    pub fn authorization_codes_outstanding(&self) -> usize {
        self.lock().codes.values().filter(|c| !c.redeemed).count()
    }

    /// Completes a pending device code as `upn` without the page (demos). The user must be
    /// allowed at the code's authority; MFA is considered done.
    pub fn approve_device_code(&self, user_code: &str, upn: &str) -> Result<(), String> {
        let mut inner = self.lock();
        let wanted = normalize_user_code(user_code);
        let grant = inner
            .device
            .values_mut()
            .find(|g| normalize_user_code(&g.user_code) == wanted)
            .ok_or_else(|| format!("no device code with user code {user_code}"))?;
        if grant.expires <= Instant::now() || !matches!(grant.status, DeviceStatus::Pending) {
            return Err(format!("the device code {user_code} is no longer pending"));
        }
        let authority = self
            .authority(&grant.authority)
            .map_err(|e| e.description())?;
        let user = self.user(upn).map_err(|e| e.description())?;
        let tid = self
            .token_tenant(authority, user)
            .map_err(|e| e.description())?;
        grant.status = DeviceStatus::Approved(SignedIn {
            upn: user.upn.clone(),
            tid,
        });
        Ok(())
    }

    fn authority(&self, segment: &str) -> Result<Authority, EntraError> {
        let s = segment.to_ascii_lowercase();
        if s == "organizations" || s == "common" {
            return Ok(Authority::Multi);
        }
        match self.shared.world.tenant(&s) {
            Some(t) => Ok(Authority::Tenant(t.id)),
            None => Err(bad(
                "invalid_tenant",
                90002,
                format!(
                    "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID \
                     and are signing into the correct cloud."
                ),
            )),
        }
    }

    fn user(&self, upn: &str) -> Result<&User, EntraError> {
        self.shared.world.user(upn).ok_or_else(|| {
            bad(
                "invalid_grant",
                50034,
                format!("The user account {upn} does not exist in the directory. To sign into this application, the account must be added to the directory."),
            )
        })
    }

    /// The tenant the user's tokens are for at `authority`: home, or a customer delegated to
    /// the user's (partner) home tenant.
    fn token_tenant(&self, authority: Authority, user: &User) -> Result<Uuid, EntraError> {
        match authority {
            Authority::Multi => Ok(user.tenant_id),
            Authority::Tenant(t) if t == user.tenant_id => Ok(t),
            Authority::Tenant(t) => {
                let delegated = self
                    .shared
                    .world
                    .tenants
                    .iter()
                    .any(|h| h.id == user.tenant_id && h.delegated_customers.contains(&t));
                if delegated {
                    Ok(t)
                } else {
                    let name = self
                        .shared
                        .world
                        .tenants
                        .iter()
                        .find(|x| x.id == t)
                        .map(|x| x.display_name.clone())
                        .unwrap_or_default();
                    Err(bad(
                        "invalid_grant",
                        50020,
                        format!(
                            "User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{name}' and cannot access the application '{PUBLIC_CLIENT_ID}' in that tenant.",
                            user.upn, user.tenant_id
                        ),
                    ))
                }
            }
        }
    }

    /// The resource origins the sim serves tokens for.
    fn resource(&self, r: &str) -> Option<String> {
        let r = r.trim_end_matches('/');
        let urls = &self.shared.urls;
        [&urls.exo, &urls.scc]
            .into_iter()
            .find(|u| u.trim_end_matches('/').eq_ignore_ascii_case(r))
            .map(|u| u.trim_end_matches('/').to_string())
    }

    fn parse_scopes(&self, scope: Option<&String>) -> Result<ScopeRequest, EntraError> {
        let scope = scope.map(|s| s.trim()).unwrap_or("");
        let mut req = ScopeRequest {
            resource: String::new(),
            offline: false,
            openid: false,
            profile: false,
        };
        let mut resources = Vec::new();
        for s in scope.split_whitespace() {
            match s {
                "offline_access" => req.offline = true,
                "openid" => req.openid = true,
                "profile" | "email" => req.profile = true,
                other => {
                    let (res, _perm) = other.rsplit_once('/').unwrap_or((other, ""));
                    match self.resource(res) {
                        Some(r) => resources.push(r),
                        None => {
                            return Err(bad(
                                "invalid_resource",
                                500011,
                                format!(
                                    "The resource principal named {res} was not found in the tenant. \
                                     Valid resources are {}/.default (Exchange Online) and {}/.default (Security & Compliance).",
                                    self.shared.urls.exo, self.shared.urls.scc
                                ),
                            ));
                        }
                    }
                }
            }
        }
        resources.dedup();
        match resources.len() {
            1 => {
                req.resource = resources.remove(0);
                Ok(req)
            }
            0 => Err(bad(
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid: it names no resource. Ask for {}/.default or {}/.default.",
                    self.shared.urls.exo, self.shared.urls.scc
                ),
            )),
            _ => Err(bad(
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains more than one resource. Ask for one resource per request.",
            )),
        }
    }

    fn scp_for(&self, resource: &str) -> &'static str {
        if resource == self.shared.urls.scc.trim_end_matches('/') {
            "Compliance.Manage"
        } else {
            "Exchange.Manage"
        }
    }

    fn issuer(&self, tid: Uuid) -> String {
        format!("{}/{tid}/v2.0", self.shared.urls.login)
    }

    /// Issues access (+ refresh, + ID) tokens for a signed-in user; the JSON body of the answer.
    fn user_tokens(
        &self,
        inner: &mut Inner,
        client_id: &str,
        who: &SignedIn,
        req: &ScopeRequest,
        always_refresh: bool,
    ) -> Result<Value, EntraError> {
        let user = self.user(&who.upn)?;
        let now = chrono::Utc::now().timestamp();
        let lifetime = self.shared.config.token_lifetime.as_secs() as i64;
        let access = self.shared.keys.issue_access_token(&AccessClaims {
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
        });
        let mut body = json!({
            "token_type": "Bearer",
            "scope": req.scope_string(),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        });
        if req.offline || always_refresh {
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
            body["id_token"] = json!(self.shared.keys.issue_id_token(&IdClaims {
                aud: client_id.to_string(),
                iss: self.issuer(who.tid),
                tid: who.tid.to_string(),
                oid: user.oid.to_string(),
                preferred_username: user.upn.clone(),
                name: user.display_name.clone(),
                iat: now,
                exp: now + lifetime,
            }));
        }
        Ok(body)
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
            DeviceStatus::Pending => {
                let too_soon = grant
                    .last_poll
                    .is_some_and(|t| now.duration_since(t) < grant.interval);
                grant.last_poll = Some(now);
                if too_soon {
                    Err(bad(
                        "slow_down",
                        70016,
                        format!(
                            "OAuth 2.0 device flow error. Authorization is pending, and the client polled faster than the interval of {} s. Slow down.",
                            grant.interval.as_secs()
                        ),
                    ))
                } else {
                    Err(bad(
                        "authorization_pending",
                        70016,
                        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                    ))
                }
            }
            DeviceStatus::Approved(who) => {
                let who = who.clone();
                let req = grant.request.clone();
                let client = grant.client_id.clone();
                grant.status = DeviceStatus::Redeemed;
                self.user_tokens(&mut inner, &client, &who, &req, false)
            }
            DeviceStatus::Redeemed => Err(unknown()),
        }
    }

    fn authorization_code_grant(&self, f: &HashMap<String, String>) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
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
        self.user_tokens(&mut inner, &client, &who, &req, false)
    }

    fn password_grant(
        &self,
        authority: Authority,
        f: &HashMap<String, String>,
    ) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
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
        };
        let mut inner = self.lock();
        self.user_tokens(&mut inner, client_id, &who, &req, false)
    }

    fn refresh_grant(
        &self,
        authority: Authority,
        f: &HashMap<String, String>,
    ) -> Result<Value, EntraError> {
        let client_id = field(f, "client_id")?;
        check_public_client(client_id)?;
        let rt = field(f, "refresh_token")?;
        let req = self.parse_scopes(f.get("scope"))?;
        let mut inner = self.lock();
        let grant = inner.refresh.get(rt).ok_or_else(|| {
            bad(
                "invalid_grant",
                70008,
                "The provided refresh token has expired or was revoked (refresh tokens are single-use: use the one returned with the last token). Sign in again.",
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
        inner.refresh.remove(rt);
        self.user_tokens(&mut inner, client_id, &who, &req, true)
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
        match f.get("client_assertion_type").map(String::as_str) {
            Some(JWT_BEARER) => {}
            Some(other) => {
                return Err(bad(
                    "invalid_request",
                    50027,
                    format!("client_assertion_type '{other}' is not supported; use {JWT_BEARER}."),
                ));
            }
            None => {
                return Err(EntraError {
                    status: StatusCode::UNAUTHORIZED,
                    error: "invalid_client",
                    code: 7000218,
                    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The sim's apps sign in with a certificate.".into(),
                });
            }
        }
        let assertion = field(f, "client_assertion")?;
        let invalid_client = |code: u32, message: String| EntraError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            code,
            message,
        };
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
        if let Some(cid) = f.get("client_id")
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
            Some(exp) if exp > now => {}
            _ => {
                return Err(invalid_client(
                    700024,
                    "Client assertion is not within its valid time range (exp missing or in the past).".into(),
                ));
            }
        }
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
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        }))
    }
}

// ---- HTTP handlers ----

type Shared = State<Arc<AuthState>>;

async fn openid_configuration(
    State(s): Shared,
    Path(tenant): Path<String>,
) -> Result<Response, EntraError> {
    let authority = s.authority(&tenant)?;
    let login = &s.shared.urls.login;
    let issuer = match authority {
        Authority::Multi => format!("{login}/{{tenantid}}/v2.0"),
        Authority::Tenant(t) => format!("{login}/{t}/v2.0"),
    };
    let base = format!("{login}/{tenant}");
    Ok(axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code", "refresh_token", "password", "client_credentials", DEVICE_CODE_GRANT
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["aud", "iss", "iat", "exp", "tid", "oid", "upn", "preferred_username", "name"],
        "tenant_region_scope": "WW",
        "cloud_instance_name": "sim.exo-connect.invalid",
    }))
    .into_response())
}

async fn jwks(State(s): Shared, Path(tenant): Path<String>) -> Result<Response, EntraError> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    s.authority(&tenant)?;
    let key = rsa::RsaPublicKey::from_public_key_pem(&s.shared.keys.public_key_pem)
        .expect("sim public key");
    let b64 = |b: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    Ok(axum::Json(json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": s.shared.keys.kid,
            "n": b64(key.n().to_bytes_be()),
            "e": b64(key.e().to_bytes_be()),
        }]
    }))
    .into_response())
}

async fn devicecode(
    State(s): Shared,
    Path(tenant): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, EntraError> {
    let f = parse_form(&body);
    s.authority(&tenant)?;
    let client_id = field(&f, "client_id")?;
    check_public_client(client_id)?;
    let request = s.parse_scopes(f.get("scope"))?;
    let device_code = random_token(48);
    let user_code = random_user_code();
    let lifetime = s.shared.config.device_code_lifetime;
    let interval = s.shared.config.device_code_interval;
    let verification_uri = format!("{}/devicelogin", s.shared.urls.login);
    s.lock().device.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            client_id: client_id.to_string(),
            authority: tenant.clone(),
            request,
            expires: Instant::now() + lifetime,
            interval,
            last_poll: None,
            status: DeviceStatus::Pending,
        },
    );
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

async fn token(
    State(s): Shared,
    Path(tenant): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, EntraError> {
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

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    r
}

fn redirect(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = location.parse() {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    r
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
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

async fn authorize(
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
    let fail = |e: EntraError| {
        let desc = e.description();
        let mut p = vec![("error", e.error), ("error_description", desc.as_str())];
        if let Some(st) = &state {
            p.push(("state", st.as_str()));
        }
        redirect_with(redirect_uri, &p)
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return fail(bad(
            "unsupported_response_type",
            700054,
            "response_type must be 'code'.",
        ));
    }
    let request = match s.parse_scopes(q.get("scope")) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let challenge = q.get("code_challenge").map(|s| s.trim()).unwrap_or("");
    if challenge.is_empty() {
        return fail(bad(
            "invalid_request",
            9002325,
            "Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.",
        ));
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return fail(bad(
            "invalid_request",
            501491,
            "Invalid code_challenge_method: only S256 is accepted (plain is refused).",
        ));
    }
    let flow_id = random_token(24);
    s.lock().flows.insert(
        flow_id.clone(),
        Flow {
            kind: FlowKind::Authorize {
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                state,
                challenge: challenge.to_string(),
                request,
            },
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

async fn devicelogin_get() -> Response {
    html(StatusCode::OK, page::enter_code(None, ""))
}

async fn devicelogin_post(State(s): Shared, RawForm(body): RawForm) -> Response {
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
async fn login_step(State(s): Shared, RawForm(body): RawForm) -> Response {
    let f = parse_form(&body);
    let flow_id = f.get("flow").cloned().unwrap_or_default();
    let action = f.get("action").map(String::as_str).unwrap_or("next");
    let mut inner = s.lock();
    let now = Instant::now();
    let Some(flow) = inner.flows.get(&flow_id).filter(|fl| fl.expires > now) else {
        return html(
            StatusCode::BAD_REQUEST,
            page::message(
                "Sign-in expired",
                "This sign-in page has expired or is unknown. Start again from the app (or /devicelogin).",
                true,
            ),
        );
    };
    // A device sign-in whose code has expired in the meantime ends here.
    if let FlowKind::Device { device_code } = &flow.kind {
        let expired = inner
            .device
            .get(device_code)
            .is_none_or(|g| g.expires <= now || !matches!(g.status, DeviceStatus::Pending));
        if expired {
            inner.flows.remove(&flow_id);
            return html(
                StatusCode::OK,
                page::message(
                    "Code expired",
                    "The code has expired or was already used. Go back to the app or device and request a new code.",
                    true,
                ),
            );
        }
    }
    if action == "cancel" {
        let flow = inner.flows.remove(&flow_id).expect("flow present");
        return match flow.kind {
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
        };
    }
    let step = flow.step.clone();
    let authority_segment = flow.authority.clone();
    let signed_in = match step {
        Step::Account => {
            let login = f.get("login").map(String::as_str).unwrap_or("").trim();
            let retry = |msg: &str| page::account(&flow_id, "Sign in", Some(msg), login);
            if login.is_empty() {
                return html(
                    StatusCode::OK,
                    retry("Enter your account name (user@domain)."),
                );
            }
            let Some(user) = s.shared.world.user(login) else {
                return html(
                    StatusCode::OK,
                    retry(
                        "AADSTS50034: We couldn't find an account with that username. Try another account.",
                    ),
                );
            };
            let tid = match s
                .authority(&authority_segment)
                .and_then(|a| s.token_tenant(a, user))
            {
                Ok(t) => t,
                Err(e) => return html(StatusCode::OK, retry(&e.description())),
            };
            let who = SignedIn {
                upn: user.upn.clone(),
                tid,
            };
            if let Some(fl) = inner.flows.get_mut(&flow_id) {
                fl.step = Step::Password(who.clone());
            }
            return html(StatusCode::OK, page::password(&flow_id, &who.upn, None));
        }
        Step::Password(who) => {
            let pw = f.get("passwd").map(String::as_str).unwrap_or("");
            let Some(user) = s.shared.world.user(&who.upn) else {
                return html(
                    StatusCode::OK,
                    page::message("Sign-in error", "Unknown account.", true),
                );
            };
            if pw != user.password {
                return html(
                    StatusCode::OK,
                    page::password(
                        &flow_id,
                        &who.upn,
                        Some("AADSTS50126: Your account or password is incorrect."),
                    ),
                );
            }
            if user.mfa {
                if let Some(fl) = inner.flows.get_mut(&flow_id) {
                    fl.step = Step::Mfa(who.clone());
                }
                return html(StatusCode::OK, page::verify(&flow_id, &who.upn, None));
            }
            who
        }
        Step::Mfa(who) => {
            let code = f.get("otc").map(String::as_str).unwrap_or("");
            let ok = s
                .shared
                .world
                .user(&who.upn)
                .is_some_and(|u| totp::verify(&u.totp_secret, code, totp::now_unix()));
            if !ok {
                return html(
                    StatusCode::OK,
                    page::verify(
                        &flow_id,
                        &who.upn,
                        Some(
                            "The code you entered is wrong or has expired. Enter the current 6-digit code.",
                        ),
                    ),
                );
            }
            who
        }
    };
    let flow = inner.flows.remove(&flow_id).expect("flow present");
    match flow.kind {
        FlowKind::Device { device_code } => {
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
            inner.codes.retain(|_, c| c.expires > now);
            inner.codes.insert(
                code.clone(),
                AuthCode {
                    client_id,
                    redirect_uri: redirect_uri.clone(),
                    challenge,
                    who: signed_in,
                    request,
                    expires: now + AUTH_CODE_LIFETIME,
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

async fn index(State(s): Shared) -> Response {
    html(
        StatusCode::OK,
        page::page(
            "Simulated sign-in",
            &format!(
                "<p>Authority: {0}/organizations. Device sign-in: <a href=\"/devicelogin\">{0}/devicelogin</a>.</p>",
                page::esc(&s.shared.urls.login)
            ),
        ),
    )
}

pub fn router(state: Arc<AuthState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/devicelogin", get(devicelogin_get).post(devicelogin_post))
        .route("/login", post(login_step))
        .with_state(state)
}

impl super::SimHandle {
    /// The current 6-digit TOTP of an account (what its authenticator app would show).
    pub fn current_totp(&self, upn: &str) -> Option<String> {
        let user = self.shared.world.user(upn)?;
        totp::totp(&user.totp_secret, totp::now_unix())
    }

    /// The seeded app registrations (with their private key and certificate PEMs).
    pub fn apps(&self) -> &[AppRegistration] {
        &self.shared.world.apps
    }

    /// An app registration by display name.
    pub fn app(&self, display_name: &str) -> Option<&AppRegistration> {
        self.shared
            .world
            .apps
            .iter()
            .find(|a| a.display_name == display_name)
    }
}
