//! The machine's WinHTTP proxy (`netsh winhttp set proxy`), stored as a binary blob in
//! `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections\WinHttpSettings`.
//!
//! Blob layout (little endian, the same as `DefaultConnectionSettings`):
//! `u32 version/size` (0x18 or 0x28), `u32 change counter`, `u32 flags` (1 direct, 2 proxy,
//! 4 auto-config URL, 8 auto-detect), `u32 len` + proxy server (ANSI), `u32 len` + bypass list,
//! and optionally `u32 len` + auto-config URL (the rest is ignored).

/// Registry key and value of the WinHTTP settings.
pub const WINHTTP_KEY: &str =
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections";
pub const WINHTTP_VALUE: &str = "WinHttpSettings";

pub const FLAG_DIRECT: u32 = 1;
pub const FLAG_PROXY: u32 = 2;
pub const FLAG_AUTO_PROXY_URL: u32 = 4;
pub const FLAG_AUTO_DETECT: u32 = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinHttpSettings {
    pub flags: u32,
    /// `proxy:port` or per-scheme `http=a:80;https=b:443`, when set.
    pub proxy_server: Option<String>,
    /// Bypass list (`<local>;*.contoso.com`), when set.
    pub bypass: Option<String>,
    pub auto_config_url: Option<String>,
}

impl WinHttpSettings {
    /// Whether a proxy is configured (`netsh winhttp show proxy` would not say "Direct access").
    pub fn uses_proxy(&self) -> bool {
        self.flags & FLAG_PROXY != 0 && self.proxy_server.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the WinHttpSettings value is not a WinHTTP settings blob: {0}")]
pub struct BlobError(pub String);

/// Parses the blob.
pub fn parse_blob(b: &[u8]) -> Result<WinHttpSettings, BlobError> {
    let mut pos = 0usize;
    let mut u32_at = |what: &str| -> Result<u32, BlobError> {
        let s = b
            .get(pos..pos + 4)
            .ok_or_else(|| BlobError(format!("cut short before the {what} ({} bytes)", b.len())))?;
        pos += 4;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let version = u32_at("version")?;
    if version != 0x18 && version != 0x28 && version != 0x46 && version != 0x3c {
        return Err(BlobError(format!("unknown version 0x{version:x}")));
    }
    let _counter = u32_at("counter")?;
    let flags = u32_at("flags")?;
    let mut string = |what: &str| -> Result<Option<String>, BlobError> {
        let s = b
            .get(pos..pos + 4)
            .ok_or_else(|| BlobError(format!("cut short before the {what} length")))?;
        pos += 4;
        let len = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let bytes = b
            .get(pos..pos + len)
            .ok_or_else(|| BlobError(format!("the {what} ({len} bytes) runs past the end")))?;
        pos += len;
        let text: String = bytes
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as char)
            .collect();
        Ok(Some(text.trim().to_string()).filter(|s| !s.is_empty()))
    };
    let proxy_server = string("proxy server")?;
    let bypass = string("bypass list")?;
    // The auto-config URL is optional in WinHttpSettings.
    let auto_config_url = string("auto-config URL").unwrap_or(None);
    Ok(WinHttpSettings {
        flags,
        proxy_server,
        bypass,
        auto_config_url,
    })
}

/// Reads and parses the machine's WinHTTP settings (Windows only).
#[cfg(windows)]
pub fn read_machine_settings() -> Result<Option<WinHttpSettings>, BlobError> {
    use super::wininet::{RegValue, reg_query};
    match reg_query(WINHTTP_KEY).and_then(|v| v.get(WINHTTP_VALUE).cloned()) {
        Some(RegValue::Binary(b)) => parse_blob(&b).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn direct_access_blob() {
        // `netsh winhttp reset proxy`
        let s = parse_blob(&hex("18000000 00000000 01000000 00000000 00000000")).unwrap();
        assert_eq!(s.flags, FLAG_DIRECT);
        assert!(!s.uses_proxy());
        assert_eq!(s.proxy_server, None);
        assert_eq!(s.bypass, None);
    }

    #[test]
    fn proxy_with_bypass_blob() {
        // `netsh winhttp set proxy proxy.contoso.com:8080 "<local>;*.contoso.com"`
        let mut b = hex("28000000 05000000 03000000");
        let server = b"proxy.contoso.com:8080";
        b.extend((server.len() as u32).to_le_bytes());
        b.extend(server);
        let bypass = b"<local>;*.contoso.com";
        b.extend((bypass.len() as u32).to_le_bytes());
        b.extend(bypass);
        let s = parse_blob(&b).unwrap();
        assert_eq!(s.flags, FLAG_DIRECT | FLAG_PROXY);
        assert!(s.uses_proxy());
        assert_eq!(s.proxy_server.as_deref(), Some("proxy.contoso.com:8080"));
        assert_eq!(s.bypass.as_deref(), Some("<local>;*.contoso.com"));
        assert_eq!(s.auto_config_url, None);
    }

    #[test]
    fn captured_per_scheme_blob() {
        // `netsh winhttp set proxy "http=p1:80;https=p2:443" bypass-list="<local>"`, with the
        // empty auto-config URL and trailing zeros the newer versions write.
        let mut good = hex("28000000 0a000000 03000000 17000000");
        good.extend(b"http=p1:80;https=p2:443");
        good.extend(hex("07000000"));
        good.extend(b"<local>");
        good.extend(hex("00000000 0000000000000000"));
        let s = parse_blob(&good).unwrap();
        assert_eq!(s.proxy_server.as_deref(), Some("http=p1:80;https=p2:443"));
        assert_eq!(s.bypass.as_deref(), Some("<local>"));
    }

    #[test]
    fn broken_blobs_are_refused_with_the_reason() {
        assert!(parse_blob(&[]).unwrap_err().0.contains("version"));
        assert!(
            parse_blob(&hex("99000000 00000000 01000000"))
                .unwrap_err()
                .0
                .contains("unknown version")
        );
        let e = parse_blob(&hex("18000000 00000000 03000000 ff000000 4142")).unwrap_err();
        assert!(e.0.contains("runs past the end"), "{e}");
    }
}
