//! Windows' per-user WinINet ("Internet Options") proxy settings: ProxyEnable, ProxyServer (one
//! proxy, or per-scheme `http=a:80;https=b:443`), ProxyOverride (`<local>`, wildcards) and
//! AutoConfigURL. The values are read with `reg query` on Windows; the parsers run everywhere.

use std::collections::HashMap;

/// `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`.
pub const INTERNET_SETTINGS_KEY: &str =
    r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";

/// The values that matter, as read from the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinInetSettings {
    pub proxy_enable: bool,
    pub proxy_server: Option<String>,
    pub proxy_override: Option<String>,
    pub auto_config_url: Option<String>,
}

/// One value of `reg query` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValue {
    Dword(u32),
    Sz(String),
    Binary(Vec<u8>),
}

/// Parses `reg query KEY` output: lines `    Name    REG_TYPE    data`.
pub fn parse_reg_query(text: &str) -> HashMap<String, RegValue> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if !line.starts_with("    ") {
            continue;
        }
        let parts: Vec<&str> = line.trim_start().splitn(3, "    ").collect();
        if parts.len() < 2 {
            continue;
        }
        let name = parts[0].to_string();
        let data = parts.get(2).map(|s| s.trim_end()).unwrap_or("");
        let v = match parts[1].trim() {
            "REG_DWORD" => {
                let d = data.trim_start_matches("0x");
                match u32::from_str_radix(d, 16) {
                    Ok(n) => RegValue::Dword(n),
                    Err(_) => continue,
                }
            }
            "REG_SZ" | "REG_EXPAND_SZ" => RegValue::Sz(data.to_string()),
            "REG_BINARY" => {
                let hex = data.trim().as_bytes();
                if !hex.len().is_multiple_of(2) {
                    continue;
                }
                // Pairs of bytes, not of chars: text that is not hex (even multi-byte) is refused.
                let bytes: Option<Vec<u8>> = hex
                    .chunks(2)
                    .map(|pair| {
                        let pair = std::str::from_utf8(pair).ok()?;
                        u8::from_str_radix(pair, 16).ok()
                    })
                    .collect();
                match bytes {
                    Some(b) => RegValue::Binary(b),
                    None => continue,
                }
            }
            _ => continue,
        };
        out.insert(name, v);
    }
    out
}

impl WinInetSettings {
    /// From parsed `reg query` values.
    pub fn from_values(v: &HashMap<String, RegValue>) -> Self {
        let sz = |n: &str| match v.get(n) {
            Some(RegValue::Sz(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        };
        WinInetSettings {
            proxy_enable: matches!(v.get("ProxyEnable"), Some(RegValue::Dword(n)) if *n != 0),
            proxy_server: sz("ProxyServer"),
            proxy_override: sz("ProxyOverride"),
            auto_config_url: sz("AutoConfigURL"),
        }
    }
}

/// The proxy `ProxyServer` gives for a target scheme: a per-scheme entry (`https=b:443`), or
/// the single value that serves every scheme. `None`: no proxy for this scheme (direct).
pub fn proxy_server_for(value: &str, scheme: &str) -> Option<String> {
    let value = value.trim();
    if !value.contains('=') {
        return value
            .split(';')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .map(String::from);
    }
    value.split(';').find_map(|entry| {
        let (k, v) = entry.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(scheme) && !v.trim().is_empty())
            .then(|| v.trim().to_string())
    })
}

/// Whether `ProxyOverride` excludes `host`: `<local>` matches plain host names (no dot),
/// other entries are wildcards (`*.contoso.com`, `10.*`, `intranet`), case-insensitive.
pub fn override_matches(value: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    value.split(';').map(str::trim).any(|e| {
        if e.is_empty() {
            return false;
        }
        if e.eq_ignore_ascii_case("<local>") {
            return !host.contains('.') && !host.contains(':');
        }
        // Entries may carry a scheme (`https://x`); the host part is what is matched.
        let e = e.split("://").last().unwrap_or(e).to_ascii_lowercase();
        wildcard(&e, &host)
    })
}

/// `*` matches any run of characters, `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Runs `reg query KEY` (Windows only).
#[cfg(windows)]
pub fn reg_query(key: &str) -> Option<HashMap<String, RegValue>> {
    let out = std::process::Command::new("reg")
        .args(["query", key])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse_reg_query(&String::from_utf8_lossy(&out.stdout)))
}

/// The current user's WinINet settings (Windows only).
#[cfg(windows)]
pub fn read_user_settings() -> Option<WinInetSettings> {
    reg_query(INTERNET_SETTINGS_KEY).map(|v| WinInetSettings::from_values(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from `reg query "HKCU\...\Internet Settings"` on Windows 11.
    const REG_FIXTURE: &str = "\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\r\n    CertificateRevocation    REG_DWORD    0x1\r\n    DisableCachingOfSSLPages    REG_DWORD    0x0\r\n    IE5_UA_Backup_Flag    REG_SZ    5.0\r\n    PrivacyAdvanced    REG_DWORD    0x1\r\n    SecureProtocols    REG_DWORD    0xa80\r\n    User Agent    REG_SZ    Mozilla/4.0 (compatible; MSIE 8.0; Win32)\r\n    ZonesSecurityUpgrade    REG_BINARY    C1B2C3D4E5F60718\r\n    ProxyEnable    REG_DWORD    0x1\r\n    ProxyServer    REG_SZ    http=proxy.contoso.com:8080;https=secure.contoso.com:8443;ftp=ftp.contoso.com:21\r\n    ProxyOverride    REG_SZ    <local>;*.contoso.com;10.*;192.168.1.?\r\n    AutoConfigURL    REG_SZ    https://pac.contoso.com/proxy.pac\r\n    EmptyOne    REG_SZ    \r\n\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\5.0\r\n";

    #[test]
    fn reg_query_output_is_parsed() {
        let v = parse_reg_query(REG_FIXTURE);
        assert_eq!(v.get("ProxyEnable"), Some(&RegValue::Dword(1)));
        assert_eq!(v.get("SecureProtocols"), Some(&RegValue::Dword(0xa80)));
        assert_eq!(
            v.get("User Agent"),
            Some(&RegValue::Sz(
                "Mozilla/4.0 (compatible; MSIE 8.0; Win32)".into()
            ))
        );
        assert_eq!(
            v.get("ZonesSecurityUpgrade"),
            Some(&RegValue::Binary(vec![
                0xC1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18
            ]))
        );
        let s = WinInetSettings::from_values(&v);
        assert!(s.proxy_enable);
        assert_eq!(
            s.proxy_server.as_deref(),
            Some(
                "http=proxy.contoso.com:8080;https=secure.contoso.com:8443;ftp=ftp.contoso.com:21"
            )
        );
        assert_eq!(
            s.proxy_override.as_deref(),
            Some("<local>;*.contoso.com;10.*;192.168.1.?")
        );
        assert_eq!(
            s.auto_config_url.as_deref(),
            Some("https://pac.contoso.com/proxy.pac")
        );
        let off = parse_reg_query("    ProxyEnable    REG_DWORD    0x0\r\n");
        assert!(!WinInetSettings::from_values(&off).proxy_enable);
    }

    #[test]
    fn proxy_server_per_scheme() {
        let v = "http=proxy.contoso.com:8080;https=secure.contoso.com:8443";
        assert_eq!(
            proxy_server_for(v, "https").as_deref(),
            Some("secure.contoso.com:8443")
        );
        assert_eq!(
            proxy_server_for(v, "http").as_deref(),
            Some("proxy.contoso.com:8080")
        );
        assert_eq!(proxy_server_for("http=only:80", "https"), None);
        assert_eq!(
            proxy_server_for("proxy:3128", "https").as_deref(),
            Some("proxy:3128")
        );
        assert_eq!(
            proxy_server_for("HTTPS=up:1", "https").as_deref(),
            Some("up:1")
        );
    }

    #[test]
    fn proxy_override_matching() {
        let o = "<local>;*.contoso.com;10.*;192.168.1.?";
        for (host, want) in [
            ("intranet", true),
            ("mail.contoso.com", true),
            ("contoso.com", false),
            ("10.1.2.3", true),
            ("192.168.1.5", true),
            ("192.168.1.50", false),
            ("outlook.office365.com", false),
            ("MAIL.CONTOSO.COM", true),
        ] {
            assert_eq!(override_matches(o, host), want, "{host}");
        }
        assert!(!override_matches("", "intranet"));
        assert!(override_matches("https://*.office.com", "a.office.com"));
    }
}
