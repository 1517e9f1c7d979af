//! Endpoint table (reference page §4, seeds 000/001/003) and one test per validation rule.

use exo_connect::model::validate::{Severity, validate};
use exo_connect::model::{
    AuthMethod, Cloud, Profile, ProxyAccessType, ProxyAuthentication, Service,
};

use Cloud::*;
use Service::*;

/// (cloud, service, legacy ConnectionUri, REST base, token resource, authority) — typed from the
/// reference page §4 and seeds 000/001 (EOP), not copied from the code.
const TABLE: &[(Cloud, Service, &str, &str, &str, &str)] = &[
    (
        O365Default,
        ExchangeOnline,
        "https://outlook.office365.com/powershell-liveid/",
        "https://outlook.office365.com",
        "https://outlook.office365.com",
        "https://login.microsoftonline.com/organizations",
    ),
    (
        O365Default,
        Protection,
        "https://ps.protection.outlook.com/powershell-liveid/",
        "https://outlook.office365.com",
        "https://outlook.office365.com",
        "https://login.microsoftonline.com/organizations",
    ),
    (
        O365Default,
        SecurityCompliance,
        "https://ps.compliance.protection.outlook.com/powershell-liveid/",
        "https://ps.compliance.protection.outlook.com",
        "https://ps.compliance.protection.outlook.com",
        "https://login.microsoftonline.com/organizations",
    ),
    (
        O365USGovGCCHigh,
        ExchangeOnline,
        "https://outlook.office365.us/powershell-liveid",
        "https://outlook.office365.us",
        "https://outlook.office365.us",
        "https://login.microsoftonline.us/organizations",
    ),
    (
        O365USGovGCCHigh,
        Protection,
        "https://outlook.office365.us/powershell-liveid",
        "https://outlook.office365.us",
        "https://outlook.office365.us",
        "https://login.microsoftonline.us/organizations",
    ),
    (
        O365USGovGCCHigh,
        SecurityCompliance,
        "https://ps.compliance.protection.office365.us/powershell-liveid/",
        "https://ps.compliance.protection.office365.us",
        "https://ps.compliance.protection.office365.us",
        "https://login.microsoftonline.us/organizations",
    ),
    (
        O365USGovDoD,
        ExchangeOnline,
        "https://webmail.apps.mil/powershell-liveid",
        "https://outlook-dod.office365.us",
        "https://outlook-dod.office365.us",
        "https://login.microsoftonline.us/organizations",
    ),
    (
        O365USGovDoD,
        Protection,
        "https://webmail.apps.mil/powershell-liveid",
        "https://outlook-dod.office365.us",
        "https://outlook-dod.office365.us",
        "https://login.microsoftonline.us/organizations",
    ),
    (
        O365USGovDoD,
        SecurityCompliance,
        "https://l5.ps.compliance.protection.office365.us/powershell-liveid/",
        "https://l5.ps.compliance.protection.office365.us",
        "https://ps.compliance.protection.office365.us",
        "https://login.microsoftonline.us/organizations",
    ),
    (
        O365China,
        ExchangeOnline,
        "https://partner.outlook.cn/PowerShell",
        "https://partner.outlook.cn",
        "https://partner.outlook.cn",
        "https://login.chinacloudapi.cn/organizations",
    ),
    (
        O365China,
        Protection,
        "https://partner.outlook.cn/PowerShell",
        "https://partner.outlook.cn",
        "https://partner.outlook.cn",
        "https://login.chinacloudapi.cn/organizations",
    ),
    (
        O365China,
        SecurityCompliance,
        "https://ps.compliance.protection.partner.outlook.cn/powershell-liveid",
        "https://ps.compliance.protection.partner.outlook.cn",
        "https://ps.compliance.protection.partner.outlook.cn",
        "https://login.chinacloudapi.cn/organizations",
    ),
    (
        O365GermanyCloud,
        ExchangeOnline,
        "https://outlook.office.de/powershell-liveid/",
        "https://outlook.office.de",
        "https://outlook.office.de",
        "https://login.microsoftonline.de/organizations",
    ),
    (
        O365GermanyCloud,
        Protection,
        "https://ps.protection.outlook.de/powershell-liveid/",
        "https://outlook.office.de",
        "https://outlook.office.de",
        "https://login.microsoftonline.de/organizations",
    ),
    (
        O365GermanyCloud,
        SecurityCompliance,
        "https://ps.compliance.protection.outlook.de/PowerShell-LiveID",
        "https://ps.compliance.protection.outlook.de",
        "https://ps.compliance.protection.outlook.de",
        "https://login.microsoftonline.de/organizations",
    ),
];

#[test]
fn endpoint_table_every_cloud_and_service() {
    assert_eq!(TABLE.len(), 15);
    for &(cloud, service, conn, rest, resource, authority) in TABLE {
        let e = cloud
            .endpoints(service)
            .unwrap_or_else(|| panic!("{cloud:?}/{service:?}"));
        let ctx = format!("{cloud:?}/{service:?}");
        assert_eq!(e.connection_uri, conn, "{ctx}");
        assert_eq!(e.rest_base, rest, "{ctx}");
        assert_eq!(e.token_resource, resource, "{ctx}");
        assert_eq!(e.authority, authority, "{ctx}");
        assert_eq!(e.scope(), format!("{resource}/.default"), "{ctx}");
        assert_eq!(e.token_url(), format!("{authority}/oauth2/v2.0/token"));
        assert_eq!(
            e.devicecode_url(),
            format!("{authority}/oauth2/v2.0/devicecode")
        );
        assert_eq!(
            e.authorize_url(),
            format!("{authority}/oauth2/v2.0/authorize")
        );
        // A profile without overrides resolves to exactly the table.
        let mut p = Profile::new("p", "admin@contoso.com", service);
        p.cloud = cloud;
        assert_eq!(p.effective_endpoints(), Some(e), "{ctx}");
    }
    for s in Service::ALL {
        assert_eq!(Custom.endpoints(s), None);
    }
}

#[test]
fn scc_scope_is_the_reference_scope() {
    let e = O365Default.endpoints(SecurityCompliance).unwrap();
    assert_eq!(
        e.scope(),
        "https://ps.compliance.protection.outlook.com/.default"
    );
    let e = O365Default.endpoints(ExchangeOnline).unwrap();
    assert_eq!(e.scope(), "https://outlook.office365.com/.default");
    assert_eq!(
        e.invoke_command_url("contoso.onmicrosoft.com"),
        "https://outlook.office365.com/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand"
    );
}

#[test]
fn overrides_derive_rest_base_from_the_connection_uri_origin() {
    let mut p = Profile::new("sim", "admin@contoso.com", ExchangeOnline);
    p.cloud = Custom;
    assert_eq!(p.effective_endpoints(), None);
    p.connection_uri = Some("http://127.0.0.1:4711/powershell-liveid/".into());
    p.authorization_endpoint = Some("http://127.0.0.1:4712/organizations/".into());
    let e = p.effective_endpoints().unwrap();
    assert_eq!(e.rest_base, "http://127.0.0.1:4711");
    assert_eq!(e.token_resource, "http://127.0.0.1:4711");
    assert_eq!(e.authority, "http://127.0.0.1:4712/organizations");
    assert_eq!(
        e.token_url(),
        "http://127.0.0.1:4712/organizations/oauth2/v2.0/token"
    );
    assert!(validate(&p, &[]).is_empty(), "{:?}", validate(&p, &[]));
    // Only the authority overridden: the cloud's service endpoints stay.
    let mut q = Profile::new("q", "admin@contoso.com", SecurityCompliance);
    q.authorization_endpoint =
        Some("https://login.microsoftonline.com/contoso.onmicrosoft.com".into());
    let e = q.effective_endpoints().unwrap();
    assert_eq!(e.rest_base, "https://ps.compliance.protection.outlook.com");
    assert_eq!(
        e.authority,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    );
}

#[test]
fn target_tenant_prefers_delegated_org() {
    let mut p = Profile::new("p", "admin@contoso.com", ExchangeOnline);
    assert_eq!(p.target_tenant(), None);
    p.tenant = Some("contoso.onmicrosoft.com".into());
    assert_eq!(p.target_tenant(), Some("contoso.onmicrosoft.com"));
    p.delegated_organization = Some("fabrikam.onmicrosoft.com".into());
    assert_eq!(p.target_tenant(), Some("fabrikam.onmicrosoft.com"));
}

// ---- validation: one test per rule, each with the bad value ----

fn good() -> Profile {
    Profile::new("Contoso", "admin@contoso.onmicrosoft.com", ExchangeOnline)
}

/// The errors of `p` as (field, message).
fn errors(p: &Profile, others: &[Profile]) -> Vec<(String, String)> {
    validate(p, others)
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| (i.field.to_string(), i.message))
        .collect()
}

fn warnings(p: &Profile) -> Vec<(String, String)> {
    validate(p, &[])
        .into_iter()
        .filter(|i| i.severity == Severity::Warning)
        .map(|i| (i.field.to_string(), i.message))
        .collect()
}

/// Exactly one error, on `field`, whose message mentions `needle`.
fn assert_one_error(p: &Profile, others: &[Profile], field: &str, needle: &str) {
    let e = errors(p, others);
    assert_eq!(e.len(), 1, "expected one error on {field}, got {e:?}");
    assert_eq!(e[0].0, field, "{e:?}");
    assert!(e[0].1.contains(needle), "{:?} lacks {needle:?}", e[0].1);
}

#[test]
fn good_profile_has_no_issues() {
    assert!(validate(&good(), &[]).is_empty());
}

#[test]
fn name_must_not_be_empty() {
    let mut p = good();
    p.name = "   ".into();
    assert_one_error(&p, &[], "name", "Name is empty");
}

#[test]
fn name_must_be_unique_case_insensitively() {
    let other = good();
    let mut p = good();
    p.name = "CONTOSO".into();
    assert_one_error(&p, std::slice::from_ref(&other), "name", "already used");
    // The same profile (same id) is not a duplicate of itself.
    assert!(errors(&other, std::slice::from_ref(&other)).is_empty());
}

#[test]
fn upn_must_have_user_at_domain_shape() {
    for bad in [
        "admin",
        "admin@",
        "@contoso.com",
        "ad min@contoso.com",
        "admin@contoso",
    ] {
        let mut p = good();
        p.upn = bad.into();
        assert_one_error(&p, &[], "upn", bad);
    }
    let mut p = good();
    p.upn = String::new();
    assert_one_error(&p, &[], "upn", "UPN is empty");
}

#[test]
fn connection_uri_must_parse() {
    let mut p = good();
    p.connection_uri = Some("outlook.office365.com/powershell".into());
    assert_one_error(&p, &[], "connection_uri", "not a valid URL");
}

#[test]
fn connection_uri_must_use_https_except_loopback() {
    let mut p = good();
    p.connection_uri = Some("http://outlook.office365.com/powershell-liveid/".into());
    assert_one_error(&p, &[], "connection_uri", "use https");
    for ok in [
        "http://127.0.0.1:8080/powershell-liveid/",
        "http://127.8.9.10/x",
        "http://[::1]:9000/",
        "http://localhost:1234/",
    ] {
        p.connection_uri = Some(ok.into());
        assert!(errors(&p, &[]).is_empty(), "{ok}: {:?}", errors(&p, &[]));
    }
    p.connection_uri = Some("ftp://outlook.office365.com/".into());
    assert_one_error(&p, &[], "connection_uri", "ftp");
}

#[test]
fn authorization_endpoint_must_use_https() {
    let mut p = good();
    p.authorization_endpoint = Some("http://login.microsoftonline.com/organizations".into());
    assert_one_error(&p, &[], "authorization_endpoint", "use https");
    p.authorization_endpoint = Some("not a url".into());
    assert_one_error(&p, &[], "authorization_endpoint", "not a valid URL");
}

#[test]
fn custom_cloud_needs_both_uris() {
    let mut p = good();
    p.cloud = Custom;
    let e = errors(&p, &[]);
    let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        ["connection_uri", "authorization_endpoint"],
        "{e:?}"
    );
    p.connection_uri = Some("https://exchange.contoso.com/powershell/".into());
    assert_one_error(
        &p,
        &[],
        "authorization_endpoint",
        "required for the Custom cloud",
    );
}

#[test]
fn delegated_org_must_be_domain_or_guid() {
    let mut p = good();
    p.delegated_organization = Some("fabrikam".into());
    assert_one_error(&p, &[], "delegated_organization", "fabrikam");
    p.delegated_organization = Some("2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10".into());
    assert!(errors(&p, &[]).is_empty());
}

#[test]
fn tenant_must_be_domain_or_guid() {
    let mut p = good();
    p.tenant = Some("not a tenant".into());
    assert_one_error(&p, &[], "tenant", "not a tenant");
    p.tenant = Some("contoso.onmicrosoft.com".into());
    assert!(errors(&p, &[]).is_empty());
}

#[test]
fn page_size_must_be_1_to_1000() {
    for bad in [0, 1001, 50_000] {
        let mut p = good();
        p.page_size = bad;
        assert_one_error(&p, &[], "page_size", &bad.to_string());
    }
    let mut p = good();
    p.page_size = 1;
    assert!(errors(&p, &[]).is_empty());
}

#[test]
fn colour_must_be_hex() {
    for bad in ["red", "#12345", "#12345g", "123456"] {
        let mut p = good();
        p.color = Some(bad.into());
        assert_one_error(&p, &[], "color", bad);
    }
}

fn cert(app: &str, path: Option<&str>, thumb: Option<&str>, org: &str) -> Profile {
    let mut p = good();
    p.auth = AuthMethod::Certificate {
        app_id: app.into(),
        certificate_path: path.map(Into::into),
        thumbprint: thumb.map(Into::into),
        organization: org.into(),
    };
    p
}

const APP: &str = "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10";
const THUMB: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

#[test]
fn certificate_needs_guid_app_id() {
    let p = cert(
        "my-app",
        Some("/certs/app.pfx"),
        None,
        "contoso.onmicrosoft.com",
    );
    assert_one_error(&p, &[], "auth.app_id", "my-app");
}

#[test]
fn certificate_needs_path_xor_thumbprint() {
    let p = cert(APP, None, None, "contoso.onmicrosoft.com");
    assert_one_error(&p, &[], "auth.certificate", "missing");
    let p = cert(APP, Some("/c.pfx"), Some(THUMB), "contoso.onmicrosoft.com");
    assert_one_error(&p, &[], "auth.certificate", "not both");
    let p = cert(APP, None, Some("abc"), "contoso.onmicrosoft.com");
    assert_one_error(&p, &[], "auth.thumbprint", "40 hexadecimal");
    let p = cert(APP, None, Some(THUMB), "contoso.onmicrosoft.com");
    assert!(errors(&p, &[]).is_empty());
}

#[test]
fn certificate_needs_organization_domain() {
    let p = cert(APP, Some("/c.pfx"), None, "contoso");
    assert_one_error(&p, &[], "auth.organization", "contoso");
    // App-only sign-in needs no UPN.
    let mut p = cert(APP, Some("/c.pfx"), None, "contoso.onmicrosoft.com");
    p.upn.clear();
    assert!(errors(&p, &[]).is_empty());
}

#[test]
fn warning_gcc_high_uri_with_worldwide_authority() {
    let mut p = good();
    p.connection_uri = Some("https://outlook.office365.us/powershell-liveid".into());
    p.authorization_endpoint = Some("https://login.microsoftonline.com/organizations".into());
    assert!(errors(&p, &[]).is_empty());
    let w = warnings(&p);
    assert!(
        w.iter().any(|(f, m)| f == "authorization_endpoint"
            && m.contains("US Government")
            && m.contains("worldwide")),
        "{w:?}"
    );
}

#[test]
fn warning_connection_uri_in_another_cloud() {
    let mut p = good();
    p.cloud = O365USGovGCCHigh;
    p.connection_uri = Some("https://outlook.office365.com/powershell-liveid/".into());
    let w = warnings(&p);
    assert!(
        w.iter()
            .any(|(f, m)| f == "connection_uri" && m.contains("O365USGovGCCHigh")),
        "{w:?}"
    );
}

#[test]
fn warning_scc_uri_for_exo_service() {
    let mut p = good();
    p.connection_uri =
        Some("https://ps.compliance.protection.outlook.com/powershell-liveid/".into());
    let w = warnings(&p);
    assert!(
        w.iter()
            .any(|(f, m)| f == "connection_uri" && m.contains("Security & Compliance")),
        "{w:?}"
    );
}

#[test]
fn warning_germany_retired() {
    let mut p = good();
    p.cloud = O365GermanyCloud;
    assert!(errors(&p, &[]).is_empty());
    let w = warnings(&p);
    assert!(
        w.iter().any(|(f, m)| f == "cloud" && m.contains("retired")),
        "{w:?}"
    );
}

#[test]
fn warning_proxy_extras_with_no_proxy_server() {
    let mut p = good();
    p.proxy.access_type = ProxyAccessType::NoProxyServer;
    p.proxy.authentication = Some(ProxyAuthentication::Basic);
    p.proxy.user = Some("bob".into());
    assert!(errors(&p, &[]).is_empty());
    let w = warnings(&p);
    assert!(
        w.iter()
            .any(|(f, m)| f == "proxy.access_type" && m.contains("NoProxyServer")),
        "{w:?}"
    );
    p.proxy.access_type = ProxyAccessType::IEConfig;
    assert!(warnings(&p).is_empty());
}

#[test]
fn messages_name_the_field_in_display() {
    let mut p = good();
    p.page_size = 0;
    let issue = &validate(&p, &[])[0];
    assert_eq!(
        issue.to_string().split(':').nth(1).map(str::trim),
        Some("page_size")
    );
}

#[test]
fn warning_authority_without_tenant_segment() {
    let mut p = good();
    p.authorization_endpoint = Some("https://login.microsoftonline.com/".into());
    assert!(errors(&p, &[]).is_empty());
    let w = warnings(&p);
    assert!(
        w.iter()
            .any(|(f, m)| f == "authorization_endpoint" && m.contains("no tenant part")),
        "{w:?}"
    );
    p.authorization_endpoint = Some("https://login.microsoftonline.com/organizations".into());
    assert!(warnings(&p).is_empty());
}
