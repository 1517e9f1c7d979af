//! macOS system proxy configuration, from `scutil --proxy` (the call only on macOS; the parser is
//! tested everywhere on captured output).

use super::SystemProxy;

/// Parses `scutil --proxy` output. `None`: nothing enabled.
pub fn parse_scutil(text: &str) -> Option<SystemProxy> {
    let mut kv: std::collections::HashMap<String, String> = Default::default();
    let mut exceptions = Vec::new();
    let mut in_exceptions = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("ExceptionsList") {
            in_exceptions = true;
            continue;
        }
        if in_exceptions {
            if l == "}" {
                in_exceptions = false;
            } else if let Some((_, v)) = l.split_once(" : ") {
                exceptions.push(v.trim().to_string());
            }
            continue;
        }
        if let Some((k, v)) = l.split_once(" : ") {
            kv.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let on = |k: &str| kv.get(k).is_some_and(|v| v == "1");
    let hp = |enable: &str, host: &str, port: &str| {
        if !on(enable) {
            return None;
        }
        let h = kv.get(host)?;
        let p = kv
            .get(port)
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(80);
        Some(format!("http://{h}:{p}"))
    };
    if on("ProxyAutoConfigEnable")
        && let Some(url) = kv.get("ProxyAutoConfigURLString")
    {
        return Some(SystemProxy::Pac { url: url.clone() });
    }
    let https = hp("HTTPSEnable", "HTTPSProxy", "HTTPSPort");
    let http = hp("HTTPEnable", "HTTPProxy", "HTTPPort");
    if https.is_some() || http.is_some() {
        return Some(SystemProxy::Manual {
            https,
            http,
            bypass: exceptions,
        });
    }
    if on("ProxyAutoDiscoveryEnable") {
        return Some(SystemProxy::AutoDetect);
    }
    None
}

/// Runs `scutil --proxy` (macOS only).
#[cfg(target_os = "macos")]
pub fn read_scutil() -> Option<String> {
    let out = std::process::Command::new("scutil")
        .arg("--proxy")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from `scutil --proxy` on macOS 14 with manual proxies.
    const SCUTIL: &str = "<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
    2 : *.contoso.com
  }
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 8080
  HTTPProxy : proxy.contoso.com
  HTTPSEnable : 1
  HTTPSPort : 8443
  HTTPSProxy : secure.contoso.com
  ProxyAutoConfigEnable : 0
  ProxyAutoDiscoveryEnable : 0
}
";

    #[test]
    fn scutil_manual_pac_and_none() {
        assert_eq!(
            parse_scutil(SCUTIL),
            Some(SystemProxy::Manual {
                https: Some("http://secure.contoso.com:8443".into()),
                http: Some("http://proxy.contoso.com:8080".into()),
                bypass: vec![
                    "*.local".into(),
                    "169.254/16".into(),
                    "*.contoso.com".into()
                ],
            })
        );
        let pac = SCUTIL.replace(
            "ProxyAutoConfigEnable : 0",
            "ProxyAutoConfigEnable : 1\n  ProxyAutoConfigURLString : https://pac.contoso.com/p.pac",
        );
        assert_eq!(
            parse_scutil(&pac),
            Some(SystemProxy::Pac {
                url: "https://pac.contoso.com/p.pac".into()
            })
        );
        let off = SCUTIL
            .replace("HTTPEnable : 1", "HTTPEnable : 0")
            .replace("HTTPSEnable : 1", "HTTPSEnable : 0");
        assert_eq!(parse_scutil(&off), None);
        let wpad = off.replace(
            "ProxyAutoDiscoveryEnable : 0",
            "ProxyAutoDiscoveryEnable : 1",
        );
        assert_eq!(parse_scutil(&wpad), Some(SystemProxy::AutoDetect));
        assert_eq!(parse_scutil("<dictionary> {\n  HTTPEnable : 0\n}\n"), None);
    }
}
