//! Bulk changes (reference page §7, "Batching"): many cmdlet calls sent through
//! `POST <endpoint>/adminapi/beta/<tenant>/$batch` in chunks of [`BATCH_CHUNK`] (what a partner
//! portal sends) with `Prefer: odata.continue-on-error`, so one failed row does not stop the
//! others. A `$batch` goes through the same request path as a page (`request.rs`: redirects,
//! the 401/claims refresh, pacing, cookies, a whole-batch 429 retried after its `Retry-After`).
//! A service that refuses `$batch` (404, 405, 501) gets one `InvokeCommand` per row instead,
//! for the rest of the run. An item that failed for a transient reason (429, 503, 504) is sent
//! once more on its own. Every row sent ends with a [`BulkResult`], in the rows' order. A
//! cancel stops the run between chunks (the chunk in flight finishes, so no row's fate is
//! unknown); the rows after it are not sent.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::request::{PageCall, TokenSlot};
use super::{CmdletRequest, RestClient, RestError, RestErrorKind, parse_error_body};
use crate::engine::auth::CancellationToken;
use crate::model::results::{ResultStore, parse_page};

/// Requests per `$batch`.
pub const BATCH_CHUNK: usize = 10;

/// One row's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkResult {
    /// The row's index in the input (0-based).
    pub index: usize,
    pub ok: bool,
    /// The HTTP status of the row's answer (its `$batch` item or its own request).
    pub status: Option<u16>,
    /// Rows the cmdlet returned.
    pub rows: usize,
    /// The error text (empty when ok), non-terminating errors included.
    pub message: String,
    pub warnings: Vec<String>,
}

/// How a bulk run went: the rows' results and whether `$batch` was used.
#[derive(Debug, Clone)]
pub struct BulkOutcome {
    pub results: Vec<BulkResult>,
    /// The service refused `$batch`: the rows went one request each.
    pub fell_back: bool,
    /// Cancelled: only the first `results.len()` rows were sent.
    pub stopped: bool,
}

/// Told after each chunk: that chunk's results, then (rows done, rows in all).
pub type ChunkDone<'a> = &'a (dyn Fn(&[BulkResult], usize, usize) + Send + Sync);

impl RestClient {
    /// Runs every request (see the module's description) until `cancel`; `chunk_done` after
    /// each chunk.
    pub async fn bulk(
        self: &Arc<Self>,
        requests: &[CmdletRequest],
        chunk_done: ChunkDone<'_>,
        cancel: &CancellationToken,
    ) -> Result<BulkOutcome, RestError> {
        let mut results = Vec::with_capacity(requests.len());
        let mut fell_back = false;
        for (c, chunk) in requests.chunks(BATCH_CHUNK).enumerate() {
            if cancel.is_cancelled() {
                break;
            }
            let first = c * BATCH_CHUNK;
            let mut got = None;
            if !fell_back {
                match self.batch_chunk(chunk, first).await {
                    Ok(mut r) => {
                        self.retry_transient(chunk, first, &mut r).await;
                        got = Some(r);
                    }
                    Err(e) if matches!(e.status, Some(404 | 405 | 501)) => fell_back = true,
                    Err(e) => return Err(e),
                }
            }
            let got = match got {
                Some(r) => r,
                None => self.one_by_one(chunk, first).await,
            };
            results.extend(got);
            chunk_done(&results[first..], results.len(), requests.len());
        }
        let stopped = results.len() < requests.len();
        Ok(BulkOutcome {
            results,
            fell_back,
            stopped,
        })
    }

    /// A chunk's rows one request each (the service refused `$batch`).
    async fn one_by_one(
        self: &Arc<Self>,
        chunk: &[CmdletRequest],
        first: usize,
    ) -> Vec<BulkResult> {
        let mut out = Vec::with_capacity(chunk.len());
        for (k, req) in chunk.iter().enumerate() {
            out.push(self.one(req, first + k).await);
        }
        out
    }

    /// One row on its own (`InvokeCommand`).
    async fn one(self: &Arc<Self>, req: &CmdletRequest, index: usize) -> BulkResult {
        match self.invoke(req.clone()).await {
            Ok(out) => {
                let mut message: Vec<String> = out.errors.iter().map(|e| e.to_string()).collect();
                if let Some(q) = out.confirmation {
                    message.push(format!("the service asked for confirmation: {q}"));
                }
                BulkResult {
                    index,
                    ok: message.is_empty(),
                    status: Some(200),
                    rows: out.rows.len(),
                    message: message.join("; "),
                    warnings: out.warnings,
                }
            }
            Err(e) => BulkResult {
                index,
                ok: false,
                status: e.status,
                rows: 0,
                message: e.to_string(),
                warnings: Vec::new(),
            },
        }
    }

    /// Items that failed for a transient reason, once more on their own.
    async fn retry_transient(
        self: &Arc<Self>,
        chunk: &[CmdletRequest],
        first: usize,
        results: &mut [BulkResult],
    ) {
        for r in results.iter_mut() {
            if !r.ok && matches!(r.status, Some(429 | 503 | 504 | 408)) {
                *r = self.one(&chunk[r.index - first], r.index).await;
            }
        }
    }

    /// One `$batch` of up to [`BATCH_CHUNK`] requests.
    async fn batch_chunk(
        self: &Arc<Self>,
        chunk: &[CmdletRequest],
        first: usize,
    ) -> Result<Vec<BulkResult>, RestError> {
        let cmdlet = format!("$batch of {}", chunk[0].cmdlet);
        let token = self.get_token(&cmdlet, false).await?;
        let invoke = self.first_url(&CmdletRequest::new(&chunk[0].cmdlet), &token)?;
        let mut url = invoke.clone();
        url.set_path(&invoke.path().replace("/InvokeCommand", "/$batch"));
        let items: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let mut item_url = invoke.path().to_string();
                if !r.select.is_empty() {
                    item_url.push_str(&format!("?$select={}", r.select.join(",")));
                }
                json!({
                    "id": (k + 1).to_string(),
                    "method": "POST",
                    "url": item_url,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"CmdletInput": {"CmdletName": r.cmdlet, "Parameters": r.parameters}},
                })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "requests": items })).expect("JSON of JSON");
        let call = PageCall {
            cmdlet: cmdlet.as_str().into(),
            body: body.into(),
            page_size: self.page_size(None),
            is_next_link: false,
            use_get: false,
            want_rows: None,
            first_attempt: 1,
            continue_on_error: true,
        };
        let (tx, _rx) = mpsc::channel(64);
        let slot = TokenSlot::new(token);
        let fetched = self.page(&call, &url, &slot, &mut None, &tx).await?;
        parse_batch(&fetched.body, chunk.len(), first).map_err(|m| RestError {
            status: Some(fetched.status),
            request_id: fetched.request_id.clone(),
            ..RestError::new(RestErrorKind::Protocol, &cmdlet, m)
        })
    }
}

/// The `$batch` answer: one result per request, by id.
fn parse_batch(body: &[u8], n: usize, first: usize) -> Result<Vec<BulkResult>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the $batch answer is not JSON ({e})"))?;
    let responses = v
        .get("responses")
        .and_then(Value::as_array)
        .ok_or("the $batch answer has no responses")?;
    let mut out: Vec<Option<BulkResult>> = vec![None; n];
    for r in responses {
        let id = match r.get("id") {
            Some(Value::String(s)) => s.parse::<usize>().ok(),
            Some(Value::Number(x)) => x.as_u64().map(|x| x as usize),
            _ => None,
        };
        let Some(k) = id.filter(|k| (1..=n).contains(k)) else {
            continue;
        };
        let status = r.get("status").and_then(Value::as_u64).map(|s| s as u16);
        let body = r.get("body").cloned().unwrap_or(Value::Null);
        out[k - 1] = Some(item_result(first + k - 1, status, body));
    }
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(k, r)| {
            r.unwrap_or_else(|| BulkResult {
                index: first + k,
                ok: false,
                status: None,
                rows: 0,
                message: "the $batch answer has no response for this row".into(),
                warnings: Vec::new(),
            })
        })
        .collect())
}

/// One item's answer: rows and non-terminating errors of a 2xx, the error of anything else.
fn item_result(index: usize, status: Option<u16>, body: Value) -> BulkResult {
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut r = BulkResult {
        index,
        ok: false,
        status,
        rows: 0,
        message: String::new(),
        warnings: Vec::new(),
    };
    if !status.is_some_and(|s| (200..300).contains(&s)) {
        let parsed = parse_error_body(&bytes);
        r.message = parsed.message.unwrap_or_else(|| {
            format!(
                "the service answered {}",
                status.map_or("nothing".into(), |s| s.to_string())
            )
        });
        return r;
    }
    let mut store = ResultStore::new();
    match parse_page(&bytes, &mut store, None, &mut |_| {}) {
        Ok(info) => {
            let mut problems: Vec<String> = info.errors.iter().map(|e| e.to_string()).collect();
            if let Some(q) = info.confirmation {
                problems.push(format!("the service asked for confirmation: {q}"));
            }
            r.ok = problems.is_empty();
            r.rows = info.rows;
            r.message = problems.join("; ");
            r.warnings = info.warnings;
        }
        Err(e) => r.message = e.to_string(),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_answers_are_matched_by_id() {
        let body = br#"{"responses":[
            {"id":"2","status":404,"body":{"error":{"code":"NotFound","message":"Couldn't find object 'x'."}}},
            {"id":"1","status":200,"body":{"value":[{"A":1}],"@adminapi.warnings":["w"]}},
            {"id":"3","status":200,"body":{"@adminapi.errors":[{"target":"t","message":"m"}]}},
            {"id":"9","status":200,"body":{}}
        ]}"#;
        let r = parse_batch(body, 4, 10).unwrap();
        assert_eq!(
            r.iter().map(|r| r.index).collect::<Vec<_>>(),
            [10, 11, 12, 13]
        );
        assert!(r[0].ok && r[0].rows == 1 && r[0].warnings == ["w"]);
        assert!(!r[1].ok && r[1].status == Some(404) && r[1].message.contains("find object"));
        assert!(!r[2].ok && r[2].message == "t: m");
        assert!(!r[3].ok && r[3].message.contains("no response"));
        assert!(parse_batch(b"nope", 1, 0).is_err());
        assert!(parse_batch(b"{}", 1, 0).is_err());
    }
}
