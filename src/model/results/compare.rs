//! Compare tenants (issue 12 item 4): for a merged result (rows led by `Profile`), the items
//! keyed by one column (default `Identity`, else `Name`) × the profiles, which profile has which
//! item and, against a baseline profile, which of its properties differ. Pure data; the
//! comparison can be written as a [`ResultStore`] (CSV, table, the window's grid).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::merge::{PROFILE_COLUMN, TENANT_COLUMN};
use super::{Cell, ResultStore};

/// Properties never compared: they differ between tenants by nature (ids, timestamps, where
/// the object lives), so a difference there says nothing.
pub const NOT_COMPARED: &[&str] = &[
    "Guid",
    "Id",
    "ImmutableId",
    "ExchangeObjectId",
    "ObjectId",
    "ExternalDirectoryObjectId",
    "DistinguishedName",
    "OrganizationId",
    "OrganizationalUnitRoot",
    "OriginatingServer",
    "WhenChanged",
    "WhenCreated",
    "WhenChangedUTC",
    "WhenCreatedUTC",
    "RunspaceId",
];

/// What one profile says about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Missing,
    /// Present; the properties whose value differs from the baseline's item (empty: same, or
    /// the baseline lacks the item, or this is the baseline).
    Present {
        differs: Vec<String>,
    },
}

/// One item (one key value) across the profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub key: String,
    /// One per [`Comparison::profiles`], in that order.
    pub cells: Vec<Presence>,
}

impl ItemRow {
    /// Profiles without the item.
    pub fn missing(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| **c == Presence::Missing)
            .count()
    }

    /// Per differing property: in how many profiles it differs from the baseline.
    pub fn differing(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for c in &self.cells {
            if let Presence::Present { differs } = c {
                for p in differs {
                    *m.entry(p.as_str()).or_insert(0) += 1;
                }
            }
        }
        m
    }
}

/// The comparison of a merged result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The key column.
    pub key: String,
    /// The profiles (columns of the matrix), in the order their first row appears.
    pub profiles: Vec<String>,
    /// Each profile's tenant (the merged result's `Tenant`).
    pub tenants: Vec<String>,
    /// Index into `profiles` of the baseline.
    pub baseline: usize,
    /// The items, sorted by key (case-insensitive).
    pub items: Vec<ItemRow>,
}

/// Why a comparison cannot be made; `Display` says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error(
        "the result has no '{PROFILE_COLUMN}' column: compare needs a run over several profiles"
    )]
    NotMerged,
    #[error("the result has no column '{key}' to key the comparison by; give one of: {columns}")]
    NoKey { key: String, columns: String },
    #[error("the baseline '{0}' is not among the profiles of the result; give one of: {1}")]
    NoBaseline(String, String),
    #[error("the result has no rows to compare")]
    Empty,
}

/// The default key column: `Identity`, else `Name`.
pub fn default_key(store: &ResultStore) -> Option<&'static str> {
    ["Identity", "Name"]
        .into_iter()
        .find(|k| store.column_index(k).is_some())
}

/// Compares the profiles of a merged result by `key` (None: [`default_key`]) against
/// `baseline` (a profile name, case-insensitive; None: the first profile). An item a profile
/// has twice is compared by its first row.
pub fn compare(
    store: &ResultStore,
    key: Option<&str>,
    baseline: Option<&str>,
) -> Result<Comparison, CompareError> {
    let pcol = store
        .column_index(PROFILE_COLUMN)
        .ok_or(CompareError::NotMerged)?;
    let tcol = store.column_index(TENANT_COLUMN);
    let (key, kcol) = key_column(store, key)?;
    if store.is_empty() {
        return Err(CompareError::Empty);
    }
    let grouped = group_by_item(store, pcol, tcol, kcol);
    let baseline = match baseline {
        None => 0,
        Some(b) => grouped
            .profiles
            .iter()
            .position(|p| p.eq_ignore_ascii_case(b.trim()))
            .ok_or_else(|| CompareError::NoBaseline(b.to_string(), grouped.profiles.join(", ")))?,
    };
    let compared: Vec<usize> = (0..store.column_count())
        .filter(|&c| c != pcol && Some(c) != tcol && c != kcol)
        .filter(|&c| !NOT_COMPARED.contains(&store.column_name(c)))
        .collect();
    let n = grouped.profiles.len();
    let items = grouped
        .rows
        .into_iter()
        .map(|((_, k), mut per)| {
            per.resize(n, None);
            ItemRow {
                key: k,
                cells: presences(store, &per, baseline, &compared),
            }
        })
        .collect();
    Ok(Comparison {
        key,
        profiles: grouped.profiles,
        tenants: grouped.tenants,
        baseline,
        items,
    })
}

/// The key column by name (None: [`default_key`], else `Identity`) and its index, or which
/// columns there are to choose from.
fn key_column(store: &ResultStore, key: Option<&str>) -> Result<(String, usize), CompareError> {
    let key = match key {
        Some(k) => k.to_string(),
        None => default_key(store).unwrap_or("Identity").to_string(),
    };
    let kcol = store
        .column_index(&key)
        .ok_or_else(|| CompareError::NoKey {
            key: key.clone(),
            columns: store
                .columns()
                .filter(|c| *c != PROFILE_COLUMN && *c != TENANT_COLUMN)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    Ok((key, kcol))
}

/// A merged result's rows grouped by item.
struct Grouped {
    /// The profiles in the order their first row appears, and each one's tenant.
    profiles: Vec<String>,
    tenants: Vec<String>,
    /// (lower-case key, key) → per profile: its first row with that item.
    rows: BTreeMap<(String, String), Vec<Option<usize>>>,
}

/// Groups the rows by the key column's value; a row without a key names its profile only.
fn group_by_item(store: &ResultStore, pcol: usize, tcol: Option<usize>, kcol: usize) -> Grouped {
    let mut profiles: Vec<String> = Vec::new();
    let mut tenants: Vec<String> = Vec::new();
    let mut pindex: HashMap<String, usize> = HashMap::new();
    let mut rows: BTreeMap<(String, String), Vec<Option<usize>>> = BTreeMap::new();
    for r in 0..store.len() {
        let p = store.cell_string(r, pcol);
        let pi = *pindex.entry(p.clone()).or_insert_with(|| {
            profiles.push(p.clone());
            tenants.push(tcol.map(|t| store.cell_string(r, t)).unwrap_or_default());
            profiles.len() - 1
        });
        if store.cell(r, kcol) == Cell::Absent {
            continue;
        }
        let k = store.cell_string(r, kcol);
        let slot = rows.entry((k.to_lowercase(), k)).or_default();
        slot.resize(profiles.len().max(slot.len()), None);
        slot[pi].get_or_insert(r);
    }
    Grouped {
        profiles,
        tenants,
        rows,
    }
}

/// One item's cell per profile (`per`: each profile's row of it) against the baseline's row,
/// over the `compared` columns.
fn presences(
    store: &ResultStore,
    per: &[Option<usize>],
    baseline: usize,
    compared: &[usize],
) -> Vec<Presence> {
    let value = |r: usize, c: usize| -> Option<Value> { store.cell_value(r, c) };
    let base = per[baseline];
    per.iter()
        .map(|row| match (row, base) {
            (None, _) => Presence::Missing,
            (Some(r), Some(b)) if *r != b => Presence::Present {
                differs: compared
                    .iter()
                    .filter(|&&c| value(*r, c) != value(b, c))
                    .map(|&c| store.column_name(c).to_string())
                    .collect(),
            },
            (Some(_), _) => Presence::Present {
                differs: Vec::new(),
            },
        })
        .collect()
}

impl Comparison {
    /// What a profile's cell says: `baseline`, `same`, `missing`, `differs: A; B`, or `present`
    /// (the baseline lacks the item).
    pub fn cell_text(&self, item: &ItemRow, profile: usize) -> String {
        let base_has = item.cells[self.baseline] != Presence::Missing;
        match &item.cells[profile] {
            Presence::Missing => "missing".into(),
            Presence::Present { .. } if profile == self.baseline => "baseline".into(),
            Presence::Present { .. } if !base_has => "present".into(),
            Presence::Present { differs } if differs.is_empty() => "same".into(),
            Presence::Present { differs } => format!("differs: {}", differs.join("; ")),
        }
    }

    /// One sentence per item that is not the same everywhere, e.g. "'Block EXE' is missing in
    /// 3 tenants and has a different Priority in 2".
    pub fn summary(&self, item: &ItemRow) -> String {
        let mut parts = Vec::new();
        let missing = item.missing();
        if item.cells[self.baseline] == Presence::Missing {
            parts.push(format!(
                "is not in the baseline {}",
                self.profiles[self.baseline]
            ));
        }
        if missing > 0 {
            parts.push(format!(
                "is missing in {missing} of {}",
                self.profiles.len()
            ));
        }
        let diff: Vec<String> = item
            .differing()
            .into_iter()
            .map(|(p, n)| format!("a different {p} in {n}"))
            .collect();
        if !diff.is_empty() {
            parts.push(format!("has {}", diff.join(", ")));
        }
        if parts.is_empty() {
            return "the same in every profile".into();
        }
        format!("'{}' {}", item.key, parts.join(" and "))
    }

    /// The comparison as rows: the key, `Summary`, then one column per profile (its cell text),
    /// for the CSV, JSON and table writers.
    pub fn to_store(&self) -> ResultStore {
        let mut s = ResultStore::new();
        for item in &self.items {
            let summary = self.summary(item);
            let texts: Vec<String> = (0..self.profiles.len())
                .map(|p| self.cell_text(item, p))
                .collect();
            let mut w = s.begin_row();
            w.push(&self.key, Cell::Str(&item.key));
            w.push("Summary", Cell::Str(&summary));
            for (p, t) in self.profiles.iter().zip(&texts) {
                w.push(p, Cell::Str(t));
            }
            w.finish();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::merge::merge;
    use super::*;
    use serde_json::json;

    fn store(v: serde_json::Value) -> ResultStore {
        let mut s = ResultStore::new();
        for r in v.as_array().unwrap() {
            s.push_value(r);
        }
        s
    }

    fn rules() -> ResultStore {
        let a = store(json!([
            {"Identity": "Block EXE", "Priority": 0, "State": "Enabled", "Guid": "1"},
            {"Identity": "Disclaimer", "Priority": 1, "State": "Enabled", "Guid": "2"}
        ]));
        let b = store(json!([
            {"Identity": "Block EXE", "Priority": 1, "State": "Enabled", "Guid": "3"},
            {"Identity": "Disclaimer", "Priority": 1, "State": "Enabled", "Guid": "4"}
        ]));
        let c = store(json!([
            {"Identity": "Disclaimer", "Priority": 1, "State": "Disabled", "Guid": "5"},
            {"Identity": "Extra", "Priority": 2, "State": "Enabled", "Guid": "6"}
        ]));
        merge([
            ("A", "a.example", &a),
            ("B", "b.example", &b),
            ("C", "c.example", &c),
        ])
    }

    #[test]
    fn matrix_and_differences_against_the_first_profile() {
        let cmp = compare(&rules(), None, None).unwrap();
        assert_eq!(cmp.key, "Identity");
        assert_eq!(cmp.profiles, ["A", "B", "C"]);
        assert_eq!(cmp.tenants, ["a.example", "b.example", "c.example"]);
        let keys: Vec<&str> = cmp.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["Block EXE", "Disclaimer", "Extra"]);
        let block = &cmp.items[0];
        assert_eq!(block.missing(), 1);
        // Guid differs everywhere but is not compared.
        assert_eq!(
            block.cells[1],
            Presence::Present {
                differs: vec!["Priority".into()]
            }
        );
        assert_eq!(
            cmp.summary(block),
            "'Block EXE' is missing in 1 of 3 and has a different Priority in 1"
        );
        let disc = &cmp.items[1];
        assert_eq!(cmp.cell_text(disc, 0), "baseline");
        assert_eq!(cmp.cell_text(disc, 1), "same");
        assert_eq!(cmp.cell_text(disc, 2), "differs: State");
        let extra = &cmp.items[2];
        assert_eq!(cmp.cell_text(extra, 2), "present");
        assert!(cmp.summary(extra).contains("is not in the baseline A"));
    }

    #[test]
    fn another_baseline_and_key() {
        let cmp = compare(&rules(), Some("Priority"), Some("c")).unwrap();
        assert_eq!(cmp.baseline, 2);
        let keys: Vec<&str> = cmp.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["0", "1", "2"]);
        // Priority 1 in A is Disclaimer, in C Disclaimer (Disabled): State differs (and Identity is compared now).
        let one = &cmp.items[1];
        assert_eq!(cmp.cell_text(one, 0), "differs: State");
        let out = cmp.to_store();
        let cols: Vec<&str> = out.columns().collect();
        assert_eq!(cols, ["Priority", "Summary", "A", "B", "C"]);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn bad_input_says_what_to_give() {
        let e = compare(&rules(), Some("Nope"), None).unwrap_err();
        assert!(e.to_string().contains("Identity, Priority"), "{e}");
        let e = compare(&rules(), None, Some("Z")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the baseline 'Z' is not among the profiles of the result; give one of: A, B, C"
        );
        let single = store(json!([{"Identity": "x"}]));
        assert_eq!(compare(&single, None, None), Err(CompareError::NotMerged));
        let names = store(json!([{"Name": "x"}]));
        assert_eq!(default_key(&names), Some("Name"));
    }
}
