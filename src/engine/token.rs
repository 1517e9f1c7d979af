//! What the REST client needs from sign-in: a valid access token, refreshed on demand.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

/// An access token held in memory only. `Debug` never prints the secret.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: String,
    pub expires_at: DateTime<Utc>,
    /// `tid` claim: the tenant GUID used in the REST path.
    pub tenant_id: String,
    /// `upn` / `preferred_username` (None for app-only tokens).
    pub account: Option<String>,
    /// The resource (audience) the token is for.
    pub resource: String,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("tenant_id", &self.tenant_id)
            .field("account", &self.account)
            .field("resource", &self.resource)
            .finish()
    }
}

/// Why no token could be had. `message` is already the plain explanation for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TokenUnavailable {
    pub message: String,
    /// True when the cached sign-in is gone for good (refresh token expired or revoked):
    /// only an interactive sign-in helps.
    pub needs_interactive: bool,
}

/// Gives access tokens for one (account, resource). Implemented by the sign-in engine; tests
/// may implement it directly.
pub trait TokenProvider: Send + Sync {
    /// A token valid for at least a few minutes; `force_refresh` after a 401 skips the cache.
    fn token(&self, force_refresh: bool) -> BoxFuture<'_, Result<AccessToken, TokenUnavailable>>;

    /// A new token carrying `claims` (a claims challenge's decoded JSON, continuous access
    /// evaluation). A provider that cannot ask for claims gives a fresh token (which the
    /// service will refuse again if it really needs the claims).
    fn token_with_claims<'a>(
        &'a self,
        claims: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, TokenUnavailable>> {
        let _ = claims;
        self.token(true)
    }
}
