//! Entra (Azure AD) error bodies and the catalogue of common AADSTS codes in plain words.
//!
//! The catalogue is one data table, [`crate::model::failures::CATALOGUE`] (re-exported here as
//! [`KNOWN_FAILURES`]): other parts add rows, not code.

use serde::{Deserialize, Serialize};

/// An OAuth error body as Entra sends it:
/// `{"error":"invalid_grant","error_description":"AADSTS50076: ...","error_codes":[50076],
///   "timestamp":"...","trace_id":"...","correlation_id":"..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntraError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_codes: Vec<u64>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub error_uri: Option<String>,
    /// What the error means in the flow that got it, when that differs from the catalogue's
    /// general entry (a device-code sign-in refused by Conditional Access).
    #[serde(skip)]
    pub in_flow: Option<&'static KnownFailure>,
}

impl std::fmt::Display for EntraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.explanation())
    }
}

impl oauth2::ErrorResponse for EntraError {}

impl EntraError {
    /// AADSTS codes: `error_codes`, else the `AADSTSnnnn` found in the description.
    pub fn codes(&self) -> Vec<u64> {
        if !self.error_codes.is_empty() {
            return self.error_codes.clone();
        }
        crate::model::failures::aadsts_codes_in(self.error_description.as_deref().unwrap_or(""))
    }

    /// The first catalogued failure among the codes.
    pub fn known(&self) -> Option<&'static KnownFailure> {
        self.in_flow
            .or_else(|| self.codes().into_iter().find_map(explain))
    }

    /// Marks an answer to a device-code poll: a Conditional Access refusal then says to use
    /// browser sign-in.
    pub fn in_device_code_flow(mut self) -> Self {
        if self
            .codes()
            .iter()
            .any(|c| crate::model::failures::DEVICE_CODE_CA_CODES.contains(c))
        {
            self.in_flow = Some(&crate::model::failures::DEVICE_CODE_BLOCKED);
        }
        self
    }

    /// True when the answer means "this needs MFA / an interactive flow" (password sign-in
    /// should continue with the device code).
    pub fn needs_interactive_mfa(&self) -> bool {
        self.codes().iter().any(|c| MFA_CODES.contains(c)) || self.error == "interaction_required"
    }

    /// True when the refresh token is gone for good (expired, revoked, password changed).
    pub fn refresh_token_dead(&self) -> bool {
        self.codes().iter().any(|c| DEAD_REFRESH_CODES.contains(c))
            || (self.error == "invalid_grant" && self.codes().is_empty())
    }

    /// Plain explanation: the catalogue's words and fix, then what Entra said, then the ids
    /// support asks for.
    pub fn explanation(&self) -> String {
        let first_line = self
            .error_description
            .as_deref()
            .map(|d| d.lines().next().unwrap_or("").trim().to_string())
            .filter(|d| !d.is_empty());
        let mut s = match self.known() {
            Some(k) => format!("{} {}", k.meaning, k.fix),
            None => format!("Sign-in failed ({}).", self.error),
        };
        if let Some(d) = first_line {
            s.push_str(&format!(" Entra said: {d}"));
        }
        let mut ids = Vec::new();
        if let Some(t) = &self.trace_id {
            ids.push(format!("trace id {t}"));
        }
        if let Some(c) = &self.correlation_id {
            ids.push(format!("correlation id {c}"));
        }
        if !ids.is_empty() {
            s.push_str(&format!(" ({})", ids.join(", ")));
        }
        s
    }
}

/// The catalogue lives in [`crate::model::failures`] (one table for engine, window and command
/// line); these names keep the sign-in code's callers working.
pub use crate::model::failures::{CATALOGUE as KNOWN_FAILURES, CHINA_MFA, KnownFailure, MFA_CODES};

/// Codes that mean the refresh token cannot be used any more.
pub const DEAD_REFRESH_CODES: &[u64] = &[70008, 700082, 50173, 50133, 700084, 54005];

/// The catalogue entry of an AADSTS code.
pub fn explain(code: u64) -> Option<&'static KnownFailure> {
    crate::model::failures::by_aadsts(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entra_body_and_explains() {
        let e: EntraError = serde_json::from_str(
            r#"{"error":"invalid_grant","error_description":"AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.\r\nTrace ID: x","error_codes":[50076],"timestamp":"2026-01-01 00:00:00Z","trace_id":"t-1","correlation_id":"c-1"}"#,
        )
        .unwrap();
        assert_eq!(e.codes(), vec![50076]);
        assert!(e.needs_interactive_mfa());
        let x = e.explanation();
        assert!(x.contains("multi-factor"), "{x}");
        assert!(
            x.contains("trace id t-1") && x.contains("correlation id c-1"),
            "{x}"
        );
        assert!(
            !x.contains("Trace ID: x"),
            "only the first description line: {x}"
        );
    }

    #[test]
    fn codes_from_description_when_list_missing() {
        let e = EntraError {
            error: "invalid_grant".into(),
            error_description: Some("AADSTS700082: The refresh token has expired".into()),
            ..Default::default()
        };
        assert_eq!(e.codes(), vec![700082]);
        assert!(e.refresh_token_dead());
        assert!(!e.needs_interactive_mfa());
    }

    #[test]
    fn catalogue_covers_the_issue_codes() {
        for c in [
            50076, 50079, 50126, 50034, 700016, 65001, 53003, 70008, 700082, 50173, 90002, 50011,
            50020, 500011,
        ] {
            let k = explain(c).unwrap_or_else(|| panic!("{c} missing"));
            assert!(!k.meaning.is_empty() && !k.fix.is_empty());
        }
        assert!(explain(1).is_none());
        let unknown = EntraError {
            error: "server_error".into(),
            ..Default::default()
        };
        assert!(unknown.explanation().contains("server_error"));
    }

    #[test]
    fn a_device_code_refused_by_conditional_access_says_use_the_browser() {
        for code in [53003u64, 53000, 530032] {
            let e = EntraError {
                error: "invalid_grant".into(),
                error_description: Some(format!(
                    "AADSTS{code}: Access has been blocked by Conditional Access policies."
                )),
                ..Default::default()
            };
            assert!(
                !e.explanation().contains("browser sign-in instead"),
                "{code}"
            );
            let e = e.in_device_code_flow();
            let text = e.explanation();
            assert!(text.contains("Use browser sign-in instead"), "{text}");
            assert!(text.contains("--method browser"), "{text}");
        }
        let other = EntraError {
            error: "invalid_grant".into(),
            error_codes: vec![50126],
            ..Default::default()
        }
        .in_device_code_flow();
        assert!(!other.explanation().contains("browser sign-in instead"));
    }
}
