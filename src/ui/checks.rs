//! Validation messages and the PowerShell preview for the editor.
//!
//! A minimal local check until `model::validate` / `model::powershell` are merged; the editor only
//! depends on [`field_errors`] (field key → message) and [`powershell_preview`].

use crate::model::{AuthMethod, Cloud, Profile, ProxyAccessType, Service};

/// Field keys used by the editor (and the messages beside them).
pub mod field {
    pub const NAME: &str = "name";
    pub const UPN: &str = "upn";
    pub const COLOR: &str = "color";
    pub const CONNECTION_URI: &str = "connection_uri";
    pub const AUTHORIZATION_ENDPOINT: &str = "authorization_endpoint";
    pub const TENANT: &str = "tenant";
    pub const DELEGATED_ORGANIZATION: &str = "delegated_organization";
    pub const APP_ID: &str = "app_id";
    pub const CERTIFICATE: &str = "certificate";
    pub const ORGANIZATION: &str = "organization";
    pub const PROXY_USER: &str = "proxy_user";
    pub const PAGE_SIZE: &str = "page_size";
}

fn looks_like_domain(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !p.starts_with('-')
                && !p.ends_with('-')
        })
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn check_uri(s: &str) -> Option<String> {
    match url::Url::parse(s) {
        Ok(u) if u.scheme() == "https" => None,
        Ok(u)
            if u.scheme() == "http"
                && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) =>
        {
            None
        }
        Ok(_) => Some("must be an https:// URL (http:// only for loopback)".into()),
        Err(_) => {
            Some("is not a valid URL, e.g. https://outlook.office365.com/powershell-liveid/".into())
        }
    }
}

/// Every problem of a profile, as (field key, message naming what to fix).
pub fn field_errors(p: &Profile) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if p.name.trim().is_empty() {
        out.push((field::NAME, "Name is required".to_string()));
    }
    let upn = p.upn.trim();
    let is_cert = matches!(p.auth, AuthMethod::Certificate { .. });
    if upn.is_empty() && !is_cert {
        out.push((
            field::UPN,
            "UPN is required, e.g. admin@contoso.com".to_string(),
        ));
    } else if !upn.is_empty() {
        match upn.split_once('@') {
            Some((user, domain)) if !user.is_empty() && looks_like_domain(domain) => {}
            _ => out.push((
                field::UPN,
                "UPN must look like user@domain, e.g. admin@contoso.com".to_string(),
            )),
        }
    }
    if let Some(c) = &p.color {
        let ok = c.len() == 7 && c.starts_with('#') && u32::from_str_radix(&c[1..], 16).is_ok();
        if !ok {
            out.push((field::COLOR, "Colour must be #rrggbb".to_string()));
        }
    }
    if let Some(u) = &p.connection_uri
        && let Some(m) = check_uri(u)
    {
        out.push((field::CONNECTION_URI, format!("ConnectionUri {m}")));
    }
    if let Some(u) = &p.authorization_endpoint
        && let Some(m) = check_uri(u)
    {
        out.push((
            field::AUTHORIZATION_ENDPOINT,
            format!("Authorization endpoint {m}"),
        ));
    }
    if p.cloud == Cloud::Custom {
        if p.connection_uri.is_none() {
            out.push((
                field::CONNECTION_URI,
                "Custom cloud needs a ConnectionUri".to_string(),
            ));
        }
        if p.authorization_endpoint.is_none() {
            out.push((
                field::AUTHORIZATION_ENDPOINT,
                "Custom cloud needs an authorization endpoint".to_string(),
            ));
        }
    }
    for (key, v, what) in [
        (field::TENANT, &p.tenant, "Tenant"),
        (
            field::DELEGATED_ORGANIZATION,
            &p.delegated_organization,
            "DelegatedOrganization",
        ),
    ] {
        if let Some(v) = v
            && !looks_like_domain(v.trim())
            && !is_guid(v.trim())
        {
            out.push((
                key,
                format!("{what} must be a domain (contoso.onmicrosoft.com) or a tenant GUID"),
            ));
        }
    }
    if let AuthMethod::Certificate {
        app_id,
        certificate_path,
        thumbprint,
        organization,
    } = &p.auth
    {
        if !is_guid(app_id.trim()) {
            out.push((
                field::APP_ID,
                "AppId must be the application (client) GUID".to_string(),
            ));
        }
        let has_path = certificate_path
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        let has_thumb = thumbprint.as_deref().is_some_and(|s| !s.trim().is_empty());
        if has_path == has_thumb {
            out.push((
                field::CERTIFICATE,
                "Give either a certificate file path or a thumbprint (exactly one)".to_string(),
            ));
        } else if let Some(t) = thumbprint.as_deref().filter(|_| has_thumb)
            && !(t.trim().len() == 40 && t.trim().chars().all(|c| c.is_ascii_hexdigit()))
        {
            out.push((
                field::CERTIFICATE,
                "Thumbprint must be 40 hex digits".to_string(),
            ));
        }
        if !organization.trim().ends_with(".onmicrosoft.com")
            && !organization.trim().ends_with(".onmicrosoft.us")
            && !organization.trim().ends_with(".partner.onmschina.cn")
        {
            out.push((
                field::ORGANIZATION,
                "Organization must be the initial domain, e.g. contoso.onmicrosoft.com".to_string(),
            ));
        }
    }
    if p.proxy.user.is_some() && p.proxy.access_type == ProxyAccessType::None {
        out.push((
            field::PROXY_USER,
            "A proxy user needs a proxy access type other than None".to_string(),
        ));
    }
    if !(1..=1000).contains(&p.page_size) {
        out.push((
            field::PAGE_SIZE,
            "Page size must be between 1 and 1000".to_string(),
        ));
    }
    out
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `Connect-*` line an admin would type for this profile (read-only preview).
pub fn powershell_preview(p: &Profile) -> String {
    let mut lines = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let cmd = match p.service {
        Service::ExchangeOnline => "Connect-ExchangeOnline",
        Service::Protection | Service::SecurityCompliance => "Connect-IPPSSession",
    };
    if p.proxy.access_type != ProxyAccessType::None {
        let mut opt = format!(
            "$so = New-PSSessionOption -ProxyAccessType {}",
            p.proxy.access_type.as_str()
        );
        if let Some(a) = p.proxy.authentication {
            opt.push_str(&format!(" -ProxyAuthentication {}", a.as_str()));
        }
        if let Some(u) = &p.proxy.user {
            opt.push_str(&format!(" -ProxyCredential (Get-Credential {})", quote(u)));
        }
        lines.push(opt);
    }
    match &p.auth {
        AuthMethod::Certificate {
            app_id,
            certificate_path,
            thumbprint,
            organization,
        } => {
            args.push(format!("-AppId {}", quote(app_id)));
            if let Some(path) = certificate_path {
                args.push(format!("-CertificateFilePath {}", quote(path)));
            }
            if let Some(t) = thumbprint {
                args.push(format!("-CertificateThumbprint {}", quote(t)));
            }
            args.push(format!("-Organization {}", quote(organization)));
        }
        AuthMethod::DeviceCode => {
            args.push(format!("-UserPrincipalName {}", quote(&p.upn)));
            if p.service == Service::ExchangeOnline {
                args.push("-Device".into());
            }
        }
        AuthMethod::Password => {
            args.push(format!("-Credential (Get-Credential {})", quote(&p.upn)));
        }
        AuthMethod::Browser => {
            args.push(format!("-UserPrincipalName {}", quote(&p.upn)));
        }
    }
    if p.cloud != Cloud::O365Default && p.cloud != Cloud::Custom {
        args.push(format!("-ExchangeEnvironmentName {}", p.cloud.as_str()));
    }
    let default_uri = p.cloud.endpoints(p.service).map(|e| e.connection_uri);
    let uri = p.connection_uri.clone().or_else(|| {
        (p.service == Service::Protection)
            .then(|| default_uri.clone())
            .flatten()
    });
    if let Some(u) = uri {
        args.push(format!("-ConnectionUri {}", quote(&u)));
    }
    if let Some(a) = &p.authorization_endpoint {
        args.push(format!("-AzureADAuthorizationEndpointUri {}", quote(a)));
    }
    if let Some(d) = &p.delegated_organization {
        args.push(format!("-DelegatedOrganization {}", quote(d)));
    }
    if p.proxy.access_type != ProxyAccessType::None {
        args.push("-PSSessionOption $so".into());
    }
    lines.push(format!("{cmd} {}", args.join(" ")));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_upn_is_named() {
        let p = Profile::new("Contoso", "admin-at-contoso", Service::ExchangeOnline);
        let errs = field_errors(&p);
        assert!(
            errs.iter()
                .any(|(f, m)| *f == field::UPN && m.contains("user@domain"))
        );
        let ok = Profile::new("Contoso", "admin@contoso.com", Service::ExchangeOnline);
        assert!(field_errors(&ok).is_empty());
    }

    #[test]
    fn preview_names_the_cmdlet() {
        let mut p = Profile::new("Contoso", "admin@contoso.com", Service::Protection);
        p.delegated_organization = Some("fabrikam.onmicrosoft.com".into());
        let s = powershell_preview(&p);
        assert!(s.starts_with("Connect-IPPSSession -UserPrincipalName 'admin@contoso.com'"));
        assert!(
            s.contains("-ConnectionUri 'https://ps.protection.outlook.com/powershell-liveid/'")
        );
        assert!(s.contains("-DelegatedOrganization 'fabrikam.onmicrosoft.com'"));
    }
}
