//! App-only sign-in with a certificate: the client-assertion JWT (RFC 7523) Entra expects.
//! RS256, header `x5t` = base64url SHA-1 of the certificate DER; `aud` = token URL,
//! `iss` = `sub` = app id, `jti`, `nbf`, `exp`.

use base64::Engine;
use sha1::Digest;

use super::SignInError;

/// A certificate with its private key, loaded from a PEM file (key + certificate) or a PFX file.
pub struct ClientCertificate {
    /// DER of the (first) certificate.
    pub cert_der: Vec<u8>,
    key: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t())
            .finish_non_exhaustive()
    }
}

fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    let mut buf = String::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("-----BEGIN ") {
            label = Some(rest.trim_end_matches('-').to_string());
            buf.clear();
            buf.push_str(l);
            buf.push('\n');
        } else if l.starts_with("-----END ") {
            if let Some(lab) = label.take() {
                buf.push_str(l);
                buf.push('\n');
                out.push((lab, buf.clone()));
            }
        } else if label.is_some() {
            buf.push_str(l);
            buf.push('\n');
        }
    }
    out
}

fn pem_body_der(block: &str) -> Option<Vec<u8>> {
    let b64: String = block.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

impl ClientCertificate {
    /// From PEM text holding a private key (PKCS#8 or PKCS#1 RSA) and a certificate.
    pub fn from_pem(text: &str) -> Result<Self, SignInError> {
        let blocks = pem_blocks(text);
        let cert = blocks
            .iter()
            .find(|(l, _)| l == "CERTIFICATE")
            .and_then(|(_, b)| pem_body_der(b))
            .ok_or_else(|| {
                SignInError::Config(
                    "the certificate file has no PEM CERTIFICATE block: give a PEM file with both the certificate and its private key".into(),
                )
            })?;
        let key_pem = blocks
            .iter()
            .find(|(l, _)| l == "PRIVATE KEY" || l == "RSA PRIVATE KEY")
            .map(|(_, b)| b.clone())
            .ok_or_else(|| {
                SignInError::Config(
                    "the certificate file has no unencrypted private key (PEM 'PRIVATE KEY' or 'RSA PRIVATE KEY' block)".into(),
                )
            })?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).map_err(|e| {
            SignInError::Config(format!(
                "the certificate's private key is not a usable RSA key: {e}"
            ))
        })?;
        Ok(ClientCertificate {
            cert_der: cert,
            key,
        })
    }

    /// From a file: PEM (by content), else PFX / PKCS#12 with `password`.
    pub fn from_file(path: &str, password: Option<&str>) -> Result<Self, SignInError> {
        let bytes = std::fs::read(path).map_err(|e| {
            SignInError::Config(format!("cannot read the certificate file {path}: {e}"))
        })?;
        match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_pfx(&bytes, password.unwrap_or("")),
        }
    }

    /// PFX / PKCS#12 is not supported yet: say how to convert it.
    pub fn from_pfx(_bytes: &[u8], _password: &str) -> Result<Self, SignInError> {
        Err(SignInError::Config(
            "PFX certificate files are not supported yet: convert it to PEM with `openssl pkcs12 -in cert.pfx -out cert.pem -nodes` and point the profile at the PEM file".into(),
        ))
    }

    /// base64url SHA-1 thumbprint of the certificate DER.
    pub fn x5t(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&self.cert_der))
    }

    /// The signed client assertion for `token_url`, valid 10 minutes.
    pub fn client_assertion(&self, app_id: &str, token_url: &str) -> Result<String, SignInError> {
        let now = chrono::Utc::now().timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.x5t = Some(self.x5t());
        let claims = serde_json::json!({
            "aud": token_url,
            "iss": app_id,
            "sub": app_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| SignInError::Config(format!("signing the client assertion failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

    #[test]
    fn assertion_has_x5t_and_verifies() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let key = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let key_pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pub_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let fake_der = b"not really a certificate, only hashed".to_vec();
        let cert_pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(&fake_der)
        );
        let c = ClientCertificate::from_pem(&format!("{}{}", key_pem.as_str(), cert_pem)).unwrap();
        let expected_x5t =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&fake_der));
        assert_eq!(c.x5t(), expected_x5t);
        let jwt = c
            .client_assertion("app-1", "http://127.0.0.1:1/t/oauth2/v2.0/token")
            .unwrap();
        let h = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(h.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(h.x5t.as_deref(), Some(expected_x5t.as_str()));
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["http://127.0.0.1:1/t/oauth2/v2.0/token"]);
        v.set_issuer(&["app-1"]);
        let d = jsonwebtoken::decode::<serde_json::Value>(
            &jwt,
            &jsonwebtoken::DecodingKey::from_rsa_pem(pub_pem.as_bytes()).unwrap(),
            &v,
        )
        .unwrap();
        assert_eq!(d.claims["sub"], "app-1");
        assert!(d.claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert!(ClientCertificate::from_pem(cert_pem.as_str()).is_err());
    }
}
