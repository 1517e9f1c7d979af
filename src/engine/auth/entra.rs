//! Entra (Azure AD) error bodies and the catalogue of common AADSTS codes in plain words.
//!
//! The catalogue is a data table ([`KNOWN_FAILURES`]): other parts (e.g. proxy diagnostics) add
//! rows, not code.

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
        let d = self.error_description.as_deref().unwrap_or("");
        let mut out = Vec::new();
        let mut rest = d;
        while let Some(i) = rest.find("AADSTS") {
            let digits: String = rest[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(n) = digits.parse() {
                out.push(n);
            }
            rest = &rest[i + 6..];
        }
        out
    }

    /// The first catalogued failure among the codes.
    pub fn known(&self) -> Option<&'static KnownFailure> {
        self.codes().into_iter().find_map(explain)
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

/// One catalogued AADSTS failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFailure {
    pub code: u64,
    /// What happened, in plain words.
    pub meaning: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

/// Codes that mean "MFA or Conditional Access needs an interactive sign-in".
pub const MFA_CODES: &[u64] = &[50072, 50074, 50076, 50079, 50158, 53003, 50155];
/// Codes that mean the refresh token cannot be used any more.
pub const DEAD_REFRESH_CODES: &[u64] = &[70008, 700082, 50173, 50133, 700084, 54005];

/// The catalogue. Keep it a table.
pub const KNOWN_FAILURES: &[KnownFailure] = &[
    KnownFailure {
        code: 50076,
        meaning: "This account must use multi-factor authentication (MFA), which a password sign-in cannot do.",
        fix: "Sign in with the device code or the browser method.",
    },
    KnownFailure {
        code: 50079,
        meaning: "This account must register for and use multi-factor authentication (MFA).",
        fix: "Sign in with the device code or the browser method and complete the MFA registration.",
    },
    KnownFailure {
        code: 50074,
        meaning: "Strong authentication (MFA) is required for this account.",
        fix: "Sign in with the device code or the browser method.",
    },
    KnownFailure {
        code: 50072,
        meaning: "The account must enrol in multi-factor authentication (MFA) first.",
        fix: "Sign in with the device code or the browser method and complete the MFA enrolment.",
    },
    KnownFailure {
        code: 50158,
        meaning: "An external security challenge (MFA or a Conditional Access control) must be completed.",
        fix: "Sign in with the device code or the browser method.",
    },
    KnownFailure {
        code: 53003,
        meaning: "Access was blocked by a Conditional Access policy of the tenant.",
        fix: "Sign in interactively (device code or browser) from a compliant device or location, or ask the tenant's admins which policy applies (the trace id identifies the sign-in).",
    },
    KnownFailure {
        code: 50126,
        meaning: "The user name or password is wrong.",
        fix: "Check the password (and the profile's UPN) and try again.",
    },
    KnownFailure {
        code: 50034,
        meaning: "The user account does not exist in this tenant.",
        fix: "Check the profile's UPN for typos, and that the tenant (or DelegatedOrganization) is the right one.",
    },
    KnownFailure {
        code: 700016,
        meaning: "The application is not found in this tenant (wrong app id, or it was never consented here).",
        fix: "Check the app id and the Organization of the profile; an admin of the tenant must consent to the app.",
    },
    KnownFailure {
        code: 65001,
        meaning: "Nobody has consented to this application for the requested permissions.",
        fix: "Ask a tenant administrator to grant admin consent to the application, then sign in again.",
    },
    KnownFailure {
        code: 70008,
        meaning: "The cached sign-in has expired (the refresh token is too old or was not used for too long).",
        fix: "Sign in again.",
    },
    KnownFailure {
        code: 700082,
        meaning: "The cached sign-in has expired because it was not used for too long.",
        fix: "Sign in again.",
    },
    KnownFailure {
        code: 50173,
        meaning: "The cached sign-in was revoked (for example the password changed or an admin revoked sessions).",
        fix: "Sign in again.",
    },
    KnownFailure {
        code: 50133,
        meaning: "The cached sign-in is no longer valid because the password changed.",
        fix: "Sign in again with the new password.",
    },
    KnownFailure {
        code: 90002,
        meaning: "The tenant was not found (no such tenant domain or id, or it has no active subscription).",
        fix: "Check the profile's tenant / DelegatedOrganization / Organization spelling, and the cloud: a tenant of another cloud is not found here.",
    },
    KnownFailure {
        code: 50011,
        meaning: "The redirect URI sent does not match any the application allows.",
        fix: "This is a client configuration problem: use the browser method's default loopback redirect, or report it.",
    },
    KnownFailure {
        code: 50020,
        meaning: "The account is not a member of this tenant (nor a guest in it).",
        fix: "Sign in with an account of this tenant, or set the right tenant / DelegatedOrganization in the profile.",
    },
    KnownFailure {
        code: 500011,
        meaning: "The resource (service) was not found in this tenant.",
        fix: "Check the profile's cloud and ConnectionUri; the service may not be licensed in this tenant.",
    },
    KnownFailure {
        code: 50057,
        meaning: "The user account is disabled.",
        fix: "Ask an administrator to enable the account.",
    },
    KnownFailure {
        code: 50053,
        meaning: "The account is locked after too many failed sign-ins.",
        fix: "Wait a few minutes or ask an administrator to unlock it.",
    },
    KnownFailure {
        code: 7000215,
        meaning: "The application's client secret is invalid.",
        fix: "Check or renew the secret of the app registration.",
    },
    KnownFailure {
        code: 700027,
        meaning: "The client assertion (certificate) was not accepted: the certificate is not registered on the application, or its signature or dates are invalid.",
        fix: "Upload this certificate to the app registration, or pick the certificate that is registered there.",
    },
    KnownFailure {
        code: 70011,
        meaning: "The requested scope is invalid.",
        fix: "Check the profile's cloud and ConnectionUri (the scope is derived from them).",
    },
];

/// Pseudo-code for "MFA required but the cloud is 21Vianet (O365China), where MFA sign-in is not
/// available to this client".
pub const CHINA_MFA: KnownFailure = KnownFailure {
    code: 0,
    meaning: "This account requires multi-factor authentication, which is not available for Microsoft 365 operated by 21Vianet (O365China).",
    fix: "Use an account without MFA for this cloud, or an app-only (certificate) profile.",
};

/// The catalogue entry of an AADSTS code.
pub fn explain(code: u64) -> Option<&'static KnownFailure> {
    KNOWN_FAILURES.iter().find(|k| k.code == code)
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
}
