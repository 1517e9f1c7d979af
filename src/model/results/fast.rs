//! The page parser's fast path: a page of the usual form — an object whose `value` is an array
//! of row objects — read with a hand-written scanner instead of serde's visitors, into the same
//! store cells as [`page`](super::page) makes. It checks the JSON as strictly as serde_json does
//! (the body is valid UTF-8; strings hold no control characters, escapes are decoded by
//! serde_json; numbers follow JSON's grammar; literals are exact; nothing follows the page) and
//! gives up — `None`, the store rolled back by the caller — on anything else: a row that is not
//! an object, a `value` that is not an array, any doubt. The caller then parses the page with serde_json (which reports the error, if it is
//! one), so what lands in the store never depends on which path read it.
//!
//! Nested arrays and objects: a list of plain strings (`["a","b"]`, the usual mailbox property)
//! is read here; anything else is measured and checked by serde_json (`RawValue`).

use std::borrow::Cow;

use serde_json::Value;
use serde_json::value::RawValue;

use super::column::tag;
use super::page::{PageInfo, RowError};
use super::{ResultStore, text};

/// Parses `body` into `store` if it has the usual form (see the module documentation); None:
/// not done here (the store may hold some of its rows: the caller rolls back).
pub(super) fn parse(
    body: &[u8],
    store: &mut ResultStore,
    max_rows: Option<usize>,
    on_next_link: &mut dyn FnMut(&str),
) -> Option<PageInfo> {
    let text = std::str::from_utf8(body).ok()?;
    let mut p = Scan {
        s: text,
        b: body,
        i: 0,
    };
    let mut info = PageInfo::default();
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if !p.eat_if(b'}') {
        loop {
            let key = p.key()?;
            match &*key {
                "value" => p.rows(store, max_rows, &mut info)?,
                "@odata.nextLink" => {
                    if let Value::String(link) = p.value()? {
                        on_next_link(&link);
                        info.next_link = Some(link);
                    }
                }
                "@adminapi.confirmationmessage" => match p.value()? {
                    Value::String(s) => info.confirmation = Some(s),
                    Value::Null => {}
                    other => info.confirmation = Some(other.to_string()),
                },
                "@adminapi.errors" => match p.value()? {
                    Value::Array(es) => {
                        info.errors.extend(es.into_iter().map(RowError::from_value))
                    }
                    Value::Null => {}
                    other => info.errors.push(RowError::from_value(other)),
                },
                "@adminapi.warnings" => {
                    if let Value::Array(ws) = p.value()? {
                        info.warnings.extend(ws.into_iter().map(|w| match w {
                            Value::String(s) => s,
                            other => other.to_string(),
                        }));
                    }
                }
                _ => {
                    p.raw()?;
                }
            }
            p.ws();
            if p.eat_if(b',') {
                p.ws();
                continue;
            }
            p.eat(b'}')?;
            break;
        }
    }
    p.ws();
    (p.i == p.b.len()).then_some(info)
}

struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn eat_if(&mut self, c: u8) -> bool {
        self.eat(c).is_some()
    }

    /// A string at `i` (its opening quote): its text between the quotes as it is in the body,
    /// and whether it holds escapes. None on a control character or the body's end.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i += special(&self.b[self.i..])?;
            match self.b[self.i] {
                b'"' => {
                    let inner = &self.s[start..self.i];
                    self.i += 1;
                    return Some((inner, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.i += 2; // the escaped byte is never the end (serde_json decodes it)
                    if self.i > self.b.len() {
                        return None;
                    }
                }
                _ => return None, // a control character: not JSON
            }
        }
    }

    /// A string's value: borrowed, or decoded by serde_json when it has escapes.
    fn string_value(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i;
        let (inner, escaped) = self.string()?;
        if !escaped {
            return Some(Cow::Borrowed(inner));
        }
        serde_json::from_str::<String>(&self.s[start..self.i])
            .ok()
            .map(Cow::Owned)
    }

    /// A member's key and its `:`, with the whitespace around.
    fn key(&mut self) -> Option<Cow<'a, str>> {
        let k = self.string_value()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(k)
    }

    /// Any value at `i`, checked and measured by serde_json: its text.
    fn raw(&mut self) -> Option<&'a str> {
        let rest = &self.s[self.i..];
        let mut de = serde_json::Deserializer::from_str(rest);
        let raw: &RawValue = serde::Deserialize::deserialize(&mut de).ok()?;
        let raw = raw.get();
        // RawValue borrows from `rest` and starts at `i` (no whitespace before a value here).
        if raw.as_ptr() != rest.as_ptr() {
            return None;
        }
        self.i += raw.len();
        Some(raw)
    }

    /// Any value at `i` as a `Value` (the page's few annotations).
    fn value(&mut self) -> Option<Value> {
        serde_json::from_str(self.raw()?).ok()
    }

    /// The `value` array's rows into `store`.
    fn rows(
        &mut self,
        store: &mut ResultStore,
        max_rows: Option<usize>,
        info: &mut PageInfo,
    ) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.eat_if(b']') {
            return Some(());
        }
        loop {
            if self.b.get(self.i) != Some(&b'{') {
                return None; // a row that is not an object: serde_json's path
            }
            if max_rows.is_none_or(|m| info.rows < m) {
                self.row(store)?;
                info.rows += 1;
            } else {
                self.raw()?;
                info.skipped += 1;
            }
            self.ws();
            if self.eat_if(b',') {
                self.ws();
                continue;
            }
            return self.eat(b']');
        }
    }

    /// One row object into `store` (keys with `@` dropped), as `page::read_row` stores it.
    fn row(&mut self, store: &mut ResultStore) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        let mut w = store.begin_row();
        if !self.eat_if(b'}') {
            loop {
                let key = self.key()?;
                let (t, s) = self.cell()?;
                if !key.contains('@') {
                    w.push_raw(&key, t, &s);
                }
                self.ws();
                if self.eat_if(b',') {
                    self.ws();
                    continue;
                }
                self.eat(b'}')?;
                break;
            }
        }
        w.finish();
        Some(())
    }

    /// A cell's tag and stored text.
    fn cell(&mut self) -> Option<(u8, Cow<'a, str>)> {
        Some(match *self.b.get(self.i)? {
            b'"' => (tag::STR, self.string_value()?),
            b'n' => self.literal(b"null", tag::NULL)?,
            b't' => self.literal(b"true", tag::TRUE)?,
            b'f' => self.literal(b"false", tag::FALSE)?,
            b'[' => match self.string_list() {
                Some(raw) => (tag::JSON, Cow::Borrowed(raw)),
                None => self.nested()?,
            },
            b'{' => self.nested()?,
            _ => {
                let raw = self.number()?;
                (text::number_tag(raw), Cow::Borrowed(raw))
            }
        })
    }

    fn literal(&mut self, word: &[u8], t: u8) -> Option<(u8, Cow<'a, str>)> {
        if !self.b[self.i..].starts_with(word) {
            return None;
        }
        self.i += word.len();
        Some((t, Cow::Borrowed("")))
    }

    /// `[]` or `["a","b",…]` written compactly with plain strings (no escapes): its text, which
    /// is already serde_json's compact text. None (nothing consumed) for anything else.
    fn string_list(&mut self) -> Option<&'a str> {
        let start = self.i;
        let mut p = Scan {
            s: self.s,
            b: self.b,
            i: start + 1,
        };
        if !p.eat_if(b']') {
            loop {
                if p.string()?.1 {
                    return None;
                }
                if p.eat_if(b',') {
                    continue;
                }
                p.eat(b']')?;
                break;
            }
        }
        self.i = p.i;
        Some(&self.s[start..p.i])
    }

    /// Any other nested array or object: checked by serde_json, kept as its compact text.
    fn nested(&mut self) -> Option<(u8, Cow<'a, str>)> {
        let raw = self.raw()?;
        Some((tag::JSON, text::compact(raw).ok()?))
    }

    /// A number by JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.eat_if(b'-');
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat_if(b'.') {
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            self.some_digits()?;
        }
        Some(&self.s[start..self.i])
    }

    fn digits(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.i;
        self.digits();
        (self.i > start).then_some(())
    }
}

/// The offset of the first `"`, `\` or control character (below 0x20) in `b`, eight bytes at
/// a time; None when there is none.
pub(super) fn special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let v = u64::from_le_bytes(w);
        let hit = (v.wrapping_sub(ONES * 0x20) & !v & HIGH)
            | zero(v ^ (ONES * b'"' as u64))
            | zero(v ^ (ONES * b'\\' as u64));
        if hit != 0 {
            // The lowest flagged byte is exact (a borrow only flags bytes above a true one).
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_character() {
        let naive = |b: &[u8]| b.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\');
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec(), "é€😀x".into()];
        for len in 0..20 {
            for at in 0..len {
                for c in [
                    b'"', b'\\', 0u8, 0x1f, 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b']',
                ] {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    if at + 1 < len {
                        v[at + 1] = b'"';
                    }
                    cases.push(v);
                }
            }
        }
        for c in cases {
            assert_eq!(special(&c), naive(&c), "{c:?}");
        }
    }

    /// What the fast path makes of `body` against serde_json's path, from the same store: when
    /// it takes a page, the same rows, columns, page information and next-page link; pages it
    /// gives up on are the serde path's anyway.
    fn check(body: &[u8], max_rows: Option<usize>) -> bool {
        let mut base = ResultStore::new();
        base.push_value(&serde_json::json!({"Seed": 1, "Name": "before"}));
        let mut slow = base.clone();
        let mut slow_link = Vec::new();
        let want = super::super::page::parse_page_serde(body, &mut slow, max_rows, &mut |l| {
            slow_link.push(l.to_string())
        });
        let mut fast = base.clone();
        let mut fast_link = Vec::new();
        let Some(got) = parse(body, &mut fast, max_rows, &mut |l| {
            fast_link.push(l.to_string())
        }) else {
            return false;
        };
        let text = String::from_utf8_lossy(body);
        assert_eq!(want.as_ref().ok(), Some(&got), "{text}");
        assert_eq!(fast, slow, "{text}");
        assert_eq!(fast_link, slow_link, "{text}");
        true
    }

    fn pages() -> Vec<String> {
        let row = r##"{"Name":"ann","Size":42,"Big":18446744073709551615,"Neg":-9223372036854775808,"F":0.25,"F2":1.50,"E":1e5,"Z":-0,"On":true,"Off":false,"None":null,"Emails":["SMTP:a@x","smtp:b@x"],"Empty":[],"Obj":{},"Nested":{"A":{"B":[1, 2]},"C":null},"Mixed":[1,null,true,"x",["y"],{"k":"v"}],"Esc":"tab\tq\"s\\ \u00e9 \ud83c\udf89","@odata.type":"#T","Size@odata.type":"#Int32","K\u0040x":1,"Ws" : [ "a" , "b" ] }"##;
        let dup = r#"{"Name":"dup1","Size":1,"Name":"dup2","Emails":["a"],"Size":2}"#;
        vec![
            format!(
                r#"{{"@odata.context":"c","@odata.nextLink":"https://x/n?a=1","value":[{row},{dup},{{}}]}}"#
            ),
            format!(
                " \n{{ \"value\" : [ {row} , {dup} ] , \"@odata.nextLink\" : \"https://x/\\u006e\" , \"@adminapi.warnings\" : [\"w\", 1] }}\r\n\t"
            ),
            format!(
                r#"{{"value":[{row}],"value":[{dup}],"@adminapi.errors":[{{"target":"t","message":"m"}},"s"],"@adminapi.confirmationmessage":"sure?"}}"#
            ),
            r#"{"value":[],"@adminapi.confirmationmessage":null,"@adminapi.errors":null}"#.into(),
            r#"{}"#.into(),
            r#"{"value":[{"Later":1},{"A":"\u0000\u001f"},{"B":"é€😀"}]}"#.into(),
        ]
    }

    #[test]
    fn usual_pages_are_read_exactly_as_serde_json_reads_them() {
        for p in pages() {
            for max in [None, Some(0), Some(1), Some(2), Some(100)] {
                assert!(check(p.as_bytes(), max), "the fast path took it: {p}");
            }
        }
        // What it leaves to serde_json's path.
        for p in [
            r#"{"value":null}"#,
            r#"{"value":{"A":1}}"#,
            r#"{"value":[1,"x",null]}"#,
            r#"{"value":[{"A":1},2]}"#,
            r#"[]"#,
        ] {
            assert!(!check(p.as_bytes(), None), "{p}");
        }
    }

    /// Broken and odd pages, made by changing bytes of good ones: whenever the fast path takes
    /// one, serde_json's path agrees to the byte (and never where serde_json says it is not JSON).
    #[test]
    fn mutated_pages_never_differ_from_serde_json() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let interesting: &[&[u8]] = &[
            b"\"", b"\\", b",", b"]", b"}", b"[", b"{", b":", b" ", b"0", b"-", b"1", b".", b"e",
            b"+", b"n", b"\x00", b"\x1f", b"\x7f", b"\xc3", b"\xff", b"\\u", b"\\ud800", b"@",
            b"null", b"true", b"01", b"1.", b"[]", b"{}",
        ];
        let mut taken = 0;
        for (n, p) in pages().iter().cycle().take(12_000).enumerate() {
            let mut b = p.as_bytes().to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % (b.len() + 1);
                let ins = interesting[(next() as usize) % interesting.len()];
                match next() % 3 {
                    0 => {
                        b.splice(at..at, ins.iter().copied());
                    }
                    1 if at < b.len() => {
                        b.remove(at);
                    }
                    _ => {
                        let end = (at + ins.len()).min(b.len());
                        b.splice(at..end, ins.iter().copied());
                    }
                }
            }
            let max = [None, Some(1)][n % 2];
            taken += usize::from(check(&b, max));
        }
        // The mutations are not all fatal: many pages still go the fast way.
        assert!(taken > 1_000, "{taken}");
    }
}
