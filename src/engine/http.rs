//! The HTTP client every engine request goes through (reqwest 0.13, rustls with the system's CA
//! roots through the platform verifier). It never follows redirects on its own: the REST client
//! follows 3xx itself (re-sending the token only where its policy allows, pinning the host) and
//! OAuth must not be redirected. Every response body the engine reads goes through
//! [`read_body_with`] / [`read_capped`]: read chunk by chunk, never more than a cap (a declared
//! `Content-Length` over the cap is refused before reading anything).
//!
//! Loopback targets (127.0.0.0/8, ::1, localhost) never go through a proxy: not through the
//! platform default's (reqwest's own environment and system proxy, [`platform_proxy`]), nor
//! through a profile's ([`crate::engine::proxy`]). Only [`PROXY_LOOPBACK_ENV`]`=1` sends them
//! through a proxy too (to watch the simulated tenant's traffic in a proxy; the proxy tests).

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

/// `EXO_CONNECT_PROXY_LOOPBACK=1`: loopback traffic follows the proxy settings like any other
/// (for trying a proxy against the simulated tenant). Off by default: loopback goes direct.
pub const PROXY_LOOPBACK_ENV: &str = "EXO_CONNECT_PROXY_LOOPBACK";

/// Whether [`PROXY_LOOPBACK_ENV`] asks for loopback traffic through proxies.
pub fn proxy_loopback_from_env() -> bool {
    std::env::var(PROXY_LOOPBACK_ENV).is_ok_and(|v| v.trim() == "1")
}

/// Whether a URL's host is loopback (see [`is_loopback_host`]).
pub fn is_loopback_url(url: &url::Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
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

/// Cap of a small answer: a token response, OpenID metadata, a PAC script, an error body.
pub const SMALL_BODY_CAP: usize = 1024 * 1024;

/// Cap of one admin-API page (a page of 1,000 mailboxes with every property is ~5 MB).
pub const PAGE_BODY_CAP: usize = 64 * 1024 * 1024;

/// A body that could not be read whole.
#[derive(Debug, Error)]
pub enum BodyError {
    /// Longer than the cap (declared, or counted while reading): nothing more was read.
    #[error("the answer of {host} is larger than {} (the most exo-connect reads); it was not read", size_text(*.cap))]
    TooLarge { host: String, cap: usize },
    /// The connection failed while the body was read.
    #[error("reading the answer of {host} failed: {detail}")]
    Read { host: String, detail: String },
}

impl BodyError {
    pub fn is_too_large(&self) -> bool {
        matches!(self, BodyError::TooLarge { .. })
    }
}

/// `64 MiB`, `1 MiB`, `512 KiB`, `300 bytes`.
pub fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// What [`read_body_with`]'s observer wants after a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    More,
    /// Enough was read: stop here (the rest of the body is not downloaded).
    Stop,
}

/// Reads a body chunk by chunk into one buffer, at most `cap` bytes; after each chunk `each`
/// sees everything read so far and may stop the read. Returns the bytes and whether `each`
/// stopped it. A declared `Content-Length` above the cap fails before reading, unless
/// `may_stop_early` (the caller expects to stop before the end: then only what is read counts).
pub async fn read_body_with(
    mut resp: reqwest::Response,
    cap: usize,
    may_stop_early: bool,
    mut each: impl FnMut(&[u8]) -> Flow,
) -> Result<(Vec<u8>, bool), BodyError> {
    let host = resp
        .url()
        .host_str()
        .map(|h| match resp.url().port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        })
        .unwrap_or_default();
    let too_large = |host: String| BodyError::TooLarge { host, cap };
    let declared = resp.content_length();
    if declared.is_some_and(|n| n > cap as u64) && !may_stop_early {
        return Err(too_large(host));
    }
    let room = if may_stop_early { SMALL_BODY_CAP } else { cap };
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(room as u64) as usize);
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok((buf, false)),
            Err(e) => {
                return Err(BodyError::Read {
                    detail: plain_error(&e),
                    host,
                });
            }
        };
        if buf.len() + chunk.len() > cap {
            return Err(too_large(host));
        }
        buf.extend_from_slice(&chunk);
        if each(&buf) == Flow::Stop {
            return Ok((buf, true));
        }
    }
}

/// Reads a whole body of at most `cap` bytes (see [`read_body_with`]).
pub async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    read_body_with(resp, cap, false, |_| Flow::More)
        .await
        .map(|(b, _)| b)
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
        None => b = b.proxy(platform_proxy(proxy_loopback_from_env())),
        Some(None) => b = b.no_proxy(),
        Some(Some(p)) => {
            let fixed = p.clone();
            let include_loopback = proxy_loopback_from_env();
            b = b.proxy(reqwest::Proxy::custom(move |u| {
                (include_loopback || !is_loopback_url(u)).then(|| fixed.clone())
            }))
        }
    }
    b.build()
}

/// The platform default's proxy (what reqwest does on its own: `HTTPS_PROXY` / `HTTP_PROXY` /
/// `ALL_PROXY` / `NO_PROXY`, Windows Internet Options, macOS network settings), except that
/// loopback targets go direct unless `include_loopback`.
pub fn platform_proxy(include_loopback: bool) -> reqwest::Proxy {
    let system = hyper_util::client::proxy::matcher::Matcher::from_system();
    reqwest::Proxy::custom(move |u| {
        if !include_loopback && is_loopback_url(u) {
            return None;
        }
        let uri: http::Uri = u.as_str().parse().ok()?;
        system.intercept(&uri).and_then(|i| intercept_url(&i))
    })
}

/// The proxy address of an intercept, with its credential (hyper-util keeps it apart).
fn intercept_url(i: &hyper_util::client::proxy::matcher::Intercept) -> Option<String> {
    let mut u = url::Url::parse(&i.uri().to_string()).ok()?;
    let credential = match (i.raw_auth(), i.basic_auth()) {
        (Some((user, pass)), _) => Some((user.to_string(), pass.to_string())),
        (None, Some(basic)) => decode_basic(basic.to_str().ok()?),
        (None, None) => None,
    };
    if let Some((user, pass)) = credential {
        u.set_username(&user).ok()?;
        u.set_password(Some(&pass)).ok()?;
    }
    Some(u.to_string())
}

/// `Basic <base64 user:pass>` → (user, pass).
fn decode_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let b64 = header.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
    Some((user.to_string(), pass.to_string()))
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
    fn basic_credentials_survive_the_platform_proxy() {
        assert_eq!(
            decode_basic("Basic dXNlcjpwYTpzcw=="),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(decode_basic("Bearer x"), None);
        let m = hyper_util::client::proxy::matcher::Matcher::builder()
            .http("http://bob:s%40cret@proxy.corp:8080")
            .build();
        let i = m
            .intercept(&"http://example.test/".parse().unwrap())
            .unwrap();
        let u = url::Url::parse(&intercept_url(&i).unwrap()).unwrap();
        assert_eq!(
            (u.host_str(), u.port(), u.username()),
            (Some("proxy.corp"), Some(8080), "bob")
        );
        assert_eq!(u.password(), Some("s%40cret"));
    }

    #[tokio::test]
    async fn an_explicit_proxy_is_not_used_for_loopback() {
        // A "proxy" that would answer 407; the loopback target answers itself.
        let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = target.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = target.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let c = build_client(&HttpOptions {
            proxy: Some(Some("http://192.0.2.1:9".into())),
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        })
        .unwrap();
        let r = c
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
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
