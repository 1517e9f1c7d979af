//! The connectivity check (`exo-connect doctor NAME`, the editor's "Test connection").
//!
//! For the sign-in host (authority) and the service host (REST base) of a profile: the proxy
//! route ([`super::proxy::resolve`]), DNS, TCP connect, a CONNECT through the proxy when one is
//! used, the TLS handshake with the certificate issuer and the trust result against the system's
//! roots (the platform verifier reqwest uses), then the authority's OpenID metadata and the clock
//! skew against the server's `Date` header. Each step is sent as a [`DiagStep`] the moment it
//! completes, with its time and, on failure, the catalogue's explanation
//! ([`crate::model::failures`]). Every wait has a timeout.
//!
//! One file per job: this one (the options, the run and its order), `network` (route, DNS, TCP,
//! the proxy's CONNECT), `tls` (the handshake and the certificate's trust), `metadata` (the
//! OpenID metadata and the clock).

mod metadata;
mod network;
mod tls;

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::http::{HttpOptions, build_client, check_url, install_crypto_provider};
use super::proxy::{self, Route, RouteKind};
use crate::model::Profile;
use crate::model::diagnosis::{Advice, DiagReport, DiagStep, Outcome, StepKind};
use crate::model::failures::ids;

pub use tls::{cert_names, short_name};

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
    let auth_ok = network::check_target(&mut run, &authority, &auth_route).await;
    let openid_url = format!(
        "{}/v2.0/.well-known/openid-configuration",
        ep.authority.trim_end_matches('/')
    );
    let mut date = if auth_ok {
        let client = client_for(&auth_route, opts);
        metadata::openid_step(&mut run, client.as_ref(), &openid_url).await
    } else {
        run.skipped(
            StepKind::OpenId,
            &openid_url,
            "the sign-in host cannot be reached",
        );
        None
    };

    let same = service.host.eq_ignore_ascii_case(&authority.host) && service.port == authority.port;
    let service_ok = if same {
        auth_ok
    } else {
        let route = route_for(profile, opts, &service.url).await;
        let ok = network::check_target(&mut run, &service, &route).await;
        if ok && date.is_none() {
            let client = client_for(&route, opts);
            date = metadata::fetch_date(client.as_ref(), service.url.as_str(), opts.step_timeout)
                .await;
        }
        ok
    };

    metadata::clock_step(&mut run, date, auth_ok || service_ok, &authority.host);
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

#[cfg(test)]
mod tests {
    use super::metadata::human_duration;
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
