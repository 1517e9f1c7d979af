//! The tenant's live cmdlet catalogue (reference page §7): what
//! `GET <base>/AdminApi/v1.0/<tenant>/EXOModuleFile` answers — JSON whose `value[0]` holds
//! `ModuleVersion`, `exportedCmdlets` and `EncodedModule`, the base64 text of the generated
//! PowerShell module with one `function script:<Cmdlet>` and its typed `param(…)` block per
//! cmdlet the account's roles allow. Parsed into cmdlet and parameter names with their types
//! (and parameter sets), it gives completion and checks a cmdlet line before it is sent:
//! an unknown cmdlet or parameter, a secret-typed parameter (`SecureString`, `PSCredential`)
//! is refused with a message; dates and byte arrays are encoded by their declared type.
//! Cached per tenant and service as JSON ([`CmdletCatalogue::to_json`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cmdline::CmdletLine;

/// PowerShell's common parameters: every cmdlet takes them.
pub const COMMON_PARAMETERS: &[&str] = &[
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
    "WhatIf",
    "Confirm",
];

/// One parameter of a cmdlet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueParam {
    pub name: String,
    /// The declared type as written (`string`, `datetime`, `SecureString`, `byte[]`…).
    pub ps_type: String,
    /// Parameter sets it belongs to (empty = all).
    pub sets: Vec<String>,
}

/// One cmdlet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueCmdlet {
    pub name: String,
    pub params: Vec<CatalogueParam>,
}

/// The catalogue of one tenant and service, with the module version it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmdletCatalogue {
    pub module_version: String,
    /// By lower-case name.
    pub cmdlets: BTreeMap<String, CatalogueCmdlet>,
}

impl CmdletCatalogue {
    /// From the `EXOModuleFile` answer.
    pub fn from_module_file(body: &[u8]) -> Result<CmdletCatalogue, String> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the cmdlet catalogue is not JSON ({e})"))?;
        let item = v
            .get("value")
            .and_then(|v| v.get(0))
            .ok_or("the cmdlet catalogue has no value")?;
        let text = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let script = base64_decode(&text("EncodedModule"))
            .ok_or("the cmdlet catalogue's EncodedModule is not base64")?;
        let mut cat = parse_module(&String::from_utf8_lossy(&script));
        cat.module_version = text("ModuleVersion");
        for name in text("exportedCmdlets").split(',').map(str::trim) {
            if !name.is_empty() {
                cat.cmdlets
                    .entry(name.to_ascii_lowercase())
                    .or_insert_with(|| CatalogueCmdlet {
                        name: name.to_string(),
                        params: Vec::new(),
                    });
            }
        }
        if cat.cmdlets.is_empty() {
            return Err("the cmdlet catalogue lists no cmdlet".into());
        }
        Ok(cat)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<CmdletCatalogue> {
        serde_json::from_str(text).ok()
    }

    pub fn cmdlet(&self, name: &str) -> Option<&CatalogueCmdlet> {
        self.cmdlets.get(&name.to_ascii_lowercase())
    }

    /// Cmdlet names starting with `prefix` (case-insensitive), for completion.
    pub fn complete(&self, prefix: &str) -> Vec<&str> {
        let p = prefix.to_ascii_lowercase();
        self.cmdlets
            .range(p.clone()..)
            .take_while(|(k, _)| k.starts_with(&p))
            .map(|(_, c)| c.name.as_str())
            .collect()
    }

    /// Checks a parsed line against the catalogue and encodes its dates and byte arrays by
    /// their declared types. The error says what to fix.
    pub fn check(&self, line: &mut CmdletLine) -> Result<(), String> {
        let Some(c) = self.cmdlet(&line.cmdlet) else {
            return Err(format!(
                "{} is not in this tenant's cmdlet catalogue for your roles (module {}): check the name, or the account's admin roles",
                line.cmdlet, self.module_version
            ));
        };
        let param = |n: &str| c.params.iter().find(|p| p.name.eq_ignore_ascii_case(n));
        for name in line.parameters.keys() {
            if COMMON_PARAMETERS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
            {
                continue;
            }
            match param(name) {
                None if !c.params.is_empty() => {
                    let names: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
                    return Err(format!(
                        "{} has no parameter -{name} (module {}); its parameters: {}",
                        c.name,
                        self.module_version,
                        names.join(", ")
                    ));
                }
                Some(p) if super::params::secret_type(&p.ps_type) => {
                    return Err(super::params::refusal(name));
                }
                _ => {}
            }
        }
        let is_type = |n: &str, t: &[&str]| {
            param(n).map(|p| {
                let ty = p.ps_type.to_ascii_lowercase();
                let ty = ty.rsplit('.').next().unwrap_or(&ty).to_string();
                t.contains(&ty.as_str())
            })
        };
        super::params::encode_dates(&mut line.parameters, &|n| {
            is_type(n, &["datetime", "datetime[]", "datetimeoffset"])
        })?;
        super::params::encode_byte_arrays(&mut line.parameters, &|n| {
            is_type(n, &["byte[]"]).unwrap_or(false)
        })
    }
}

/// What the catalogue does not know in a line (Some: a cmdlet or parameter it lacks, with the
/// closest name it knows), for a warning before the run: unlike [`CmdletCatalogue::check`] this
/// refuses nothing, the catalogue may be older than the tenant.
impl CmdletCatalogue {
    pub fn unknown(&self, line: &CmdletLine) -> Option<String> {
        let Some(c) = self.cmdlet(&line.cmdlet) else {
            let names = self.cmdlets.values().map(|c| c.name.as_str());
            let hint = closest(&line.cmdlet, names)
                .map(|n| format!("; did you mean {n}?"))
                .unwrap_or_default();
            return Some(format!(
                "{} is not in this tenant's cmdlet catalogue (module {}){hint}",
                line.cmdlet, self.module_version
            ));
        };
        if c.params.is_empty() {
            return None;
        }
        let known = |n: &str| {
            COMMON_PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(n))
                || c.params.iter().any(|p| p.name.eq_ignore_ascii_case(n))
        };
        let name = line.parameters.keys().find(|n| !known(n))?;
        let hint = closest(name, c.params.iter().map(|p| p.name.as_str()))
            .map(|n| format!("; did you mean -{n}?"))
            .unwrap_or_default();
        Some(format!(
            "{} has no parameter -{name} in this tenant's cmdlet catalogue (module {}){hint}",
            c.name, self.module_version
        ))
    }
}

/// The name closest to `word` (case-insensitive edit distance), when one is near enough.
fn closest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let w: Vec<char> = word.to_lowercase().chars().collect();
    let (d, name) = names
        .map(|n| {
            (
                distance(&w, &n.to_lowercase().chars().collect::<Vec<_>>()),
                n,
            )
        })
        .min_by_key(|(d, _)| *d)?;
    (d <= (w.len() / 3).max(2)).then_some(name)
}

/// Levenshtein distance.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The cmdlets and typed parameters of a generated module's text.
fn parse_module(script: &str) -> CmdletCatalogue {
    let mut cat = CmdletCatalogue::default();
    let mut current: Option<CatalogueCmdlet> = None;
    let mut in_params = false;
    let mut ty: Option<String> = None;
    let mut set: Vec<String> = Vec::new();
    for line in script.lines().map(str::trim) {
        let lower = line.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("function ") {
            if let Some(c) = current.take() {
                cat.cmdlets.insert(c.name.to_ascii_lowercase(), c);
            }
            let start = line.len() - rest.len();
            let name = line[start..].trim().trim_start_matches("script:");
            let name = name
                .split(|c: char| c == '{' || c.is_whitespace())
                .next()
                .unwrap_or("");
            if name.contains('-') {
                current = Some(CatalogueCmdlet {
                    name: name.to_string(),
                    params: Vec::new(),
                });
            }
            in_params = false;
            continue;
        }
        let Some(c) = current.as_mut() else { continue };
        if lower.starts_with("param(") {
            in_params = true;
            continue;
        }
        if !in_params {
            continue;
        }
        if line == ")" {
            in_params = false;
            continue;
        }
        if let Some(i) = lower.find("parametersetname='") {
            let rest = &line[i + 18..];
            if let Some(end) = rest.find('\'') {
                set.push(rest[..end].to_string());
            }
        }
        for token in line.split_whitespace() {
            if let Some(t) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
                && !t.contains('(')
            {
                ty = Some(t.to_string());
            } else if let Some(v) = token.strip_prefix('$') {
                let name = v.trim_matches(|c| matches!(c, '{' | '}' | ',' | ')'));
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    c.params.push(CatalogueParam {
                        name: name.to_string(),
                        ps_type: ty.take().unwrap_or_else(|| "Object".into()),
                        sets: std::mem::take(&mut set),
                    });
                }
            }
        }
    }
    if let Some(c) = current.take() {
        cat.cmdlets.insert(c.name.to_ascii_lowercase(), c);
    }
    cat
}

/// Standard base64 (padding optional, whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// How long a cached catalogue is used before it is fetched again.
pub const CATALOGUE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The cache file of a tenant's catalogue for a service: `<root>/catalogues/<service>-<tenant>.json`
/// (the names reduced to safe characters).
pub fn cache_path(root: &std::path::Path, service: &str, tenant: &str) -> std::path::PathBuf {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    root.join("catalogues")
        .join(format!("{}-{}.json", safe(service), safe(tenant)))
}

/// The cached catalogue, when there is one younger than `max_age` (a file bigger than 32 MiB
/// or that does not parse is ignored).
pub fn load_cached(
    path: &std::path::Path,
    max_age: std::time::Duration,
) -> Option<CmdletCatalogue> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 32 << 20 {
        return None;
    }
    let age = meta.modified().ok()?.elapsed().unwrap_or_default();
    if age > max_age {
        return None;
    }
    CmdletCatalogue::from_json(&std::fs::read_to_string(path).ok()?)
}

/// Saves a catalogue to its cache file (atomically: a temp file renamed).
pub fn save_cached(path: &std::path::Path, cat: &CmdletCatalogue) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, cat.to_json())?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cmdline::parse_cmdlet_line;

    #[test]
    fn unknown_names_are_said_with_the_closest_known_one() {
        let c = catalogue();
        let said = |l: &str| c.unknown(&parse_cmdlet_line(l).unwrap());
        assert_eq!(said("Get-MessageTrace -SenderAddress a -Verbose"), None);
        assert_eq!(
            said("Get-MessageTrace -SenderAdress a").as_deref(),
            Some(
                "Get-MessageTrace has no parameter -SenderAdress in this tenant's cmdlet catalogue (module 3.9.0); did you mean -SenderAddress?"
            )
        );
        let e = said("Get-Mailboxx").unwrap();
        assert!(e.ends_with("did you mean Get-Mailbox?"), "{e}");
        let e = said("Get-Mailbox -Zzzzzzzz 1").unwrap();
        assert!(
            e.contains("-Zzzzzzzz") && !e.contains("did you mean"),
            "{e}"
        );
    }

    const MODULE: &str = "# generated\nfunction script:Get-MessageTrace\n{\n    [CmdletBinding(DefaultParameterSetName='Default', SupportsShouldProcess=$false)]\n    param(\n    [string[]]\n    ${SenderAddress},\n\n    [datetime]\n    ${StartDate},\n\n    [Parameter(ParameterSetName='Photo')]\n    [byte[]]\n    ${PictureData},\n\n    [System.Security.SecureString]\n    ${Secret}\n    )\n    Process {\n        Execute-Command -CommandName $commandName -Parameters $PSBoundParameters\n    }\n}\n\nfunction script:Get-Mailbox\n{\n    param(\n    [string]\n    ${Identity}\n    )\n}\n";

    fn b64(s: &str) -> String {
        match crate::model::params::byte_array(s.as_bytes()) {
            Value::Object(o) => o["Data"].as_str().unwrap().to_string(),
            _ => unreachable!(),
        }
    }

    fn catalogue() -> CmdletCatalogue {
        let body = serde_json::json!({"value": [{
            "ModuleVersion": "3.9.0",
            "exportedCmdlets": "Get-MessageTrace,Get-Mailbox",
            "EncodedModule": b64(MODULE),
        }]});
        CmdletCatalogue::from_module_file(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_module_file_gives_cmdlets_and_typed_parameters() {
        let c = catalogue();
        assert_eq!(c.module_version, "3.9.0");
        assert_eq!(c.complete("get-m"), ["Get-Mailbox", "Get-MessageTrace"]);
        let t = c.cmdlet("get-messagetrace").unwrap();
        let names: Vec<&str> = t.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["SenderAddress", "StartDate", "PictureData", "Secret"]
        );
        assert_eq!(t.params[1].ps_type, "datetime");
        assert_eq!(t.params[2].sets, ["Photo"]);
        assert_eq!(CmdletCatalogue::from_json(&c.to_json()), Some(c));
        assert!(CmdletCatalogue::from_module_file(b"{}").is_err());
        assert!(
            CmdletCatalogue::from_module_file(br#"{"value":[{"EncodedModule":"!!"}]}"#).is_err()
        );
    }

    #[test]
    fn lines_are_checked_and_encoded_by_the_catalogue() {
        let c = catalogue();
        let mut l = parse_cmdlet_line(
            "Get-MessageTrace -StartDate '2026-11-30T10:00:00+01:00' -PictureData 104,105 -Verbose",
        )
        .unwrap();
        c.check(&mut l).unwrap();
        assert_eq!(l.get("StartDate").unwrap(), "2026-11-30T09:00:00Z");
        assert_eq!(
            l.get("PictureData").unwrap()["@odata.type"],
            "#Exchange.ByteArrayType"
        );
        let mut l = parse_cmdlet_line("Get-MessageTrace -Sender x").unwrap();
        let e = c.check(&mut l).unwrap_err();
        assert!(
            e.contains("no parameter -Sender") && e.contains("SenderAddress"),
            "{e}"
        );
        let mut l = parse_cmdlet_line("Get-MessageTrace -Secret x").unwrap();
        assert!(
            c.check(&mut l)
                .unwrap_err()
                .contains("password or credential")
        );
        let mut l = parse_cmdlet_line("Get-MessageTrace -StartDate soon").unwrap();
        assert!(c.check(&mut l).unwrap_err().contains("is not a date"));
        let mut l = parse_cmdlet_line("Remove-Mailbox x").unwrap();
        assert!(
            c.check(&mut l)
                .unwrap_err()
                .contains("not in this tenant's cmdlet catalogue")
        );
    }
}
