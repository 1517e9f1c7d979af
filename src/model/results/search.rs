//! The filter's case-insensitive substring search over one column's entries (see
//! [`view::filter`](super::view::filter)), column by column instead of cell by cell.
//!
//! The entries' cell texts are lowercased into one transient text (a lowercase index of the
//! column, built for the call and dropped after it: kept, it would double the store's memory),
//! which is searched in one pass with memchr's `memmem`, and each match is mapped back to its
//! entry by the entries' end offsets. A column whose entries are all verbatim ASCII text (the
//! common case: names, addresses, GUIDs, numbers) is lowercased as bytes with its own offsets;
//! any other column entry by entry (booleans as `true`/`false`, arrays as the cell text the
//! grid shows, non-ASCII text char by char with `char::to_lowercase`).

use memchr::memmem::Finder;

use super::column::{Column, UVec, tag};
use super::text;

/// Buffers reused from one column to the next.
#[derive(Default)]
pub(super) struct Scratch {
    lower: Vec<u8>,
    ends: Vec<usize>,
    cell: String,
    hits: Vec<bool>,
}

impl Scratch {
    /// The flags [`entry_hits`] set.
    pub fn hits(&self) -> &[bool] {
        &self.hits
    }
}

/// Tags whose arena text is the cell's text.
fn verbatim(t: u8) -> bool {
    !matches!(t, tag::TRUE | tag::FALSE | tag::JSON)
}

/// Appends the lowercase of `s` (char by char, like the needle's `to_lowercase`).
fn push_lower(out: &mut Vec<u8>, s: &str) {
    if s.is_ascii() {
        let from = out.len();
        out.extend_from_slice(s.as_bytes());
        out[from..].make_ascii_lowercase();
        return;
    }
    let mut utf8 = [0u8; 4];
    for c in s.chars().flat_map(char::to_lowercase) {
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// Appends the lowercase of `text` to `out` (ASCII runs as bytes, other chars with
/// `char::to_lowercase`); false as soon as a char's lowercase has another length in UTF-8 (the
/// text's offsets would not fit the lowercase then).
fn lower_same_length(text: &str, out: &mut Vec<u8>) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut utf8 = [0u8; 4];
    while i < bytes.len() {
        let ascii = bytes[i..].iter().position(|b| !b.is_ascii());
        let j = ascii.map_or(bytes.len(), |n| i + n);
        let from = out.len();
        out.extend_from_slice(&bytes[i..j]);
        out[from..].make_ascii_lowercase();
        let Some(c) = text[j..].chars().next() else {
            break;
        };
        let from = out.len();
        for l in c.to_lowercase() {
            out.extend_from_slice(l.encode_utf8(&mut utf8).as_bytes());
        }
        if out.len() - from != c.len_utf8() {
            return false;
        }
        i = j + c.len_utf8();
    }
    true
}

/// Fills `scratch.lower` with the entries' lowercase cell texts back to back; returns whether
/// the column's own end offsets fit them (else they are in `scratch.ends`).
fn lower_entries(col: &Column, scratch: &mut Scratch) -> bool {
    let (tags, _, arena) = col.arena();
    scratch.lower.clear();
    scratch.ends.clear();
    if tags.iter().all(|&t| verbatim(t)) && lower_same_length(arena, &mut scratch.lower) {
        return true;
    }
    scratch.lower.clear();
    for e in 0..col.entry_count() {
        let (t, s) = col.entry(e);
        if verbatim(t) {
            push_lower(&mut scratch.lower, s);
        } else {
            scratch.cell.clear();
            text::cell_text(t, s, &mut scratch.cell);
            push_lower(&mut scratch.lower, &scratch.cell);
        }
        scratch.ends.push(scratch.lower.len());
    }
    false
}

/// Sets `scratch.hits[e]` for each entry of `col` whose cell text contains the needle
/// (`finder`'s, lowercase, not empty), ignoring case; `scratch.hits` has one flag per entry.
pub(super) fn entry_hits(col: &Column, finder: &Finder, scratch: &mut Scratch) {
    let own_ends = lower_entries(col, scratch);
    let n = col.entry_count();
    scratch.hits.clear();
    scratch.hits.resize(n, false);
    let (_, col_ends, _) = col.arena();
    let end = |e: usize| -> usize {
        if own_ends {
            col_ends.get(e) as usize
        } else {
            scratch.ends[e]
        }
    };
    let len = finder.needle().len();
    let (mut pos, mut e) = (0, 0);
    while let Some(i) = finder.find(&scratch.lower[pos..]) {
        let p = pos + i;
        // The entry the match starts in: the first whose end is past it.
        while end(e) <= p {
            e += 1;
        }
        if p + len <= end(e) {
            scratch.hits[e] = true;
            pos = end(e);
        } else {
            pos = p + 1; // it ran into the next entry: look again from one byte on
        }
    }
}

/// `hit[r] |= entry_hit[entry of row r]` for the rows of `col`.
pub(super) fn or_rows(col: &Column, entry_hit: &[bool], hit: &mut [bool]) {
    fn by<T: Copy + Into<u64>>(codes: &[T], entry_hit: &[bool], hit: &mut [bool]) {
        for (h, &c) in hit.iter_mut().zip(codes) {
            *h |= entry_hit[c.into() as usize];
        }
    }
    match col.codes() {
        None => {
            for (h, &e) in hit.iter_mut().zip(entry_hit) {
                *h |= e;
            }
        }
        Some(UVec::U8(c)) => by(c, entry_hit, hit),
        Some(UVec::U16(c)) => by(c, entry_hit, hit),
        Some(UVec::U32(c)) => by(c, entry_hit, hit),
        Some(UVec::U64(c)) => by(c, entry_hit, hit),
    }
}

/// Rows of `col` (the first `rows`) whose cell text contains `needle` (lowercase, not empty).
#[cfg(test)]
fn rows_with(col: &Column, needle: &str, rows: usize) -> Vec<usize> {
    let mut scratch = Scratch::default();
    entry_hits(col, &Finder::new(needle.as_bytes()), &mut scratch);
    let mut hit = vec![false; rows];
    or_rows(col, &scratch.hits, &mut hit);
    (0..rows).filter(|&r| hit[r]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: each cell's text, lowercased char by char, `contains`.
    fn naive(col: &Column, needle: &str, rows: usize) -> Vec<usize> {
        (0..rows)
            .filter(|&r| {
                let (t, s) = col.get(r);
                let mut cell = String::new();
                text::cell_text(t, s, &mut cell);
                let lower: String = cell.chars().flat_map(char::to_lowercase).collect();
                lower.contains(needle)
            })
            .collect()
    }

    fn column(cells: &[(u8, &str)]) -> Column {
        let mut c = Column::new(0);
        for &(t, s) in cells {
            c.push(t, s);
        }
        c
    }

    #[test]
    fn matches_do_not_run_across_entries_and_overlaps_are_found() {
        // "xa" + "aa": the first match of "aa" in the joined text crosses into the next entry.
        let c = column(&[
            (tag::STR, "xa"),
            (tag::STR, "aa"),
            (tag::STR, "a"),
            (tag::STR, "A"),
        ]);
        assert_eq!(rows_with(&c, "aa", 4), [1]);
        assert_eq!(rows_with(&c, "a", 4), [0, 1, 2, 3]);
        assert_eq!(rows_with(&c, "xaa", 4), Vec::<usize>::new());
    }

    #[test]
    fn every_kind_of_cell_is_searched_by_the_text_the_grid_shows() {
        let cells = [
            (tag::STR, "Øresund Straße"),
            (tag::TRUE, ""),
            (tag::FALSE, ""),
            (tag::NULL, ""),
            (tag::ABSENT, ""),
            (tag::INT, "-42"),
            (tag::FLOAT_TEXT, "1.50"),
            (tag::JSON, r#"["SMTP:Ann@Contoso.com","smtp:ann@x.com"]"#),
            (tag::JSON, r#"{"K":"Vä"}"#),
            (tag::STR, "ΣΊΣΥΦΟΣ"),
            (tag::STR, "KELVIN \u{212A}"),
            (tag::STR, ""),
        ];
        let c = column(&cells);
        for needle in [
            "øre",
            "strasse",
            "straße",
            "true",
            "false",
            "rue",
            "-4",
            "1.5",
            "0",
            ";smtp:ann",
            "com;smtp",
            "\"k\"",
            "vä",
            "σίσ",
            "σ",
            "kelvin k",
            "k",
            "ann@contoso",
        ] {
            let want = naive(&c, needle, cells.len());
            assert_eq!(rows_with(&c, needle, cells.len()), want, "{needle}");
        }
        assert_eq!(rows_with(&c, "straße", cells.len()), [0]);
        assert_eq!(rows_with(&c, "com;smtp", cells.len()), [7]);
        assert_eq!(rows_with(&c, "kelvin k", cells.len()), [10]);
    }

    #[test]
    fn non_ascii_text_keeps_its_offsets_unless_a_lowercase_changes_length() {
        // Ø/ø and Σ/σ have the same length in UTF-8: the column's offsets serve.
        let same = [
            (tag::STR, "ØRESUND"),
            (tag::STR, "x"),
            (tag::STR, "ΣΊΣΥΦΟΣ"),
            (tag::INT, "7"),
        ];
        // KELVIN SIGN (3 bytes) lowercases to "k" (1 byte), İ (2) to "i̇" (3): entry by entry.
        let other = [
            (tag::STR, "\u{212A}elvin"),
            (tag::STR, "İstanbul"),
            (tag::STR, "kk"),
        ];
        let mut out = Vec::new();
        assert!(lower_same_length("ØRESUND xΣ", &mut out));
        assert_eq!(out, "øresund xσ".as_bytes());
        assert!(!lower_same_length("\u{212A}", &mut Vec::new()));
        for cells in [&same[..], &other[..]] {
            let c = column(cells);
            for needle in [
                "ø", "øresund", "sundx", "σίσ", "7", "kelvin", "k", "i̇st", "stan", "kk",
            ] {
                let want = naive(&c, needle, cells.len());
                assert_eq!(
                    rows_with(&c, needle, cells.len()),
                    want,
                    "{needle} in {cells:?}"
                );
            }
        }
        assert_eq!(rows_with(&column(&other), "kelvin", 3), [0]);
        assert_eq!(rows_with(&column(&same), "sundx", 4), Vec::<usize>::new());
    }

    #[test]
    fn dictionary_columns_map_entries_to_rows() {
        let mut c = Column::new(3); // three absent rows first
        for i in 0..10_000 {
            c.push(tag::STR, ["Sales", "IT", "Legal"][i % 3]);
        }
        assert!(!c.is_plain());
        let rows = c.len();
        for needle in ["l", "sales", "it", "zz"] {
            assert_eq!(
                rows_with(&c, needle, rows),
                naive(&c, needle, rows),
                "{needle}"
            );
        }
        assert_eq!(rows_with(&c, "legal", rows).len(), 3333);
    }
}
