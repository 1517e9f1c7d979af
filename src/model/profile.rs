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
    /// The tenant's display name as the service gave it after a connect (not edited, not
    /// secret): the merged result's `Tenant` column shows it instead of the domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_tenant: Option<KnownTenant>,
}

/// What the service said the profile's tenant is called (`Get-OrganizationConfig`'s
/// `DisplayName`), learnt once after a connect and kept in the profile file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownTenant {
    /// The tenant it was learnt for ([`Profile::tenant_key`] then): a profile edited to reach
    /// another tenant does not use it, and asks again.
    pub key: String,
    /// None: the service gave no name (e.g. the role may not read the organization's
    /// configuration); asked again after [`KnownTenant::ASK_AGAIN_DAYS`].
    pub display_name: Option<String>,
    pub checked: DateTime<Utc>,
}

impl KnownTenant {
    /// Days before a tenant that gave no name is asked again.
    pub const ASK_AGAIN_DAYS: i64 = 7;
    /// The longest name kept (longer ones are cut).
    pub const MAX_NAME_CHARS: usize = 256;

    /// The name learnt for `key` now: the service's text on one printable line, cut to
    /// [`KnownTenant::MAX_NAME_CHARS`]; blank becomes None.
    pub fn learnt(key: &str, display_name: Option<&str>) -> KnownTenant {
        let display_name = display_name
            .map(|n| {
                let line = super::text::printable_line(n);
                line.trim()
                    .chars()
                    .take(Self::MAX_NAME_CHARS)
                    .collect::<String>()
            })
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        KnownTenant {
            key: key.to_string(),
            display_name,
            checked: Utc::now(),
        }
    }
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
            known_tenant: None,
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

    /// The tenant the profile's requests go to, lower case: its [`Profile::target_tenant`],
    /// else the UPN's domain, else the profile's name.
    pub fn tenant_key(&self) -> String {
        self.target_tenant()
            .map(str::to_string)
            .or_else(|| self.upn.rsplit_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| self.name.clone())
            .trim()
            .to_ascii_lowercase()
    }

    /// The tenant's display name, when the service gave one for the tenant the profile reaches
    /// now.
    pub fn tenant_display_name(&self) -> Option<&str> {
        self.known_tenant
            .as_ref()
            .filter(|k| k.key == self.tenant_key())
            .and_then(|k| k.display_name.as_deref())
    }

    /// Whether the tenant's display name is worth asking the service for at `now`: never
    /// asked for this tenant, or asked without an answer more than
    /// [`KnownTenant::ASK_AGAIN_DAYS`] ago. Security & Compliance has no
    /// `Get-OrganizationConfig`.
    pub fn tenant_name_due(&self, now: DateTime<Utc>) -> bool {
        if self.service == Service::SecurityCompliance {
            return false;
        }
        match &self.known_tenant {
            Some(k) if k.key == self.tenant_key() => {
                k.display_name.is_none()
                    && now - k.checked > chrono::Duration::days(KnownTenant::ASK_AGAIN_DAYS)
            }
            _ => true,
        }
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

#[cfg(test)]
mod tenant_name_tests {
    use super::*;

    #[test]
    fn the_name_is_used_for_the_tenant_it_was_learnt_for() {
        let mut p = Profile::new("Fab", "partner@litware.com", Service::ExchangeOnline);
        p.delegated_organization = Some("Cust001.onmicrosoft.com".into());
        assert_eq!(p.tenant_key(), "cust001.onmicrosoft.com");
        let now = Utc::now();
        assert!(p.tenant_name_due(now));
        p.known_tenant = Some(KnownTenant::learnt(
            &p.tenant_key(),
            Some(" Fabrikam\u{1b}[31m Ltd "),
        ));
        assert_eq!(p.tenant_display_name(), Some("Fabrikam Ltd"));
        assert!(!p.tenant_name_due(now));
        // Edited to another customer: the old name is not that tenant's.
        p.delegated_organization = Some("cust002.onmicrosoft.com".into());
        assert_eq!(p.tenant_display_name(), None);
        assert!(p.tenant_name_due(now));
        // No name given: asked again only after a week.
        p.known_tenant = Some(KnownTenant::learnt(&p.tenant_key(), Some("  ")));
        assert_eq!(p.tenant_display_name(), None);
        assert!(!p.tenant_name_due(now));
        assert!(p.tenant_name_due(now + chrono::Duration::days(8)));
        let long = "x".repeat(1000);
        let k = KnownTenant::learnt("k", Some(&long));
        assert_eq!(k.display_name.unwrap().len(), KnownTenant::MAX_NAME_CHARS);
        let scc = Profile::new("S", "a@b.com", Service::SecurityCompliance);
        assert!(!scc.tenant_name_due(now));
    }

    #[test]
    fn a_profile_file_without_the_name_still_reads_and_none_is_not_written() {
        let p = Profile::new("A", "a@b.com", Service::ExchangeOnline);
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("known_tenant"), "{json}");
        let back: Profile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
