//! Linux desktop proxy settings: GNOME (`gsettings list-recursively org.gnome.system.proxy`)
//! and KDE (`~/.config/kioslaverc`, group `[Proxy Settings]`).

use super::SystemProxy;

/// Parses `gsettings list-recursively org.gnome.system.proxy` output.
/// `None`: mode 'none' (or the schema is absent).
pub fn parse_gsettings(text: &str) -> Option<SystemProxy> {
    let mut mode = String::new();
    let mut pac = None;
    let mut ignore = Vec::new();
    let mut hosts: std::collections::HashMap<String, (String, u16)> = Default::default();
    for line in text.lines() {
        let mut w = line.splitn(3, ' ');
        let (Some(schema), Some(key), Some(value)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        let value = value.trim();
        let unquote = |v: &str| v.trim().trim_matches('\'').to_string();
        match (schema, key) {
            ("org.gnome.system.proxy", "mode") => mode = unquote(value),
            ("org.gnome.system.proxy", "autoconfig-url") => {
                pac = Some(unquote(value)).filter(|s| !s.is_empty())
            }
            ("org.gnome.system.proxy", "ignore-hosts") => {
                ignore = value
                    .trim_start_matches("@as")
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(unquote)
                    .filter(|s| !s.is_empty())
                    .collect();
            }
            (s, "host") if s.starts_with("org.gnome.system.proxy.") => {
                let scheme = s.trim_start_matches("org.gnome.system.proxy.").to_string();
                hosts.entry(scheme).or_insert((String::new(), 0)).0 = unquote(value);
            }
            (s, "port") if s.starts_with("org.gnome.system.proxy.") => {
                let scheme = s.trim_start_matches("org.gnome.system.proxy.").to_string();
                hosts.entry(scheme).or_insert((String::new(), 0)).1 = value.parse().unwrap_or(0);
            }
            _ => {}
        }
    }
    let hp = |scheme: &str| {
        hosts
            .get(scheme)
            .filter(|(h, p)| !h.is_empty() && *p != 0)
            .map(|(h, p)| format!("http://{h}:{p}"))
    };
    match mode.as_str() {
        "manual" => Some(SystemProxy::Manual {
            https: hp("https"),
            http: hp("http"),
            bypass: ignore,
        }),
        "auto" => Some(match pac {
            Some(url) => SystemProxy::Pac { url },
            None => SystemProxy::AutoDetect,
        }),
        _ => None,
    }
}

/// Reads `gsettings list-recursively org.gnome.system.proxy` when gsettings is installed.
pub fn read_gsettings() -> Option<String> {
    let out = std::process::Command::new("gsettings")
        .args(["list-recursively", "org.gnome.system.proxy"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// KDE's value "http://host 8080" or "http://host:8080" → `http://host:8080`.
fn kde_proxy(v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    let v = match v.rsplit_once(' ') {
        Some((h, p)) if p.parse::<u16>().is_ok() => format!("{}:{p}", h.trim()),
        _ => v.to_string(),
    };
    super::env::normalize_proxy(&v)
}

/// Parses `kioslaverc`. ProxyType: 0 none, 1 manual, 2 PAC URL, 3 WPAD, 4 environment.
/// `None`: no proxy (type 0 or no `[Proxy Settings]`). Type 4 is `Some(SystemProxy::Environment)`.
pub fn parse_kioslaverc(text: &str) -> Option<SystemProxy> {
    let mut in_group = false;
    let mut kv: std::collections::HashMap<String, String> = Default::default();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_group = l == "[Proxy Settings]";
            continue;
        }
        if in_group && let Some((k, v)) = l.split_once('=') {
            kv.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let get = |k: &str| kv.get(k).map(String::as_str).unwrap_or("");
    match get("ProxyType") {
        "1" => Some(SystemProxy::Manual {
            https: kde_proxy(get("httpsProxy")),
            http: kde_proxy(get("httpProxy")),
            bypass: get("NoProxyFor")
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }),
        "2" => Some(SystemProxy::Pac {
            url: get("Proxy Config Script").to_string(),
        }),
        "3" => Some(SystemProxy::AutoDetect),
        "4" => Some(SystemProxy::Environment),
        _ => None,
    }
}

/// Reads `$XDG_CONFIG_HOME/kioslaverc` (default `~/.config/kioslaverc`).
pub fn read_kioslaverc() -> Option<String> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    std::fs::read_to_string(base.join("kioslaverc")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GSETTINGS_MANUAL: &str = "org.gnome.system.proxy autoconfig-url ''
org.gnome.system.proxy ignore-hosts ['localhost', '127.0.0.0/8', '::1', '*.contoso.com']
org.gnome.system.proxy mode 'manual'
org.gnome.system.proxy use-same-proxy true
org.gnome.system.proxy.ftp host ''
org.gnome.system.proxy.ftp port 0
org.gnome.system.proxy.http authentication-password ''
org.gnome.system.proxy.http authentication-user ''
org.gnome.system.proxy.http enabled false
org.gnome.system.proxy.http host 'proxy.contoso.com'
org.gnome.system.proxy.http port 8080
org.gnome.system.proxy.http use-authentication false
org.gnome.system.proxy.https host 'secure.contoso.com'
org.gnome.system.proxy.https port 8443
org.gnome.system.proxy.socks host ''
org.gnome.system.proxy.socks port 0
";

    #[test]
    fn gsettings_modes() {
        assert_eq!(
            parse_gsettings(GSETTINGS_MANUAL),
            Some(SystemProxy::Manual {
                https: Some("http://secure.contoso.com:8443".into()),
                http: Some("http://proxy.contoso.com:8080".into()),
                bypass: vec![
                    "localhost".into(),
                    "127.0.0.0/8".into(),
                    "::1".into(),
                    "*.contoso.com".into()
                ],
            })
        );
        let none = GSETTINGS_MANUAL.replace("mode 'manual'", "mode 'none'");
        assert_eq!(parse_gsettings(&none), None);
        let auto = GSETTINGS_MANUAL
            .replace("mode 'manual'", "mode 'auto'")
            .replace(
                "autoconfig-url ''",
                "autoconfig-url 'https://pac.contoso.com/proxy.pac'",
            );
        assert_eq!(
            parse_gsettings(&auto),
            Some(SystemProxy::Pac {
                url: "https://pac.contoso.com/proxy.pac".into()
            })
        );
        let wpad = GSETTINGS_MANUAL.replace("mode 'manual'", "mode 'auto'");
        assert_eq!(parse_gsettings(&wpad), Some(SystemProxy::AutoDetect));
        assert_eq!(parse_gsettings(""), None);
    }

    #[test]
    fn kioslaverc_types() {
        let manual = "[General]\nx=1\n\n[Proxy Settings]\nAuthMode=0\nNoProxyFor=localhost,.contoso.com\nProxyType=1\nhttpProxy=http://proxy.contoso.com 8080\nhttpsProxy=http://secure.contoso.com:8443\n";
        assert_eq!(
            parse_kioslaverc(manual),
            Some(SystemProxy::Manual {
                https: Some("http://secure.contoso.com:8443".into()),
                http: Some("http://proxy.contoso.com:8080".into()),
                bypass: vec!["localhost".into(), ".contoso.com".into()],
            })
        );
        assert_eq!(
            parse_kioslaverc(
                "[Proxy Settings]\nProxyType=2\nProxy Config Script=https://p/x.pac\n"
            ),
            Some(SystemProxy::Pac {
                url: "https://p/x.pac".into()
            })
        );
        assert_eq!(
            parse_kioslaverc("[Proxy Settings]\nProxyType=3\n"),
            Some(SystemProxy::AutoDetect)
        );
        assert_eq!(
            parse_kioslaverc("[Proxy Settings]\nProxyType=4\n"),
            Some(SystemProxy::Environment)
        );
        assert_eq!(parse_kioslaverc("[Proxy Settings]\nProxyType=0\n"), None);
        assert_eq!(parse_kioslaverc("[Other]\nProxyType=1\n"), None);
    }
}
