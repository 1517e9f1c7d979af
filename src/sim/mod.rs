//! The simulated tenant: an independent server implementation of the wire protocol in
//! `shared/reference/exchange-online-protocol.md` (Entra v2 sign-in + the Exchange admin API).
//!
//! Rule: nothing in `src/sim` imports client-side code (`crate::engine`, `crate::model`,
//! `crate::cli`, `crate::ui`). If both sides shared a parser, a bug in it would be invisible.

pub mod tokens;
pub mod world;

use std::net::SocketAddr;
use std::time::Duration;

/// How a simulated tenant is started (the `exo-connect sim` flags map onto this).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of the sign-in listener; the other listeners bind the same IP on random ports.
    /// Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Mailboxes of the big worldwide tenant.
    pub mailboxes: usize,
    /// Seed of the generated world (tenants, users, mailboxes, TOTP secrets).
    pub seed: u64,
    /// Access token lifetime (default 3600 s; tests use seconds).
    pub token_lifetime: Duration,
    /// Fault injection spec (see `faults` once it exists); empty = none.
    pub faults: String,
    /// Distinct connection ids allowed per (tenant, user, service) within `connection_window`
    /// before the "maximum number of connections" error. None = the service defaults (3 EXO, 5 EOP/SCC).
    pub connection_cap: Option<usize>,
    pub connection_window: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            mailboxes: 2500,
            seed: 1,
            token_lifetime: Duration::from_secs(3600),
            faults: String::new(),
            connection_cap: None,
            connection_window: Duration::from_secs(15 * 60),
        }
    }
}
