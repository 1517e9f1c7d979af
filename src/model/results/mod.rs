//! The compact result store (issue 11): the rows of one cmdlet result held column by column in
//! typed form, for the command line's writers and the window's grid alike. Pure data.
//!
//! - Columns are interned once per result, in first-seen order (the order of the union of the
//!   rows' keys, as the command line's CSV header has always been).
//! - Cells are kept per column ([`column`]): strings in one text arena per column, dictionary
//!   encoded while a column's values repeat; integers exact (i64/u64), floats with their text
//!   when writing the f64 back would change it; booleans and nulls as tags; nested arrays and
//!   objects as serde_json's compact text; "key absent in this row" apart from null.
//! - Each row keeps its own key order as a shared "shape" (the distinct key sequences of a
//!   result are few), so a row's JSON object comes back exactly as it was received.
//!
//! Pages are parsed straight into a store by [`page::parse_page`]; [`write`] writes JSON, CSV
//! and the terminal table from it; [`view`] sorts and filters it into index permutations;
//! [`merge`] joins the results of many profiles (leading `Profile` and `Tenant` columns) and
//! [`compare`] compares those profiles item by item.

mod column;
pub mod compare;
mod fast;
pub mod merge;
pub mod page;
mod search;
mod text;
pub mod view;
pub mod write;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::{Map, Value};

use column::{Column, Fast, UVec, table_bytes, tag};

pub use page::{PageError, PageInfo, RowError, parse_page};
pub use text::value_text;

/// One cell, borrowed from a store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// The row has no such key.
    Absent,
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// Any other number: its value and the JSON text written for it (the text received when
    /// writing the f64 back would change it: `1.50`, `1e5`, integers beyond u64). When pushing,
    /// an empty text means "serde_json's text of the f64".
    Float(f64, &'a str),
    Str(&'a str),
    /// A nested array or object as compact JSON text (serde_json's `to_string`).
    Json(&'a str),
}

impl<'a> Cell<'a> {
    fn from_stored(t: u8, s: &'a str) -> Cell<'a> {
        match t {
            tag::ABSENT => Cell::Absent,
            tag::NULL => Cell::Null,
            tag::FALSE => Cell::Bool(false),
            tag::TRUE => Cell::Bool(true),
            tag::INT => Cell::Int(s.parse().unwrap_or_default()),
            tag::UINT => Cell::UInt(s.parse().unwrap_or_default()),
            tag::FLOAT | tag::FLOAT_TEXT => Cell::Float(s.parse().unwrap_or(f64::NAN), s),
            tag::STR => Cell::Str(s),
            _ => Cell::Json(s),
        }
    }

    /// The cell as a JSON value (None when absent). A number beyond f64's range (kept as text)
    /// becomes its text as a string.
    pub fn to_value(&self) -> Option<Value> {
        Some(match *self {
            Cell::Absent => return None,
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => Value::from(i),
            Cell::UInt(u) => Value::from(u),
            Cell::Float(f, text) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.to_string())),
            Cell::Str(s) => Value::String(s.to_string()),
            Cell::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into())),
        })
    }
}

/// A cell's (tag, text) for storing; `buf` holds texts that have to be made.
fn encode<'c>(cell: &Cell<'c>, buf: &'c mut String) -> (u8, &'c str) {
    match *cell {
        Cell::Absent => (tag::ABSENT, ""),
        Cell::Null => (tag::NULL, ""),
        Cell::Bool(false) => (tag::FALSE, ""),
        Cell::Bool(true) => (tag::TRUE, ""),
        Cell::Int(i) => {
            *buf = i.to_string();
            (tag::INT, buf)
        }
        Cell::UInt(u) => {
            *buf = u.to_string();
            (text::number_tag(buf), buf)
        }
        Cell::Float(f, "") => match text::float_text(f) {
            Some(t) => {
                *buf = t;
                (text::number_tag(buf), buf)
            }
            None => (tag::NULL, ""), // NaN/infinity: what serde_json makes of them
        },
        Cell::Float(_, t) => (text::number_tag(t), t),
        Cell::Str(s) => (tag::STR, s),
        Cell::Json(s) => match text::compact(s) {
            Ok(std::borrow::Cow::Borrowed(s)) => (tag::JSON, s),
            Ok(std::borrow::Cow::Owned(o)) => {
                *buf = o;
                (tag::JSON, buf)
            }
            Err(_) => (tag::STR, s),
        },
    }
}

/// A JSON value's (tag, text) for storing.
fn encode_value<'v>(v: &'v Value, buf: &'v mut String) -> (u8, &'v str) {
    match v {
        Value::Null => (tag::NULL, ""),
        Value::Bool(false) => (tag::FALSE, ""),
        Value::Bool(true) => (tag::TRUE, ""),
        Value::Number(n) => {
            *buf = n.to_string();
            (text::number_tag(buf), buf)
        }
        Value::String(s) => (tag::STR, s),
        other => {
            *buf = other.to_string();
            (tag::JSON, buf)
        }
    }
}

/// Where a store was, to go back there (a page that failed half-way).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    rows: usize,
    columns: usize,
    shapes: usize,
}

/// The rows of one result, column by column. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct ResultStore {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, Fast>,
    columns: Vec<Column>,
    /// Distinct key orders (column ids) of the rows, and their ids.
    shapes: Vec<Box<[u32]>>,
    shape_index: HashMap<Box<[u32]>, u32, Fast>,
    /// Each row's shape.
    row_shape: UVec,
    /// The key order and shape of the last row written: predicts the next row's keys.
    last_keys: Vec<u32>,
    last_shape: Option<u32>,
    /// Columns are plain from the start (no dictionaries): see [`ResultStore::new_page`].
    page: bool,
}

impl ResultStore {
    pub fn new() -> ResultStore {
        ResultStore::default()
    }

    /// A store for one page on its way (what the paging parses into): its columns keep one
    /// entry per row, with no dictionary to look each value up in, since the page is written
    /// out at once (JSON) or its rows go into a result's store ([`ResultStore::take_page`]),
    /// which keeps the dictionaries. Same rows, same cells; only the memory layout differs.
    pub fn new_page() -> ResultStore {
        ResultStore {
            page: true,
            ..ResultStore::default()
        }
    }

    /// Adds a page's rows to this result: the page itself becomes the store when this one is
    /// still empty and the page keeps dictionaries (no copy); otherwise its rows are appended.
    pub fn take_page(&mut self, page: ResultStore) {
        if self.is_empty() && self.column_count() == 0 && !page.page && !self.page {
            *self = page;
        } else {
            self.append(&page, &[]);
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.row_shape.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Columns: the union of the rows' keys.
    pub fn column_count(&self) -> usize {
        self.names.len()
    }

    /// Column names in first-seen order.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.names.iter().map(|n| &**n)
    }

    pub fn column_name(&self, col: usize) -> &str {
        &self.names[col]
    }

    /// The column of that exact name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).map(|&c| c as usize)
    }

    /// The cell of `row` in column `col` (both in range).
    pub fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let (t, s) = self.raw(row, col);
        Cell::from_stored(t, s)
    }

    /// Appends the command line's text of a cell to `out`: absent and null = empty, strings
    /// bare, arrays joined with `;` (recursively), objects as compact JSON, numbers and booleans
    /// as JSON text.
    pub fn cell_text(&self, row: usize, col: usize, out: &mut String) {
        let (t, s) = self.raw(row, col);
        text::cell_text(t, s, out);
    }

    /// [`ResultStore::cell_text`] as a new string.
    pub fn cell_string(&self, row: usize, col: usize) -> String {
        let mut s = String::new();
        self.cell_text(row, col, &mut s);
        s
    }

    /// The cell as a JSON value; None when the row has no such key.
    pub fn cell_value(&self, row: usize, col: usize) -> Option<Value> {
        self.cell(row, col).to_value()
    }

    pub fn row(&self, row: usize) -> RowRef<'_> {
        assert!(row < self.len(), "row {row} of {}", self.len());
        RowRef { store: self, row }
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = RowRef<'_>> + '_ {
        (0..self.len()).map(|row| RowRef { store: self, row })
    }

    /// Row `row` as a JSON object, keys in the order received.
    pub fn row_object(&self, row: usize) -> Map<String, Value> {
        self.row(row).to_object()
    }

    /// Starts a row; cells are added with [`RowWriter::push`], the row ends with
    /// [`RowWriter::finish`] (dropping the writer unfinished discards the row).
    pub fn begin_row(&mut self) -> RowWriter<'_> {
        let columns = self.names.len();
        let keys = std::mem::take(&mut self.last_keys);
        RowWriter {
            store: self,
            keys: Vec::with_capacity(keys.len()),
            predicted: keys,
            columns,
            done: false,
        }
    }

    /// Adds a result object as the command line has always cleaned it: keys containing `@`
    /// (annotations) dropped; anything but an object becomes `{"Value": v}`.
    pub fn push_value(&mut self, v: &Value) {
        let mut w = self.begin_row();
        let mut buf = String::new();
        match v {
            Value::Object(o) => {
                for (k, val) in o.iter().filter(|(k, _)| !k.contains('@')) {
                    let (t, s) = encode_value(val, &mut buf);
                    w.push_raw(k, t, s);
                }
            }
            other => {
                let (t, s) = encode_value(other, &mut buf);
                w.push_raw("Value", t, s);
            }
        }
        w.finish();
    }

    /// Appends every row of `other` with `leading` cells first (e.g. `("Tenant", Str(..))` when
    /// results of many tenants are merged). A row's own key of the same name as a leading one
    /// replaces it (like a key repeated in one object).
    pub fn append(&mut self, other: &ResultStore, leading: &[(&str, Cell<'_>)]) {
        if leading.is_empty() {
            self.append_columns(other);
            return;
        }
        let mut buf = String::new();
        for r in 0..other.len() {
            let mut w = self.begin_row();
            for (name, cell) in leading {
                let (t, s) = encode(cell, &mut buf);
                w.push_raw(name, t, s);
            }
            for &c in other.shape_of(r) {
                let (t, s) = other.raw(r, c as usize);
                w.push_raw(other.column_name(c as usize), t, s);
            }
            w.finish();
        }
    }

    /// [`ResultStore::append`] without leading cells, column by column: the same rows,
    /// columns (new ones in the order the rows first name them) and shapes as appending row by
    /// row, without looking up each cell's column by name (the pages of one result share their
    /// columns; a repeated value of a dictionary column is looked up once per page, not per row).
    fn append_columns(&mut self, other: &ResultStore) {
        let (base, rows) = (self.len(), other.len());
        if rows == 0 {
            return;
        }
        // Shapes are numbered in the order rows first use them, so their keys in that order
        // are the columns in the order the rows first name them.
        let mut into = vec![u32::MAX; other.names.len()];
        for shape in &other.shapes {
            for &c in shape.iter() {
                if into[c as usize] == u32::MAX {
                    into[c as usize] = self.column_for(&other.names[c as usize], None) as u32;
                }
            }
        }
        let mut filled = vec![false; self.columns.len()];
        for (co, &cs) in into.iter().enumerate() {
            if cs != u32::MAX {
                self.columns[cs as usize].extend_from(&other.columns[co], rows);
                filled[cs as usize] = true;
            }
        }
        for (col, _) in self.columns.iter_mut().zip(&filled).filter(|(_, f)| !**f) {
            col.push_absent(rows);
        }
        let shapes: Vec<u32> = other
            .shapes
            .iter()
            .map(|keys| {
                let keys: Vec<u32> = keys.iter().map(|&c| into[c as usize]).collect();
                self.shape_id(keys)
            })
            .collect();
        for r in 0..rows {
            self.row_shape
                .push(shapes[other.row_shape.get(r) as usize] as u64);
        }
        let last = shapes[other.row_shape.get(rows - 1) as usize];
        self.last_keys = self.shapes[last as usize].to_vec();
        self.last_shape = Some(last);
        debug_assert_eq!(self.len(), base + rows);
    }

    /// The id of the shape with these keys, added when new.
    fn shape_id(&mut self, keys: Vec<u32>) -> u32 {
        if let Some(&s) = self.shape_index.get(keys.as_slice()) {
            return s;
        }
        let s = self.shapes.len() as u32;
        let keys: Box<[u32]> = keys.into();
        self.shapes.push(keys.clone());
        self.shape_index.insert(keys, s);
        s
    }

    /// Bytes this store holds on the heap: every arena, code vector, dictionary table, name,
    /// shape and index, by capacity (what the allocator handed out, not just what is used).
    pub fn memory_bytes(&self) -> usize {
        let names: usize = self.names.iter().map(|n| n.len()).sum();
        let shapes: usize = self.shapes.iter().map(|s| s.len() * 4).sum();
        std::mem::size_of::<Self>()
            + self.names.capacity() * std::mem::size_of::<Box<str>>()
            + names * 2 // each name is held by `names` and by `index`
            + table_bytes(self.index.capacity(), 24)
            + self.columns.capacity() * std::mem::size_of::<Column>()
            + self.columns.iter().map(Column::heap_bytes).sum::<usize>()
            + self.shapes.capacity() * std::mem::size_of::<Box<[u32]>>()
            + shapes * 2
            + table_bytes(self.shape_index.capacity(), 24)
            + self.row_shape.heap_bytes()
            + self.last_keys.capacity() * 4
    }

    /// Gives back spare capacity and the dictionaries' hash tables (rows can still be added;
    /// the tables are rebuilt then). Call it when a result is complete.
    pub fn shrink_to_fit(&mut self) {
        for c in &mut self.columns {
            c.shrink_to_fit();
        }
        self.columns.shrink_to_fit();
        self.names.shrink_to_fit();
        self.shapes.shrink_to_fit();
        self.row_shape.shrink_to_fit();
    }

    /// Whether column `col` is dictionary-encoded (for tests and benchmarks).
    pub fn is_dictionary_column(&self, col: usize) -> bool {
        !self.columns[col].is_plain()
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            rows: self.len(),
            columns: self.names.len(),
            shapes: self.shapes.len(),
        }
    }

    /// Goes back to `m`: later rows, columns and shapes are forgotten.
    pub(crate) fn rollback(&mut self, m: Mark) {
        for name in self.names.drain(m.columns..) {
            self.index.remove(&name);
        }
        self.columns.truncate(m.columns);
        for c in &mut self.columns {
            c.truncate(m.rows);
        }
        for s in self.shapes.drain(m.shapes..) {
            self.shape_index.remove(&s);
        }
        self.row_shape.truncate(m.rows);
        self.last_keys.clear();
        self.last_shape = None;
    }

    #[inline]
    pub(crate) fn raw(&self, row: usize, col: usize) -> (u8, &str) {
        self.columns[col].get(row)
    }

    /// The column ids of row `row`'s keys, in the order received.
    pub(crate) fn shape_of(&self, row: usize) -> &[u32] {
        &self.shapes[self.row_shape.get(row) as usize]
    }

    pub(in crate::model::results) fn column_data(&self, col: usize) -> &Column {
        &self.columns[col]
    }

    /// The column named `name`, created (absent in every row so far) when new. `hint` is the
    /// key's position in its row: the previous row's key there is tried first.
    fn column_for(&mut self, name: &str, predicted: Option<u32>) -> usize {
        if let Some(p) = predicted
            && *self.names[p as usize] == *name
        {
            return p as usize;
        }
        if let Some(&c) = self.index.get(name) {
            return c as usize;
        }
        let c = self.names.len();
        self.names.push(name.into());
        self.index.insert(name.into(), c as u32);
        self.columns.push(if self.page {
            Column::new_plain(self.len())
        } else {
            Column::new(self.len())
        });
        c
    }
}

/// Two stores are equal when they hold the same rows: the same columns in the same order and,
/// row by row, the same keys in the same order with the same cells (however each column happens
/// to be encoded).
impl PartialEq for ResultStore {
    fn eq(&self, other: &ResultStore) -> bool {
        self.len() == other.len()
            && self.names == other.names
            && (0..self.len()).all(|r| {
                let keys = self.shape_of(r);
                keys == other.shape_of(r)
                    && keys
                        .iter()
                        .all(|&c| self.raw(r, c as usize) == other.raw(r, c as usize))
            })
    }
}

/// One row of a store.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    store: &'a ResultStore,
    row: usize,
}

impl<'a> RowRef<'a> {
    /// The row's index in its store.
    pub fn index(&self) -> usize {
        self.row
    }

    /// Its keys' columns, in the order received.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = usize> + 'a {
        self.store.shape_of(self.row).iter().map(|&c| c as usize)
    }

    /// Its (key, cell) pairs, in the order received (absent keys are not listed).
    pub fn cells(&self) -> impl ExactSizeIterator<Item = (&'a str, Cell<'a>)> + 'a {
        let (store, row) = (self.store, self.row);
        self.columns()
            .map(move |c| (store.column_name(c), store.cell(row, c)))
    }

    /// The cell under `name` (Absent when the row or the result has no such key).
    pub fn get(&self, name: &str) -> Cell<'a> {
        match self.store.column_index(name) {
            Some(c) => self.store.cell(self.row, c),
            None => Cell::Absent,
        }
    }

    /// The row as a JSON object.
    pub fn to_object(&self) -> Map<String, Value> {
        self.cells()
            .filter_map(|(k, c)| c.to_value().map(|v| (k.to_string(), v)))
            .collect()
    }
}

/// Adds one row to a store (see [`ResultStore::begin_row`]).
pub struct RowWriter<'s> {
    store: &'s mut ResultStore,
    /// Columns of this row's keys so far, in order.
    keys: Vec<u32>,
    /// The previous row's keys.
    predicted: Vec<u32>,
    /// Columns before this row (an abandoned row removes the ones it added).
    columns: usize,
    done: bool,
}

impl RowWriter<'_> {
    /// Adds a cell. A key given twice keeps its first position and its last value (like
    /// serde_json's maps).
    pub fn push(&mut self, name: &str, cell: Cell<'_>) {
        let mut buf = String::new();
        let (t, s) = encode(&cell, &mut buf);
        self.push_raw(name, t, s);
    }

    /// Adds a JSON value (nested values kept as their compact text).
    pub fn push_value(&mut self, name: &str, v: &Value) {
        let mut buf = String::new();
        let (t, s) = encode_value(v, &mut buf);
        self.push_raw(name, t, s);
    }

    pub(crate) fn push_raw(&mut self, name: &str, t: u8, s: &str) {
        let rows = self.store.len();
        let predicted = self.predicted.get(self.keys.len()).copied();
        let c = self.store.column_for(name, predicted);
        let col = &mut self.store.columns[c];
        if col.len() > rows {
            col.pop(); // a key repeated in this row: the last value wins
        } else {
            self.keys.push(c as u32);
        }
        col.push(t, s);
    }

    /// Ends the row.
    pub fn finish(mut self) {
        let rows = self.store.len();
        for col in &mut self.store.columns {
            if col.len() == rows {
                col.push_absent(1);
            }
        }
        let store = &mut *self.store;
        let shape = if let Some(last) = store.last_shape
            && self.keys == self.predicted
        {
            last
        } else if let Some(&s) = store.shape_index.get(self.keys.as_slice()) {
            s
        } else {
            let s = store.shapes.len() as u32;
            store.shapes.push(self.keys.as_slice().into());
            store.shape_index.insert(self.keys.as_slice().into(), s);
            s
        };
        store.row_shape.push(shape as u64);
        store.last_keys = std::mem::take(&mut self.keys);
        store.last_shape = Some(shape);
        self.done = true;
    }
}

impl Drop for RowWriter<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let rows = self.store.len();
        for name in self.store.names.drain(self.columns..) {
            self.store.index.remove(&name);
        }
        self.store.columns.truncate(self.columns);
        for col in &mut self.store.columns {
            col.truncate(rows);
        }
        self.store.last_keys = std::mem::take(&mut self.predicted);
    }
}
