//! A sim with generated customer tenants (`sim --tenants N`) and profiles pointing at a sim:
//! password sign-in on the custom cloud, a customer reached through the partner's account
//! (DelegatedOrganization) or its own.
#![allow(dead_code)]

use exo_connect::model::{AuthMethod, Cloud, Profile, Service};
use exo_connect::sim::world::customers::PARTNER_UPN;
use exo_connect::sim::{SimConfig, SimHandle};

/// The partner account's password (`PARTNER_UPN`).
pub const PARTNER_PASSWORD: &str = "partner-Demo-2026!";

/// `tenants` customer tenants of 5 mailboxes (none slow, none throttled) and 20 mailboxes of
/// the partner's own.
pub fn customers_config(tenants: usize) -> SimConfig {
    SimConfig {
        customer_tenants: tenants,
        customer_mailboxes: 5,
        mailboxes: 20,
        slow_tenants: Some(0),
        throttled_tenants: Some(0),
        ..SimConfig::default()
    }
}

/// A profile of `service` at the sim: custom cloud, the sim's authority, password sign-in.
pub fn sim_profile(h: &SimHandle, name: &str, upn: &str, service: Service) -> Profile {
    let urls = h.urls();
    let mut p = Profile::new(name, upn, service);
    p.cloud = Cloud::Custom;
    let base = match service {
        Service::SecurityCompliance => &urls.scc,
        _ => &urls.exo,
    };
    p.connection_uri = Some(format!("{base}/powershell-liveid/"));
    p.authorization_endpoint = Some(urls.authority());
    p.auth = AuthMethod::Password;
    p
}

/// An EXO profile at the sim for `upn`, reaching the `delegated` tenant (a customer's domain)
/// when given.
pub fn delegated_profile(h: &SimHandle, name: &str, upn: &str, delegated: Option<&str>) -> Profile {
    let mut p = sim_profile(h, name, upn, Service::ExchangeOnline);
    p.delegated_organization = delegated.map(str::to_string);
    p
}

/// One DelegatedOrganization profile of the partner per customer, named like the customer
/// (`cust001`…).
pub fn partner_profiles(h: &SimHandle) -> Vec<Profile> {
    h.world()
        .customers()
        .map(|t| {
            let domain = &t.domains[0];
            let name = domain.split('.').next().unwrap();
            delegated_profile(h, name, PARTNER_UPN, Some(domain))
        })
        .collect()
}
