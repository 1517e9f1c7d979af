//! The environment's proxy (`HTTPS_PROXY` / `https_proxy` / `HTTP_PROXY` / `ALL_PROXY`) and
//! `NO_PROXY` with its usual semantics (domain suffixes, leading dots, `*`, IPs and CIDR ranges,
//! optional ports).

use std::net::IpAddr;

/// A proxy from the environment (or from a desktop setting expressed the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProxy {
    /// Name of the variable it came from, e.g. `HTTPS_PROXY`.
    pub var: String,
    /// Normalised `scheme://host:port` (credentials in the variable are dropped from here).
    pub url: String,
}

/// Looks a variable up, upper case first then lower case (`http_proxy` is traditionally lower).
fn lookup(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<(String, String)> {
    for n in [name.to_ascii_uppercase(), name.to_ascii_lowercase()] {
        if let Some(v) = env(&n).filter(|v| !v.trim().is_empty()) {
            return Some((n, v.trim().to_string()));
        }
    }
    None
}

/// Normalises a proxy value (`host:port`, `http://user:pw@host:port/`) to `scheme://host:port`.
pub fn normalize_proxy(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let with_scheme = if v.contains("://") {
        v.to_string()
    } else {
        format!("http://{v}")
    };
    let u = url::Url::parse(&with_scheme).ok()?;
    let host = u.host_str()?;
    let port = u.port_or_known_default()?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Some(format!("{}://{}:{}", u.scheme(), host, port))
}

/// The proxy the environment gives for a target scheme: `https` → HTTPS_PROXY then ALL_PROXY;
/// `http` → HTTP_PROXY then ALL_PROXY.
pub fn env_proxy_for(env: &dyn Fn(&str) -> Option<String>, scheme: &str) -> Option<EnvProxy> {
    let order: &[&str] = if scheme == "https" {
        &["https_proxy", "all_proxy"]
    } else {
        &["http_proxy", "all_proxy"]
    };
    for name in order {
        if let Some((var, value)) = lookup(env, name)
            && let Some(url) = normalize_proxy(&value)
        {
            return Some(EnvProxy { var, url });
        }
    }
    None
}

/// The NO_PROXY list of the environment (`NO_PROXY`, then `no_proxy`).
pub fn env_no_proxy(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    lookup(env, "no_proxy").map(|(_, v)| v)
}

/// Whether `host` (and `port`) is excluded by a NO_PROXY list.
pub fn no_proxy_matches(list: &str, host: &str, port: Option<u16>) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    for raw in list.split([',', ' ']) {
        let entry = raw.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return true;
        }
        // CIDR
        if let Some((net, bits)) = entry.split_once('/')
            && let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u8>())
        {
            if let Some(ip) = host_ip
                && in_cidr(ip, net, bits)
            {
                return true;
            }
            continue;
        }
        // Optional port: "host:port" (not for bare IPv6).
        let (name, want_port) = match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => {
                (h.to_string(), p.parse::<u16>().ok())
            }
            _ => (entry.clone(), None),
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        if let (Some(w), Some(p)) = (want_port, port)
            && w != p
        {
            continue;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            if host_ip == Some(ip) {
                return true;
            }
            continue;
        }
        let name = name.trim_start_matches("*.").trim_start_matches('.');
        if host == name || host.ends_with(&format!(".{name}")) {
            return true;
        }
    }
    false
}

pub(crate) fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn env_proxy_per_scheme() {
        let e = env(&[
            ("HTTPS_PROXY", "proxy.contoso.com:8080"),
            ("http_proxy", "http://user:pw@plain.contoso.com:3128/"),
        ]);
        assert_eq!(
            env_proxy_for(&e, "https"),
            Some(EnvProxy {
                var: "HTTPS_PROXY".into(),
                url: "http://proxy.contoso.com:8080".into()
            })
        );
        assert_eq!(
            env_proxy_for(&e, "http").unwrap().url,
            "http://plain.contoso.com:3128"
        );
        let e = env(&[("ALL_PROXY", "http://all:1")]);
        assert_eq!(env_proxy_for(&e, "https").unwrap().var, "ALL_PROXY");
        assert_eq!(env_proxy_for(&env(&[]), "https"), None);
        assert_eq!(env_proxy_for(&env(&[("https_proxy", " ")]), "https"), None);
    }

    #[test]
    fn no_proxy_semantics() {
        let list =
            "localhost, .contoso.com,example.org, 10.0.0.0/8, 192.168.1.7, intranet:8443, ::1";
        for (host, port, want) in [
            ("localhost", None, true),
            ("mail.contoso.com", None, true),
            ("contoso.com", None, true),
            ("notcontoso.com", None, false),
            ("example.org", None, true),
            ("www.example.org", None, true),
            ("10.20.30.40", None, true),
            ("11.0.0.1", None, false),
            ("192.168.1.7", None, true),
            ("192.168.1.8", None, false),
            ("intranet", Some(8443), true),
            ("intranet", Some(443), false),
            ("[::1]", None, true),
            ("outlook.office365.com", Some(443), false),
        ] {
            assert_eq!(no_proxy_matches(list, host, port), want, "{host} {port:?}");
        }
        assert!(no_proxy_matches("*", "anything.example", None));
        assert!(!no_proxy_matches("", "anything.example", None));
        assert!(no_proxy_matches("*.contoso.com", "a.contoso.com", None));
    }
}
