//! "Open in PowerShell": the script a `pwsh` started from a session runs to be connected
//! already (the ExchangeOnlineManagement module's `Connect-ExchangeOnline -AccessToken` for
//! EXO and EOP, `Connect-IPPSSession -AccessToken` for Security & Compliance), and the words
//! for what can go wrong. The token never appears here: the script reads it from the
//! environment variable [`TOKEN_ENV`] the child is started with, then removes that variable,
//! so it is neither on the command line nor on disk. Pure text; the driver spawns the process.

use super::cloud::{Cloud, Service};
use super::powershell::quote;
use super::profile::{AuthMethod, Profile};

/// The environment variable that carries the access token into the child.
pub const TOKEN_ENV: &str = "EXO_CONNECT_ACCESS_TOKEN";

/// The script's exit code when the module's `Connect-*` cmdlet is not there.
pub const MODULE_MISSING_EXIT: i32 = 3;

/// What the user is told when `pwsh` is not on PATH.
pub const PWSH_MISSING: &str = "PowerShell 7 (pwsh) is not on PATH: install PowerShell \
(https://aka.ms/powershell) and start exo-connect again, or add pwsh's folder to PATH.";

/// What the user is told when the module is missing.
pub const MODULE_MISSING: &str = "PowerShell started but the ExchangeOnlineManagement module \
is not installed (Connect-ExchangeOnline is not recognized): run `Install-Module \
ExchangeOnlineManagement -Scope CurrentUser` in pwsh, then Open in PowerShell again.";

/// The `Connect-*` cmdlet a session of this service opens in PowerShell.
pub fn connect_cmdlet(service: Service) -> &'static str {
    match service {
        // EOP's token is EXO's (its old URI redirects to EXO): the module connects it the same way.
        Service::ExchangeOnline | Service::Protection => "Connect-ExchangeOnline",
        Service::SecurityCompliance => "Connect-IPPSSession",
    }
}

/// The organization `-Organization` names: the profile's DelegatedOrganization or tenant, else
/// the domain of its account, else the session's tenant (`tid`).
pub fn organization(p: &Profile, session_tenant: &str) -> String {
    if let Some(t) = p.target_tenant() {
        return t.to_string();
    }
    match p.upn.rsplit_once('@') {
        Some((_, domain)) if !domain.trim().is_empty() => domain.trim().to_string(),
        _ => session_tenant.to_string(),
    }
}

/// The `Connect-*` line, reading the token from `$exoToken` (no token in it).
pub fn connect_line(p: &Profile, organization: &str, account: &str) -> String {
    let mut cmd = format!(
        "{} -AccessToken $exoToken -Organization {}",
        connect_cmdlet(p.service),
        quote(organization)
    );
    let app_only = matches!(p.auth, AuthMethod::Certificate { .. });
    if !app_only && !account.trim().is_empty() {
        cmd.push_str(&format!(" -UserPrincipalName {}", quote(account.trim())));
    }
    let conn = p.connection_uri.as_deref().filter(|s| !s.is_empty());
    let auth = p
        .authorization_endpoint
        .as_deref()
        .filter(|s| !s.is_empty());
    match p.service {
        Service::ExchangeOnline | Service::Protection => {
            if !matches!(p.cloud, Cloud::O365Default | Cloud::Custom) {
                cmd.push_str(&format!(" -ExchangeEnvironmentName {}", p.cloud.as_str()));
            }
            if p.service == Service::ExchangeOnline
                && let Some(c) = conn
            {
                cmd.push_str(&format!(" -ConnectionUri {}", quote(c)));
            }
        }
        Service::SecurityCompliance => {
            let derived = match p.cloud {
                Cloud::O365Default | Cloud::Custom => None,
                other => other.endpoints(p.service).map(|e| e.connection_uri),
            };
            if let Some(c) = conn.map(str::to_string).or(derived) {
                cmd.push_str(&format!(" -ConnectionUri {}", quote(&c)));
            }
        }
    }
    if let Some(a) = auth {
        cmd.push_str(&format!(" -AzureADAuthorizationEndpointUri {}", quote(a)));
    }
    cmd.push_str(" -ShowBanner:$false");
    cmd
}

/// The whole script `pwsh -NoExit -Command` runs: take the token from the environment and
/// remove it there, stop with [`MODULE_MISSING_EXIT`] when the module is missing, connect (and
/// say whether it worked), then forget the token's variable.
pub fn connect_script(p: &Profile, organization: &str, account: &str) -> String {
    let cmdlet = connect_cmdlet(p.service);
    [
        format!("$exoToken = $env:{TOKEN_ENV}"),
        format!("Remove-Item -Path Env:{TOKEN_ENV} -ErrorAction SilentlyContinue"),
        format!(
            "if (-not (Get-Command {cmdlet} -ErrorAction SilentlyContinue)) {{ \
             Write-Host '{cmdlet} is not recognized: Install-Module ExchangeOnlineManagement -Scope CurrentUser'; \
             exit {MODULE_MISSING_EXIT} }}"
        ),
        format!(
            "try {{ {} -ErrorAction Stop; Write-Host 'Connected to {} ({})' }} \
             catch {{ Write-Host \"Not connected: $($_.Exception.Message)\" }} \
             finally {{ Remove-Variable exoToken -ErrorAction SilentlyContinue }}",
            connect_line(p, organization, account),
            quote_inner(organization),
            p.service.short()
        ),
    ]
    .join("; ")
}

/// Text safe inside a single-quoted PowerShell string.
fn quote_inner(s: &str) -> String {
    let q = quote(s);
    match q.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(inner) => inner.to_string(),
        None => q,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(service: Service) -> Profile {
        Profile::new("contoso", "admin@contoso.com", service)
    }

    #[test]
    fn exo_and_eop_connect_with_connect_exchangeonline_and_scc_with_ippssession() {
        let exo = profile(Service::ExchangeOnline);
        assert_eq!(
            connect_line(&exo, "contoso.com", "admin@contoso.com"),
            "Connect-ExchangeOnline -AccessToken $exoToken -Organization contoso.com \
             -UserPrincipalName admin@contoso.com -ShowBanner:$false"
        );
        let eop = profile(Service::Protection);
        assert!(connect_line(&eop, "x", "a@x").starts_with("Connect-ExchangeOnline "));
        let mut scc = profile(Service::SecurityCompliance);
        scc.cloud = Cloud::O365USGovGCCHigh;
        let line = connect_line(&scc, "contoso.us", "admin@contoso.us");
        assert!(line.starts_with("Connect-IPPSSession -AccessToken $exoToken"));
        assert!(line.contains(
            "-ConnectionUri https://ps.compliance.protection.office365.us/powershell-liveid/"
        ));
    }

    #[test]
    fn the_organization_is_the_tenant_then_the_account_domain_then_the_tid() {
        let mut p = profile(Service::ExchangeOnline);
        assert_eq!(organization(&p, "tid"), "contoso.com");
        p.delegated_organization = Some("fabrikam.onmicrosoft.com".into());
        assert_eq!(organization(&p, "tid"), "fabrikam.onmicrosoft.com");
        let mut q = profile(Service::ExchangeOnline);
        q.upn = String::new();
        assert_eq!(organization(&q, "tid"), "tid");
    }

    #[test]
    fn the_script_reads_and_removes_the_variable_and_quotes_values() {
        let mut p = profile(Service::ExchangeOnline);
        p.cloud = Cloud::O365USGovDoD;
        let s = connect_script(&p, "o'brien.com", "admin@contoso.com");
        assert!(s.starts_with("$exoToken = $env:EXO_CONNECT_ACCESS_TOKEN; Remove-Item"));
        assert!(s.contains("-Organization 'o''brien.com'"));
        assert!(s.contains("-ExchangeEnvironmentName O365USGovDoD"));
        assert!(s.contains("exit 3"));
        assert!(s.contains(
            "-ShowBanner:$false -ErrorAction Stop; Write-Host 'Connected to o''brien.com (EXO)'"
        ));
        assert!(s.contains("finally { Remove-Variable exoToken"));
    }
}
