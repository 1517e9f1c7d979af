//! The admin API's limits (reference page §6, end):
//! - **Concurrent requests per tenant** (the REST API's real limit): at most
//!   `SimConfig::tenant_concurrency` requests of one tenant in flight at once (the wait of a
//!   `slow` fault counts); one more answers `tenant_concurrency_status` (429 by default, or 503)
//!   with "You have reached the maximum number of concurrent requests per tenant. Please wait and
//!   try again". 0 = no limit.
//! - **Request rate** (`SimConfig::rate_limit_*`): a token bucket per tenant (or per account
//!   with `RateScope::Account`) of `rate_limit_capacity` requests (default 1000; 0 = off),
//!   refilled at `rate_limit_per_second` (default 50). Every admin API answer carries
//!   `Rate-Limit-Limit` (the capacity), `Rate-Limit-Remaining` (whole requests left) and
//!   `Rate-Limit-Reset` (seconds until full); a request with the bucket empty answers 429 with
//!   `Retry-After` = the time until the next request is allowed, in tenths of a second ("1.5").
//! - **The retired remote PowerShell connection count**, only when asked for
//!   (`SimConfig::legacy_connection_limits` or `connection_cap`): distinct `connection-id`s per
//!   (tenant, principal, EXO|SCC) within `connection_window`; one more than the cap (3 EXO, 5 EOP
//!   and SCC unless `connection_cap` says otherwise) answers 400 "Fail to create a runspace
//!   because you have exceeded the maximum number of connections allowed : N …". Off by default:
//!   the REST API keeps no such count, so scripts that loop over runs are never refused.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use uuid::Uuid;

use super::AdminApi;
use crate::sim::world::{Tenant, TenantBehaviour, TenantKind};

/// Distinct connection ids currently counted for one (tenant, principal, service) (legacy
/// remote PowerShell limit only).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionCount {
    pub tenant: String,
    /// UPN, or `app:<appid>`.
    pub principal: String,
    /// "EXO" or "SCC".
    pub service: String,
    pub connections: usize,
}

/// (tenant, principal, service)
type ConnKey = (Uuid, String, &'static str);

/// The mutable state of the limits.
#[derive(Debug, Default)]
pub(super) struct Limits {
    /// Requests in flight per tenant.
    in_flight: Mutex<HashMap<Uuid, usize>>,
    /// (tenant, principal, service) → (connection id, last seen), legacy mode only.
    connections: Mutex<HashMap<ConnKey, Vec<(String, Instant)>>>,
    /// Throttling tenants' periods.
    throttle: Mutex<HashMap<Uuid, Throttle>>,
    /// Rate buckets by (tenant, account or "" for the tenant scope).
    buckets: Mutex<HashMap<(Uuid, String), Bucket>>,
}

/// A token bucket: `tokens` of `capacity`, refilled at `rate_limit_per_second`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What the `Rate-Limit-*` headers say after a request (and, refused, when to retry).
#[derive(Debug, Clone, Copy)]
pub(super) struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// Seconds until one request is allowed (refused requests).
    pub wait: f64,
}

impl RateInfo {
    /// `Retry-After`: the wait rounded up to a tenth of a second ("2", "1.5").
    pub fn retry_after(&self) -> String {
        let tenths = (self.wait * 10.0).ceil().max(1.0) as u64;
        if tenths.is_multiple_of(10) {
            (tenths / 10).to_string()
        } else {
            format!("{}.{}", tenths / 10, tenths % 10)
        }
    }

    /// Adds the `Rate-Limit-Limit`, `-Remaining`, `-Reset` headers.
    pub fn headers(&self, reply: super::reply::Reply) -> super::reply::Reply {
        reply
            .header("rate-limit-limit", self.limit.to_string())
            .header("rate-limit-remaining", self.remaining.to_string())
            .header("rate-limit-reset", self.reset.to_string())
    }
}

/// A throttling tenant's state: requests served, when the next period starts, the current one.
#[derive(Debug, Default)]
struct Throttle {
    served: u32,
    next_period_at: u32,
    until: Option<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request's place in its tenant's concurrency budget; given back on drop.
pub(super) struct Slot<'a> {
    limits: &'a Limits,
    tenant: Uuid,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut m = lock(&self.limits.in_flight);
        if let Some(n) = m.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.tenant);
            }
        }
    }
}

impl AdminApi {
    /// Takes a concurrency slot of `tenant`; Err(status) when the tenant already has
    /// `tenant_concurrency` requests in flight.
    pub(super) fn enter(&self, tenant: Uuid) -> Result<Slot<'_>, u16> {
        let cfg = &self.shared.config;
        let mut m = lock(&self.limits.in_flight);
        let n = m.entry(tenant).or_default();
        if cfg.tenant_concurrency > 0 && *n >= cfg.tenant_concurrency {
            return Err(cfg.tenant_concurrency_status);
        }
        *n += 1;
        Ok(Slot {
            limits: &self.limits,
            tenant,
        })
    }

    /// Takes one request from the tenant's (or, with `RateScope::Account`, the account's)
    /// token bucket: Ok(the headers' values) or Err(when to retry); Ok(None) when the rate limit
    /// is off (`rate_limit_capacity` 0).
    pub(super) fn take_rate(
        &self,
        tenant: &Tenant,
        account: Option<&str>,
    ) -> Result<Option<RateInfo>, RateInfo> {
        let cfg = &self.shared.config;
        let cap = cfg.rate_limit_capacity as f64;
        let rate = cfg.rate_limit_per_second.max(0.001);
        if cap <= 0.0 {
            return Ok(None);
        }
        let key = match cfg.rate_limit_scope {
            crate::sim::RateScope::Tenant => String::new(),
            crate::sim::RateScope::Account => account.unwrap_or("").to_ascii_lowercase(),
        };
        let now = Instant::now();
        let mut buckets = lock(&self.limits.buckets);
        let b = buckets.entry((tenant.id, key)).or_insert(Bucket {
            tokens: cap,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(cap);
        b.last = now;
        let allowed = b.tokens >= 1.0;
        if allowed {
            b.tokens -= 1.0;
        }
        let info = RateInfo {
            limit: cfg.rate_limit_capacity,
            remaining: b.tokens.floor() as u32,
            reset: ((cap - b.tokens) / rate).ceil() as u64,
            wait: if allowed {
                0.0
            } else {
                (1.0 - b.tokens) / rate
            },
        };
        if allowed { Ok(Some(info)) } else { Err(info) }
    }

    /// A throttling tenant (see [`TenantBehaviour::Throttling`]): Err(whole seconds left, at
    /// least 1) during a throttle period; a period starts at the first request and again after
    /// every `throttle_every` requests served. Ok for every other tenant.
    pub(super) fn throttle(&self, tenant: &Tenant) -> Result<(), u64> {
        if tenant.behaviour != TenantBehaviour::Throttling {
            return Ok(());
        }
        let cfg = &self.shared.config;
        let now = Instant::now();
        let mut m = lock(&self.limits.throttle);
        let st = m.entry(tenant.id).or_default();
        let left = |until: Instant| (until - now).as_secs_f64().ceil().max(1.0) as u64;
        if let Some(until) = st.until {
            if now < until {
                return Err(left(until));
            }
            st.until = None;
        }
        if st.served == st.next_period_at {
            let until = now + cfg.throttle_retry_after.max(Duration::from_millis(1));
            st.until = Some(until);
            st.next_period_at = st.served + cfg.throttle_every.max(1);
            return Err(left(until));
        }
        st.served += 1;
        Ok(())
    }

    /// Requests of a tenant (GUID or domain) in flight right now.
    pub fn in_flight(&self, tenant: &str) -> usize {
        let Some(t) = self.shared.world.tenant(tenant) else {
            return 0;
        };
        lock(&self.limits.in_flight)
            .get(&t.id)
            .copied()
            .unwrap_or(0)
    }

    /// Whether the retired remote PowerShell connection count is simulated.
    pub fn legacy_connection_limits(&self) -> bool {
        let cfg = &self.shared.config;
        cfg.legacy_connection_limits || cfg.connection_cap.is_some()
    }

    /// Connection ids currently counted (within the window; legacy mode only).
    pub fn connection_counts(&self) -> Vec<ConnectionCount> {
        let window = self.shared.config.connection_window;
        let conns = lock(&self.limits.connections);
        let mut out: Vec<_> = conns
            .iter()
            .map(|((t, p, s), ids)| ConnectionCount {
                tenant: t.to_string(),
                principal: p.clone(),
                service: s.to_string(),
                connections: ids.iter().filter(|(_, at)| at.elapsed() < window).count(),
            })
            .filter(|c| c.connections > 0)
            .collect();
        out.sort_by(|a, b| {
            (&a.tenant, &a.principal, &a.service).cmp(&(&b.tenant, &b.principal, &b.service))
        });
        out
    }

    /// Forgets every counted connection.
    pub fn clear_connections(&self) {
        lock(&self.limits.connections).clear();
    }

    /// Legacy mode: counts `connection_id`; Err(cap) if it is one too many. Always Ok when the
    /// legacy limit is off.
    pub(super) fn count_connection(
        &self,
        tenant: &Tenant,
        principal: &str,
        service: &'static str,
        connection_id: &str,
    ) -> Result<(), usize> {
        if !self.legacy_connection_limits() {
            return Ok(());
        }
        let cfg = &self.shared.config;
        let cap = cfg.connection_cap.unwrap_or(match service {
            "EXO" if tenant.kind != TenantKind::EopStandalone => 3,
            _ => 5,
        });
        let window = cfg.connection_window;
        let mut conns = lock(&self.limits.connections);
        let ids = conns
            .entry((tenant.id, principal.to_ascii_lowercase(), service))
            .or_default();
        ids.retain(|(_, at)| at.elapsed() < window);
        if let Some(e) = ids
            .iter_mut()
            .find(|(id, _)| id.eq_ignore_ascii_case(connection_id))
        {
            e.1 = Instant::now();
            return Ok(());
        }
        if ids.len() >= cap {
            return Err(cap);
        }
        ids.push((connection_id.to_string(), Instant::now()));
        Ok(())
    }
}
