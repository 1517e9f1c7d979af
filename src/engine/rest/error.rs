//! The REST client's typed errors, and what an error body says (OData JSON, the pipe form, raw
//! text), in plain words with the known-failure catalogue's explanation.

use serde_json::Value;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestErrorKind {
    /// The service answered an error (see `status`, `code`, `exception_type`).
    Service,
    /// No token could be had, or the service refused it after a refresh.
    Auth,
    /// Network failure after the retries.
    Transport,
    /// The request or the whole run timed out.
    Timeout,
    /// Too many redirects, or a redirect to a URL our policy refuses.
    Redirect,
    /// Bad input from the caller (e.g. `-ResultSize abc`).
    Usage,
    /// The answer could not be understood (after the retries).
    Protocol,
    /// The proxy answered 407 (see `engine::proxy::ProxyAuthRequired`): the window asks for the
    /// proxy credential, the command line explains. Not retried.
    ProxyAuth,
}

/// A failed cmdlet, with what a person needs to read and what support needs to trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cmdlet}: {message}")]
pub struct RestError {
    pub kind: RestErrorKind,
    pub cmdlet: String,
    /// HTTP status, when the service answered.
    pub status: Option<u16>,
    /// OData `error.code` (or a detail's code).
    pub code: Option<String>,
    /// .NET exception type name (`TypeName` / the pipe form's middle / `x-ExceptionType`).
    pub exception_type: Option<String>,
    /// The plain message for the user.
    pub message: String,
    /// `request-id` response header.
    pub request_id: Option<String>,
    /// A claims challenge (continuous access evaluation) the cached sign-in could not answer:
    /// its decoded JSON, for the interactive sign-in that can (code `SignInRequired`).
    pub claims: Option<String>,
}

impl RestError {
    pub(crate) fn new(kind: RestErrorKind, cmdlet: &str, message: impl Into<String>) -> Self {
        RestError {
            kind,
            cmdlet: cmdlet.to_string(),
            status: None,
            code: None,
            exception_type: None,
            message: message.into(),
            request_id: None,
            claims: None,
        }
    }

    /// The known-failure catalogue's entry for this error (by status, message, exception type).
    pub fn known(
        &self,
        service: Option<crate::model::Service>,
    ) -> Option<&'static crate::model::failures::KnownFailure> {
        crate::model::failures::find(&crate::model::failures::Symptom {
            status: self.status,
            text: &self.message,
            exception_type: self.exception_type.as_deref(),
            service,
            ..Default::default()
        })
    }

    /// The plain explanation for the user: what happened, why, what to do (from the catalogue),
    /// or None when the error is not catalogued.
    pub fn explanation(&self) -> Option<String> {
        self.known(None).map(|k| k.plain())
    }
}

/// What an OData error body says (see [`parse_error_body`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedError {
    pub code: Option<String>,
    pub exception_type: Option<String>,
    pub message: Option<String>,
}

/// Parses an error body: OData `error` with `details[].message` as a JSON string
/// (`{"Message":..,"TypeName":..}`) first, then the pipe form `ExId|Type.Name|text`, then
/// `error.message`, then the raw text. Never panics; empty or binary bodies give `None`s.
pub fn parse_error_body(body: &[u8]) -> ParsedError {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out = ParsedError::default();
    if text.is_empty() {
        return out;
    }
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        // Raw text; binary garbage (a bogus gzip body) is not worth showing.
        let printable = text
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .count();
        if printable * 10 >= text.chars().count() * 9 {
            out.message = Some(text.chars().take(2000).collect());
        }
        return out;
    };
    let err = json.get("error").unwrap_or(&json);
    out.code = err.get("code").and_then(Value::as_str).map(str::to_string);
    let top_message = err
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(details) = err.get("details").and_then(Value::as_array) {
        for d in details {
            let Some(m) = d.get("message").and_then(Value::as_str) else {
                continue;
            };
            if out.code.is_none() {
                out.code = d.get("code").and_then(Value::as_str).map(str::to_string);
            }
            if let Ok(inner) = serde_json::from_str::<Value>(m)
                && inner.is_object()
            {
                let get = |k: &str| {
                    inner
                        .as_object()
                        .and_then(|o| o.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)))
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_string)
                };
                out.message = get("Message");
                out.exception_type = get("TypeName").or_else(|| get("ExceptionType"));
                if out.message.is_some() {
                    return out;
                }
            }
            let parts: Vec<&str> = m.splitn(3, '|').collect();
            if parts.len() == 3 && !parts[2].trim().is_empty() {
                out.exception_type = Some(parts[1].trim().to_string()).filter(|s| !s.is_empty());
                out.message = Some(parts[2].trim().to_string());
                return out;
            }
            out.message = Some(m.to_string());
            return out;
        }
    }
    if out.message.is_none() {
        out.message = top_message.or(match json {
            Value::String(s) => Some(s),
            _ => None,
        });
    }
    out
}

/// A plain explanation when the service sent no readable body.
pub(super) fn default_message(status: u16) -> String {
    match status {
        400 => "the service refused the request (400 Bad Request): check the parameters".into(),
        403 => {
            "access denied (403): the cmdlet does not exist or your account lacks the role for it"
                .into()
        }
        404 => "not found (404): the object or cmdlet does not exist".into(),
        408 | 504 => format!("the service timed out ({status})"),
        429 => "the service is throttling requests (429 Too Many Requests)".into(),
        500 => "the service failed with an internal error (500)".into(),
        503 => "the service is unavailable (503)".into(),
        s => format!("the service answered HTTP {s} without an explanation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let json_form = br#"{"error":{"code":"NotFound","message":"outer","details":[{"code":"Inner","message":"{\"Message\":\"The object 'x' couldn't be found.\",\"TypeName\":\"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException\"}"}]}}"#;
        let p = parse_error_body(json_form);
        assert_eq!(p.code.as_deref(), Some("NotFound"));
        assert_eq!(
            p.message.as_deref(),
            Some("The object 'x' couldn't be found.")
        );
        assert_eq!(
            p.exception_type.as_deref(),
            Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
        );
        let pipe = br#"{"error":{"code":"BadRequest","message":"m","details":[{"message":"Ex6F9304|Microsoft.Exchange.Management.Tasks.ParameterBindingException|A parameter cannot be found that matches parameter name 'Bogus'."}]}}"#;
        let p = parse_error_body(pipe);
        assert_eq!(
            p.message.as_deref(),
            Some("A parameter cannot be found that matches parameter name 'Bogus'.")
        );
        assert_eq!(
            p.exception_type.as_deref(),
            Some("Microsoft.Exchange.Management.Tasks.ParameterBindingException")
        );
        let plain_detail =
            br#"{"error":{"code":"X","message":"m","details":[{"message":"just text"}]}}"#;
        assert_eq!(
            parse_error_body(plain_detail).message.as_deref(),
            Some("just text")
        );
        let no_details = br#"{"error":{"code":"X","message":"top"}}"#;
        assert_eq!(parse_error_body(no_details).message.as_deref(), Some("top"));
        assert_eq!(parse_error_body(b"").message, None);
        assert_eq!(parse_error_body(b"   ").message, None);
        assert_eq!(
            parse_error_body(b"Service Unavailable").message.as_deref(),
            Some("Service Unavailable")
        );
        // Binary garbage (e.g. a body declared as gzip that is not) shows nothing.
        let garbage: Vec<u8> = (0u8..=255).cycle().take(600).collect();
        assert_eq!(parse_error_body(&garbage).message, None);
        for weird in [
            &b"{"[..],
            b"[1,2]",
            b"null",
            b"{\"error\":5}",
            b"{\"error\":{\"details\":[5,{}]}}",
        ] {
            let _ = parse_error_body(weird);
        }
    }
}
