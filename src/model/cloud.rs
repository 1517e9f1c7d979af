//! Services and clouds, and the endpoint table of the reference page §4 and the seeds.

use serde::{Deserialize, Serialize};

/// The admin service a profile connects to (one saved `Connect-*` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Service {
    /// Exchange Online (`Connect-ExchangeOnline`).
    ExchangeOnline,
    /// Standalone Exchange Online Protection (`Connect-IPPSSession -ConnectionUri https://ps.protection...`).
    Protection,
    /// Security & Compliance (`Connect-IPPSSession`).
    SecurityCompliance,
}

impl Service {
    pub const ALL: [Service; 3] = [
        Service::ExchangeOnline,
        Service::Protection,
        Service::SecurityCompliance,
    ];

    /// Short badge: EXO, EOP, SCC.
    pub fn short(self) -> &'static str {
        match self {
            Service::ExchangeOnline => "EXO",
            Service::Protection => "EOP",
            Service::SecurityCompliance => "SCC",
        }
    }
}

/// `ExchangeEnvironmentName` values, plus Custom (explicit ConnectionUri + authorization endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cloud {
    O365Default,
    O365USGovGCCHigh,
    O365USGovDoD,
    O365China,
    O365GermanyCloud,
    Custom,
}

impl Cloud {
    pub const ALL: [Cloud; 6] = [
        Cloud::O365Default,
        Cloud::O365USGovGCCHigh,
        Cloud::O365USGovDoD,
        Cloud::O365China,
        Cloud::O365GermanyCloud,
        Cloud::Custom,
    ];

    /// The PowerShell spelling (`-ExchangeEnvironmentName` value).
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::O365Default => "O365Default",
            Cloud::O365USGovGCCHigh => "O365USGovGCCHigh",
            Cloud::O365USGovDoD => "O365USGovDoD",
            Cloud::O365China => "O365China",
            Cloud::O365GermanyCloud => "O365GermanyCloud",
            Cloud::Custom => "Custom",
        }
    }

    /// Sign-in host root (no path): e.g. `https://login.microsoftonline.com`. None for Custom.
    pub fn login_host(self) -> Option<&'static str> {
        match self {
            Cloud::O365Default => Some("https://login.microsoftonline.com"),
            Cloud::O365USGovGCCHigh | Cloud::O365USGovDoD => {
                Some("https://login.microsoftonline.us")
            }
            Cloud::O365China => Some("https://login.chinacloudapi.cn"),
            Cloud::O365GermanyCloud => Some("https://login.microsoftonline.de"),
            Cloud::Custom => None,
        }
    }

    /// Endpoints this cloud implies for a service (None for Custom: the profile must give URIs).
    pub fn endpoints(self, service: Service) -> Option<Endpoints> {
        use Cloud::*;
        use Service::*;
        let login = self.login_host()?;
        // (legacy ConnectionUri, REST base, token resource)
        let (connection_uri, rest_base, resource): (&str, &str, &str) = match (self, service) {
            (O365Default, ExchangeOnline) => (
                "https://outlook.office365.com/powershell-liveid/",
                "https://outlook.office365.com",
                "https://outlook.office365.com",
            ),
            (O365Default, Protection) => (
                "https://ps.protection.outlook.com/powershell-liveid/",
                // The old EOP URI redirects to EXO since 2020: REST and token are EXO's.
                "https://outlook.office365.com",
                "https://outlook.office365.com",
            ),
            (O365Default, SecurityCompliance) => (
                "https://ps.compliance.protection.outlook.com/powershell-liveid/",
                "https://ps.compliance.protection.outlook.com",
                "https://ps.compliance.protection.outlook.com",
            ),
            (O365USGovGCCHigh, ExchangeOnline) | (O365USGovGCCHigh, Protection) => (
                "https://outlook.office365.us/powershell-liveid",
                "https://outlook.office365.us",
                "https://outlook.office365.us",
            ),
            (O365USGovGCCHigh, SecurityCompliance) => (
                "https://ps.compliance.protection.office365.us/powershell-liveid/",
                "https://ps.compliance.protection.office365.us",
                "https://ps.compliance.protection.office365.us",
            ),
            (O365USGovDoD, ExchangeOnline) | (O365USGovDoD, Protection) => (
                "https://webmail.apps.mil/powershell-liveid",
                "https://outlook-dod.office365.us",
                "https://outlook-dod.office365.us",
            ),
            (O365USGovDoD, SecurityCompliance) => (
                "https://l5.ps.compliance.protection.office365.us/powershell-liveid/",
                "https://l5.ps.compliance.protection.office365.us",
                // The token resource is the SCC resource without `l5.`.
                "https://ps.compliance.protection.office365.us",
            ),
            (O365China, ExchangeOnline) | (O365China, Protection) => (
                "https://partner.outlook.cn/PowerShell",
                "https://partner.outlook.cn",
                "https://partner.outlook.cn",
            ),
            (O365China, SecurityCompliance) => (
                "https://ps.compliance.protection.partner.outlook.cn/powershell-liveid",
                "https://ps.compliance.protection.partner.outlook.cn",
                "https://ps.compliance.protection.partner.outlook.cn",
            ),
            (O365GermanyCloud, ExchangeOnline) => (
                "https://outlook.office.de/powershell-liveid/",
                "https://outlook.office.de",
                "https://outlook.office.de",
            ),
            (O365GermanyCloud, Protection) => (
                "https://ps.protection.outlook.de/powershell-liveid/",
                "https://outlook.office.de",
                "https://outlook.office.de",
            ),
            (O365GermanyCloud, SecurityCompliance) => (
                "https://ps.compliance.protection.outlook.de/PowerShell-LiveID",
                "https://ps.compliance.protection.outlook.de",
                "https://ps.compliance.protection.outlook.de",
            ),
            (Custom, _) => return None,
        };
        Some(Endpoints {
            connection_uri: connection_uri.to_string(),
            rest_base: rest_base.to_string(),
            token_resource: resource.to_string(),
            authority: format!("{login}/organizations"),
        })
    }

    /// The name a picker shows: what the cloud is, then its PowerShell spelling.
    pub fn friendly(self) -> &'static str {
        match self {
            Cloud::O365Default => "Worldwide (O365Default)",
            Cloud::O365USGovGCCHigh => "US Government GCC High (O365USGovGCCHigh)",
            Cloud::O365USGovDoD => "US Government DoD (O365USGovDoD)",
            Cloud::O365China => "China, operated by 21Vianet (O365China)",
            Cloud::O365GermanyCloud => "Germany, retired (O365GermanyCloud)",
            Cloud::Custom => "Custom endpoints",
        }
    }

    /// The clouds a picker offers for a profile now on `current`: the retired Germany cloud
    /// only to a profile that already uses it.
    pub fn offered(current: Cloud) -> Vec<Cloud> {
        Cloud::ALL
            .into_iter()
            .filter(|c| *c != Cloud::O365GermanyCloud || current == Cloud::O365GermanyCloud)
            .collect()
    }

    /// Germany is retired: still selectable, with this warning.
    pub fn retirement_warning(self) -> Option<&'static str> {
        match self {
            Cloud::O365GermanyCloud => Some(
                "Office 365 Germany (Microsoft Cloud Deutschland) is retired; tenants were moved to the worldwide cloud (O365Default).",
            ),
            _ => None,
        }
    }
}

/// The endpoints a profile resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Legacy remote PowerShell ConnectionUri (what `-ConnectionUri` names).
    pub connection_uri: String,
    /// Origin of the REST admin API: `<rest_base>/adminapi/beta/<tenant>/InvokeCommand`.
    pub rest_base: String,
    /// Token resource; the scope is `<token_resource>/.default`.
    pub token_resource: String,
    /// Sign-in authority, e.g. `https://login.microsoftonline.com/organizations`.
    /// OAuth endpoints hang below it: `<authority>/oauth2/v2.0/{token,devicecode,authorize}`.
    pub authority: String,
}

impl Endpoints {
    pub fn scope(&self) -> String {
        format!("{}/.default", self.token_resource.trim_end_matches('/'))
    }
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority.trim_end_matches('/'))
    }
    pub fn devicecode_url(&self) -> String {
        format!(
            "{}/oauth2/v2.0/devicecode",
            self.authority.trim_end_matches('/')
        )
    }
    pub fn authorize_url(&self) -> String {
        format!(
            "{}/oauth2/v2.0/authorize",
            self.authority.trim_end_matches('/')
        )
    }
    pub fn invoke_command_url(&self, tenant: &str) -> String {
        format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            self.rest_base.trim_end_matches('/'),
            tenant
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Cloud;

    #[test]
    fn germany_is_offered_only_to_a_profile_that_uses_it() {
        assert!(!Cloud::offered(Cloud::O365Default).contains(&Cloud::O365GermanyCloud));
        assert_eq!(Cloud::offered(Cloud::O365Default).len(), 5);
        assert!(Cloud::offered(Cloud::O365GermanyCloud).contains(&Cloud::O365GermanyCloud));
        for c in Cloud::ALL {
            assert!(c == Cloud::Custom || c.friendly().contains(c.as_str()));
        }
    }
}
