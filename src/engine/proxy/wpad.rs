//! WPAD discovery by DNS: `wpad.<domain>` walking up the machine's DNS domain, through a
//! [`Resolver`] the tests control. (DHCP option 252 is not queried.)

use std::collections::HashMap;
use std::net::IpAddr;

/// Name resolution and the local network identity, as PAC scripts and WPAD see them.
pub trait Resolver: Send + Sync {
    /// The first address of `host` (`None`: does not resolve).
    fn resolve(&self, host: &str) -> Option<IpAddr>;
    /// The machine's own address on the network (`myIpAddress()`).
    fn my_ip(&self) -> IpAddr;
    /// The machine's DNS domain (e.g. `corp.contoso.com`).
    fn dns_domain(&self) -> Option<String>;
}

/// A resolver with a fixed table (tests).
#[derive(Debug, Clone)]
pub struct FixedResolver {
    pub hosts: HashMap<String, IpAddr>,
    pub my_ip: IpAddr,
    pub domain: Option<String>,
}

impl Resolver for FixedResolver {
    fn resolve(&self, host: &str) -> Option<IpAddr> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(ip);
        }
        self.hosts.get(&host.to_ascii_lowercase()).copied()
    }
    fn my_ip(&self) -> IpAddr {
        self.my_ip
    }
    fn dns_domain(&self) -> Option<String> {
        self.domain.clone()
    }
}

/// The operating system's resolver (blocking `getaddrinfo`).
#[derive(Debug, Clone, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, host: &str) -> Option<IpAddr> {
        use std::net::ToSocketAddrs;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(ip);
        }
        let mut addrs: Vec<IpAddr> = (host, 0u16)
            .to_socket_addrs()
            .ok()?
            .map(|a| a.ip())
            .collect();
        // PAC scripts expect IPv4.
        addrs.sort_by_key(|a| !a.is_ipv4());
        addrs.into_iter().next()
    }
    fn my_ip(&self) -> IpAddr {
        // The source address the OS would use for an outside destination (no packet is sent).
        std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| {
                s.connect("192.0.2.1:9")?;
                s.local_addr()
            })
            .map(|a| a.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
    }
    fn dns_domain(&self) -> Option<String> {
        if let Ok(text) = std::fs::read_to_string("/etc/resolv.conf")
            && let Some(d) = domain_from_resolv_conf(&text)
        {
            return Some(d);
        }
        let out = std::process::Command::new("hostname")
            .arg("-d")
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let d = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && d.contains('.')).then_some(d)
    }
}

/// The DNS domain from resolv.conf: `domain X`, else the first `search` entry.
pub fn domain_from_resolv_conf(text: &str) -> Option<String> {
    let mut search = None;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("domain") => {
                if let Some(d) = w.next() {
                    return Some(d.trim_end_matches('.').to_ascii_lowercase());
                }
            }
            Some("search") if search.is_none() => {
                search = w
                    .next()
                    .map(|d| d.trim_end_matches('.').to_ascii_lowercase());
            }
            _ => {}
        }
    }
    search.filter(|d| d.contains('.'))
}

/// The WPAD host names to try, most specific first: for `a.corp.contoso.com`,
/// `wpad.a.corp.contoso.com`, `wpad.corp.contoso.com`, `wpad.contoso.com` (never `wpad.com`).
pub fn candidates(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain
        .trim_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .collect();
    (0..labels.len().saturating_sub(1))
        .map(|i| format!("wpad.{}", labels[i..].join(".")))
        .collect()
}

/// What DNS discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WpadFound {
    /// `wpad.<domain>`.
    pub host: String,
    pub address: IpAddr,
    /// `http://wpad.<domain>/wpad.dat` (with the port when it is not 80).
    pub url: String,
}

/// DNS discovery: the first `wpad.<domain>` that resolves. Returns the domains tried too.
pub fn discover(resolver: &dyn Resolver, port: u16) -> (Option<WpadFound>, Vec<String>) {
    let Some(domain) = resolver.dns_domain() else {
        return (None, Vec::new());
    };
    let tried = candidates(&domain);
    for host in &tried {
        if let Some(address) = resolver.resolve(host) {
            let url = if port == 80 {
                format!("http://{host}/wpad.dat")
            } else {
                format!("http://{host}:{port}/wpad.dat")
            };
            return (
                Some(WpadFound {
                    host: host.clone(),
                    address,
                    url,
                }),
                tried,
            );
        }
    }
    (None, tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_walk_up_the_domain() {
        assert_eq!(
            candidates("a.corp.contoso.com"),
            vec![
                "wpad.a.corp.contoso.com",
                "wpad.corp.contoso.com",
                "wpad.contoso.com"
            ]
        );
        assert_eq!(candidates("contoso.com"), vec!["wpad.contoso.com"]);
        assert!(candidates("localdomain").is_empty());
    }

    #[test]
    fn discovery_uses_the_resolver() {
        let mut r = FixedResolver {
            hosts: HashMap::new(),
            my_ip: "10.0.0.5".parse().unwrap(),
            domain: Some("eu.corp.contoso.com".into()),
        };
        let (found, tried) = discover(&r, 80);
        assert_eq!(found, None);
        assert_eq!(tried.len(), 3);
        r.hosts
            .insert("wpad.corp.contoso.com".into(), "10.0.0.9".parse().unwrap());
        r.hosts
            .insert("wpad.contoso.com".into(), "10.0.0.10".parse().unwrap());
        let (found, _) = discover(&r, 80);
        let found = found.unwrap();
        assert_eq!(found.host, "wpad.corp.contoso.com");
        assert_eq!(found.url, "http://wpad.corp.contoso.com/wpad.dat");
        assert_eq!(found.address.to_string(), "10.0.0.9");
        let (found, _) = discover(&r, 8081);
        assert_eq!(
            found.unwrap().url,
            "http://wpad.corp.contoso.com:8081/wpad.dat"
        );
        r.domain = None;
        assert_eq!(discover(&r, 80), (None, vec![]));
    }

    #[test]
    fn resolv_conf_domain() {
        assert_eq!(
            domain_from_resolv_conf("nameserver 10.0.0.1\nsearch corp.contoso.com contoso.com\n"),
            Some("corp.contoso.com".into())
        );
        assert_eq!(
            domain_from_resolv_conf("search x.y\ndomain Corp.Contoso.com.\n"),
            Some("corp.contoso.com".into())
        );
        assert_eq!(domain_from_resolv_conf("nameserver 1.1.1.1\n"), None);
    }
}
