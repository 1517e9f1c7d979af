//! The connectivity check (`engine::doctor`) against the sim, a closed port, a TLS server whose
//! certificate comes from an unknown (corporate-inspection-like) CA, and a server whose clock is
//! hours off. Plus the catalogue reaching a real REST error of the sim.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use exo_connect::engine::doctor::{DoctorOptions, check};
use exo_connect::model::diagnosis::{DiagReport, DiagStep, Outcome, StepKind};
use exo_connect::model::failures::ids;
use exo_connect::model::{Cloud, Profile, Service};
use exo_connect::sim::SimConfig;

fn opts() -> DoctorOptions {
    DoctorOptions {
        step_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

fn custom(authority: &str, service: &str) -> Profile {
    let mut p = Profile::new("Doctor test", "ops@contoso.com", Service::ExchangeOnline);
    p.cloud = Cloud::Custom;
    p.authorization_endpoint = Some(authority.to_string());
    p.connection_uri = Some(format!("{service}/powershell-liveid/"));
    p
}

fn steps(r: &DiagReport, kind: StepKind) -> Vec<&DiagStep> {
    r.steps.iter().filter(|s| s.kind == kind).collect()
}

#[tokio::test]
async fn sim_passes_every_step_with_tls_skipped() {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let p = custom(&h.urls().authority(), &h.urls().exo);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let r = check(&p, &opts(), Some(tx)).await.unwrap();
    assert!(r.passed(), "{:#?}", r.steps);
    // Two hosts (sign-in, service): route, DNS, TCP and TLS for each.
    for kind in [StepKind::Route, StepKind::Dns, StepKind::Tcp, StepKind::Tls] {
        assert_eq!(steps(&r, kind).len(), 2, "{kind:?}: {:#?}", r.steps);
    }
    for s in steps(&r, StepKind::Tls) {
        assert_eq!(s.outcome, Outcome::Skipped);
        assert!(
            s.summary
                .contains("plain http to loopback (the simulated tenant)"),
            "{}",
            s.summary
        );
    }
    for s in steps(&r, StepKind::Route) {
        assert!(s.summary.starts_with("direct"), "{}", s.summary);
    }
    let login_port = url::Url::parse(&h.urls().login).unwrap().port().unwrap();
    let tcp = steps(&r, StepKind::Tcp);
    assert_eq!(tcp[0].target, format!("127.0.0.1:{login_port}"));
    assert_eq!(tcp[0].outcome, Outcome::Passed);
    let openid = steps(&r, StepKind::OpenId);
    assert_eq!(openid.len(), 1);
    assert_eq!(openid[0].outcome, Outcome::Passed, "{:?}", openid[0]);
    assert!(
        openid[0].summary.contains("metadata found"),
        "{}",
        openid[0].summary
    );
    assert!(
        openid[0]
            .target
            .ends_with("/organizations/v2.0/.well-known/openid-configuration")
    );
    let clock = steps(&r, StepKind::Clock);
    assert_eq!(clock.len(), 1);
    assert_eq!(clock[0].outcome, Outcome::Passed);
    assert!(
        clock[0].summary.contains("within a second"),
        "{}",
        clock[0].summary
    );
    // Each step was sent as an event, in order.
    let mut streamed = Vec::new();
    while let Ok(s) = rx.try_recv() {
        streamed.push(s);
    }
    assert_eq!(streamed, r.steps);
}

#[tokio::test]
async fn closed_port_fails_tcp_with_the_fix() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let base = format!("http://127.0.0.1:{port}");
    let p = custom(&format!("{base}/organizations"), &base);
    let r = check(&p, &opts(), None).await.unwrap();
    assert!(!r.passed());
    let tcp = steps(&r, StepKind::Tcp);
    assert_eq!(tcp[0].outcome, Outcome::Failed);
    assert!(
        tcp[0].summary.contains(&format!(
            "nothing listens on 127.0.0.1:{port} / a firewall blocks it"
        )),
        "{}",
        tcp[0].summary
    );
    let a = tcp[0].advice.as_ref().expect("advice");
    assert_eq!(a.id, ids::TCP_BLOCKED);
    assert!(a.why.contains("TCP 443"), "{}", a.why);
    // What depends on the connection is skipped, not failed twice.
    let openid = steps(&r, StepKind::OpenId);
    assert_eq!(openid[0].outcome, Outcome::Skipped);
    assert_eq!(steps(&r, StepKind::Clock)[0].outcome, Outcome::Skipped);
}

/// A CA that is not public (like a corporate TLS-inspection CA) and a leaf for 127.0.0.1.
fn inspection_chain() -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
    use x509_cert::builder::{Builder, CertificateBuilder, Profile as CertProfile};
    use x509_cert::der::Encode;
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;

    let mut rng = rand::thread_rng();
    let spki = |k: &rsa::RsaPrivateKey| {
        let der = k.to_public_key().to_public_key_der().unwrap();
        SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).unwrap()
    };
    let validity = Validity::from_now(Duration::from_secs(86400)).unwrap();
    let ca_key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let ca_name = Name::from_str("CN=Contoso Inspection CA,O=Contoso Ltd").unwrap();
    let ca_signer = SigningKey::<sha2::Sha256>::new(ca_key.clone());
    let ca = CertificateBuilder::new(
        CertProfile::Root,
        SerialNumber::from(1u32),
        validity,
        ca_name.clone(),
        spki(&ca_key),
        &ca_signer,
    )
    .unwrap()
    .build::<rsa::pkcs1v15::Signature>()
    .unwrap();
    let leaf_key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let mut leaf = CertificateBuilder::new(
        CertProfile::Leaf {
            issuer: ca_name,
            enable_key_agreement: false,
            enable_key_encipherment: true,
        },
        SerialNumber::from(2u32),
        validity,
        Name::from_str("CN=127.0.0.1").unwrap(),
        spki(&leaf_key),
        &ca_signer,
    )
    .unwrap();
    leaf.add_extension(&SubjectAltName(vec![GeneralName::IpAddress(
        x509_cert::der::asn1::OctetString::new(vec![127, 0, 0, 1]).unwrap(),
    )]))
    .unwrap();
    let leaf = leaf.build::<rsa::pkcs1v15::Signature>().unwrap();
    let key_der = leaf_key.to_pkcs8_der().unwrap();
    (
        vec![leaf.to_der().unwrap().into(), ca.to_der().unwrap().into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.as_bytes().to_vec().into()),
    )
}

#[tokio::test]
async fn untrusted_certificate_shows_the_issuer_and_how_to_trust_it() {
    let port = start_inspecting_tls_server().await;
    let base = format!("https://127.0.0.1:{port}");
    let p = custom(&format!("{base}/organizations"), &base);
    let r = check(&p, &opts(), None).await.unwrap();
    assert!(!r.passed());
    let tls = steps(&r, StepKind::Tls);
    assert_eq!(
        tls.len(),
        1,
        "same host and port is checked once: {:#?}",
        r.steps
    );
    assert_eq!(tls[0].outcome, Outcome::Failed);
    assert!(
        tls[0]
            .summary
            .contains("issued by Contoso Inspection CA (Contoso Ltd)"),
        "{}",
        tls[0].summary
    );
    assert!(
        tls[0].summary.contains("not a public CA"),
        "{}",
        tls[0].summary
    );
    let a = tls[0].advice.as_ref().unwrap();
    assert_eq!(a.id, ids::TLS_UNKNOWN_ISSUER);
    for os in ["Windows", "macOS", "Linux", "update-ca-certificates"] {
        assert!(a.fix.contains(os), "{os}: {}", a.fix);
    }
    // TCP worked; the OpenID fetch through the normal client is refused the same way.
    assert_eq!(steps(&r, StepKind::Tcp)[0].outcome, Outcome::Passed);
    assert_eq!(steps(&r, StepKind::OpenId)[0].outcome, Outcome::Skipped);
}

async fn start_inspecting_tls_server() -> u16 {
    let (chain, key) = inspection_chain();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let a = acceptor.clone();
            tokio::spawn(async move {
                let _ = a.accept(s).await;
            });
        }
    });
    port
}

/// Through a proxy that lets CONNECT through (a fake on loopback that tunnels every CONNECT to
/// the TLS server): the proxy step passes and the TLS handshake runs inside the tunnel, where
/// the inspection CA shows.
#[tokio::test]
async fn tls_is_checked_inside_the_proxy_tunnel() {
    use exo_connect::engine::proxy::{Route, RouteKind};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tls_port = start_inspecting_tls_server().await;
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let connects = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = connects.clone();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = proxy.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if c.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let first = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push(first);
                let mut up = tokio::net::TcpStream::connect(("127.0.0.1", tls_port))
                    .await
                    .unwrap();
                c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut c, &mut up).await;
            });
        }
    });
    let mut p = Profile::new(
        "Behind a proxy",
        "admin@contoso.com",
        Service::ExchangeOnline,
    );
    p.cloud = Cloud::O365Default;
    let o = DoctorOptions {
        route: Some(Route {
            kind: RouteKind::Proxy {
                url: format!("http://127.0.0.1:{proxy_port}"),
            },
            source: "IEConfig (test)".into(),
            notes: vec![],
        }),
        ..opts()
    };
    let r = check(&p, &o, None).await.unwrap();
    let proxy_steps = steps(&r, StepKind::Proxy);
    assert_eq!(proxy_steps.len(), 2, "{:#?}", r.steps);
    assert_eq!(
        proxy_steps[0].outcome,
        Outcome::Passed,
        "{:?}",
        proxy_steps[0]
    );
    assert!(
        proxy_steps[0]
            .summary
            .contains("CONNECT login.microsoftonline.com:443 → 200"),
        "{}",
        proxy_steps[0].summary
    );
    let tls = steps(&r, StepKind::Tls);
    assert_eq!(tls.len(), 2);
    for t in &tls {
        assert_eq!(t.outcome, Outcome::Failed);
        assert!(t.summary.contains("Contoso Inspection CA"), "{}", t.summary);
        assert_eq!(t.advice.as_ref().unwrap().id, ids::TLS_UNKNOWN_ISSUER);
    }
    assert_eq!(
        connects.lock().unwrap().clone(),
        vec![
            "CONNECT login.microsoftonline.com:443 HTTP/1.1".to_string(),
            "CONNECT outlook.office365.com:443 HTTP/1.1".to_string()
        ]
    );
    assert!(
        steps(&r, StepKind::Route)[0]
            .summary
            .contains(&format!("via 127.0.0.1:{proxy_port}"))
    );
}

#[tokio::test]
async fn server_clock_hours_off_is_a_warning() {
    use axum::response::IntoResponse;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let issuer = base.clone();
    let app = axum::Router::new().route(
        "/organizations/v2.0/.well-known/openid-configuration",
        axum::routing::get(move || {
            let issuer = issuer.clone();
            async move {
                let date = (chrono::Utc::now() + chrono::Duration::hours(3))
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string();
                (
                    [(axum::http::header::DATE, date)],
                    axum::Json(serde_json::json!({
                        "issuer": format!("{issuer}/{{tenantid}}/v2.0"),
                        "token_endpoint": format!("{issuer}/organizations/oauth2/v2.0/token"),
                    })),
                )
                    .into_response()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let p = custom(&format!("{base}/organizations"), &base);
    let r = check(&p, &opts(), None).await.unwrap();
    assert!(r.passed(), "a warning is not a failure: {:#?}", r.steps);
    let clock = steps(&r, StepKind::Clock);
    assert_eq!(clock[0].outcome, Outcome::Warning, "{:?}", clock[0]);
    assert!(
        clock[0].summary.contains("3 h 0 min behind")
            || clock[0].summary.contains("2 h 59 min behind"),
        "{}",
        clock[0].summary
    );
    assert!(clock[0].summary.contains("tokens will be refused"));
    assert_eq!(clock[0].advice.as_ref().unwrap().id, ids::CLOCK_SKEW);
    assert!(r.summary().contains("1 warning"), "{}", r.summary());
}

#[tokio::test]
async fn germany_cloud_is_flagged_before_anything_else() {
    let mut p = Profile::new("Old", "admin@contoso.de", Service::ExchangeOnline);
    p.cloud = Cloud::O365GermanyCloud;
    // Point the hosts at a closed loopback port so nothing leaves the machine.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    drop(l);
    p.authorization_endpoint = Some(format!("{base}/organizations"));
    p.connection_uri = Some(format!("{base}/powershell-liveid/"));
    let r = check(&p, &opts(), None).await.unwrap();
    assert_eq!(r.steps[0].kind, StepKind::Cloud);
    assert_eq!(r.steps[0].outcome, Outcome::Warning);
    assert_eq!(r.steps[0].advice.as_ref().unwrap().id, ids::GERMANY_RETIRED);
}

#[tokio::test]
async fn profile_without_endpoints_is_refused_plainly() {
    let mut p = Profile::new("Custom", "a@b.c", Service::ExchangeOnline);
    p.cloud = Cloud::Custom;
    let e = check(&p, &opts(), None).await.unwrap_err();
    assert!(e.0.contains("ConnectionUri"), "{e}");
    p.authorization_endpoint = Some("http://login.example.com/organizations".into());
    p.connection_uri = Some("https://outlook.example.com/powershell-liveid/".into());
    let e = check(&p, &opts(), None).await.unwrap_err();
    assert!(
        e.0.contains("sign-in authority") && e.0.contains("http://"),
        "{e}"
    );
}

/// A real error of the sim's admin API reaches the user with the catalogue's words.
#[tokio::test]
async fn rest_error_is_explained_from_the_catalogue() {
    use exo_connect::engine::rest::{CmdletRequest, RestClient, RestConfig, RestTarget};
    use exo_connect::engine::token::{AccessToken, TokenProvider, TokenUnavailable};

    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    // helpdesk@contoso.com is not enabled for remote PowerShell: get a real token by password.
    let client = reqwest::Client::new();
    let form = [
        ("grant_type", "password".to_string()),
        (
            "client_id",
            exo_connect::engine::auth::PUBLIC_CLIENT_ID.to_string(),
        ),
        ("username", "helpdesk@contoso.com".to_string()),
        (
            "password",
            format!("helpdesk{}", exo_connect::sim::world::DEMO_PASSWORD_SUFFIX),
        ),
        ("scope", format!("{}/.default", h.urls().exo)),
    ];
    let tok: serde_json::Value = client
        .post(format!("{}/oauth2/v2.0/token", h.urls().authority()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tok["access_token"].as_str().expect("a token").to_string();

    let tenant_id = h
        .world()
        .user("helpdesk@contoso.com")
        .unwrap()
        .tenant_id
        .to_string();
    struct Fixed(AccessToken);
    impl TokenProvider for Fixed {
        fn token(
            &self,
            _force: bool,
        ) -> futures_util::future::BoxFuture<'_, Result<AccessToken, TokenUnavailable>> {
            let t = self.0.clone();
            Box::pin(async move { Ok(t) })
        }
    }
    let token = AccessToken {
        secret: access,
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        tenant_id,
        account: Some("helpdesk@contoso.com".into()),
        resource: h.urls().exo.clone(),
    };
    let rc = RestClient::new(
        RestTarget {
            rest_base: h.urls().exo.clone(),
            tenant_override: None,
            app_only_organization: None,
        },
        Arc::new(Fixed(token)),
        RestConfig::default(),
    )
    .unwrap();
    let err = rc
        .start(CmdletRequest::new("Get-Mailbox").param("ResultSize", 1))
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(403));
    assert_eq!(
        err.known(None).map(|k| k.id),
        Some("remote-powershell-disabled")
    );
    let x = err.explanation().unwrap();
    assert!(
        x.contains("RemotePowerShellEnabled $true") && x.contains("Why: "),
        "{x}"
    );
}
