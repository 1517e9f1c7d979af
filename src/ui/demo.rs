//! Demo mode: profiles that point at the in-process simulated tenant, and the "Demo phone"
//! (the current verification code of the demo MFA accounts and the demo passwords).
//!
//! The sim's ports change every run, so on start the URIs of existing demo profiles (matched by
//! name) are rewritten; other fields the user changed are kept. Everything lives in the demo
//! config folder (`<config>/demo`); the user's real profiles are never touched. Demo sign-ins
//! keep their tokens in memory only (the sim's ports change every run, so keychain entries would
//! only pile up): a restart of the demo asks to sign in again.

use crate::model::store::{ProfileStore, Result};
use crate::model::{AuthMethod, Cloud, Profile, Service};
use crate::sim::{SimHandle, SimUrls};

use super::bridge::DemoAccountView;

/// (name, upn, service, method, folder, colour, tags, delegated organization)
type Spec = (
    &'static str,
    &'static str,
    Service,
    AuthMethod,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
);

/// The demo profiles.
pub fn specs() -> Vec<Spec> {
    vec![
        (
            "Contoso EXO (MFA)",
            "admin@contoso.com",
            Service::ExchangeOnline,
            AuthMethod::DeviceCode,
            "Contoso",
            "#1f6fc5",
            &["demo", "prod"],
            None,
        ),
        (
            "Contoso EXO",
            "ops@contoso.com",
            Service::ExchangeOnline,
            AuthMethod::Password,
            "Contoso",
            "#2e8b57",
            &["demo"],
            None,
        ),
        (
            "Contoso SCC",
            "ops@contoso.com",
            Service::SecurityCompliance,
            AuthMethod::Password,
            "Contoso",
            "#7b4fc9",
            &["demo"],
            None,
        ),
        (
            "Northwind EOP",
            "admin@northwind.com",
            Service::Protection,
            AuthMethod::Password,
            "Northwind",
            "#d9822b",
            &["demo"],
            None,
        ),
        (
            "Tailspin (partner)",
            "partner@adatum.com",
            Service::ExchangeOnline,
            AuthMethod::DeviceCode,
            "Tailspin",
            "#c0392b",
            &["demo", "partner"],
            Some("tailspin.onmicrosoft.com"),
        ),
    ]
}

/// The demo accounts the phone panel shows.
pub const DEMO_ACCOUNTS: [&str; 4] = [
    "admin@contoso.com",
    "ops@contoso.com",
    "admin@northwind.com",
    "partner@adatum.com",
];

/// Create the demo profiles, or point the existing ones (same name) at the sim's current URLs.
/// Returns how many demo profiles there are.
pub fn seed_profiles(store: &mut ProfileStore, urls: &SimUrls) -> Result<usize> {
    let specs = specs();
    for (name, upn, service, auth, folder, color, tags, delegated) in &specs {
        let origin = match service {
            Service::SecurityCompliance => &urls.scc,
            _ => &urls.exo,
        };
        let mut p = store.get_by_name(name).cloned().unwrap_or_else(|| {
            let mut p = Profile::new(*name, *upn, *service);
            p.auth = auth.clone();
            p.folder = folder.to_string();
            p.color = Some(color.to_string());
            p.tags = tags.iter().map(|t| t.to_string()).collect();
            p.delegated_organization = delegated.map(String::from);
            p.notes = "Demo profile: signs in to the simulated tenant started by --demo.".into();
            p
        });
        p.cloud = Cloud::Custom;
        p.connection_uri = Some(format!("{origin}/powershell-liveid/"));
        p.authorization_endpoint = Some(urls.authority());
        store.upsert(p)?;
    }
    store.save()?;
    Ok(specs.len())
}

/// What the "Demo phone" shows now. Codes change every [`CODE_PERIOD`] seconds of UNIX time.
pub fn phone(h: &SimHandle) -> Vec<DemoAccountView> {
    let valid_until = next_code_change(chrono::Utc::now());
    DEMO_ACCOUNTS
        .iter()
        .filter_map(|upn| {
            let u = h.world().user(upn)?;
            Some(DemoAccountView {
                upn: u.upn.clone(),
                password: u.password.clone(),
                code: if u.mfa { h.current_totp(upn) } else { None },
                valid_until,
            })
        })
        .collect()
}

/// Seconds a demo verification (TOTP) code lasts.
pub const CODE_PERIOD: i64 = 30;

/// When the demo phone's codes next change after `now` (the next multiple of
/// [`CODE_PERIOD`] seconds of UNIX time).
pub fn next_code_change(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let next = (now.timestamp().div_euclid(CODE_PERIOD) + 1) * CODE_PERIOD;
    chrono::DateTime::from_timestamp(next, 0).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_change_on_the_half_minute() {
        use chrono::TimeZone;
        let at = |s: u32, ms: u32| {
            chrono::Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, s).unwrap()
                + chrono::Duration::milliseconds(ms as i64)
        };
        assert_eq!(next_code_change(at(0, 0)), at(30, 0));
        assert_eq!(next_code_change(at(29, 999)), at(30, 0));
        assert_eq!(
            next_code_change(at(30, 0)),
            at(0, 0) + chrono::Duration::minutes(1)
        );
        assert_eq!(
            next_code_change(at(45, 500)),
            at(0, 0) + chrono::Duration::minutes(1)
        );
    }

    #[tokio::test]
    async fn seeds_and_rewrites_urls() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = ProfileStore::open(dir.path()).unwrap();
        let urls = |port: u16| SimUrls {
            login: format!("http://127.0.0.1:{port}"),
            exo: format!("http://127.0.0.1:{}", port + 1),
            scc: format!("http://127.0.0.1:{}", port + 2),
            scc_regional: format!("http://127.0.0.1:{}", port + 3),
        };
        assert_eq!(seed_profiles(&mut store, &urls(5000)).unwrap(), 5);
        let id = store.get_by_name("Contoso SCC").unwrap().id;
        let (mut again, _) = ProfileStore::open(dir.path()).unwrap();
        seed_profiles(&mut again, &urls(6000)).unwrap();
        assert_eq!(again.profiles().len(), 5);
        let scc = again.get_by_name("Contoso SCC").unwrap();
        assert_eq!(scc.id, id, "the existing profile is updated, not replaced");
        assert_eq!(
            scc.connection_uri.as_deref(),
            Some("http://127.0.0.1:6002/powershell-liveid/")
        );
        assert_eq!(
            scc.authorization_endpoint.as_deref(),
            Some("http://127.0.0.1:6000/organizations")
        );
    }
}
