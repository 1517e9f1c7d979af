//! Proxy resolution per profile and target URL (`-ProxyAccessType`), honoured for every
//! connection. Contract shared by the HTTP clients, the doctor and the editor's route display.
//!
//! This side builds each profile's HTTP client ([`Clients`], [`client_for`]): sign-in and the
//! REST client are handed the result. Proxy passwords come from `engine::secrets`.
//! One file per job besides the platforms' readers: this one (the types, a configuration's
//! route for a target), `config` (a profile's access type → its configuration, PAC scripts
//! fetched and cached), `client` (the profiles' HTTP clients), `report` (the editor's route
//! lines).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{Profile, ProxyAuthentication};

pub mod auth;
mod client;
mod config;
pub mod desktop;
pub mod env;
pub mod macos;
pub mod pac;
mod report;
pub mod winhttp;
pub mod wininet;
pub mod wpad;

pub use auth::ProxyAuthRequired;
pub use client::{ClientError, Clients, Selector, client_for, client_for_with};
pub use config::{load_config, pac_url_allowed};
pub use report::{route_report, route_report_with};
use wpad::Resolver;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    Direct,
    /// Through this proxy (`http://host:port`).
    Proxy {
        url: String,
    },
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

/// A proxy configuration read from a system setting (desktop, macOS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemProxy {
    /// Fixed proxies (`http://host:port`) per target scheme, with exceptions.
    Manual {
        https: Option<String>,
        http: Option<String>,
        bypass: Vec<String>,
    },
    /// A PAC file.
    Pac { url: String },
    /// WPAD.
    AutoDetect,
    /// "Use the environment" (KDE).
    Environment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
    MacOs,
    Other,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(target_os = "linux") {
            Os::Linux
        } else {
            Os::Other
        }
    }
}

/// Where proxy settings are read from. [`System`] reads the real machine; tests feed a
/// [`Fixture`].
pub trait SystemSource: Send + Sync {
    fn os(&self) -> Os;
    fn env(&self, name: &str) -> Option<String>;
    /// `gsettings list-recursively org.gnome.system.proxy` output, when gsettings exists.
    fn gsettings(&self) -> Option<String>;
    /// `~/.config/kioslaverc`, when present.
    fn kioslaverc(&self) -> Option<String>;
    /// `scutil --proxy` output (macOS).
    fn scutil(&self) -> Option<String>;
    /// The user's WinINet settings (Windows).
    fn wininet(&self) -> Option<wininet::WinInetSettings>;
    /// The machine's WinHTTP blob, parsed (Windows).
    fn winhttp(&self) -> Option<Result<winhttp::WinHttpSettings, winhttp::BlobError>>;
    fn resolver(&self) -> Arc<dyn Resolver>;
    /// Port of `http://wpad.<domain>/wpad.dat` (80; tests use another).
    fn wpad_port(&self) -> u16 {
        80
    }
    /// Whether loopback targets follow the settings too (`EXO_CONNECT_PROXY_LOOPBACK=1`; the
    /// proxy tests, whose sim is on loopback). False: loopback always goes direct.
    fn proxy_loopback(&self) -> bool {
        false
    }
}

/// The real machine.
#[derive(Debug, Clone, Default)]
pub struct System;

impl SystemSource for System {
    fn os(&self) -> Os {
        Os::current()
    }
    fn proxy_loopback(&self) -> bool {
        crate::engine::http::proxy_loopback_from_env()
    }
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn gsettings(&self) -> Option<String> {
        desktop::read_gsettings()
    }
    fn kioslaverc(&self) -> Option<String> {
        desktop::read_kioslaverc()
    }
    fn scutil(&self) -> Option<String> {
        #[cfg(target_os = "macos")]
        {
            macos::read_scutil()
        }
        #[cfg(not(target_os = "macos"))]
        {
            None
        }
    }
    fn wininet(&self) -> Option<wininet::WinInetSettings> {
        #[cfg(windows)]
        {
            wininet::read_user_settings()
        }
        #[cfg(not(windows))]
        {
            None
        }
    }
    fn winhttp(&self) -> Option<Result<winhttp::WinHttpSettings, winhttp::BlobError>> {
        #[cfg(windows)]
        {
            winhttp::read_machine_settings().transpose()
        }
        #[cfg(not(windows))]
        {
            None
        }
    }
    fn resolver(&self) -> Arc<dyn Resolver> {
        Arc::new(wpad::SystemResolver)
    }
}

/// Fixed inputs (tests, and the system tests' WPAD resolver).
#[derive(Clone)]
pub struct Fixture {
    pub os: Os,
    pub env: HashMap<String, String>,
    pub gsettings: Option<String>,
    pub kioslaverc: Option<String>,
    pub scutil: Option<String>,
    pub wininet: Option<wininet::WinInetSettings>,
    pub winhttp: Option<Vec<u8>>,
    pub resolver: Arc<dyn Resolver>,
    pub wpad_port: u16,
    /// Loopback targets follow the settings too (tests whose proxy and sim are on loopback).
    pub proxy_loopback: bool,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture {
            os: Os::Linux,
            env: HashMap::new(),
            gsettings: None,
            kioslaverc: None,
            scutil: None,
            wininet: None,
            winhttp: None,
            resolver: Arc::new(wpad::FixedResolver {
                hosts: HashMap::new(),
                my_ip: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)),
                domain: None,
            }),
            wpad_port: 80,
            proxy_loopback: false,
        }
    }
}

impl SystemSource for Fixture {
    fn os(&self) -> Os {
        self.os
    }
    fn proxy_loopback(&self) -> bool {
        self.proxy_loopback
    }
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn gsettings(&self) -> Option<String> {
        self.gsettings.clone()
    }
    fn kioslaverc(&self) -> Option<String> {
        self.kioslaverc.clone()
    }
    fn scutil(&self) -> Option<String> {
        self.scutil.clone()
    }
    fn wininet(&self) -> Option<wininet::WinInetSettings> {
        self.wininet.clone()
    }
    fn winhttp(&self) -> Option<Result<winhttp::WinHttpSettings, winhttp::BlobError>> {
        self.winhttp.as_deref().map(winhttp::parse_blob)
    }
    fn resolver(&self) -> Arc<dyn Resolver> {
        self.resolver.clone()
    }
    fn wpad_port(&self) -> u16 {
        self.wpad_port
    }
}

/// How targets are routed, once the settings are read.
#[derive(Clone)]
pub enum Rule {
    Direct,
    /// Fixed proxies per target scheme; `bypass` entries are NO_PROXY-style names/CIDRs or
    /// WinINet-style wildcards (`*.contoso.com`, `<local>`).
    Fixed {
        https: Option<String>,
        http: Option<String>,
        bypass: Vec<String>,
    },
    /// A fetched PAC script, evaluated per target.
    Pac {
        url: String,
        script: Arc<String>,
        resolver: Arc<dyn Resolver>,
        timeout: Duration,
    },
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Direct => write!(f, "Direct"),
            Rule::Fixed {
                https,
                http,
                bypass,
            } => f
                .debug_struct("Fixed")
                .field("https", https)
                .field("http", http)
                .field("bypass", bypass)
                .finish(),
            Rule::Pac { url, .. } => f.debug_struct("Pac").field("url", url).finish(),
        }
    }
}

/// A profile's proxy configuration: the rule plus where it came from.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub rule: Rule,
    /// e.g. "IEConfig (GNOME proxy settings)".
    pub source: String,
    pub notes: Vec<String>,
}

/// Whether a bypass entry list excludes `host`.
pub fn bypass_matches(entries: &[String], host: &str, port: Option<u16>) -> bool {
    entries.iter().any(|e| {
        let e = e.trim();
        if e.eq_ignore_ascii_case("<local>") || e.contains('*') || e.contains('?') {
            wininet::override_matches(e, host)
        } else {
            env::no_proxy_matches(e, host, port)
        }
    })
}

fn split_list(s: &str, seps: &[char]) -> Vec<String> {
    s.split(seps)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

impl ProxyConfig {
    fn direct(source: impl Into<String>, notes: Vec<String>) -> Self {
        ProxyConfig {
            rule: Rule::Direct,
            source: source.into(),
            notes,
        }
    }

    /// The route of one target (evaluates the PAC script when there is one; may block briefly).
    /// A loopback target (127.0.0.0/8, ::1, localhost) is always direct.
    pub fn route_for(&self, target: &url::Url) -> Route {
        self.route(target, false)
    }

    /// Same, but a loopback target follows the settings like any other
    /// ([`SystemSource::proxy_loopback`]).
    pub fn route_including_loopback(&self, target: &url::Url) -> Route {
        self.route(target, true)
    }

    fn route(&self, target: &url::Url, include_loopback: bool) -> Route {
        let mut notes = self.notes.clone();
        let host = target.host_str().unwrap_or("").to_string();
        if !include_loopback && crate::engine::http::is_loopback_url(target) {
            notes.push(format!(
                "{host} is this machine: loopback traffic never goes through a proxy"
            ));
            return Route {
                kind: RouteKind::Direct,
                source: self.source.clone(),
                notes,
            };
        }
        let kind = match &self.rule {
            Rule::Direct => RouteKind::Direct,
            Rule::Fixed {
                https,
                http,
                bypass,
            } => fixed_route(target, &host, https, http, bypass, &mut notes),
            Rule::Pac {
                script,
                resolver,
                timeout,
                ..
            } => {
                match pac::find_proxy(script, target.as_str(), &host, resolver.clone(), *timeout) {
                    Ok(result) => pac_route(&result, &mut notes),
                    Err(e) => {
                        notes.push(format!("{e}; going direct"));
                        RouteKind::Direct
                    }
                }
            }
        };
        Route {
            kind,
            source: self.source.clone(),
            notes,
        }
    }
}

/// A fixed proxy's route: direct when the host is in the exception list, else the scheme's
/// proxy (direct when there is none for it).
fn fixed_route(
    target: &url::Url,
    host: &str,
    https: &Option<String>,
    http: &Option<String>,
    bypass: &[String],
    notes: &mut Vec<String>,
) -> RouteKind {
    if bypass_matches(bypass, host, target.port_or_known_default()) {
        notes.push(format!("{host} is in the proxy exception list"));
        return RouteKind::Direct;
    }
    let p = if target.scheme() == "https" {
        https
    } else {
        http
    };
    match p {
        Some(url) => RouteKind::Proxy { url: url.clone() },
        None => RouteKind::Direct,
    }
}

/// The first usable entry of a PAC script's answer (`PROXY a:1; DIRECT`); SOCKS entries are
/// skipped with a note, and no usable entry goes direct.
fn pac_route(result: &str, notes: &mut Vec<String>) -> RouteKind {
    for e in pac::parse_result(result) {
        match e {
            pac::PacEntry::Direct => return RouteKind::Direct,
            pac::PacEntry::Proxy(hp) => {
                return RouteKind::Proxy {
                    url: format!("http://{hp}"),
                };
            }
            pac::PacEntry::Https(hp) => {
                return RouteKind::Proxy {
                    url: format!("https://{hp}"),
                };
            }
            pac::PacEntry::Socks(hp) => notes.push(format!(
                "the PAC script offers SOCKS {hp}, which exo-connect does not support; skipped"
            )),
        }
    }
    notes.push("the PAC script offered no usable entry; going direct".to_string());
    RouteKind::Direct
}

/// Resolves the route a profile's traffic to `target` takes, from the real system settings.
pub async fn resolve(profile: &Profile, target: &url::Url) -> Route {
    resolve_with(profile, target, Arc::new(System)).await
}

/// Same, with the settings read from `sys`.
pub async fn resolve_with(
    profile: &Profile,
    target: &url::Url,
    sys: Arc<dyn SystemSource>,
) -> Route {
    let include_loopback = sys.proxy_loopback();
    let cfg = load_config(profile.proxy.access_type, sys).await;
    let target = target.clone();
    let mut route = tokio::task::spawn_blocking(move || cfg.route(&target, include_loopback))
        .await
        .unwrap_or_else(|e| Route {
            kind: RouteKind::Direct,
            source: profile.proxy.access_type.as_str().to_string(),
            notes: vec![format!("route evaluation failed: {e}")],
        });
    if let RouteKind::Proxy { .. } = route.kind
        && let Some(n) = auth_note(profile)
    {
        route.notes.push(n);
    }
    route
}

fn auth_note(profile: &Profile) -> Option<String> {
    match (profile.proxy.authentication, profile.proxy.user.as_deref()) {
        (Some(ProxyAuthentication::Basic), Some(u)) if !u.is_empty() => {
            Some(format!("proxy authentication: Basic as {u} (password from the keychain)"))
        }
        (Some(ProxyAuthentication::Basic), _) => Some(
            "proxy authentication: Basic, but no proxy user is set".to_string(),
        ),
        (Some(ProxyAuthentication::Digest), _) => Some(
            "proxy authentication: Digest is not supported (no Digest in our HTTP stack); use Basic if the proxy asks for credentials".to_string(),
        ),
        (Some(ProxyAuthentication::Negotiate), _) if !cfg!(windows) => Some(
            "proxy authentication: Negotiate needs Windows (SSPI); if the proxy asks for credentials, use Basic with a proxy user".to_string(),
        ),
        (None, Some(u)) if !u.is_empty() => Some(format!(
            "proxy authentication: Basic as {u} when a password is stored (Negotiate, the PowerShell default, needs Windows)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::http::HttpOptions;
    use crate::engine::secrets::SecretStore;
    use crate::model::ProxyAccessType;

    fn profile(access: ProxyAccessType) -> Profile {
        let mut p = Profile::new(
            "contoso",
            "ops@contoso.com",
            crate::model::Service::ExchangeOnline,
        );
        p.proxy.access_type = access;
        p
    }

    fn fx(f: impl FnOnce(&mut Fixture)) -> Arc<dyn SystemSource> {
        let mut x = Fixture::default();
        f(&mut x);
        Arc::new(x)
    }

    fn target() -> url::Url {
        url::Url::parse("https://outlook.office365.com/adminapi").unwrap()
    }

    #[tokio::test]
    async fn access_types_resolve_from_their_sources() {
        let env_proxy = |x: &mut Fixture| {
            x.env
                .insert("HTTPS_PROXY".into(), "http://proxy.contoso.com:8080".into());
        };
        // NoProxyServer ignores the environment.
        let r = resolve_with(
            &profile(ProxyAccessType::NoProxyServer),
            &target(),
            fx(env_proxy),
        )
        .await;
        assert_eq!(r.describe(), "direct, from NoProxyServer");
        // None: the environment on Linux.
        let r = resolve_with(&profile(ProxyAccessType::None), &target(), fx(env_proxy)).await;
        assert_eq!(
            r.describe(),
            "via proxy.contoso.com:8080, from None (platform default) (environment HTTPS_PROXY)"
        );
        let r = resolve_with(&profile(ProxyAccessType::None), &target(), fx(|_| {})).await;
        assert_eq!(r.kind, RouteKind::Direct);
        // IEConfig on Linux: GNOME settings when the environment has none.
        let gnome = "org.gnome.system.proxy mode 'manual'\norg.gnome.system.proxy ignore-hosts ['localhost', '*.contoso.com']\norg.gnome.system.proxy.https host 'gw.contoso.com'\norg.gnome.system.proxy.https port 3128\n";
        let r = resolve_with(
            &profile(ProxyAccessType::IEConfig),
            &target(),
            fx(|x| x.gsettings = Some(gnome.into())),
        )
        .await;
        assert_eq!(
            r.describe(),
            "via gw.contoso.com:3128, from IEConfig (GNOME proxy settings)"
        );
        let r = resolve_with(
            &profile(ProxyAccessType::IEConfig),
            &url::Url::parse("https://mail.contoso.com/").unwrap(),
            fx(|x| x.gsettings = Some(gnome.into())),
        )
        .await;
        assert_eq!(r.kind, RouteKind::Direct);
        // KDE when there is no GNOME.
        let r = resolve_with(
            &profile(ProxyAccessType::IEConfig),
            &target(),
            fx(|x| {
                x.kioslaverc = Some(
                    "[Proxy Settings]\nProxyType=1\nhttpsProxy=http://kde.contoso.com 8080\n"
                        .into(),
                )
            }),
        )
        .await;
        assert_eq!(
            r.describe(),
            "via kde.contoso.com:8080, from IEConfig (KDE proxy settings)"
        );
        // IEConfig on Windows: WinINet per-scheme + override.
        let win = |x: &mut Fixture| {
            x.os = Os::Windows;
            x.wininet = Some(wininet::WinInetSettings {
                proxy_enable: true,
                proxy_server: Some("http=p1.contoso.com:80;https=p2.contoso.com:8443".into()),
                proxy_override: Some("<local>;*.office365.com".into()),
                auto_config_url: None,
            });
        };
        let r = resolve_with(
            &profile(ProxyAccessType::IEConfig),
            &url::Url::parse("https://login.microsoftonline.com/").unwrap(),
            fx(win),
        )
        .await;
        assert_eq!(
            r.describe(),
            "via p2.contoso.com:8443, from IEConfig (Internet Options)"
        );
        let r = resolve_with(&profile(ProxyAccessType::IEConfig), &target(), fx(win)).await;
        assert_eq!(r.kind, RouteKind::Direct, "{r:?}");
        // IEConfig on macOS.
        let r = resolve_with(
            &profile(ProxyAccessType::IEConfig),
            &target(),
            fx(|x| {
                x.os = Os::MacOs;
                x.scutil = Some("<dictionary> {\n  HTTPSEnable : 1\n  HTTPSPort : 8443\n  HTTPSProxy : mac.contoso.com\n}\n".into());
            }),
        )
        .await;
        assert_eq!(
            r.describe(),
            "via mac.contoso.com:8443, from IEConfig (macOS network settings)"
        );
    }

    #[tokio::test]
    async fn winhttp_config_on_windows_and_elsewhere() {
        let mut blob = vec![0x28, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0];
        let server = b"wh.contoso.com:8080";
        blob.extend((server.len() as u32).to_le_bytes());
        blob.extend(server);
        blob.extend(0u32.to_le_bytes());
        let r = resolve_with(
            &profile(ProxyAccessType::WinHttpConfig),
            &target(),
            fx(|x| {
                x.os = Os::Windows;
                x.winhttp = Some(blob.clone());
            }),
        )
        .await;
        assert_eq!(
            r.describe(),
            "via wh.contoso.com:8080, from WinHttpConfig (netsh winhttp proxy)"
        );
        let r = resolve_with(
            &profile(ProxyAccessType::WinHttpConfig),
            &target(),
            fx(|x| {
                x.env.insert("https_proxy".into(), "envproxy:3128".into());
            }),
        )
        .await;
        assert_eq!(
            r.describe(),
            "via envproxy:3128, from WinHttpConfig (environment https_proxy)"
        );
        assert!(r.notes[0].contains("Windows-only"), "{:?}", r.notes);
        assert!(r.notes[0].contains("environment"), "{:?}", r.notes);
    }

    #[tokio::test]
    async fn http_pac_from_another_machine_is_refused_in_plain_words() {
        // WPAD finds wpad.corp.contoso.com on a LAN address: plain http, not fetched.
        let sys = fx(|x| {
            x.resolver = Arc::new(wpad::FixedResolver {
                hosts: [(
                    "wpad.corp.contoso.com".to_string(),
                    "10.0.0.9".parse().unwrap(),
                )]
                .into_iter()
                .collect(),
                my_ip: "10.0.0.5".parse().unwrap(),
                domain: Some("corp.contoso.com".into()),
            });
            x.env.insert(
                "HTTPS_PROXY".into(),
                "http://fallback.contoso.com:8080".into(),
            );
        });
        let r = resolve_with(&profile(ProxyAccessType::AutoDetect), &target(), sys).await;
        assert_eq!(
            r.kind,
            RouteKind::Proxy {
                url: "http://fallback.contoso.com:8080".into()
            }
        );
        let all = r.notes.join("\n");
        assert!(
            all.contains("http://wpad.corp.contoso.com/wpad.dat was found but not used"),
            "{all}"
        );
        assert!(all.contains("only over https"), "{all}");
        assert!(all.contains("using instead"), "{all}");
        // A plain-http AutoConfigURL on Windows: same rule.
        assert!(pac_url_allowed("http://pac.contoso.com/p.pac", None).is_err());
        assert!(pac_url_allowed("https://pac.contoso.com/p.pac", None).is_ok());
        assert!(pac_url_allowed("http://127.0.0.1:9/p.pac", None).is_ok());
        assert!(
            pac_url_allowed(
                "http://wpad.test/wpad.dat",
                Some("127.0.0.1".parse().unwrap())
            )
            .is_ok()
        );
        assert!(pac_url_allowed("file:///etc/p.pac", None).is_err());
    }

    #[tokio::test]
    async fn autodetect_without_wpad_says_so() {
        let r = resolve_with(&profile(ProxyAccessType::AutoDetect), &target(), fx(|_| {})).await;
        assert_eq!(r.kind, RouteKind::Direct);
        assert!(r.source.starts_with("AutoDetect"), "{}", r.source);
        assert!(
            r.notes.iter().any(|n| n.contains("no DNS domain")),
            "{:?}",
            r.notes
        );
    }

    #[tokio::test]
    async fn pac_over_loopback_is_fetched_and_evaluated() {
        let script = "function FindProxyForURL(url, host) { if (dnsDomainIs(host, '.office365.com')) return 'PROXY pac-proxy.contoso.com:3128; DIRECT'; return 'DIRECT'; }";
        let app = axum::Router::new().route(
            "/wpad.dat",
            axum::routing::get(move || async move { script }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        let sys = fx(|x| {
            x.resolver = Arc::new(wpad::FixedResolver {
                hosts: [("wpad.lab.test".to_string(), "127.0.0.1".parse().unwrap())]
                    .into_iter()
                    .collect(),
                my_ip: "10.9.9.9".parse().unwrap(),
                domain: Some(format!("pac{port}.lab.test")),
            });
            x.wpad_port = port;
        });
        let p = profile(ProxyAccessType::AutoDetect);
        let r = resolve_with(&p, &target(), sys.clone()).await;
        assert_eq!(
            r.describe(),
            format!(
                "via pac-proxy.contoso.com:3128, from AutoDetect (WPAD http://wpad.lab.test:{port}/wpad.dat)"
            )
        );
        let r = resolve_with(
            &p,
            &url::Url::parse("https://login.microsoftonline.com/").unwrap(),
            sys.clone(),
        )
        .await;
        assert_eq!(r.kind, RouteKind::Direct);
        let lines = tokio::task::spawn_blocking(move || route_report_with(&p, sys))
            .await
            .unwrap();
        assert!(
            lines.iter().any(|l| l
                .starts_with("Admin API (outlook.office365.com): via pac-proxy.contoso.com:3128")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Sign-in (login.microsoftonline.com): direct")),
            "{lines:?}"
        );
    }

    #[test]
    fn describe_and_bypass() {
        let r = Route {
            kind: RouteKind::Proxy {
                url: "http://proxy.contoso.com:8080".into(),
            },
            source: "IEConfig (GNOME proxy settings)".into(),
            notes: vec![],
        };
        assert_eq!(
            r.describe(),
            "via proxy.contoso.com:8080, from IEConfig (GNOME proxy settings)"
        );
        let b = vec![
            "<local>".to_string(),
            "*.contoso.com".into(),
            "10.0.0.0/8".into(),
            ".fabrikam.com".into(),
        ];
        assert!(bypass_matches(&b, "intranet", None));
        assert!(bypass_matches(&b, "a.contoso.com", None));
        assert!(bypass_matches(&b, "10.2.3.4", None));
        assert!(bypass_matches(&b, "x.fabrikam.com", None));
        assert!(!bypass_matches(&b, "outlook.office365.com", None));
    }

    #[tokio::test]
    async fn client_routes_loopback_through_the_profile_proxy_only_when_asked() {
        // A fake proxy that answers 407: the request must reach it (not go direct to the target).
        let app = axum::Router::new().fallback(|| async {
            (
                axum::http::StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                [("proxy-authenticate", "Basic realm=\"t\"")],
                "",
            )
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        let env = |x: &mut Fixture| {
            x.env
                .insert("HTTP_PROXY".into(), format!("http://127.0.0.1:{port}"));
        };
        let p = profile(ProxyAccessType::IEConfig);
        // Port 9 on loopback: nothing listens; only the proxy can answer.
        let t = url::Url::parse("http://127.0.0.1:9/x").unwrap();
        let direct = client_for_with(&p, &SecretStore::memory(), fx(env), &HttpOptions::default())
            .await
            .unwrap();
        assert!(
            direct.get(t.clone()).send().await.is_err(),
            "loopback goes direct (and finds nothing on port 9)"
        );
        let sys = fx(|x| {
            env(x);
            x.proxy_loopback = true;
        });
        let c = client_for_with(&p, &SecretStore::memory(), sys, &HttpOptions::default())
            .await
            .unwrap();
        let resp = c.get(t.clone()).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 407);
        let e = ProxyAuthRequired::from_response(&t, resp.headers());
        assert_eq!(e.proxy, format!("127.0.0.1:{port}"));
        assert!(!e.sent_credential);
    }

    #[test]
    fn loopback_targets_are_direct_for_every_rule() {
        let fixed = ProxyConfig {
            rule: Rule::Fixed {
                https: Some("http://proxy.corp:8080".into()),
                http: Some("http://proxy.corp:8080".into()),
                bypass: vec![],
            },
            source: "IEConfig".into(),
            notes: vec![],
        };
        for t in [
            "http://127.0.0.1:5000/x",
            "http://127.9.9.9/x",
            "http://[::1]:9/x",
            "http://localhost:1/x",
            "https://LOCALHOST/x",
        ] {
            let u = url::Url::parse(t).unwrap();
            let r = fixed.route_for(&u);
            assert_eq!(r.kind, RouteKind::Direct, "{t}");
            assert!(r.notes.iter().any(|n| n.contains("loopback")), "{t}");
            assert!(matches!(
                fixed.route_including_loopback(&u).kind,
                RouteKind::Proxy { .. }
            ));
        }
        assert!(matches!(
            fixed.route_for(&target()).kind,
            RouteKind::Proxy { .. }
        ));
    }

    #[tokio::test]
    async fn a_407_to_connect_is_recognised_for_https_targets() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).await.unwrap_or(0);
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("CONNECT "));
                let _ = s
                    .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let sys = fx(|x| {
            x.env
                .insert("HTTPS_PROXY".into(), format!("http://127.0.0.1:{port}"));
        });
        let p = profile(ProxyAccessType::IEConfig);
        let c = client_for_with(&p, &SecretStore::memory(), sys, &HttpOptions::default())
            .await
            .unwrap();
        let t = url::Url::parse("https://connect-407.example.test/x").unwrap();
        let e = c.get(t.clone()).send().await.unwrap_err();
        let a = ProxyAuthRequired::from_error(&t, &e).expect("a 407 to CONNECT is recognised");
        assert_eq!(a.proxy, format!("127.0.0.1:{port}"));
        let other = reqwest::Client::new()
            .get("http://127.0.0.1:9/")
            .send()
            .await
            .unwrap_err();
        assert!(ProxyAuthRequired::from_error(&t, &other).is_none());
    }
}
