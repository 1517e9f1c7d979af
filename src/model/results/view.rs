//! Sort and filter over a [`ResultStore`] for the grid: each returns an index permutation (row
//! numbers as `u32`), never a copy of rows. Both are meant to run off the UI thread on a shared
//! store and can be cancelled through an `AtomicBool` (checked every few thousand rows; a
//! cancelled call returns `None`).
//!
//! - Sort by one column, stable: numbers numerically, everything else by its cell text
//!   case-insensitively (numbers before text), nulls and absent cells last in both directions.
//!   A column's sort keys (a rank per row) are computed once and cached in a [`SortCache`].
//! - Filter by text: case-insensitive substring of any cell's text, or `Column:value` for one
//!   column (the column name case-insensitive; an unknown name means plain text).

use std::cell::Cell as StdCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use super::column::{Column, tag};
use memchr::memmem::Finder;

use super::{ResultStore, search, text};

/// Rows (or comparisons) between two looks at the cancel flag.
const CHECK_EVERY: usize = 4096;

/// Rank of a null or absent cell: after every value, whatever the direction.
const NULL_RANK: u32 = u32::MAX;

/// Cached sort keys of one store's columns: a rank per row (equal cells, equal ranks). Keep one
/// per store; a store with more (or fewer) rows than a cached column was ranked on is ranked
/// again.
#[derive(Debug, Default, Clone)]
pub struct SortCache {
    columns: HashMap<usize, (usize, Vec<u32>)>,
}

impl SortCache {
    pub fn new() -> SortCache {
        SortCache::default()
    }

    /// Heap bytes held by the cached keys.
    pub fn memory_bytes(&self) -> usize {
        self.columns.values().map(|(_, r)| r.capacity() * 4).sum()
    }

    /// How many columns have cached keys.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// Whether the caller gave up; also counts calls so the flag is read every [`CHECK_EVERY`].
struct Cancel<'a> {
    flag: &'a AtomicBool,
    count: StdCell<usize>,
}

impl Cancel<'_> {
    fn new(flag: &AtomicBool) -> Cancel<'_> {
        Cancel {
            flag,
            count: StdCell::new(0),
        }
    }
    fn now(&self) -> bool {
        self.flag.load(AtomicOrdering::Relaxed)
    }
    /// True when cancelled (read every CHECK_EVERY calls).
    fn tick(&self) -> bool {
        let n = self.count.get() + 1;
        self.count.set(n);
        n.is_multiple_of(CHECK_EVERY) && self.now()
    }
}

/// `rows` sorted by column `col` (stable; see the module documentation). None if cancelled.
pub fn sort(
    store: &ResultStore,
    rows: &[u32],
    col: usize,
    ascending: bool,
    cache: &mut SortCache,
    cancel: &AtomicBool,
) -> Option<Vec<u32>> {
    let c = Cancel::new(cancel);
    let fresh = cache
        .columns
        .get(&col)
        .is_some_and(|(n, _)| *n == store.len());
    if !fresh {
        let ranks = ranks(store.column_data(col), store.len(), &c)?;
        cache.columns.insert(col, (store.len(), ranks));
    }
    let rank = &cache.columns[&col].1;
    let mut out = rows.to_vec();
    out.sort_by(|&a, &b| {
        if c.tick() {
            return Ordering::Equal;
        }
        let (x, y) = (rank[a as usize], rank[b as usize]);
        match (x == NULL_RANK, y == NULL_RANK) {
            (false, false) if !ascending => y.cmp(&x),
            _ => x.cmp(&y),
        }
    });
    (!c.now()).then_some(out)
}

/// A cell's sort key.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Int(i128),
    Float(f64),
    Text(String),
    Null,
}

impl Key {
    fn of(t: u8, s: &str, buf: &mut String) -> Key {
        match t {
            tag::ABSENT | tag::NULL => Key::Null,
            tag::INT | tag::UINT => s.parse().map(Key::Int).unwrap_or(Key::Null),
            tag::FLOAT | tag::FLOAT_TEXT => s.parse().map(Key::Float).unwrap_or(Key::Null),
            _ => {
                buf.clear();
                text::cell_text(t, s, buf);
                Key::Text(buf.to_lowercase())
            }
        }
    }

    fn cmp(&self, other: &Key) -> Ordering {
        use Key::*;
        let class = |k: &Key| match k {
            Int(_) | Float(_) => 0,
            Text(_) => 1,
            Null => 2,
        };
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Int(a), Float(b)) => (*a as f64).total_cmp(b),
            (Float(a), Int(b)) => a.total_cmp(&(*b as f64)),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (a, b) => class(a).cmp(&class(b)),
        }
    }
}

/// A rank per row of `col`: ranks of its distinct entries (one per row when plain).
fn ranks(col: &Column, rows: usize, c: &Cancel) -> Option<Vec<u32>> {
    let n = col.entry_count();
    let mut buf = String::new();
    let mut keys = Vec::with_capacity(n);
    for e in 0..n {
        if e % CHECK_EVERY == 0 && c.now() {
            return None;
        }
        let (t, s) = col.entry(e);
        keys.push(Key::of(t, s, &mut buf));
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|&a, &b| {
        if c.tick() {
            return Ordering::Equal;
        }
        keys[a as usize].cmp(&keys[b as usize])
    });
    if c.now() {
        return None;
    }
    let mut entry_rank = vec![NULL_RANK; n];
    let mut rank = 0u32;
    for (i, &e) in order.iter().enumerate() {
        if keys[e as usize] == Key::Null {
            break;
        }
        if i > 0 && keys[order[i - 1] as usize].cmp(&keys[e as usize]) != Ordering::Equal {
            rank += 1;
        }
        entry_rank[e as usize] = rank;
    }
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        if r % CHECK_EVERY == 0 && c.now() {
            return None;
        }
        out.push(entry_rank[col.entry_of(r)]);
    }
    Some(out)
}

/// What rows to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every row.
    All,
    /// Rows with a cell whose text contains this (lowercase) text.
    Any(String),
    /// Rows whose cell in this column contains this (lowercase) text.
    Column(usize, String),
}

impl Filter {
    /// From what the user typed: empty = all; `Name:value` = in that column when `Name` is one
    /// of the store's columns (any case); anything else = in any column.
    pub fn parse(store: &ResultStore, typed: &str) -> Filter {
        let typed = typed.trim();
        if typed.is_empty() {
            return Filter::All;
        }
        if let Some((name, value)) = typed.split_once(':')
            && let Some(col) = (0..store.column_count())
                .find(|&c| store.column_name(c).eq_ignore_ascii_case(name.trim()))
        {
            return Filter::Column(col, value.trim().to_lowercase());
        }
        Filter::Any(typed.to_lowercase())
    }
}

/// The rows of `store` that `filter` keeps, in order. None if cancelled. Column by column: each
/// column's cells are searched at once ([`search`]) and a dictionary column's distinct values
/// once each, never cell by cell.
pub fn filter(store: &ResultStore, filter: &Filter, cancel: &AtomicBool) -> Option<Vec<u32>> {
    let (cols, needle): (Vec<usize>, &str) = match filter {
        Filter::All => return Some((0..store.len() as u32).collect()),
        Filter::Any(n) => ((0..store.column_count()).collect(), n),
        Filter::Column(col, n) => (vec![*col], n),
    };
    if needle.is_empty() {
        return Some((0..store.len() as u32).collect());
    }
    let finder = Finder::new(needle.as_bytes());
    let mut scratch = search::Scratch::default();
    let mut hit = vec![false; store.len()];
    for col in cols {
        if cancel.load(AtomicOrdering::Relaxed) {
            return None;
        }
        let column = store.column_data(col);
        search::entry_hits(column, &finder, &mut scratch);
        search::or_rows(column, scratch.hits(), &mut hit);
    }
    Some(
        (0..store.len() as u32)
            .filter(|&r| hit[r as usize])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const N: usize = 100_000;

    /// 100,000 rows: a unique name (mixed case), a repeating department, a size with nulls and
    /// absent cells, a float, an address array, a flag.
    fn big() -> ResultStore {
        let mut s = ResultStore::new();
        let depts = ["Sales", "IT", "legal", "Øresund", "finance"];
        for i in 0..N {
            let mut row = json!({
                "Name": if i % 2 == 0 { format!("User{:05}", (i * 7919) % N) } else { format!("user{:05}", (i * 7919) % N) },
                "Department": depts[i % depts.len()],
                "Ratio": (i % 1000) as f64 / 8.0,
                "Emails": [format!("SMTP:u{i}@contoso.com"), format!("smtp:u{i}@x.onmicrosoft.com")],
                "Flag": i % 3 == 0,
            });
            match i % 10 {
                0 => row["Size"] = Value::Null,
                1 => {}
                _ => row["Size"] = json!((i * 31) % 5000),
            }
            s.push_value(&row);
        }
        s
    }

    fn all(s: &ResultStore) -> Vec<u32> {
        (0..s.len() as u32).collect()
    }

    #[test]
    fn sorting_100k_rows_is_typed_stable_and_puts_nulls_last() {
        let s = big();
        let no = AtomicBool::new(false);
        let mut cache = SortCache::new();
        let size = s.column_index("Size").unwrap();
        let cell = |r: u32| s.cell_value(r as usize, size).and_then(|v| v.as_i64());
        for asc in [true, false] {
            let v = sort(&s, &all(&s), size, asc, &mut cache, &no).unwrap();
            assert_eq!(v.len(), N);
            let nulls = v.iter().skip_while(|&&r| cell(r).is_some()).count();
            assert_eq!(nulls, N / 5, "nulls and absent cells last");
            for w in v.windows(2) {
                match (cell(w[0]), cell(w[1])) {
                    (Some(a), Some(b)) if a == b => assert!(w[0] < w[1], "stable"),
                    (Some(a), Some(b)) => assert!(if asc { a < b } else { a > b }),
                    (Some(_), None) => {}
                    (None, None) => assert!(w[0] < w[1], "stable"),
                    (None, Some(_)) => panic!("a null before a number"),
                }
            }
        }
        assert_eq!(cache.len(), 1);
        // Text: case-insensitively, the same order as a stable sort of the lowercase text.
        let name = s.column_index("Name").unwrap();
        let got = sort(&s, &all(&s), name, true, &mut cache, &no).unwrap();
        let mut want = all(&s);
        want.sort_by_key(|&r| s.cell_string(r as usize, name).to_lowercase());
        assert_eq!(got, want);
        // Numbers numerically (not as text), and a subset of rows.
        let ratio = s.column_index("Ratio").unwrap();
        let some: Vec<u32> = (0..2000).rev().collect();
        let got = sort(&s, &some, ratio, true, &mut cache, &no).unwrap();
        let r = |i: u32| s.cell_value(i as usize, ratio).unwrap().as_f64().unwrap();
        assert!(got.windows(2).all(|w| r(w[0]) <= r(w[1])));
        assert_eq!(r(got[0]), 0.0);
        assert_eq!(got.len(), 2000);
    }

    #[test]
    fn cached_keys_follow_new_rows() {
        let mut s = ResultStore::new();
        for v in [3, 1, 2] {
            s.push_value(&json!({ "N": v }));
        }
        let no = AtomicBool::new(false);
        let mut cache = SortCache::new();
        assert_eq!(
            sort(&s, &all(&s), 0, true, &mut cache, &no).unwrap(),
            [1, 2, 0]
        );
        s.push_value(&json!({ "N": 0 }));
        s.push_value(&json!({ "N": "Text" }));
        assert_eq!(
            sort(&s, &all(&s), 0, true, &mut cache, &no).unwrap(),
            [3, 1, 2, 0, 4]
        );
        assert_eq!(
            sort(&s, &all(&s), 0, false, &mut cache, &no).unwrap(),
            [4, 0, 2, 1, 3]
        );
        assert!(cache.memory_bytes() >= 5 * 4);
    }

    #[test]
    fn filtering_100k_rows_by_any_cell_or_one_column() {
        let s = big();
        let no = AtomicBool::new(false);
        let want = |f: &dyn Fn(usize) -> bool| -> Vec<u32> {
            (0..N).filter(|&r| f(r)).map(|r| r as u32).collect()
        };
        let any = |needle: &str, r: usize| {
            let needle = needle.to_lowercase();
            (0..s.column_count()).any(|c| s.cell_string(r, c).to_lowercase().contains(&needle))
        };
        for typed in [
            "sales",
            "USER0001",
            "øRESUND",
            "u12345@",
            ";smtp:u7@",
            "12.5",
            "true",
            "zzz",
        ] {
            let got = filter(&s, &Filter::parse(&s, typed), &no).unwrap();
            assert_eq!(got, want(&|r| any(typed, r)), "{typed}");
        }
        let dept = s.column_index("Department").unwrap();
        assert_eq!(
            Filter::parse(&s, " department: LEGAL "),
            Filter::Column(dept, "legal".into())
        );
        let got = filter(&s, &Filter::parse(&s, "department:legal"), &no).unwrap();
        assert_eq!(got.len(), N / 5);
        assert!(
            got.iter()
                .all(|&r| s.cell_string(r as usize, dept) == "legal")
        );
        // An unknown column name is plain text ("smtp:" is in the addresses).
        assert_eq!(
            Filter::parse(&s, "smtp:u1@"),
            Filter::Any("smtp:u1@".into())
        );
        assert_eq!(
            filter(&s, &Filter::parse(&s, "smtp:u1@"), &no).unwrap(),
            [1]
        );
        assert_eq!(filter(&s, &Filter::parse(&s, "  "), &no).unwrap().len(), N);
    }

    #[test]
    fn a_cancelled_sort_or_filter_returns_nothing() {
        let s = big();
        let yes = AtomicBool::new(true);
        let mut cache = SortCache::new();
        assert_eq!(sort(&s, &all(&s), 0, true, &mut cache, &yes), None);
        assert!(cache.is_empty());
        assert_eq!(filter(&s, &Filter::Any("user".into()), &yes), None);
    }
}
