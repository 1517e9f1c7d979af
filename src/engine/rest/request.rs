//! One page: the `InvokeCommand` request (bearer token, anchor mailbox, page size, the
//! connection's ids), sent until it gets an answer that ends the page — redirects followed,
//! the token refreshed once after a 401, a next-page link retried with GET when the service
//! wants it, transient failures retried with backoff — and the answer read (rows and warnings,
//! or the service's error).

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::error::default_message;
use super::retry::parse_retry_after;
use super::{
    APP_ANCHOR_MAILBOX, CLIENT_APPLICATION, RestClient, RestError, RestErrorKind, RunEvent,
    TENANT_CONCURRENCY_TEXT, parse_error_body,
};
use crate::engine::diag;
use crate::engine::http::{check_url, plain_error};
use crate::engine::proxy::ProxyAuthRequired;
use crate::engine::token::AccessToken;

/// What stays the same over one page's attempts.
pub(super) struct PageCall<'a> {
    pub cmdlet: &'a str,
    /// The `InvokeCommand` body (POST).
    pub body: &'a [u8],
    pub page_size: u32,
    /// A next-page link (not the first request): the service may want it fetched with GET.
    pub is_next_link: bool,
    pub use_get: bool,
}

/// Where one page's request is: its URL (after redirects), attempt, what was tried.
pub(super) struct Attempt {
    pub url: url::Url,
    pub attempt: u32,
    pub redirects: u32,
    refreshed: bool,
    use_get: bool,
    tried_get: bool,
}

/// A page's answer: the JSON, the warnings, and whether it had to be fetched with GET.
pub(super) struct Page {
    pub json: Value,
    pub warnings: Vec<String>,
    pub used_get: bool,
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

impl RestClient {
    /// Fetches one page (see the module's description).
    pub(super) async fn page(
        &self,
        call: &PageCall<'_>,
        url: &url::Url,
        token: &mut AccessToken,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Page, RestError> {
        let mut at = Attempt {
            url: url.clone(),
            attempt: 1,
            redirects: 0,
            refreshed: false,
            use_get: call.use_get,
            tried_get: call.use_get,
        };
        loop {
            check_url(at.url.as_str())
                .map_err(|e| RestError::new(RestErrorKind::Redirect, call.cmdlet, e.to_string()))?;
            let rb = self.request(call, &at, token);
            self.requests.fetch_add(1, Ordering::Relaxed);
            *self.last_activity.lock().unwrap() = Some(Utc::now());
            let started = std::time::Instant::now();
            match rb.send().await {
                Ok(resp) => {
                    let (status, ms) = (resp.status().as_u16(), started.elapsed());
                    let method = if at.use_get { "GET" } else { "POST" };
                    diag::exchange(call.cmdlet, method, &at.url, status, ms, resp.headers());
                    if let Some(page) = self.answer(call, &mut at, resp, token, tx).await? {
                        return Ok(page);
                    }
                }
                Err(e) => {
                    let method = if at.use_get { "GET" } else { "POST" };
                    diag::no_answer(
                        call.cmdlet,
                        method,
                        &at.url,
                        started.elapsed(),
                        &e.to_string(),
                    );
                    self.no_answer(call.cmdlet, &mut at, &e, tx).await?
                }
            }
        }
    }

    /// The request of this attempt: POST with the body, or GET for a next-page link.
    fn request(
        &self,
        call: &PageCall<'_>,
        at: &Attempt,
        token: &AccessToken,
    ) -> reqwest::RequestBuilder {
        let anchor = match &self.target.app_only_organization {
            Some(org) => format!("APP:{APP_ANCHOR_MAILBOX}@{org}"),
            None => format!("UPN:{}", token.account.clone().unwrap_or_default()),
        };
        let rb = if at.use_get {
            self.http.get(at.url.clone())
        } else {
            self.http.post(at.url.clone()).body(call.body.to_vec())
        };
        rb.bearer_auth(&token.secret)
            .header("X-AnchorMailbox", anchor)
            .header("Prefer", format!("odata.maxpagesize={}", call.page_size))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("connection-id", self.connection_id.to_string())
            .header("client-request-id", Uuid::new_v4().to_string())
            .header("X-CmdletName", call.cmdlet)
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
        call: &PageCall<'_>,
        at: &mut Attempt,
        resp: reqwest::Response,
        token: &mut AccessToken,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Option<Page>, RestError> {
        let status = resp.status();
        let headers = resp.headers().clone();
        proxy_refusal(call.cmdlet, &at.url, status, &headers)?;
        if status.is_redirection() {
            self.follow_redirect(call.cmdlet, at, status, &headers, tx)
                .await?;
            return Ok(None);
        }
        if status == StatusCode::UNAUTHORIZED {
            if at.refreshed {
                return Err(RestError {
                    status: Some(401),
                    request_id: header(&headers, "request-id"),
                    ..RestError::new(
                        RestErrorKind::Auth,
                        call.cmdlet,
                        "the service refused the sign-in even after a token refresh; sign in again",
                    )
                });
            }
            at.refreshed = true;
            *token = self.get_token(call.cmdlet, true).await?;
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
        let retry_after =
            header(&headers, "retry-after").and_then(|v| parse_retry_after(&v, Utc::now()));
        let bytes = resp.bytes().await;
        if status.is_success() {
            return self
                .read_page(call.cmdlet, at, status, &headers, bytes, tx)
                .await;
        }
        let body = bytes.map(|b| b.to_vec()).unwrap_or_default();
        self.service_error(call.cmdlet, at, (status, &headers, &body), retry_after, tx)
            .await
    }

    /// A 2xx: the page's JSON and warnings; a body that cannot be read is retried.
    async fn read_page<B: AsRef<[u8]>>(
        &self,
        cmdlet: &str,
        at: &mut Attempt,
        status: StatusCode,
        headers: &HeaderMap,
        bytes: reqwest::Result<B>,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<Option<Page>, RestError> {
        let parsed = match bytes {
            Ok(b) => serde_json::from_slice::<Value>(b.as_ref())
                .map_err(|e| format!("the page could not be read as JSON ({e})")),
            Err(e) => Err(format!("the page was cut off ({})", plain_error(&e))),
        };
        match parsed {
            Ok(json) => {
                let warnings = warnings_of(headers, &json);
                Ok(Some(Page {
                    json,
                    warnings,
                    used_get: at.use_get,
                }))
            }
            Err(reason) if at.attempt >= self.config.max_attempts => Err(RestError {
                status: Some(status.as_u16()),
                request_id: header(headers, "request-id"),
                ..RestError::new(RestErrorKind::Protocol, cmdlet, reason)
            }),
            Err(reason) => {
                self.retry(at, reason, None, tx).await;
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
    ) -> Result<Option<Page>, RestError> {
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

/// `X-Warnings` (newline or `|` separated) and `@adminapi.warnings`.
fn warnings_of(headers: &HeaderMap, json: &Value) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(h) = header(headers, "x-warnings") {
        warnings.extend(
            h.split(['\n', '|'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }
    if let Some(Value::Array(ws)) = json.get("@adminapi.warnings") {
        warnings.extend(ws.iter().map(|w| match w {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }));
    }
    warnings
}
