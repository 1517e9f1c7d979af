//! The Entra-like sign-in side of the sim: `/{tenant}/oauth2/v2.0/devicecode|authorize|token`,
//! `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`, and the
//! `/devicelogin` verification page (plain HTML forms; steps posted to `/login`).
//!
//! Choices worth knowing (the tests pin them):
//! - Refresh tokens rotate: each redemption hands out a new one; the redeemed one keeps working,
//!   as in Entra, unless `SimConfig::single_use_refresh_tokens` (then AADSTS70008 afterwards).
//! - The app registration without `Exchange.ManageAsApp` gets no token at all:
//!   `unauthorized_client` AADSTS501051 (the real service would issue a role-less token and the
//!   admin API would refuse it; refusing early gives the clearer message).
//! - Client credentials need a tenant-specific authority (AADSTS50059 at organizations/common).
//! - Device codes: a poll sooner than `interval` after the previous poll answers `slow_down`.
//! - Tokens as Microsoft's client libraries expect them: ID tokens carry `sub` (pairwise),
//!   `oid`, `tid`, `preferred_username`, `name`, `ver` 2.0, `aud`, `iss`, `iat`, `nbf`, `exp`
//!   and the authorize request's `nonce`; access tokens also `sub`, `uti`, `ver`, `sid`
//!   (sign-in session), `acrs`/`xms_cc` from a `claims` parameter; `client_info` (base64url
//!   `{"uid","utid"}`) when the request has `client_info=1`. `GET /common/userrealm/<upn>`
//!   (account type discovery) and `/common/discovery/instance` answer what MSAL asks first.
//! - `claims` is accepted on devicecode, authorize and every token grant: it answers a
//!   continuous access evaluation challenge ([`crate::sim::cae`]).
//! - Conditional access can refuse the device-code flow per account ([`CA_BLOCKED`],
//!   AADSTS53003; `SimConfig::device_code_blocked`, [`AuthState::block_device_code`]).
//! - `SimConfig::public_login` advertises another origin (a TLS front) in metadata, issuers and
//!   the verification URI.

pub mod certs;
mod flows;
mod grants;
pub mod issued;
mod metadata;
mod page;
mod proto;
pub mod totp;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use uuid::Uuid;

use self::proto::{EntraError, bad, normalize_user_code};
use super::SimShared;
use super::world::{AppRegistration, User};

/// The public client id of the Exchange Online PowerShell module (accepted in every tenant).
pub const PUBLIC_CLIENT_ID: &str = "fb78d390-0c51-40cd-8e17-fdbfab77341b";
/// What Entra answers when conditional access refuses a sign-in, e.g. a policy that blocks the
/// device-code authentication flow. Microsoft documents the code in "Microsoft Entra
/// authentication and authorization error codes" (learn.microsoft.com/entra/identity-platform/
/// reference-error-codes: "AADSTS53003 BlockedByConditionalAccess - Access has been blocked by
/// Conditional Access policies. The access policy does not allow token issuance."); the policy
/// itself is described in "Block authentication flows with Conditional Access policy"
/// (learn.microsoft.com/entra/identity/conditional-access/policy-block-authentication-flows),
/// and Microsoft Q&A answers name it the same way ("Error 53003 (BlockedByConditionalAccess)
/// indicates that Conditional Access policies are blocking sign-in"). The fix for the user is
/// another flow: browser sign-in (authorization code with PKCE).
pub const CA_BLOCKED: (u32, &str) = (
    53003,
    "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance. (The device code flow is blocked for this account: sign in with the browser instead.)",
);
/// A half-finished page sign-in is forgotten after this long.
const FLOW_LIFETIME: Duration = Duration::from_secs(15 * 60);

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Mutable state of the sign-in side (pending device codes, authorization codes, refresh tokens).
pub struct AuthState {
    pub shared: Arc<SimShared>,
    inner: Mutex<Inner>,
    /// Accounts for which conditional access blocks the device-code flow (lower case).
    device_code_blocked: Mutex<std::collections::HashSet<String>>,
    /// Every token and code handed out (see [`issued`]).
    issued: Mutex<issued::Issued>,
    /// Token requests being answered now, and the most at once since start.
    token_requests: (AtomicUsize, AtomicUsize),
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
    /// The sign-in session (`sid`), set when its first tokens are issued; refreshes keep it.
    sid: Option<String>,
}

#[derive(Clone, Debug)]
struct ScopeRequest {
    /// The resource origin as the sim knows it (no trailing slash).
    resource: String,
    offline: bool,
    openid: bool,
    profile: bool,
    /// The `claims` request parameter of the devicecode/authorize request (JSON).
    claims: Option<serde_json::Value>,
    /// The authorize request's `nonce` (echoed in the ID token).
    nonce: Option<String>,
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
    /// Conditional access refused the device-code flow for the account (AADSTS53003).
    Blocked,
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

/// The `{tenant}` path segment, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Authority {
    /// `organizations` / `common`: the user's home tenant.
    Multi,
    Tenant(Uuid),
}

impl AuthState {
    pub fn new(shared: Arc<SimShared>) -> Arc<AuthState> {
        let blocked = shared
            .config
            .device_code_blocked
            .iter()
            .map(|u| u.to_ascii_lowercase())
            .collect();
        Arc::new(AuthState {
            shared,
            inner: Mutex::new(Inner::default()),
            device_code_blocked: Mutex::new(blocked),
            issued: Mutex::new(issued::Issued::default()),
            token_requests: Default::default(),
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

    /// Conditional access: refuse (true) or allow again (false) the device-code flow for an
    /// account. A refused account can still finish the page, which then says "You cannot access
    /// this right now", and the app's poll answers `invalid_grant` AADSTS53003 (see [`CA_BLOCKED`]).
    pub fn block_device_code(&self, upn: &str, blocked: bool) {
        let mut set = self
            .device_code_blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if blocked {
            set.insert(upn.to_ascii_lowercase());
        } else {
            set.remove(&upn.to_ascii_lowercase());
        }
    }

    fn device_code_blocked_for(&self, upn: &str) -> bool {
        self.device_code_blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&upn.to_ascii_lowercase())
    }

    /// Revokes every refresh token of an account (Entra's "revoke sessions"): only an
    /// interactive sign-in gets it tokens again. Returns how many were revoked.
    pub fn revoke_refresh_tokens(&self, upn: &str) -> usize {
        let mut inner = self.lock();
        let before = inner.refresh.len();
        inner
            .refresh
            .retain(|_, g| !g.who.upn.eq_ignore_ascii_case(upn));
        before - inner.refresh.len()
    }

    /// Refresh tokens currently redeemable.
    pub fn refresh_tokens_outstanding(&self) -> usize {
        self.lock().refresh.len()
    }

    /// The most token requests (any grant) that were being answered at once since start.
    pub fn most_token_requests_at_once(&self) -> usize {
        self.token_requests.1.load(Ordering::Relaxed)
    }

    /// Counts a token request in until the returned guard drops.
    fn token_request(&self) -> impl Drop + '_ {
        struct Out<'a>(&'a AtomicUsize);
        impl Drop for Out<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let (now, most) = &self.token_requests;
        let n = now.fetch_add(1, Ordering::Relaxed) + 1;
        most.fetch_max(n, Ordering::Relaxed);
        Out(now)
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
        if self.device_code_blocked_for(&user.upn) {
            grant.status = DeviceStatus::Blocked;
            return Err(format!("AADSTS{}: {}", CA_BLOCKED.0, CA_BLOCKED.1));
        }
        let tid = self
            .token_tenant(authority, user)
            .map_err(|e| e.description())?;
        grant.status = DeviceStatus::Approved(SignedIn {
            upn: user.upn.clone(),
            tid,
            sid: None,
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
            claims: None,
            nonce: None,
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
}

type Shared = State<Arc<AuthState>>;

pub fn router(state: Arc<AuthState>) -> Router {
    use flows::{authorize, devicelogin_get, devicelogin_post, login_step};
    use grants::{devicecode, token};
    use metadata::{index, instance_discovery, jwks, openid_configuration, userrealm};
    let router = Router::new()
        .route("/", get(index))
        .route("/common/userrealm/{upn}", get(userrealm))
        .route("/common/discovery/instance", get(instance_discovery))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/devicelogin", get(devicelogin_get).post(devicelogin_post))
        .route("/login", post(login_step));
    // The issued secrets, for tests that scan a client's files for them: loopback only.
    let router = if state.shared.config.listen.ip().is_loopback() {
        router.route("/sim/issued", get(issued::issued))
    } else {
        router
    };
    router.with_state(state)
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
