//! The HTTP steps of the connectivity check: the authority's OpenID metadata, and the clock
//! skew against a server's `Date` header.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Run;
use crate::engine::http::{SMALL_BODY_CAP, plain_error, read_capped};
use crate::model::diagnosis::{Outcome, StepKind};
use crate::model::failures::ids;

/// GETs the OpenID metadata; returns the server's Date (and our clock at mid-request).
pub(super) async fn openid_step(
    run: &mut Run<'_>,
    client: Option<&reqwest::Client>,
    url: &str,
) -> Option<ServerDate> {
    let started = Instant::now();
    let Some(client) = client else {
        run.step(
            StepKind::OpenId,
            url,
            Outcome::Failed,
            "cannot build an HTTP client for this route",
            started,
            None,
        );
        return None;
    };
    let before = Utc::now();
    let resp = client.get(url).send().await;
    let fail = |run: &mut Run<'_>, why: String| {
        run.step(
            StepKind::OpenId,
            url,
            Outcome::Failed,
            why,
            started,
            Some(ids::OPENID_METADATA),
        );
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            fail(run, format!("the request failed: {}", plain_error(&e)));
            return None;
        }
    };
    let mid = before + (Utc::now() - before) / 2;
    let host = resp.url().host_str().unwrap_or("").to_string();
    let date = date_header(&resp).map(|d| (d, mid, host));
    let status = resp.status();
    let body = read_capped(resp, SMALL_BODY_CAP).await;
    if !status.is_success() {
        fail(run, format!("answered HTTP {status}"));
        return date;
    }
    if let Err(e) = &body
        && e.is_too_large()
    {
        fail(run, e.to_string());
        return date;
    }
    let json = body
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    match metadata_verdict(json.as_ref()) {
        Ok(found) => run.step(StepKind::OpenId, url, Outcome::Passed, found, started, None),
        Err(why) => fail(run, why),
    }
    date
}

/// What the OpenID metadata says: found (with its issuer), or what it lacks.
fn metadata_verdict(json: Option<&serde_json::Value>) -> Result<String, String> {
    let field = |k: &str| {
        json.and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match (field("issuer"), field("token_endpoint")) {
        (Some(issuer), Some(_)) => Ok(format!(
            "metadata found (issuer {issuer}, token endpoint present)"
        )),
        (None, _) if json.is_none() => Err("the answer is not JSON".into()),
        (i, t) => {
            let mut missing = Vec::new();
            if i.is_none() {
                missing.push("issuer");
            }
            if t.is_none() {
                missing.push("token_endpoint");
            }
            Err(format!("the metadata lacks {}", missing.join(" and ")))
        }
    }
}

pub(super) async fn fetch_date(
    client: Option<&reqwest::Client>,
    url: &str,
    timeout: Duration,
) -> Option<ServerDate> {
    let client = client?;
    let before = Utc::now();
    let resp = tokio::time::timeout(timeout, client.get(url).send())
        .await
        .ok()?
        .ok()?;
    let mid = before + (Utc::now() - before) / 2;
    let host = resp.url().host_str().unwrap_or("").to_string();
    date_header(&resp).map(|d| (d, mid, host))
}

fn date_header(resp: &reqwest::Response) -> Option<DateTime<Utc>> {
    let v = resp.headers().get(reqwest::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A server's `Date`, our clock at mid-request, and the host that answered.
pub(super) type ServerDate = (DateTime<Utc>, DateTime<Utc>, String);

/// The clock step: the skew against the server's `Date` (a warning above `max_skew`: tokens
/// would be refused), or skipped when no server answered with one.
pub(super) fn clock_step(
    run: &mut Run<'_>,
    date: Option<ServerDate>,
    reached: bool,
    authority_host: &str,
) {
    let started = Instant::now();
    let Some((server, local, from)) = date else {
        let why = if reached {
            "the server sent no Date header"
        } else {
            "no server could be reached"
        };
        run.skipped(StepKind::Clock, authority_host, why);
        return;
    };
    let secs = (server - local).num_seconds();
    let words = if secs.abs() <= 1 {
        "within a second of".to_string()
    } else {
        format!(
            "{} {}",
            human_duration(secs.unsigned_abs()),
            if secs > 0 { "behind" } else { "ahead of" }
        )
    };
    if secs.unsigned_abs() > run.opts.max_skew.as_secs() {
        run.step(
            StepKind::Clock,
            &from,
            Outcome::Warning,
            format!(
                "this computer's clock is {words} the server's (Date: {}): tokens will be refused",
                server.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            started,
            Some(ids::CLOCK_SKEW),
        );
    } else {
        run.step(
            StepKind::Clock,
            &from,
            Outcome::Passed,
            format!("this computer's clock is {words} the server's"),
            started,
            None,
        );
    }
}

/// "3 h 12 min", "7 min", "42 s".
pub(super) fn human_duration(secs: u64) -> String {
    if secs >= 3600 {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}
