//! A structural look at a page body while it downloads (no parse, no allocation): it finds the
//! top-level `@odata.nextLink` when the service sends it before `value` (so the next page can be
//! asked for while this one is still arriving), and counts the rows of the `value` array that
//! are complete, so a run that needs only a few more rows (the access check's one row,
//! `-ResultSize 10`) stops reading a huge page once it has them.
//!
//! It tracks strings (with escapes), nesting depth and the top-level keys; it never judges
//! whether the JSON is valid: the page parser does that on what was read.

/// What the scanner is after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Other,
    NextLink,
    Value,
}

/// The incremental scan of one body (feed it the whole buffer read so far, again and again).
#[derive(Debug)]
pub(super) struct PageScan {
    /// Next byte to look at.
    pos: usize,
    depth: u32,
    in_str: bool,
    escaped: bool,
    str_start: usize,
    /// At depth 1, the next string is a key.
    expect_key: bool,
    key: Key,
    /// Inside the `value` array (its elements are at depth 2).
    in_rows: bool,
    /// A scalar element of `value` started and is not counted yet.
    scalar: bool,
    rows: usize,
    /// Stop counting at this many rows (None: only the next-page link is wanted).
    want_rows: Option<usize>,
    /// `@odata.nextLink`, when met before `value`.
    pub next_link: Option<String>,
    /// The offset just after row number `want_rows` (the body up to there + `]}` is a page of
    /// exactly those rows).
    pub rows_end: Option<usize>,
    /// Nothing more to learn from this body.
    done: bool,
}

impl PageScan {
    /// A scan that looks for the next-page link, and counts rows up to `want_rows`.
    pub fn new(want_rows: Option<usize>) -> PageScan {
        PageScan {
            pos: 0,
            depth: 0,
            in_str: false,
            escaped: false,
            str_start: 0,
            expect_key: false,
            key: Key::Other,
            in_rows: false,
            scalar: false,
            rows: 0,
            want_rows: want_rows.filter(|&n| n > 0),
            next_link: None,
            rows_end: None,
            done: false,
        }
    }

    /// Looks at the bytes of `buf` not seen yet (`buf` = everything read so far).
    pub fn feed(&mut self, buf: &[u8]) {
        let mut i = self.pos;
        while i < buf.len() && !self.done {
            if self.in_str {
                if self.escaped {
                    // The character after a backslash: never the string's end.
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match buf[i..].iter().position(|&c| c == b'"' || c == b'\\') {
                    None => i = buf.len(),
                    Some(off) => {
                        let at = i + off;
                        if buf[at] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_str = false;
                            self.string_end(buf, at);
                        }
                        i = at + 1;
                    }
                }
                continue;
            }
            self.byte(buf, i);
            i += 1;
        }
        self.pos = i.max(self.pos);
    }

    fn byte(&mut self, buf: &[u8], i: usize) {
        match buf[i] {
            b'"' => {
                self.in_str = true;
                self.str_start = i;
            }
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth == 1 {
                    self.expect_key = buf[i] == b'{';
                } else if self.depth == 2 && self.key == Key::Value {
                    if buf[i] == b'[' {
                        self.in_rows = true;
                    } else {
                        // A single object as `value`: nothing to count.
                        self.stop_counting();
                    }
                }
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.in_rows && self.depth == 2 {
                    self.row_done(i + 1);
                } else if self.in_rows && self.depth == 1 {
                    self.flush_scalar(i);
                    self.in_rows = false;
                    self.stop_counting();
                }
            }
            b',' => {
                if self.depth == 1 {
                    self.expect_key = true;
                    self.key = Key::Other;
                } else if self.in_rows && self.depth == 2 {
                    self.flush_scalar(i);
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' | b':' => {}
            _ => {
                if self.in_rows && self.depth == 2 {
                    self.scalar = true;
                }
            }
        }
    }

    /// A string ended at `end` (its closing quote).
    fn string_end(&mut self, buf: &[u8], end: usize) {
        if self.depth == 1 && self.expect_key {
            self.expect_key = false;
            self.key = match &buf[self.str_start + 1..end] {
                b"@odata.nextLink" => Key::NextLink,
                b"value" => {
                    if self.want_rows.is_none() {
                        // The link comes before the rows or the parser finds it.
                        self.done = true;
                    }
                    Key::Value
                }
                _ => Key::Other,
            };
        } else if self.depth == 1 && self.key == Key::NextLink {
            self.next_link = serde_json::from_slice::<String>(&buf[self.str_start..=end]).ok();
        } else if self.in_rows && self.depth == 2 {
            self.row_done(end + 1);
        }
    }

    fn flush_scalar(&mut self, at: usize) {
        if std::mem::take(&mut self.scalar) {
            self.row_done(at);
        }
    }

    fn row_done(&mut self, end: usize) {
        self.rows += 1;
        if Some(self.rows) == self.want_rows {
            self.rows_end = Some(end);
            self.done = true;
        }
    }

    fn stop_counting(&mut self) {
        self.done = true;
    }

    /// Nothing more to learn from this body.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::{ResultStore, parse_page};

    /// Feeds `body` in chunks of `step` bytes, as a download would.
    fn scan(body: &[u8], want: Option<usize>, step: usize) -> PageScan {
        let mut s = PageScan::new(want);
        let mut end = 0;
        while end < body.len() {
            end = (end + step).min(body.len());
            s.feed(&body[..end]);
        }
        s
    }

    const PAGE: &str = r#"{"@odata.context":"c\"x{[","@odata.nextLink":"https://h/x?$skiptoken=a\u0026b\"c","value":[{"Name":"a\"}]","N":[1,{"x":"]"}]},"str]ing",12,{"Name":"b"},null,{"Name":"c"}],"@adminapi.warnings":["w"]}"#;

    #[test]
    fn finds_the_link_and_counts_rows_whatever_the_chunks() {
        for step in 1..PAGE.len() {
            let s = scan(PAGE.as_bytes(), None, step);
            assert_eq!(
                s.next_link.as_deref(),
                Some("https://h/x?$skiptoken=a&b\"c"),
                "step {step}"
            );
            for want in 1..=6 {
                let s = scan(PAGE.as_bytes(), Some(want), step);
                let end = s
                    .rows_end
                    .unwrap_or_else(|| panic!("step {step} want {want}"));
                // The body up to there, closed, is a page of exactly `want` rows.
                let mut cut = PAGE.as_bytes()[..end].to_vec();
                cut.extend_from_slice(b"]}");
                let mut store = ResultStore::new();
                let info = parse_page(&cut, &mut store, None, &mut |_| {})
                    .unwrap_or_else(|e| panic!("step {step} want {want}: {e}"));
                assert_eq!(info.rows, want, "step {step}");
            }
            assert_eq!(scan(PAGE.as_bytes(), Some(7), step).rows_end, None);
        }
    }

    #[test]
    fn a_link_after_the_rows_or_none_at_all() {
        let after = br#"{"value":[{"A":1}],"@odata.nextLink":"https://h/next"}"#;
        // Only the link wanted: the scan stops at `value` (the parser finds a later link).
        assert_eq!(scan(after, None, 3).next_link, None);
        let s = scan(after, Some(1), 3);
        let row_end = after.iter().position(|&c| c == b'}').unwrap() + 1;
        assert_eq!(s.rows_end, Some(row_end));
        let single = br#"{"value":{"A":1},"@odata.nextLink":"x"}"#;
        assert_eq!(scan(single, Some(1), 1).rows_end, None);
        for junk in [&b""[..], b"[]", b"\"", b"}}}]]", b"{\"value\":[", b"\\\\\""] {
            let s = scan(junk, Some(1), 1);
            assert_eq!(s.rows_end, None);
        }
    }
}
