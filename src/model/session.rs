//! The state of a session (a connection in the engine's session registry), defined once: the
//! registry derives it, the window and the command line only format it.

use serde::Serialize;

/// The state of a session.
///
/// Connecting → Connected; Expiring = the token ends within the registry's expiring window and
/// could not be refreshed; Expired = the token ended and cannot be refreshed; Stale = idle longer
/// than the idle setting; Failed = the sign-in or the access check failed; Disconnected = closed
/// (the session is then removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SessionState {
    Connecting,
    Connected,
    /// The token ends soon and could not be refreshed.
    Expiring,
    /// The token ended and could not be refreshed.
    Expired,
    /// Idle longer than the idle setting.
    Stale,
    /// The sign-in or the access check failed.
    Failed,
    Disconnected,
}

impl SessionState {
    /// Whether "Disconnect stale" closes it (expired, idle or failed).
    pub fn is_stale(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::Stale | SessionState::Failed
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            SessionState::Connecting => "Connecting",
            SessionState::Connected => "Connected",
            SessionState::Expiring => "Expiring",
            SessionState::Expired => "Expired",
            SessionState::Stale => "Stale",
            SessionState::Failed => "Failed",
            SessionState::Disconnected => "Disconnected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_means_expired_idle_or_failed() {
        let stale: Vec<SessionState> = [
            SessionState::Connecting,
            SessionState::Connected,
            SessionState::Expiring,
            SessionState::Expired,
            SessionState::Stale,
            SessionState::Failed,
            SessionState::Disconnected,
        ]
        .into_iter()
        .filter(|s| s.is_stale())
        .collect();
        assert_eq!(
            stale,
            vec![
                SessionState::Expired,
                SessionState::Stale,
                SessionState::Failed
            ]
        );
    }
}
