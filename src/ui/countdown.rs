//! Countdowns and elapsed times as the window shows them, and when what they show changes next
//! (issue 11, "idle means idle": the window asks to be repainted for that moment only, never on
//! a blanket 1 s tick).
//!
//! A countdown shows minutes ("59 min", "1 h 05 min") and switches to seconds ("04:59") in its
//! last five minutes, or whenever the caller asks for seconds (a hovered row). An elapsed time
//! (idle) shows minutes ("< 1 min", "12 min"), or seconds when asked.
//!
//! Every time shown in minutes steps on the same clock: on the wall clock's whole minute. With
//! two sessions each token countdown and each idle time would otherwise change at its own second
//! of the minute, four full-window frames a minute where one does (under a software renderer a
//! frame costs ~0.1 s of CPU). So a countdown counts from the next whole minute (it shows up to
//! a minute less, never more, than is left) and an elapsed time up to the last whole minute
//! (up to a minute less, never more, than has passed); a countdown still switches to seconds
//! when exactly five minutes are left.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Below this many seconds left a countdown shows seconds.
pub const SECONDS_BELOW: i64 = 5 * 60;

/// A time as shown, and how long until it shows something else (None: never, e.g. a countdown
/// at zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    pub next: Option<Duration>,
}

/// `mm:ss` (or `h:mm:ss`) of a number of seconds; negative counts as zero.
pub fn mmss(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// Whole minutes: "45 min", "1 h 05 min".
fn minutes(m: i64) -> String {
    if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

fn ms(ms: i64) -> Option<Duration> {
    Some(Duration::from_millis(ms.max(1) as u64))
}

const MINUTE_MS: i64 = 60_000;

/// `t` in milliseconds, rounded down / up to the wall clock's whole minute.
fn minute_floor(t: i64) -> i64 {
    t.div_euclid(MINUTE_MS) * MINUTE_MS
}

fn minute_ceil(t: i64) -> i64 {
    -minute_floor(-t)
}

/// The time left until `at`: minutes, seconds in the last five minutes or when `seconds`.
pub fn left(at: DateTime<Utc>, now: DateTime<Utc>, seconds: bool) -> Shown {
    let left_ms = (at - now).num_milliseconds();
    if left_ms <= 0 {
        return Shown {
            text: mmss(0),
            next: None,
        };
    }
    let s = left_ms / 1000;
    if seconds || s <= SECONDS_BELOW {
        // Shows `s` until less than `s` seconds are left.
        return Shown {
            text: mmss(s),
            next: ms(left_ms - s * 1000 + 1),
        };
    }
    // Counted from the next whole minute, never below the five minutes that show seconds.
    let now_ms = now.timestamp_millis();
    let up = minute_floor(now_ms) + MINUTE_MS;
    let m = ((at.timestamp_millis() - up).div_euclid(MINUTE_MS)).max(SECONDS_BELOW / 60);
    // Changes at the next whole minute (one minute less) unless that is below five, and when
    // seconds take over (at a whole second below SECONDS_BELOW + 1).
    let to_seconds = left_ms - (SECONDS_BELOW + 1) * 1000 + 1;
    let next = if m > SECONDS_BELOW / 60 {
        (up - now_ms).min(to_seconds)
    } else {
        to_seconds
    };
    Shown {
        text: minutes(m),
        next: ms(next),
    }
}

/// The time since `from`: minutes ("< 1 min" in the first), seconds when `seconds`.
pub fn since(from: DateTime<Utc>, now: DateTime<Utc>, seconds: bool) -> Shown {
    let since_ms = (now - from).num_milliseconds().max(0);
    let s = since_ms / 1000;
    if seconds {
        return Shown {
            text: mmss(s),
            next: ms((s + 1) * 1000 - since_ms),
        };
    }
    // Counted up to the last whole minute; changes at the next whole minute that makes it
    // one more.
    let now_ms = now.timestamp_millis();
    let from_ms = from.timestamp_millis();
    let m = (minute_floor(now_ms) - from_ms).max(0) / MINUTE_MS;
    let next_at =
        (minute_floor(now_ms) + MINUTE_MS).max(minute_ceil(from_ms + (m + 1) * MINUTE_MS));
    Shown {
        text: if m == 0 { "< 1 min".into() } else { minutes(m) },
        next: ms(next_at - now_ms),
    }
}

/// The sooner of two "next change" times.
pub fn sooner(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
    }

    fn after(ms: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::milliseconds(ms)
    }

    #[test]
    fn mmss_formats() {
        assert_eq!(mmss(0), "00:00");
        assert_eq!(mmss(-5), "00:00");
        assert_eq!(mmss(125), "02:05");
        assert_eq!(mmss(3725), "1:02:05");
    }

    #[test]
    fn countdowns_show_minutes_then_seconds_in_the_last_five() {
        let at = after(45 * 60_000);
        // At 09:00:00 with 45:00 left: counted from 09:01, 44 min until then.
        let s = left(at, t0(), false);
        assert_eq!(s.text, "44 min");
        assert_eq!(s.next, Some(Duration::from_millis(60_000)));
        let s = left(at, after(1), false);
        assert_eq!(s.text, "44 min");
        assert_eq!(s.next, Some(Duration::from_millis(59_999)));
        assert_eq!(left(at, after(60_000), false).text, "43 min");
        assert_eq!(left(at, after(1), true).text, "44:59");
        assert_eq!(left(after(75 * 60_000 + 5), t0(), false).text, "1 h 14 min");
        // 5:30 left: "5 min" until 5:00 is reached, then seconds.
        let s = left(after(330_000), t0(), false);
        assert_eq!(s.text, "5 min");
        assert_eq!(s.next, Some(Duration::from_millis(29_001)));
        let s = left(after(330_000), after(29_001), false);
        assert_eq!(s.text, "05:00");
        assert_eq!(s.next, Some(Duration::from_millis(1_000)));
        let s = left(after(120_500), t0(), false);
        assert_eq!(s.text, "02:00");
        assert_eq!(s.next, Some(Duration::from_millis(501)));
        assert_eq!(
            left(t0(), after(5), false),
            Shown {
                text: "00:00".into(),
                next: None
            }
        );
    }

    #[test]
    fn elapsed_times_show_minutes_or_seconds_when_asked() {
        let s = since(t0(), after(90_000), false);
        assert_eq!(s.text, "1 min");
        assert_eq!(s.next, Some(Duration::from_millis(30_000)));
        let s = since(t0(), after(90_250), true);
        assert_eq!(s.text, "01:30");
        assert_eq!(s.next, Some(Duration::from_millis(750)));
        assert_eq!(since(t0(), after(59_999), false).text, "< 1 min");
        assert_eq!(since(t0(), after(3_900_000), false).text, "1 h 05 min");
        assert_eq!(
            since(after(5), t0(), false).text,
            "< 1 min",
            "a clock going back"
        );
    }

    #[test]
    fn minutes_step_on_the_wall_clocks_whole_minute_whatever_their_phase() {
        // 09:00:20: two tokens and two idle times, each at its own second of the minute.
        let now = after(20_000);
        let tokens = [after(45 * 60_000 + 10_000), after(50 * 60_000 + 40_000)];
        let idles = [after(-70_000), after(-5_000)];
        let to_minute = Duration::from_millis(40_000);
        for (at, text) in tokens.iter().zip(["44 min", "49 min"]) {
            let s = left(*at, now, false);
            // 44:50 and 50:20 left: counted from 09:01 (up to a minute less, never more).
            assert_eq!(s.text, text);
            assert_eq!(s.next, Some(to_minute), "all change just after 09:01:00");
            // At 09:01 each shows one minute less.
            let later = left(*at, after(60_000), false);
            assert_ne!(later.text, s.text);
            assert_eq!(later.next, Some(Duration::from_millis(60_000)));
        }
        let s = since(idles[0], now, false);
        assert_eq!(s.text, "1 min", "70 s idle counted up to 09:00");
        assert_eq!(
            s.next,
            Some(Duration::from_millis(40_000)),
            "2 min at 09:01"
        );
        let s = since(idles[1], now, false);
        assert_eq!(s.text, "< 1 min");
        assert_eq!(s.next, Some(Duration::from_millis(40_000)));
        assert_eq!(since(idles[1], after(60_000), false).text, "1 min");
        // Idle since 09:00:50: 09:01 makes it only 10 s, so the next change is at 09:02.
        let s = since(after(50_000), after(55_000), false);
        assert_eq!(
            (s.text.as_str(), s.next),
            ("< 1 min", Some(Duration::from_millis(65_000)))
        );
        // Never below the five minutes that count seconds: 5:30 left at 09:00:20 shows "5 min"
        // until seconds take over, without a change at 09:01 that shows nothing new.
        let s = left(after(20_000 + 330_000), now, false);
        assert_eq!(s.text, "5 min");
        assert_eq!(s.next, Some(Duration::from_millis(29_001)));
    }

    #[test]
    fn the_sooner_change_wins() {
        let (a, b) = (Some(Duration::from_secs(3)), Some(Duration::from_secs(2)));
        assert_eq!(sooner(a, b), b);
        assert_eq!(sooner(None, a), a);
        assert_eq!(sooner(None, None), None);
    }
}
