//! Every secret the sim's sign-in side has handed out — access, refresh and ID tokens, device
//! and authorization codes — kept (bounded, newest last) so a test can look for them where a
//! client must never write them (`tests/system/secret_scan.sh`). `GET <login>/sim/issued`
//! answers them with the accounts' passwords and TOTP secrets, on a loopback listener only:
//! they are made-up values good for nothing but this sim.

use std::collections::VecDeque;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{AuthState, Shared};

/// The kinds of issued secret, as named in `/sim/issued`.
pub const KINDS: [&str; 5] = [
    "access_tokens",
    "refresh_tokens",
    "id_tokens",
    "device_codes",
    "authorization_codes",
];

/// Entries kept (a soak issues a few per run; a demo far fewer).
const KEPT: usize = 50_000;

/// The issued secrets, oldest first.
#[derive(Debug, Default)]
pub struct Issued(VecDeque<(&'static str, String)>);

impl AuthState {
    /// Notes a secret handed out (`kind` one of [`KINDS`]).
    pub(super) fn record_issued(&self, kind: &'static str, value: &str) {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if issued.0.len() >= KEPT {
            issued.0.pop_front();
        }
        issued.0.push_back((kind, value.to_string()));
    }

    /// Every secret handed out so far (the newest [`KEPT`]), as `(kind, value)`.
    pub fn issued_secrets(&self) -> Vec<(&'static str, String)> {
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.0.iter().cloned().collect()
    }

    /// The `/sim/issued` document: each kind's values, plus `passwords` and `totp_secrets`.
    pub fn issued_json(&self) -> Value {
        let mut out = Map::new();
        for k in KINDS {
            out.insert(k.into(), json!([]));
        }
        for (kind, v) in self.issued_secrets() {
            if let Some(Value::Array(a)) = out.get_mut(kind) {
                a.push(json!(v));
            }
        }
        let users = &self.shared.world.users;
        out.insert(
            "passwords".into(),
            users.iter().map(|u| json!(u.password)).collect(),
        );
        out.insert(
            "totp_secrets".into(),
            users
                .iter()
                .filter(|u| !u.totp_secret.is_empty())
                .map(|u| json!(u.totp_secret))
                .collect(),
        );
        Value::Object(out)
    }
}

/// `GET /sim/issued` (routed on a loopback listener only; see the module docs).
pub(super) async fn issued(State(s): Shared) -> Response {
    axum::Json(s.issued_json()).into_response()
}
