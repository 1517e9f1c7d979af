//! Where a session's bearer token may go (issue 13.1). The admin API redirects (the SCC regional
//! host) and sends next-page links; the token follows only to:
//! - the session's own host (the REST base's host, any port), or
//! - a host inside the admin-API domains of the session's cloud (below), when the REST base is
//!   one of that cloud's hosts;
//!
//! and never from https to http. A custom or loopback REST base allows its own host only (any
//! port: the simulated tenant's regional listener is another port of the same address).
//!
//! Anything else is refused with an error naming the host, before a request is sent there.

/// The admin-API domains of each cloud: the hosts of its REST bases in `model::cloud`'s
/// endpoint table (`outlook.office365.com`, `ps.compliance.protection.outlook.com`, …) and the
/// regional hosts the service redirects to (`<region>.ps.compliance.protection.outlook.com`,
/// `<region>.outlook.office365.com`). A host matches a domain when it is the domain or ends with
/// `.` + the domain. `cloud_table_hosts_are_inside_their_domains` checks the table against it.
const CLOUD_DOMAINS: &[(&str, &[&str])] = &[
    (
        "worldwide",
        &["outlook.com", "office365.com", "protection.outlook.com"],
    ),
    // GCC High and DoD: outlook.office365.us, outlook-dod.office365.us,
    // (l5.)ps.compliance.protection.office365.us.
    (
        "US Government",
        &["office365.us", "protection.office365.us"],
    ),
    // 21Vianet: partner.outlook.cn, ps.compliance.protection.partner.outlook.cn.
    ("21Vianet", &["partner.outlook.cn", "outlook.cn"]),
    // Office 365 Germany (retired): outlook.office.de, ps.compliance.protection.outlook.de.
    ("Germany", &["outlook.de", "office.de"]),
];

fn in_domain(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The admin-API domains of the cloud `host` belongs to (None: a custom or loopback host).
fn cloud_of(host: &str) -> Option<(&'static str, &'static [&'static str])> {
    CLOUD_DOMAINS
        .iter()
        .find(|(_, domains)| domains.iter().any(|d| in_domain(host, d)))
        .copied()
}

fn host_lower(u: &url::Url) -> String {
    u.host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// `host[:port]` for messages.
pub(super) fn host_port(u: &url::Url) -> String {
    match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_string(),
    }
}

/// Whether the session whose REST base is `base` may send its token to `target`; `Err` says
/// why not, in words that name the host.
pub fn token_may_go(base: &url::Url, target: &url::Url) -> Result<(), String> {
    let (b, t) = (host_lower(base), host_lower(target));
    if base.scheme() == "https" && target.scheme() != "https" {
        return Err(format!(
            "{} uses {}://, but this session is https: the token is never sent over plain HTTP",
            host_port(target),
            target.scheme()
        ));
    }
    if t == b {
        return Ok(());
    }
    match cloud_of(&b) {
        Some((_, domains)) if domains.iter().any(|d| in_domain(&t, d)) => Ok(()),
        Some((name, domains)) => Err(format!(
            "{} is not an admin-API host of the {name} cloud ({}); the session's token is sent only there",
            host_port(target),
            domains
                .iter()
                .map(|d| format!("*.{d}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Err(format!(
            "{} is not this session's host ({}); with a custom or loopback address the token is sent only to that host",
            host_port(target),
            base.host_str().unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cloud, Service};

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn cloud_table_hosts_are_inside_their_domains() {
        for cloud in Cloud::ALL {
            for service in Service::ALL {
                let Some(ep) = cloud.endpoints(service) else {
                    continue;
                };
                let base = u(&ep.rest_base);
                assert!(
                    cloud_of(&host_lower(&base)).is_some(),
                    "{cloud:?} {service:?}: {} is in no admin-API domain",
                    ep.rest_base
                );
                // Every service of the same cloud reaches the others' hosts.
                for other in Service::ALL {
                    let o = u(&cloud.endpoints(other).unwrap().rest_base);
                    token_may_go(&base, &o).unwrap();
                }
            }
        }
    }

    #[test]
    fn the_token_stays_inside_the_cloud_and_never_downgrades() {
        let exo = u("https://outlook.office365.com/adminapi/beta/t/InvokeCommand");
        let scc = u("https://ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand");
        for ok in [
            "https://outlook.office365.com:444/x",
            "https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
            "https://eur03.outlook.office365.com/x",
            "https://something.outlook.com/x",
        ] {
            token_may_go(&exo, &u(ok)).unwrap();
            token_may_go(&scc, &u(ok)).unwrap();
        }
        for bad in [
            "https://evil.example.com/x",
            "https://outlook.office365.com.evil.example/x",
            "https://eviloutlook.com/x",
            "https://outlook.office365.us/x", // another cloud
            "http://outlook.office365.com/x", // downgrade
            "http://127.0.0.1:8080/x",
        ] {
            let e = token_may_go(&exo, &u(bad)).unwrap_err();
            let host = u(bad).host_str().unwrap().to_string();
            assert!(e.contains(&host), "{bad}: {e}");
        }
        let gov = u("https://outlook.office365.us");
        token_may_go(
            &gov,
            &u("https://l5.ps.compliance.protection.office365.us/x"),
        )
        .unwrap();
        assert!(token_may_go(&gov, &u("https://outlook.office365.com/x")).is_err());
        let cn = u("https://partner.outlook.cn");
        token_may_go(
            &cn,
            &u("https://ps.compliance.protection.partner.outlook.cn/x"),
        )
        .unwrap();
        assert!(token_may_go(&cn, &u("https://outlook.office365.com/x")).is_err());
    }

    #[test]
    fn custom_and_loopback_keep_their_own_host_any_port() {
        let sim = u("http://127.0.0.1:4000/adminapi");
        token_may_go(&sim, &u("http://127.0.0.1:4001/adminapi")).unwrap();
        token_may_go(&sim, &u("https://127.0.0.1:4002/adminapi")).unwrap();
        let e = token_may_go(&sim, &u("http://127.0.0.2:4000/x")).unwrap_err();
        assert!(e.contains("127.0.0.2:4000"), "{e}");
        assert!(token_may_go(&sim, &u("http://localhost:4000/x")).is_err());
        let custom = u("https://exo.contoso.example");
        token_may_go(&custom, &u("https://EXO.contoso.example:8443/x")).unwrap();
        let e = token_may_go(&custom, &u("https://outlook.office365.com/x")).unwrap_err();
        assert!(e.contains("outlook.office365.com"), "{e}");
    }
}
