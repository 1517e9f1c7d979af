//! The network steps of the connectivity check for one host: its route, then DNS and TCP
//! (directly, or to the proxy and a CONNECT / GET through it with the proxy credential), then
//! the TLS step of `tls.rs`.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{ProxyCredential, Run, Target};
use crate::engine::proxy::{Route, RouteKind};
use crate::model::diagnosis::{Outcome, StepKind};
use crate::model::failures::ids;

/// Route, DNS, TCP (and proxy), TLS for one host. True when the host is reachable.
pub(super) async fn check_target(run: &mut Run<'_>, t: &Target, route: &Route) -> bool {
    let started = Instant::now();
    let mut summary = route.describe();
    for n in &route.notes {
        summary.push_str(&format!("; {n}"));
    }
    run.step(
        StepKind::Route,
        &t.hostport(),
        Outcome::Passed,
        summary,
        started,
        None,
    );
    let stream = match &route.kind {
        RouteKind::Direct => connect_direct(run, t).await,
        RouteKind::Proxy { url } => connect_via_proxy(run, t, url).await,
    };
    let Some(stream) = stream else {
        return false;
    };
    if t.https {
        super::tls::tls_step(run, t, stream).await
    } else {
        run.skipped(
            StepKind::Tls,
            &t.hostport(),
            "plain http to loopback (the simulated tenant)",
        );
        true
    }
}

/// DNS and TCP to the host itself.
async fn connect_direct(run: &mut Run<'_>, t: &Target) -> Option<TcpStream> {
    let Some(addrs) = dns_step(run, &t.host, t.port).await else {
        run.skipped(StepKind::Tcp, &t.hostport(), "DNS failed");
        skip_tls(run, t, "DNS failed");
        return None;
    };
    let Some(s) = tcp_step(run, &t.hostport(), &addrs, false).await else {
        skip_tls(run, t, "no TCP connection");
        return None;
    };
    Some(s)
}

/// DNS and TCP to the proxy, then a CONNECT (https) or a GET (http) through it.
async fn connect_via_proxy(run: &mut Run<'_>, t: &Target, url: &str) -> Option<TcpStream> {
    run.skipped(StepKind::Dns, &t.host, "the proxy resolves the name");
    let Ok(pu) = url::Url::parse(url) else {
        run.step(
            StepKind::Proxy,
            url,
            Outcome::Failed,
            "the proxy address is not a valid URL",
            Instant::now(),
            None,
        );
        return None;
    };
    let phost = pu
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let pport = pu.port_or_known_default().unwrap_or(8080);
    let plabel = format!("{phost}:{pport}");
    let Some(addrs) = dns_step(run, &phost, pport).await else {
        run.skipped(StepKind::Proxy, &plabel, "DNS of the proxy failed");
        skip_tls(run, t, "the proxy cannot be reached");
        return None;
    };
    let Some(mut s) = tcp_step(run, &plabel, &addrs, true).await else {
        run.skipped(StepKind::Proxy, &plabel, "no TCP connection to the proxy");
        skip_tls(run, t, "the proxy cannot be reached");
        return None;
    };
    let started = Instant::now();
    let timeout = run.opts.step_timeout;
    let cred = run.opts.proxy_credential.clone();
    let res = tokio::time::timeout(timeout, proxy_exchange(&mut s, t, cred.as_ref())).await;
    let answer = match res {
        Err(_) => Err(format!(
            "the proxy did not answer within {} s",
            timeout.as_secs()
        )),
        Ok(Err(e)) => Err(format!("talking to the proxy failed: {e}")),
        Ok(Ok(a)) => Ok(a),
    };
    proxy_verdict(run, t, (&plabel, started), answer, cred.is_some()).then_some(s)
}

/// The proxy step from the proxy's answer (status, reason, challenge): passed, or failed with
/// the catalogue's explanation (407, a refused credential, a refused CONNECT or request).
fn proxy_verdict(
    run: &mut Run<'_>,
    t: &Target,
    (plabel, started): (&str, Instant),
    answer: Result<(u16, String, Option<String>), String>,
    sent_credential: bool,
) -> bool {
    match judge_proxy_answer(t, answer, sent_credential) {
        Ok(what) => {
            run.step(
                StepKind::Proxy,
                plabel,
                Outcome::Passed,
                what,
                started,
                None,
            );
            true
        }
        Err((summary, advice)) => {
            run.step(
                StepKind::Proxy,
                plabel,
                Outcome::Failed,
                summary,
                started,
                Some(advice),
            );
            skip_tls(run, t, "the proxy did not let the connection through");
            false
        }
    }
}

/// What passed through the proxy (Ok), or why it did not and the catalogue entry (Err).
fn judge_proxy_answer(
    t: &Target,
    answer: Result<(u16, String, Option<String>), String>,
    sent_credential: bool,
) -> Result<String, (String, &'static str)> {
    let failed = |summary: String, advice: &'static str| (summary, advice);
    match answer {
        Err(why) => Err(failed(why, ids::PROXY_REFUSED)),
        // A plain-http request through the proxy with our Basic credential answered 401 +
        // `WWW-Authenticate: Basic`: the proxy refused the credential (the services we check
        // never ask for Basic themselves).
        Ok((401, reason, Some(auth)))
            if !t.https && sent_credential && auth.eq_ignore_ascii_case("basic") =>
        {
            Err(failed(
                format!("401 {reason} from the proxy: the proxy credential sent was refused"),
                ids::PROXY_407,
            ))
        }
        Ok((407, reason, auth)) => {
            let scheme = auth
                .map(|a| format!(" (it asks for: {a})"))
                .unwrap_or_default();
            let sent = if sent_credential {
                "the proxy credential sent was refused"
            } else {
                "no proxy credential was sent"
            };
            Err(failed(
                format!("407 {reason}: {sent}{scheme}"),
                ids::PROXY_407,
            ))
        }
        Ok((status, reason, _)) if t.https && status != 200 => Err(failed(
            format!(
                "proxy refused CONNECT to {} ({status} {reason})",
                t.hostport()
            ),
            ids::PROXY_REFUSED,
        )),
        Ok((status, reason, _)) if !t.https && matches!(status, 502 | 503 | 504 | 403) => {
            Err(failed(
                format!(
                    "proxy refused the request to {} ({status} {reason})",
                    t.hostport()
                ),
                ids::PROXY_REFUSED,
            ))
        }
        Ok((status, reason, _)) => Ok(if t.https {
            format!("CONNECT {} → {status} {reason}", t.hostport())
        } else {
            format!(
                "GET {} through the proxy → {status} {reason}",
                t.url.origin().ascii_serialization()
            )
        }),
    }
}

fn skip_tls(run: &mut Run<'_>, t: &Target, why: &str) {
    if t.https {
        run.skipped(StepKind::Tls, &t.hostport(), why);
    }
}

async fn dns_step(run: &mut Run<'_>, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
    let started = Instant::now();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        run.step(
            StepKind::Dns,
            host,
            Outcome::Passed,
            format!("→ {ip} (an address, nothing to resolve)"),
            started,
            None,
        );
        return Some(vec![SocketAddr::new(ip, port)]);
    }
    let timeout = run.opts.step_timeout;
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => {
            let mut addrs: Vec<SocketAddr> = addrs.collect();
            addrs.dedup();
            if addrs.is_empty() {
                run.step(
                    StepKind::Dns,
                    host,
                    Outcome::Failed,
                    "the name resolves to no address",
                    started,
                    Some(ids::DNS_FAILURE),
                );
                return None;
            }
            let shown: Vec<String> = addrs.iter().take(3).map(|a| a.ip().to_string()).collect();
            let more = if addrs.len() > 3 {
                format!(" (+{} more)", addrs.len() - 3)
            } else {
                String::new()
            };
            run.step(
                StepKind::Dns,
                host,
                Outcome::Passed,
                format!("→ {}{more}", shown.join(", ")),
                started,
                None,
            );
            Some(addrs)
        }
        Ok(Err(e)) => {
            run.step(
                StepKind::Dns,
                host,
                Outcome::Failed,
                format!("cannot resolve {host}: {e}"),
                started,
                Some(ids::DNS_FAILURE),
            );
            None
        }
        Err(_) => {
            run.step(
                StepKind::Dns,
                host,
                Outcome::Failed,
                format!("no DNS answer for {host} within {} s", timeout.as_secs()),
                started,
                Some(ids::DNS_FAILURE),
            );
            None
        }
    }
}

async fn tcp_step(
    run: &mut Run<'_>,
    label: &str,
    addrs: &[SocketAddr],
    is_proxy: bool,
) -> Option<TcpStream> {
    let started = Instant::now();
    let timeout = run.opts.step_timeout;
    let mut last = String::new();
    for a in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(a)).await {
            Ok(Ok(s)) => {
                run.step(
                    StepKind::Tcp,
                    label,
                    Outcome::Passed,
                    format!("connected to {a}"),
                    started,
                    None,
                );
                return Some(s);
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection refused by {a}");
            }
            Ok(Err(e)) => last = format!("{a}: {e}"),
            Err(_) => last = format!("{a}: no answer within {} s", timeout.as_secs()),
        }
    }
    let port = addrs.first().map(|a| a.port()).unwrap_or(443);
    let summary = if is_proxy {
        format!("{last}: nothing listens on the proxy {label} or a firewall blocks it")
    } else {
        format!(
            "{last}: nothing listens on {label} / a firewall blocks it: TCP {port} must be open to Microsoft 365"
        )
    };
    run.step(
        StepKind::Tcp,
        label,
        Outcome::Failed,
        summary,
        started,
        Some(ids::TCP_BLOCKED),
    );
    None
}

/// Sends CONNECT (https targets) or a plain GET (http targets) through the proxy and reads the
/// answer's status line: (status, reason, Proxy-Authenticate scheme).
async fn proxy_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    t: &Target,
    cred: Option<&ProxyCredential>,
) -> std::io::Result<(u16, String, Option<String>)> {
    use base64::Engine;
    let auth = cred
        .map(|c| {
            format!(
                "Proxy-Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", c.user, c.password))
            )
        })
        .unwrap_or_default();
    let req = if t.https {
        format!(
            "CONNECT {hp} HTTP/1.1\r\nHost: {hp}\r\n{auth}User-Agent: exo-connect/{v}\r\n\r\n",
            hp = t.hostport(),
            v = env!("CARGO_PKG_VERSION")
        )
    } else {
        format!(
            "GET {origin}/ HTTP/1.1\r\nHost: {hp}\r\n{auth}Connection: close\r\nUser-Agent: exo-connect/{v}\r\n\r\n",
            origin = t.url.origin().ascii_serialization(),
            hp = t.hostport(),
            v = env!("CARGO_PKG_VERSION")
        )
    };
    s.write_all(req.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1];
    // Byte by byte up to the end of the head, so nothing of the tunnel is consumed.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("the proxy's answer head is too long"));
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other("the proxy closed the connection"));
        }
        head.push(buf[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {status_line}")))?;
    let reason = parts.next().unwrap_or("").trim().to_string();
    // The proxy's challenge. Some proxies (tinyproxy) refuse a wrong Basic password with
    // `401` + `WWW-Authenticate` instead of 407: take that challenge too, the caller decides.
    let header = if status == 401 {
        "www-authenticate"
    } else {
        "proxy-authenticate"
    };
    let scheme = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(header))
        .map(|(_, v)| v.split_whitespace().next().unwrap_or("").to_string())
        .collect::<Vec<_>>();
    let scheme = (!scheme.is_empty()).then(|| scheme.join(", "));
    Ok((status, reason, scheme))
}
