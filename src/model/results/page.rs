//! One InvokeCommand page body parsed straight into a [`ResultStore`], streaming: no
//! `serde_json::Value` tree of the page, no copy of the rows. The page is
//! `{"@odata.context":…, "value":[{…},…], "@odata.nextLink":"…", "@adminapi.warnings":[…]}`
//! with its keys in any order, `value` absent or null allowed. A change cmdlet's page may also
//! carry `@adminapi.confirmationmessage` (the service asks before acting: nothing was done) and
//! `@adminapi.errors` (non-terminating errors, one per failed target; reference page §7).
//!
//! Rows are cleaned as the command line always did: keys containing `@` (annotations such as
//! `@odata.type`) are dropped, an element that is not an object becomes `{"Value": v}` (and so
//! does a `value` that is a single scalar; a single object is one row). Each cell is read as a
//! borrowed `RawValue` slice of the body: strings without escapes are copied once, into the
//! store's arena; numbers keep their text; nested arrays/objects keep serde_json's compact text.
//! A page that is not valid JSON leaves the store as it was.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::column::tag;
use super::{ResultStore, RowWriter, text};

/// What a page said besides its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// Rows appended to the store (after the `max_rows` cut).
    pub rows: usize,
    /// Rows of the page not appended because `max_rows` was reached.
    pub skipped: usize,
    /// `@odata.nextLink`, when it is a string.
    pub next_link: Option<String>,
    /// `@adminapi.warnings`: strings as they are, anything else as its JSON text.
    pub warnings: Vec<String>,
    /// `@adminapi.confirmationmessage`: the service's question; the cmdlet did nothing.
    pub confirmation: Option<String>,
    /// `@adminapi.errors`: non-terminating errors (the other targets were done).
    pub errors: Vec<RowError>,
}

/// A non-terminating error of a change cmdlet (`@adminapi.errors`): the target it names, when
/// it names one, and its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowError {
    pub target: Option<String>,
    pub code: Option<String>,
    pub message: String,
}

impl RowError {
    /// From one element of `@adminapi.errors`: an object with `target`/`message`/`code` (any
    /// case; `Message` inside a JSON string as the error bodies have it), or a plain string.
    pub fn from_value(v: Value) -> RowError {
        let Value::Object(o) = v else {
            return RowError {
                message: match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
                ..Default::default()
            };
        };
        let get = |names: &[&str]| {
            o.iter()
                .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                .and_then(|(_, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    Value::Null | Value::String(_) => None,
                    other => Some(other.to_string()),
                })
        };
        RowError {
            target: get(&["target", "identity"]),
            code: get(&["code", "errorCode"]),
            message: get(&["message", "errorMessage", "exceptionMessage"])
                .unwrap_or_else(|| Value::Object(o.clone()).to_string()),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Some(t) => write!(f, "{t}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A page that could not be read; the store is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the page could not be read as JSON ({0})")]
pub struct PageError(pub String);

/// Parses one page body into `store`: at most `max_rows` rows are appended (None = all), and
/// `on_next_link` is called with `@odata.nextLink` as soon as the parser meets it (the sim and
/// the service send it before `value`, so the next request can start while this page is read).
pub fn parse_page(
    body: &[u8],
    store: &mut ResultStore,
    max_rows: Option<usize>,
    on_next_link: &mut dyn FnMut(&str),
) -> Result<PageInfo, PageError> {
    let mark = store.mark();
    let mut told: Option<String> = None;
    let fast = super::fast::parse(body, store, max_rows, &mut |l| {
        told = Some(l.to_string());
        on_next_link(l);
    });
    if let Some(info) = fast {
        return Ok(info);
    }
    // Not a page of the usual form, or not JSON: serde_json's path (and its error), from the
    // store as it was. A next-page link already told is not told again.
    store.rollback(mark);
    let mut once = |l: &str| {
        if told.as_deref() != Some(l) {
            on_next_link(l);
        }
    };
    parse_page_serde(body, store, max_rows, &mut once)
}

/// [`parse_page`] by serde_json's visitors alone (what the fast path is held to in tests).
pub(super) fn parse_page_serde(
    body: &[u8],
    store: &mut ResultStore,
    max_rows: Option<usize>,
    on_next_link: &mut dyn FnMut(&str),
) -> Result<PageInfo, PageError> {
    let mark = store.mark();
    let mut info = PageInfo::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = PageSeed {
        store,
        max_rows,
        info: &mut info,
        on_next_link,
    };
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    match result {
        Ok(()) => Ok(info),
        Err(e) => {
            store.rollback(mark);
            Err(PageError(e.to_string()))
        }
    }
}

struct PageSeed<'a, 'l> {
    store: &'a mut ResultStore,
    max_rows: Option<usize>,
    info: &'a mut PageInfo,
    on_next_link: &'l mut dyn FnMut(&str),
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a page object with a \"value\" array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match &*key.0 {
                "value" => map.next_value_seed(Rows {
                    store: &mut *self.store,
                    max_rows: self.max_rows,
                    info: &mut *self.info,
                })?,
                "@odata.nextLink" => {
                    if let Value::String(link) = map.next_value::<Value>()? {
                        (self.on_next_link)(&link);
                        self.info.next_link = Some(link);
                    }
                }
                "@adminapi.confirmationmessage" => match map.next_value::<Value>()? {
                    Value::String(s) => self.info.confirmation = Some(s),
                    Value::Null => {}
                    other => self.info.confirmation = Some(other.to_string()),
                },
                "@adminapi.errors" => match map.next_value::<Value>()? {
                    Value::Array(es) => self
                        .info
                        .errors
                        .extend(es.into_iter().map(RowError::from_value)),
                    Value::Null => {}
                    other => self.info.errors.push(RowError::from_value(other)),
                },
                "@adminapi.warnings" => {
                    if let Value::Array(ws) = map.next_value::<Value>()? {
                        self.info.warnings.extend(ws.into_iter().map(|w| match w {
                            Value::String(s) => s,
                            other => other.to_string(),
                        }));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key, borrowed from the body when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The `value` member: an array of rows (or one object / scalar / null).
struct Rows<'a> {
    store: &'a mut ResultStore,
    max_rows: Option<usize>,
    info: &'a mut PageInfo,
}

impl Rows<'_> {
    fn room(&self) -> bool {
        self.max_rows.is_none_or(|m| self.info.rows < m)
    }

    /// `"value": null`: no rows.
    fn unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    /// A row that is not an object: `{"Value": v}`.
    fn scalar<E: de::Error>(self, t: u8, s: &str) -> Result<(), E> {
        if self.room() {
            let mut w = self.store.begin_row();
            w.push_raw("Value", t, s);
            w.finish();
            self.info.rows += 1;
        } else {
            self.info.skipped += 1;
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Scalars shared by [`Rows`] (a scalar `value`) and [`Row`] (a scalar element).
macro_rules! scalar_visits {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.unit()
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
            self.scalar(if b { tag::TRUE } else { tag::FALSE }, "")
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
            self.scalar(tag::INT, &n.to_string())
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
            let s = n.to_string();
            self.scalar(text::number_tag(&s), &s)
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
            match text::float_text(n) {
                Some(s) => self.scalar(tag::FLOAT, &s),
                None => self.scalar(tag::NULL, ""),
            }
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
            self.scalar(tag::STR, s)
        }
    };
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of result objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            if !self.room() {
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    self.info.skipped += 1;
                }
                return Ok(());
            }
            let row = Row {
                store: &mut *self.store,
                info: &mut *self.info,
            };
            if seq.next_element_seed(row)?.is_none() {
                return Ok(());
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        if self.room() {
            read_row(self.store.begin_row(), map)?;
            self.info.rows += 1;
        } else {
            let _ = IgnoredAny.visit_map(map)?;
            self.info.skipped += 1;
        }
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    scalar_visits!();
}

/// One element of `value`.
struct Row<'a> {
    store: &'a mut ResultStore,
    info: &'a mut PageInfo,
}

impl Row<'_> {
    /// A null element: `{"Value": null}`.
    fn unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(tag::NULL, "")
    }

    fn scalar<E: de::Error>(self, t: u8, s: &str) -> Result<(), E> {
        let mut w = self.store.begin_row();
        w.push_raw("Value", t, s);
        w.finish();
        self.info.rows += 1;
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a result object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        read_row(self.store.begin_row(), map)?;
        self.info.rows += 1;
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v: Value = de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.scalar(tag::JSON, &v.to_string())
    }
    scalar_visits!();
}

/// Reads one result object into `w`, then ends the row (an error drops it unfinished).
fn read_row<'de, A: MapAccess<'de>>(mut w: RowWriter<'_>, mut map: A) -> Result<(), A::Error> {
    while let Some(key) = map.next_key::<Key>()? {
        if key.0.contains('@') {
            map.next_value::<IgnoredAny>()?;
            continue;
        }
        let raw: &RawValue = map.next_value()?;
        let raw = raw.get();
        let (t, s): (u8, Cow<str>) = match raw.as_bytes().first() {
            Some(b'"') => {
                let inner = &raw[1..raw.len() - 1];
                if inner.contains('\\') {
                    let s = serde_json::from_str::<String>(raw).map_err(de::Error::custom)?;
                    (tag::STR, Cow::Owned(s))
                } else {
                    (tag::STR, Cow::Borrowed(inner))
                }
            }
            Some(b'n') => (tag::NULL, Cow::Borrowed("")),
            Some(b't') => (tag::TRUE, Cow::Borrowed("")),
            Some(b'f') => (tag::FALSE, Cow::Borrowed("")),
            Some(b'[' | b'{') => (tag::JSON, text::compact(raw).map_err(de::Error::custom)?),
            _ => (text::number_tag(raw), Cow::Borrowed(raw)),
        };
        w.push_raw(&key.0, t, &s);
    }
    w.finish();
    Ok(())
}
