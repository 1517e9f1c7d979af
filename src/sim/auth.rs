//! The Entra-like sign-in side of the sim: `/{tenant}/oauth2/v2.0/devicecode|authorize|token`,
//! `/{tenant}/v2.0/.well-known/openid-configuration`, and the `/devicelogin` verification page.

use std::sync::Arc;

use axum::Router;

use super::SimShared;

/// Mutable state of the sign-in side (pending device codes, authorization codes, refresh tokens).
#[derive(Debug)]
pub struct AuthState {
    pub shared: Arc<SimShared>,
}

impl AuthState {
    pub fn new(shared: Arc<SimShared>) -> Arc<AuthState> {
        Arc::new(AuthState { shared })
    }
}

pub fn router(state: Arc<AuthState>) -> Router {
    Router::new().with_state(state)
}
