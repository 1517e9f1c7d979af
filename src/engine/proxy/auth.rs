//! Proxy authentication: the typed "407 Proxy Authentication Required" and its plain-words
//! explanation. Basic credentials come from the keychain (`proxy_password_key(profile.id)`)
//! and the profile's proxy user (see [`super::client_for`]); Digest and Negotiate/NTLM are not
//! available in our HTTP stack (Negotiate needs Windows SSPI).

use std::collections::HashMap;
use std::sync::Mutex;

/// Which proxy served which target origin last (and whether credentials were sent), so a 407
/// can name the proxy.
static ROUTES: Mutex<Option<HashMap<String, (String, bool)>>> = Mutex::new(None);

pub(crate) fn remember_route(origin: &str, proxy: &str, sent_credential: bool) {
    ROUTES
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(origin.to_string(), (proxy.to_string(), sent_credential));
}

fn route_of(target: &url::Url) -> Option<(String, bool)> {
    ROUTES
        .lock()
        .unwrap()
        .as_ref()?
        .get(&target.origin().ascii_serialization())
        .cloned()
}

/// The proxy answered 407: it wants credentials (or refused the ones sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAuthRequired {
    /// `host:port` of the proxy (or "the proxy" when unknown).
    pub proxy: String,
    /// Schemes the proxy offers (`Proxy-Authenticate`), e.g. `Basic`, `Negotiate`.
    pub offered: Vec<String>,
    /// Whether a user name and password were sent (then they were refused).
    pub sent_credential: bool,
}

impl ProxyAuthRequired {
    /// From a 407 response to a request for `target`.
    pub fn from_response(target: &url::Url, headers: &reqwest::header::HeaderMap) -> Self {
        let offered = headers
            .get_all("proxy-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split_whitespace().next())
            .map(|s| s.trim_end_matches(',').to_string())
            .collect();
        let (proxy, sent_credential) = route_of(target)
            .map(|(p, c)| (host_port(&p), c))
            .unwrap_or_else(|| ("the proxy".to_string(), false));
        ProxyAuthRequired {
            proxy,
            offered,
            sent_credential,
        }
    }

    /// Some proxies (tinyproxy 1.11) answer wrong proxy credentials with `401` and a
    /// `WWW-Authenticate: Basic` challenge instead of 407. A 401 whose challenge is not `Bearer`
    /// (Entra and the admin API only ever challenge Bearer), on a request that went through a
    /// proxy with credentials, is read as the proxy refusing them.
    pub fn from_proxy_401(target: &url::Url, headers: &reqwest::header::HeaderMap) -> Option<Self> {
        let (proxy, sent) = route_of(target)?;
        let challenges: Vec<String> = headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split_whitespace().next())
            .map(|s| s.trim_end_matches(',').to_string())
            .collect();
        if !sent
            || challenges.is_empty()
            || challenges.iter().any(|c| c.eq_ignore_ascii_case("bearer"))
        {
            return None;
        }
        Some(ProxyAuthRequired {
            proxy: host_port(&proxy),
            offered: challenges,
            sent_credential: true,
        })
    }

    /// From a connection error when the proxy refused a CONNECT tunnel with 407.
    pub fn from_error(target: &url::Url, e: &(dyn std::error::Error + 'static)) -> Option<Self> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            // Words, not a bare "407": an error's text names the URL, whose port may hold it.
            let s = err.to_string().to_ascii_lowercase();
            if s.contains("proxy authorization required")
                || s.contains("proxy authentication required")
                || s.contains("407 proxy")
            {
                let (proxy, sent_credential) = route_of(target)
                    .map(|(p, c)| (host_port(&p), c))
                    .unwrap_or_else(|| ("the proxy".to_string(), false));
                return Some(ProxyAuthRequired {
                    proxy,
                    offered: vec![],
                    sent_credential,
                });
            }
            cur = err.source();
        }
        None
    }
}

fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_string()
}

impl std::fmt::Display for ProxyAuthRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "The proxy {} asked for credentials (407 Proxy Authentication Required)",
            self.proxy
        )?;
        if !self.offered.is_empty() {
            write!(f, " and offers {}", self.offered.join(", "))?;
        }
        write!(f, ". ")?;
        let basic =
            self.offered.is_empty() || self.offered.iter().any(|s| s.eq_ignore_ascii_case("basic"));
        if self.sent_credential && basic {
            write!(
                f,
                "It refused the proxy user name and password of this profile: check the proxy user (exo-connect profile edit NAME --proxy-user USER) and store the right password (the editor's proxy password, or exo-connect login NAME --proxy-password-stdin)."
            )
        } else if basic {
            write!(
                f,
                "Set the profile's proxy authentication to Basic with a proxy user (exo-connect profile edit NAME --proxy-auth Basic --proxy-user USER) and store the proxy password in the keychain (the editor's proxy password, or exo-connect login NAME --proxy-password-stdin)."
            )
        } else {
            write!(
                f,
                "exo-connect can answer only Basic proxy authentication: Negotiate/NTLM needs Windows (SSPI) and Digest is not supported. Ask the proxy administrators to allow Basic (over a trusted network) or to exempt the Microsoft 365 endpoints, or use another proxy."
            )
        }
    }
}

impl std::error::Error for ProxyAuthRequired {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_name_the_proxy_and_the_fix() {
        let t = url::Url::parse("https://outlook.example-407.test/x").unwrap();
        remember_route(
            &t.origin().ascii_serialization(),
            "http://proxy.contoso.com:8080",
            false,
        );
        let mut h = reqwest::header::HeaderMap::new();
        h.append(
            "proxy-authenticate",
            "Basic realm=\"corp\"".parse().unwrap(),
        );
        let e = ProxyAuthRequired::from_response(&t, &h);
        assert_eq!(e.proxy, "proxy.contoso.com:8080");
        assert_eq!(e.offered, vec!["Basic"]);
        let s = e.to_string();
        assert!(
            s.contains("proxy.contoso.com:8080 asked for credentials (407"),
            "{s}"
        );
        assert!(s.contains("--proxy-user"), "{s}");
        let refused = ProxyAuthRequired {
            sent_credential: true,
            ..e.clone()
        };
        assert!(
            refused
                .to_string()
                .contains("refused the proxy user name and password")
        );
        let nego = ProxyAuthRequired {
            offered: vec!["Negotiate".into(), "NTLM".into()],
            ..e
        };
        assert!(nego.to_string().contains("Negotiate/NTLM needs Windows"));
        let unknown = ProxyAuthRequired::from_response(
            &url::Url::parse("https://never-routed.test/").unwrap(),
            &reqwest::header::HeaderMap::new(),
        );
        assert_eq!(unknown.proxy, "the proxy");
        // tinyproxy's 401 for wrong proxy credentials, only when credentials went to a proxy.
        let t2 = url::Url::parse("http://127.0.0.1:7/401").unwrap();
        let mut basic = reqwest::header::HeaderMap::new();
        basic.append(
            "www-authenticate",
            "Basic realm=\"Tinyproxy\"".parse().unwrap(),
        );
        assert_eq!(ProxyAuthRequired::from_proxy_401(&t2, &basic), None);
        remember_route(
            &t2.origin().ascii_serialization(),
            "http://127.0.0.1:3128",
            true,
        );
        let e = ProxyAuthRequired::from_proxy_401(&t2, &basic).unwrap();
        assert_eq!(e.proxy, "127.0.0.1:3128");
        assert!(e.to_string().contains("refused"));
        let mut bearer = reqwest::header::HeaderMap::new();
        bearer.append(
            "www-authenticate",
            "Bearer error=\"invalid_token\"".parse().unwrap(),
        );
        assert_eq!(ProxyAuthRequired::from_proxy_401(&t2, &bearer), None);
    }

    #[test]
    fn a_port_with_407_in_it_is_not_a_proxy_refusal() {
        let t = url::Url::parse("http://127.0.0.1:40723/adminapi").unwrap();
        let reset = std::io::Error::other(
            "error sending request for url (http://127.0.0.1:40723/adminapi): connection reset",
        );
        assert_eq!(ProxyAuthRequired::from_error(&t, &reset), None);
        let tunnel = std::io::Error::other("proxy authorization required");
        assert!(ProxyAuthRequired::from_error(&t, &tunnel).is_some());
    }
}
