//! PowerShell preview golden tests: every cloud × service, the options, quoting edge cases.

use exo_connect::model::powershell::{legacy_lines, preview, preview_lines, quote};
use exo_connect::model::{
    AuthMethod, Cloud, Profile, ProxyAccessType, ProxyAuthentication, Service,
};

use Cloud::*;
use Service::*;

fn profile(cloud: Cloud, service: Service) -> Profile {
    let mut p = Profile::new("p", "admin@contoso.com", service);
    p.cloud = cloud;
    p.auth = AuthMethod::Browser;
    p
}

#[test]
fn golden_every_cloud_and_service() {
    let u = "Connect-ExchangeOnline -UserPrincipalName admin@contoso.com";
    let i = "Connect-IPPSSession -UserPrincipalName admin@contoso.com";
    let cases: &[(Cloud, Service, String)] = &[
        (O365Default, ExchangeOnline, u.to_string()),
        (
            O365Default,
            Protection,
            format!("{i} -ConnectionUri https://ps.protection.outlook.com/powershell-liveid/"),
        ),
        (O365Default, SecurityCompliance, i.to_string()),
        (
            O365USGovGCCHigh,
            ExchangeOnline,
            format!("{u} -ExchangeEnvironmentName O365USGovGCCHigh"),
        ),
        (
            O365USGovGCCHigh,
            Protection,
            format!(
                "{i} -ConnectionUri https://outlook.office365.us/powershell-liveid -AzureADAuthorizationEndpointUri https://login.microsoftonline.us/common"
            ),
        ),
        (
            O365USGovGCCHigh,
            SecurityCompliance,
            format!(
                "{i} -ConnectionUri https://ps.compliance.protection.office365.us/powershell-liveid/ -AzureADAuthorizationEndpointUri https://login.microsoftonline.us/common"
            ),
        ),
        (
            O365USGovDoD,
            ExchangeOnline,
            format!("{u} -ExchangeEnvironmentName O365USGovDoD"),
        ),
        (
            O365USGovDoD,
            Protection,
            format!(
                "{i} -ConnectionUri https://webmail.apps.mil/powershell-liveid -AzureADAuthorizationEndpointUri https://login.microsoftonline.us/common"
            ),
        ),
        (
            O365USGovDoD,
            SecurityCompliance,
            format!(
                "{i} -ConnectionUri https://l5.ps.compliance.protection.office365.us/powershell-liveid/ -AzureADAuthorizationEndpointUri https://login.microsoftonline.us/common"
            ),
        ),
        (
            O365China,
            ExchangeOnline,
            format!("{u} -ExchangeEnvironmentName O365China"),
        ),
        (
            O365China,
            Protection,
            format!(
                "{i} -ConnectionUri https://partner.outlook.cn/PowerShell -AzureADAuthorizationEndpointUri https://login.chinacloudapi.cn/common"
            ),
        ),
        (
            O365China,
            SecurityCompliance,
            format!(
                "{i} -ConnectionUri https://ps.compliance.protection.partner.outlook.cn/powershell-liveid -AzureADAuthorizationEndpointUri https://login.chinacloudapi.cn/common"
            ),
        ),
        (
            O365GermanyCloud,
            ExchangeOnline,
            format!("{u} -ExchangeEnvironmentName O365GermanyCloud"),
        ),
        (
            O365GermanyCloud,
            Protection,
            format!(
                "{i} -ConnectionUri https://ps.protection.outlook.de/powershell-liveid/ -AzureADAuthorizationEndpointUri https://login.microsoftonline.de/common"
            ),
        ),
        // seed 003, Office 365 Germany example
        (
            O365GermanyCloud,
            SecurityCompliance,
            format!(
                "{i} -ConnectionUri https://ps.compliance.protection.outlook.de/PowerShell-LiveID -AzureADAuthorizationEndpointUri https://login.microsoftonline.de/common"
            ),
        ),
    ];
    assert_eq!(cases.len(), 15);
    for (cloud, service, want) in cases {
        let p = profile(*cloud, *service);
        assert_eq!(preview(&p, false), *want, "{cloud:?}/{service:?}");
    }
}

#[test]
fn custom_cloud_passes_both_uris() {
    for (service, cmd) in [
        (ExchangeOnline, "Connect-ExchangeOnline"),
        (Protection, "Connect-IPPSSession"),
        (SecurityCompliance, "Connect-IPPSSession"),
    ] {
        let mut p = profile(Custom, service);
        p.connection_uri = Some("https://exchange.contoso.com/powershell-liveid/".into());
        p.authorization_endpoint = Some("https://login.contoso.com/organizations".into());
        assert_eq!(
            preview(&p, false),
            format!(
                "{cmd} -UserPrincipalName admin@contoso.com -ConnectionUri https://exchange.contoso.com/powershell-liveid/ -AzureADAuthorizationEndpointUri https://login.contoso.com/organizations"
            )
        );
    }
}

#[test]
fn overrides_win_over_the_cloud() {
    let mut p = profile(O365USGovGCCHigh, SecurityCompliance);
    p.connection_uri =
        Some("https://nam12b.ps.compliance.protection.office365.us/powershell-liveid/".into());
    assert_eq!(
        preview(&p, false),
        "Connect-IPPSSession -UserPrincipalName admin@contoso.com -ConnectionUri https://nam12b.ps.compliance.protection.office365.us/powershell-liveid/ -AzureADAuthorizationEndpointUri https://login.microsoftonline.us/common"
    );
    let mut p = profile(O365Default, ExchangeOnline);
    p.authorization_endpoint =
        Some("https://login.microsoftonline.com/contoso.onmicrosoft.com".into());
    assert_eq!(
        preview(&p, false),
        "Connect-ExchangeOnline -UserPrincipalName admin@contoso.com -AzureADAuthorizationEndpointUri https://login.microsoftonline.com/contoso.onmicrosoft.com"
    );
}

#[test]
fn proxy_delegated_org_and_device_code() {
    let mut p = profile(O365Default, ExchangeOnline);
    p.auth = AuthMethod::DeviceCode;
    p.delegated_organization = Some("fabrikam.onmicrosoft.com".into());
    p.proxy.access_type = ProxyAccessType::WinHttpConfig;
    p.proxy.authentication = Some(ProxyAuthentication::Negotiate);
    assert_eq!(
        preview_lines(&p),
        vec![
            "$ProxyOptions = New-PSSessionOption -ProxyAccessType WinHttpConfig -ProxyAuthentication Negotiate".to_string(),
            "Connect-ExchangeOnline -UserPrincipalName admin@contoso.com -DelegatedOrganization fabrikam.onmicrosoft.com -Device -PSSessionOption $ProxyOptions".to_string(),
        ]
    );
    p.proxy.user = Some("CORP\\o'brien".into());
    assert_eq!(
        preview_lines(&p)[0],
        "$ProxyOptions = New-PSSessionOption -ProxyAccessType WinHttpConfig -ProxyAuthentication Negotiate -ProxyCredential (Get-Credential 'CORP\\o''brien')"
    );
}

#[test]
fn no_proxy_line_for_none_and_no_credentials_for_no_proxy_server() {
    let mut p = profile(O365Default, ExchangeOnline);
    p.proxy.authentication = Some(ProxyAuthentication::Basic);
    assert_eq!(preview_lines(&p).len(), 1);
    p.proxy.access_type = ProxyAccessType::NoProxyServer;
    p.proxy.user = Some("bob".into());
    assert_eq!(
        preview_lines(&p)[0],
        "$ProxyOptions = New-PSSessionOption -ProxyAccessType NoProxyServer"
    );
}

#[test]
fn certificate_app_only() {
    let mut p = profile(O365USGovDoD, ExchangeOnline);
    p.upn.clear();
    p.auth = AuthMethod::Certificate {
        app_id: "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10".into(),
        certificate_path: Some("C:\\Certs\\exo app.pfx".into()),
        thumbprint: None,
        organization: "contoso.onmicrosoft.com".into(),
    };
    assert_eq!(
        preview(&p, false),
        "Connect-ExchangeOnline -AppId 2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10 -CertificateFilePath 'C:\\Certs\\exo app.pfx' -Organization contoso.onmicrosoft.com -ExchangeEnvironmentName O365USGovDoD"
    );
    p.auth = AuthMethod::Certificate {
        app_id: "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10".into(),
        certificate_path: None,
        thumbprint: Some("0123456789ABCDEF0123456789ABCDEF01234567".into()),
        organization: "contoso.onmicrosoft.com".into(),
    };
    p.service = SecurityCompliance;
    p.cloud = O365Default;
    assert_eq!(
        preview(&p, false),
        "Connect-IPPSSession -AppId 2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10 -CertificateThumbprint 0123456789ABCDEF0123456789ABCDEF01234567 -Organization contoso.onmicrosoft.com"
    );
}

#[test]
fn password_uses_get_credential() {
    let mut p = profile(O365Default, Protection);
    p.auth = AuthMethod::Password;
    assert_eq!(
        preview_lines(&p),
        vec![
            "$UserCredential = Get-Credential admin@contoso.com".to_string(),
            // seed 001
            "Connect-IPPSSession -Credential $UserCredential -ConnectionUri https://ps.protection.outlook.com/powershell-liveid/".to_string(),
        ]
    );
}

#[test]
fn legacy_form_matches_the_seeds() {
    // seed 000 (EOP) and 002 (EXO), byte for byte
    let p = profile(O365Default, Protection);
    assert_eq!(
        legacy_lines(&p),
        vec![
            "$UserCredential = Get-Credential",
            "$Session = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri https://ps.protection.outlook.com/powershell-liveid/ -Credential $UserCredential -Authentication Basic -AllowRedirection",
            "Import-PSSession $Session -DisableNameChecking",
            "Remove-PSSession $Session",
        ]
    );
    let p = profile(O365China, ExchangeOnline);
    assert!(
        legacy_lines(&p)[1]
            .contains("-ConnectionUri https://partner.outlook.cn/PowerShell -Credential")
    );
    let mut p = profile(O365Default, ExchangeOnline);
    p.proxy.access_type = ProxyAccessType::AutoDetect;
    p.delegated_organization = Some("fabrikam.onmicrosoft.com".into());
    let l = legacy_lines(&p);
    assert_eq!(
        l[0],
        "$ProxyOptions = New-PSSessionOption -ProxyAccessType AutoDetect"
    );
    assert_eq!(
        l[2],
        "$Session = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri 'https://outlook.office365.com/powershell-liveid/?DelegatedOrg=fabrikam.onmicrosoft.com' -Credential $UserCredential -Authentication Basic -AllowRedirection -SessionOption $ProxyOptions"
    );
    assert_eq!(preview(&p, true).lines().count(), 5);
}

#[test]
fn quoting_edge_cases() {
    let cases = [
        ("admin@contoso.com", "admin@contoso.com"),
        (
            "https://outlook.office365.com/powershell-liveid/",
            "https://outlook.office365.com/powershell-liveid/",
        ),
        ("", "''"),
        ("o'brien@contoso.com", "'o''brien@contoso.com'"),
        ("$env:USERNAME", "'$env:USERNAME'"),
        ("a$(calc)b", "'a$(calc)b'"),
        ("back`tick", "'back`tick'"),
        ("two words", "'two words'"),
        ("a;b", "'a;b'"),
        ("a,b", "'a,b'"),
        ("-Force", "'-Force'"),
        ("@splat", "'@splat'"),
        (
            "\u{2018}left\u{2019}",
            "'\u{2018}\u{2018}left\u{2019}\u{2019}'",
        ),
        (
            "low\u{201A}and\u{201B}",
            "'low\u{201A}\u{201A}and\u{201B}\u{201B}'",
        ),
        ("\"double\"", "'\"double\"'"),
        ("line\nbreak", "'line\nbreak'"),
        ("url?x=1&y=2", "'url?x=1&y=2'"),
    ];
    for (input, want) in cases {
        assert_eq!(quote(input), want, "{input:?}");
    }
}

#[test]
fn quoted_values_in_a_preview_cannot_break_out() {
    let mut p = profile(O365Default, ExchangeOnline);
    p.upn = "x'; Remove-Item C:\\ -Recurse; '@contoso.com".into();
    p.delegated_organization = Some("$(Invoke-Evil)".into());
    let line = preview(&p, false);
    assert_eq!(
        line,
        "Connect-ExchangeOnline -UserPrincipalName 'x''; Remove-Item C:\\ -Recurse; ''@contoso.com' -DelegatedOrganization '$(Invoke-Evil)'"
    );
}
