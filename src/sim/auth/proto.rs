//! Entra's wire shapes shared by the sign-in handlers: the JSON error body (`AADSTS…`), form
//! parsing, the public client check, random codes, PKCE and redirect-URI rules.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use uuid::Uuid;

use super::PUBLIC_CLIENT_ID;

/// An error in Entra's JSON shape.
#[derive(Debug)]
pub struct EntraError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

pub(super) fn bad(error: &'static str, code: u32, message: impl Into<String>) -> EntraError {
    EntraError {
        status: StatusCode::BAD_REQUEST,
        error,
        code,
        message: message.into(),
    }
}

impl EntraError {
    pub(super) fn description(&self) -> String {
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

pub(super) fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub(super) fn random_user_code() -> String {
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

pub(super) fn normalize_user_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub(super) fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub(super) fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> Result<&'a str, EntraError> {
    match f.get(name).map(|s| s.trim()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(bad(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )),
    }
}

pub(super) fn check_public_client(client_id: &str) -> Result<(), EntraError> {
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
pub(super) fn valid_redirect_uri(uri: &str) -> bool {
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

pub(super) fn pkce_s256(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// The `claims` request parameter (a JSON object), if any.
pub(super) fn parse_claims(
    f: &HashMap<String, String>,
) -> Result<Option<serde_json::Value>, EntraError> {
    match f.get("claims").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            _ => Err(bad(
                "invalid_request",
                90014,
                "The claims parameter is not a valid JSON object (e.g. {\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c1\"}}}).",
            )),
        },
    }
}
