//! The grants against the token endpoint: device code (RFC 8628), password (ROPC), refresh,
//! client credentials with a certificate assertion. Raw form POSTs through the shared client
//! ([`OAuthHttp::post_form`]) so Entra's error fields survive.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cert::ClientCertificate;
use super::transport::OAuthHttp;
use super::{Events, PUBLIC_CLIENT_ID, SignInError, SignInEvent};

/// A successful token-endpoint answer. `Debug` never prints a token.
#[derive(Clone)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_id_token", &self.id_token.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn num(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The longest lifetime believed of a token or a device code (a week; Entra's are hours): a
/// bigger, absurd or negative `expires_in` from a server is cut into `0..=` this, so computing
/// the expiry cannot overflow the clock.
pub const MAX_LIFETIME_SECS: i64 = 7 * 24 * 3600;

/// `now + secs`, with `secs` cut to `0..=MAX_LIFETIME_SECS`.
pub fn expires_after(secs: i64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(secs.clamp(0, MAX_LIFETIME_SECS))
}

/// Parses a token response (`expires_in` may be a number or a string, as Entra v1 sent it).
pub fn parse_grant(json: &serde_json::Value) -> Result<TokenGrant, SignInError> {
    let access_token = json
        .get("access_token")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            SignInError::Network("the token endpoint answered without an access_token".into())
        })?
        .to_string();
    let expires_in = json.get("expires_in").and_then(num).unwrap_or(3600);
    Ok(TokenGrant {
        access_token,
        refresh_token: json
            .get("refresh_token")
            .and_then(|v| v.as_str())
            .map(String::from),
        id_token: json
            .get("id_token")
            .and_then(|v| v.as_str())
            .map(String::from),
        expires_at: expires_after(expires_in),
    })
}

/// Shared context of an interactive flow.
#[derive(Clone, Debug)]
pub struct FlowCtx {
    pub http: OAuthHttp,
    pub events: Events,
    pub cancel: CancellationToken,
    /// Upper bound on any wait of the flow (the user finishing in the browser included).
    pub timeout: Duration,
    /// A claims challenge's decoded JSON (continuous access evaluation) this sign-in answers:
    /// sent with the device-code request, the password grant and the authorize URL.
    pub claims: Option<String>,
}

impl FlowCtx {
    /// Sleeps `d` unless cancelled.
    pub async fn sleep(&self, d: Duration) -> Result<(), SignInError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(SignInError::Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Runs a future unless cancelled or past `deadline`.
    pub async fn bounded<T>(
        &self,
        deadline: Instant,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, SignInError>>,
    ) -> Result<T, SignInError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(SignInError::Cancelled),
            _ = tokio::time::sleep_until(deadline) => Err(SignInError::TimedOut(what.to_string())),
            r = fut => r,
        }
    }
}

fn token_url(authority: &str) -> String {
    format!("{}/oauth2/v2.0/token", authority.trim_end_matches('/'))
}

/// A device code Entra issued.
struct IssuedCode {
    device_code: String,
    expires_in: i64,
    interval: u64,
}

/// Device code (RFC 8628): issue a code, report it, poll honouring `interval`, `slow_down`
/// (+5 s), `authorization_pending`, `expired_token`, `access_denied` / `authorization_declined`.
pub async fn device_code(
    ctx: &FlowCtx,
    authority: &str,
    scope: &str,
) -> Result<TokenGrant, SignInError> {
    let start = Instant::now();
    let overall = start + ctx.timeout;
    let IssuedCode {
        device_code,
        expires_in,
        mut interval,
    } = issue_code(ctx, authority, scope, overall).await?;
    // The code's own expiry, plus a grace poll, bounded by the flow timeout.
    let code_deadline =
        start + Duration::from_secs(expires_in as u64) + Duration::from_secs(interval.max(1));
    let deadline = code_deadline.min(overall);
    let token_url = token_url(authority);
    let expired = || {
        ctx.events.emit(SignInEvent::Expired);
        Err(SignInError::Expired)
    };
    loop {
        let wait = Duration::from_secs(interval.max(1))
            .min(deadline.saturating_duration_since(Instant::now()));
        ctx.sleep(wait).await?;
        if Instant::now() >= deadline {
            if deadline >= code_deadline {
                return expired();
            }
            return Err(SignInError::TimedOut(
                "waiting for the device-code sign-in".into(),
            ));
        }
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", PUBLIC_CLIENT_ID),
            ("device_code", device_code.as_str()),
        ];
        let poll = ctx.http.post_form(&token_url, &form);
        match ctx
            .bounded(deadline, "polling the token endpoint", poll)
            .await
        {
            Ok(j) => return parse_grant(&j),
            Err(SignInError::Entra(e)) => match e.error.as_str() {
                "authorization_pending" => {
                    tracing::debug!("device code: the user has not finished yet");
                    ctx.events.emit(SignInEvent::Waiting)
                }
                "slow_down" => {
                    interval += 5;
                    tracing::info!(
                        interval,
                        "device code: the service asked to poll more slowly"
                    );
                    ctx.events.emit(SignInEvent::SlowedDown {
                        interval_secs: interval,
                    });
                }
                "expired_token" | "code_expired" => return expired(),
                "access_denied" | "authorization_declined" => {
                    ctx.events.emit(SignInEvent::Declined);
                    return Err(SignInError::Declined);
                }
                _ => return Err(SignInError::Entra(Box::new(e.in_device_code_flow()))),
            },
            Err(SignInError::TimedOut(_)) if deadline >= code_deadline => return expired(),
            Err(other) => return Err(other),
        }
    }
}

/// Asks for a device code and reports it (`CodeIssued`: the code and where to enter it).
async fn issue_code(
    ctx: &FlowCtx,
    authority: &str,
    scope: &str,
    overall: Instant,
) -> Result<IssuedCode, SignInError> {
    let url = format!("{}/oauth2/v2.0/devicecode", authority.trim_end_matches('/'));
    let mut form = vec![("client_id", PUBLIC_CLIENT_ID), ("scope", scope)];
    if let Some(c) = &ctx.claims {
        form.push(("claims", c));
    }
    let j = ctx
        .bounded(
            overall,
            "requesting a device code",
            ctx.http.post_form(&url, &form),
        )
        .await?;
    let s = |k: &str| j.get(k).and_then(|v| v.as_str()).map(String::from);
    let missing = |k: &str| SignInError::Network(format!("the device-code answer has no {k}"));
    let device_code = s("device_code").ok_or_else(|| missing("device_code"))?;
    let user_code = s("user_code").ok_or_else(|| missing("user_code"))?;
    let verification_uri = s("verification_uri")
        .or_else(|| s("verification_url"))
        .ok_or_else(|| missing("verification_uri"))?;
    let expires_in = j
        .get("expires_in")
        .and_then(num)
        .unwrap_or(900)
        .clamp(1, MAX_LIFETIME_SECS);
    let interval = j.get("interval").and_then(num).unwrap_or(5).clamp(0, 60) as u64;
    tracing::info!(
        expires_in,
        interval,
        host = crate::engine::http::host_of(&verification_uri),
        "device code issued"
    );
    let message = s("message").unwrap_or_else(|| {
        format!("To sign in, open {verification_uri} and enter the code {user_code}")
    });
    let verification_warning =
        super::open::check_verification_uri(&verification_uri, authority).err();
    ctx.events.emit(SignInEvent::CodeIssued {
        user_code,
        verification_uri,
        verification_warning,
        expires_at: expires_after(expires_in),
        message,
    });
    Ok(IssuedCode {
        device_code,
        expires_in,
        interval,
    })
}

/// Resource-owner password grant. MFA answers come back as `SignInError::Entra` (the caller
/// decides on the device-code fallback).
pub async fn password(
    ctx: &FlowCtx,
    authority: &str,
    scope: &str,
    username: &str,
    password: &str,
) -> Result<TokenGrant, SignInError> {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", PUBLIC_CLIENT_ID),
        ("scope", scope),
        ("username", username),
        ("password", password),
    ];
    if let Some(c) = &ctx.claims {
        form.push(("claims", c));
    }
    let deadline = Instant::now() + ctx.timeout;
    let j = ctx
        .bounded(
            deadline,
            "password sign-in",
            ctx.http.post_form(&token_url(authority), &form),
        )
        .await?;
    parse_grant(&j)
}

/// Redeems a refresh token for `scope` (any resource: one sign-in serves EXO and SCC).
pub async fn refresh(
    http: &OAuthHttp,
    authority: &str,
    scope: &str,
    refresh_token: &str,
    claims: Option<&str>,
) -> Result<TokenGrant, SignInError> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", PUBLIC_CLIENT_ID),
        ("scope", scope),
        ("refresh_token", refresh_token),
    ];
    // A claims challenge's answer (continuous access evaluation): the decoded JSON.
    if let Some(c) = claims {
        form.push(("claims", c));
    }
    let j = http.post_form(&token_url(authority), &form).await?;
    parse_grant(&j)
}

/// App-only: `client_credentials` with a certificate client assertion.
pub async fn client_credentials(
    http: &OAuthHttp,
    authority: &str,
    scope: &str,
    app_id: &str,
    cert: &ClientCertificate,
) -> Result<TokenGrant, SignInError> {
    let url = token_url(authority);
    let assertion = cert.client_assertion(app_id, &url)?;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("scope", scope),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let j = http.post_form(&url, &form).await?;
    parse_grant(&j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_parsing_accepts_string_expiry_and_hides_tokens() {
        let g = parse_grant(&serde_json::json!({
            "access_token": "AT-SECRET", "refresh_token": "RT-SECRET", "expires_in": "120",
            "token_type": "Bearer"
        }))
        .unwrap();
        let left = (g.expires_at - Utc::now()).num_seconds();
        assert!((100..=120).contains(&left), "{left}");
        let dbg = format!("{g:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(parse_grant(&serde_json::json!({"token_type": "Bearer"})).is_err());
    }
}
