//! The PowerShell preview: the exact lines an admin would type today for a profile (the
//! ExchangeOnlineManagement module's `Connect-*`), and on request the retired remote PowerShell
//! form (`New-PSSession ... -Authentication Basic`). Values are quoted for PowerShell.

use super::cloud::{Cloud, Service};
use super::profile::{AuthMethod, Profile, ProxyAccessType};

/// Quote a value for PowerShell: a bare word when it holds only safe characters, otherwise a
/// single-quoted string with every inner single quote (including the typographic ones
/// ‘ ’ ‚ ‛, which PowerShell also treats as single quotes) doubled. `$` and backticks are inert
/// inside single quotes.
pub fn quote(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | ':' | '@' | '-' | '_'));
    if safe {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The `$ProxyOptions = New-PSSessionOption ...` line, when the profile sets a proxy type.
fn proxy_line(p: &Profile) -> Option<String> {
    let access = p.proxy.access_type;
    if access == ProxyAccessType::None {
        return None;
    }
    let mut line = format!(
        "$ProxyOptions = New-PSSessionOption -ProxyAccessType {}",
        access.as_str()
    );
    // PowerShell rejects proxy credentials with NoProxyServer; validation warns about them.
    if access != ProxyAccessType::NoProxyServer {
        if let Some(a) = p.proxy.authentication {
            line.push_str(&format!(" -ProxyAuthentication {}", a.as_str()));
        }
        if let Some(u) = p.proxy.user.as_deref().filter(|u| !u.trim().is_empty()) {
            line.push_str(&format!(" -ProxyCredential (Get-Credential {})", quote(u)));
        }
    }
    Some(line)
}

/// The authority PowerShell users pass for a non-default cloud (seeds 003/004 use `/common`).
fn ps_authority(cloud: Cloud) -> Option<String> {
    cloud.login_host().map(|h| format!("{h}/common"))
}

/// The modern preview (`Connect-ExchangeOnline` / `Connect-IPPSSession`), one line per entry.
pub fn preview_lines(p: &Profile) -> Vec<String> {
    let mut lines = Vec::new();
    let proxy = proxy_line(p);
    if let Some(l) = &proxy {
        lines.push(l.clone());
    }
    if p.auth == AuthMethod::Password {
        lines.push(format!(
            "$UserCredential = Get-Credential {}",
            quote(&p.upn)
        ));
    }
    let mut cmd = String::from(match p.service {
        Service::ExchangeOnline => "Connect-ExchangeOnline",
        Service::Protection | Service::SecurityCompliance => "Connect-IPPSSession",
    });
    let mut arg = |name: &str, value: Option<&str>| {
        cmd.push_str(" -");
        cmd.push_str(name);
        if let Some(v) = value {
            cmd.push(' ');
            cmd.push_str(&quote(v));
        }
    };
    match &p.auth {
        AuthMethod::Certificate {
            app_id,
            certificate_path,
            thumbprint,
            organization,
        } => {
            arg("AppId", Some(app_id));
            match (certificate_path.as_deref(), thumbprint.as_deref()) {
                (Some(path), _) if !path.is_empty() => arg("CertificateFilePath", Some(path)),
                (_, Some(t)) => arg("CertificateThumbprint", Some(t)),
                _ => {}
            }
            arg("Organization", Some(organization));
        }
        AuthMethod::Password => arg("Credential", None),
        AuthMethod::Browser | AuthMethod::DeviceCode => {
            if !p.upn.trim().is_empty() {
                arg("UserPrincipalName", Some(&p.upn));
            }
        }
    }
    if p.auth == AuthMethod::Password {
        cmd.push_str(" $UserCredential");
    }

    where_args(&mut cmd, p);
    if let Some(d) = p
        .delegated_organization
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        cmd.push_str(&format!(" -DelegatedOrganization {}", quote(d)));
    }
    if p.auth == AuthMethod::DeviceCode {
        cmd.push_str(" -Device");
    }
    if proxy.is_some() {
        cmd.push_str(" -PSSessionOption $ProxyOptions");
    }
    lines.push(cmd);
    lines
}

/// Where the connect goes: the cloud, or explicit URIs (appended to `cmd`).
fn where_args(cmd: &mut String, p: &Profile) {
    let conn_override = p.connection_uri.as_deref().filter(|s| !s.is_empty());
    let auth_override = p
        .authorization_endpoint
        .as_deref()
        .filter(|s| !s.is_empty());
    let cloud = p.cloud;
    match p.service {
        Service::ExchangeOnline => {
            if !matches!(cloud, Cloud::O365Default | Cloud::Custom) {
                cmd.push_str(" -ExchangeEnvironmentName ");
                cmd.push_str(cloud.as_str());
            }
            if let Some(c) = conn_override {
                cmd.push_str(&format!(" -ConnectionUri {}", quote(c)));
            }
            if let Some(a) = auth_override {
                cmd.push_str(&format!(" -AzureADAuthorizationEndpointUri {}", quote(a)));
            }
        }
        Service::Protection | Service::SecurityCompliance => {
            // EOP always names its URI (seed 001); SCC only outside the worldwide cloud (seed 003).
            let derived_conn = match (p.service, cloud) {
                (_, Cloud::Custom) => None,
                (Service::SecurityCompliance, Cloud::O365Default) => None,
                _ => cloud.endpoints(p.service).map(|e| e.connection_uri),
            };
            if let Some(c) = conn_override.map(str::to_string).or(derived_conn) {
                cmd.push_str(&format!(" -ConnectionUri {}", quote(&c)));
            }
            let derived_auth = match cloud {
                Cloud::O365Default | Cloud::Custom => None,
                other => ps_authority(other),
            };
            if let Some(a) = auth_override.map(str::to_string).or(derived_auth) {
                cmd.push_str(&format!(" -AzureADAuthorizationEndpointUri {}", quote(&a)));
            }
        }
    }
}

/// The retired remote PowerShell form (seeds 000/002): Basic auth over WinRM.
pub fn legacy_lines(p: &Profile) -> Vec<String> {
    let mut lines = Vec::new();
    let proxy = proxy_line(p);
    if let Some(l) = &proxy {
        lines.push(l.clone());
    }
    lines.push("$UserCredential = Get-Credential".to_string());
    let mut uri = p
        .effective_endpoints()
        .map(|e| e.connection_uri)
        .unwrap_or_else(|| "<ConnectionUri>".to_string());
    // Partners reached a customer with ?DelegatedOrg=<customer domain> on the ConnectionUri.
    if let Some(d) = p
        .delegated_organization
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        uri.push(if uri.contains('?') { '&' } else { '?' });
        uri.push_str("DelegatedOrg=");
        uri.push_str(d);
    }
    let mut session = format!(
        "$Session = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri {} -Credential $UserCredential -Authentication Basic -AllowRedirection",
        quote(&uri)
    );
    if proxy.is_some() {
        session.push_str(" -SessionOption $ProxyOptions");
    }
    lines.push(session);
    lines.push("Import-PSSession $Session -DisableNameChecking".to_string());
    lines.push("Remove-PSSession $Session".to_string());
    lines
}

/// The preview as text, one command per line.
pub fn preview(p: &Profile, legacy: bool) -> String {
    let lines = if legacy {
        legacy_lines(p)
    } else {
        preview_lines(p)
    };
    lines.join("\n")
}
