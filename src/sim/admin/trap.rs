//! The trap: a listener on ANOTHER loopback host (`FaultUrls::trap`, `127.0.0.2` where the
//! system has it, else `localhost`) that the `evilredirect` and `foreignnext` faults point
//! clients at. A client must never send its bearer token there; the trap records every request
//! it gets — method, path, and whether an `Authorization` or `Cookie` header came along (never
//! their values) — for tests to check ([`AdminApi::trap_hits`]), and answers a harmless-looking
//! 200 page so a client that follows does not fail for another reason.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::AdminApi;

/// One request that reached the trap.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrapHit {
    pub time: String,
    pub method: String,
    /// Path and query.
    pub path: String,
    /// An `Authorization` header was sent (its value is never kept).
    pub authorization: bool,
    /// A `Cookie` header was sent (its value is never kept).
    pub cookie: bool,
}

impl AdminApi {
    /// Every request the trap host received, oldest first.
    pub fn trap_hits(&self) -> Vec<TrapHit> {
        self.trap.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The trap's router (any method, any path).
    pub fn trap_router(self: &Arc<Self>) -> Router {
        Router::new().fallback(hit).with_state(self.clone())
    }
}

async fn hit(
    State(api): State<Arc<AdminApi>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let entry = TrapHit {
        time: chrono::Utc::now().to_rfc3339(),
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        authorization: headers.contains_key(header::AUTHORIZATION),
        cookie: headers.contains_key(header::COOKIE),
    };
    {
        let mut hits = api.trap.lock().unwrap_or_else(|e| e.into_inner());
        hits.push(entry);
        if hits.len() > 1000 {
            hits.drain(..100);
        }
    }
    axum::Json(json!({
        "value": [{"Name": "trap", "Note": "This host is not the admin API: a token sent here is stolen."}]
    }))
    .into_response()
}
