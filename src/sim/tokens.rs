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

/// Claims of an ID token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub oid: String,
    pub preferred_username: String,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
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
