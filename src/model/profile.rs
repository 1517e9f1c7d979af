//! A saved tenant profile: one connection to one service, like one saved `Connect-*` line.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cloud::{Cloud, Endpoints, Service};

/// `New-PSSessionOption -ProxyAccessType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ProxyAccessType {
    /// No proxy setting passed; the platform default applies.
    #[default]
    None,
    IEConfig,
    WinHttpConfig,
    AutoDetect,
    NoProxyServer,
}

impl ProxyAccessType {
    pub const ALL: [ProxyAccessType; 5] = [
        ProxyAccessType::None,
        ProxyAccessType::IEConfig,
        ProxyAccessType::WinHttpConfig,
        ProxyAccessType::AutoDetect,
        ProxyAccessType::NoProxyServer,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyAccessType::None => "None",
            ProxyAccessType::IEConfig => "IEConfig",
            ProxyAccessType::WinHttpConfig => "WinHttpConfig",
            ProxyAccessType::AutoDetect => "AutoDetect",
            ProxyAccessType::NoProxyServer => "NoProxyServer",
        }
    }
}

/// `-ProxyAuthentication` values (PowerShell's default is Negotiate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ProxyAuthentication {
    Basic,
    Digest,
    #[default]
    Negotiate,
}

impl ProxyAuthentication {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyAuthentication::Basic => "Basic",
            ProxyAuthentication::Digest => "Digest",
            ProxyAuthentication::Negotiate => "Negotiate",
        }
    }
}

/// Proxy choice of a profile. The proxy password lives in the OS keychain, never here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxySettings {
    pub access_type: ProxyAccessType,
    /// None = not given (PowerShell's default, Negotiate, applies).
    pub authentication: Option<ProxyAuthentication>,
    pub user: Option<String>,
}

/// How the profile signs in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    /// Authorization code + PKCE in the system browser.
    Browser,
    /// Device code (RFC 8628): works everywhere, with MFA.
    #[default]
    DeviceCode,
    /// Resource-owner password (accounts without MFA); falls back to device code when MFA is required.
    Password,
    /// App-only with a certificate: `-AppId -CertificateFilePath|-CertificateThumbprint -Organization`.
    Certificate {
        app_id: String,
        /// Path to a PEM or PFX file (its password lives in the keychain).
        certificate_path: Option<String>,
        /// Thumbprint of a certificate in the OS store.
        thumbprint: Option<String>,
        /// `-Organization`, e.g. `contoso.onmicrosoft.com`.
        organization: String,
    },
}

/// The sign-in method without the certificate's details: what the engine runs, the sign-in
/// dialog shows, the editor picks and `login --method` overrides. The one enum of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInMethod {
    Browser,
    DeviceCode,
    Password,
    Certificate,
}

impl SignInMethod {
    pub const ALL: [SignInMethod; 4] = [
        SignInMethod::DeviceCode,
        SignInMethod::Browser,
        SignInMethod::Password,
        SignInMethod::Certificate,
    ];

    /// The command line's name: `browser`, `device-code`, `password`, `certificate`.
    pub fn label(self) -> &'static str {
        match self {
            SignInMethod::Browser => "browser",
            SignInMethod::DeviceCode => "device-code",
            SignInMethod::Password => "password",
            SignInMethod::Certificate => "certificate",
        }
    }
}

impl AuthMethod {
    /// Which method this is.
    pub fn method(&self) -> SignInMethod {
        match self {
            AuthMethod::Browser => SignInMethod::Browser,
            AuthMethod::DeviceCode => SignInMethod::DeviceCode,
            AuthMethod::Password => SignInMethod::Password,
            AuthMethod::Certificate { .. } => SignInMethod::Certificate,
        }
    }

    pub fn label(&self) -> &'static str {
        self.method().label()
    }
}

pub const DEFAULT_PAGE_SIZE: u32 = 1000;

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

/// One saved connection. No secret is ever stored here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: Uuid,
    pub name: String,
    /// Folder in the tree (profiles of one tenant sit in one folder); empty = top level.
    #[serde(default)]
    pub folder: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Colour band, `#rrggbb`.
    #[serde(default)]
    pub color: Option<String>,
    pub upn: String,
    pub service: Service,
    pub cloud: Cloud,
    /// `-ConnectionUri` override.
    #[serde(default)]
    pub connection_uri: Option<String>,
    /// `-AzureADAuthorizationEndpointUri` override.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Tenant domain or GUID (optional; selects a tenant-specific authority).
    #[serde(default)]
    pub tenant: Option<String>,
    /// `-DelegatedOrganization` (partner access): a domain or a GUID.
    #[serde(default)]
    pub delegated_organization: Option<String>,
    #[serde(default)]
    pub auth: AuthMethod,
    #[serde(default)]
    pub proxy: ProxySettings,
    /// `Prefer: odata.maxpagesize`, 1..=1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default)]
    pub notes: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    #[serde(default)]
    pub last_connected: Option<DateTime<Utc>>,
}

impl Profile {
    /// A new profile with defaults (worldwide cloud, device code, no proxy, page size 1000).
    pub fn new(name: impl Into<String>, upn: impl Into<String>, service: Service) -> Self {
        let now = Utc::now();
        Profile {
            id: Uuid::new_v4(),
            name: name.into(),
            folder: String::new(),
            tags: Vec::new(),
            color: None,
            upn: upn.into(),
            service,
            cloud: Cloud::O365Default,
            connection_uri: None,
            authorization_endpoint: None,
            tenant: None,
            delegated_organization: None,
            auth: AuthMethod::default(),
            proxy: ProxySettings::default(),
            page_size: DEFAULT_PAGE_SIZE,
            notes: String::new(),
            created: now,
            modified: now,
            last_connected: None,
        }
    }

    /// Effective endpoints: from the cloud unless overridden. For a custom or overridden
    /// ConnectionUri the REST base and token resource are that URI's origin; the authority is the
    /// AzureADAuthorizationEndpointUri when given. Returns None when nothing can be derived
    /// (Custom cloud without a ConnectionUri or authority, or an unparsable URI): validation says why.
    pub fn effective_endpoints(&self) -> Option<Endpoints> {
        let base = self.cloud.endpoints(self.service);
        let (connection_uri, rest_base, token_resource) = match &self.connection_uri {
            Some(uri) => {
                let origin = origin_of(uri)?;
                (uri.clone(), origin.clone(), origin)
            }
            None => {
                let b = base.as_ref()?;
                (
                    b.connection_uri.clone(),
                    b.rest_base.clone(),
                    b.token_resource.clone(),
                )
            }
        };
        let authority = match &self.authorization_endpoint {
            Some(a) => a.trim_end_matches('/').to_string(),
            None => base.as_ref()?.authority.clone(),
        };
        Some(Endpoints {
            connection_uri,
            rest_base,
            token_resource,
            authority,
        })
    }

    /// The account a sign-in of this profile is cached under: the app id for app-only
    /// (certificate), else the UPN.
    pub fn sign_in_account(&self) -> &str {
        match &self.auth {
            AuthMethod::Certificate { app_id, .. } => app_id,
            _ => &self.upn,
        }
    }

    /// The tenant the REST path and a tenant-specific authority use: DelegatedOrganization first,
    /// then the profile's tenant, then the certificate method's organization.
    pub fn target_tenant(&self) -> Option<&str> {
        self.delegated_organization
            .as_deref()
            .or(self.tenant.as_deref())
            .or(match &self.auth {
                AuthMethod::Certificate { organization, .. } => Some(organization.as_str()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    }
}

/// `scheme://host[:port]` of a URI, or None if it does not parse as an absolute http(s) URL.
pub fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{}://{}:{}", u.scheme(), host, p),
        None => format!("{}://{}", u.scheme(), host),
    })
}
