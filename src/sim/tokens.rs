//! JWTs issued by the simulated Entra, signed with the sim's own RSA key (RS256), and their
//! verification by the simulated admin API.

use serde::{Deserialize, Serialize};

/// Claims of an access token issued by the sim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The resource asked for (e.g. the sim's EXO origin `http://127.0.0.1:PORT`).
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub oid: String,
    /// Delegated tokens: the user's UPN. Absent for app-only tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// Delegated scopes, space-separated (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// App roles (app-only tokens), e.g. ["Exchange.ManageAsApp"].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    pub appid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Every claim of an access token the sim's token endpoint issues: the ones the admin API
/// checks ([`AccessClaims`]) and the other documented ones (Microsoft's access token claims
/// reference): `ver` "1.0", `sub`, `uti` (token id), `name`, `unique_name`, `idtyp`, `sid`
/// (sign-in session, see [`crate::sim::cae`]), `acrs` (answered claims challenge), `xms_cc`
/// (client capabilities asked for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedAccessClaims {
    #[serde(flatten)]
    pub core: AccessClaims,
    pub ver: String,
    pub sub: String,
    pub uti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// "user" or "app".
    pub idtyp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acrs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xms_cc: Vec<String>,
}

/// What the admin API reads of a verified token: the checked claims and the session ones.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VerifiedToken {
    #[serde(flatten)]
    pub claims: AccessClaims,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub uti: Option<String>,
    #[serde(default)]
    pub acrs: Vec<String>,
}

/// Claims of an ID token (Microsoft's documented v2.0 ID token claims that a client library
/// checks: `sub`, `oid`, `tid`, `preferred_username`, `ver`, `aud`, `iss`, `iat`, `nbf`, `exp`,
/// and `nonce` when the authorize request sent one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub oid: String,
    /// Pairwise subject: stable per (user, application).
    pub sub: String,
    pub preferred_username: String,
    pub name: String,
    /// "2.0".
    pub ver: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// The pairwise `sub` of a user for an application (base64url SHA-256 of both ids).
pub fn pairwise_subject(oid: &str, client_id: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{oid}|{}", client_id.to_ascii_lowercase()));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..32])
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token audience {0} is not this service")]
    WrongAudience(String),
}

/// The sim's signing key (RS256) and the helpers that issue and check its tokens.
pub struct SimKeys {
    /// Key id (`kid` header).
    pub kid: String,
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
    /// Public key, SPKI PEM (published for anyone who wants to verify).
    pub public_key_pem: String,
}

impl std::fmt::Debug for SimKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SimKeys {
    /// A fresh 2048-bit RSA key from a seeded generator.
    pub fn generate(seed: u64) -> SimKeys {
        use rand::SeedableRng;
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x5EED_5167);
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
        let private_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding");
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding");
        SimKeys {
            kid: format!("sim-{seed:x}"),
            encoding: jsonwebtoken::EncodingKey::from_rsa_pem(private_pem.as_bytes())
                .expect("encoding key"),
            decoding: jsonwebtoken::DecodingKey::from_rsa_pem(public_pem.as_bytes())
                .expect("decoding key"),
            public_key_pem: public_pem,
        }
    }

    fn header(&self) -> jsonwebtoken::Header {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some(self.kid.clone());
        h
    }

    pub fn issue_access_token(&self, claims: &AccessClaims) -> String {
        jsonwebtoken::encode(&self.header(), claims, &self.encoding).expect("sign access token")
    }

    /// An access token with every documented claim (what the token endpoint hands out).
    pub fn issue_full_access_token(&self, claims: &IssuedAccessClaims) -> String {
        jsonwebtoken::encode(&self.header(), claims, &self.encoding).expect("sign access token")
    }

    pub fn issue_id_token(&self, claims: &IdClaims) -> String {
        jsonwebtoken::encode(&self.header(), claims, &self.encoding).expect("sign id token")
    }

    /// Checks signature, expiry (no leeway) and audience (exact, trailing `/` ignored).
    pub fn verify_access_token(
        &self,
        token: &str,
        expected_audience: &str,
    ) -> Result<AccessClaims, TokenError> {
        self.verify_token(token, expected_audience)
            .map(|v| v.claims)
    }

    /// [`SimKeys::verify_access_token`], with the session claims.
    pub fn verify_token(
        &self,
        token: &str,
        expected_audience: &str,
    ) -> Result<VerifiedToken, TokenError> {
        let verified = self.decode_token(token)?;
        let claims = &verified.claims;
        if claims.exp <= chrono::Utc::now().timestamp() {
            return Err(TokenError::Expired);
        }
        if claims.aud.trim_end_matches('/') != expected_audience.trim_end_matches('/') {
            return Err(TokenError::WrongAudience(claims.aud.clone()));
        }
        Ok(verified)
    }

    /// The claims of a token signed by this key (signature only; expiry and audience unchecked).
    pub fn decode_token(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.validate_aud = false;
        v.validate_exp = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<VerifiedToken>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: &str, exp_in: i64) -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            aud: aud.into(),
            iss: "http://127.0.0.1:1/tid/v2.0".into(),
            tid: "tid".into(),
            oid: "oid".into(),
            upn: Some("a@b.c".into()),
            scp: Some("Exchange.Manage".into()),
            roles: None,
            appid: "fb78d390-0c51-40cd-8e17-fdbfab77341b".into(),
            iat: now,
            nbf: now,
            exp: now + exp_in,
        }
    }

    #[test]
    fn issued_tokens_verify_and_bad_ones_do_not() {
        let keys = SimKeys::generate(1);
        let t = keys.issue_access_token(&claims("http://127.0.0.1:5", 60));
        assert_eq!(
            keys.verify_access_token(&t, "http://127.0.0.1:5/")
                .unwrap()
                .upn
                .as_deref(),
            Some("a@b.c")
        );
        assert_eq!(
            keys.verify_access_token(&t, "http://127.0.0.1:6"),
            Err(TokenError::WrongAudience("http://127.0.0.1:5".into()))
        );
        let expired = keys.issue_access_token(&claims("http://127.0.0.1:5", -1));
        assert_eq!(
            keys.verify_access_token(&expired, "http://127.0.0.1:5"),
            Err(TokenError::Expired)
        );
        let other = SimKeys::generate(2);
        assert_eq!(
            other.verify_access_token(&t, "http://127.0.0.1:5"),
            Err(TokenError::Invalid)
        );
        let mut tampered = t.clone();
        tampered.insert(t.len() / 2, 'x');
        assert_eq!(
            keys.verify_access_token(&tampered, "http://127.0.0.1:5"),
            Err(TokenError::Invalid)
        );
    }
}
