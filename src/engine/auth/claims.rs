//! Reading `tid`, `upn` / `preferred_username`, `exp` from an ID or access token. Client-side
//! only: no signature check (the token came straight from the token endpoint over TLS).

use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct TokenClaims {
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub appid: Option<String>,
}

impl TokenClaims {
    /// The signed-in account: `upn`, else `preferred_username`, else `unique_name`.
    pub fn account(&self) -> Option<String> {
        self.upn
            .clone()
            .or_else(|| self.preferred_username.clone())
            .or_else(|| self.unique_name.clone())
            .filter(|s| !s.is_empty())
    }
}

/// Decodes the payload of a compact JWT. None when it is not a JWT (opaque tokens exist).
pub fn decode_claims(jwt: &str) -> Option<TokenClaims> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"none"}"#),
            e.encode(payload)
        )
    }

    #[test]
    fn reads_upn_then_preferred_username() {
        let c = decode_claims(&jwt(
            r#"{"tid":"t","upn":"a@b.c","preferred_username":"x@y.z"}"#,
        ))
        .unwrap();
        assert_eq!(c.tid.as_deref(), Some("t"));
        assert_eq!(c.account().as_deref(), Some("a@b.c"));
        let c = decode_claims(&jwt(r#"{"tid":"t","preferred_username":"x@y.z"}"#)).unwrap();
        assert_eq!(c.account().as_deref(), Some("x@y.z"));
        assert!(decode_claims("opaque-token").is_none());
    }
}
