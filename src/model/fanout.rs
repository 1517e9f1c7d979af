//! A fan-out run's per-profile states (issue 12): where each profile of a run of one cmdlet
//! over many profiles is, and the counts of those states. Plain data, shared by the engine's
//! fan-out (`engine::fanout`, which sets them), the command line and the window (which show
//! them).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Where one profile of the run is.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileState {
    /// Waiting for a run slot.
    Queued,
    /// Waiting in the sign-in queue, or signing in.
    SigningIn,
    /// Running the cmdlet: rows received so far.
    Running {
        rows: usize,
    },
    /// The service throttles it; the next attempt is at `until`.
    Throttled {
        until: DateTime<Utc>,
        rows: usize,
    },
    Done {
        rows: usize,
        elapsed: Duration,
    },
    /// Failed with the plain explanation (from the failure catalogue).
    Failed {
        message: String,
    },
    /// Left out (its interactive sign-in was skipped).
    Skipped {
        reason: String,
    },
    Cancelled,
}

impl ProfileState {
    /// Done, failed, skipped or cancelled: nothing more happens until a retry.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ProfileState::Done { .. }
                | ProfileState::Failed { .. }
                | ProfileState::Skipped { .. }
                | ProfileState::Cancelled
        )
    }

    /// Past its sign-in: running, throttled or final. (Queued and signing in come before it; a
    /// sign-in turn of the profile ends with one of these.)
    pub fn is_past_sign_in(&self) -> bool {
        !matches!(self, ProfileState::Queued | ProfileState::SigningIn)
    }

    /// A short word for the state (progress lines, the window's column).
    pub fn label(&self) -> &'static str {
        match self {
            ProfileState::Queued => "queued",
            ProfileState::SigningIn => "signing in",
            ProfileState::Running { .. } => "running",
            ProfileState::Throttled { .. } => "throttled",
            ProfileState::Done { .. } => "done",
            ProfileState::Failed { .. } => "failed",
            ProfileState::Skipped { .. } => "skipped",
            ProfileState::Cancelled => "cancelled",
        }
    }
}

/// Counts of the profiles' states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutSummary {
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub cancelled: usize,
    /// Still queued, signing in or running.
    pub pending: usize,
    /// Rows of the done profiles.
    pub rows: usize,
}

impl FanoutSummary {
    pub fn of<'a>(states: impl IntoIterator<Item = &'a ProfileState>) -> Self {
        let mut s = FanoutSummary::default();
        for st in states {
            match st {
                ProfileState::Done { rows, .. } => {
                    s.done += 1;
                    s.rows += rows;
                }
                ProfileState::Failed { .. } => s.failed += 1,
                ProfileState::Skipped { .. } => s.skipped += 1,
                ProfileState::Cancelled => s.cancelled += 1,
                _ => s.pending += 1,
            }
        }
        s
    }

    /// Every profile done.
    pub fn all_done(&self) -> bool {
        self.failed + self.skipped + self.cancelled + self.pending == 0
    }
}

impl std::fmt::Display for FanoutSummary {
    /// "190 done, 8 failed, 2 skipped" (zero counts other than done left out).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} done", self.done)?;
        for (n, what) in [
            (self.failed, "failed"),
            (self.skipped, "skipped"),
            (self.cancelled, "cancelled"),
            (self.pending, "not finished"),
        ] {
            if n > 0 {
                write!(f, ", {n} {what}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_like_a_sentence() {
        let st = [
            ProfileState::Done {
                rows: 6,
                elapsed: Duration::from_secs(1),
            },
            ProfileState::Done {
                rows: 5,
                elapsed: Duration::from_secs(1),
            },
            ProfileState::Failed {
                message: "x".into(),
            },
            ProfileState::Skipped { reason: "y".into() },
        ];
        let s = FanoutSummary::of(&st);
        assert_eq!(s.to_string(), "2 done, 1 failed, 1 skipped");
        assert_eq!(s.rows, 11);
        assert!(!s.all_done());
        assert!(FanoutSummary::of(&st[..2]).all_done());
        assert!(st.iter().all(ProfileState::is_final));
        assert!(!ProfileState::Running { rows: 1 }.is_final());
    }
}
