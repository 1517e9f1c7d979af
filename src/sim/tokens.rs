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
///
/// Signing and verifying go through `ring` (RSASSA-PKCS1-v1_5 with SHA-256, what RS256 is), with
/// the key parsed once here: a sim under a 200-tenant fan-out signs a token per tenant, and
/// signing through jsonwebtoken's pure-Rust backend re-parsed and re-validated the private key
/// for every token (about 5 ms a token in release). The tokens are the same compact JWS as
/// before (header `{"typ":"JWT","alg":"RS256","kid":…}`), verifiable with any JOSE library
/// against the published JWKS.
pub struct SimKeys {
    /// Key id (`kid` header).
    pub kid: String,
    signing: ring::signature::RsaKeyPair,
    /// The public key as PKCS#1 `RSAPublicKey` DER (what ring verifies with).
    verifying: ring::signature::UnparsedPublicKey<Vec<u8>>,
    rng: ring::rand::SystemRandom,
    /// The protected header, base64url (the same for every token of this key).
    header_b64: String,
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

/// The JOSE header of the sim's tokens (field order as jsonwebtoken wrote it).
#[derive(Serialize)]
struct JoseHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    kid: &'a str,
}

/// What verification reads of a token's header: only `alg` decides (RS256 or refused).
#[derive(Deserialize)]
struct ReadHeader {
    alg: String,
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64url(text: &str) -> Result<Vec<u8>, TokenError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| TokenError::Invalid)
}

/// The same key with its primes ordered p > q, the order PKCS#1 keys are usually written in and
/// ring's key checks assume.
fn larger_prime_first(key: rsa::RsaPrivateKey) -> rsa::RsaPrivateKey {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let primes = key.primes();
    if primes.len() != 2 || primes[0] > primes[1] {
        return key;
    }
    let swapped = vec![primes[1].clone(), primes[0].clone()];
    rsa::RsaPrivateKey::from_components(key.n().clone(), key.e().clone(), key.d().clone(), swapped)
        .expect("the same key with its primes swapped")
}

impl SimKeys {
    /// A fresh 2048-bit RSA key from a seeded generator.
    pub fn generate(seed: u64) -> SimKeys {
        use rand::SeedableRng;
        use rsa::pkcs1::EncodeRsaPublicKey;
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x5EED_5167);
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
        let private = larger_prime_first(private);
        let pkcs8 = private.to_pkcs8_der().expect("PKCS#8 encoding");
        let public = private.to_public_key();
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding");
        let pkcs1_public = public.to_pkcs1_der().expect("PKCS#1 encoding");
        let kid = format!("sim-{seed:x}");
        let header = JoseHeader {
            typ: "JWT",
            alg: "RS256",
            kid: &kid,
        };
        let header_b64 = b64url(&serde_json::to_vec(&header).expect("header JSON"));
        SimKeys {
            signing: ring::signature::RsaKeyPair::from_pkcs8(pkcs8.as_bytes())
                .expect("the generated key is a valid RSA key for ring"),
            verifying: ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                pkcs1_public.as_bytes().to_vec(),
            ),
            rng: ring::rand::SystemRandom::new(),
            header_b64,
            kid,
            public_key_pem: public_pem,
        }
    }

    /// A compact JWS (RS256) of `claims` under this key.
    fn sign<T: Serialize>(&self, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).expect("claims JSON");
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 350);
        token.push_str(&self.header_b64);
        token.push('.');
        token.push_str(&b64url(&payload));
        let mut signature = vec![0; self.signing.public().modulus_len()];
        self.signing
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &self.rng,
                token.as_bytes(),
                &mut signature,
            )
            .expect("RS256 signature");
        token.push('.');
        token.push_str(&b64url(&signature));
        token
    }

    pub fn issue_access_token(&self, claims: &AccessClaims) -> String {
        self.sign(claims)
    }

    /// An access token with every documented claim (what the token endpoint hands out).
    pub fn issue_full_access_token(&self, claims: &IssuedAccessClaims) -> String {
        self.sign(claims)
    }

    pub fn issue_id_token(&self, claims: &IdClaims) -> String {
        self.sign(claims)
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

    /// The claims of a token signed by this key (signature only; expiry and audience unchecked):
    /// three base64url parts, a header whose `alg` is RS256 (anything else, `none` included, is
    /// refused), an RSASSA-PKCS1-v1_5 SHA-256 signature of `header.payload` by this key, and a
    /// payload that is the claims' JSON.
    pub fn decode_token(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Invalid)?;
        if payload.contains('.') {
            return Err(TokenError::Invalid);
        }
        let header: ReadHeader =
            serde_json::from_slice(&unb64url(header)?).map_err(|_| TokenError::Invalid)?;
        if header.alg != "RS256" {
            return Err(TokenError::Invalid);
        }
        self.verifying
            .verify(signed.as_bytes(), &unb64url(signature)?)
            .map_err(|_| TokenError::Invalid)?;
        serde_json::from_slice(&unb64url(payload)?).map_err(|_| TokenError::Invalid)
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

    /// Whatever order the generator leaves the primes in, ring takes the key (seeds 0–5 and
    /// the sim's default seed).
    #[test]
    fn keys_of_several_seeds_sign_and_verify() {
        for seed in [0, 1, 2, 3, 4, 5, crate::sim::SimConfig::default().seed] {
            let keys = SimKeys::generate(seed);
            let t = keys.issue_access_token(&claims("http://127.0.0.1:5", 60));
            assert!(
                keys.verify_access_token(&t, "http://127.0.0.1:5").is_ok(),
                "seed {seed}"
            );
        }
    }

    /// The tokens are plain RS256 JWS: another implementation (jsonwebtoken, on the published
    /// public key) verifies ours with the same header and claims, and verification refuses a
    /// header other than RS256, a signature of another body and malformed tokens.
    #[test]
    fn tokens_interoperate_with_jsonwebtoken_and_other_algorithms_are_refused() {
        let keys = SimKeys::generate(3);
        let c = claims("http://127.0.0.1:5", 60);
        let ours = keys.issue_access_token(&c);
        let public = jsonwebtoken::DecodingKey::from_rsa_pem(keys.public_key_pem.as_bytes())
            .expect("public key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["http://127.0.0.1:5"]);
        let theirs = jsonwebtoken::decode::<AccessClaims>(&ours, &public, &v).expect("verifies");
        assert_eq!(theirs.claims, c);
        assert_eq!(theirs.header.kid.as_deref(), Some(keys.kid.as_str()));
        assert_eq!(theirs.header.typ.as_deref(), Some("JWT"));

        use rsa::pkcs8::DecodePublicKey;
        let _ = rsa::RsaPublicKey::from_public_key_pem(&keys.public_key_pem).expect("SPKI PEM");
        let header = ours.split('.').next().unwrap();
        let body = ours.split('.').nth(1).unwrap();
        // alg none with the signature dropped, and an HS256 header over the same body.
        let none = format!("{}.{body}.", b64url(br#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(keys.decode_token(&none), Err(TokenError::Invalid));
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &c,
            &jsonwebtoken::EncodingKey::from_secret(keys.public_key_pem.as_bytes()),
        )
        .unwrap();
        assert_eq!(keys.decode_token(&hs), Err(TokenError::Invalid));
        // Our signature on another body, extra or missing parts, garbage.
        let sig = ours.rsplit('.').next().unwrap();
        let other = keys.issue_access_token(&claims("http://127.0.0.1:6", 60));
        let other_body = other.split('.').nth(1).unwrap();
        for bad in [
            format!("{header}.{other_body}.{sig}"),
            format!("{header}.{body}.{body}.{sig}"),
            format!("{header}.{sig}"),
            String::new(),
            "...".into(),
        ] {
            assert_eq!(keys.decode_token(&bad), Err(TokenError::Invalid), "{bad}");
        }
    }
}
