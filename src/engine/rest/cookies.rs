//! The connection's cookies (reference page §7, Security & Compliance affinity): the service may
//! set an affinity cookie with its regional redirect, and a client that does not send it back
//! is routed again (a second redirect, a slower connection).
//!
//! One [`ConnectionCookies`] per connection, never shared across connections or tenants. It
//! keeps only what the connection's own hosts set (the hosts its token may go to, `policy.rs`)
//! and sends it only to them — a redirect or next-page link elsewhere gets nothing. Bounded:
//! at most [`MAX_COOKIES`] cookies of at most [`MAX_COOKIE_BYTES`] each; a cookie whose
//! `Max-Age` is zero or negative (or whose value is empty) is removed. Other attributes
//! (`Domain`, `Path`, `Expires`, `Secure`) are not needed for these hosts and are ignored.

use std::sync::Mutex;

use reqwest::header::HeaderMap;

use super::policy::token_may_go;

/// Most cookies a connection keeps.
pub const MAX_COOKIES: usize = 16;
/// Largest `name=value` kept.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// A connection's cookie store (see the module's description).
#[derive(Debug, Default)]
pub struct ConnectionCookies {
    /// (name, value) in the order first set.
    jar: Mutex<Vec<(String, String)>>,
}

impl ConnectionCookies {
    /// Keeps the `Set-Cookie`s of an answer from `from`, when it is one of the connection's
    /// hosts (`base` is the connection's REST base).
    pub fn store(&self, base: &url::Url, from: &url::Url, headers: &HeaderMap) {
        if token_may_go(base, from).is_err() {
            return;
        }
        let mut jar = self.jar.lock().unwrap_or_else(|e| e.into_inner());
        for v in headers.get_all("set-cookie") {
            let Some((name, value, remove)) = v.to_str().ok().and_then(parse_set_cookie) else {
                continue;
            };
            jar.retain(|(n, _)| *n != name);
            if !remove && jar.len() < MAX_COOKIES {
                jar.push((name, value));
            }
        }
    }

    /// The `Cookie` header for a request to `to` (None when it is not one of the connection's
    /// hosts, or there is nothing to send).
    pub fn header_for(&self, base: &url::Url, to: &url::Url) -> Option<String> {
        if token_may_go(base, to).is_err() {
            return None;
        }
        let jar = self.jar.lock().unwrap_or_else(|e| e.into_inner());
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// How many cookies the connection holds.
    pub fn len(&self) -> usize {
        self.jar.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `name=value; attr…` → (name, value, remove?). None for anything malformed or too big.
fn parse_set_cookie(v: &str) -> Option<(String, String, bool)> {
    if v.len() > MAX_COOKIE_BYTES {
        return None;
    }
    let mut parts = v.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (name.trim(), value.trim().trim_matches('"'));
    let token = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\\'))
    };
    if name.is_empty() || !token(name) || !token(value) {
        return None;
    }
    let expired = parts.any(|a| {
        a.trim()
            .split_once('=')
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("max-age"))
            .is_some_and(|(_, n)| n.trim().parse::<i64>().is_ok_and(|n| n <= 0))
    });
    Some((
        name.to_string(),
        value.to_string(),
        expired || value.is_empty(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn set(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append("set-cookie", c.parse().unwrap());
        }
        h
    }

    #[test]
    fn kept_from_and_sent_to_the_connections_hosts_only() {
        let base = u("https://ps.compliance.protection.outlook.com/");
        let regional = u("https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/t/x");
        let elsewhere = u("https://evil.example.com/x");
        let c = ConnectionCookies::default();
        c.store(&base, &base, &set(&["ExoAffinity=a1; Path=/; HttpOnly"]));
        c.store(&base, &elsewhere, &set(&["Stolen=1"]));
        assert_eq!(
            c.header_for(&base, &regional).as_deref(),
            Some("ExoAffinity=a1")
        );
        assert_eq!(c.header_for(&base, &elsewhere), None);
        // Replaced by name, removed by Max-Age=0; garbage ignored.
        c.store(
            &base,
            &regional,
            &set(&["ExoAffinity=a2", "B=2", "bad name=x", "=v"]),
        );
        assert_eq!(
            c.header_for(&base, &base).as_deref(),
            Some("ExoAffinity=a2; B=2")
        );
        c.store(&base, &regional, &set(&["B=gone; Max-Age=0"]));
        assert_eq!(
            c.header_for(&base, &base).as_deref(),
            Some("ExoAffinity=a2")
        );
        // Bounded.
        let many: Vec<String> = (0..100).map(|i| format!("C{i}=v")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        c.store(&base, &base, &set(&many));
        assert_eq!(c.len(), MAX_COOKIES);
        let huge = format!("H={}", "x".repeat(MAX_COOKIE_BYTES));
        assert!(parse_set_cookie(&huge).is_none());
    }
}
