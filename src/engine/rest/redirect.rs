//! Redirects: a 3xx is followed by the client itself (the token re-sent only where
//! `policy::token_may_go` allows — the session's own host or its cloud's admin-API hosts, never
//! https → http —, the regional SCC host rewritten as the reference page says) and the new host
//! is pinned for the rest of the connection; next-page links are resolved against the page's URL
//! under the same policy. A refused target ends the run with an error naming the host; nothing
//! is sent there and nothing is pinned.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::sync::mpsc;

use super::policy::token_may_go;
use super::request::{Attempt, header};
use super::{RestClient, RestError, RestErrorKind, RunEvent};
use crate::engine::http::check_url;

/// A redirect target as the reference page says to use it: `<region>.admin.protection.outlook.com`
/// becomes `<region>.ps.compliance.protection.outlook.com`, and port 446 becomes 443.
pub fn rewrite_redirect(mut url: url::Url) -> url::Url {
    const FROM: &str = ".admin.protection.outlook.com";
    const TO: &str = ".ps.compliance.protection.outlook.com";
    if let Some(host) = url.host_str().map(str::to_ascii_lowercase)
        && let Some(region) = host.strip_suffix(FROM)
        && !region.is_empty()
    {
        let _ = url.set_host(Some(&format!("{region}{TO}")));
    }
    if url.port() == Some(446) {
        let _ = url.set_port(if url.scheme() == "https" {
            None
        } else {
            Some(443)
        });
    }
    url
}

/// `scheme://host[:port]` of a URL.
pub(super) fn origin(u: &url::Url) -> String {
    u.origin().ascii_serialization()
}

impl RestClient {
    /// Follows a 3xx of `at`: the next URL, the host pinned (and `Redirected` sent when it
    /// changed). Too many redirects, no `Location` or a refused URL end the page.
    pub(super) async fn follow_redirect(
        &self,
        cmdlet: &str,
        at: &mut Attempt,
        status: StatusCode,
        headers: &HeaderMap,
        tx: &mpsc::Sender<RunEvent>,
    ) -> Result<(), RestError> {
        at.redirects += 1;
        let refused = |message: String| RestError {
            status: Some(status.as_u16()),
            request_id: header(headers, "request-id"),
            ..RestError::new(RestErrorKind::Redirect, cmdlet, message)
        };
        let Some(loc) = header(headers, "location") else {
            return Err(refused(format!(
                "the service answered {status} without a Location"
            )));
        };
        if at.redirects > self.config.max_redirects {
            return Err(refused(format!(
                "the service redirected more than {} times (last to {loc})",
                self.config.max_redirects
            )));
        }
        let new = at.url.join(&loc).map(rewrite_redirect).map_err(|_| {
            RestError::new(
                RestErrorKind::Redirect,
                cmdlet,
                format!("the service redirected to an invalid URL: {loc}"),
            )
        })?;
        let new = check_url(new.as_str())
            .map_err(|e| RestError::new(RestErrorKind::Redirect, cmdlet, e.to_string()))?;
        token_may_go(&self.base, &new).map_err(|why| {
            refused(format!(
                "the service redirected to {}, which was not followed: {why}",
                super::policy::host_port(&new)
            ))
        })?;
        let new_origin = origin(&new);
        let changed = {
            let mut p = self.pinned.lock().unwrap();
            let changed = *p != new_origin;
            *p = new_origin.clone();
            changed
        };
        if changed {
            let _ = tx.send(RunEvent::Redirected { host: new_origin }).await;
        }
        at.url = new;
        Ok(())
    }

    /// A next-page link, resolved against the current page's URL and checked by the policy.
    pub(super) fn resolve_link(
        &self,
        cmdlet: &str,
        current: &url::Url,
        link: &str,
    ) -> Result<url::Url, RestError> {
        let u = current.join(link).map_err(|_| {
            RestError::new(
                RestErrorKind::Protocol,
                cmdlet,
                format!("the service sent a next-page link that is not a URL: {link}"),
            )
        })?;
        let u = check_url(u.as_str())
            .map_err(|e| RestError::new(RestErrorKind::Redirect, cmdlet, e.to_string()))?;
        token_may_go(&self.base, &u).map_err(|why| {
            RestError::new(
                RestErrorKind::Redirect,
                cmdlet,
                format!(
                    "the service's next-page link points at {}, which was not followed: {why}",
                    super::policy::host_port(&u)
                ),
            )
        })?;
        Ok(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rewrite() {
        let cases = [
            (
                "https://nam12b.admin.protection.outlook.com:446/adminapi/beta/t/InvokeCommand",
                "https://nam12b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
            ),
            (
                "https://nam12b.ps.compliance.protection.outlook.com/x",
                "https://nam12b.ps.compliance.protection.outlook.com/x",
            ),
            (
                "https://eur03.ps.compliance.protection.outlook.com:446/x?a=1",
                "https://eur03.ps.compliance.protection.outlook.com/x?a=1",
            ),
            ("http://127.0.0.1:446/x", "http://127.0.0.1:443/x"),
            ("http://127.0.0.1:5000/x", "http://127.0.0.1:5000/x"),
            // Only a region prefix is rewritten, not the bare name.
            (
                "https://admin.protection.outlook.com/x",
                "https://admin.protection.outlook.com/x",
            ),
        ];
        for (from, to) in cases {
            assert_eq!(
                rewrite_redirect(url::Url::parse(from).unwrap()).as_str(),
                to,
                "{from}"
            );
        }
    }
}
