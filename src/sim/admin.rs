//! The Exchange admin API side of the sim: `POST /adminapi/beta/{tenant}/InvokeCommand`.

use std::sync::Arc;

use axum::Router;

use super::SimShared;

/// Which listener a router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminHost {
    /// Exchange Online (and EOP).
    Exo,
    /// Security & Compliance global host: answers 302 to the regional host.
    SccGlobal,
    /// Security & Compliance regional host.
    SccRegional,
}

/// State of the admin API (request log, connection counting, faults, created objects).
#[derive(Debug)]
pub struct AdminApi {
    pub shared: Arc<SimShared>,
}

impl AdminApi {
    pub fn new(shared: Arc<SimShared>) -> Arc<AdminApi> {
        Arc::new(AdminApi { shared })
    }

    pub fn router(self: &Arc<Self>, _host: AdminHost) -> Router {
        Router::new()
    }
}
