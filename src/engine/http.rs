//! The HTTP client every engine request goes through (reqwest 0.13, rustls with the system's CA
//! roots through the platform verifier). It never follows redirects on its own: the REST client
//! follows 3xx itself (re-sending the token, pinning the host) and OAuth must not be redirected.

use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum UrlPolicyError {
    #[error("'{0}' is not a valid URL")]
    Invalid(String),
    #[error(
        "'{0}' uses http://, which exo-connect allows only for loopback hosts (127.0.0.0/8, ::1, localhost); use https://"
    )]
    PlainHttp(String),
    #[error("'{0}' must use https://")]
    Scheme(String),
}

/// Installs the rustls crypto provider (ring) once per process. Safe to call many times.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether a host is loopback: 127.0.0.0/8, ::1 or localhost.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// The URL policy: https everywhere, http only to loopback (the simulated tenant).
pub fn check_url(url: &str) -> Result<url::Url, UrlPolicyError> {
    let u = url::Url::parse(url).map_err(|_| UrlPolicyError::Invalid(url.to_string()))?;
    match u.scheme() {
        "https" => Ok(u),
        "http" if u.host_str().is_some_and(is_loopback_host) => Ok(u),
        "http" => Err(UrlPolicyError::PlainHttp(url.to_string())),
        _ => Err(UrlPolicyError::Scheme(url.to_string())),
    }
}

/// `host[:port]` of a URL (the URL itself when it does not parse), for messages and keys.
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| {
                format!(
                    "{}{}",
                    h,
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                )
            })
        })
        .unwrap_or_else(|| url.to_string())
}

/// reqwest's error text followed by its sources' (the plain words of a connection failure are
/// usually in a source: "connection refused", "certificate unknown"…).
pub fn plain_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Options of a client. Proxy selection per profile arrives with the proxy issue.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// Per-request timeout (a whole response, body included).
    pub request_timeout: Duration,
    /// `reqwest::Proxy` choice: None = platform default (environment / system), Some(None) =
    /// direct, Some(Some(url)) = that proxy for every request.
    pub proxy: Option<Option<String>>,
    /// A ready client to use as is (a profile's, from `engine::proxy::client_for`, which routes
    /// per target URL by the profile's proxy access type). Takes precedence over `proxy`.
    pub client: Option<reqwest::Client>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
            proxy: None,
            client: None,
        }
    }
}

/// Builds a client: no automatic redirects, timeouts, our user agent.
pub fn build_client(opts: &HttpOptions) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    if let Some(c) = &opts.client {
        return Ok(c.clone());
    }
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.request_timeout)
        .user_agent(concat!("exo-connect/", env!("CARGO_PKG_VERSION")));
    match &opts.proxy {
        None => {}
        Some(None) => b = b.no_proxy(),
        Some(Some(p)) => b = b.proxy(reqwest::Proxy::all(p)?),
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_allowed_only_to_loopback() {
        for ok in [
            "https://outlook.office365.com/adminapi",
            "http://127.0.0.1:8080/x",
            "http://127.4.5.6/x",
            "http://[::1]:9/x",
            "http://localhost:1/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://outlook.office365.com/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_builds() {
        build_client(&HttpOptions::default()).unwrap();
        build_client(&HttpOptions {
            proxy: Some(None),
            ..Default::default()
        })
        .unwrap();
    }
}
