//! Which addresses exo-connect opens in a browser, and how: only `https:` (or `http:` to this
//! machine) URLs, handed to the OS without a shell (the `webbrowser` crate: on Windows it looks
//! up the default browser's command and starts it directly, never through `cmd.exe`, whose
//! parser would split a URL at `&`; `xdg-open` or `$BROWSER` on Linux, LaunchServices on macOS).
//! A device code's `verification_uri` is offered only when it is on the authority's own host or
//! a Microsoft sign-in host; otherwise it is shown as text with a warning.
//!
//! The rules are plain functions tested on every OS; [`open_in_browser`] is the thin part that
//! talks to the OS.

use std::time::Duration;

/// Hosts of Microsoft's sign-in pages (every cloud) where a device code may be entered.
pub const MICROSOFT_SIGN_IN_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.live.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
    "login.microsoftonline.de",
];

/// Hosts whose device-login short links (`/devicelogin`, `/deviceloginus`, …) Entra names.
const DEVICE_LOGIN_LINK_HOSTS: &[&str] = &["microsoft.com", "www.microsoft.com", "aka.ms"];

/// `url` when exo-connect may open it in a browser: `https:`, or `http:` to a loopback host
/// (the simulated tenant). Err: why not, in plain words.
pub fn openable(url: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(url.trim())
        .map_err(|_| format!("'{url}' is not a web address, so it was not opened"))?;
    let loopback = u
        .host_str()
        .is_some_and(crate::engine::http::is_loopback_host);
    match u.scheme() {
        "https" if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(format!(
            "exo-connect opens only https:// addresses (http:// only on this machine); '{}' was not opened",
            crate::model::text::printable_line(url)
        )),
    }
}

/// Checks a device code's `verification_uri` against the sign-in `authority` it came from: Ok
/// when it may be offered to open (https, or loopback http, on the authority's own host or a
/// Microsoft sign-in page); Err: the warning to show beside the address instead.
pub fn check_verification_uri(uri: &str, authority: &str) -> Result<(), String> {
    let shown = crate::model::text::printable_line(uri);
    let warn = |why: &str| {
        format!(
            "The sign-in service named {shown} as the page to enter the code, which {why}; exo-connect does not open it. Type the code only on a Microsoft sign-in page you trust."
        )
    };
    let u = openable(uri).map_err(|_| warn("is not an https:// address"))?;
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    let authority_host = url::Url::parse(authority)
        .ok()
        .and_then(|a| a.host_str().map(str::to_ascii_lowercase));
    if authority_host.as_deref() == Some(host.as_str())
        || MICROSOFT_SIGN_IN_HOSTS.contains(&host.as_str())
    {
        return Ok(());
    }
    if DEVICE_LOGIN_LINK_HOSTS.contains(&host.as_str())
        && u.path().to_ascii_lowercase().starts_with("/devicelogin")
    {
        return Ok(());
    }
    Err(warn(&format!(
        "is neither the sign-in authority's host ({}) nor a Microsoft sign-in page",
        authority_host.unwrap_or_default()
    )))
}

/// Opens `url` in the default browser (after [`openable`]), without a shell. Blocking parts run
/// on a plain thread; gives up after 10 s.
pub async fn open_in_browser(url: &str) -> Result<(), String> {
    let u = openable(url)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("exo-browser".into())
        .spawn(move || {
            let _ = tx.send(webbrowser::open(u.as_str()));
        })
        .map_err(|e| format!("cannot start the browser launcher: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(10), rx).await {
        Err(_) => Err("the browser launcher did not return".into()),
        Ok(Err(_)) => Err("the browser launcher failed".into()),
        Ok(Ok(Err(e))) => Err(format!("no browser could be started: {e}")),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_opened() {
        for ok in [
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?a=1&b=2",
            "http://127.0.0.1:5000/devicelogin",
            "http://localhost:9/",
            "http://[::1]:9/x",
        ] {
            let u = openable(ok).unwrap();
            // The query survives whole (a shell would have cut it at the first '&').
            if ok.contains('&') {
                assert_eq!(u.query(), Some("a=1&b=2"));
            }
        }
        for bad in [
            "http://evil.example.net/devicelogin",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ms-settings:network-proxy",
            "\\\\server\\share\\x.exe",
            "calc.exe",
            "https://",
            "",
        ] {
            let e = openable(bad).unwrap_err();
            assert!(e.contains("not opened"), "{bad}: {e}");
        }
    }

    #[test]
    fn verification_pages_are_the_authoritys_or_microsofts() {
        let ms = "https://login.microsoftonline.com/organizations";
        for ok in [
            "https://microsoft.com/devicelogin",
            "https://www.microsoft.com/devicelogin",
            "https://microsoft.com/deviceloginus",
            "https://aka.ms/devicelogin",
            "https://login.microsoftonline.com/common/oauth2/deviceauth",
            "https://login.microsoftonline.us/common/oauth2/deviceauth",
            "https://login.chinacloudapi.cn/common/oauth2/deviceauth",
            "https://LOGIN.MICROSOFT.COM/device",
        ] {
            check_verification_uri(ok, ms).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        // The authority's own host (the sim on loopback, any path).
        check_verification_uri(
            "http://127.0.0.1:5000/devicelogin",
            "http://127.0.0.1:5000/contoso.com",
        )
        .unwrap();
        for bad in [
            "https://evil.example.net/devicelogin",
            "https://microsoft.com.evil.example.net/devicelogin",
            "https://aka.ms/something-else",
            "https://microsoft.com/en-us/download",
            "http://microsoft.com/devicelogin",
            "http://127.0.0.1:5000/devicelogin",
            "https://login.microsoftonline.com@evil.example.net/devicelogin",
        ] {
            let w = check_verification_uri(bad, ms).unwrap_err();
            assert!(w.contains("does not open it"), "{bad}: {w}");
        }
        // Escape sequences in the address do not reach the warning.
        let w = check_verification_uri("https://e\u{1b}[31mvil.example/x", ms).unwrap_err();
        assert!(!w.contains('\u{1b}'), "{w:?}");
    }

    #[tokio::test]
    async fn refused_addresses_never_reach_the_os() {
        let e = open_in_browser("file:///etc/passwd").await.unwrap_err();
        assert!(e.contains("not opened"), "{e}");
    }
}
