//! The TLS step of the connectivity check: the handshake over the stream the network steps
//! opened, with the certificate's issuer and the verdict of the system's roots (the platform
//! verifier reqwest uses), explained when the certificate is refused (TLS inspection, a wrong
//! name, an expired certificate).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Run, Target};
use crate::model::diagnosis::{Outcome, StepKind};
use crate::model::failures::ids;

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

/// The handshake over `stream`; true when it succeeded and the system's roots trust the host.
pub(super) async fn tls_step<S>(run: &mut Run<'_>, t: &Target, stream: S) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let label = t.hostport();
    let fail = |run: &mut Run<'_>, summary: String| {
        run.step(
            StepKind::Tls,
            &label,
            Outcome::Failed,
            summary,
            started,
            Some(ids::TLS_FAILED),
        );
        false
    };
    let (config, seen) = match recording_config() {
        Ok(c) => c,
        Err(why) => return fail(run, why),
    };
    let Ok(name) = ServerName::try_from(t.host.clone()) else {
        return fail(run, format!("'{}' is not a valid TLS server name", t.host));
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let timeout = run.opts.step_timeout;
    let res = tokio::time::timeout(timeout, connector.connect(name, stream)).await;
    let seen = seen.lock().unwrap().take();
    tls_verdict(run, t, started, res, seen)
}

/// A client config whose verifier is the platform's, recording what it saw.
fn recording_config() -> Result<(rustls::ClientConfig, Arc<Mutex<Seen>>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let platform = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("the system's certificate store cannot be used: {e}"))?;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let verifier = Recording {
        inner: Arc::new(platform),
        seen: seen.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((config, seen))
}

/// "issued by …" / "self-signed by …" of the chain's first certificate.
fn issued_by(seen: &Seen) -> String {
    let names = seen
        .as_ref()
        .and_then(|(chain, _)| chain.first())
        .and_then(|c| cert_names(c));
    match &names {
        Some((subject, issuer)) if subject == issuer => {
            format!("self-signed by {}", short_name(issuer))
        }
        Some((_, issuer)) => format!("issued by {}", short_name(issuer)),
        None => "no certificate seen".to_string(),
    }
}

/// The TLS step from the handshake's outcome and what the verifier saw.
fn tls_verdict<T>(
    run: &mut Run<'_>,
    t: &Target,
    started: Instant,
    res: Result<std::io::Result<tokio_rustls::client::TlsStream<T>>, tokio::time::error::Elapsed>,
    seen: Seen,
) -> bool {
    let label = t.hostport();
    let timeout = run.opts.step_timeout;
    let issued = issued_by(&seen);
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
