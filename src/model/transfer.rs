//! Import and export of profiles: JSON (the store's own schema, no secrets) and a CSV tenant list
//! (`name,upn,service,cloud,delegated_org`) for partners. Every entry is checked on its own, so
//! one bad entry does not stop the rest; rejected entries are reported with their reason.
//! Accepted entries are added in memory and written with ONE atomic save, so the file is never
//! half-written; if that save fails the store is left as it was.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;
use uuid::Uuid;

use super::cloud::{Cloud, Service};
use super::profile::Profile;
use super::store::{self, ProfileStore, Result, StoreError};
use super::validate::{self, Issue};

/// One entry that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Where it was: `entry 3` (JSON, 1-based) or `line 7` (CSV).
    pub location: String,
    /// Its name, if it had one.
    pub name: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} ('{}'): {}", self.location, n, self.reason),
            None => write!(f, "{}: {}", self.location, self.reason),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Names of the profiles added (after renaming).
    pub imported: Vec<String>,
    /// (name in the file, name given) for duplicates renamed to `name (2)` etc.
    pub renamed: Vec<(String, String)>,
    /// Entries whose id collided with a saved profile and got a new one.
    pub new_ids: usize,
    pub rejected: Vec<Rejected>,
    /// Warnings of imported profiles, as `name: warning`.
    pub warnings: Vec<String>,
}

/// Candidate profiles from a file before they are checked against the store.
type Candidates = Vec<(String, std::result::Result<Profile, String>)>;

/// Parse a JSON export: `{"version":1,"profiles":[...]}` or a bare array of profiles. Entries
/// are parsed one by one; missing `id`, `created`, `modified` are filled in.
pub fn parse_json(text: &str) -> Result<Candidates> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root: Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Format(format!("the file is not valid JSON: {e}")))?;
    let entries = match root {
        Value::Array(a) => a,
        Value::Object(mut o) => {
            if let Some(v) = o.get("version").and_then(Value::as_u64)
                && v > u64::from(store::SCHEMA_VERSION)
            {
                return Err(StoreError::Format(format!(
                    "the file has schema version {v}; this exo-connect reads up to {}: update exo-connect",
                    store::SCHEMA_VERSION
                )));
            }
            match o.remove("profiles") {
                Some(Value::Array(a)) => a,
                _ => {
                    return Err(StoreError::Format(
                        "the file has no \"profiles\" list: export one with `exo-connect profile export`".into(),
                    ));
                }
            }
        }
        _ => {
            return Err(StoreError::Format(
                "the file must hold a profiles object or a list of profiles".into(),
            ));
        }
    };
    let now = serde_json::to_value(chrono::Utc::now()).unwrap_or(Value::Null);
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(i, mut v)| {
            let loc = format!("entry {}", i + 1);
            if let Value::Object(o) = &mut v {
                o.entry("id")
                    .or_insert_with(|| Value::String(Uuid::new_v4().to_string()));
                o.entry("created").or_insert_with(|| now.clone());
                o.entry("modified").or_insert_with(|| now.clone());
            }
            let name = v.get("name").and_then(Value::as_str).map(str::to_string);
            let parsed = serde_json::from_value::<Profile>(v).map_err(|e| {
                let e = e.to_string();
                match name {
                    Some(n) => format!("'{n}': {e}"),
                    None => e,
                }
            });
            (loc, parsed)
        })
        .collect())
}

/// Parse a CSV tenant list with the header `name,upn,service,cloud,delegated_org` (columns in
/// any order, case-insensitive; service, cloud and delegated_org may be absent or empty).
/// Folder = the delegated organization, else the UPN's domain.
pub fn parse_csv(text: &str) -> Result<Candidates> {
    // Excel writes a byte-order mark, and `;` as the separator in many locales.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.contains(';') && !header.contains(',') {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| StoreError::Format(format!("CSV header: {e}")))?
        .clone();
    let col = |want: &[&str]| {
        headers.iter().position(|h| {
            let h = h.to_ascii_lowercase().replace([' ', '-'], "_");
            want.contains(&h.as_str())
        })
    };
    let (Some(c_name), Some(c_upn)) = (col(&["name"]), col(&["upn", "userprincipalname"])) else {
        return Err(StoreError::Format(
            "CSV header: the first line must name the columns name,upn,service,cloud,delegated_org (name and upn are required)".into(),
        ));
    };
    let c_service = col(&["service"]);
    let c_cloud = col(&["cloud", "exchangeenvironmentname", "environment"]);
    let c_deleg = col(&[
        "delegated_org",
        "delegatedorg",
        "delegated_organization",
        "delegatedorganization",
    ]);
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                out.push((format!("line {line}"), Err(e.to_string())));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").to_string();
        let row = || -> std::result::Result<Profile, String> {
            let name = get(Some(c_name));
            let upn = get(Some(c_upn));
            let service = match get(c_service).as_str() {
                "" => Service::ExchangeOnline,
                s => s.parse::<Service>().map_err(|e| e.to_string())?,
            };
            let cloud = match get(c_cloud).as_str() {
                "" => Cloud::O365Default,
                s => s.parse::<Cloud>().map_err(|e| e.to_string())?,
            };
            let deleg = get(c_deleg);
            let mut p = Profile::new(name, upn.clone(), service);
            p.cloud = cloud;
            p.folder = if deleg.is_empty() {
                upn.split_once('@')
                    .map(|(_, d)| d.to_string())
                    .unwrap_or_default()
            } else {
                deleg.clone()
            };
            p.delegated_organization = (!deleg.is_empty()).then_some(deleg);
            Ok(p)
        };
        out.push((format!("line {line}"), row()));
    }
    Ok(out)
}

/// `name (2)`, `name (3)`, ... the first not in `taken` (lower-cased names).
fn unique_name(name: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(&name.trim().to_lowercase()) {
        return name.to_string();
    }
    (2..)
        .map(|n| format!("{name} ({n})"))
        .find(|c| !taken.contains(&c.to_lowercase()))
        .unwrap_or_else(|| name.to_string())
}

impl ProfileStore {
    /// Add the candidates that are valid; report the rest. One atomic save at the end (only if
    /// something was accepted). On a failed save the in-memory store is restored.
    pub fn import_candidates(&mut self, candidates: Candidates) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let mut accepted: Vec<Profile> = Vec::new();
        for (location, parsed) in candidates {
            let mut p = match parsed {
                Ok(p) => p,
                Err(reason) => {
                    report.rejected.push(Rejected {
                        location,
                        name: None,
                        reason,
                    });
                    continue;
                }
            };
            let all: Vec<&Profile> = self.profiles.iter().chain(accepted.iter()).collect();
            let ids: HashSet<Uuid> = all.iter().map(|q| q.id).collect();
            let taken: HashSet<String> = all.iter().map(|q| q.name.trim().to_lowercase()).collect();
            if ids.contains(&p.id) {
                p.id = Uuid::new_v4();
                report.new_ids += 1;
            }
            if !p.name.trim().is_empty() {
                let new_name = unique_name(p.name.trim(), &taken);
                if new_name != p.name {
                    report.renamed.push((p.name.clone(), new_name.clone()));
                    p.name = new_name;
                }
            }
            let others: Vec<Profile> = all.into_iter().cloned().collect();
            let issues = validate::validate(&p, &others);
            if validate::has_errors(&issues) {
                report.rejected.push(Rejected {
                    location,
                    name: (!p.name.is_empty()).then(|| p.name.clone()),
                    reason: issues
                        .iter()
                        .filter(|i| i.is_error())
                        .map(|i| format!("{}: {}", i.field, i.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                });
                continue;
            }
            report.warnings.extend(
                issues
                    .iter()
                    .filter(|i| !i.is_error())
                    .map(|i| format!("{}: {}", p.name, i)),
            );
            report.imported.push(p.name.clone());
            accepted.push(p);
        }
        if !accepted.is_empty() {
            let before = self.profiles.len();
            self.profiles.extend(accepted);
            if let Err(e) = self.save() {
                self.profiles.truncate(before);
                return Err(e);
            }
        }
        Ok(report)
    }

    /// Import a JSON export (see [`parse_json`]).
    pub fn import_json(&mut self, text: &str) -> Result<ImportReport> {
        let c = parse_json(text)?;
        self.import_candidates(c)
    }

    /// Import a CSV tenant list (see [`parse_csv`]).
    pub fn import_csv(&mut self, text: &str) -> Result<ImportReport> {
        let c = parse_csv(text)?;
        self.import_candidates(c)
    }

    /// Import a file: CSV when its extension is `.csv`, JSON otherwise.
    pub fn import_file(&mut self, path: &Path) -> Result<ImportReport> {
        let bytes = store::file::read_regular(path, store::MAX_FILE_BYTES)?.ok_or_else(|| {
            StoreError::Io {
                action: "read",
                path: path.to_path_buf(),
                source: std::io::ErrorKind::NotFound.into(),
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            StoreError::Format(format!(
                "{} is not UTF-8 text: save it as UTF-8 (JSON export or CSV) and import it again",
                path.display()
            ))
        })?;
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            self.import_csv(&text)
        } else {
            self.import_json(&text)
        }
    }

    /// The export JSON of the named profiles (all when `names` is empty). No secrets exist in a
    /// profile, so none are exported.
    pub fn export_json(&self, names: &[String]) -> Result<String> {
        let selected: Vec<&Profile> = if names.is_empty() {
            self.profiles.iter().collect()
        } else {
            let mut seen = HashSet::new();
            let mut v = Vec::new();
            for n in names {
                let p = self
                    .get_by_name(n)
                    .ok_or_else(|| StoreError::NotFound(n.clone()))?;
                if seen.insert(p.id) {
                    v.push(p);
                }
            }
            v
        };
        store::to_json(&selected)
    }

    /// Write the export atomically to `path`.
    pub fn export_file(&self, path: &Path, names: &[String]) -> Result<usize> {
        let text = self.export_json(names)?;
        let count = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["profiles"].as_array().map(Vec::len))
            .unwrap_or(0);
        store::write_atomic(path, text.as_bytes())?;
        Ok(count)
    }
}

/// The issues of a profile as one line per issue (for messages).
pub fn issues_lines(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
