//! Redeeming an account's refresh token for one resource at one tenant, many at once.
//!
//! Entra hands out a new refresh token with every redemption and keeps the redeemed one valid
//! ("doesn't revoke old refresh tokens when used to fetch new access tokens"), so the tokens of
//! 200 DelegatedOrganization tenants of one partner sign-in are redeemed at the same time, each
//! writing its successor back (any of them is valid). Callers after the same access token share
//! one redemption (a lock per access-token key).
//!
//! A stricter server that retires a redeemed refresh token shows itself when a redemption fails
//! as dead while the keychain already holds a newer token that another redemption stored: that
//! redemption is tried again with the newer token, and from then on this cache redeems one at a
//! time. A refresh token is forgotten only when it is still the one that failed.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

/// Tries of one redemption when a stricter server retired the token under it.
const TRIES: usize = 3;

#[derive(Default)]
pub(super) struct Redemptions {
    /// One lock per access-token key.
    per_key: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Redemptions hold it shared; exclusively once `single_use` is set, and to wait until every
    /// redemption in flight has stored its successor.
    gate: tokio::sync::RwLock<()>,
    /// The server retires redeemed refresh tokens: redeem one at a time.
    single_use: AtomicBool,
}

/// A redemption's hold on the gate (kept only to be dropped).
#[allow(dead_code)]
enum Hold<'a> {
    Shared(tokio::sync::RwLockReadGuard<'a, ()>),
    Alone(tokio::sync::RwLockWriteGuard<'a, ()>),
}

impl Redemptions {
    /// The lock of one access-token key (authority, account, resource).
    pub(super) fn key_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.per_key
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    async fn hold(&self) -> Hold<'_> {
        if self.single_use.load(Ordering::Acquire) {
            Hold::Alone(self.gate.write().await)
        } else {
            Hold::Shared(self.gate.read().await)
        }
    }
}

impl TokenCache {
    /// Redeems the account's refresh token for `resource` (keeping a rotated one). A refresh
    /// token that is gone for good is forgotten; then only an interactive sign-in helps.
    pub(super) async fn redeem(
        &self,
        http: &OAuthHttp,
        authority: &str,
        account: &str,
        resource: &str,
        claims: Option<&str>,
    ) -> Result<TokenGrant, TokenUnavailable> {
        let mut tries = 0;
        loop {
            tries += 1;
            let hold = self.redemptions.hold().await;
            let Some((rkey, rt)) = self.account_refresh_token(authority, account).await else {
                return Err(TokenUnavailable {
                    message: format!(
                        "There is no cached sign-in for {account} at {}; sign in first.",
                        host_of(authority)
                    ),
                    needs_interactive: true,
                });
            };
            let refreshed =
                flows::refresh(http, authority, &delegated_scope(resource), &rt, claims).await;
            match &refreshed {
                Ok(_) => tracing::info!(account, resource, "access token from the refresh token"),
                Err(e) => {
                    tracing::warn!(account, resource, error = e.explanation(), "refresh failed")
                }
            }
            match refreshed {
                Ok(g) => {
                    if let Some(new_rt) = &g.refresh_token
                        && *new_rt != rt
                    {
                        self.secrets.set(&rkey, new_rt).await;
                    }
                    return Ok(g);
                }
                Err(SignInError::Entra(e)) if e.refresh_token_dead() => {
                    drop(hold);
                    if tries < TRIES && self.rotated_meanwhile(&rkey, &rt).await {
                        continue;
                    }
                    if self.secrets.get(&rkey).await.as_deref() == Some(rt.as_str()) {
                        let _ = self.secrets.delete(&rkey).await;
                    }
                    return Err(TokenUnavailable {
                        message: e.explanation(),
                        needs_interactive: true,
                    });
                }
                Err(SignInError::Entra(e)) if e.needs_interactive_mfa() => {
                    return Err(TokenUnavailable {
                        message: e.explanation(),
                        needs_interactive: true,
                    });
                }
                Err(e) => {
                    return Err(TokenUnavailable {
                        message: e.explanation(),
                        needs_interactive: false,
                    });
                }
            }
        }
    }

    /// After `rt` failed as dead: waits until every redemption in flight has stored its
    /// successor, then tells whether the keychain now holds another token (the server retires
    /// redeemed tokens, and another redemption got there first). If so, redeem one at a time.
    async fn rotated_meanwhile(&self, rkey: &str, rt: &str) -> bool {
        let _alone = self.redemptions.gate.write().await;
        let rotated = self.secrets.get(rkey).await.is_some_and(|now| now != rt);
        if rotated {
            tracing::info!("the server retires redeemed refresh tokens: redeeming one at a time");
            self.redemptions.single_use.store(true, Ordering::Release);
        }
        rotated
    }

    /// The account's refresh token for `authority`: the one cached for that tenant, else one the
    /// same account got at another tenant of the same sign-in host (a refresh token serves
    /// every tenant the account may enter: one partner sign-in serves all its
    /// DelegatedOrganization profiles). Returns the key it is kept under, where its rotated
    /// successor goes back (one chain per account and host, not one per tenant).
    pub(super) async fn account_refresh_token(
        &self,
        authority: &str,
        account: &str,
    ) -> Option<(String, String)> {
        let own = refresh_key(authority, account);
        if let Some(rt) = self.secrets.get(&own).await {
            return Some((own, rt));
        }
        let host = host_of(authority).to_ascii_lowercase();
        let account = account.trim().to_ascii_lowercase();
        for key in self.secrets.keys(REFRESH_PREFIX).await {
            let mut parts = key[REFRESH_PREFIX.len()..].split('|');
            let (Some(h), Some(_tenant), Some(a)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if h == host
                && a == account
                && let Some(rt) = self.secrets.get(&key).await
            {
                return Some((key, rt));
            }
        }
        None
    }
}
