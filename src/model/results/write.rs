//! Writers from a [`ResultStore`] to any `std::io::Write`, with the command line's formats:
//! JSON (an array of the row objects, serde_json's pretty formatter, rows streamed: no text of a
//! row is built and then re-indented), CSV (the `csv` crate; header = the columns given, cells
//! as the CLI's cell text), and the terminal table (leading properties first, as many columns as
//! fit the width, long cells cut with `…`, cells made safe for a terminal by
//! `model::text::printable_line`).
//!
//! Give the writers a buffered writer (`BufWriter`, or a locked stdout behind one): they issue
//! many small writes.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::column::tag;
use super::merge::{Part, PartColumns};
use super::{ResultStore, text};

/// Properties a table shows first when present (what PowerShell's default views lead with).
pub const TABLE_LEADING: &[&str] = &[
    "Name",
    "DisplayName",
    "Identity",
    "PrimarySmtpAddress",
    "DomainName",
    "RecipientTypeDetails",
    "State",
    "Mode",
    "Priority",
    "Enabled",
];

/// Widest a table column gets (characters).
const TABLE_MAX_COL: usize = 40;

/// A JSON array of row objects written as rows arrive (page by page): `[`, the rows, `]` and a
/// newline, exactly what `serde_json::to_string_pretty` of the whole array gives. Each row is
/// made in a buffer of its own and written at once: keys come escaped and indented from a
/// per-store table, strings and lists of strings are escaped as serde_json does, and only
/// numbers and nested values other than lists of strings go through serde_json (see [`row_json`]).
pub struct JsonWriter<W: Write> {
    out: W,
    first: bool,
    buf: Vec<u8>,
}

impl<W: Write> JsonWriter<W> {
    /// Starts the array.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonWriter {
            out,
            first: true,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Writes these rows of `store` (indices in range).
    pub fn write_rows(
        &mut self,
        store: &ResultStore,
        rows: impl IntoIterator<Item = usize>,
    ) -> io::Result<()> {
        let keys = KeyTexts::of(store.columns());
        for row in rows {
            self.buf.clear();
            self.begin_row();
            row_json(&mut self.buf, &[], store, row, |c| keys.get(c))?;
            self.out.write_all(&self.buf)?;
        }
        Ok(())
    }

    /// `[` or `,` before a row, as serde_json's pretty array writes it.
    fn begin_row(&mut self) {
        self.buf
            .extend_from_slice(if self.first { b"\n  " } else { b",\n  " });
        self.first = false;
    }

    /// Flushes what was written so far (a page's rows, to show them before the next page).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the array (and the line); gives the writer back, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out
            .write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Each column's key as a row object's member starts in serde_json's pretty text: the line
/// break, the indent of a row's members, the escaped name and `": "` (a comma is written
/// before all but the first member).
struct KeyTexts {
    texts: Vec<u8>,
    ends: Vec<usize>,
}

impl KeyTexts {
    fn of<'a>(names: impl Iterator<Item = &'a str>) -> KeyTexts {
        let mut k = KeyTexts {
            texts: Vec::new(),
            ends: Vec::new(),
        };
        for n in names {
            k.texts.extend_from_slice(b"\n    ");
            escaped_str(&mut k.texts, n);
            k.texts.extend_from_slice(b": ");
            k.ends.push(k.texts.len());
        }
        k
    }

    fn get(&self, c: usize) -> &[u8] {
        let start = if c == 0 { 0 } else { self.ends[c - 1] };
        &self.texts[start..self.ends[c]]
    }
}

/// Row `row` of `store` as serde_json's pretty text of its object at a row's depth (members
/// indented by four spaces): `leading` members first (a key text as [`KeyTexts`] makes it, a
/// string), then the row's own keys in the order received, each key's text from `key`.
fn row_json<'k>(
    buf: &mut Vec<u8>,
    leading: &[(&[u8], &str)],
    store: &ResultStore,
    row: usize,
    key: impl Fn(usize) -> &'k [u8],
) -> io::Result<()> {
    let keys = store.shape_of(row);
    if keys.is_empty() && leading.is_empty() {
        buf.extend_from_slice(b"{}");
        return Ok(());
    }
    buf.push(b'{');
    let mut first = true;
    for &(k, v) in leading {
        if !std::mem::take(&mut first) {
            buf.push(b',');
        }
        buf.extend_from_slice(k);
        escaped_str(buf, v);
    }
    for &c in keys {
        if !std::mem::take(&mut first) {
            buf.push(b',');
        }
        buf.extend_from_slice(key(c as usize));
        let (t, text) = store.raw(row, c as usize);
        cell_json(buf, t, text)?;
    }
    buf.extend_from_slice(b"\n  }");
    Ok(())
}

/// A stored cell as serde_json's pretty text of its value at a row member's depth.
fn cell_json(buf: &mut Vec<u8>, t: u8, text: &str) -> io::Result<()> {
    match t {
        tag::STR => escaped_str(buf, text),
        tag::FALSE => buf.extend_from_slice(b"false"),
        tag::TRUE => buf.extend_from_slice(b"true"),
        tag::ABSENT | tag::NULL => buf.extend_from_slice(b"null"),
        tag::JSON if text == "[]" => buf.extend_from_slice(b"[]"),
        tag::JSON => match text::string_elements(text) {
            Some(items) => {
                buf.push(b'[');
                for (i, s) in items.enumerate() {
                    buf.extend_from_slice(if i == 0 { b"\n      " } else { b",\n      " });
                    escaped_str(buf, s);
                }
                buf.extend_from_slice(b"\n    ]");
            }
            None => {
                // serde_json's pretty text of the value alone, indented to a member's depth
                // (its line breaks are all layout: a string's are escaped).
                let alone =
                    serde_json::to_vec_pretty(&CellSer(t, text)).map_err(io::Error::other)?;
                for (i, line) in alone.split(|&b| b == b'\n').enumerate() {
                    if i > 0 {
                        buf.extend_from_slice(b"\n    ");
                    }
                    buf.extend_from_slice(line);
                }
            }
        },
        // Numbers: serde_json's own text (and its errors) of the parsed number.
        _ => serde_json::to_writer(&mut *buf, &CellSer(t, text)).map_err(io::Error::other)?,
    }
    Ok(())
}

/// `s` as a JSON string, escaped exactly as serde_json escapes it: `"` and `\\` with a
/// backslash, backspace, form feed, line feed, carriage return and tab as `\b \f \n \r \t`,
/// any other byte below 0x20 as `\u00xx` (lowercase hex); everything else as it is.
fn escaped_str(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    buf.reserve(b.len() + 2);
    buf.push(b'"');
    let mut start = 0;
    // The next byte to escape, found eight bytes at a time.
    while let Some(off) = super::fast::special(&b[start..]) {
        let i = start + off;
        let c = b[i];
        buf.extend_from_slice(&b[start..i]);
        start = i + 1;
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            _ => buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 0xf) as usize],
            ]),
        }
    }
    buf.extend_from_slice(&b[start..]);
    buf.push(b'"');
}

/// Writes these rows of `store` as one JSON array (see [`JsonWriter`]).
pub fn write_json<W: Write>(
    store: &ResultStore,
    rows: impl IntoIterator<Item = usize>,
    out: W,
) -> io::Result<W> {
    let mut w = JsonWriter::new(out)?;
    w.write_rows(store, rows)?;
    w.finish()
}

/// The merged result of `parts` as one JSON array, exactly what [`write_json`] writes of
/// [`merge`](super::merge::merge)'s store, without building it: each row `Profile`, `Tenant`,
/// then its own keys in the order received.
pub fn write_json_parts<W: Write>(parts: &[Part<'_>], out: W) -> io::Result<W> {
    let columns = PartColumns::of(parts);
    let keys = KeyTexts::of(columns.names.iter().map(String::as_str));
    let mut w = JsonWriter::new(out)?;
    for (p, into) in parts.iter().zip(&columns.into) {
        if p.rows.is_empty() {
            continue; // (no rows at all: no columns either)
        }
        let leading = [(keys.get(0), p.profile), (keys.get(1), p.tenant)];
        for row in 0..p.rows.len() {
            w.buf.clear();
            w.begin_row();
            row_json(&mut w.buf, &leading, p.rows, row, |c| keys.get(into[c]))?;
            w.out.write_all(&w.buf)?;
        }
    }
    w.finish()
}

/// The merged result of `parts` as CSV, exactly what [`write_csv_all`] writes of
/// [`merge`](super::merge::merge)'s store, without building it.
pub fn write_csv_parts<W: Write>(parts: &[Part<'_>], out: W) -> io::Result<W> {
    let columns = PartColumns::of(parts);
    let mut w = Csv::new(out);
    if !columns.names.is_empty() {
        w.record(columns.names.iter().map(|n| n.as_bytes()))?;
    }
    for (p, from) in parts.iter().zip(columns.from()) {
        for row in 0..p.rows.len() {
            w.field(p.profile.as_bytes());
            w.field(p.tenant.as_bytes());
            for c in &from[2..] {
                match *c {
                    Some(c) => w.cell(p.rows, row, c),
                    None => w.field(b""),
                }
            }
            w.end_record()?;
        }
    }
    w.finish()
}

/// CSV as the `csv` crate writes it with its defaults (the command line's CSV has always been
/// its output): fields separated by `,`, records ended by `\n`; a field holding `,`, `"`, `\r`
/// or `\n` in double quotes with its quotes doubled; a record whose text would be empty (one
/// empty field, or none) written as `""`. Records are made in a buffer and written in blocks.
struct Csv<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Where the current record starts in `buf`, and whether it has a field yet.
    record: usize,
    fields: bool,
    cell: String,
}

/// Bytes gathered before a write to the output.
const CSV_BLOCK: usize = 64 * 1024;

impl<W: Write> Csv<W> {
    fn new(out: W) -> Csv<W> {
        Csv {
            out,
            buf: Vec::with_capacity(CSV_BLOCK + 4096),
            record: 0,
            fields: false,
            cell: String::new(),
        }
    }

    fn field(&mut self, f: &[u8]) {
        if std::mem::replace(&mut self.fields, true) {
            self.buf.push(b',');
        }
        let quote =
            memchr::memchr3(b',', b'"', b'\n', f).is_some() || memchr::memchr(b'\r', f).is_some();
        if !quote {
            self.buf.extend_from_slice(f);
            return;
        }
        self.buf.push(b'"');
        for (i, part) in f.split(|&b| b == b'"').enumerate() {
            if i > 0 {
                self.buf.extend_from_slice(b"\"\"");
            }
            self.buf.extend_from_slice(part);
        }
        self.buf.push(b'"');
    }

    /// The command line's text of a stored cell as a field (strings straight from the store).
    fn cell(&mut self, store: &ResultStore, row: usize, col: usize) {
        let (t, s) = store.raw(row, col);
        match t {
            tag::STR | tag::INT | tag::UINT | tag::FLOAT | tag::FLOAT_TEXT => {
                return self.field(s.as_bytes());
            }
            tag::ABSENT | tag::NULL => return self.field(b""),
            _ => {}
        }
        let mut cell = std::mem::take(&mut self.cell);
        cell.clear();
        text::cell_text(t, s, &mut cell);
        self.field(cell.as_bytes());
        self.cell = cell;
    }

    fn end_record(&mut self) -> io::Result<()> {
        if self.buf.len() == self.record {
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.push(b'\n');
        self.fields = false;
        if self.buf.len() >= CSV_BLOCK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.record = self.buf.len();
        Ok(())
    }

    fn record<'a>(&mut self, fields: impl IntoIterator<Item = &'a [u8]>) -> io::Result<()> {
        for f in fields {
            self.field(f);
        }
        self.end_record()
    }

    fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A row as a JSON object, keys in the order received: serde_json's own writing, which the
/// tests hold [`row_json`] to.
#[cfg(test)]
struct RowSer<'a> {
    store: &'a ResultStore,
    row: usize,
}

#[cfg(test)]
impl Serialize for RowSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let keys = self.store.shape_of(self.row);
        let mut m = s.serialize_map(Some(keys.len()))?;
        for &c in keys {
            let (t, text) = self.store.raw(self.row, c as usize);
            m.serialize_entry(self.store.column_name(c as usize), &CellSer(t, text))?;
        }
        m.end()
    }
}

/// A stored cell as JSON.
struct CellSer<'a>(u8, &'a str);

impl Serialize for CellSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let CellSer(t, text) = *self;
        match t {
            tag::FALSE => s.serialize_bool(false),
            tag::TRUE => s.serialize_bool(true),
            tag::INT => s.serialize_i64(text.parse().map_err(S::Error::custom)?),
            tag::UINT => s.serialize_u64(text.parse().map_err(S::Error::custom)?),
            tag::FLOAT => s.serialize_f64(text.parse().map_err(S::Error::custom)?),
            tag::FLOAT_TEXT => serde_json::value::RawValue::from_string(text.to_string())
                .map_err(S::Error::custom)?
                .serialize(s),
            tag::STR => s.serialize_str(text),
            tag::JSON => match text::string_elements(text) {
                Some(items) => {
                    // No length: serde_json writes `[]` for no items all the same.
                    let mut seq = s.serialize_seq(None)?;
                    for i in items {
                        seq.serialize_element(i)?;
                    }
                    seq.end()
                }
                None => serde_json::from_str::<serde_json::Value>(text)
                    .map_err(S::Error::custom)?
                    .serialize(s),
            },
            _ => s.serialize_unit(), // null (absent cells are not listed)
        }
    }
}

/// CSV of these rows and columns of `store`: a header of the column names (none when there
/// are no columns), then one record per row with the CLI's cell text (absent = empty).
pub fn write_csv<W: Write>(
    store: &ResultStore,
    rows: impl IntoIterator<Item = usize>,
    columns: &[usize],
    out: W,
) -> io::Result<W> {
    let mut w = Csv::new(out);
    if !columns.is_empty() {
        w.record(columns.iter().map(|&c| store.column_name(c).as_bytes()))?;
    }
    for row in rows {
        for &c in columns {
            w.cell(store, row, c);
        }
        w.end_record()?;
    }
    w.finish()
}

/// CSV of the whole store (every row, every column in first-seen order).
pub fn write_csv_all<W: Write>(store: &ResultStore, out: W) -> io::Result<W> {
    let cols: Vec<usize> = (0..store.column_count()).collect();
    write_csv(store, 0..store.len(), &cols, out)
}

/// The table's columns: `first` ones, then [`TABLE_LEADING`] ones, then the others in order.
fn table_order(store: &ResultStore, first: &[&str]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    for l in first.iter().chain(TABLE_LEADING) {
        if let Some(c) = store.column_index(l)
            && !order.contains(&c)
        {
            order.push(c);
        }
    }
    let rest: Vec<usize> = (0..store.column_count())
        .filter(|c| !order.contains(c))
        .collect();
    order.extend(rest);
    order
}

/// A table of every row no wider than `width` characters: the leading properties, then the
/// others in order, as many as fit; long cells cut with `…`. Returns how many properties were
/// left out.
pub fn write_table<W: Write>(store: &ResultStore, width: usize, out: W) -> io::Result<usize> {
    write_table_led(store, width, &[], out)
}

/// [`write_table`] with the columns named `first` before every other (a merged result's
/// `Profile` and `Tenant`).
pub fn write_table_led<W: Write>(
    store: &ResultStore,
    width: usize,
    first: &[&str],
    mut out: W,
) -> io::Result<usize> {
    let order = table_order(store, first);
    let mut buf = String::new();
    let mut natural = |c: usize| {
        let mut w = store.column_name(c).chars().count();
        for r in 0..store.len() {
            buf.clear();
            store.cell_text(r, c, &mut buf);
            w = w.max(buf.chars().count());
        }
        w.clamp(1, TABLE_MAX_COL)
    };
    let mut shown: Vec<(usize, usize)> = Vec::new();
    let mut used = 0usize;
    for &c in &order {
        let w = natural(c);
        let sep = usize::from(!shown.is_empty());
        if used + sep + w > width {
            if shown.is_empty() {
                shown.push((c, width.max(1)));
            }
            break;
        }
        used += sep + w;
        shown.push((c, w));
    }
    let mut line = String::new();
    let mut cell = String::new();
    let end_line = |line: &mut String, out: &mut W| {
        let trimmed = line.trim_end().len();
        line.truncate(trimmed);
        line.push('\n');
        let r = out.write_all(line.as_bytes());
        line.clear();
        r
    };
    for (i, &(c, w)) in shown.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        cut(store.column_name(c), w, &mut line);
    }
    end_line(&mut line, &mut out)?;
    for (i, &(_, w)) in shown.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.extend(std::iter::repeat_n('-', w));
    }
    end_line(&mut line, &mut out)?;
    for r in 0..store.len() {
        for (i, &(c, w)) in shown.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            cell.clear();
            store.cell_text(r, c, &mut cell);
            cut(&cell, w, &mut line);
        }
        end_line(&mut line, &mut out)?;
    }
    out.flush()?;
    Ok(order.len() - shown.len())
}

/// Appends `s` in exactly `w` characters, made safe for a terminal (`model::text::printable_line`:
/// escape sequences and bidirectional overrides removed, line breaks and tabs as spaces;
/// any other control character as a space), padded, or cut with `…`.
fn cut(s: &str, w: usize, out: &mut String) {
    let s = &*crate::model::text::printable_line(s);
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    let n = s.chars().count();
    if n <= w {
        out.extend(s.chars().map(clean));
        out.extend(std::iter::repeat_n(' ', w - n));
    } else if w > 0 {
        out.extend(s.chars().take(w - 1).map(clean));
        out.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn store(rows: &[Value]) -> ResultStore {
        let mut s = ResultStore::new();
        for r in rows {
            s.push_value(r);
        }
        s
    }

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn json_is_serde_json_pretty_of_the_rows() {
        let rows = [
            json!({"@odata.id": "x", "Name": "a", "Emails": ["p@x", "q@x"], "N": 1, "Z": null,
                   "Big": u64::MAX, "F": 0.5, "Nested": {"A": [1, {"B": []}], "C": "é\n"}, "E": []}),
            json!({}),
            json!({"Name": "b,c", "Other": true, "Nested@odata.type": "t"}),
        ];
        let s = store(&rows);
        let got = text(write_json(&s, 0..s.len(), Vec::new()).unwrap());
        let cleaned: Vec<Value> = (0..s.len())
            .map(|r| Value::Object(s.row_object(r)))
            .collect();
        assert_eq!(got, serde_json::to_string_pretty(&cleaned).unwrap() + "\n");
        assert!(got.contains("\"Emails\": [\n      \"p@x\",\n      \"q@x\"\n    ],"));
        // Page by page gives the same text; no rows gives `[]`.
        let mut w = JsonWriter::new(Vec::new()).unwrap();
        w.write_rows(&s, 0..1).unwrap();
        w.write_rows(&s, 1..3).unwrap();
        assert_eq!(text(w.finish().unwrap()), got);
        assert_eq!(text(write_json(&s, 0..0, Vec::new()).unwrap()), "[]\n");
    }

    /// The row writer against serde_json's pretty writer of the same rows, over every kind of
    /// cell and every character serde_json escapes.
    #[test]
    fn json_rows_are_byte_for_byte_serde_jsons() {
        let mut page = String::from(r#"{"value":["#);
        let mut rows = vec![
            r#"{"S":"plain","E":"","Q":"a\"b\\c\/d","C":"\u0000\u0001\b\t\n\u000b\f\r\u001f\u007f","U":"é€😀\u2028\u202e"}"#.to_string(),
            r#"{"L":["a","b\"c","d\\e","\u0007",""],"L2":[],"O":{},"O2":{"k":[1,{"x":null}],"s":"v\n"},"A":[[],[[]],{}]}"#.into(),
            r#"{"I":0,"N":-42,"Big":18446744073709551615,"Huge":123456789012345678901234567890,"F":0.5,"F2":1.50,"F3":1e5,"F4":-0,"F5":1E400,"T":true,"Fa":false,"Nu":null}"#.into(),
            r#"{}"#.into(),
            r#"{"Mixed":["a",1,null,true,["b"],{"c":"d"}],"Num":[1,2.5],"Bools":[true]}"#.into(),
        ];
        for c in 0u8..0x80 {
            rows.push(format!(
                r#"{{"K\u{c:04x}":"x\u{c:04x}y","L":["\u{c:04x}"]}}"#
            ));
        }
        page.push_str(&rows.join(","));
        page.push_str("]}");
        let mut s = ResultStore::new();
        super::super::parse_page(page.as_bytes(), &mut s, None, &mut |_| {}).unwrap();
        let reference: Vec<RowSer> = (0..s.len()).map(|row| RowSer { store: &s, row }).collect();
        let want = serde_json::to_string_pretty(&reference).unwrap() + "\n";
        let got = text(write_json(&s, 0..s.len(), Vec::new()).unwrap());
        assert_eq!(got, want);
        // The same through push_value (other stored texts for the same values).
        let mut pushed = ResultStore::new();
        for r in 0..s.len() {
            pushed.push_value(&Value::Object(s.row_object(r)));
        }
        let reference: Vec<RowSer> = (0..pushed.len())
            .map(|row| RowSer {
                store: &pushed,
                row,
            })
            .collect();
        let want = serde_json::to_string_pretty(&reference).unwrap() + "\n";
        assert_eq!(
            text(write_json(&pushed, 0..pushed.len(), Vec::new()).unwrap()),
            want
        );
    }

    #[test]
    fn json_keeps_a_float_text_that_would_change() {
        let mut s = ResultStore::new();
        super::super::parse_page(br#"{"value":[{"F":1.50}]}"#, &mut s, None, &mut |_| {}).unwrap();
        assert_eq!(
            text(write_json(&s, 0..1, Vec::new()).unwrap()),
            "[\n  {\n    \"F\": 1.50\n  }\n]\n"
        );
    }

    #[test]
    fn csv_has_the_union_of_columns_and_the_cell_text() {
        let s = store(&[
            json!({"@odata.id": "x", "Name": "a", "Emails": ["p@x", "q@x"], "N": 1, "Z": null}),
            json!({"Name": "b,c", "Other": true, "Nested@odata.type": "t"}),
        ]);
        assert_eq!(
            text(write_csv_all(&s, Vec::new()).unwrap()),
            "Name,Emails,N,Z,Other\na,p@x;q@x,1,,\n\"b,c\",,,,true\n"
        );
        assert_eq!(
            text(write_csv(&s, [1, 0], &[4, 0], Vec::new()).unwrap()),
            "Other,Name\ntrue,\"b,c\"\n,a\n"
        );
        assert_eq!(
            text(write_csv_all(&ResultStore::new(), Vec::new()).unwrap()),
            ""
        );
    }

    /// The CSV writer against the `csv` crate's (what the command line wrote before) over
    /// quoting, empty records and every kind of cell.
    #[test]
    fn csv_is_byte_for_byte_the_csv_crates() {
        let reference = |s: &ResultStore| {
            let mut w = csv::Writer::from_writer(Vec::new());
            if s.column_count() > 0 {
                w.write_record(s.columns()).unwrap();
            }
            for r in 0..s.len() {
                for c in 0..s.column_count() {
                    w.write_field(s.cell_string(r, c)).unwrap();
                }
                w.write_record(None::<&[u8]>).unwrap();
            }
            text(w.into_inner().unwrap())
        };
        let mut rows = vec![
            json!({"A": "plain", "B,x": "a,b", "C\"q": "say \"hi\"", "D": "line\nbreak", "E": "cr\rx"}),
            json!({}),
            json!({"A": "", "F": ["a", "b,c", "d\"e"], "G": [], "H": {"k": "v,w"}, "I": [1, [2, "x"]]}),
            json!({"A": null, "J": true, "K": false, "L": 42, "M": u64::MAX, "N": 0.5, "O": "é😀\u{7}\t"}),
            json!({"A": "\""}),
            json!({"A": "#comment", "B,x": " spaced "}),
        ];
        let s = store(&rows);
        assert_eq!(text(write_csv_all(&s, Vec::new()).unwrap()), reference(&s));
        // One column: a record of one empty field is `""`.
        let one = store(&[
            json!({"A": "x"}),
            json!({"A": ""}),
            json!({}),
            json!({"A": null}),
        ]);
        assert_eq!(
            text(write_csv_all(&one, Vec::new()).unwrap()),
            reference(&one)
        );
        assert!(reference(&one).ends_with("\"\"\n\"\"\n\"\"\n"));
        // Rows without any column: one `""` per row, no header.
        let none = store(&[json!({}), json!({})]);
        assert_eq!(
            text(write_csv_all(&none, Vec::new()).unwrap()),
            reference(&none)
        );
        // Enough rows to cross the writer's block size.
        rows.extend((0..5000).map(|i| json!({"A": format!("row {i}, \"{i}\""), "Z": i})));
        let big = store(&rows);
        assert_eq!(
            text(write_csv_all(&big, Vec::new()).unwrap()),
            reference(&big)
        );
    }

    #[test]
    fn table_fits_the_width() {
        let s = store(&[
            json!({"@odata.id": "x", "Name": "a", "Emails": ["p@x", "q@x"], "N": 1, "Z": null}),
            json!({"Name": "b,c", "Other": true, "Nested@odata.type": "t"}),
        ]);
        let mut out = Vec::new();
        let hidden = write_table(&s, 14, &mut out).unwrap();
        let t = text(out);
        assert!(t.lines().all(|l| l.chars().count() <= 14), "{t}");
        assert!(t.starts_with("Name Emails  N"), "{t}");
        assert_eq!(hidden, 2);
        let mut out = Vec::new();
        assert_eq!(write_table(&s, 200, &mut out).unwrap(), 0);
        assert_eq!(text(out).lines().count(), 4);
        let long = store(&[json!({"Id": 1, "Name": format!("{}\u{1b}[31m", "x".repeat(100))})]);
        let mut out = Vec::new();
        write_table(&long, 30, &mut out).unwrap();
        let t = text(out);
        assert!(t.starts_with("Name"), "leading first: {t}");
        assert!(t.lines().nth(2).unwrap().ends_with('…'));
        assert!(t.lines().all(|l| l.chars().count() <= 30));
        let short = store(&[json!({"Name": "a\u{7}b\tc"})]);
        let mut out = Vec::new();
        write_table(&short, 30, &mut out).unwrap();
        // printable_line: a bell is dropped, a tab is a space.
        assert_eq!(text(out).lines().nth(2).unwrap(), "ab c");
        // A server's escape sequences and bidirectional overrides never reach the terminal.
        let hostile = store(&[json!({"Name": "a\u{1b}[31mred\u{1b}]0;title\u{7}\u{202e}x"})]);
        let mut out = Vec::new();
        write_table(&hostile, 30, &mut out).unwrap();
        assert_eq!(text(out).lines().nth(2).unwrap(), "aredx");
    }
}
