//! OData shapes: the error body (both `details[].message` forms), skip tokens, `$select`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::faults::DetailForm;

/// An error the admin API answers with, in the OData shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    /// OData `error.code`, e.g. "NotFound".
    pub code: &'static str,
    /// Human text (also `error.message`).
    pub message: String,
    /// The .NET exception type (`x-ExceptionType`, `TypeName`, the middle of the pipe form).
    pub exception_type: String,
    /// Exception id of the pipe form (e.g. `Ex6F9304`).
    pub ex_id: &'static str,
    pub target: Option<String>,
    /// The form of `details[].message` unless a fault forces the other one.
    pub form: DetailForm,
}

impl ApiError {
    pub fn new(
        status: u16,
        code: &'static str,
        exception_type: &str,
        ex_id: &'static str,
        form: DetailForm,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            exception_type: exception_type.to_string(),
            ex_id,
            target: None,
            form,
        }
    }

    pub fn target(mut self, t: impl Into<String>) -> ApiError {
        self.target = Some(t.into());
        self
    }

    /// The `details[].message` text in the given form.
    pub fn detail_message(&self, form: DetailForm) -> String {
        match form {
            DetailForm::Json => json!({
                "Message": self.message,
                "TypeName": self.exception_type,
                "ExId": self.ex_id,
            })
            .to_string(),
            DetailForm::Pipe => format!("{}|{}|{}", self.ex_id, self.exception_type, self.message),
        }
    }

    /// The OData error body.
    pub fn body(&self, forced: Option<DetailForm>) -> Value {
        let form = forced.unwrap_or(self.form);
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [{
                    "code": self.code,
                    "message": self.detail_message(form),
                    "target": self.target.clone().unwrap_or_default(),
                }],
                "innererror": {
                    "message": self.message,
                    "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                    "stacktrace": "",
                    "internalexception": {
                        "message": self.message,
                        "type": self.exception_type,
                        "stacktrace": "",
                    },
                },
            }
        })
    }
}

/// What a `$skiptoken` carries: enough to run the next page from a GET alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkipToken {
    /// Tenant GUID the listing belongs to.
    pub t: String,
    /// Cmdlet name.
    pub c: String,
    /// Cmdlet parameters.
    pub p: Map<String, Value>,
    /// Cursor: the next raw position to examine.
    pub k: usize,
    /// Rows already returned (for ResultSize).
    pub n: usize,
}

impl SkipToken {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).unwrap_or_default())
    }
    pub fn decode(s: &str) -> Option<SkipToken> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim())
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Keeps only the `$select`ed properties (case-insensitive names; unknown names are ignored).
pub fn select(row: Map<String, Value>, props: &[String]) -> Map<String, Value> {
    if props.is_empty() {
        return row;
    }
    row.into_iter()
        .filter(|(k, _)| props.iter().any(|p| p.eq_ignore_ascii_case(k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_detail_forms() {
        let e = ApiError::new(
            404,
            "NotFound",
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            "Ex6F9304",
            DetailForm::Pipe,
            "not found",
        );
        let pipe = e.body(None)["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            pipe,
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|not found"
        );
        let j = e.body(Some(DetailForm::Json))["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        let parsed: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(parsed["Message"], "not found");
    }

    #[test]
    fn skip_token_round_trips() {
        let t = SkipToken {
            t: "x".into(),
            c: "Get-Mailbox".into(),
            p: Map::new(),
            k: 7,
            n: 3,
        };
        assert_eq!(SkipToken::decode(&t.encode()), Some(t));
        assert_eq!(SkipToken::decode("!!"), None);
    }
}
