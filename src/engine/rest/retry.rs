//! Retries: the backoff (doubling with jitter, capped; a server's `Retry-After` wins), the
//! `Retrying` event, and `Retry-After` parsing.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{RestClient, RunEvent};

impl RestClient {
    /// The wait before attempt `attempt + 1`.
    pub(super) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        use rand::Rng;
        let base = retry_after.unwrap_or_else(|| {
            let exp = self
                .config
                .base_delay
                .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
            let jitter = rand::thread_rng().gen_range(0.75..1.25);
            exp.mul_f64(jitter)
        });
        base.min(self.config.max_delay)
    }

    /// Tells the listener, then waits `delay`.
    pub(super) async fn sleep_retry(
        &self,
        tx: &mpsc::Sender<RunEvent>,
        attempt: u32,
        delay: Duration,
        reason: String,
    ) {
        let _ = tx
            .send(RunEvent::Retrying {
                attempt,
                delay,
                reason,
            })
            .await;
        tokio::time::sleep(delay).await;
    }
}

/// The longest `Retry-After` taken as given (a day); a bigger one (`1e20`) is cut to it before
/// it becomes a `Duration` (the retry loop caps it further at `RestConfig::max_delay`).
const MAX_RETRY_AFTER_SECS: f64 = 86_400.0;

/// `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past
/// means "now".
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER_SECS)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (when.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc2822("Sun, 22 Nov 2026 01:00:00 GMT")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 01:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 00:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
