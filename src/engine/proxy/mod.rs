//! Proxy resolution per profile and target URL (`-ProxyAccessType`), honoured for every
//! connection. Contract shared by the HTTP clients, the doctor and the editor's route display.

use crate::model::Profile;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    Direct,
    /// Through this proxy (`http://host:port`).
    Proxy { url: String },
}

/// The route for one target URL, with where the decision came from, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// e.g. "NoProxyServer", "IEConfig (GNOME proxy settings)", "AutoDetect (PAC http://wpad.contoso.com/wpad.dat)".
    pub source: String,
    /// Plain-words notes, e.g. that WinHttpConfig is Windows-only and what is used instead.
    pub notes: Vec<String>,
}

impl Route {
    /// "via proxy.contoso.com:8080, from IEConfig (...)" or "direct, from NoProxyServer".
    pub fn describe(&self) -> String {
        match &self.kind {
            RouteKind::Direct => format!("direct, from {}", self.source),
            RouteKind::Proxy { url } => {
                let hostport = url
                    .split("://")
                    .nth(1)
                    .unwrap_or(url)
                    .trim_end_matches('/')
                    .to_string();
                format!("via {hostport}, from {}", self.source)
            }
        }
    }
}

/// Resolves the route a profile's traffic to `target` takes.
/// (Placeholder until the proxy issue lands: direct for every access type.)
pub async fn resolve(profile: &Profile, target: &url::Url) -> Route {
    let _ = target;
    Route {
        kind: RouteKind::Direct,
        source: profile.proxy.access_type.as_str().to_string(),
        notes: Vec::new(),
    }
}
