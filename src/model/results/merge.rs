//! A merged result of many profiles (a fan-out run, issue 12): one store whose rows lead with
//! `Profile` and `Tenant` (the tenant's display name when known, else its domain), then the
//! cmdlet's columns (the union over every profile, in first-seen order). Pure data.
//!
//! [`Part`]s are the same merged result without building it: the writers
//! ([`write_csv_parts`](super::write::write_csv_parts),
//! [`write_json_parts`](super::write::write_json_parts)) write each profile's rows where they
//! are, as if from the store [`merge`] makes, so the command line's CSV and JSON of a fan-out
//! copy no cell.

use std::collections::HashMap;

use super::{Cell, ResultStore};

/// The first column of a merged result: the profile a row came from.
pub const PROFILE_COLUMN: &str = "Profile";
/// The second column: the tenant of that profile.
pub const TENANT_COLUMN: &str = "Tenant";
/// The columns a merged result leads with, in order.
pub const MERGED_LEADING: &[&str] = &[PROFILE_COLUMN, TENANT_COLUMN];

/// The name a cmdlet's own `Profile` or `Tenant` property gets in a merged result, so the
/// attribution never overwrites it (nor it the attribution).
pub fn renamed_own_column(name: &str) -> Option<String> {
    MERGED_LEADING
        .contains(&name)
        .then(|| format!("{name} (cmdlet)"))
}

/// Appends every row of one profile's result to `merged`, with `Profile` = `profile` and
/// `Tenant` = `tenant` first. The rows keep their own key order after those two; a row's own
/// `Profile`/`Tenant` key is kept as `Profile (cmdlet)` / `Tenant (cmdlet)`.
pub fn append_attributed(
    merged: &mut ResultStore,
    rows: &ResultStore,
    profile: &str,
    tenant: &str,
) {
    let clash = MERGED_LEADING
        .iter()
        .any(|n| rows.column_index(n).is_some());
    if !clash {
        merged.append(
            rows,
            &[
                (PROFILE_COLUMN, Cell::Str(profile)),
                (TENANT_COLUMN, Cell::Str(tenant)),
            ],
        );
        return;
    }
    for r in 0..rows.len() {
        let mut w = merged.begin_row();
        w.push(PROFILE_COLUMN, Cell::Str(profile));
        w.push(TENANT_COLUMN, Cell::Str(tenant));
        for &c in rows.shape_of(r) {
            let c = c as usize;
            let name = rows.column_name(c);
            let cell = rows.cell(r, c);
            match renamed_own_column(name) {
                Some(n) => w.push(&n, cell),
                None => w.push(name, cell),
            }
        }
        w.finish();
    }
}

/// The merged result of `parts` in the order given: (profile, tenant, its rows).
pub fn merge<'a>(
    parts: impl IntoIterator<Item = (&'a str, &'a str, &'a ResultStore)>,
) -> ResultStore {
    let mut merged = ResultStore::new();
    for (profile, tenant, rows) in parts {
        append_attributed(&mut merged, rows, profile, tenant);
    }
    merged.shrink_to_fit();
    merged
}

/// One profile's rows of a merged result, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub profile: &'a str,
    pub tenant: &'a str,
    pub rows: &'a ResultStore,
}

/// The columns of the merged result of some parts (those of [`merge`]'s store, in its order)
/// and where each part's columns go.
#[derive(Debug)]
pub struct PartColumns {
    /// `Profile`, `Tenant`, then the union of the parts' columns in first-seen order (a
    /// cmdlet's own `Profile`/`Tenant` renamed).
    pub names: Vec<String>,
    /// Per part: its column `c` is merged column `into[part][c]`.
    pub into: Vec<Vec<usize>>,
}

impl PartColumns {
    pub fn of(parts: &[Part<'_>]) -> PartColumns {
        let mut names: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut into = Vec::with_capacity(parts.len());
        if parts.iter().any(|p| !p.rows.is_empty()) {
            for n in MERGED_LEADING {
                index.insert(n.to_string(), names.len());
                names.push(n.to_string());
            }
        }
        for p in parts {
            let mut map = Vec::with_capacity(p.rows.column_count());
            for name in p.rows.columns() {
                let name = renamed_own_column(name).unwrap_or_else(|| name.to_string());
                let next = names.len();
                let m = *index.entry(name.clone()).or_insert(next);
                if m == next {
                    names.push(name);
                }
                map.push(m);
            }
            into.push(map);
        }
        PartColumns { names, into }
    }

    /// Per part: merged column `m` is its column `from[part][m]` (None: absent in its rows).
    pub fn from(&self) -> Vec<Vec<Option<usize>>> {
        self.into
            .iter()
            .map(|map| {
                let mut from = vec![None; self.names.len()];
                for (c, &m) in map.iter().enumerate() {
                    from[m] = Some(c);
                }
                from
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(v: serde_json::Value) -> ResultStore {
        let mut s = ResultStore::new();
        for r in v.as_array().unwrap() {
            s.push_value(r);
        }
        s
    }

    #[test]
    fn rows_lead_with_profile_and_tenant_then_the_union() {
        let a = store(json!([{"Name": "r1", "Priority": 0}, {"Name": "r2", "Priority": 1}]));
        let b = store(json!([{"Name": "r1", "Mode": "Enforce"}]));
        let empty = ResultStore::new();
        let m = merge([
            ("A", "Contoso", &a),
            ("Empty", "empty.example", &empty),
            ("B", "b.onmicrosoft.com", &b),
        ]);
        assert_eq!(m.len(), 3);
        let cols: Vec<&str> = m.columns().collect();
        assert_eq!(cols, ["Profile", "Tenant", "Name", "Priority", "Mode"]);
        let who: Vec<(String, String)> = (0..3)
            .map(|r| (m.cell_string(r, 0), m.cell_string(r, 1)))
            .collect();
        assert_eq!(
            who,
            [
                ("A".into(), "Contoso".into()),
                ("A".into(), "Contoso".into()),
                ("B".into(), "b.onmicrosoft.com".into())
            ]
        );
        // Absent stays absent (not null), numbers stay numbers.
        assert_eq!(m.cell(2, 3), Cell::Absent);
        assert_eq!(m.cell(1, 3), Cell::Int(1));
        assert_eq!(
            serde_json::Value::Object(m.row_object(2)),
            json!({"Profile": "B", "Tenant": "b.onmicrosoft.com", "Name": "r1", "Mode": "Enforce"})
        );
    }

    #[test]
    fn a_cmdlets_own_tenant_property_is_kept_apart() {
        let a = store(json!([{"Name": "x", "Tenant": "theirs", "Profile": 7}]));
        let m = merge([("P", "Ours", &a)]);
        let row = serde_json::Value::Object(m.row_object(0));
        assert_eq!(
            row,
            json!({"Profile": "P", "Tenant": "Ours", "Name": "x", "Tenant (cmdlet)": "theirs", "Profile (cmdlet)": 7})
        );
    }

    /// The writers over parts write exactly what the writers of the merged store write.
    #[test]
    fn parts_write_what_the_merged_store_writes() {
        use super::super::write::{write_csv_all, write_csv_parts, write_json, write_json_parts};
        let a = store(json!([
            {"Name": "r1", "Priority": 0, "Tags": ["x", "y"]},
            {"Priority": 1, "Name": "r2, \"quoted\"", "Extra": null}
        ]));
        let b = store(json!([{"Name": "r1", "Mode": "Enforce", "Size": 1.50}]));
        let clash = store(json!([{"Name": "x", "Tenant": "theirs", "Profile": 7}]));
        let empty = ResultStore::new();
        let sets: Vec<Vec<(&str, &str, &ResultStore)>> = vec![
            vec![
                ("A", "Contoso", &a),
                ("Empty", "e.example", &empty),
                ("B", "Fab", &b),
            ],
            vec![("P", "Ours", &clash), ("A", "Contoso", &a)],
            vec![("Empty", "e.example", &empty)],
            vec![],
        ];
        for set in sets {
            let merged = merge(set.clone());
            let parts: Vec<Part> = set
                .iter()
                .map(|&(profile, tenant, rows)| Part {
                    profile,
                    tenant,
                    rows,
                })
                .collect();
            let csv = write_csv_parts(&parts, Vec::new()).unwrap();
            assert_eq!(
                String::from_utf8(csv).unwrap(),
                String::from_utf8(write_csv_all(&merged, Vec::new()).unwrap()).unwrap()
            );
            let js = write_json_parts(&parts, Vec::new()).unwrap();
            let expected = write_json(&merged, 0..merged.len(), Vec::new()).unwrap();
            assert_eq!(
                String::from_utf8(js).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    #[test]
    fn the_table_leads_with_profile_and_tenant() {
        let a = store(json!([{"Identity": "Block EXE", "Name": "Block EXE", "State": "Enabled"}]));
        let m = merge([("Fabrikam", "Fabrikam Ltd", &a)]);
        let mut out = Vec::new();
        super::super::write::write_table_led(&m, 200, MERGED_LEADING, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["Profile", "Tenant", "Name", "Identity", "State"]);
        // Without a lead the order is the single run's.
        let mut out = Vec::new();
        super::super::write::write_table(&a, 200, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("Name"));
    }
}
