//! Answers of the simulated admin API under construction ([`Reply`]), the shared error answers
//! (401 with `WWW-Authenticate`, 400, 403), the answers of the faults that replace a response,
//! and the conversion into an HTTP response (where a `reset` fault may cut the body).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::AdminApi;
use super::faults::{DetailForm, FaultKind};
use super::odata::ApiError;

/// A response under construction (turned into an axum response at the end, where a reset
/// fault may cut its body).
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(super) fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![(
                header::CONTENT_TYPE,
                "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8".into(),
            )],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    pub(super) fn error(e: &ApiError, forced: Option<DetailForm>) -> Reply {
        let mut r = Reply::json(e.status, &e.body(forced));
        r.headers.push((
            header::HeaderName::from_static("x-exceptiontype"),
            short_type(&e.exception_type),
        ));
        r
    }

    pub(super) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers
            .push((header::HeaderName::from_static(name), value.into()));
        self
    }
}

/// `x-ExceptionType` carries the short type name, like the service.
pub(super) fn short_type(t: &str) -> String {
    t.rsplit('.').next().unwrap_or(t).to_string()
}

pub(super) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

pub(super) fn http_date() -> String {
    chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// An OData error answer with the JSON detail form.
fn simple_error(status: u16, code: &'static str, ty: &str, msg: &str) -> Reply {
    Reply::error(
        &ApiError::new(
            status,
            code,
            ty,
            "Ex8B3F21",
            DetailForm::Json,
            msg.to_string(),
        ),
        None,
    )
}

/// 429 "The request was throttled", with `Retry-After` when given (seconds, maybe fractional).
pub(super) fn throttled(retry_after: Option<&str>) -> Reply {
    let r = simple_error(
        429,
        "TooManyRequests",
        "Microsoft.Exchange.Admin.OData.Core.ThrottlingException",
        &format!(
            "The request was throttled. Try again in {} seconds.",
            retry_after.unwrap_or("0")
        ),
    );
    match retry_after {
        Some(s) => r.header("retry-after", s),
        None => r,
    }
}

/// The "maximum number of concurrent requests per tenant" answer (429 or 503).
pub(super) fn concurrency_refused(status: u16) -> Reply {
    simple_error(
        status,
        if status == 503 {
            "ServiceUnavailable"
        } else {
            "TooManyRequests"
        },
        "Microsoft.Exchange.Admin.OData.Core.ConcurrencyThrottlingException",
        "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
    )
}

/// 408, 500, 503 or 504 with the service's wording.
fn status_fault(status: u16) -> Reply {
    let (code, text) = match status {
        408 => (
            "RequestTimeout",
            "The request timed out before the server finished reading it.",
        ),
        503 => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        ),
        504 => (
            "GatewayTimeout",
            "The backend server did not answer in time.",
        ),
        _ => (
            "InternalServerError",
            "An internal server error occurred. The operation failed.",
        ),
    };
    simple_error(
        status,
        code,
        "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        text,
    )
}

/// The answer of a fault that replaces the response.
pub(super) fn fault_reply(api: &AdminApi, kind: &FaultKind) -> Reply {
    match kind {
        FaultKind::TooManyRequests { retry_after } => throttled(retry_after.as_deref())
            .header("rate-limit-limit", "100")
            .header("rate-limit-remaining", "0"),
        FaultKind::Status(s) => status_fault(*s),
        FaultKind::Concurrency { status } => concurrency_refused(*status),
        FaultKind::Unauthorized => unauthorized(
            api,
            "The access token has expired. Acquire a new token and retry.",
        ),
        FaultKind::Garbage403 { empty } => Reply {
            status: 403,
            headers: vec![
                (header::CONTENT_ENCODING, "gzip".into()),
                (header::CONTENT_TYPE, "application/json".into()),
            ],
            body: if *empty {
                Vec::new()
            } else {
                b"\x1f\x8b\x08\x00not-really-gzip\xff\xfe<html>Forbidden".to_vec()
            },
        },
        // Handled by the pipeline (they change the answer or need the request).
        FaultKind::Slow { .. }
        | FaultKind::Reset { .. }
        | FaultKind::Truncate { .. }
        | FaultKind::CutJson
        | FaultKind::Redirect
        | FaultKind::HostileRedirect
        | FaultKind::ForeignNextLink
        | FaultKind::NextLinkLoop
        | FaultKind::Huge { .. }
        | FaultKind::ErrorForm(_)
        | FaultKind::RedirectPathCase
        | FaultKind::Revoke { .. }
        | FaultKind::BatchItem { .. }
        | FaultKind::Random(_) => Reply::json(500, &json!({})),
    }
}

pub(super) fn unauthorized(api: &AdminApi, why: &str) -> Reply {
    let e = ApiError::new(
        401,
        "Unauthorized",
        "Microsoft.Exchange.Security.Authentication.InvalidTokenException",
        "Ex2C9D40",
        DetailForm::Json,
        why.to_string(),
    );
    let desc = why.replace('"', "'");
    Reply::error(&e, None).header(
        "www-authenticate",
        format!(
            "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"{}/common/oauth2/authorize\", error=\"invalid_token\", error_description=\"{desc}\"",
            api.shared.urls.login
        ),
    )
}

/// 401 for a revoked session (continuous access evaluation): `WWW-Authenticate` with
/// `error="insufficient_claims"` and the base64 claims challenge.
pub(super) fn insufficient_claims(api: &AdminApi, challenge_b64: &str) -> Reply {
    let e = ApiError::new(
        401,
        "Unauthorized",
        "Microsoft.Exchange.Security.Authentication.InsufficientClaimsException",
        "Ex2C9D41",
        DetailForm::Json,
        "The session was revoked by a continuous access evaluation event: request a new token with the claims of the challenge.".to_string(),
    );
    Reply::error(&e, None).header(
        "www-authenticate",
        format!(
            "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"00000002-0000-0ff1-ce00-000000000000\", error=\"insufficient_claims\", claims=\"{challenge_b64}\"",
            api.shared.urls.login
        ),
    )
}

pub(super) fn bad_request(message: String, target: &str) -> ApiError {
    ApiError::new(
        400,
        "BadRequest",
        "Microsoft.Exchange.Admin.OData.Core.ODataRequestException",
        "Ex1D7A02",
        DetailForm::Json,
        message,
    )
    .target(target.to_string())
}

pub(super) fn forbidden(ex_type: &str, message: String) -> ApiError {
    ApiError::new(
        403,
        "Forbidden",
        ex_type,
        "Ex3F0A77",
        DetailForm::Json,
        message,
    )
}

pub(super) fn be_target(anchor: &str) -> String {
    let h = anchor.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!(
        "DM6PR{:02}MB{:04}.namprd{:02}.prod.outlook.com",
        h % 20,
        (h >> 8) % 10000,
        (h >> 24) % 20
    )
}

/// How a body goes out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Delivery {
    #[default]
    Whole,
    /// The first N bytes, then the connection is aborted (a reset mid-body).
    Reset(usize),
    /// The full Content-Length declared, only N bytes (None = half) sent, then the connection
    /// closes: a broken Content-Length promise.
    Truncate(Option<usize>),
    /// A valid but oversized JSON page of `mb` MiB, streamed; with or without Content-Length.
    Huge { mb: u64, declared: bool },
}

/// The HTTP response: `Date`, `request-id`, the echoed `client-request-id`, the reply's headers
/// and the body as `delivery` says.
pub(super) fn into_response(
    reply: Reply,
    request_headers: &HeaderMap,
    delivery: Delivery,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(h) = builder.headers_mut() {
        h.insert(
            header::DATE,
            HeaderValue::from_str(&http_date()).unwrap_or(HeaderValue::from_static("")),
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("request-id", v);
        }
        if let Some(v) = header_str(request_headers, "client-request-id")
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            h.insert("client-request-id", v);
        }
        for (k, v) in &reply.headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.append(k.clone(), v);
            }
        }
        let declared = match delivery {
            Delivery::Truncate(_) => Some(reply.body.len() as u64),
            Delivery::Huge { mb, declared: true } => Some(huge_len(mb)),
            _ => None,
        };
        if let Some(n) = declared {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    let body = match delivery {
        Delivery::Whole => Body::from(reply.body),
        Delivery::Reset(after) => reset_body(reply.body, after),
        Delivery::Truncate(after) => truncated_body(reply.body, after),
        Delivery::Huge { mb, .. } => huge_body(mb),
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Sends the first `after` bytes, gives hyper time to flush them with the headers, then fails
/// the stream: hyper aborts the connection and the client sees a body error.
fn reset_body(body: Vec<u8>, after: usize) -> Body {
    let cut = after
        .min(body.len().saturating_sub(1))
        .max(1)
        .min(body.len());
    let head = Bytes::copy_from_slice(&body[..cut]);
    let stream = futures_util::stream::unfold(Some(head), |state| async move {
        match state {
            Some(head) => Some((Ok::<Bytes, std::io::Error>(head), None)),
            None => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "sim fault: connection reset mid-body",
                    )),
                    None,
                ))
            }
        }
    });
    Body::from_stream(stream)
}

/// The first `after` bytes (default half) of a body whose full length was declared; after a
/// pause that lets hyper flush them with the headers the stream ends, so hyper closes the
/// connection short of the promised length.
fn truncated_body(body: Vec<u8>, after: Option<usize>) -> Body {
    let cut = after
        .unwrap_or(body.len() / 2)
        .min(body.len().saturating_sub(1));
    let head = Bytes::copy_from_slice(&body[..cut]);
    let stream = futures_util::stream::unfold(Some(head), |state| async move {
        let head = state?;
        Some((Ok::<Bytes, std::io::Error>(head), None))
    })
    .chain(futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<Bytes, std::io::Error>(Bytes::new())
    }));
    Body::from_stream(stream)
}

/// One padding row of the oversized page (1 KiB with its comma).
fn pad_row(i: u64) -> Vec<u8> {
    let head = format!("{{\"Name\":\"pad{i:09}\",\"Padding\":\"");
    let tail = "\"},";
    let fill = 1024 - head.len() - tail.len();
    let mut row = head.into_bytes();
    row.resize(row.len() + fill, b'x');
    row.extend_from_slice(tail.as_bytes());
    row
}

const HUGE_HEAD: &[u8] = b"{\"@odata.context\":\"sim-huge\",\"value\":[";
const HUGE_TAIL: &[u8] = b"{\"Name\":\"end\"}]}";

fn huge_len(mb: u64) -> u64 {
    HUGE_HEAD.len() as u64 + mb * 1024 * 1024 + HUGE_TAIL.len() as u64
}

/// A valid JSON page of `mb` MiB of padding rows, streamed in 64 KiB chunks (never held whole).
fn huge_body(mb: u64) -> Body {
    let rows = mb * 1024;
    let chunks = std::iter::once(Bytes::from_static(HUGE_HEAD))
        .chain((0..rows).step_by(64).map(move |start| {
            let mut chunk = Vec::with_capacity(64 * 1024);
            for i in start..(start + 64).min(rows) {
                chunk.extend_from_slice(&pad_row(i));
            }
            Bytes::from(chunk)
        }))
        .chain(std::iter::once(Bytes::from_static(HUGE_TAIL)));
    Body::from_stream(futures_util::stream::iter(
        chunks.map(Ok::<Bytes, std::io::Error>),
    ))
}
