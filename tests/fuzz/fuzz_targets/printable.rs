//! Server text made safe to print (`model::text::printable`, `printable_line`). No panic; no
//! control character (but `\n` and `\t` in `printable`), no bidirectional override survives;
//! cleaning is idempotent; clean text comes back borrowed and unchanged.
#![no_main]
use std::borrow::Cow;

use exo_connect::model::text::{printable, printable_line};
use libfuzzer_sys::fuzz_target;

fn bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let p = printable(s);
    assert!(
        !p.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || bidi(c)),
        "{s:?} -> {p:?}"
    );
    assert_eq!(printable(&p), p, "not idempotent on {s:?}");
    if let Cow::Borrowed(b) = &p {
        assert_eq!(*b, s);
    }
    let l = printable_line(s);
    assert!(!l.chars().any(|c| c.is_control() || bidi(c)), "{s:?} -> {l:?}");
    assert_eq!(printable_line(&l), l);
});
