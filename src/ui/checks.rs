//! Validation messages and the PowerShell preview for the editor: thin wrappers over
//! `model::validate` and `model::powershell`, keyed the way the editor lays out its fields.

use crate::model::Profile;
use crate::model::validate::{self, Issue, Severity};

/// Field keys (the model's issue field paths) the editor shows messages beside.
pub mod field {
    pub const NAME: &str = "name";
    pub const UPN: &str = "upn";
    pub const CLOUD: &str = "cloud";
    pub const COLOR: &str = "color";
    pub const CONNECTION_URI: &str = "connection_uri";
    pub const AUTHORIZATION_ENDPOINT: &str = "authorization_endpoint";
    pub const TENANT: &str = "tenant";
    pub const DELEGATED_ORGANIZATION: &str = "delegated_organization";
    pub const AUTH: &str = "auth";
    pub const APP_ID: &str = "auth.app_id";
    pub const CERTIFICATE: &str = "auth.certificate";
    pub const THUMBPRINT: &str = "auth.thumbprint";
    pub const ORGANIZATION: &str = "auth.organization";
    pub const PROXY_ACCESS_TYPE: &str = "proxy.access_type";
    pub const PROXY_USER: &str = "proxy.user";
    pub const PAGE_SIZE: &str = "page_size";
}

/// Every issue (errors and warnings) of `p`; `others` are the saved profiles (name uniqueness).
pub fn issues(p: &Profile, others: &[Profile]) -> Vec<Issue> {
    validate::validate(p, others)
}

/// True when nothing blocks saving (warnings do not).
pub fn savable(issues: &[Issue]) -> bool {
    !validate::has_errors(issues)
}

pub fn is_error(i: &Issue) -> bool {
    i.severity == Severity::Error
}

/// The `Connect-*` line(s) an admin would type for this profile (read-only preview).
pub fn powershell_preview(p: &Profile) -> String {
    crate::model::powershell::preview(p, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    #[test]
    fn bad_upn_is_an_error_on_the_upn_field() {
        let p = Profile::new("Contoso", "admin-at-contoso", Service::ExchangeOnline);
        let is = issues(&p, &[]);
        assert!(is.iter().any(|i| i.field == field::UPN && is_error(i)));
        assert!(!savable(&is));
        let ok = Profile::new("Contoso", "admin@contoso.com", Service::ExchangeOnline);
        assert!(savable(&issues(&ok, &[])));
    }
}
