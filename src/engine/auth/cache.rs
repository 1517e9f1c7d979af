//! The token cache: refresh tokens in the keychain ([`SecretStore`]), access tokens in memory,
//! refreshed ahead of expiry and on demand after a 401; the sign-in entry point; and the
//! [`TokenProvider`] the REST client uses.
//!
//! It does not build HTTP clients: a sign-in takes the profile's client (built by the proxy
//! side, `engine::proxy::Clients`) and remembers it for that account's refreshes; without one,
//! the cache's shared client is used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::browser::{self, BrowserLauncher, SystemBrowser};
use super::cert::ClientCertificate;
use super::claims::decode_claims;
use super::flows::{self, FlowCtx, TokenGrant};
use super::transport::OAuthHttp;
use super::{
    Events, SignInError, SignInEvent, app_scope, authority_for, delegated_scope, is_china,
    resource_for,
};
use crate::engine::http::host_of;
use crate::engine::secrets::{
    Forgotten, REFRESH_PREFIX, SecretStore, cert_password_key, describe_key, proxy_password_key,
    refresh_key, refresh_key_account,
};
use crate::engine::token::{AccessToken, TokenProvider, TokenUnavailable};
use crate::model::{AuthMethod, Profile, SignInMethod};

mod forget;
mod redeem;

/// Options of one interactive sign-in.
#[derive(Clone)]
pub struct SignInOptions {
    /// Overrides the profile's method.
    pub method: Option<SignInMethod>,
    /// Password for the password method (never stored).
    pub password: Option<String>,
    pub browser: Arc<dyn BrowserLauncher>,
    pub events: Option<tokio::sync::mpsc::UnboundedSender<SignInEvent>>,
    pub cancel: CancellationToken,
    /// Upper bound of every wait (the user finishing in the browser included). Default 15 min.
    pub timeout: Duration,
    /// The profile's HTTP client (its proxy route, from `engine::proxy::Clients`); None: the
    /// cache's shared client.
    pub http: Option<reqwest::Client>,
    /// A claims challenge's decoded JSON this sign-in answers (continuous access evaluation,
    /// when the refresh token could not): sent with the interactive requests.
    pub claims: Option<String>,
}

impl Default for SignInOptions {
    fn default() -> Self {
        SignInOptions {
            method: None,
            password: None,
            browser: Arc::new(SystemBrowser),
            events: None,
            cancel: CancellationToken::new(),
            timeout: Duration::from_secs(15 * 60),
            http: None,
            claims: None,
        }
    }
}

impl std::fmt::Debug for SignInOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInOptions")
            .field("method", &self.method)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The result of a sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account that signed in (UPN), or the app id for app-only.
    pub account: String,
    pub tenant_id: String,
    pub expires_at: DateTime<Utc>,
    /// The authority used (tenant-specific when the profile asked).
    pub authority: String,
    /// The access token for the profile's resource.
    pub access: AccessToken,
    /// (expected, actual) when single sign-on returned another account than the profile's UPN.
    pub upn_mismatch: Option<(String, String)>,
    /// True when no prompt was needed: the cached refresh token (or access token) served.
    pub silent: bool,
}

struct AppCredential {
    app_id: String,
    cert: Arc<ClientCertificate>,
}

/// Refresh tokens in the keychain, access tokens in memory. Share it as `Arc<TokenCache>`.
pub struct TokenCache {
    http: OAuthHttp,
    secrets: SecretStore,
    access: Mutex<HashMap<String, AccessToken>>,
    apps: Mutex<HashMap<String, Arc<AppCredential>>>,
    /// Who may redeem a refresh token when (see `redeem`).
    redemptions: redeem::Redemptions,
    refresh_margin: chrono::Duration,
    /// Per (authority, account): the HTTP path of the profile that signed in (its proxy).
    routes: Mutex<HashMap<String, OAuthHttp>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

fn access_key(authority: &str, account: &str, resource: &str) -> String {
    format!(
        "{}|{}|{}",
        authority.trim_end_matches('/').to_ascii_lowercase(),
        account.trim().to_ascii_lowercase(),
        resource.trim_end_matches('/').to_ascii_lowercase()
    )
}

fn app_key(authority: &str, app_id: &str) -> String {
    format!(
        "{}|{}",
        authority.trim_end_matches('/').to_ascii_lowercase(),
        app_id.to_ascii_lowercase()
    )
}

fn to_access(grant: &TokenGrant, resource: &str, fallback_account: Option<&str>) -> AccessToken {
    let at = decode_claims(&grant.access_token);
    let id = grant.id_token.as_deref().and_then(decode_claims);
    let tenant_id = id
        .as_ref()
        .and_then(|c| c.tid.clone())
        .or_else(|| at.as_ref().and_then(|c| c.tid.clone()))
        .unwrap_or_default();
    let account = id
        .as_ref()
        .and_then(|c| c.account())
        .or_else(|| at.as_ref().and_then(|c| c.account()))
        .or_else(|| fallback_account.map(String::from));
    AccessToken {
        secret: grant.access_token.clone(),
        expires_at: grant.expires_at,
        tenant_id,
        account,
        resource: resource.trim_end_matches('/').to_string(),
    }
}

/// The password grant; when the account needs MFA (which a password sign-in cannot do), the
/// device code instead, said with `MfaRequired` (21Vianet has no device code for MFA).
async fn password_then_device_code(
    ctx: &FlowCtx,
    profile: &Profile,
    (authority, scope): (&str, &str),
    hint: Option<&str>,
    password: &str,
) -> Result<TokenGrant, SignInError> {
    let user = hint.ok_or_else(|| {
        SignInError::Config(format!(
            "profile '{}': the password method needs the profile's UPN",
            profile.name
        ))
    })?;
    match flows::password(ctx, authority, scope, user, password).await {
        Ok(g) => Ok(g),
        Err(SignInError::Entra(e)) if e.needs_interactive_mfa() => {
            if is_china(profile) {
                return Err(SignInError::ChinaMfa);
            }
            ctx.events.emit(SignInEvent::MfaRequired {
                explanation: format!(
                    "{} Continuing with a device-code sign-in, which supports MFA.",
                    e.known().map(|k| k.meaning).unwrap_or(
                        "This account needs multi-factor authentication, which a password sign-in cannot do."
                    )
                ),
            });
            flows::device_code(ctx, authority, scope).await
        }
        Err(e) => Err(e),
    }
}

impl TokenCache {
    /// A cache over the shared HTTP client and a secret store.
    pub fn new(client: reqwest::Client, secrets: SecretStore) -> Arc<TokenCache> {
        Self::with_refresh_margin(client, secrets, Duration::from_secs(5 * 60))
    }

    /// Same, refreshing access tokens `margin` before they expire (default 5 minutes).
    pub fn with_refresh_margin(
        client: reqwest::Client,
        secrets: SecretStore,
        margin: Duration,
    ) -> Arc<TokenCache> {
        Arc::new(TokenCache {
            http: OAuthHttp::new(client),
            secrets,
            access: Mutex::new(HashMap::new()),
            apps: Mutex::new(HashMap::new()),
            redemptions: redeem::Redemptions::default(),
            refresh_margin: chrono::Duration::from_std(margin)
                .unwrap_or(chrono::Duration::minutes(5)),
            routes: Mutex::new(HashMap::new()),
        })
    }

    /// The profile's HTTP path (`client`, else the shared client), remembered for its
    /// (authority, account) so refreshes take the same route.
    fn http_for(
        &self,
        profile: &Profile,
        authority: &str,
        client: Option<&reqwest::Client>,
    ) -> OAuthHttp {
        let http = match client {
            Some(c) => OAuthHttp::new(c.clone()),
            None => self.http.clone(),
        };
        let account = profile.sign_in_account().to_string();
        self.routes
            .lock()
            .unwrap()
            .insert(app_key(authority, &account), http.clone());
        http
    }

    fn route_http(&self, authority: &str, account: &str) -> OAuthHttp {
        self.routes
            .lock()
            .unwrap()
            .get(&app_key(authority, account))
            .cloned()
            .unwrap_or_else(|| self.http.clone())
    }

    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    pub fn http(&self) -> &OAuthHttp {
        &self.http
    }

    fn put_access(&self, authority: &str, account: &str, token: &AccessToken) {
        self.access.lock().unwrap().insert(
            access_key(authority, account, &token.resource),
            token.clone(),
        );
    }

    /// Interactive sign-in with the profile's (or the overriding) method. Stores the refresh
    /// token in the keychain under the account that actually signed in.
    pub async fn sign_in(
        &self,
        profile: &Profile,
        opts: SignInOptions,
    ) -> Result<SignedIn, SignInError> {
        let events = Events(opts.events.clone());
        // Cancel works at any step (including the password and certificate requests).
        let r = tokio::select! {
            biased;
            _ = opts.cancel.cancelled() => Err(SignInError::Cancelled),
            r = self.sign_in_inner(profile, &opts, &events) => r,
        };
        if let Ok(s) = &r {
            let key_from = app_key(&s.authority, profile.sign_in_account());
            let mut routes = self.routes.lock().unwrap();
            if let Some(h) = routes.get(&key_from).cloned() {
                routes.insert(app_key(&s.authority, &s.account), h);
            }
        }
        match &r {
            Ok(s) => tracing::info!(
                profile = profile.name,
                account = s.account,
                tenant = s.tenant_id,
                authority = host_of(&s.authority),
                "signed in"
            ),
            Err(e) => tracing::warn!(
                profile = profile.name,
                error = e.explanation(),
                "sign-in failed"
            ),
        }
        match &r {
            Ok(s) => events.emit(SignInEvent::Succeeded {
                account: s.account.clone(),
                tenant_id: s.tenant_id.clone(),
                expires_at: s.expires_at,
            }),
            Err(e) => events.emit(SignInEvent::Failed {
                explanation: e.explanation(),
            }),
        }
        r
    }

    async fn sign_in_inner(
        &self,
        profile: &Profile,
        opts: &SignInOptions,
        events: &Events,
    ) -> Result<SignedIn, SignInError> {
        let authority = authority_for(profile)?;
        let resource = resource_for(profile)?;
        let method = opts.method.unwrap_or_else(|| profile.auth.method());
        let http = self.http_for(profile, &authority, opts.http.as_ref());
        let ctx = FlowCtx {
            http: http.clone(),
            events: events.clone(),
            cancel: opts.cancel.clone(),
            timeout: opts.timeout,
            claims: opts.claims.clone(),
        };
        if method == SignInMethod::Certificate {
            return self.sign_in_app(profile, &authority, &resource).await;
        }
        let scope = delegated_scope(&resource);
        let hint = Some(profile.upn.as_str()).filter(|u| !u.is_empty());
        let grant = match method {
            SignInMethod::DeviceCode => flows::device_code(&ctx, &authority, &scope).await?,
            SignInMethod::Browser => {
                browser::run(&ctx, opts.browser.as_ref(), &authority, &scope, hint).await?
            }
            SignInMethod::Password => {
                let pw = opts.password.as_deref().ok_or_else(|| {
                    SignInError::Config("the password method needs a password".into())
                })?;
                password_then_device_code(&ctx, profile, (&authority, &scope), hint, pw).await?
            }
            SignInMethod::Certificate => unreachable!("handled above"),
        };
        let token = to_access(&grant, &resource, hint);
        let account = token.account.clone().unwrap_or_else(|| profile.upn.clone());
        let upn_mismatch = match hint {
            Some(expected) if !expected.eq_ignore_ascii_case(&account) => {
                events.emit(SignInEvent::UpnMismatch {
                    expected: expected.to_string(),
                    actual: account.clone(),
                });
                Some((expected.to_string(), account.clone()))
            }
            _ => None,
        };
        if let Some(rt) = &grant.refresh_token {
            // Owned by the profile, also under another account than its UPN (single sign-on):
            // logging the profile out or removing it deletes it.
            self.secrets
                .set_owned(&refresh_key(&authority, &account), rt, Some(profile.id))
                .await;
        }
        self.put_access(&authority, &account, &token);
        Ok(SignedIn {
            account,
            tenant_id: token.tenant_id.clone(),
            expires_at: token.expires_at,
            authority,
            access: token,
            upn_mismatch,
            silent: false,
        })
    }

    async fn sign_in_app(
        &self,
        profile: &Profile,
        authority: &str,
        resource: &str,
    ) -> Result<SignedIn, SignInError> {
        let AuthMethod::Certificate {
            app_id,
            certificate_path,
            thumbprint,
            organization,
        } = &profile.auth
        else {
            return Err(SignInError::Config(format!(
                "profile '{}' is not a certificate (app-only) profile",
                profile.name
            )));
        };
        if organization.trim().is_empty() {
            return Err(SignInError::Config(format!(
                "profile '{}': Organization is empty; set it to the tenant, e.g. contoso.onmicrosoft.com",
                profile.name
            )));
        }
        let path = match (certificate_path, thumbprint) {
            (Some(p), _) if !p.is_empty() => p.clone(),
            (_, Some(_)) => {
                return Err(SignInError::Config(format!(
                    "profile '{}': certificates from the OS certificate store (thumbprint) are not supported yet; give a PEM file",
                    profile.name
                )));
            }
            _ => {
                return Err(SignInError::Config(format!(
                    "profile '{}': the certificate method needs a certificate file",
                    profile.name
                )));
            }
        };
        let pw = self.secrets.get(&cert_password_key(&path)).await;
        let cert = Arc::new(ClientCertificate::from_file(&path, pw.as_deref())?);
        let cred = Arc::new(AppCredential {
            app_id: app_id.clone(),
            cert,
        });
        self.apps
            .lock()
            .unwrap()
            .insert(app_key(authority, app_id), cred.clone());
        let grant = flows::client_credentials(
            &self.route_http(authority, app_id),
            authority,
            &app_scope(resource),
            &cred.app_id,
            &cred.cert,
        )
        .await?;
        let mut token = to_access(&grant, resource, None);
        token.account = None;
        self.put_access(authority, app_id, &token);
        Ok(SignedIn {
            account: app_id.clone(),
            tenant_id: token.tenant_id.clone(),
            expires_at: token.expires_at,
            authority: authority.to_string(),
            access: token,
            upn_mismatch: None,
            silent: false,
        })
    }

    /// Signs in without a prompt from the cached refresh token (e.g. after a restart), over the
    /// profile's client (None: the shared client).
    pub async fn sign_in_silent(
        &self,
        profile: &Profile,
        http: Option<&reqwest::Client>,
    ) -> Result<SignedIn, SignInError> {
        let authority = authority_for(profile)?;
        let resource = resource_for(profile)?;
        let account = profile.sign_in_account().to_string();
        self.http_for(profile, &authority, http);
        let t = self
            .token_for(&authority, &account, &resource, false)
            .await
            .map_err(|e| SignInError::NeedsInteractive(e.message))?;
        Ok(SignedIn {
            account: t.account.clone().unwrap_or(account),
            tenant_id: t.tenant_id.clone(),
            expires_at: t.expires_at,
            authority,
            access: t,
            upn_mismatch: None,
            silent: true,
        })
    }

    /// A valid access token for (authority, account, resource): from memory when it has more
    /// than the refresh margin left (and `force_refresh` is false), else redeemed from the
    /// account's refresh token (any resource: one sign-in serves EXO and SCC), or re-requested
    /// with the app's certificate for app-only.
    pub async fn token_for(
        &self,
        authority: &str,
        account: &str,
        resource: &str,
        force_refresh: bool,
    ) -> Result<AccessToken, TokenUnavailable> {
        self.fetch_token(authority, account, resource, force_refresh, None)
            .await
    }

    /// A new token that answers a claims challenge (continuous access evaluation): the refresh
    /// token redeemed with `claims` (the challenge's decoded JSON), never the cached token. When
    /// the refresh token cannot do it, only an interactive sign-in helps (`needs_interactive`).
    pub async fn token_with_claims(
        &self,
        authority: &str,
        account: &str,
        resource: &str,
        claims: &str,
    ) -> Result<AccessToken, TokenUnavailable> {
        self.fetch_token(authority, account, resource, true, Some(claims))
            .await
    }

    async fn fetch_token(
        &self,
        authority: &str,
        account: &str,
        resource: &str,
        force_refresh: bool,
        claims: Option<&str>,
    ) -> Result<AccessToken, TokenUnavailable> {
        let key = access_key(authority, account, resource);
        let fresh = |c: &TokenCache| -> Option<AccessToken> {
            c.access
                .lock()
                .unwrap()
                .get(&key)
                .filter(|t| t.expires_at - Utc::now() > c.refresh_margin)
                .cloned()
        };
        let before = self
            .access
            .lock()
            .unwrap()
            .get(&key)
            .map(|t| t.secret.clone());
        if !force_refresh && let Some(t) = fresh(self) {
            return Ok(t);
        }
        let lock = self.redemptions.key_lock(&key);
        let _guard = lock.lock().await;
        // Someone else may have refreshed while we waited.
        if let Some(t) = fresh(self) {
            let changed = before.as_deref() != Some(t.secret.as_str());
            if !force_refresh || changed {
                return Ok(t);
            }
        }
        let app = self
            .apps
            .lock()
            .unwrap()
            .get(&app_key(authority, account))
            .cloned();
        let http = self.route_http(authority, account);
        let grant = match app {
            Some(app) => flows::client_credentials(
                &http,
                authority,
                &app_scope(resource),
                &app.app_id,
                &app.cert,
            )
            .await
            .map_err(|e| TokenUnavailable {
                message: e.explanation(),
                needs_interactive: false,
            })?,
            None => {
                self.redeem(&http, authority, account, resource, claims)
                    .await?
            }
        };
        let mut token = to_access(&grant, resource, Some(account));
        if self
            .apps
            .lock()
            .unwrap()
            .contains_key(&app_key(authority, account))
        {
            token.account = None;
        }
        self.access.lock().unwrap().insert(key, token.clone());
        Ok(token)
    }

    /// A [`TokenProvider`] for a profile's resource (or `resource` to use the same sign-in for
    /// another service, e.g. the SCC origin after an EXO sign-in). `account` defaults to the
    /// profile's UPN (the app id for app-only); pass [`SignedIn::account`] after a UPN mismatch.
    pub fn provider(
        self: &Arc<Self>,
        profile: &Profile,
        account: Option<&str>,
        resource: Option<&str>,
    ) -> Result<CachedTokenProvider, SignInError> {
        let authority = authority_for(profile)?;
        let resource = match resource {
            Some(r) => r.trim_end_matches('/').to_string(),
            None => resource_for(profile)?,
        };
        let account = account.unwrap_or(profile.sign_in_account()).to_string();
        Ok(CachedTokenProvider {
            cache: self.clone(),
            authority,
            account,
            resource,
        })
    }
}

/// [`TokenProvider`] over the cache for one (authority, account, resource).
#[derive(Clone)]
pub struct CachedTokenProvider {
    cache: Arc<TokenCache>,
    pub authority: String,
    pub account: String,
    pub resource: String,
}

impl std::fmt::Debug for CachedTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenProvider")
            .field("authority", &self.authority)
            .field("account", &self.account)
            .field("resource", &self.resource)
            .finish()
    }
}

impl TokenProvider for CachedTokenProvider {
    fn token(&self, force_refresh: bool) -> BoxFuture<'_, Result<AccessToken, TokenUnavailable>> {
        Box::pin(self.cache.token_for(
            &self.authority,
            &self.account,
            &self.resource,
            force_refresh,
        ))
    }
    fn token_with_claims<'a>(
        &'a self,
        claims: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, TokenUnavailable>> {
        Box::pin(self.cache.token_with_claims(
            &self.authority,
            &self.account,
            &self.resource,
            claims,
        ))
    }
}
