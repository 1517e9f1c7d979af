//! The function scanner of the length rule: every function of a Rust file outside test code,
//! from the line of its `fn` to the line of its closing brace, with braces in comments,
//! strings, raw strings and char literals not counted.

use super::is_ident;

/// A function the scanner found: its name, the line of its `fn`, its length in lines.
#[derive(Debug, PartialEq)]
pub struct FnSpan {
    pub name: String,
    pub line: usize,
    pub lines: usize,
}

/// The text with comments, strings (plain, byte, raw) and char literals blanked to spaces,
/// new lines kept, so braces in them do not count and line numbers stay.
fn blank_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, s: &[char]| {
        out.extend(s.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    };
    let ident = |i: usize| i > 0 && is_ident(c[i - 1]);
    let mut i = 0;
    while i < c.len() {
        let at = |s: &str| c[i..].iter().take(s.len()).copied().eq(s.chars());
        let end = if at("//") {
            (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len())
        } else if at("/*") {
            let (mut j, mut depth) = (i, 0);
            while j < c.len() {
                if c[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if c[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            j
        } else if let Some(open) = raw_string_open(&c, i).filter(|_| !ident(i)) {
            // r"…", r#"…"#, br"…": the closing quote followed by as many #.
            let hashes = open - i - 1 - usize::from(c[i] == 'b') - 1;
            let mut j = open;
            while j < c.len()
                && !(c[j] == '"' && c[j + 1..].iter().take_while(|&&h| h == '#').count() >= hashes)
            {
                j += 1;
            }
            (j + 1 + hashes).min(c.len())
        } else if c[i] == '"' || (c[i] == 'b' && c.get(i + 1) == Some(&'"') && !ident(i)) {
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            (j + 1).min(c.len())
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            // '\n', '\'', '\u{7b}'
            let j = (i + 3..c.len()).find(|&j| c[j] == '\'').unwrap_or(c.len());
            (j + 1).min(c.len())
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            // code, and lifetimes ('a has no closing quote)
            out.push(c[i]);
            i += 1;
            continue;
        };
        blank(&mut out, &c[i..end]);
        i = end;
    }
    out
}

/// At `i`, `r"`, `r#…#"`, `br"` or `br#…#"`: the index just past the opening quote.
fn raw_string_open(c: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    while c.get(j) == Some(&'#') {
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some(j + 1)
}

/// Whether an attribute's content (between `#[` and `]`) marks test-only code.
fn is_test_attribute(attr: &str) -> bool {
    let attr: String = attr.chars().filter(|c| !c.is_whitespace()).collect();
    let path = attr.split('(').next().unwrap_or("");
    attr == "cfg(test)" || path == "test" || path.ends_with("::test")
}

/// Every function outside test code, with its length: from the line of `fn` to the line of its
/// closing brace. Nested functions are counted on their own too (and inside their parent).
pub fn functions(text: &str) -> Vec<FnSpan> {
    let c: Vec<char> = blank_literals(text).chars().collect();
    // One per open brace: Some(function) for a function's body, and whether it is test code.
    let mut stack: Vec<(Option<(String, usize)>, bool)> = Vec::new();
    // A `fn name` whose body has not opened yet: name, line, test, ( and [ depth.
    let mut pending: Option<(String, usize, bool, i32)> = None;
    let mut test_attr = false;
    let mut test_mod = false;
    let mut line = 1;
    let mut found = Vec::new();
    let word_at = |i: usize, w: &str| {
        c[i..].iter().take(w.len()).copied().eq(w.chars())
            && (i == 0 || !is_ident(c[i - 1]))
            && c.get(i + w.len()).is_some_and(|ch| ch.is_whitespace())
    };
    let mut i = 0;
    while i < c.len() {
        let in_test = stack.last().is_some_and(|(_, t)| *t);
        match c[i] {
            '\n' => line += 1,
            '#' if c.get(i + 1) == Some(&'[') => {
                let mut depth = 0;
                let start = i + 2;
                while i < c.len() {
                    match c[i] {
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        '\n' => line += 1,
                        _ => {}
                    }
                    i += 1;
                }
                let attr: String = c[start..i.min(c.len())].iter().collect();
                test_attr |= is_test_attribute(&attr);
            }
            '(' | '[' => {
                if let Some(p) = pending.as_mut() {
                    p.3 += 1;
                }
            }
            ')' | ']' => {
                if let Some(p) = pending.as_mut() {
                    p.3 -= 1;
                }
            }
            ';' if pending.as_ref().is_none_or(|p| p.3 <= 0) => {
                // a declaration without a body (a trait's method), or the end of an item
                pending = None;
                test_attr = false;
                test_mod = false;
            }
            '{' => {
                let test = in_test || test_attr || test_mod;
                let f = pending.take();
                let test = test || f.as_ref().is_some_and(|p| p.2);
                stack.push((f.map(|(n, l, _, _)| (n, l)), test));
                test_attr = false;
                test_mod = false;
            }
            '}' => {
                if let Some((Some((name, start)), test)) = stack.pop()
                    && !test
                {
                    found.push(FnSpan {
                        name,
                        line: start,
                        lines: line - start + 1,
                    });
                }
                test_attr = false;
            }
            'f' if pending.is_none() && word_at(i, "fn") => {
                let mut j = i + 2;
                while j < c.len() && c[j].is_whitespace() {
                    j += 1;
                }
                let name: String = c[j..].iter().take_while(|ch| is_ident(**ch)).collect();
                if !name.is_empty() {
                    pending = Some((name, line, in_test || test_attr, 0));
                    test_attr = false;
                }
            }
            'm' if word_at(i, "mod") => {
                let rest: String = c[i + 3..c.len().min(i + 40)].iter().collect();
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|ch| is_ident(*ch))
                    .collect();
                test_mod |= name == "tests" || name == "test";
            }
            _ => {}
        }
        i += 1;
    }
    found
}
