//! The connectivity check (`exo-connect doctor NAME`, the editor's "Test connection").
//!
//! For the sign-in host (authority) and the service host (REST base) of a profile: the proxy
//! route ([`super::proxy::resolve`]), DNS, TCP connect, a CONNECT through the proxy when one is
//! used, the TLS handshake with the certificate issuer and the trust result against the system's
//! roots (the platform verifier reqwest uses), then the authority's OpenID metadata and the clock
//! skew against the server's `Date` header. Each step is sent as a [`DiagStep`] the moment it
//! completes, with its time and, on failure, the catalogue's explanation
//! ([`crate::model::failures`]). Every wait has a timeout.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

use super::http::{HttpOptions, build_client, check_url, install_crypto_provider, plain_error};
use super::proxy::{self, Route, RouteKind};
use crate::model::Profile;
use crate::model::diagnosis::{Advice, DiagReport, DiagStep, Outcome, StepKind};
use crate::model::failures::ids;

/// A proxy credential for the check (Basic). `Debug` never shows the password.
#[derive(Clone)]
pub struct ProxyCredential {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for ProxyCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyCredential({}, ***)", self.user)
    }
}

/// How the check runs.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// Limit of every single wait (DNS, connect, handshake, a request).
    pub step_timeout: Duration,
    /// Use this route for every target instead of [`proxy::resolve`] (tests, or a caller that
    /// already resolved it).
    pub route: Option<Route>,
    /// Basic credential for the proxy (from the keychain), if any.
    pub proxy_credential: Option<ProxyCredential>,
    /// Clock skew above this is a warning (tokens will be refused).
    pub max_skew: Duration,
}

/// The Basic proxy credential of a profile: its proxy user and the password kept in the keychain
/// (`exo-connect login NAME --proxy-password-stdin` or the editor's proxy password field).
pub async fn proxy_credential(
    secrets: &crate::engine::secrets::SecretStore,
    profile: &crate::model::Profile,
) -> Option<ProxyCredential> {
    let user = profile
        .proxy
        .user
        .clone()
        .filter(|u| !u.trim().is_empty())?;
    let password = secrets
        .get(&crate::engine::secrets::proxy_password_key(&profile.id))
        .await?;
    Some(ProxyCredential { user, password })
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            step_timeout: Duration::from_secs(10),
            route: None,
            proxy_credential: None,
            max_skew: Duration::from_secs(5 * 60),
        }
    }
}

/// The profile cannot be checked at all (no endpoints, a URL our policy refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DoctorError(pub String);

struct Run<'a> {
    opts: &'a DoctorOptions,
    events: Option<UnboundedSender<DiagStep>>,
    steps: Vec<DiagStep>,
}

impl Run<'_> {
    fn emit(&mut self, step: DiagStep) {
        if let Some(tx) = &self.events {
            let _ = tx.send(step.clone());
        }
        self.steps.push(step);
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        kind: StepKind,
        target: &str,
        outcome: Outcome,
        summary: impl Into<String>,
        started: Instant,
        advice: Option<&str>,
    ) {
        self.emit(DiagStep {
            kind,
            target: target.to_string(),
            outcome,
            summary: summary.into(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            advice: advice.and_then(Advice::from_catalogue),
        });
    }

    fn skipped(&mut self, kind: StepKind, target: &str, why: &str) {
        self.emit(DiagStep {
            kind,
            target: target.to_string(),
            outcome: Outcome::Skipped,
            summary: format!("skipped: {why}"),
            elapsed_ms: 0,
            advice: None,
        });
    }
}

/// One host to check.
struct Target {
    url: url::Url,
    host: String,
    port: u16,
    https: bool,
}

impl Target {
    fn new(url: &str, what: &str) -> Result<Target, DoctorError> {
        let u = check_url(url).map_err(|e| DoctorError(format!("the {what}: {e}")))?;
        let host = u
            .host_str()
            .ok_or_else(|| DoctorError(format!("the {what} '{url}' has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = u
            .port_or_known_default()
            .ok_or_else(|| DoctorError(format!("the {what} '{url}' has no port")))?;
        Ok(Target {
            https: u.scheme() == "https",
            url: u,
            host,
            port,
        })
    }
    fn hostport(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Checks a profile's connectivity; each step is sent on `events` as it completes and the whole
/// report is returned. Fails only when the profile has no usable endpoints.
pub async fn check(
    profile: &Profile,
    opts: &DoctorOptions,
    events: Option<UnboundedSender<DiagStep>>,
) -> Result<DiagReport, DoctorError> {
    install_crypto_provider();
    let ep = profile.effective_endpoints().ok_or_else(|| {
        DoctorError(
            "the profile has no endpoints: a Custom cloud needs a ConnectionUri and an AzureADAuthorizationEndpointUri".into(),
        )
    })?;
    let authority = Target::new(&ep.authority, "sign-in authority")?;
    let service = Target::new(&ep.rest_base, "service URL")?;
    let mut run = Run {
        opts,
        events,
        steps: Vec::new(),
    };

    if let Some(w) = profile.cloud.retirement_warning() {
        run.step(
            StepKind::Cloud,
            profile.cloud.as_str(),
            Outcome::Warning,
            w,
            Instant::now(),
            Some(ids::GERMANY_RETIRED),
        );
    }

    let auth_route = route_for(profile, opts, &authority.url).await;
    let auth_ok = check_target(&mut run, &authority, &auth_route).await;
    let mut date: Option<(DateTime<Utc>, DateTime<Utc>, String)> = None;
    let client = client_for(&auth_route, opts);
    let openid_url = format!(
        "{}/v2.0/.well-known/openid-configuration",
        ep.authority.trim_end_matches('/')
    );
    if auth_ok {
        date = openid_step(&mut run, client.as_ref(), &openid_url).await;
    } else {
        run.skipped(
            StepKind::OpenId,
            &openid_url,
            "the sign-in host cannot be reached",
        );
    }

    let same = service.host.eq_ignore_ascii_case(&authority.host) && service.port == authority.port;
    let service_ok = if same {
        auth_ok
    } else {
        let route = route_for(profile, opts, &service.url).await;
        let ok = check_target(&mut run, &service, &route).await;
        if ok && date.is_none() {
            let client = client_for(&route, opts);
            date = fetch_date(client.as_ref(), service.url.as_str(), opts.step_timeout).await;
        }
        ok
    };

    let started = Instant::now();
    match date {
        Some((server, local, from)) => {
            let skew = server - local;
            let secs = skew.num_seconds();
            let words = if secs.abs() <= 1 {
                "within a second of".to_string()
            } else {
                format!(
                    "{} {}",
                    human_duration(secs.unsigned_abs()),
                    if secs > 0 { "behind" } else { "ahead of" }
                )
            };
            if secs.unsigned_abs() > opts.max_skew.as_secs() {
                run.step(
                    StepKind::Clock,
                    &from,
                    Outcome::Warning,
                    format!(
                        "this computer's clock is {words} the server's (Date: {}): tokens will be refused",
                        server.format("%Y-%m-%d %H:%M:%S UTC")
                    ),
                    started,
                    Some(ids::CLOCK_SKEW),
                );
            } else {
                run.step(
                    StepKind::Clock,
                    &from,
                    Outcome::Passed,
                    format!("this computer's clock is {words} the server's"),
                    started,
                    None,
                );
            }
        }
        None => {
            let why = if auth_ok || service_ok {
                "the server sent no Date header"
            } else {
                "no server could be reached"
            };
            run.skipped(StepKind::Clock, &authority.host, why);
        }
    }

    Ok(DiagReport {
        profile: profile.name.clone(),
        steps: run.steps,
    })
}

async fn route_for(profile: &Profile, opts: &DoctorOptions, url: &url::Url) -> Route {
    match &opts.route {
        Some(r) => r.clone(),
        None => proxy::resolve(profile, url).await,
    }
}

/// A reqwest client taking `route` (with the proxy credential when given).
fn client_for(route: &Route, opts: &DoctorOptions) -> Option<reqwest::Client> {
    let proxy = match &route.kind {
        RouteKind::Direct => None,
        RouteKind::Proxy { url } => {
            let mut u = url::Url::parse(url).ok()?;
            if let Some(c) = &opts.proxy_credential {
                let _ = u.set_username(&c.user);
                let _ = u.set_password(Some(&c.password));
            }
            Some(u.to_string())
        }
    };
    build_client(&HttpOptions {
        connect_timeout: opts.step_timeout,
        request_timeout: opts.step_timeout,
        proxy: Some(proxy),
        client: None,
    })
    .ok()
}

/// Route, DNS, TCP (and proxy), TLS for one host. True when the host is reachable.
async fn check_target(run: &mut Run<'_>, t: &Target, route: &Route) -> bool {
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
    let timeout = run.opts.step_timeout;
    let stream = match &route.kind {
        RouteKind::Direct => {
            let Some(addrs) = dns_step(run, &t.host, t.port).await else {
                run.skipped(StepKind::Tcp, &t.hostport(), "DNS failed");
                skip_tls(run, t, "DNS failed");
                return false;
            };
            let Some(s) = tcp_step(run, &t.hostport(), &addrs, false).await else {
                skip_tls(run, t, "no TCP connection");
                return false;
            };
            s
        }
        RouteKind::Proxy { url } => {
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
                return false;
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
                return false;
            };
            let Some(mut s) = tcp_step(run, &plabel, &addrs, true).await else {
                run.skipped(StepKind::Proxy, &plabel, "no TCP connection to the proxy");
                skip_tls(run, t, "the proxy cannot be reached");
                return false;
            };
            let started = Instant::now();
            let cred = run.opts.proxy_credential.clone();
            let res = tokio::time::timeout(timeout, proxy_exchange(&mut s, t, cred.as_ref())).await;
            let fail = |run: &mut Run<'_>, summary: String, advice: Option<&str>| {
                run.step(
                    StepKind::Proxy,
                    &plabel,
                    Outcome::Failed,
                    summary,
                    started,
                    advice,
                );
                skip_tls(run, t, "the proxy did not let the connection through");
                false
            };
            match res {
                Err(_) => {
                    return fail(
                        run,
                        format!("the proxy did not answer within {} s", timeout.as_secs()),
                        Some(ids::PROXY_REFUSED),
                    );
                }
                Ok(Err(e)) => {
                    return fail(
                        run,
                        format!("talking to the proxy failed: {e}"),
                        Some(ids::PROXY_REFUSED),
                    );
                }
                // A plain-http request through the proxy with our Basic credential answered
                // 401 + `WWW-Authenticate: Basic`: the proxy refused the credential (the
                // services we check never ask for Basic themselves).
                Ok(Ok((401, reason, Some(auth))))
                    if !t.https && cred.is_some() && auth.eq_ignore_ascii_case("basic") =>
                {
                    return fail(
                        run,
                        format!(
                            "401 {reason} from the proxy: the proxy credential sent was refused"
                        ),
                        Some(ids::PROXY_407),
                    );
                }
                Ok(Ok((407, reason, auth))) => {
                    let scheme = auth
                        .map(|a| format!(" (it asks for: {a})"))
                        .unwrap_or_default();
                    let sent = if cred.is_some() {
                        "the proxy credential sent was refused"
                    } else {
                        "no proxy credential was sent"
                    };
                    return fail(
                        run,
                        format!("407 {reason}: {sent}{scheme}"),
                        Some(ids::PROXY_407),
                    );
                }
                Ok(Ok((status, reason, _))) if t.https && status != 200 => {
                    return fail(
                        run,
                        format!(
                            "proxy refused CONNECT to {} ({status} {reason})",
                            t.hostport()
                        ),
                        Some(ids::PROXY_REFUSED),
                    );
                }
                Ok(Ok((status, reason, _)))
                    if !t.https
                        && (status == 502 || status == 503 || status == 504 || status == 403) =>
                {
                    return fail(
                        run,
                        format!(
                            "proxy refused the request to {} ({status} {reason})",
                            t.hostport()
                        ),
                        Some(ids::PROXY_REFUSED),
                    );
                }
                Ok(Ok((status, reason, _))) => {
                    let what = if t.https {
                        format!("CONNECT {} → {status} {reason}", t.hostport())
                    } else {
                        format!(
                            "GET {} through the proxy → {status} {reason}",
                            t.url.origin().ascii_serialization()
                        )
                    };
                    run.step(
                        StepKind::Proxy,
                        &plabel,
                        Outcome::Passed,
                        what,
                        started,
                        None,
                    );
                }
            }
            s
        }
    };
    if t.https {
        tls_step(run, t, stream).await
    } else {
        run.skipped(
            StepKind::Tls,
            &t.hostport(),
            "plain http to loopback (the simulated tenant)",
        );
        true
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

/// What the verifier saw: the chain and the platform verifier's verdict.
type Seen = Option<(Vec<CertificateDer<'static>>, Result<(), rustls::Error>)>;

#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let r = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.seen.lock().unwrap() = Some((chain, r.as_ref().map(|_| ()).map_err(Clone::clone)));
        r
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Subject and issuer of a DER certificate, as RFC 4514 strings.
pub fn cert_names(der: &[u8]) -> Option<(String, String)> {
    use x509_cert::der::Decode;
    let c = x509_cert::Certificate::from_der(der).ok()?;
    Some((
        c.tbs_certificate.subject.to_string(),
        c.tbs_certificate.issuer.to_string(),
    ))
}

/// The CN of an RFC 4514 name (the whole name when it has none), plus its O when present.
pub fn short_name(rfc4514: &str) -> String {
    let part = |key: &str| {
        rfc4514
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(key).map(str::to_string))
    };
    match (part("CN="), part("O=")) {
        (Some(cn), Some(o)) if !cn.contains(&o) => format!("{cn} ({o})"),
        (Some(cn), _) => cn,
        (None, Some(o)) => o,
        (None, None) => rfc4514.to_string(),
    }
}

async fn tls_step<S>(run: &mut Run<'_>, t: &Target, stream: S) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let label = t.hostport();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let platform = match rustls_platform_verifier::Verifier::new(provider.clone()) {
        Ok(v) => v,
        Err(e) => {
            run.step(
                StepKind::Tls,
                &label,
                Outcome::Failed,
                format!("the system's certificate store cannot be used: {e}"),
                started,
                Some(ids::TLS_FAILED),
            );
            return false;
        }
    };
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let verifier = Recording {
        inner: Arc::new(platform),
        seen: seen.clone(),
    };
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
        Err(e) => {
            run.step(
                StepKind::Tls,
                &label,
                Outcome::Failed,
                e.to_string(),
                started,
                Some(ids::TLS_FAILED),
            );
            return false;
        }
    };
    let Ok(name) = ServerName::try_from(t.host.clone()) else {
        run.step(
            StepKind::Tls,
            &label,
            Outcome::Failed,
            format!("'{}' is not a valid TLS server name", t.host),
            started,
            Some(ids::TLS_FAILED),
        );
        return false;
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let timeout = run.opts.step_timeout;
    let res = tokio::time::timeout(timeout, connector.connect(name, stream)).await;
    let seen = seen.lock().unwrap().take();
    let issuer = seen
        .as_ref()
        .and_then(|(chain, _)| chain.first())
        .and_then(|c| cert_names(c));
    let issued = match &issuer {
        Some((subject, issuer)) if subject == issuer => {
            format!("self-signed by {}", short_name(issuer))
        }
        Some((_, issuer)) => format!("issued by {}", short_name(issuer)),
        None => "no certificate seen".to_string(),
    };
    match (res, seen) {
        (Ok(Ok(tls)), _) => {
            let version = tls
                .get_ref()
                .1
                .protocol_version()
                .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1."))
                .unwrap_or_default();
            run.step(
                StepKind::Tls,
                &label,
                Outcome::Passed,
                format!("{issued}, trusted by the system's roots; {version}"),
                started,
                None,
            );
            true
        }
        (Err(_), _) => {
            run.step(
                StepKind::Tls,
                &label,
                Outcome::Failed,
                format!("no TLS handshake within {} s", timeout.as_secs()),
                started,
                Some(ids::TLS_FAILED),
            );
            false
        }
        (Ok(Err(_)), Some((_, Err(rustls::Error::InvalidCertificate(ce))))) => {
            use rustls::CertificateError as C;
            let (why, advice) = match ce {
                C::UnknownIssuer => (
                    "not trusted by the system's roots (not a public CA: TLS inspection by a proxy, or an interception)".to_string(),
                    ids::TLS_UNKNOWN_ISSUER,
                ),
                C::NotValidForName | C::NotValidForNameContext { .. } => (
                    format!("the certificate is not valid for {}", t.host),
                    ids::TLS_FAILED,
                ),
                C::Expired | C::ExpiredContext { .. } => (
                    "the certificate has expired (or this computer's clock is wrong)".to_string(),
                    ids::TLS_FAILED,
                ),
                other => (format!("the certificate was refused: {other:?}"), ids::TLS_FAILED),
            };
            run.step(
                StepKind::Tls,
                &label,
                Outcome::Failed,
                format!("{issued} — {why}"),
                started,
                Some(advice),
            );
            false
        }
        (Ok(Err(e)), _) => {
            run.step(
                StepKind::Tls,
                &label,
                Outcome::Failed,
                format!("{issued}; the handshake failed: {e}"),
                started,
                Some(ids::TLS_FAILED),
            );
            false
        }
    }
}

/// GETs the OpenID metadata; returns the server's Date (and our clock at mid-request).
async fn openid_step(
    run: &mut Run<'_>,
    client: Option<&reqwest::Client>,
    url: &str,
) -> Option<(DateTime<Utc>, DateTime<Utc>, String)> {
    let started = Instant::now();
    let Some(client) = client else {
        run.step(
            StepKind::OpenId,
            url,
            Outcome::Failed,
            "cannot build an HTTP client for this route",
            started,
            None,
        );
        return None;
    };
    let before = Utc::now();
    let resp = client.get(url).send().await;
    let fail = |run: &mut Run<'_>, why: String| {
        run.step(
            StepKind::OpenId,
            url,
            Outcome::Failed,
            why,
            started,
            Some(ids::OPENID_METADATA),
        );
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            fail(run, format!("the request failed: {}", plain_error(&e)));
            return None;
        }
    };
    let mid = before + (Utc::now() - before) / 2;
    let host = resp.url().host_str().unwrap_or("").to_string();
    let date = date_header(&resp).map(|d| (d, mid, host));
    let status = resp.status();
    let body = resp.bytes().await;
    if !status.is_success() {
        fail(run, format!("answered HTTP {status}"));
        return date;
    }
    let json = body
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match (field("issuer"), field("token_endpoint")) {
        (Some(issuer), Some(_)) => run.step(
            StepKind::OpenId,
            url,
            Outcome::Passed,
            format!("metadata found (issuer {issuer}, token endpoint present)"),
            started,
            None,
        ),
        (None, _) if json.is_none() => fail(run, "the answer is not JSON".into()),
        (i, t) => {
            let mut missing = Vec::new();
            if i.is_none() {
                missing.push("issuer");
            }
            if t.is_none() {
                missing.push("token_endpoint");
            }
            fail(run, format!("the metadata lacks {}", missing.join(" and ")));
        }
    }
    date
}

async fn fetch_date(
    client: Option<&reqwest::Client>,
    url: &str,
    timeout: Duration,
) -> Option<(DateTime<Utc>, DateTime<Utc>, String)> {
    let client = client?;
    let before = Utc::now();
    let resp = tokio::time::timeout(timeout, client.get(url).send())
        .await
        .ok()?
        .ok()?;
    let mid = before + (Utc::now() - before) / 2;
    let host = resp.url().host_str().unwrap_or("").to_string();
    date_header(&resp).map(|d| (d, mid, host))
}

fn date_header(resp: &reqwest::Response) -> Option<DateTime<Utc>> {
    let v = resp.headers().get(reqwest::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// "3 h 12 min", "7 min", "42 s".
fn human_duration(secs: u64) -> String {
    if secs >= 3600 {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn names_and_durations() {
        assert_eq!(
            short_name("CN=Contoso Inspection CA,O=Contoso Ltd,C=US"),
            "Contoso Inspection CA (Contoso Ltd)"
        );
        assert_eq!(short_name("O=Only Org"), "Only Org");
        assert_eq!(human_duration(3 * 3600 + 60 * 12), "3 h 12 min");
        assert_eq!(human_duration(420), "7 min");
        assert_eq!(human_duration(42), "42 s");
        let c = ProxyCredential {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    /// A fake CONNECT proxy on loopback that answers 407: the proxy step fails with the
    /// catalogue's proxy explanation, and the route comes from the injected `Route`.
    #[tokio::test]
    async fn proxy_407_is_explained() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                seen2
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).to_string());
                let _ = s
                    .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let mut p = Profile::new(
            "Proxied",
            "admin@contoso.com",
            crate::model::Service::ExchangeOnline,
        );
        let opts = DoctorOptions {
            step_timeout: Duration::from_secs(5),
            route: Some(Route {
                kind: RouteKind::Proxy {
                    url: format!("http://127.0.0.1:{port}"),
                },
                source: "test".into(),
                notes: vec![],
            }),
            ..Default::default()
        };
        p.proxy.access_type = crate::model::ProxyAccessType::IEConfig;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let report = check(&p, &opts, Some(tx)).await.unwrap();
        assert!(!report.passed());
        let proxy = report
            .steps
            .iter()
            .find(|s| s.kind == StepKind::Proxy)
            .expect("a proxy step");
        assert_eq!(proxy.outcome, Outcome::Failed, "{proxy:?}");
        assert!(proxy.summary.contains("407"), "{}", proxy.summary);
        assert!(proxy.summary.contains("Basic"), "{}", proxy.summary);
        assert_eq!(proxy.advice.as_ref().unwrap().id, ids::PROXY_407);
        let route = &report.steps[0];
        assert_eq!(route.kind, StepKind::Route);
        assert!(
            route.summary.contains(&format!("via 127.0.0.1:{port}")),
            "{}",
            route.summary
        );
        // The proxy got a real CONNECT for the sign-in host.
        let reqs = seen.lock().unwrap().clone();
        assert!(
            reqs.iter()
                .any(|r| r.starts_with("CONNECT login.microsoftonline.com:443 HTTP/1.1")),
            "{reqs:?}"
        );
        // Events arrived as the steps completed, in the same order as the report.
        let mut streamed = Vec::new();
        while let Ok(s) = rx.try_recv() {
            streamed.push(s);
        }
        assert_eq!(streamed, report.steps);
        // Target DNS is left to the proxy; TLS is not attempted through a refused tunnel.
        assert!(report.steps.iter().any(|s| s.kind == StepKind::Dns
            && s.target == "login.microsoftonline.com"
            && s.outcome == Outcome::Skipped));
    }
}
