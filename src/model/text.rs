//! Text from a server, made safe to print: whatever a tenant, a sign-in service or a hostile
//! server says (error messages, device-code instructions, cell values) reaches a terminal or a
//! log only through [`printable`] (keeps line breaks and tabs) or [`printable_line`] (one line).
//! Both remove terminal escape sequences (`ESC [ … m`, `ESC ] … BEL`), the other C0/C1 control
//! characters and the Unicode bidirectional overrides that can make text read differently from
//! what it is.

use std::borrow::Cow;

/// `s` without escape sequences and control characters; `\n` and `\t` are kept.
pub fn printable(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

/// Like [`printable`], on one line: line breaks and tabs become spaces.
pub fn printable_line(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn unsafe_char(c: char, one_line: bool) -> bool {
    match c {
        '\n' | '\t' => one_line,
        c => c.is_control() || is_bidi_control(c),
    }
}

fn clean(s: &str, one_line: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| unsafe_char(c, one_line)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' | '\r' if one_line => out.push(' '),
            c if unsafe_char(c, one_line) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// After ESC: a CSI (`[` … final byte), an OSC (`]` … BEL or ESC `\`), or one more character.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('_') | Some('^') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || c == '\u{9c}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI parameters and intermediates up to the final byte (`@`..`~`).
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "Ann Lee — Müller, 東京\nline two\tcol";
        assert!(matches!(printable(s), Cow::Borrowed(_)));
        assert_eq!(printable(s), s);
    }

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        assert_eq!(printable("\u{1b}[31mred\u{1b}[0m text"), "red text");
        assert_eq!(printable("title\u{1b}]0;pwned\u{7}after"), "titleafter");
        assert_eq!(printable("osc\u{1b}]8;;http://x\u{1b}\\link"), "osclink");
        assert_eq!(
            printable("bell\u{7} back\u{8}space\0nul"),
            "bell backspacenul"
        );
        assert_eq!(printable("c1\u{9b}2Jcsi"), "c1csi");
        assert_eq!(printable("crlf\r\nkept"), "crlf\nkept");
        assert_eq!(printable("over\rwrite"), "overwrite");
        assert_eq!(printable("a\u{202E}evil\u{202C}b"), "aevilb");
    }

    #[test]
    fn one_line_turns_breaks_into_spaces() {
        assert_eq!(printable_line("a\nb\tc\r\nd"), "a b c d");
        assert_eq!(printable_line("\u{1b}[2Kx"), "x");
    }

    #[test]
    fn an_unfinished_sequence_does_not_panic() {
        for s in ["\u{1b}", "\u{1b}[", "\u{1b}]0;no end", "x\u{9b}"] {
            let out = printable(s);
            assert!(!out.chars().any(char::is_control), "{s:?} -> {out:?}");
        }
    }
}

/// "1 profile", "2 profiles": `n` and the noun, plural with an "s" unless `n` is 1.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod count_tests {
    #[test]
    fn one_is_singular() {
        assert_eq!(super::count(1, "profile"), "1 profile");
        assert_eq!(super::count(0, "stale session"), "0 stale sessions");
        assert_eq!(super::count(5, "profile"), "5 profiles");
    }
}
