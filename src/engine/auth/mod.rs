//! Sign-in: turns a profile into valid tokens the way the official module does (public client
//! [`PUBLIC_CLIENT_ID`], Entra v2 endpoints) — device code, browser (PKCE), password with an MFA
//! fallback to the device code, certificate app-only — and keeps them in a [`TokenCache`]
//! (refresh tokens in the OS keychain through `engine::secrets`, access tokens in memory).
//! Its requests go through the profile's HTTP client, which the caller builds on the proxy side
//! (`engine::proxy::Clients`); sign-in only reads the proxy's typed 407.
//!
//! Every flow reports progress as [`SignInEvent`]s on a tokio channel the window and the CLI
//! both consume; every flow can be cancelled and every wait has a timeout.

pub mod browser;
pub mod cache;
pub mod cert;
pub mod claims;
pub mod entra;
pub mod flows;
pub mod open;
pub mod transport;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedSender;

use crate::model::{Cloud, Profile};

pub use browser::{BrowserLauncher, NoBrowser, SystemBrowser, launcher_from_env};
pub use cache::{CachedTokenProvider, SignInOptions, SignedIn, TokenCache};
pub use cert::ClientCertificate;
pub use entra::{EntraError, KNOWN_FAILURES, KnownFailure, explain};
pub use tokio_util::sync::CancellationToken;

/// The public client id of the Exchange Online PowerShell module (exists in every tenant).
pub const PUBLIC_CLIENT_ID: &str = "fb78d390-0c51-40cd-8e17-fdbfab77341b";

/// Progress of a sign-in, for the sign-in dialog and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInEvent {
    /// Device code issued: show `user_code` and `verification_uri` (Entra's `message` says both;
    /// both are the server's words: print them through `model::text`).
    CodeIssued {
        user_code: String,
        verification_uri: String,
        expires_at: DateTime<Utc>,
        message: String,
        /// Set when `verification_uri` is neither on the authority's host nor a Microsoft
        /// sign-in page ([`open::check_verification_uri`]): show the address as text with this
        /// warning, and never offer to open it.
        verification_warning: Option<String>,
    },
    /// Polled; the user has not finished yet.
    Waiting,
    /// The server asked to poll more slowly (interval +5 s).
    SlowedDown { interval_secs: u64 },
    /// The device code expired before the user finished.
    Expired,
    /// The user declined the sign-in.
    Declined,
    /// The system browser was opened on this URL.
    BrowserOpened { url: String },
    /// No browser could be opened: show the URL to copy.
    OpenBrowserFailed { url: String },
    /// Password sign-in is not possible (MFA / Conditional Access): continuing with the device code.
    MfaRequired { explanation: String },
    /// Single sign-on returned another account than the profile's UPN.
    UpnMismatch { expected: String, actual: String },
    /// Signed in.
    Succeeded {
        account: String,
        tenant_id: String,
        expires_at: DateTime<Utc>,
    },
    /// The sign-in failed (plain explanation).
    Failed { explanation: String },
}

/// Where events go (optional).
#[derive(Clone, Debug, Default)]
pub struct Events(pub Option<UnboundedSender<SignInEvent>>);

impl Events {
    pub fn emit(&self, e: SignInEvent) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(e);
        }
    }
}

/// Why a sign-in failed. `Display` is the plain explanation for the user.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignInError {
    /// Entra answered with an OAuth error (explained from the catalogue).
    #[error("{0}")]
    Entra(Box<EntraError>),
    #[error("Could not reach the sign-in service: {0}")]
    Network(String),
    /// The profile or a file it names is not usable.
    #[error("{0}")]
    Config(String),
    #[error("The sign-in was cancelled.")]
    Cancelled,
    #[error("The sign-in timed out: {0}")]
    TimedOut(String),
    #[error(
        "The device code expired before the sign-in was completed. Start the sign-in again and enter the code sooner."
    )]
    Expired,
    #[error("The sign-in was declined in the browser.")]
    Declined,
    #[error(
        "The browser answer did not carry the state this sign-in sent, so it was refused (no token was requested). Start the sign-in again."
    )]
    StateMismatch,
    #[error("The browser sign-in could not complete: {0}")]
    Browser(String),
    /// No cached sign-in can give a token; an interactive sign-in is needed.
    #[error("{0}")]
    NeedsInteractive(String),
    #[error("{} {}", entra::CHINA_MFA.meaning, entra::CHINA_MFA.fix)]
    ChinaMfa,
    /// The proxy answered 407 (the window asks for the proxy credential; the CLI explains).
    #[error("{0}")]
    ProxyAuth(crate::engine::proxy::ProxyAuthRequired),
}

impl SignInError {
    pub fn explanation(&self) -> String {
        self.to_string()
    }
}

/// The sign-in authority of a profile: its effective authority (cloud default or explicit
/// AzureADAuthorizationEndpointUri), made tenant-specific when the profile names a tenant,
/// DelegatedOrganization or certificate Organization (the last segment `organizations` /
/// `common` is replaced by that tenant).
pub fn authority_for(profile: &Profile) -> Result<String, SignInError> {
    let ep = profile.effective_endpoints().ok_or_else(|| {
        SignInError::Config(format!(
            "profile '{}': no sign-in authority can be derived (cloud {} needs a ConnectionUri and an authorization endpoint)",
            profile.name,
            profile.cloud.as_str()
        ))
    })?;
    let authority = ep.authority.trim_end_matches('/').to_string();
    crate::engine::http::check_url(&authority).map_err(|e| {
        SignInError::Config(format!(
            "profile '{}': authorization endpoint: {e}",
            profile.name
        ))
    })?;
    Ok(match profile.target_tenant() {
        Some(t) => match authority.rsplit_once('/') {
            Some((base, last))
                if last.eq_ignore_ascii_case("organizations")
                    || last.eq_ignore_ascii_case("common") =>
            {
                format!("{base}/{}", t.trim())
            }
            _ => authority,
        },
        None => authority,
    })
}

/// The token resource of a profile (EXO/EOP or SCC origin).
pub fn resource_for(profile: &Profile) -> Result<String, SignInError> {
    profile
        .effective_endpoints()
        .map(|e| e.token_resource.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            SignInError::Config(format!(
                "profile '{}': no token resource can be derived (set a ConnectionUri)",
                profile.name
            ))
        })
}

/// Delegated scopes for a resource: `<resource>/.default offline_access openid profile`.
pub fn delegated_scope(resource: &str) -> String {
    format!(
        "{}/.default offline_access openid profile",
        resource.trim_end_matches('/')
    )
}

/// App-only scope: `<resource>/.default`.
pub fn app_scope(resource: &str) -> String {
    format!("{}/.default", resource.trim_end_matches('/'))
}

pub(crate) fn is_china(profile: &Profile) -> bool {
    profile.cloud == Cloud::O365China
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuthMethod, Service};

    #[test]
    fn authority_is_tenant_specific_when_asked() {
        let mut p = Profile::new("p", "admin@contoso.com", Service::ExchangeOnline);
        assert_eq!(
            authority_for(&p).unwrap(),
            "https://login.microsoftonline.com/organizations"
        );
        p.tenant = Some("contoso.onmicrosoft.com".into());
        assert_eq!(
            authority_for(&p).unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com"
        );
        p.delegated_organization = Some("tailspintoys.onmicrosoft.com".into());
        assert_eq!(
            authority_for(&p).unwrap(),
            "https://login.microsoftonline.com/tailspintoys.onmicrosoft.com"
        );
        let mut c = Profile::new("c", "", Service::ExchangeOnline);
        c.cloud = Cloud::Custom;
        c.connection_uri = Some("http://127.0.0.1:9/powershell-liveid/".into());
        c.authorization_endpoint = Some("http://127.0.0.1:8/organizations/".into());
        c.auth = AuthMethod::Certificate {
            app_id: "a".into(),
            certificate_path: None,
            thumbprint: None,
            organization: "contoso.onmicrosoft.com".into(),
        };
        assert_eq!(
            authority_for(&c).unwrap(),
            "http://127.0.0.1:8/contoso.onmicrosoft.com"
        );
        assert_eq!(resource_for(&c).unwrap(), "http://127.0.0.1:9");
        c.authorization_endpoint = Some("http://10.1.1.1/organizations".into());
        let e = authority_for(&c).unwrap_err().to_string();
        assert!(e.contains("authorization endpoint"), "{e}");
    }

    #[test]
    fn scopes() {
        assert_eq!(
            delegated_scope("https://outlook.office365.com/"),
            "https://outlook.office365.com/.default offline_access openid profile"
        );
        assert_eq!(
            app_scope("http://127.0.0.1:5"),
            "http://127.0.0.1:5/.default"
        );
    }
}
