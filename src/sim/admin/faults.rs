//! Fault injection for the simulated admin API.
//!
//! # Fault spec grammar (`exo-connect sim --faults SPEC`, [`parse_spec`])
//!
//! ```text
//! spec   := item ( "," item )*            (empty spec = no faults; spaces are ignored)
//! item   := kind [ "@" N ] ( ":" option )*
//! N      := the Nth InvokeCommand request (1-based) counted over every admin host
//!           (EXO, SCC global, SCC regional; GET and POST). Without "@N": the next request.
//! option := "times=" K                    fire on K consecutive requests (default 1)
//!         | "retry=" SECS                 (429) Retry-After value; "retry=none" omits it
//!         | "ms=" MILLIS                  (slow) delay before answering (default 1500)
//!         | "after=" BYTES                (reset) bytes of the body sent before the reset (default 200)
//!         | "status=" CODE                (concurrency) 429 (default) or 503
//! kind   := "429"          429 Too Many Requests with Retry-After (default 2 s)
//!         | "500" | "503" | "504" | "408"   that status with an OData error body
//!         | "concurrency"  "You have reached the maximum number of concurrent requests per tenant.
//!                          Please wait and try again" (429 by default, no Retry-After)
//!         | "401"          401 with WWW-Authenticate error="invalid_token" (token-expired style)
//!                          although the token is fine (simulates expiry mid-paging)
//!         | "slow"         delays the answer by `ms`, then answers normally
//!         | "reset"        answers normally but aborts the connection after `after` bytes of body
//!         | "garbage403"   403 with a garbage body declared `Content-Encoding: gzip`
//!         | "empty403"     403 with an empty body declared `Content-Encoding: gzip`
//!         | "pipe" | "json" forces the `details[].message` form of an error this request produces
//!         | "redirectcase" (SCC global host only) the 302 Location has a different path case
//!                          (`/AdminApi/Beta/...`); the regional host accepts both. No effect elsewhere.
//! ```
//!
//! Example: `429@3:retry=2,concurrency@5,401@7,500@2,503@4,slow@6:ms=1500,reset@8,garbage403@1`.
//!
//! Faults fire at most one per request: the first pending fault whose `at` is reached. A request
//! that hits a fault (other than slow/reset/pipe/json) is not executed.

use std::fmt;

/// Short help text for a `--faults` flag.
pub const FAULTS_HELP: &str = "Fault injection: comma-separated KIND[@N][:opt=v...], N = Nth InvokeCommand request (1-based, all admin hosts). \
KIND = 429 (retry=SECS|none), 500, 503, 504, 408, concurrency (status=429|503), 401, slow (ms=), reset (after=BYTES), \
garbage403, empty403, pipe, json, redirectcase; option times=K repeats. Example: 429@3:retry=2,slow@6:ms=1500,reset@8";

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After: secs` (None = header omitted).
    TooManyRequests { retry_after: Option<u64> },
    /// 500, 503, 504 or 408 with an OData error body.
    Status(u16),
    /// The "maximum number of concurrent requests per tenant" body, with this status (429 or 503).
    Concurrency { status: u16 },
    /// 401 as if the token had expired (while it has not).
    Unauthorized,
    /// Answer normally after a delay.
    Slow { ms: u64 },
    /// Answer normally but abort the connection after this many body bytes.
    Reset { after_bytes: usize },
    /// 403 declared `Content-Encoding: gzip` with a garbage (false) or empty (true) body.
    Garbage403 { empty: bool },
    /// Force the `details[].message` form of errors produced by this request.
    ErrorForm(DetailForm),
    /// On the SCC global host: the 302 Location uses `/AdminApi/Beta/...` (other hosts: no effect).
    RedirectPathCase,
}

/// The two forms of `details[].message` in an OData error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailForm {
    /// A JSON string `{"Message":...,"TypeName":...}`.
    Json,
    /// `ExId|Full.Exception.TypeName|human text`.
    Pipe,
}

/// A pending fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Fire from the Nth InvokeCommand request (1-based) on; None = the next request.
    pub at: Option<u64>,
    /// How many consecutive requests it fires on (≥ 1).
    pub times: u32,
    pub kind: FaultKind,
}

impl Fault {
    /// Fires on the next InvokeCommand request.
    pub fn next(kind: FaultKind) -> Fault {
        Fault {
            at: None,
            times: 1,
            kind,
        }
    }
    /// Fires on the Nth InvokeCommand request (1-based).
    pub fn at(n: u64, kind: FaultKind) -> Fault {
        Fault {
            at: Some(n),
            times: 1,
            kind,
        }
    }
    /// Repeats on `times` consecutive requests.
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times.max(1);
        self
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FaultKind::TooManyRequests { retry_after } => match retry_after {
                Some(s) => write!(f, "429:retry={s}")?,
                None => write!(f, "429:retry=none")?,
            },
            FaultKind::Status(s) => write!(f, "{s}")?,
            FaultKind::Concurrency { status } => write!(f, "concurrency:status={status}")?,
            FaultKind::Unauthorized => write!(f, "401")?,
            FaultKind::Slow { ms } => write!(f, "slow:ms={ms}")?,
            FaultKind::Reset { after_bytes } => write!(f, "reset:after={after_bytes}")?,
            FaultKind::Garbage403 { empty: false } => write!(f, "garbage403")?,
            FaultKind::Garbage403 { empty: true } => write!(f, "empty403")?,
            FaultKind::RedirectPathCase => write!(f, "redirectcase")?,
            FaultKind::ErrorForm(DetailForm::Json) => write!(f, "json")?,
            FaultKind::ErrorForm(DetailForm::Pipe) => write!(f, "pipe")?,
        }
        if let Some(n) = self.at {
            write!(f, " @{n}")?;
        }
        if self.times > 1 {
            write!(f, " x{}", self.times)?;
        }
        Ok(())
    }
}

/// Parses a fault spec (grammar in the module docs). Errors name the item and say what to fix.
pub fn parse_spec(spec: &str) -> Result<Vec<Fault>, String> {
    let mut out = Vec::new();
    for raw in spec.split(',') {
        let item: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if !item.is_empty() {
            out.push(parse_item(&item)?);
        }
    }
    Ok(out)
}

/// The `name=value` options of one item.
struct Opts<'a> {
    item: &'a str,
    opts: Vec<(String, String)>,
}

impl Opts<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn num(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            Some(v) => v.parse().map_err(|_| {
                format!(
                    "--faults item '{}': {name}={v} must be a whole number",
                    self.item
                )
            }),
            None => Ok(default),
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self
            .opts
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(format!(
                "--faults item '{}': unknown option '{k}' (allowed here: {})",
                self.item,
                allowed.join(", ")
            )),
            None => Ok(()),
        }
    }
}

/// `kind[@N](:opt=v)*`.
fn parse_item(item: &str) -> Result<Fault, String> {
    let mut parts = item.split(':');
    let head = parts.next().unwrap_or_default();
    let (kind, at) = match head.split_once('@') {
        Some((k, n)) => {
            let n: u64 = n.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("--faults item '{item}': '@{n}' must be a request number ≥ 1 (e.g. 429@3)")
            })?;
            (k, Some(n))
        }
        None => (head, None),
    };
    let mut opts = Opts {
        item,
        opts: Vec::new(),
    };
    for o in parts {
        let (k, v) = o.split_once('=').ok_or_else(|| {
            format!("--faults item '{item}': option '{o}' must look like name=value")
        })?;
        opts.opts.push((k.to_ascii_lowercase(), v.to_string()));
    }
    let kind = kind_of(&kind.to_ascii_lowercase(), &opts)?;
    let times = opts.num("times", 1)?;
    if times == 0 {
        return Err(format!("--faults item '{item}': times must be ≥ 1"));
    }
    Ok(Fault {
        at,
        times: times as u32,
        kind,
    })
}

/// The fault kind named `kind` with its options (each kind allows its own and `times`).
fn kind_of(kind: &str, o: &Opts) -> Result<FaultKind, String> {
    let item = o.item;
    let allowed: &[&str] = match kind {
        "429" => &["retry", "times"],
        "slow" => &["ms", "times"],
        "reset" => &["after", "times"],
        "concurrency" => &["status", "times"],
        _ => &["times"],
    };
    o.only(allowed)?;
    Ok(match kind {
        "429" => {
            let retry = match o.get("retry") {
                Some(v) if v.eq_ignore_ascii_case("none") => None,
                _ => Some(o.num("retry", 2)?),
            };
            FaultKind::TooManyRequests { retry_after: retry }
        }
        "500" => FaultKind::Status(500),
        "503" => FaultKind::Status(503),
        "504" => FaultKind::Status(504),
        "408" => FaultKind::Status(408),
        "401" => FaultKind::Unauthorized,
        "concurrency" => {
            let status = o.num("status", 429)?;
            if status != 429 && status != 503 {
                return Err(format!("--faults item '{item}': status must be 429 or 503"));
            }
            FaultKind::Concurrency {
                status: status as u16,
            }
        }
        "slow" => FaultKind::Slow {
            ms: o.num("ms", 1500)?,
        },
        "reset" => FaultKind::Reset {
            after_bytes: o.num("after", 200)? as usize,
        },
        "garbage403" => FaultKind::Garbage403 { empty: false },
        "empty403" => FaultKind::Garbage403 { empty: true },
        "redirectcase" => FaultKind::RedirectPathCase,
        "pipe" => FaultKind::ErrorForm(DetailForm::Pipe),
        "json" => FaultKind::ErrorForm(DetailForm::Json),
        other => {
            return Err(format!(
                "--faults item '{item}': unknown fault kind '{other}' (use 429, 500, 503, 504, 408, \
                 concurrency, 401, slow, reset, garbage403, empty403, pipe, json or redirectcase)"
            ));
        }
    })
}

/// Takes the fault (if any) that fires on request number `n`.
pub(crate) fn take_fault(pending: &mut Vec<Fault>, n: u64) -> Option<FaultKind> {
    let pos = pending.iter().position(|f| f.at.is_none_or(|at| n >= at))?;
    let kind = pending[pos].kind.clone();
    pending[pos].times -= 1;
    if pending[pos].times == 0 {
        pending.remove(pos);
    }
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let f = parse_spec(
            "429@3:retry=2,concurrency@5,401@7,500@2,503@4,slow@6:ms=1500,reset@8,garbage403@1",
        )
        .unwrap();
        assert_eq!(f.len(), 8);
        assert_eq!(
            f[0],
            Fault::at(
                3,
                FaultKind::TooManyRequests {
                    retry_after: Some(2)
                }
            )
        );
        assert_eq!(f[5].kind, FaultKind::Slow { ms: 1500 });
        assert_eq!(f[7], Fault::at(1, FaultKind::Garbage403 { empty: false }));
        assert_eq!(
            parse_spec("429:retry=none:times=3").unwrap()[0],
            Fault::next(FaultKind::TooManyRequests { retry_after: None }).times(3)
        );
        assert!(parse_spec("").unwrap().is_empty());
    }

    #[test]
    fn bad_specs_name_the_item() {
        for bad in [
            "418",
            "429@0",
            "slow:ms=abc",
            "reset:foo=1",
            "concurrency:status=500",
        ] {
            let e = parse_spec(bad).unwrap_err();
            assert!(e.contains("--faults item"), "{bad}: {e}");
        }
    }

    #[test]
    fn take_fault_respects_order_and_times() {
        let mut p = vec![
            Fault::at(2, FaultKind::Status(500)).times(2),
            Fault::next(FaultKind::Unauthorized),
        ];
        assert_eq!(take_fault(&mut p, 1), Some(FaultKind::Unauthorized));
        assert_eq!(take_fault(&mut p, 1), None);
        assert_eq!(take_fault(&mut p, 2), Some(FaultKind::Status(500)));
        assert_eq!(take_fault(&mut p, 3), Some(FaultKind::Status(500)));
        assert!(p.is_empty());
    }
}
