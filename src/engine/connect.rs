//! Connect: the one use-case the window and the command line share. A profile and a
//! [`SignInPrompt`] go in; a connected session, or one typed [`ConnectError`], comes out.
//!
//! 1. The profile's HTTP client is built once ([`Clients::for_profile`]: its proxy route and
//!    proxy credential); sign-in, refreshes and the session's REST traffic all use it.
//! 2. A silent sign-in from the cached refresh token ([`TokenCache::sign_in_silent`]). When there
//!    is none (or the caller forces it), an interactive sign-in with the profile's method: the
//!    prompt is shown the progress (device code, browser address, the password → device-code
//!    fallback when MFA is required) and asked for what the sign-in needs (the password, what to
//!    do after a UPN mismatch or a failure). The window answers through its sign-in dialog, the
//!    command line through the terminal.
//! 3. The session registry opens the session over the same client and proves access with one
//!    cheap cmdlet ([`crate::engine::sessions::probe_request`]); its refusal (the limit guard) or
//!    the probe's failure come back here as [`ConnectError::Session`]; its retries are shown to
//!    the prompt as they happen ([`SignInPrompt::connecting`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::engine::auth::{
    BrowserLauncher, SignInError, SignInEvent, SignInOptions, SignedIn, TokenCache,
    launcher_from_env,
};
use crate::engine::proxy::Clients;
use crate::engine::rest::RestErrorKind;
use crate::engine::sessions::{
    ConnectProgress, ConnectRequest, SessionError, SessionInfo, SessionRegistry,
};
use crate::model::{Profile, SignInMethod};

/// What a sign-in shows and asks the person in front of it. Every question can be left
/// unanswered by cancelling the connect ([`ConnectOptions::cancel`]).
pub trait SignInPrompt: Send + Sync {
    /// An interactive sign-in attempt with `method` starts (the window opens its dialog).
    fn starting(&self, _method: SignInMethod) {}
    /// Progress of the attempt: device code issued, browser opened, MFA fallback, …
    fn show(&self, event: &SignInEvent);
    /// The password of a password sign-in. `Err` ends the connect with that error (the dialog
    /// was cancelled, or the command line was given no password).
    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>>;
    /// Single sign-on returned `actual` instead of the profile's account `expected`.
    fn upn_mismatch<'a>(&'a self, expected: &'a str, actual: &'a str) -> BoxFuture<'a, OnMismatch>;
    /// The attempt failed with `error`: try again, or give up (the connect ends with `error`).
    fn failed<'a>(&'a self, error: &'a SignInError) -> BoxFuture<'a, OnFailure>;
    /// Signed in (silently or not); the session opens next.
    fn signed_in(&self, _signed: &SignedIn) {}
    /// The new session's access check retries (a throttled or unavailable service can keep it
    /// going for minutes) or was redirected: say so.
    fn connecting(&self, _progress: &ConnectProgress) {}
}

/// The answer to a UPN mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMismatch {
    /// Keep the account that signed in.
    Continue,
    /// Forget that account's sign-in and sign in again.
    Retry,
    Cancel,
}

/// The answer to a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnFailure {
    /// Start again with the profile's method (asking for the password again).
    Retry,
    /// Start again with a new device code (after one expired).
    DeviceCode,
    /// Try this password (after a wrong one).
    Password(String),
    /// End the connect with the error.
    GiveUp,
}

/// How one connect goes.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Sign in interactively even when a cached sign-in exists (`login --force`, `--method`).
    pub force_interactive: bool,
    /// Overrides the profile's method (`login --method`).
    pub method: Option<SignInMethod>,
    /// Cancels the sign-in and every question of the prompt (the dialog's Cancel, Ctrl+C).
    pub cancel: CancellationToken,
    /// A claims challenge's decoded JSON the interactive sign-in answers (continuous access
    /// evaluation when the cached sign-in could not): implies an interactive sign-in.
    pub claims: Option<String>,
}

/// Why a connect ended without a session. `Display` is the plain explanation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// The profile (or what the caller gave) cannot be used as it is: the message says what to
    /// fix (a proxy setting, a missing password, an address our policy refuses).
    #[error("{0}")]
    Config(String),
    /// The sign-in failed or was cancelled.
    #[error("{0}")]
    SignIn(SignInError),
    /// Signed in, but the registry refused the session (the limit guard) or the access check
    /// failed.
    #[error("{0}")]
    Session(SessionError),
}

impl ConnectError {
    /// The connect was cancelled (nothing to tell the user).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ConnectError::SignIn(SignInError::Cancelled))
    }

    /// A proxy asked for credentials (407) on the way: (proxy `host:port`, plain explanation).
    pub fn proxy_credential_needed(&self) -> Option<(String, String)> {
        match self {
            ConnectError::SignIn(SignInError::ProxyAuth(p)) => {
                Some((p.proxy.clone(), p.to_string()))
            }
            ConnectError::Session(SessionError::Service(e))
                if e.kind == RestErrorKind::ProxyAuth =>
            {
                Some(("the profile's proxy".into(), e.message.clone()))
            }
            _ => None,
        }
    }
}

/// A connect that succeeded.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The session as the registry lists it (Connected, its endpoint after redirects).
    pub session: SessionInfo,
    pub signed_in: SignedIn,
}

/// The connect use-case over the token cache, the profiles' client builder and the registry.
/// Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    cache: Arc<TokenCache>,
    clients: Clients,
    registry: SessionRegistry,
    browser: Arc<dyn BrowserLauncher>,
    timeout: Duration,
}

impl Connector {
    /// Over these parts; the system browser (unless `EXO_CONNECT_NO_BROWSER`), 15 minutes for an
    /// interactive sign-in.
    pub fn new(cache: Arc<TokenCache>, clients: Clients, registry: SessionRegistry) -> Self {
        Connector {
            cache,
            clients,
            registry,
            browser: launcher_from_env(),
            timeout: Duration::from_secs(15 * 60),
        }
    }

    /// Opens sign-in pages with `browser` (tests inject a fake).
    pub fn with_browser(mut self, browser: Arc<dyn BrowserLauncher>) -> Self {
        self.browser = browser;
        self
    }

    /// Upper bound of every wait of an interactive sign-in.
    pub fn with_signin_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    pub fn registry(&self) -> &SessionRegistry {
        &self.registry
    }

    /// Signs in (silently when the cache can) and opens a session through the registry.
    pub async fn connect(
        &self,
        profile: &Profile,
        prompt: &dyn SignInPrompt,
        opts: &ConnectOptions,
    ) -> Result<Connected, ConnectError> {
        let http = self.client(profile).await?;
        let signed_in = self.sign_in_over(profile, &http, prompt, opts).await?;
        if opts.cancel.is_cancelled() {
            // Cancelled as the sign-in ended: no session the user no longer wants.
            return Err(ConnectError::SignIn(SignInError::Cancelled));
        }
        prompt.signed_in(&signed_in);
        let session = self.open_session(profile, &signed_in, http, prompt).await?;
        Ok(Connected { session, signed_in })
    }

    /// A connect that never asks anything: the cached sign-in (the profile's own, or one its
    /// account got at another tenant of the same sign-in host) and the session, or
    /// `ConnectError::SignIn(SignInError::NeedsInteractive(..))` when only an interactive
    /// sign-in would do. The prompt is only told the access check's progress.
    pub async fn connect_silent(
        &self,
        profile: &Profile,
        prompt: &dyn SignInPrompt,
    ) -> Result<Connected, ConnectError> {
        let http = self.client(profile).await?;
        let signed_in = self
            .cache
            .sign_in_silent(profile, Some(&http))
            .await
            .map_err(ConnectError::SignIn)?;
        prompt.signed_in(&signed_in);
        let session = self.open_session(profile, &signed_in, http, prompt).await?;
        Ok(Connected { session, signed_in })
    }

    /// Only the sign-in of a connect (`exo-connect login`): the sign-in is cached, no session
    /// is opened.
    pub async fn sign_in(
        &self,
        profile: &Profile,
        prompt: &dyn SignInPrompt,
        opts: &ConnectOptions,
    ) -> Result<SignedIn, ConnectError> {
        let http = self.client(profile).await?;
        let signed_in = self.sign_in_over(profile, &http, prompt, opts).await?;
        prompt.signed_in(&signed_in);
        Ok(signed_in)
    }

    async fn client(&self, profile: &Profile) -> Result<reqwest::Client, ConnectError> {
        self.clients
            .for_profile(profile)
            .await
            .map_err(|e| ConnectError::Config(format!("profile '{}': {e}", profile.name)))
    }

    async fn sign_in_over(
        &self,
        profile: &Profile,
        http: &reqwest::Client,
        prompt: &dyn SignInPrompt,
        opts: &ConnectOptions,
    ) -> Result<SignedIn, ConnectError> {
        if !opts.force_interactive
            && opts.claims.is_none()
            && let Ok(s) = self.cache.sign_in_silent(profile, Some(http)).await
        {
            return Ok(s);
        }
        self.interactive(profile, http, prompt, opts).await
    }

    /// Attempts until one succeeds, the prompt gives up or the connect is cancelled.
    async fn interactive(
        &self,
        profile: &Profile,
        http: &reqwest::Client,
        prompt: &dyn SignInPrompt,
        opts: &ConnectOptions,
    ) -> Result<SignedIn, ConnectError> {
        let cancelled = || ConnectError::SignIn(SignInError::Cancelled);
        let mut method = opts.method;
        let mut password: Option<String> = None;
        loop {
            let effective = method.unwrap_or_else(|| profile.auth.method());
            if effective == SignInMethod::Password && password.is_none() {
                password = Some(prompt.password().await?);
            }
            prompt.starting(effective);
            let next = match self
                .attempt(profile, http, prompt, method, password.take(), opts)
                .await
            {
                Ok(s) => match s.upn_mismatch.clone() {
                    None => return Ok(s),
                    Some((expected, actual)) => {
                        match prompt.upn_mismatch(&expected, &actual).await {
                            OnMismatch::Continue => return Ok(s),
                            OnMismatch::Cancel => return Err(cancelled()),
                            OnMismatch::Retry => {
                                // Forget the wrong account's sign-in so the retry asks again.
                                let mut other = profile.clone();
                                other.upn = s.account.clone();
                                let _ = self.cache.forget(&other).await;
                                OnFailure::Retry
                            }
                        }
                    }
                },
                Err(SignInError::Cancelled) => return Err(cancelled()),
                Err(e) => match prompt.failed(&e).await {
                    OnFailure::GiveUp if opts.cancel.is_cancelled() => return Err(cancelled()),
                    OnFailure::GiveUp => return Err(ConnectError::SignIn(e)),
                    next => next,
                },
            };
            if opts.cancel.is_cancelled() {
                return Err(cancelled());
            }
            match next {
                OnFailure::DeviceCode => method = Some(SignInMethod::DeviceCode),
                OnFailure::Password(pw) => {
                    method = opts.method;
                    password = Some(pw);
                }
                OnFailure::Retry | OnFailure::GiveUp => method = opts.method,
            }
        }
    }

    /// One interactive sign-in, its events shown as they come.
    async fn attempt(
        &self,
        profile: &Profile,
        http: &reqwest::Client,
        prompt: &dyn SignInPrompt,
        method: Option<SignInMethod>,
        password: Option<String>,
        opts: &ConnectOptions,
    ) -> Result<SignedIn, SignInError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sign_in = self.cache.sign_in(
            profile,
            SignInOptions {
                method,
                password,
                browser: self.browser.clone(),
                events: Some(tx),
                cancel: opts.cancel.clone(),
                timeout: self.timeout,
                http: Some(http.clone()),
                claims: opts.claims.clone(),
            },
        );
        tokio::pin!(sign_in);
        loop {
            tokio::select! {
                biased;
                Some(e) = rx.recv() => prompt.show(&e),
                r = &mut sign_in => {
                    while let Ok(e) = rx.try_recv() {
                        prompt.show(&e);
                    }
                    return r;
                }
            }
        }
    }

    /// Opens the session; the access check's retries go to the prompt while it runs.
    async fn open_session(
        &self,
        profile: &Profile,
        signed_in: &SignedIn,
        http: reqwest::Client,
        prompt: &dyn SignInPrompt,
    ) -> Result<SessionInfo, ConnectError> {
        let tokens = self
            .cache
            .provider(profile, Some(&signed_in.account), None)
            .map_err(ConnectError::SignIn)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let request = ConnectRequest::for_profile(profile, Arc::new(tokens), None)
            .map_err(ConnectError::Config)?
            .with_http(http)
            .with_progress(tx);
        let connect = self.registry.connect(request);
        tokio::pin!(connect);
        loop {
            tokio::select! {
                biased;
                Some(p) = rx.recv() => prompt.connecting(&p),
                r = &mut connect => {
                    while let Ok(p) = rx.try_recv() {
                        prompt.connecting(&p);
                    }
                    return r.map_err(ConnectError::Session);
                }
            }
        }
    }
}
