//! The fault spec parser (grammar in the parent module). Errors name the item and say what to
//! fix.

use super::{DetailForm, Fault, FaultKind, FireOn, RandomFaults};

/// Parses a fault spec (grammar in the module docs).
pub fn parse_spec(spec: &str) -> Result<Vec<Fault>, String> {
    let mut items: Vec<String> = Vec::new();
    for raw in spec.split(',') {
        let item: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if item.is_empty() {
            continue;
        }
        // "random:p=0.1,seed=7": a bare name=value continues the previous item.
        let head = item.split([':', '@']).next().unwrap_or_default();
        match items.last_mut() {
            Some(prev) if head.contains('=') => {
                prev.push(':');
                prev.push_str(&item);
            }
            _ => items.push(item),
        }
    }
    items.iter().map(|i| parse_item(i)).collect()
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

    fn err(&self, what: impl std::fmt::Display) -> String {
        format!("--faults item '{}': {what}", self.item)
    }

    fn num(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            Some(v) => v
                .parse()
                .map_err(|_| self.err(format!("{name}={v} must be a whole number"))),
            None => Ok(default),
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self
            .opts
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(self.err(format!(
                "unknown option '{k}' (allowed here: {})",
                allowed.join(", ")
            ))),
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
        return Err(opts.err("times must be ≥ 1"));
    }
    let on = match opts.get("on").map(str::to_ascii_lowercase).as_deref() {
        None | Some("any") => FireOn::Any,
        Some("page") => FireOn::Page,
        Some("first") => FireOn::First,
        Some(other) => return Err(opts.err(format!("on={other}: use any, page or first"))),
    };
    Ok(Fault {
        at,
        times: times as u32,
        on,
        kind,
    })
}

const KINDS: &str = "429, 500, 503, 504, 408, concurrency, 401, slow, reset, truncate, cutjson, \
redirect, evilredirect, foreignnext, nextloop, huge, garbage403, empty403, pipe, json, \
redirectcase, batchitem, revoke or random";

/// The fault kind named `kind` with its options (each kind allows its own, `times` and `on`).
fn kind_of(kind: &str, o: &Opts) -> Result<FaultKind, String> {
    let own: &[&str] = match kind {
        "429" => &["retry"],
        "slow" => &["ms"],
        "reset" | "truncate" => &["after"],
        "concurrency" => &["status"],
        "huge" => &["mb", "length"],
        "random" => &["p", "seed", "kinds"],
        "revoke" => &["upn"],
        "batchitem" => &["item", "status"],
        _ => &[],
    };
    let mut allowed = own.to_vec();
    allowed.extend(["on"]);
    if kind != "random" {
        allowed.push("times");
    }
    o.only(&allowed)?;
    Ok(match kind {
        "429" => FaultKind::TooManyRequests {
            retry_after: retry_after(o)?,
        },
        "500" | "503" | "504" | "408" => FaultKind::Status(kind.parse().unwrap_or(500)),
        "401" => FaultKind::Unauthorized,
        "concurrency" => {
            let status = o.num("status", 429)?;
            if status != 429 && status != 503 {
                return Err(o.err("status must be 429 or 503"));
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
        "truncate" => FaultKind::Truncate {
            after_bytes: match o.get("after") {
                Some(_) => Some(o.num("after", 0)? as usize),
                None => None,
            },
        },
        "cutjson" => FaultKind::CutJson,
        "redirect" => FaultKind::Redirect,
        "evilredirect" => FaultKind::HostileRedirect,
        "foreignnext" => FaultKind::ForeignNextLink,
        "nextloop" => FaultKind::NextLinkLoop,
        "huge" => huge(o)?,
        "garbage403" => FaultKind::Garbage403 { empty: false },
        "empty403" => FaultKind::Garbage403 { empty: true },
        "redirectcase" => FaultKind::RedirectPathCase,
        "pipe" => FaultKind::ErrorForm(DetailForm::Pipe),
        "json" => FaultKind::ErrorForm(DetailForm::Json),
        "random" => FaultKind::Random(random(o)?),
        "batchitem" => {
            let item = o.num("item", 1)?;
            let status = o.num("status", 503)?;
            if item == 0 || !(400..600).contains(&status) {
                return Err(o.err("item must be ≥ 1 and status an error status (400-599)"));
            }
            FaultKind::BatchItem {
                item: item as usize,
                status: status as u16,
            }
        }
        "revoke" => FaultKind::Revoke {
            upn: o.get("upn").map(str::to_string),
        },
        other => return Err(o.err(format!("unknown fault kind '{other}' (use {KINDS})"))),
    })
}

/// `retry=SECS|none`: any non-negative number as the service could write it ("2", "1.5",
/// "1e20"), kept as text.
fn retry_after(o: &Opts) -> Result<Option<String>, String> {
    match o.get("retry") {
        None => Ok(Some("2".into())),
        Some(v) if v.eq_ignore_ascii_case("none") => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(v.to_string())),
            _ => Err(o.err(format!(
                "retry={v} must be a number of seconds (2, 1.5, 1e20) or none"
            ))),
        },
    }
}

fn huge(o: &Opts) -> Result<FaultKind, String> {
    let mb = o.num("mb", 80)?;
    if mb == 0 || mb > 4096 {
        return Err(o.err("mb must be from 1 to 4096"));
    }
    let declared = match o.get("length").map(str::to_ascii_lowercase).as_deref() {
        None | Some("declared") => true,
        Some("none") => false,
        Some(other) => return Err(o.err(format!("length={other}: use declared or none"))),
    };
    Ok(FaultKind::Huge { mb, declared })
}

fn random(o: &Opts) -> Result<RandomFaults, String> {
    let p = match o.get("p") {
        None => 0.1,
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| o.err(format!("p={v} must be a probability from 0 to 1")))?,
    };
    let seed = match o.get("seed") {
        None => None,
        Some(_) => Some(o.num("seed", 0)?),
    };
    let kinds = match o.get("kinds") {
        None => RandomFaults::soak_kinds(),
        Some(list) => list
            .split('+')
            .map(|k| {
                let sub = Opts {
                    item: o.item,
                    opts: Vec::new(),
                };
                match k.to_ascii_lowercase().as_str() {
                    "random" => Err(o.err("kinds cannot include random")),
                    name => kind_of(name, &sub),
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(RandomFaults {
        p_millionths: (p * 1e6).round() as u32,
        seed,
        kinds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
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
                    retry_after: Some("2".into())
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
        assert_eq!(
            parse_spec("401:on=page").unwrap()[0],
            Fault::next(FaultKind::Unauthorized).on(FireOn::Page)
        );
        assert_eq!(
            parse_spec("429:retry=1e20").unwrap()[0].kind,
            FaultKind::TooManyRequests {
                retry_after: Some("1e20".into())
            }
        );
        let r = parse_spec("random:p=0.1,seed=7").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r, parse_spec("random:p=0.1:seed=7").unwrap());
        let FaultKind::Random(r) = &r[0].kind else {
            panic!()
        };
        assert_eq!((r.p_millionths, r.seed), (100_000, Some(7)));
        assert_eq!(r.kinds, RandomFaults::soak_kinds());
        let r = parse_spec("random:kinds=429+truncate,503@2").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            parse_spec("huge:mb=70:length=none").unwrap()[0].kind,
            FaultKind::Huge {
                mb: 70,
                declared: false
            }
        );
        for k in [
            "cutjson",
            "redirect",
            "evilredirect",
            "foreignnext",
            "nextloop",
            "truncate",
        ] {
            let f = parse_spec(k).unwrap();
            assert_eq!(f[0].kind.to_string(), k);
        }
    }

    #[test]
    fn bad_specs_name_the_item() {
        for bad in [
            "418",
            "429@0",
            "slow:ms=abc",
            "reset:foo=1",
            "concurrency:status=500",
            "429:retry=-1",
            "429:retry=soon",
            "random:p=2",
            "random:kinds=429+nope",
            "random:times=3",
            "401:on=later",
            "huge:mb=0",
        ] {
            let e = parse_spec(bad).unwrap_err();
            assert!(e.contains("--faults item"), "{bad}: {e}");
        }
    }
}
