//! The profiles' HTTP clients: each request routed per target URL by the profile's proxy choice
//! ([`Selector`] over its [`ProxyConfig`]), with the Basic proxy credential from the keychain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{ProxyConfig, RouteKind, System, SystemSource, auth, load_config};
use crate::engine::http::HttpOptions;
use crate::engine::secrets::{SecretStore, proxy_password_key};
use crate::model::{Profile, ProxyAccessType, ProxyAuthentication};

/// Chooses the proxy per target URL for a client (PAC results cached per origin).
pub struct Selector {
    config: ProxyConfig,
    cache: Mutex<HashMap<String, Option<String>>>,
    has_credential: bool,
    /// Loopback targets follow the settings too ([`super::SystemSource::proxy_loopback`]).
    include_loopback: bool,
}

impl Selector {
    pub fn new(config: ProxyConfig, has_credential: bool) -> Self {
        Selector {
            config,
            cache: Mutex::new(HashMap::new()),
            has_credential,
            include_loopback: false,
        }
    }

    /// Loopback targets follow the settings too (tests whose proxy and sim are on loopback).
    pub fn including_loopback(mut self, include: bool) -> Self {
        self.include_loopback = include;
        self
    }

    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// The proxy (`http://host:port`) for a target, or None for direct.
    pub fn proxy_for(&self, target: &url::Url) -> Option<String> {
        let origin = target.origin().ascii_serialization();
        if let Some(hit) = self.cache.lock().unwrap().get(&origin) {
            return hit.clone();
        }
        let route = if self.include_loopback {
            self.config.route_including_loopback(target)
        } else {
            self.config.route_for(target)
        };
        let p = match route.kind {
            RouteKind::Direct => None,
            RouteKind::Proxy { url } => Some(url),
        };
        self.cache.lock().unwrap().insert(origin.clone(), p.clone());
        if let Some(proxy) = &p {
            auth::remember_route(&origin, proxy, self.has_credential);
        }
        p
    }
}

/// Errors building a profile's client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// Builds each profile's HTTP client, once per connect: the shared client for access type
/// `None` (the platform default: reqwest's environment/system proxy), otherwise a client that
/// routes every request by the profile's proxy choice ([`client_for_with`]) with the Basic proxy
/// credential from the keychain. Sign-in and the profile's REST traffic both use the result.
#[derive(Clone)]
pub struct Clients {
    shared: reqwest::Client,
    secrets: SecretStore,
    source: Arc<dyn SystemSource>,
    opts: HttpOptions,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl Clients {
    /// Over the shared client and the keychain; proxy settings from the real system.
    pub fn new(shared: reqwest::Client, secrets: SecretStore) -> Self {
        Clients {
            shared,
            secrets,
            source: Arc::new(System),
            opts: HttpOptions::default(),
        }
    }

    /// Reads proxy settings from `source` instead of the real system (tests, system tests).
    pub fn with_source(mut self, source: Arc<dyn SystemSource>) -> Self {
        self.source = source;
        self
    }

    /// The client of access type `None` (and of everything that has no profile).
    pub fn shared(&self) -> &reqwest::Client {
        &self.shared
    }

    /// Where the proxy passwords are read from.
    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// The HTTP client of `profile` (reads the proxy settings, may fetch a PAC script, reads the
    /// proxy password from the keychain).
    pub async fn for_profile(&self, profile: &Profile) -> Result<reqwest::Client, ClientError> {
        if profile.proxy.access_type == ProxyAccessType::None {
            return Ok(self.shared.clone());
        }
        client_for_with(profile, &self.secrets, self.source.clone(), &self.opts).await
    }
}

/// The HTTP client of a profile: every request is routed per target URL by the profile's proxy
/// access type (`reqwest::Proxy::custom`), with Basic proxy credentials from the keychain when
/// the profile says so; no redirects, the timeouts of [`HttpOptions::default`].
pub async fn client_for(
    profile: &Profile,
    secrets: &SecretStore,
) -> Result<reqwest::Client, ClientError> {
    client_for_with(profile, secrets, Arc::new(System), &HttpOptions::default()).await
}

/// Same, with the settings read from `sys` and the given timeouts.
pub async fn client_for_with(
    profile: &Profile,
    secrets: &SecretStore,
    sys: Arc<dyn SystemSource>,
    opts: &HttpOptions,
) -> Result<reqwest::Client, ClientError> {
    crate::engine::http::install_crypto_provider();
    let include_loopback = sys.proxy_loopback();
    let config = load_config(profile.proxy.access_type, sys).await;
    let credential = match (profile.proxy.authentication, profile.proxy.user.as_deref()) {
        (Some(ProxyAuthentication::Basic) | None, Some(user)) if !user.trim().is_empty() => secrets
            .get(&proxy_password_key(&profile.id))
            .await
            .map(|pw| (user.trim().to_string(), pw)),
        _ => None,
    };
    let selector =
        Arc::new(Selector::new(config, credential.is_some()).including_loopback(include_loopback));
    let sel = selector.clone();
    let mut proxy = reqwest::Proxy::custom(move |url| sel.proxy_for(url));
    if let Some((user, pw)) = &credential {
        proxy = proxy.basic_auth(user, pw);
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.request_timeout)
        .user_agent(concat!("exo-connect/", env!("CARGO_PKG_VERSION")))
        .proxy(proxy)
        .build()
        .map_err(|e| {
            ClientError(format!(
                "cannot build the HTTP client for profile '{}': {e}",
                profile.name
            ))
        })
}
