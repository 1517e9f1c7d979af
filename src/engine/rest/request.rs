//! One page: the `InvokeCommand` request (bearer token, anchor mailbox, page size, the
//! connection's ids), sent until it gets an answer that ends the page — redirects followed
//! where the token may go, the token refreshed once after a 401, a next-page link retried with
//! GET when the service wants it, transient failures retried with backoff — and the answer read:
//! the page's body (capped, see `body.rs`; parsed by the caller, `paging.rs`) and its header
//! warnings, or the service's error. Each attempt waits its turn with the tenant's pacer
//! (`pacing.rs`) and hands it the answer's `Rate-Limit-*` budget. A page is fetched by a task of its own ([`spawn_fetch`]),
//! so the next page can be on its way while this one is parsed.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::body::read_page_body;
use super::error::default_message;
use super::pacing::RateBudget;
use super::retry::parse_retry_after;
use super::{
    APP_ANCHOR_MAILBOX, CLIENT_APPLICATION, RestClient, RestError, RestErrorKind, RunEvent,
    TENANT_CONCURRENCY_TEXT, parse_error_body,
};
use crate::engine::diag;
use crate::engine::http::{BodyError, SMALL_BODY_CAP, check_url, plain_error, read_capped};
use crate::engine::proxy::ProxyAuthRequired;
use crate::engine::token::AccessToken;

/// The token of a run, shared by its page fetches: a 401 on one page refreshes it for all.
pub(super) struct TokenSlot(Mutex<AccessToken>);

impl TokenSlot {
    pub fn new(t: AccessToken) -> Arc<TokenSlot> {
        Arc::new(TokenSlot(Mutex::new(t)))
    }
    fn get(&self) -> AccessToken {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn set(&self, t: AccessToken) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

/// What stays the same over one page's attempts.
pub(super) struct PageCall {
    pub cmdlet: Arc<str>,
    /// The `InvokeCommand` body (POST).
    pub body: Arc<[u8]>,
    pub page_size: u32,
    /// A next-page link (not the first request): the service may want it fetched with GET.
    pub is_next_link: bool,
    pub use_get: bool,
    /// Count the rows while reading and stop once this many are complete.
    pub want_rows: Option<usize>,
    /// The number of the first attempt (a page whose body did not parse is fetched again).
    pub first_attempt: u32,
    /// A `$batch`: `Prefer: odata.continue-on-error` too.
    pub continue_on_error: bool,
}

/// A page's answer, not parsed yet.
#[derive(Debug)]
pub(super) struct Fetched {
    pub body: Vec<u8>,
    /// Cut after `want_rows` rows (more rows followed).
    pub cut: bool,
    /// `X-Warnings`.
    pub warnings: Vec<String>,
    /// The service wanted this next-page link fetched with GET.
    pub used_get: bool,
    /// The URL that answered (after redirects).
    pub url: url::Url,
    /// The attempt that answered.
    pub attempt: u32,
    pub status: u16,
    pub request_id: Option<String>,
}

/// Where one page's request is: its URL (after redirects), attempt, what was tried, the token.
pub(super) struct Attempt {
    pub url: url::Url,
    pub attempt: u32,
    pub redirects: u32,
    refreshed: bool,
    /// A claims challenge was answered for this page (once: never a loop).
    claims_answered: bool,
    use_get: bool,
    tried_get: bool,
    token: AccessToken,
}

/// A header's value as text.
pub(super) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The proxy asked for credentials (407, or tinyproxy's 401 to a refused Basic credential).
fn proxy_refusal(
    cmdlet: &str,
    url: &url::Url,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<(), RestError> {
    let proxy_401 = if status == StatusCode::UNAUTHORIZED {
        ProxyAuthRequired::from_proxy_401(url, headers)
    } else {
        None
    };
    if status != StatusCode::PROXY_AUTHENTICATION_REQUIRED && proxy_401.is_none() {
        return Ok(());
    }
    let p = proxy_401.unwrap_or_else(|| ProxyAuthRequired::from_response(url, headers));
    Err(RestError {
        status: Some(407),
        ..RestError::new(RestErrorKind::ProxyAuth, cmdlet, p.to_string())
    })
}

/// Fetches one page in a task of its own (aborted when the handle is dropped); the next-page
/// link goes to `early` as soon as the body shows it.
pub(super) fn spawn_fetch(
    client: Arc<RestClient>,
    call: PageCall,
    url: url::Url,
    tokens: Arc<TokenSlot>,
    early: Option<oneshot::Sender<String>>,
    tx: mpsc::Sender<RunEvent>,
) -> tokio::task::JoinHandle<Result<Fetched, RestError>> {
    tokio::spawn(async move {
        let mut early = early;
        client.page(&call, &url, &tokens, &mut early, &tx).await
    })
}

impl RestClient {
    /// Fetches one page (see the module's description).
    pub(super) async fn page(
        &self,
        call: &PageCall,
        url: &url::Url,
        tokens: &TokenSlot,
        early: &mut Option<oneshot::Sender<String>>,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Fetched, RestError> {
        let mut at = Attempt {
            url: url.clone(),
            attempt: call.first_attempt.max(1),
            redirects: 0,
            refreshed: false,
            claims_answered: false,
            use_get: call.use_get,
            tried_get: call.use_get,
            token: tokens.get(),
        };
        loop {
            check_url(at.url.as_str()).map_err(|e| {
                RestError::new(RestErrorKind::Redirect, &call.cmdlet, e.to_string())
            })?;
            let wait = if self.config.pace {
                self.pacer().reserve()
            } else {
                Duration::ZERO
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let rb = self.request(call, &at);
            self.requests.fetch_add(1, Ordering::Relaxed);
            *self.last_activity.lock().unwrap() = Some(Utc::now());
            let started = std::time::Instant::now();
            match rb.send().await {
                Ok(resp) => {
                    let (status, ms) = (resp.status().as_u16(), started.elapsed());
                    let method = if at.use_get { "GET" } else { "POST" };
                    diag::exchange(&call.cmdlet, method, &at.url, status, ms, resp.headers());
                    if let Some(page) = self.answer(call, &mut at, resp, tokens, early, tx).await? {
                        return Ok(page);
                    }
                }
                Err(e) => {
                    let method = if at.use_get { "GET" } else { "POST" };
                    diag::no_answer(
                        &call.cmdlet,
                        method,
                        &at.url,
                        started.elapsed(),
                        &e.to_string(),
                    );
                    self.no_answer(&call.cmdlet, &mut at, &e, tx).await?
                }
            }
        }
    }

    /// The request of this attempt: POST with the body, or GET for a next-page link.
    fn request(&self, call: &PageCall, at: &Attempt) -> reqwest::RequestBuilder {
        let token = &at.token;
        let anchor = match &self.target.app_only_organization {
            Some(org) => format!("APP:{APP_ANCHOR_MAILBOX}@{org}"),
            None => format!("UPN:{}", token.account.clone().unwrap_or_default()),
        };
        let rb = if at.use_get {
            self.http.get(at.url.clone())
        } else {
            self.http.post(at.url.clone()).body(call.body.to_vec())
        };
        let rb = match self.cookies.header_for(&self.base, &at.url) {
            Some(c) => rb.header("Cookie", c),
            None => rb,
        };
        rb.bearer_auth(&token.secret)
            .header("X-AnchorMailbox", anchor)
            .header(
                "Prefer",
                if call.continue_on_error {
                    format!(
                        "odata.maxpagesize={}, odata.continue-on-error",
                        call.page_size
                    )
                } else {
                    format!("odata.maxpagesize={}", call.page_size)
                },
            )
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("connection-id", self.connection_id.to_string())
            .header("client-request-id", Uuid::new_v4().to_string())
            .header("X-CmdletName", &*call.cmdlet)
            .header("X-ClientApplication", CLIENT_APPLICATION)
            .header("X-ResponseFormat", "json")
    }

    /// The request got no answer: a proxy refusing the tunnel ends the page; anything else is
    /// retried until the attempts run out.
    async fn no_answer(
        &self,
        cmdlet: &str,
        at: &mut Attempt,
        e: &reqwest::Error,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<(), RestError> {
        if let Some(p) = ProxyAuthRequired::from_error(&at.url, e) {
            return Err(RestError {
                status: Some(407),
                ..RestError::new(RestErrorKind::ProxyAuth, cmdlet, p.to_string())
            });
        }
        if at.attempt >= self.config.max_attempts {
            let kind = if e.is_timeout() {
                RestErrorKind::Timeout
            } else {
                RestErrorKind::Transport
            };
            return Err(RestError::new(
                kind,
                cmdlet,
                format!(
                    "the service could not be reached after {} attempts: {}",
                    at.attempt,
                    plain_error(e)
                ),
            ));
        }
        self.retry(at, plain_error(e), None, tx).await;
        Ok(())
    }

    /// Waits before the next attempt.
    async fn retry(
        &self,
        at: &mut Attempt,
        reason: String,
        retry_after: Option<Duration>,
        tx: &mpsc::Sender<RunEvent>,
    ) {
        let delay = self.backoff(at.attempt, retry_after);
        tracing::info!(
            attempt = at.attempt,
            delay_ms = delay.as_millis() as u64,
            reason,
            "retry"
        );
        self.sleep_retry(tx, at.attempt, delay, reason).await;
        at.attempt += 1;
    }

    /// What an answer means: the page, or None to send again (redirected, refreshed, GET).
    async fn answer(
        &self,
        call: &PageCall,
        at: &mut Attempt,
        resp: reqwest::Response,
        tokens: &TokenSlot,
        early: &mut Option<oneshot::Sender<String>>,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Option<Fetched>, RestError> {
        let status = resp.status();
        let headers = resp.headers().clone();
        proxy_refusal(&call.cmdlet, &at.url, status, &headers)?;
        self.cookies.store(&self.base, &at.url, &headers);
        if let Some(budget) = RateBudget::from_headers(&headers) {
            self.pacer().update(budget);
            let _ = tx.send(RunEvent::RateBudget(budget)).await;
        }
        if status.is_redirection() {
            self.follow_redirect(&call.cmdlet, at, status, &headers, tx)
                .await?;
            return Ok(None);
        }
        if status == StatusCode::UNAUTHORIZED {
            self.refresh_after_401(&call.cmdlet, at, &headers, tokens)
                .await?;
            return Ok(None);
        }
        if call.is_next_link
            && !at.use_get
            && !at.tried_get
            && matches!(status.as_u16(), 405 | 400 | 404)
        {
            // The server wants the next-page link fetched with GET.
            at.use_get = true;
            at.tried_get = true;
            return Ok(None);
        }
        if status.is_success() {
            return self.read_page(call, at, resp, early, tx).await;
        }
        let retry_after =
            header(&headers, "retry-after").and_then(|v| parse_retry_after(&v, Utc::now()));
        // An error body is small; a bigger one (or one cut off) is not worth reading.
        let body = read_capped(resp, SMALL_BODY_CAP).await.unwrap_or_default();
        self.service_error(&call.cmdlet, at, (status, &headers, &body), retry_after, tx)
            .await
    }

    /// A 401: the token refreshed once per page (another page's fetch may have done it
    /// already: then its token), a second 401 ends the run. A claims challenge (continuous
    /// access evaluation) is answered instead with a token asked for with those claims, once.
    async fn refresh_after_401(
        &self,
        cmdlet: &str,
        at: &mut Attempt,
        headers: &HeaderMap,
        tokens: &TokenSlot,
    ) -> Result<(), RestError> {
        if let Some(claims) = claims_challenge(headers) {
            return self
                .answer_claims(cmdlet, at, headers, tokens, &claims)
                .await;
        }
        if at.refreshed {
            return Err(RestError {
                status: Some(401),
                request_id: header(headers, "request-id"),
                ..RestError::new(
                    RestErrorKind::Auth,
                    cmdlet,
                    "the service refused the sign-in even after a token refresh; sign in again",
                )
            });
        }
        at.refreshed = true;
        let shared = tokens.get();
        at.token = if shared.secret != at.token.secret {
            shared
        } else {
            let fresh = self.get_token(cmdlet, true).await?;
            tokens.set(fresh.clone());
            fresh
        };
        Ok(())
    }

    /// A claims challenge: a token with those claims (from another page's fetch when it
    /// answered already), then the request once more. A second challenge ends the run.
    async fn answer_claims(
        &self,
        cmdlet: &str,
        at: &mut Attempt,
        headers: &HeaderMap,
        tokens: &TokenSlot,
        claims: &str,
    ) -> Result<(), RestError> {
        let refused = |message: String| RestError {
            status: Some(401),
            code: Some("InsufficientClaims".into()),
            request_id: header(headers, "request-id"),
            ..RestError::new(RestErrorKind::Auth, cmdlet, message)
        };
        if at.claims_answered {
            return Err(refused(
                "the service revoked the session's sign-in (continuous access evaluation) and refused the new token asked for with its claims too; sign in again".into(),
            ));
        }
        at.claims_answered = true;
        let shared = tokens.get();
        if shared.secret != at.token.secret {
            at.token = shared;
            return Ok(());
        }
        let fresh = self.tokens.token_with_claims(claims).await.map_err(|e| {
            let mut err = refused(format!(
                "the service revoked the session's sign-in (continuous access evaluation: a password change, a disabled account, a changed location or policy) and asks for a new sign-in; the cached sign-in could not answer it: {}",
                e.message
            ));
            if e.needs_interactive {
                err.code = Some("SignInRequired".into());
                err.claims = Some(claims.to_string());
            }
            err
        })?;
        self.note_token(&fresh);
        tokens.set(fresh.clone());
        at.token = fresh;
        Ok(())
    }

    /// A 2xx: the page's body (capped; cut after the wanted rows) and header warnings. A body
    /// that is cut off is retried; one over the cap ends the run (fetching it again would
    /// download it again).
    async fn read_page(
        &self,
        call: &PageCall,
        at: &mut Attempt,
        resp: reqwest::Response,
        early: &mut Option<oneshot::Sender<String>>,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Option<Fetched>, RestError> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let cap = self.config.max_page_bytes;
        let received = &self.bytes_received;
        match read_page_body(resp, cap, call.want_rows, early, received).await {
            Ok(body) => Ok(Some(Fetched {
                body: body.bytes,
                cut: body.cut,
                warnings: header_warnings(&headers),
                used_get: at.use_get,
                url: at.url.clone(),
                attempt: at.attempt,
                status,
                request_id: header(&headers, "request-id"),
            })),
            Err(e @ BodyError::TooLarge { .. }) => Err(RestError {
                status: Some(status),
                request_id: header(&headers, "request-id"),
                ..RestError::new(
                    RestErrorKind::Protocol,
                    &call.cmdlet,
                    format!(
                        "{e}. A page that big is not a normal answer: ask for fewer rows per page (--page-size) or fewer properties"
                    ),
                )
            }),
            Err(BodyError::Read { detail, .. }) if at.attempt >= self.config.max_attempts => {
                Err(RestError {
                    status: Some(status),
                    request_id: header(&headers, "request-id"),
                    ..RestError::new(
                        RestErrorKind::Protocol,
                        &call.cmdlet,
                        format!("the page was cut off ({detail})"),
                    )
                })
            }
            Err(BodyError::Read { detail, .. }) => {
                self.retry(at, format!("the page was cut off ({detail})"), None, tx)
                    .await;
                Ok(None)
            }
        }
    }

    /// An error answer: retried when transient (429, 503, 504, 408, the tenant's concurrency
    /// limit), else the service's error with its code, exception type and request id.
    async fn service_error(
        &self,
        cmdlet: &str,
        at: &mut Attempt,
        (status, headers, body): (StatusCode, &HeaderMap, &[u8]),
        retry_after: Option<Duration>,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Option<Fetched>, RestError> {
        let parsed = parse_error_body(body);
        let concurrency = parsed
            .message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains(TENANT_CONCURRENCY_TEXT))
            || String::from_utf8_lossy(body)
                .to_ascii_lowercase()
                .contains(TENANT_CONCURRENCY_TEXT);
        let retryable = matches!(status.as_u16(), 429 | 503 | 504 | 408) || concurrency;
        let mut err = RestError {
            kind: RestErrorKind::Service,
            cmdlet: cmdlet.to_string(),
            status: Some(status.as_u16()),
            code: parsed.code,
            exception_type: parsed
                .exception_type
                .or_else(|| header(headers, "x-exceptiontype")),
            message: parsed
                .message
                .unwrap_or_else(|| default_message(status.as_u16())),
            request_id: header(headers, "request-id"),
            claims: None,
        };
        if retryable && at.attempt < self.config.max_attempts {
            let reason = format!("HTTP {}: {}", status.as_u16(), err.message);
            self.retry(at, reason, retry_after, tx).await;
            return Ok(None);
        }
        if retryable {
            err.message = format!("{} (gave up after {} attempts)", err.message, at.attempt);
        }
        Err(err)
    }
}

/// `X-Warnings` (newline or `|` separated).
fn header_warnings(headers: &HeaderMap) -> Vec<String> {
    header(headers, "x-warnings")
        .map(|h| {
            h.split(['\n', '|'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The `claims` of a `WWW-Authenticate: Bearer … error="insufficient_claims", claims="…"`
/// challenge, decoded (base64, standard or URL-safe, or JSON as it is). None for any other 401.
pub(super) fn claims_challenge(headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let mut insufficient = false;
    let mut claims = None;
    for v in headers.get_all("www-authenticate") {
        let Ok(v) = v.to_str() else { continue };
        for (k, val) in auth_params(v) {
            if k.eq_ignore_ascii_case("error") && val.eq_ignore_ascii_case("insufficient_claims") {
                insufficient = true;
            }
            if k.eq_ignore_ascii_case("claims") {
                claims = Some(val);
            }
        }
    }
    let raw = claims.filter(|_| insufficient)?;
    let raw = raw.trim();
    if raw.len() > 16 * 1024 {
        return None;
    }
    let text = if raw.starts_with('{') {
        raw.to_string()
    } else {
        let t = raw.trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(t)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t))
            .ok()?;
        String::from_utf8(bytes).ok()?
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .filter(serde_json::Value::is_object)
        .map(|_| text)
}

/// `key="value"` / `key=value` pairs of a challenge (after the scheme), quotes removed.
fn auth_params(v: &str) -> Vec<(String, String)> {
    let rest = v
        .trim()
        .strip_prefix("Bearer")
        .or_else(|| v.trim().strip_prefix("bearer"))
        .unwrap_or(v);
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            val = chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_string();
        }
        out.push((key, val));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("www-authenticate", v.parse().unwrap());
        m
    }

    #[test]
    fn claims_challenges_are_found_and_decoded() {
        use base64::Engine;
        let json = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let v = format!(
            r#"Bearer realm="", authorization_uri="https://login/x", error="insufficient_claims", claims="{b64}""#
        );
        assert_eq!(claims_challenge(&h(&v)).as_deref(), Some(json));
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        let v = format!(r#"Bearer error=insufficient_claims, claims="{url}""#);
        assert_eq!(claims_challenge(&h(&v)).as_deref(), Some(json));
        // Not a claims challenge: a plain expired token, claims without the error, garbage.
        assert_eq!(
            claims_challenge(&h(r#"Bearer error="invalid_token""#)),
            None
        );
        let v = format!(r#"Bearer claims="{b64}""#);
        assert_eq!(claims_challenge(&h(&v)), None);
        let v = r#"Bearer error="insufficient_claims", claims="!!notbase64""#;
        assert_eq!(claims_challenge(&h(v)), None);
        assert_eq!(claims_challenge(&HeaderMap::new()), None);
    }
}
