//! Fault injection for the simulated admin API.
//!
//! # Fault spec grammar (`exo-connect sim --faults SPEC`, [`parse_spec`], `AdminApi::inject_spec`)
//!
//! ```text
//! spec   := item ( "," item )*            (empty spec = no faults; spaces are ignored; an item
//!                                          that is only "name=value" continues the previous one,
//!                                          so "random:p=0.1,seed=7" = "random:p=0.1:seed=7")
//! item   := kind [ "@" N ] ( ":" option )*
//! N      := the Nth admin API request (1-based) counted over every admin host (EXO, its
//!           alternate host, SCC global, SCC regional; GET and POST; $batch and EXOModuleFile
//!           count too). Without "@N": the next request.
//! option := "times=" K                    fire on K consecutive requests (default 1)
//!         | "on=" any|page|first          fire only on a nextLink request (one with a
//!                                         $skiptoken: "mid-paging") or only on a first page
//!         | "retry=" SECS                 (429) Retry-After: a number, fractional ("1.5") or huge
//!                                         ("1e20") allowed; "retry=none" omits it (default 2)
//!         | "ms=" MILLIS                  (slow) delay before answering (default 1500)
//!         | "after=" BYTES                (reset, truncate) body bytes sent first
//!                                         (reset default 200; truncate default half the body)
//!         | "status=" CODE                (concurrency) 429 (default) or 503
//!         | "mb=" MIB                     (huge) body size (default 80 MiB)
//!         | "length=" declared|none       (huge) a Content-Length header or a chunked body
//!         | "p=" PROB, "seed=" S, "kinds=" K+K+…   (random) see below
//! kind   := "429"          429 Too Many Requests with Retry-After
//!         | "500" | "503" | "504" | "408"   that status with an OData error body
//!         | "concurrency"  "You have reached the maximum number of concurrent requests per tenant.
//!                          Please wait and try again" (429 by default, no Retry-After)
//!         | "401"          401 with WWW-Authenticate error="invalid_token" (token-expired style)
//!                          although the token is fine (with on=page: 401 in the middle of paging)
//!         | "slow"         delays the answer by `ms`, then answers normally
//!         | "reset"        answers normally but aborts the connection after `after` bytes of body
//!         | "truncate"     answers normally with the full Content-Length but sends only `after`
//!                          bytes, then closes the connection (a broken Content-Length promise)
//!         | "cutjson"      200 whose JSON body is cut in the middle of the `value` array (a
//!                          correct Content-Length for the cut body; the JSON does not parse)
//!         | "redirect"     302 to the same path and query on the same host's other listener: EXO
//!                          → `urls.exo_alt` (another port, same audience, like a prefixed host);
//!                          SCC regional → `/AdminApi/Beta/...` on the same listener
//!         | "evilredirect" 302 to ANOTHER loopback host (`urls.trap`, e.g. 127.0.0.2): a client
//!                          must not follow it with its token; the trap logs what arrives
//!                          (`AdminApi::trap_hits`: method, path, whether Authorization was sent)
//!         | "foreignnext"  200 page whose `@odata.nextLink` names the trap host
//!         | "nextloop"     200 page whose `@odata.nextLink` is the URL just requested (a loop)
//!         | "huge"         200 with an oversized JSON body of `mb` MiB (padding rows, streamed)
//!         | "garbage403"   403 with a garbage body declared `Content-Encoding: gzip`
//!         | "empty403"     403 with an empty body declared `Content-Encoding: gzip`
//!         | "pipe" | "json" forces the `details[].message` form of an error this request produces
//!         | "redirectcase" (SCC global host only) the 302 Location has a different path case
//!                          (`/AdminApi/Beta/...`); the regional host accepts both. No effect elsewhere.
//!         | "batchitem"    a `$batch` request: item `item=` (1-based, default 1) fails with
//!                          `status=` (default 503) while the others run (a whole-batch 429 is
//!                          the plain `429` fault on the $batch request)
//!         | "revoke"       continuous access evaluation: revokes the sessions of `upn=` (default:
//!                          the calling account) before this request is checked, so it and the
//!                          account's later requests answer 401 error="insufficient_claims" with a
//!                          claims challenge until a token is requested with those claims
//!         | "random"       from request N on (never used up): each request gets a fault with
//!                          probability `p` (default 0.1), the kind picked among `kinds` (default:
//!                          429:retry=0.5, 503, 504, concurrency, reset:after=300, 401, truncate,
//!                          cutjson, slow:ms=300, redirect — the ones a correct client survives
//!                          without losing or duplicating a row); both decisions are a function
//!                          of (`seed` — default the sim's seed —, request number), so a run is
//!                          reproducible. Explicit faults fire first.
//! ```
//!
//! Examples: `429@3:retry=2,concurrency@5,401@7,500@2,503@4,slow@6:ms=1500,reset@8,garbage403@1`;
//! `401:on=page`; `429:retry=1e20`; `random:p=0.1,seed=7`; `random:p=0.3:kinds=429+reset+truncate`.
//!
//! Faults fire at most one per request: the first pending fault whose `at` is reached (and whose
//! `on` matches). A request that hits a fault that replaces the answer is not executed; paging
//! stays consistent across retries because a nextLink carries its own cursor.

mod spec;

use std::fmt;

pub use self::spec::parse_spec;

/// Help text for the `--faults` flag (`exo-connect sim --help`).
pub const FAULTS_HELP: &str = "Fault injection: comma-separated KIND[@N][:opt=v...], N = Nth admin API request (1-based, all admin hosts; without @N: the next one).
KIND = 429 (retry=SECS|none; fractional 1.5 or huge 1e20 allowed), 500, 503, 504, 408, concurrency (status=429|503),
401, slow (ms=), reset (after=BYTES), truncate (after=BYTES: Content-Length promise broken), cutjson (JSON cut mid-array),
redirect (302 to the same host's other port/path), evilredirect (302 to another loopback host: the trap),
foreignnext (nextLink to the trap host), nextloop (nextLink to itself), huge (mb=MIB, length=declared|none),
garbage403, empty403, pipe, json, redirectcase, batchitem (item=K:status=S: one $batch item fails), revoke (upn=: a CAE revocation, then 401 insufficient_claims),
random (p=PROB, seed=S, kinds=K+K...: a seeded random fault per request, never used up).
Options for every kind: times=K repeats, on=page|first|any (page = only nextLink requests, i.e. mid-paging).
Examples: 429@3:retry=2,slow@6:ms=1500,reset@8   401:on=page   random:p=0.1,seed=7";

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After: <text>` (e.g. "2", "1.5", "1e20"; None = header omitted).
    TooManyRequests { retry_after: Option<String> },
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
    /// Declare the full Content-Length, send this many bytes (None = half), close.
    Truncate { after_bytes: Option<usize> },
    /// A 200 whose JSON is cut in the middle of the `value` array.
    CutJson,
    /// 302 to the same path on the host's other listener (EXO) or other path case (SCC).
    Redirect,
    /// 302 to the trap host (another loopback host).
    HostileRedirect,
    /// A 200 page whose nextLink names the trap host.
    ForeignNextLink,
    /// A 200 page whose nextLink is the URL just requested.
    NextLinkLoop,
    /// A 200 with a body of `mb` MiB; `declared` = with a Content-Length header.
    Huge { mb: u64, declared: bool },
    /// 403 declared `Content-Encoding: gzip` with a garbage (false) or empty (true) body.
    Garbage403 { empty: bool },
    /// Force the `details[].message` form of errors produced by this request.
    ErrorForm(DetailForm),
    /// On the SCC global host: the 302 Location uses `/AdminApi/Beta/...` (other hosts: no effect).
    RedirectPathCase,
    /// `$batch`: item `item` (1-based) of the batch fails with `status` (an OData error body).
    BatchItem { item: usize, status: u16 },
    /// Revokes the sessions of `upn` (None = the calling account) before the request is
    /// checked: it and the account's later requests get the claims challenge (see `sim::cae`).
    Revoke { upn: Option<String> },
    /// A seeded random fault per request (never used up).
    Random(RandomFaults),
}

/// The random mode: probability (in millionths), seed (None = the sim's), kinds to pick from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomFaults {
    pub p_millionths: u32,
    pub seed: Option<u64>,
    pub kinds: Vec<FaultKind>,
}

impl RandomFaults {
    /// The kinds a correct client survives without losing or duplicating a row.
    pub fn soak_kinds() -> Vec<FaultKind> {
        vec![
            FaultKind::TooManyRequests {
                retry_after: Some("0.5".into()),
            },
            FaultKind::Status(503),
            FaultKind::Status(504),
            FaultKind::Concurrency { status: 429 },
            FaultKind::Reset { after_bytes: 300 },
            FaultKind::Unauthorized,
            FaultKind::Truncate { after_bytes: None },
            FaultKind::CutJson,
            FaultKind::Slow { ms: 300 },
            FaultKind::Redirect,
        ]
    }

    /// The fault of request `n` (if any): a function of (seed, n) only.
    pub fn pick(&self, sim_seed: u64, n: u64) -> Option<FaultKind> {
        if self.kinds.is_empty() {
            return None;
        }
        let h = splitmix(self.seed.unwrap_or(sim_seed) ^ splitmix(n));
        let roll = (h % 1_000_000) as u32;
        if roll >= self.p_millionths {
            return None;
        }
        let which = (splitmix(h) % self.kinds.len() as u64) as usize;
        Some(self.kinds[which].clone())
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The two forms of `details[].message` in an OData error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailForm {
    /// A JSON string `{"Message":...,"TypeName":...}`.
    Json,
    /// `ExId|Full.Exception.TypeName|human text`.
    Pipe,
}

/// Which requests a fault may fire on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FireOn {
    #[default]
    Any,
    /// Only a nextLink request (with `$skiptoken`): a fault in the middle of paging.
    Page,
    /// Only a request without `$skiptoken`.
    First,
}

/// A pending fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Fire from the Nth admin API request (1-based) on; None = the next request.
    pub at: Option<u64>,
    /// How many consecutive requests it fires on (≥ 1; ignored by `random`).
    pub times: u32,
    pub on: FireOn,
    pub kind: FaultKind,
}

impl Fault {
    /// Fires on the next request.
    pub fn next(kind: FaultKind) -> Fault {
        Fault {
            at: None,
            times: 1,
            on: FireOn::Any,
            kind,
        }
    }
    /// Fires on the Nth request (1-based).
    pub fn at(n: u64, kind: FaultKind) -> Fault {
        Fault {
            at: Some(n),
            ..Fault::next(kind)
        }
    }
    /// Repeats on `times` consecutive requests.
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times.max(1);
        self
    }
    /// Fires only on matching requests (e.g. [`FireOn::Page`]: mid-paging).
    pub fn on(mut self, on: FireOn) -> Fault {
        self.on = on;
        self
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::TooManyRequests { retry_after } => match retry_after {
                Some(s) => write!(f, "429:retry={s}"),
                None => write!(f, "429:retry=none"),
            },
            FaultKind::Status(s) => write!(f, "{s}"),
            FaultKind::Concurrency { status } => write!(f, "concurrency:status={status}"),
            FaultKind::Unauthorized => write!(f, "401"),
            FaultKind::Slow { ms } => write!(f, "slow:ms={ms}"),
            FaultKind::Reset { after_bytes } => write!(f, "reset:after={after_bytes}"),
            FaultKind::Truncate { after_bytes } => match after_bytes {
                Some(n) => write!(f, "truncate:after={n}"),
                None => write!(f, "truncate"),
            },
            FaultKind::CutJson => write!(f, "cutjson"),
            FaultKind::Redirect => write!(f, "redirect"),
            FaultKind::HostileRedirect => write!(f, "evilredirect"),
            FaultKind::ForeignNextLink => write!(f, "foreignnext"),
            FaultKind::NextLinkLoop => write!(f, "nextloop"),
            FaultKind::Huge { mb, declared } => write!(
                f,
                "huge:mb={mb}:length={}",
                if *declared { "declared" } else { "none" }
            ),
            FaultKind::Garbage403 { empty: false } => write!(f, "garbage403"),
            FaultKind::Garbage403 { empty: true } => write!(f, "empty403"),
            FaultKind::RedirectPathCase => write!(f, "redirectcase"),
            FaultKind::ErrorForm(DetailForm::Json) => write!(f, "json"),
            FaultKind::ErrorForm(DetailForm::Pipe) => write!(f, "pipe"),
            FaultKind::BatchItem { item, status } => {
                write!(f, "batchitem:item={item}:status={status}")
            }
            FaultKind::Revoke { upn: None } => write!(f, "revoke"),
            FaultKind::Revoke { upn: Some(u) } => write!(f, "revoke:upn={u}"),
            FaultKind::Random(r) => {
                write!(f, "random:p={}", r.p_millionths as f64 / 1e6)?;
                if let Some(s) = r.seed {
                    write!(f, ":seed={s}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        match self.on {
            FireOn::Any => {}
            FireOn::Page => write!(f, ":on=page")?,
            FireOn::First => write!(f, ":on=first")?,
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

/// Takes the fault (if any) that fires on request number `n` (`paging` = the request carries a
/// `$skiptoken`): the first explicit fault due, else the random mode's pick.
pub(crate) fn take_fault(
    pending: &mut Vec<Fault>,
    n: u64,
    paging: bool,
    sim_seed: u64,
) -> Option<FaultKind> {
    let fits = |f: &Fault| {
        f.at.is_none_or(|at| n >= at)
            && match f.on {
                FireOn::Any => true,
                FireOn::Page => paging,
                FireOn::First => !paging,
            }
    };
    let explicit = pending
        .iter()
        .position(|f| !matches!(f.kind, FaultKind::Random(_)) && fits(f));
    if let Some(pos) = explicit {
        let kind = pending[pos].kind.clone();
        pending[pos].times -= 1;
        if pending[pos].times == 0 {
            pending.remove(pos);
        }
        return Some(kind);
    }
    pending
        .iter()
        .filter(|f| fits(f))
        .find_map(|f| match &f.kind {
            FaultKind::Random(r) => r.pick(sim_seed, n),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_fault_respects_order_times_and_on() {
        let mut p = vec![
            Fault::at(2, FaultKind::Status(500)).times(2),
            Fault::next(FaultKind::Unauthorized).on(FireOn::Page),
        ];
        assert_eq!(take_fault(&mut p, 1, false, 1), None);
        assert_eq!(
            take_fault(&mut p, 1, true, 1),
            Some(FaultKind::Unauthorized)
        );
        assert_eq!(take_fault(&mut p, 1, false, 1), None);
        assert_eq!(
            take_fault(&mut p, 2, false, 1),
            Some(FaultKind::Status(500))
        );
        assert_eq!(take_fault(&mut p, 3, true, 1), Some(FaultKind::Status(500)));
        assert!(p.is_empty());
    }

    #[test]
    fn random_faults_are_a_function_of_seed_and_request_number() {
        let spec = |seed| {
            vec![Fault::next(FaultKind::Random(RandomFaults {
                p_millionths: 100_000,
                seed: Some(seed),
                kinds: RandomFaults::soak_kinds(),
            }))]
        };
        let run = |seed| {
            let mut p = spec(seed);
            (1..=2000)
                .map(|n| take_fault(&mut p, n, n % 2 == 0, 99))
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let fired = a.iter().filter(|k| k.is_some()).count();
        assert!((150..250).contains(&fired), "{fired} of 2000 at p=0.1");
        let kinds: std::collections::HashSet<String> =
            a.iter().flatten().map(|k| k.to_string()).collect();
        assert_eq!(kinds.len(), RandomFaults::soak_kinds().len());
        // Explicit faults come first; the random entry is never used up.
        let mut p = spec(7);
        p.insert(0, Fault::at(5, FaultKind::Status(503)));
        assert_eq!(
            take_fault(&mut p, 5, false, 1),
            Some(FaultKind::Status(503))
        );
        assert_eq!(p.len(), 1);
    }
}
