//! Continuous access evaluation (reference page §7): sign-in sessions, their revocation, and the
//! claims challenge that cures it.
//!
//! Every interactive or password sign-in starts a session (`sid` claim of its tokens; refreshes
//! keep it). Revoking a session — by account ([`Cae::revoke_account`], which also covers tokens
//! minted without a session that were issued before the revocation), by session id, or by one
//! of its access tokens (`SimHandle::revoke_token`), or with the `revoke` fault — makes the admin
//! API answer that session's requests with
//! `401` + `WWW-Authenticate: Bearer …, error="insufficient_claims", claims="<base64 JSON>"`.
//! The challenge asks for an authentication context:
//! `{"access_token":{"nbf":{"essential":true,"value":"<revoked at>"},"acrs":{"essential":true,"value":"cN"}}}`.
//! A plain refresh does NOT cure it (the new token carries no `acrs`); a token requested with
//! that `claims` value (any grant: refresh, device code, authorization code, password) carries
//! `acrs: ["cN"]` and passes, and from then on the session is trusted again (later plain
//! refreshes pass too).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use serde_json::{Value, json};

/// A revocation of a session or of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Unix time of the revocation.
    pub at: i64,
    /// The authentication context value the challenge asks for.
    pub acrs: String,
    /// When a token satisfying the challenge was issued (tokens issued since then pass).
    pub satisfied_at: Option<i64>,
}

impl Revocation {
    /// The challenge JSON (before base64).
    pub fn challenge(&self) -> String {
        json!({"access_token": {
            "nbf": {"essential": true, "value": self.at.to_string()},
            "acrs": {"essential": true, "value": self.acrs},
        }})
        .to_string()
    }

    /// `claims="…"` of the WWW-Authenticate header: the challenge in standard base64.
    pub fn challenge_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.challenge())
    }

    fn passes(&self, iat: i64, acrs: &[String]) -> bool {
        acrs.contains(&self.acrs) || self.satisfied_at.is_some_and(|s| iat >= s)
    }
}

/// What the admin API knows of a token for the check.
pub struct TokenView<'a> {
    pub upn: Option<&'a str>,
    pub sid: Option<&'a str>,
    pub iat: i64,
    pub acrs: &'a [String],
}

#[derive(Debug, Default)]
struct Inner {
    /// sid → UPN.
    sessions: HashMap<String, String>,
    /// Revoked sessions by sid.
    revoked: HashMap<String, Revocation>,
    /// Revoked accounts (for tokens without a session), by lower-case UPN.
    revoked_accounts: HashMap<String, Revocation>,
    counter: u64,
}

/// The sessions and revocations (shared by the sign-in side and the admin API).
#[derive(Debug, Default)]
pub struct Cae {
    inner: Mutex<Inner>,
}

impl Cae {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session of `upn`; its `sid`.
    pub fn new_session(&self, upn: &str) -> String {
        let sid = uuid::Uuid::new_v4().to_string();
        self.lock().sessions.insert(sid.clone(), upn.to_string());
        sid
    }

    fn revocation(inner: &mut Inner) -> Revocation {
        inner.counter += 1;
        Revocation {
            at: chrono::Utc::now().timestamp(),
            acrs: format!("c{}", inner.counter),
            satisfied_at: None,
        }
    }

    /// Revokes every current session of `upn` (and its tokens without a session issued until
    /// now); returns the revocation (its challenge).
    pub fn revoke_account(&self, upn: &str) -> Revocation {
        let mut inner = self.lock();
        let r = Self::revocation(&mut inner);
        let sids: Vec<String> = inner
            .sessions
            .iter()
            .filter(|(_, u)| u.eq_ignore_ascii_case(upn))
            .map(|(s, _)| s.clone())
            .collect();
        for sid in sids {
            inner.revoked.insert(sid, r.clone());
        }
        inner
            .revoked_accounts
            .insert(upn.to_ascii_lowercase(), r.clone());
        r
    }

    /// Revokes one session; None if the sid is unknown.
    pub fn revoke_session(&self, sid: &str) -> Option<Revocation> {
        let mut inner = self.lock();
        if !inner.sessions.contains_key(sid) {
            return None;
        }
        let r = Self::revocation(&mut inner);
        inner.revoked.insert(sid.to_string(), r.clone());
        Some(r)
    }

    /// The revocation that refuses this token, if any.
    pub fn check(&self, t: &TokenView) -> Result<(), Revocation> {
        let inner = self.lock();
        let r = match t.sid {
            Some(sid) => inner.revoked.get(sid),
            None => t
                .upn
                .and_then(|u| inner.revoked_accounts.get(&u.to_ascii_lowercase()))
                .filter(|r| t.iat <= r.at),
        };
        match r {
            Some(r) if !r.passes(t.iat, t.acrs) => Err(r.clone()),
            _ => Ok(()),
        }
    }

    /// At token issue: the `acrs` values the request's `claims` parameter asks for (the token
    /// will carry them); a session whose challenge they answer is trusted again from `now`.
    pub fn answer_claims(
        &self,
        sid: Option<&str>,
        claims: Option<&Value>,
        now: i64,
    ) -> Vec<String> {
        let acrs = requested_acrs(claims);
        if let Some(sid) = sid {
            let mut inner = self.lock();
            if let Some(r) = inner.revoked.get_mut(sid)
                && acrs.contains(&r.acrs)
            {
                r.satisfied_at = Some(now);
            }
        }
        acrs
    }
}

/// `access_token.acrs.value` / `.values` of a `claims` request parameter.
pub fn requested_acrs(claims: Option<&Value>) -> Vec<String> {
    let Some(a) = claims
        .and_then(|c| c.get("access_token"))
        .and_then(|a| a.get("acrs"))
    else {
        return Vec::new();
    };
    let mut out: Vec<String> = a
        .get("values")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(v) = a.get("value").and_then(Value::as_str) {
        out.push(v.to_string());
    }
    out
}

/// `access_token.xms_cc.values` (client capabilities, e.g. "cp1" = CAE-capable).
pub fn requested_capabilities(claims: Option<&Value>) -> Vec<String> {
    claims
        .and_then(|c| c.get("access_token"))
        .and_then(|a| a.get("xms_cc"))
        .and_then(|x| x.get("values"))
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_session_passes_only_with_the_answered_claims() {
        let cae = Cae::default();
        let sid = cae.new_session("a@b.c");
        let other = cae.new_session("x@b.c");
        let check = |sid: &str, iat: i64, acrs: &[String]| {
            cae.check(&TokenView {
                upn: Some("a@b.c"),
                sid: Some(sid),
                iat,
                acrs,
            })
        };
        assert!(check(&sid, 1, &[]).is_ok());
        let r = cae.revoke_account("A@B.C");
        assert!(
            check(&sid, r.at + 5, &[]).is_err(),
            "a plain refresh does not cure it"
        );
        assert!(check(&other, 1, &[]).is_ok());
        let asked: Value = serde_json::from_str(&r.challenge()).unwrap();
        let acrs = cae.answer_claims(Some(&sid), Some(&asked), r.at + 10);
        assert_eq!(acrs, vec![r.acrs.clone()]);
        assert!(check(&sid, r.at + 10, &acrs).is_ok());
        assert!(
            check(&sid, r.at + 20, &[]).is_ok(),
            "trusted again after the answer"
        );
        assert!(
            check(&sid, r.at - 1, &[]).is_err(),
            "older tokens still refused"
        );
        // Tokens without a session: refused if issued before the revocation.
        let no_sid = |iat| {
            cae.check(&TokenView {
                upn: Some("a@b.c"),
                sid: None,
                iat,
                acrs: &[],
            })
        };
        assert!(no_sid(r.at - 1).is_err());
        assert!(no_sid(r.at + 1).is_ok());
        let b64 = r.challenge_b64();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert!(String::from_utf8(decoded).unwrap().contains("\"acrs\""));
    }
}
