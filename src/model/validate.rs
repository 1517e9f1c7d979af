//! Field-by-field validation of a profile. Pure: the editor calls it on every keystroke and shows
//! each issue beside its field; the store refuses to save a profile with an `Error`.

use std::fmt;
use std::net::IpAddr;

use super::cloud::{Cloud, Service};
use super::profile::{AuthMethod, Profile, ProxyAccessType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem with one field. `field` is the profile's field path (serde name); `message`
/// names the field and says what to do. The field keys used: `name`, `upn`, `cloud`,
/// `connection_uri`, `authorization_endpoint`, `tenant`, `delegated_organization`, `page_size`,
/// `color`, `auth`, `auth.app_id`, `auth.certificate` (path/thumbprint both or neither),
/// `auth.thumbprint`, `auth.organization`, `proxy.access_type`, `proxy.user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub field: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}: {}", self.field, self.message)
    }
}

impl Issue {
    fn error(field: &'static str, message: impl Into<String>) -> Self {
        Issue {
            field,
            severity: Severity::Error,
            message: message.into(),
        }
    }
    fn warning(field: &'static str, message: impl Into<String>) -> Self {
        Issue {
            field,
            severity: Severity::Warning,
            message: message.into(),
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True if any issue is an error (warnings do not block saving).
pub fn has_errors(issues: &[Issue]) -> bool {
    issues.iter().any(Issue::is_error)
}

/// Issues of one field, for showing beside it.
pub fn for_field<'a>(issues: &'a [Issue], field: &str) -> impl Iterator<Item = &'a Issue> {
    let field = field.to_string();
    issues.iter().filter(move |i| i.field == field)
}

/// Validate `p`. `others` are the other saved profiles (for name uniqueness); an entry with the
/// same id as `p` is ignored, so passing the whole store while editing is fine.
pub fn validate(p: &Profile, others: &[Profile]) -> Vec<Issue> {
    let mut out = Vec::new();
    check_name(&mut out, p, others);
    check_upn(&mut out, p);
    check_endpoints(&mut out, p);
    check_tenants(&mut out, p);
    check_page_size_and_colour(&mut out, p);
    check_certificate(&mut out, p);
    check_proxy(&mut out, p);
    out
}

/// The name: given, and not another profile's.
fn check_name(out: &mut Vec<Issue>, p: &Profile, others: &[Profile]) {
    // name
    let name = p.name.trim();
    if name.is_empty() {
        out.push(Issue::error(
            "name",
            "Name is empty: give the profile a name, e.g. 'Contoso EXO'.",
        ));
    } else if let Some(o) = others
        .iter()
        .find(|o| o.id != p.id && o.name.trim().eq_ignore_ascii_case(name))
    {
        out.push(Issue::error(
            "name",
            format!(
                "Name '{}' is already used by another profile: choose a different name.",
                o.name
            ),
        ));
    }
}

/// The UPN (not needed for app-only certificate sign-in, but checked if given).
fn check_upn(out: &mut Vec<Issue>, p: &Profile) {
    let cert = matches!(p.auth, AuthMethod::Certificate { .. });
    if p.upn.trim().is_empty() {
        if !cert {
            out.push(Issue::error(
                "upn",
                "UPN is empty: give the admin account, e.g. admin@contoso.onmicrosoft.com.",
            ));
        }
    } else if !is_upn(&p.upn) {
        out.push(Issue::error(
            "upn",
            format!(
                "UPN '{}' is not a user principal name: use the form user@domain, e.g. admin@contoso.onmicrosoft.com.",
                p.upn
            ),
        ));
    }
}

/// The URIs, the cloud's retirement and mismatches between cloud and URIs.
fn check_endpoints(out: &mut Vec<Issue>, p: &Profile) {
    let conn_ok = check_uri(
        out,
        "connection_uri",
        "ConnectionUri",
        p.connection_uri.as_deref(),
        "https://outlook.office365.com/powershell-liveid/",
    );
    let auth_ok = check_uri(
        out,
        "authorization_endpoint",
        "Authorization endpoint (AzureADAuthorizationEndpointUri)",
        p.authorization_endpoint.as_deref(),
        "https://login.microsoftonline.com/organizations",
    );
    if let Some(u) = &auth_ok
        && u.path().trim_matches('/').is_empty()
    {
        out.push(Issue::warning(
            "authorization_endpoint",
            format!(
                "Authorization endpoint {u} has no tenant part: add /organizations (any work account), /common or /<tenant>, e.g. https://login.microsoftonline.com/organizations."
            ),
        ));
    }
    if p.cloud == Cloud::Custom {
        if p.connection_uri
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            out.push(Issue::error(
                "connection_uri",
                "ConnectionUri is required for the Custom cloud: give the service URI, e.g. https://outlook.office365.com/powershell-liveid/.",
            ));
        }
        if p.authorization_endpoint
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            out.push(Issue::error(
                "authorization_endpoint",
                "Authorization endpoint is required for the Custom cloud: give the authority, e.g. https://login.microsoftonline.com/organizations.",
            ));
        }
    }
    if let Some(w) = p.cloud.retirement_warning() {
        out.push(Issue::warning(
            "cloud",
            format!(
                "Cloud {}: {w} Choose O365Default unless this tenant still exists.",
                p.cloud.as_str()
            ),
        ));
    }
    cloud_mismatch_warnings(out, p, conn_ok, auth_ok);
}

/// The tenant and the delegated organization: a domain or a GUID.
fn check_tenants(out: &mut Vec<Issue>, p: &Profile) {
    if let Some(t) = p.tenant.as_deref().filter(|s| !s.trim().is_empty())
        && !is_domain_or_guid(t)
    {
        out.push(Issue::error(
            "tenant",
            format!(
                "Tenant '{t}' is neither a domain nor a GUID: use e.g. contoso.onmicrosoft.com or the tenant id."
            ),
        ));
    }
    if let Some(d) = p
        .delegated_organization
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        && !is_domain_or_guid(d)
    {
        out.push(Issue::error(
            "delegated_organization",
            format!(
                "DelegatedOrganization '{d}' is neither a domain nor a GUID: use the customer's domain (e.g. fabrikam.onmicrosoft.com) or tenant id."
            ),
        ));
    }
}

/// The page size (1..=1000) and the colour (#rrggbb).
fn check_page_size_and_colour(out: &mut Vec<Issue>, p: &Profile) {
    if !(1..=1000).contains(&p.page_size) {
        out.push(Issue::error(
            "page_size",
            format!(
                "Page size {} is out of range: use a number from 1 to 1000 (the default is 1000).",
                p.page_size
            ),
        ));
    }

    if let Some(c) = p.color.as_deref().filter(|s| !s.is_empty())
        && !is_hex_colour(c)
    {
        out.push(Issue::error(
            "color",
            format!("Colour '{c}' is not a #rrggbb colour: use e.g. #1f6feb."),
        ));
    }
}

/// Certificate sign-in: app id, certificate file or thumbprint, organization.
fn check_certificate(out: &mut Vec<Issue>, p: &Profile) {
    if let AuthMethod::Certificate {
        app_id,
        certificate_path,
        thumbprint,
        organization,
    } = &p.auth
    {
        if uuid::Uuid::try_parse(app_id.trim()).is_err() {
            out.push(Issue::error(
                "auth.app_id",
                format!(
                    "App id '{app_id}' is not a GUID: give the application (client) id of the app registration, e.g. 00000000-0000-0000-0000-000000000000."
                ),
            ));
        }
        let path = certificate_path.as_deref().filter(|s| !s.trim().is_empty());
        let thumb = thumbprint.as_deref().filter(|s| !s.trim().is_empty());
        match (path, thumb) {
            (None, None) => out.push(Issue::error(
                "auth.certificate",
                "Certificate is missing: give either a certificate file path or a thumbprint.",
            )),
            (Some(_), Some(_)) => out.push(Issue::error(
                "auth.certificate",
                "Certificate is given twice: give either a certificate file path or a thumbprint, not both.",
            )),
            (None, Some(t)) => {
                if t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                    out.push(Issue::error(
                        "auth.thumbprint",
                        format!(
                            "Thumbprint '{t}' is not a certificate thumbprint: use the 40 hexadecimal digits shown by the certificate store."
                        ),
                    ));
                }
            }
            (Some(_), None) => {}
        }
        if !is_domain(organization.trim()) {
            out.push(Issue::error(
                "auth.organization",
                format!(
                    "Organization '{organization}' is not a domain: give the tenant's initial domain, e.g. contoso.onmicrosoft.com."
                ),
            ));
        }
    }
}

/// The proxy's extras without a proxy type, a blank proxy user; password sign-in in 21Vianet.
fn check_proxy(out: &mut Vec<Issue>, p: &Profile) {
    let proxy_extras = p.proxy.authentication.is_some()
        || p.proxy
            .user
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty());
    match p.proxy.access_type {
        ProxyAccessType::NoProxyServer if proxy_extras => out.push(Issue::warning(
            "proxy.access_type",
            "Proxy authentication or user is set but the proxy type is NoProxyServer (connect directly): they are ignored; clear them or pick a proxy type.",
        )),
        ProxyAccessType::None if proxy_extras => out.push(Issue::warning(
            "proxy.access_type",
            "Proxy authentication or user is set but no proxy type is chosen: they are ignored; pick IEConfig, WinHttpConfig or AutoDetect.",
        )),
        _ => {}
    }
    if let Some(u) = p.proxy.user.as_deref()
        && !u.is_empty()
        && u.trim().is_empty()
    {
        out.push(Issue::error(
            "proxy.user",
            "Proxy user is blank: give the user name or clear the field.",
        ));
    }

    if p.cloud == Cloud::O365China && p.auth == AuthMethod::Password {
        out.push(Issue::warning(
            "auth",
            "Sign-in: MFA is not available in Office 365 operated by 21Vianet; password sign-in works only for accounts without MFA.",
        ));
    }
}

/// Rough UPN shape: `local@domain` with a dotted domain, no spaces.
pub fn is_upn(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c == '@' || c.is_control())
        && is_domain(domain)
}

/// A DNS name with at least two labels (`contoso.com`, `contoso.onmicrosoft.com`).
pub fn is_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && !labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
}

/// A GUID in its usual 36-character form.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

pub fn is_domain_or_guid(s: &str) -> bool {
    let s = s.trim();
    is_guid(s) || is_domain(s)
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Loopback hosts where http:// is allowed: 127.0.0.0/8, ::1, localhost.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => IpAddr::V4(*a).is_loopback(),
        url::Host::Ipv6(a) => IpAddr::V6(*a).is_loopback(),
    }
}

/// Check an optional URI; returns the parsed URL when present and valid.
fn check_uri(
    out: &mut Vec<Issue>,
    field: &'static str,
    label: &str,
    value: Option<&str>,
    example: &str,
) -> Option<url::Url> {
    let v = value?.trim();
    if v.is_empty() {
        return None;
    }
    let u = match url::Url::parse(v) {
        Ok(u) => u,
        Err(e) => {
            out.push(Issue::error(
                field,
                format!(
                    "{label} '{v}' is not a valid URL ({e}): use a full https URL, e.g. {example}."
                ),
            ));
            return None;
        }
    };
    let Some(host) = u.host() else {
        out.push(Issue::error(
            field,
            format!("{label} '{v}' has no host: use a full https URL, e.g. {example}."),
        ));
        return None;
    };
    match u.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            out.push(Issue::error(
                field,
                format!(
                    "{label} '{v}' uses http: use https (http is allowed only for loopback hosts such as 127.0.0.1 or localhost)."
                ),
            ));
            return None;
        }
        other => {
            out.push(Issue::error(
                field,
                format!(
                    "{label} '{v}' uses the scheme '{other}': use an https URL, e.g. {example}."
                ),
            ));
            return None;
        }
    }
    if !u.username().is_empty() || u.password().is_some() {
        out.push(Issue::error(
            field,
            format!("{label} contains a user name or password: remove them from the URL."),
        ));
        return None;
    }
    Some(u)
}

/// Which sovereign cloud family a Microsoft host belongs to (None: unknown or loopback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Worldwide,
    UsGov,
    China,
    Germany,
}

impl Family {
    fn label(self) -> &'static str {
        match self {
            Family::Worldwide => "worldwide (O365Default)",
            Family::UsGov => "US Government (GCC High / DoD)",
            Family::China => "21Vianet China (O365China)",
            Family::Germany => "Germany (O365GermanyCloud)",
        }
    }
    fn of_cloud(c: Cloud) -> Option<Family> {
        match c {
            Cloud::O365Default => Some(Family::Worldwide),
            Cloud::O365USGovGCCHigh | Cloud::O365USGovDoD => Some(Family::UsGov),
            Cloud::O365China => Some(Family::China),
            Cloud::O365GermanyCloud => Some(Family::Germany),
            Cloud::Custom => None,
        }
    }
    fn of_host(host: &str) -> Option<Family> {
        let h = host.to_ascii_lowercase();
        let ends = |s: &str| h == s || h.ends_with(&format!(".{s}"));
        if ends("office365.us") || ends("microsoftonline.us") || ends("apps.mil") {
            Some(Family::UsGov)
        } else if ends("outlook.cn") || ends("chinacloudapi.cn") || ends("office365.cn") {
            Some(Family::China)
        } else if ends("outlook.de") || ends("office.de") || ends("microsoftonline.de") {
            Some(Family::Germany)
        } else if ends("outlook.com") || ends("office365.com") || ends("microsoftonline.com") {
            Some(Family::Worldwide)
        } else {
            None
        }
    }
}

fn cloud_mismatch_warnings(
    out: &mut Vec<Issue>,
    p: &Profile,
    conn: Option<url::Url>,
    auth: Option<url::Url>,
) {
    let cloud_family = Family::of_cloud(p.cloud);
    let conn_family = conn
        .as_ref()
        .and_then(|u| u.host_str().and_then(Family::of_host));
    let auth_family = match &auth {
        Some(u) => u.host_str().and_then(Family::of_host),
        None if p.authorization_endpoint.is_none() => cloud_family,
        None => None,
    };
    if let (Some(c), Some(a)) = (conn_family, auth_family)
        && c != a
    {
        out.push(Issue::warning(
            "authorization_endpoint",
            format!(
                "The ConnectionUri is in the {} cloud but the sign-in authority is in the {} cloud: sign-in will give a token the service rejects; use the matching authorization endpoint.",
                c.label(),
                a.label()
            ),
        ));
    }
    if let (Some(cf), Some(c)) = (cloud_family, conn_family)
        && cf != c
    {
        out.push(Issue::warning(
            "connection_uri",
            format!(
                "The ConnectionUri is in the {} cloud but the profile's cloud is {}: pick the matching cloud or clear the override.",
                c.label(),
                p.cloud.as_str()
            ),
        ));
    }
    if let (Some(cf), Some(a)) = (
        cloud_family,
        auth.as_ref()
            .and_then(|u| u.host_str().and_then(Family::of_host)),
    ) && cf != a
        && conn_family.is_none_or(|c| c == cf)
    {
        out.push(Issue::warning(
            "authorization_endpoint",
            format!(
                "The authorization endpoint is in the {} cloud but the profile's cloud is {}: pick the matching cloud or clear the override.",
                a.label(),
                p.cloud.as_str()
            ),
        ));
    }
    service_mismatch_warning(out, p, conn.as_ref());
}

/// Service mismatch: an SCC host for EXO/EOP or an EXO host for SCC (Microsoft hosts only).
fn service_mismatch_warning(out: &mut Vec<Issue>, p: &Profile, conn: Option<&url::Url>) {
    if let Some(host) = conn.and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        && Family::of_host(&host).is_some()
    {
        let is_scc_host = host.contains("compliance");
        match p.service {
            Service::SecurityCompliance if !is_scc_host => out.push(Issue::warning(
                "connection_uri",
                format!(
                    "The ConnectionUri host {host} is not a Security & Compliance host: for SCC use e.g. https://ps.compliance.protection.outlook.com/powershell-liveid/, or change the service."
                ),
            )),
            Service::ExchangeOnline | Service::Protection if is_scc_host => {
                out.push(Issue::warning(
                    "connection_uri",
                    format!(
                        "The ConnectionUri host {host} is a Security & Compliance host but the service is {}: change the service to scc or fix the URI.",
                        p.service.short()
                    ),
                ))
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_upn("admin@contoso.onmicrosoft.com"));
        assert!(!is_upn("admin"));
        assert!(!is_upn("@contoso.com"));
        assert!(!is_upn("ad min@contoso.com"));
        assert!(!is_upn("admin@contoso"));
        assert!(is_domain("fabrikam.onmicrosoft.com"));
        assert!(!is_domain("-bad.com"));
        assert!(!is_domain("1.2.3.4"));
        assert!(is_guid("2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10"));
        assert!(!is_guid("2c1b7f2e8a1e4a639d2a3f1f3c1b2a10"));
    }
}
