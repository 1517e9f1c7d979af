//! A profile's proxy access type read into a [`ProxyConfig`]: the environment, the desktop's or
//! the OS's settings, WinINet / WinHTTP, WPAD; a PAC script fetched (https, or http from this
//! machine only) and cached per network for 15 minutes, with the fallback used when it cannot be.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::wpad::Resolver;
use super::{
    Os, ProxyConfig, Rule, SystemProxy, SystemSource, desktop, env, macos, pac, split_list,
    wininet, wpad,
};
use crate::engine::http::{BodyError, SMALL_BODY_CAP, read_capped, size_text};
use crate::model::ProxyAccessType;

/// What reading the settings needs next.
enum Plan {
    Done(ProxyConfig),
    /// Fetch this PAC (connecting to `addr` when given), then evaluate; `fallback` if it cannot
    /// be used.
    Pac {
        source: String,
        url: String,
        addr: Option<IpAddr>,
        notes: Vec<String>,
        fallback: ProxyConfig,
    },
}

fn env_config(label: &str, sys: &dyn SystemSource, notes: Vec<String>) -> ProxyConfig {
    let e = |n: &str| sys.env(n);
    let https = env::env_proxy_for(&e, "https");
    let http = env::env_proxy_for(&e, "http");
    let bypass = env::env_no_proxy(&e)
        .map(|v| split_list(&v, &[',', ' ']))
        .unwrap_or_default();
    match (&https, &http) {
        (None, None) => {
            ProxyConfig::direct(format!("{label} (no proxy in the environment)"), notes)
        }
        _ => {
            let mut vars: Vec<String> = Vec::new();
            for p in [&https, &http].into_iter().flatten() {
                if !vars.contains(&p.var) {
                    vars.push(p.var.clone());
                }
            }
            ProxyConfig {
                rule: Rule::Fixed {
                    https: https.map(|p| p.url),
                    http: http.map(|p| p.url),
                    bypass,
                },
                source: format!("{label} (environment {})", vars.join(", ")),
                notes,
            }
        }
    }
}

fn env_has_proxy(sys: &dyn SystemSource) -> bool {
    let e = |n: &str| sys.env(n);
    env::env_proxy_for(&e, "https").is_some() || env::env_proxy_for(&e, "http").is_some()
}

fn system_proxy_plan(
    label: &str,
    what: &str,
    sp: SystemProxy,
    sys: &dyn SystemSource,
    notes: Vec<String>,
) -> Plan {
    match sp {
        SystemProxy::Manual {
            https,
            http,
            bypass,
        } => Plan::Done(ProxyConfig {
            rule: Rule::Fixed {
                https,
                http,
                bypass,
            },
            source: format!("{label} ({what})"),
            notes,
        }),
        SystemProxy::Pac { url } => Plan::Pac {
            source: format!("{label} ({what}, PAC {url})"),
            url,
            addr: None,
            notes,
            fallback: env_config(&format!("{label} fallback"), sys, vec![]),
        },
        SystemProxy::AutoDetect => wpad_plan(&format!("{label} ({what}: auto-detect)"), sys, notes),
        SystemProxy::Environment => Plan::Done(env_config(label, sys, notes)),
    }
}

fn wininet_plan(label: &str, sys: &dyn SystemSource, notes: Vec<String>) -> Plan {
    let Some(s) = sys.wininet() else {
        return Plan::Done(ProxyConfig::direct(
            format!("{label} (Internet Options could not be read)"),
            notes,
        ));
    };
    if let Some(url) = s.auto_config_url.clone() {
        return Plan::Pac {
            source: format!("{label} (Internet Options AutoConfigURL {url})"),
            url,
            addr: None,
            notes,
            fallback: wininet_fixed(label, &s, vec![]),
        };
    }
    Plan::Done(wininet_fixed(label, &s, notes))
}

fn wininet_fixed(label: &str, s: &wininet::WinInetSettings, notes: Vec<String>) -> ProxyConfig {
    match (&s.proxy_server, s.proxy_enable) {
        (Some(server), true) => ProxyConfig {
            rule: Rule::Fixed {
                https: wininet::proxy_server_for(server, "https")
                    .and_then(|p| env::normalize_proxy(&p)),
                http: wininet::proxy_server_for(server, "http")
                    .and_then(|p| env::normalize_proxy(&p)),
                bypass: s
                    .proxy_override
                    .as_deref()
                    .map(|o| split_list(o, &[';']))
                    .unwrap_or_default(),
            },
            source: format!("{label} (Internet Options)"),
            notes,
        },
        _ => ProxyConfig::direct(format!("{label} (Internet Options: no proxy)"), notes),
    }
}

fn wpad_plan(label: &str, sys: &dyn SystemSource, mut notes: Vec<String>) -> Plan {
    let resolver = sys.resolver();
    let (found, tried) = wpad::discover(&*resolver, sys.wpad_port());
    if sys.os() == Os::Windows {
        notes.push(
            "WPAD is discovered by DNS (wpad.<domain>), not through WinHTTP's DHCP discovery"
                .to_string(),
        );
    }
    match found {
        Some(f) => Plan::Pac {
            source: format!("{label} (WPAD {})", f.url),
            url: f.url,
            addr: Some(f.address),
            notes,
            fallback: env_config(&format!("{label} fallback"), sys, vec![]),
        },
        None => {
            notes.push(if tried.is_empty() {
                "WPAD: this machine has no DNS domain, so there is no wpad.<domain> to ask"
                    .to_string()
            } else {
                format!("WPAD: none of {} resolves", tried.join(", "))
            });
            Plan::Done(env_config(&format!("{label}, no WPAD"), sys, notes))
        }
    }
}

fn plan(access: ProxyAccessType, sys: &dyn SystemSource) -> Plan {
    match access {
        ProxyAccessType::NoProxyServer => Plan::Done(ProxyConfig::direct("NoProxyServer", vec![])),
        ProxyAccessType::None => platform_default_plan(sys),
        ProxyAccessType::IEConfig => ie_config_plan(sys),
        ProxyAccessType::WinHttpConfig => winhttp_plan(sys),
        ProxyAccessType::AutoDetect => wpad_plan("AutoDetect", sys, vec![]),
    }
}

/// `None`: what the platform does by default (Internet Options, macOS settings, environment).
fn platform_default_plan(sys: &dyn SystemSource) -> Plan {
    const LABEL: &str = "None (platform default)";
    match sys.os() {
        Os::Windows => wininet_plan(LABEL, sys, vec![]),
        Os::MacOs => match sys.scutil().and_then(|t| macos::parse_scutil(&t)) {
            Some(sp) => system_proxy_plan(LABEL, "macOS network settings", sp, sys, vec![]),
            None => Plan::Done(env_config(LABEL, sys, vec![])),
        },
        _ => Plan::Done(env_config(LABEL, sys, vec![])),
    }
}

/// `IEConfig`: Internet Options on Windows, the network settings on macOS; elsewhere the
/// environment, then GNOME's, then KDE's settings.
fn ie_config_plan(sys: &dyn SystemSource) -> Plan {
    match sys.os() {
        Os::Windows => wininet_plan("IEConfig", sys, vec![]),
        Os::MacOs => match sys.scutil().and_then(|t| macos::parse_scutil(&t)) {
            Some(sp) => system_proxy_plan("IEConfig", "macOS network settings", sp, sys, vec![]),
            None => Plan::Done(ProxyConfig::direct(
                "IEConfig (macOS network settings: no proxy)",
                vec![],
            )),
        },
        _ => {
            if env_has_proxy(sys) {
                return Plan::Done(env_config("IEConfig", sys, vec![]));
            }
            if let Some(sp) = sys.gsettings().and_then(|t| desktop::parse_gsettings(&t)) {
                return system_proxy_plan("IEConfig", "GNOME proxy settings", sp, sys, vec![]);
            }
            if let Some(sp) = sys.kioslaverc().and_then(|t| desktop::parse_kioslaverc(&t)) {
                return system_proxy_plan("IEConfig", "KDE proxy settings", sp, sys, vec![]);
            }
            Plan::Done(ProxyConfig::direct(
                "IEConfig (no proxy in the environment or the desktop settings)",
                vec![],
            ))
        }
    }
}

/// `WinHttpConfig`: the machine's `netsh winhttp` proxy on Windows; the environment elsewhere
/// (with a note saying so).
fn winhttp_plan(sys: &dyn SystemSource) -> Plan {
    if sys.os() != Os::Windows {
        return Plan::Done(env_config(
            "WinHttpConfig",
            sys,
            vec![
                "WinHttpConfig is Windows-only (the machine's `netsh winhttp` proxy); on this system the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) is used instead"
                    .to_string(),
            ],
        ));
    }
    match sys.winhttp() {
        Some(Ok(s)) if s.uses_proxy() => {
            let server = s.proxy_server.clone().unwrap_or_default();
            Plan::Done(ProxyConfig {
                rule: Rule::Fixed {
                    https: wininet::proxy_server_for(&server, "https")
                        .and_then(|p| env::normalize_proxy(&p)),
                    http: wininet::proxy_server_for(&server, "http")
                        .and_then(|p| env::normalize_proxy(&p)),
                    bypass: s
                        .bypass
                        .as_deref()
                        .map(|o| split_list(o, &[';']))
                        .unwrap_or_default(),
                },
                source: "WinHttpConfig (netsh winhttp proxy)".into(),
                notes: vec![],
            })
        }
        Some(Ok(_)) | None => Plan::Done(ProxyConfig::direct(
            "WinHttpConfig (netsh winhttp: direct access)",
            vec![],
        )),
        Some(Err(e)) => Plan::Done(ProxyConfig::direct(
            "WinHttpConfig (unreadable)",
            vec![format!(
                "{e}; going direct. `netsh winhttp show proxy` shows the setting"
            )],
        )),
    }
}

/// Whether a PAC URL may be fetched: https, or http to this machine (a loopback host, or a
/// WPAD name that resolves to loopback). Err: the plain-words reason.
pub fn pac_url_allowed(url: &str, addr: Option<IpAddr>) -> Result<url::Url, String> {
    let u = url::Url::parse(url).map_err(|_| format!("'{url}' is not a valid PAC address"))?;
    let host = u.host_str().unwrap_or("");
    match u.scheme() {
        "https" => Ok(u),
        "http"
            if crate::engine::http::is_loopback_host(host)
                || addr.is_some_and(|a| a.is_loopback()) =>
        {
            Ok(u)
        }
        "http" => Err(format!(
            "the proxy script {url} was found but not used: it is served over plain http from another machine, and exo-connect fetches proxy scripts only over https (anyone on the network could change a plain-http script and send your sign-in through their proxy). To fix: publish the PAC file on https and set that address (AutoConfigURL), or choose IEConfig with an explicit proxy, or set HTTPS_PROXY"
        )),
        other => Err(format!(
            "the proxy script address {url} uses {other}://; only https PAC addresses are fetched"
        )),
    }
}

/// Fetched PAC scripts per (URL, network), with when they were fetched.
type PacCache = HashMap<String, (Instant, Arc<String>)>;
static PAC_CACHE: Mutex<Option<PacCache>> = Mutex::new(None);
const PAC_CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// The network a PAC result is cached for: our address and DNS domain.
fn network_key(url: &str, r: &dyn Resolver) -> String {
    format!("{url}|{}|{}", r.my_ip(), r.dns_domain().unwrap_or_default())
}

async fn fetch_pac(url: &url::Url, addr: Option<IpAddr>) -> Result<String, String> {
    crate::engine::http::install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("exo-connect/", env!("CARGO_PKG_VERSION")));
    if let (Some(a), Some(host)) = (addr, url.host_str()) {
        b = b.resolve(
            host,
            std::net::SocketAddr::new(a, url.port_or_known_default().unwrap_or(80)),
        );
    }
    let c = b.build().map_err(|e| e.to_string())?;
    let resp = c
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("could not fetch the proxy script {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!(
            "could not fetch the proxy script {url}: the server answered {}",
            resp.status()
        ));
    }
    // Read with the cap: an endless or huge answer is not read past 1 MiB.
    let bytes = read_capped(resp, SMALL_BODY_CAP)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => format!(
                "the proxy script {url} is larger than {}; not used",
                size_text(SMALL_BODY_CAP)
            ),
            BodyError::Read { detail, .. } => {
                format!("could not read the proxy script {url}: {detail}")
            }
        })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(text)
}

/// Reads the settings a profile's access type names (blocking reads run off the async
/// threads; PAC scripts are fetched and cached per network).
pub async fn load_config(access: ProxyAccessType, sys: Arc<dyn SystemSource>) -> ProxyConfig {
    let s2 = sys.clone();
    let p = match tokio::task::spawn_blocking(move || plan(access, &*s2)).await {
        Ok(p) => p,
        Err(e) => {
            return ProxyConfig::direct(
                access.as_str(),
                vec![format!("reading the proxy settings failed: {e}")],
            );
        }
    };
    match p {
        Plan::Done(c) => c,
        Plan::Pac {
            source,
            url,
            addr,
            mut notes,
            fallback,
        } => {
            let resolver = sys.resolver();
            let fall = |why: String, notes: Vec<String>| {
                let mut f = fallback.clone();
                let mut n = notes;
                n.push(why);
                n.push(format!("using instead: {}", f.source));
                n.append(&mut f.notes);
                f.notes = n;
                f
            };
            let u = match pac_url_allowed(&url, addr) {
                Ok(u) => u,
                Err(why) => return fall(why, notes),
            };
            let r2 = resolver.clone();
            let key = {
                let url = url.clone();
                tokio::task::spawn_blocking(move || network_key(&url, &*r2))
                    .await
                    .unwrap_or_default()
            };
            let cached = PAC_CACHE
                .lock()
                .unwrap()
                .get_or_insert_with(HashMap::new)
                .get(&key)
                .filter(|(t, _)| t.elapsed() < PAC_CACHE_TTL)
                .map(|(_, s)| s.clone());
            let script = match cached {
                Some(s) => s,
                None => match fetch_pac(&u, addr).await {
                    Ok(s) => {
                        let s = Arc::new(s);
                        PAC_CACHE
                            .lock()
                            .unwrap()
                            .get_or_insert_with(HashMap::new)
                            .insert(key, (Instant::now(), s.clone()));
                        s
                    }
                    Err(why) => {
                        notes.push(why);
                        return fall("the proxy script could not be used".into(), notes);
                    }
                },
            };
            ProxyConfig {
                rule: Rule::Pac {
                    url,
                    script,
                    resolver,
                    timeout: pac::PAC_TIMEOUT,
                },
                source,
                notes,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback server answering `/wpad.dat` with `body`.
    async fn serve(body: axum::body::Body) -> url::Url {
        let body = Arc::new(Mutex::new(Some(body)));
        let app = axum::Router::new().route(
            "/wpad.dat",
            axum::routing::get(move || {
                let b = body.lock().unwrap().take().unwrap_or_default();
                async move { b }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        url::Url::parse(&format!("http://127.0.0.1:{port}/wpad.dat")).unwrap()
    }

    #[tokio::test]
    async fn a_proxy_script_is_read_only_up_to_one_mib() {
        // An endless script: refused once 1 MiB arrived, not read until the timeout.
        let chunk = axum::body::Bytes::from(vec![b'/'; 64 * 1024]);
        let endless =
            futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        let url = serve(axum::body::Body::from_stream(endless)).await;
        let t = Instant::now();
        let e = fetch_pac(&url, None).await.unwrap_err();
        assert!(e.contains("larger than 1 MiB"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        // A declared length over the cap is refused before reading.
        let url = serve(axum::body::Body::from(vec![b' '; 2 * 1024 * 1024])).await;
        let e = fetch_pac(&url, None).await.unwrap_err();
        assert!(e.contains("larger than 1 MiB"), "{e}");
        // Under the cap: the script.
        let url = serve(axum::body::Body::from(
            "function FindProxyForURL(u, h) { return 'DIRECT'; }",
        ))
        .await;
        assert!(fetch_pac(&url, None).await.unwrap().contains("DIRECT"));
    }
}
