//! Rate limits as information (reference page §2 "Throttling", §7): the service's
//! `Rate-Limit-Limit` / `-Remaining` / `-Reset` headers read into a [`RateBudget`], and a
//! [`Pacer`] that spaces requests out before the budget runs dry, so a long run slows down a
//! little instead of hitting 429s.
//!
//! One pacer per (admin-API origin, tenant), shared by every connection of this process to that
//! tenant ([`pacer_for`]): the service counts the tenant's requests, not the connection's, and
//! the many-tenants fan-out uses the same pacers. The model: the budget was `remaining` requests
//! when the answer came, refilling at `(limit - remaining) / reset` requests per second (full
//! again after `reset` seconds); every request sent since takes one. A request that would leave
//! fewer than [`RESERVE`] requests waits until the refill covers it. Without headers a pacer
//! never waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// Requests kept in hand: the pacer waits rather than spend the last ones (other clients of the
/// tenant, and requests already in flight, may take them).
pub const RESERVE: f64 = 1.0;
/// The longest a pacer makes one request wait.
pub const MAX_PACE_WAIT: Duration = Duration::from_secs(60);

/// What the service said of the request budget in its last answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RateBudget {
    /// `Rate-Limit-Limit`: requests the budget holds.
    pub limit: u32,
    /// `Rate-Limit-Remaining`: requests left when the answer was sent.
    pub remaining: u32,
    /// `Rate-Limit-Reset`: seconds until the budget is full again.
    pub reset_secs: u64,
    /// When the answer came.
    pub at: DateTime<Utc>,
}

impl RateBudget {
    /// From an answer's headers; None when the service sent none (or nonsense).
    pub fn from_headers(headers: &HeaderMap) -> Option<RateBudget> {
        let num = |name: &str| -> Option<f64> {
            let v = headers
                .get(name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()?;
            (v.is_finite() && v >= 0.0).then_some(v)
        };
        let limit = num("rate-limit-limit")?;
        let remaining = num("rate-limit-remaining")?;
        let reset = num("rate-limit-reset").unwrap_or(0.0);
        (limit >= 1.0).then(|| RateBudget {
            limit: limit.min(u32::MAX as f64) as u32,
            remaining: remaining.min(limit).min(u32::MAX as f64) as u32,
            reset_secs: reset.min(86_400.0).ceil() as u64,
            at: Utc::now(),
        })
    }

    /// Whether the budget is low: a tenth or less left, or no more than two requests (a small
    /// budget the pacer keeps just above empty).
    pub fn is_low(&self) -> bool {
        self.remaining < self.limit
            && ((self.remaining as u64) * 10 <= self.limit as u64 || self.remaining <= 2)
    }
}

impl RateBudget {
    /// When the budget is full again: the answer's time plus `Rate-Limit-Reset`.
    pub fn full_at(&self) -> DateTime<Utc> {
        self.at + chrono::Duration::seconds(self.reset_secs as i64)
    }

    /// Until when a pacer holds requests back on this budget alone (requests sent since it was
    /// announced count too, so the pacer may wait a little longer); None when there is room.
    pub fn paced_until(&self) -> Option<DateTime<Utc>> {
        let short = RESERVE + 1.0 - self.remaining as f64;
        if short <= 0.0 {
            return None;
        }
        let rate = refill_rate(self);
        let wait = if rate <= 0.0 {
            Duration::from_secs(self.reset_secs)
        } else {
            Duration::from_secs_f64(short / rate)
        }
        .min(MAX_PACE_WAIT);
        Some(self.at + chrono::Duration::milliseconds(wait.as_millis() as i64))
    }
}

impl std::fmt::Display for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} requests left (full again in {} s)",
            self.remaining, self.limit, self.reset_secs
        )
    }
}

#[derive(Debug, Default)]
struct State {
    /// The last budget and when it was seen (monotonic).
    last: Option<(RateBudget, Instant)>,
    /// Requests sent (or reserved) since.
    spent: f64,
}

/// Spaces requests out for one tenant (see the module's description).
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Pacer {
    pub fn new() -> Arc<Pacer> {
        Arc::new(Pacer::default())
    }

    /// The last budget the service announced.
    pub fn budget(&self) -> Option<RateBudget> {
        self.lock().last.map(|(b, _)| b)
    }

    /// An answer's budget replaces the estimate (requests still in flight are not known to it:
    /// [`RESERVE`] covers them).
    pub fn update(&self, budget: RateBudget) {
        let mut s = self.lock();
        s.last = Some((budget, Instant::now()));
        s.spent = 0.0;
    }

    /// Takes one request from the budget and says how long to wait before sending it (zero
    /// when there is room, or when the service never sent rate headers).
    pub fn reserve(&self) -> Duration {
        let mut s = self.lock();
        let Some((b, seen)) = s.last else {
            return Duration::ZERO;
        };
        let rate = refill_rate(&b);
        let elapsed = seen.elapsed().as_secs_f64();
        let available = (b.remaining as f64 + rate * elapsed).min(b.limit as f64) - s.spent;
        s.spent += 1.0;
        let short = RESERVE + 1.0 - available;
        if short <= 0.0 {
            return Duration::ZERO;
        }
        if rate <= 0.0 {
            // Nothing refills: wait for the reset, if the service named one.
            return Duration::from_secs(b.reset_secs).min(MAX_PACE_WAIT);
        }
        Duration::from_secs_f64(short / rate).min(MAX_PACE_WAIT)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Requests per second the budget refills at: the missing part over the time to full.
fn refill_rate(b: &RateBudget) -> f64 {
    let missing = b.limit.saturating_sub(b.remaining) as f64;
    if b.reset_secs == 0 || missing == 0.0 {
        // Full, or full again at once: assume the whole budget per second at worst.
        return b.limit as f64;
    }
    missing / b.reset_secs as f64
}

/// The process's pacers by (origin, tenant), held weakly (gone with the last connection).
fn pacers() -> &'static Mutex<HashMap<String, Weak<Pacer>>> {
    static PACERS: OnceLock<Mutex<HashMap<String, Weak<Pacer>>>> = OnceLock::new();
    PACERS.get_or_init(Default::default)
}

/// The pacer of a tenant at an admin-API origin, shared by every connection of this process.
pub fn pacer_for(origin: &str, tenant: &str) -> Arc<Pacer> {
    let key = format!(
        "{}|{}",
        origin.trim_end_matches('/').to_ascii_lowercase(),
        tenant.to_ascii_lowercase()
    );
    let mut m = pacers().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = m.get(&key).and_then(Weak::upgrade) {
        return p;
    }
    m.retain(|_, w| w.strong_count() > 0);
    let p = Pacer::new();
    m.insert(key, Arc::downgrade(&p));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(l: &str, r: &str, reset: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("Rate-Limit-Limit", l.parse().unwrap());
        h.insert("Rate-Limit-Remaining", r.parse().unwrap());
        h.insert("Rate-Limit-Reset", reset.parse().unwrap());
        h
    }

    #[test]
    fn paced_until_only_when_the_budget_is_at_its_reserve() {
        let mut b = RateBudget::from_headers(&headers("100", "50", "10")).unwrap();
        assert_eq!(b.paced_until(), None);
        assert_eq!(b.full_at(), b.at + chrono::Duration::seconds(10));
        b.remaining = 1;
        // 99 missing over 10 s: 9.9 a second; one more request takes about 0.1 s.
        let until = b.paced_until().expect("at the reserve the pacer waits");
        let ms = (until - b.at).num_milliseconds();
        assert!((100..=102).contains(&ms), "{ms} ms");
        b.remaining = 0;
        assert!(b.paced_until().unwrap() > until);
    }

    #[test]
    fn headers_are_read_and_nonsense_ignored() {
        let b = RateBudget::from_headers(&headers("100", "7", "3")).unwrap();
        assert_eq!((b.limit, b.remaining, b.reset_secs), (100, 7, 3));
        assert!(b.is_low());
        assert!(
            !RateBudget::from_headers(&headers("100", "50", "1"))
                .unwrap()
                .is_low()
        );
        assert_eq!(
            RateBudget::from_headers(&headers("10", "99", "1"))
                .unwrap()
                .remaining,
            10
        );
        assert!(RateBudget::from_headers(&headers("x", "1", "1")).is_none());
        assert!(RateBudget::from_headers(&headers("0", "0", "1")).is_none());
        assert!(RateBudget::from_headers(&headers("10", "-1", "1")).is_none());
        assert!(RateBudget::from_headers(&HeaderMap::new()).is_none());
    }

    #[test]
    fn the_pacer_waits_only_when_the_budget_runs_dry() {
        let p = Pacer::new();
        assert_eq!(p.reserve(), Duration::ZERO, "no headers: no pacing");
        // 10 of 10 left: 9 requests go at once (the reserve is kept), then they wait.
        p.update(RateBudget::from_headers(&headers("10", "10", "0")).unwrap());
        for i in 0..9 {
            assert_eq!(p.reserve(), Duration::ZERO, "request {i}");
        }
        assert!(p.reserve() > Duration::ZERO);
        // 2 of 10 left, full in 4 s: refills 2 per second; the next waits about half a second.
        p.update(RateBudget::from_headers(&headers("10", "2", "4")).unwrap());
        let w = p.reserve();
        assert!(w <= Duration::from_millis(10), "{w:?}");
        let w = p.reserve();
        assert!(
            w > Duration::from_millis(400) && w <= Duration::from_millis(500),
            "{w:?}"
        );
        // Empty and nothing said of the reset: capped waits, never forever.
        p.update(RateBudget {
            limit: 5,
            remaining: 0,
            reset_secs: 100_000,
            at: Utc::now(),
        });
        assert!(p.reserve() <= MAX_PACE_WAIT);
    }

    #[test]
    fn pacers_are_shared_per_origin_and_tenant() {
        let a = pacer_for("https://outlook.office365.com/", "T1");
        let b = pacer_for("https://outlook.office365.com", "t1");
        let c = pacer_for("https://outlook.office365.com", "t2");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
