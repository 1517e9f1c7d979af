//! One column of a [`ResultStore`](super::ResultStore): its cells in typed form, as entries of
//! one text arena (a tag byte and an end offset per entry), either one entry per row ("plain") or
//! a dictionary of distinct entries with one narrow code per row ("dict").
//!
//! Every column starts as a dictionary (most mailbox properties repeat: quotas, policies,
//! booleans, nulls) and turns plain for good once it proves high-cardinality (more than half of
//! its cells were new values after 4096 rows), so GUIDs, addresses and names do not pay for a
//! hash map that saves nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// What an entry holds. The arena text of an entry is: nothing for absent/null/booleans, the
/// JSON text of a number, the string itself, or the compact JSON of an array/object.
pub(super) mod tag {
    /// The row has no such key.
    pub const ABSENT: u8 = 0;
    pub const NULL: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const TRUE: u8 = 3;
    /// An integer in i64 range (text = its decimal digits).
    pub const INT: u8 = 4;
    /// An integer above i64::MAX that fits u64.
    pub const UINT: u8 = 5;
    /// A float whose text is what serde_json writes for it.
    pub const FLOAT: u8 = 6;
    /// A number kept as the text received, because writing it back as an f64 would change it
    /// (`1.50`, `1e5`, integers beyond u64, `-0`).
    pub const FLOAT_TEXT: u8 = 7;
    pub const STR: u8 = 8;
    /// A nested array or object, as serde_json's compact text.
    pub const JSON: u8 = 9;
}

/// Unsigned integers at the narrowest width that holds every value pushed so far.
#[derive(Debug, Clone)]
pub(super) enum UVec {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl Default for UVec {
    fn default() -> Self {
        UVec::U8(Vec::new())
    }
}

impl UVec {
    pub fn len(&self) -> usize {
        match self {
            UVec::U8(v) => v.len(),
            UVec::U16(v) => v.len(),
            UVec::U32(v) => v.len(),
            UVec::U64(v) => v.len(),
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        match self {
            UVec::U8(v) => v[i] as u64,
            UVec::U16(v) => v[i] as u64,
            UVec::U32(v) => v[i] as u64,
            UVec::U64(v) => v[i],
        }
    }

    /// The last value, if any.
    #[cfg(test)]
    pub fn last(&self) -> Option<u64> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }

    fn widen(&mut self, to: u64) {
        let old = std::mem::take(self);
        *self = if to <= u16::MAX as u64 {
            UVec::U16(old.iter().map(|x| x as u16).collect())
        } else if to <= u32::MAX as u64 {
            UVec::U32(old.iter().map(|x| x as u32).collect())
        } else {
            UVec::U64(old.iter().collect())
        };
    }

    fn fits(&self, x: u64) -> bool {
        match self {
            UVec::U8(_) => x <= u8::MAX as u64,
            UVec::U16(_) => x <= u16::MAX as u64,
            UVec::U32(_) => x <= u32::MAX as u64,
            UVec::U64(_) => true,
        }
    }

    #[inline]
    pub fn push(&mut self, x: u64) {
        if !self.fits(x) {
            self.widen(x);
        }
        match self {
            UVec::U8(v) => v.push(x as u8),
            UVec::U16(v) => v.push(x as u16),
            UVec::U32(v) => v.push(x as u32),
            UVec::U64(v) => v.push(x),
        }
    }

    /// Appends `n` zeros.
    pub fn push_zeros(&mut self, n: usize) {
        match self {
            UVec::U8(v) => v.resize(v.len() + n, 0),
            UVec::U16(v) => v.resize(v.len() + n, 0),
            UVec::U32(v) => v.resize(v.len() + n, 0),
            UVec::U64(v) => v.resize(v.len() + n, 0),
        }
    }

    pub fn truncate(&mut self, n: usize) {
        match self {
            UVec::U8(v) => v.truncate(n),
            UVec::U16(v) => v.truncate(n),
            UVec::U32(v) => v.truncate(n),
            UVec::U64(v) => v.truncate(n),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            UVec::U8(v) => v.capacity(),
            UVec::U16(v) => v.capacity() * 2,
            UVec::U32(v) => v.capacity() * 4,
            UVec::U64(v) => v.capacity() * 8,
        }
    }

    pub fn shrink_to_fit(&mut self) {
        match self {
            UVec::U8(v) => v.shrink_to_fit(),
            UVec::U16(v) => v.shrink_to_fit(),
            UVec::U32(v) => v.shrink_to_fit(),
            UVec::U64(v) => v.shrink_to_fit(),
        }
    }
}

/// Entries of one column: a tag each and their texts back to back in one arena.
#[derive(Debug, Clone, Default)]
struct Entries {
    tags: Vec<u8>,
    /// End offset of each entry's text in `text` (its start is the previous end).
    ends: UVec,
    text: String,
}

impl Entries {
    fn len(&self) -> usize {
        self.tags.len()
    }

    fn push(&mut self, t: u8, s: &str) -> usize {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u64);
        self.tags.push(t);
        self.tags.len() - 1
    }

    #[inline]
    fn get(&self, i: usize) -> (u8, &str) {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1) } as usize;
        let end = self.ends.get(i) as usize;
        (self.tags[i], &self.text[start..end])
    }

    fn truncate(&mut self, n: usize) {
        if n >= self.len() {
            return;
        }
        let end = if n == 0 { 0 } else { self.ends.get(n - 1) } as usize;
        self.text.truncate(end);
        self.ends.truncate(n);
        self.tags.truncate(n);
    }

    fn heap_bytes(&self) -> usize {
        self.tags.capacity() + self.ends.heap_bytes() + self.text.capacity()
    }

    fn shrink_to_fit(&mut self) {
        self.tags.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.text.shrink_to_fit();
    }
}

/// A hasher for keys that are already well-mixed 64-bit hashes (`write_u64` passes them
/// through); other keys (column names) go through [`hash_bytes`].
#[derive(Default)]
pub(super) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(self.0, bytes);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// A `HashMap` hasher for this module's keys.
pub(super) type Fast = BuildHasherDefault<PreHashed>;

type Dict = HashMap<u64, u32, Fast>;

/// A fast 64-bit hash of (tag, text).
#[inline]
pub(super) fn hash(t: u8, s: &str) -> u64 {
    hash_bytes(t as u64, s.as_bytes())
}

/// A fast 64-bit hash of bytes (FxHash-style rounds, a murmur3 finaliser).
#[inline]
pub(super) fn hash_bytes(seed: u64, b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (seed ^ ((b.len() as u64) << 8)).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or_default());
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Heap bytes of a hashbrown table of `capacity` entries of `entry` bytes: buckets are a power
/// of two ≥ capacity × 8/7, one control byte each plus a group of 16.
pub(super) fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two();
    buckets * (entry + 1) + 16
}

/// Rows after which a dictionary column's cardinality is judged (and again every as many rows).
const JUDGE_EVERY: usize = 4096;

/// One column's cells, one per row of the store (absent ones included).
#[derive(Debug, Clone)]
pub(super) struct Column {
    entries: Entries,
    /// Dictionary mode: each row's entry. `None` once plain (row i = entry i).
    codes: Option<UVec>,
    /// Dictionary mode: hash of (tag, text) → entry. Dropped by `shrink_to_fit`, rebuilt on the
    /// next push.
    dict: Option<Dict>,
}

impl Column {
    /// A column whose first `rows` rows are absent.
    pub fn new(rows: usize) -> Column {
        let mut entries = Entries::default();
        entries.push(tag::ABSENT, "");
        let mut codes = UVec::default();
        codes.push_zeros(rows);
        let mut dict = Dict::default();
        dict.insert(hash(tag::ABSENT, ""), 0);
        Column {
            entries,
            codes: Some(codes),
            dict: Some(dict),
        }
    }

    /// Rows held.
    /// A plain column (one entry per row, no dictionary) absent in `rows` rows so far.
    pub fn new_plain(rows: usize) -> Column {
        let mut entries = Entries::default();
        for _ in 0..rows {
            entries.push(tag::ABSENT, "");
        }
        Column {
            entries,
            codes: None,
            dict: None,
        }
    }

    pub fn len(&self) -> usize {
        match &self.codes {
            Some(c) => c.len(),
            None => self.entries.len(),
        }
    }

    /// Whether the column went plain (one entry per row, no dictionary).
    pub fn is_plain(&self) -> bool {
        self.codes.is_none()
    }

    /// Number of distinct entries a dictionary column holds (rows when plain).
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Entry `e`'s tag and text.
    #[inline]
    pub fn entry(&self, e: usize) -> (u8, &str) {
        self.entries.get(e)
    }

    /// The entry row `row` refers to.
    #[inline]
    pub fn entry_of(&self, row: usize) -> usize {
        match &self.codes {
            Some(c) => c.get(row) as usize,
            None => row,
        }
    }

    /// The entries' tags, end offsets (entry `e`'s text ends at `ends.get(e)` and starts where
    /// the previous one ends) and their text arena, for the filter's search.
    pub fn arena(&self) -> (&[u8], &UVec, &str) {
        (&self.entries.tags, &self.entries.ends, &self.entries.text)
    }

    /// Dictionary mode: the entry of each row (`None` when plain: row i = entry i).
    pub fn codes(&self) -> Option<&UVec> {
        self.codes.as_ref()
    }

    /// Row `row`'s tag and text.
    #[inline]
    pub fn get(&self, row: usize) -> (u8, &str) {
        self.entries.get(self.entry_of(row))
    }

    /// Appends a cell for the next row.
    pub fn push(&mut self, t: u8, s: &str) {
        if self.codes.is_none() {
            self.entries.push(t, s);
            return;
        }
        let (code, _) = self.intern(t, s);
        self.push_code(code);
    }

    /// Dictionary mode: the entry of (`t`, `s`), added when new, and whether it is the shared
    /// one (false for a hash collision's entry: kept, not interned).
    fn intern(&mut self, t: u8, s: &str) -> (usize, bool) {
        let dict = self.dict.get_or_insert_with(|| {
            let mut d = Dict::default();
            for e in 0..self.entries.len() {
                let (t, s) = self.entries.get(e);
                d.entry(hash(t, s)).or_insert(e as u32);
            }
            d
        });
        let h = hash(t, s);
        match dict.get(&h) {
            Some(&e) if self.entries.get(e as usize) == (t, s) => (e as usize, true),
            Some(_) => (self.entries.push(t, s), false),
            None => {
                let e = self.entries.push(t, s);
                dict.insert(h, e as u32);
                (e, true)
            }
        }
    }

    /// Dictionary mode: appends an entry's code for the next row, then judges the column.
    fn push_code(&mut self, code: usize) {
        let Some(codes) = &mut self.codes else {
            return;
        };
        codes.push(code as u64);
        let rows = codes.len();
        if rows.is_multiple_of(JUDGE_EVERY) && self.entries.len() * 2 > rows {
            self.go_plain();
        }
    }

    /// Appends the cells of `other`'s rows `0..rows`: the same cells as [`Column::push`] of
    /// each in turn, but a distinct entry of a dictionary column is looked up here once, not
    /// once per row (its repeats take the code found the first time).
    pub fn extend_from(&mut self, other: &Column, rows: usize) {
        const UNSEEN: u32 = u32::MAX;
        let mut memo: Vec<u32> = match (&self.codes, &other.codes) {
            (Some(_), Some(_)) => vec![UNSEEN; other.entries.len()],
            _ => Vec::new(),
        };
        if self.codes.is_none() {
            self.entries.tags.reserve(rows);
        }
        for r in 0..rows {
            let e = other.entry_of(r);
            if self.codes.is_none() {
                let (t, s) = other.entries.get(e);
                self.entries.push(t, s);
                continue;
            }
            if let Some(&code) = memo.get(e)
                && code != UNSEEN
            {
                self.push_code(code as usize);
                continue;
            }
            let (t, s) = other.entries.get(e);
            let (code, shared) = self.intern(t, s);
            if shared && let Some(m) = memo.get_mut(e) {
                *m = code as u32;
            }
            self.push_code(code);
        }
    }

    /// Appends `n` absent cells.
    pub fn push_absent(&mut self, n: usize) {
        match &mut self.codes {
            Some(c) => c.push_zeros(n),
            None => {
                for _ in 0..n {
                    self.entries.push(tag::ABSENT, "");
                }
            }
        }
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        match &mut self.codes {
            Some(c) => c.truncate(rows),
            None => self.entries.truncate(rows),
        }
    }

    /// Drops the last row's cell (to replace it: a key repeated in one object).
    pub fn pop(&mut self) {
        let n = self.len();
        if n > 0 {
            self.truncate(n - 1);
        }
    }

    fn go_plain(&mut self) {
        let Some(codes) = self.codes.take() else {
            return;
        };
        let mut plain = Entries::default();
        plain.tags.reserve(codes.len());
        for e in codes.iter() {
            let (t, s) = self.entries.get(e as usize);
            plain.push(t, s);
        }
        self.entries = plain;
        self.dict = None;
    }

    /// Bytes this column holds on the heap (capacities, the dictionary's table included).
    pub fn heap_bytes(&self) -> usize {
        // (u64, u32) entries are padded to 16 bytes.
        let dict = self
            .dict
            .as_ref()
            .map_or(0, |d| table_bytes(d.capacity(), 16));
        self.entries.heap_bytes() + self.codes.as_ref().map_or(0, UVec::heap_bytes) + dict
    }

    /// Gives back spare capacity and the dictionary's hash table (rebuilt if rows are added).
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        if let Some(c) = &mut self.codes {
            c.shrink_to_fit();
        }
        self.dict = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvec_widens_and_keeps_values() {
        let mut v = UVec::default();
        for x in [0u64, 255, 256, 70_000, 5_000_000_000, 3] {
            v.push(x);
        }
        assert!(matches!(v, UVec::U64(_)));
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            [0, 255, 256, 70_000, 5_000_000_000, 3]
        );
        v.truncate(2);
        assert_eq!(v.last(), Some(255));
    }

    #[test]
    fn repeated_values_stay_in_a_dictionary() {
        let mut c = Column::new(0);
        for i in 0..10_000 {
            c.push(tag::STR, if i % 3 == 0 { "Sales" } else { "IT" });
        }
        assert!(!c.is_plain());
        assert_eq!(c.entry_count(), 3); // absent, Sales, IT
        assert_eq!(c.get(3), (tag::STR, "Sales"));
        assert_eq!(c.get(4), (tag::STR, "IT"));
    }

    #[test]
    fn unique_values_turn_the_column_plain() {
        let mut c = Column::new(2);
        for i in 0..10_000 {
            c.push(tag::STR, &format!("user{i:05}@contoso.com"));
        }
        assert!(c.is_plain());
        assert_eq!(c.len(), 10_002);
        assert_eq!(c.get(0), (tag::ABSENT, ""));
        assert_eq!(c.get(9_001), (tag::STR, "user08999@contoso.com"));
        c.truncate(5);
        assert_eq!(c.len(), 5);
        c.push(tag::INT, "42");
        assert_eq!(c.get(5), (tag::INT, "42"));
    }

    #[test]
    fn same_text_with_another_type_is_another_entry() {
        let mut c = Column::new(0);
        c.push(tag::STR, "1");
        c.push(tag::INT, "1");
        c.push(tag::STR, "1");
        assert_eq!(c.get(0), (tag::STR, "1"));
        assert_eq!(c.get(1), (tag::INT, "1"));
        assert_eq!(c.entry_count(), 3);
        // After shrink_to_fit the dictionary is rebuilt on the next push.
        c.shrink_to_fit();
        c.push(tag::INT, "1");
        assert_eq!(c.entry_count(), 3);
        assert_eq!(c.get(3), (tag::INT, "1"));
    }
}
