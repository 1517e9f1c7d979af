//! The import rules of ARCHITECTURE.md, checked on the source: every `crate::…`, `super::…` and
//! `self::…` path in `src/` is read (through `{…}` groups, inside inline `mod` blocks) and turned
//! into an edge between modules. The rules:
//! - `sim` imports nothing of the client (`model`, `engine`, `ui`, `cli`);
//! - `model` imports no `engine`/`ui`/`cli`/`sim`, and none of tokio, reqwest, egui, eframe, axum,
//!   keyring;
//! - `engine` imports only `model` (and itself);
//! - the window's panes (every `ui` file but the driver side) import only `model` and `ui`;
//! - no cycle between the parts, and none between the modules of one part (`engine::auth` →
//!   `engine::proxy` → `engine::auth` is a cycle; a module's own files may use each other).
//!
//! And the size rule: no function in `src/` over [`MAX_FN_LINES`] lines outside test code, but
//! those `LONG_FNS` names with a reason (the scanner is `architecture/fn_scan.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `ui` files that adapt the engine to the window (they may import `engine`, and `sim` to start
/// it in demo mode). Every other `ui` file is a pane or a helper of panes.
const UI_DRIVER_SIDE: &[&str] = &["ui::driver", "ui::demo", "ui"];

/// Crates the pure domain must not use.
const NOT_IN_MODEL: &[&str] = &[
    "tokio",
    "reqwest",
    "egui",
    "eframe",
    "axum",
    "keyring_core",
    "hyper",
];

/// Rule breaks that exist today and are being removed (issue: one connect path, no import
/// cycles). An entry that no longer occurs fails the test, so the list only shrinks.
const KNOWN: &[&str] = &[];

#[derive(Default)]
struct Graph {
    /// module path ("engine::auth::cache") → module paths it names.
    edges: BTreeMap<String, BTreeSet<String>>,
    /// module path → external crates it names (`tokio::…`, `use reqwest…`).
    crates: BTreeMap<String, BTreeSet<String>>,
}

fn src_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            src_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/engine/auth/mod.rs` → ["engine", "auth"]; `src/ui/app.rs` → ["ui", "app"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The text without comments and string literals (so a URL or a doc comment naming a path is
/// not an import).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) {
            // raw string r"…" / r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(b[i] as char);
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // a char literal such as '{' (lifetimes have no closing quote)
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads a path tree after `crate::` / `super::` at `s`: `a::b::{c, d::e}` → [a::b::c, a::b::d::e].
fn path_tree(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut prefix: Vec<String> = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            i += 1;
            let mut all = Vec::new();
            loop {
                let rest: String = chars[i..].iter().collect();
                let (mut items, used) = path_tree(&rest);
                i += used;
                for it in items.iter_mut() {
                    let mut p = prefix.clone();
                    p.append(it);
                    all.push(p);
                }
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                match chars.get(i) {
                    Some(',') => i += 1,
                    Some('}') => {
                        i += 1;
                        break;
                    }
                    _ => break,
                }
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                if chars.get(i) == Some(&'}') {
                    i += 1;
                    break;
                }
            }
            return (all, i);
        }
        let start = i;
        while i < chars.len() && (is_ident(chars[i]) || chars[i] == '*') {
            i += 1;
        }
        if i > start {
            prefix.push(chars[start..i].iter().collect());
        }
        if chars[i..].starts_with(&[':', ':']) {
            i += 2;
            continue;
        }
        // `as alias` and anything else ends the path
        return (vec![prefix], i);
    }
}

/// Every module path a file names, resolved to absolute paths, per inline module.
fn scan(module: &[String], code: &str, graph: &mut Graph) {
    let chars: Vec<char> = code.chars().collect();
    let text: String = chars.iter().collect();
    // Inline `mod name {` blocks: (name, brace depth at which it closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let here = |inline: &Vec<(String, usize)>| {
        let mut m = module.to_vec();
        m.extend(inline.iter().map(|(n, _)| n.clone()));
        m
    };
    while i < chars.len() {
        let c = chars[i];
        let boundary = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':';
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 200)].iter().collect();
        if boundary && rest.starts_with("mod ") {
            let name: String = rest[4..].chars().take_while(|c| is_ident(*c)).collect();
            let after = rest[4 + name.len()..].trim_start();
            if after.starts_with('{') {
                inline.push((name, depth + 1));
            }
        }
        for kw in ["crate::", "super::", "self::"] {
            if !(boundary && rest.starts_with(kw)) {
                continue;
            }
            let mut base = here(&inline);
            let mut j = i + kw.len();
            match kw {
                "crate::" => base.clear(),
                "super::" => {
                    base.pop();
                    while text[char_offset(&chars, j)..].starts_with("super::") {
                        base.pop();
                        j += "super::".len();
                    }
                }
                _ => {}
            }
            let tail: String = chars[j..chars.len().min(j + 2000)].iter().collect();
            let (paths, _) = path_tree(&tail);
            for p in paths {
                let mut full = base.clone();
                full.extend(p.into_iter().filter(|s| s != "*" && s != "self"));
                graph
                    .edges
                    .entry(module.join("::"))
                    .or_default()
                    .insert(full.join("::"));
            }
        }
        if boundary {
            for krate in NOT_IN_MODEL {
                if rest.starts_with(&format!("{krate}::")) {
                    graph
                        .crates
                        .entry(module.join("::"))
                        .or_default()
                        .insert(krate.to_string());
                }
            }
        }
        i += 1;
    }
}

fn char_offset(chars: &[char], n: usize) -> usize {
    chars[..n].iter().map(|c| c.len_utf8()).sum()
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    src_files(&src, &mut files);
    let mut g = Graph::default();
    for f in files {
        let module = module_of(&src, &f);
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        scan(&module, &code, &mut g);
        g.edges.entry(module.join("::")).or_default();
    }
    g
}

/// The first `n` segments of a module path.
fn level(path: &str, n: usize) -> String {
    path.split("::").take(n).collect::<Vec<_>>().join("::")
}

/// Edges between nodes of one level (1 = parts, 2 = modules of a part), without self-edges and
/// without edges to a part's root file (its `mod.rs` is glue: declarations and re-exports).
fn edges_at(g: &Graph, n: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &g.edges {
        if from.split("::").count() < n {
            continue;
        }
        let a = level(from, n);
        for to in tos {
            if to.split("::").count() < n {
                continue;
            }
            let b = level(to, n);
            if a != b && (n == 1 || level(&a, 1) == level(&b, 1)) {
                out.entry(a.clone()).or_default().insert(b);
            }
        }
    }
    out
}

/// Every elementary cycle, each written from its smallest node: "a -> b -> a".
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    fn walk(
        edges: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        path: &mut Vec<String>,
        found: &mut BTreeSet<String>,
    ) {
        let last = path.last().unwrap().clone();
        for next in edges.get(&last).into_iter().flatten() {
            if next == start {
                let mut p = path.clone();
                p.push(start.to_string());
                found.insert(format!("cycle: {}", p.join(" -> ")));
            } else if next.as_str() > start && !path.contains(next) && path.len() < 8 {
                path.push(next.clone());
                walk(edges, start, path, found);
                path.pop();
            }
        }
    }
    for start in edges.keys() {
        walk(edges, start, &mut vec![start.clone()], &mut found);
    }
    found
}

fn violations(g: &Graph) -> BTreeSet<String> {
    let mut v = BTreeSet::new();
    let client = ["model", "engine", "ui", "cli"];
    for (from, tos) in &g.edges {
        let part = level(from, 1);
        for to in tos {
            let target = level(to, 1);
            if target == part || to.is_empty() {
                continue;
            }
            match part.as_str() {
                "sim" if client.contains(&target.as_str()) => {
                    v.insert(format!(
                        "sim imports client code: {from} -> {}",
                        level(to, 2)
                    ));
                }
                "model" if ["engine", "ui", "cli", "sim"].contains(&target.as_str()) => {
                    v.insert(format!(
                        "model imports {target}: {from} -> {}",
                        level(to, 2)
                    ));
                }
                "engine" if target != "model" => {
                    v.insert(format!(
                        "engine imports {target}: {from} -> {}",
                        level(to, 2)
                    ));
                }
                "ui" if !UI_DRIVER_SIDE.contains(&level(from, 2).as_str())
                    && !["model", "ui"].contains(&target.as_str()) =>
                {
                    v.insert(format!(
                        "pane imports {target}: {} -> {}",
                        level(from, 2),
                        level(to, 2)
                    ));
                }
                _ => {}
            }
        }
    }
    for (from, crates) in &g.crates {
        if level(from, 1) == "model" {
            for c in crates {
                v.insert(format!("model uses {c}: {from}"));
            }
        }
    }
    v.extend(cycles(&edges_at(g, 1)));
    v.extend(cycles(&edges_at(g, 2)));
    v
}

#[test]
fn the_import_rules_of_architecture_md_hold() {
    let found = violations(&graph());
    let known: BTreeSet<String> = KNOWN.iter().map(|s| s.to_string()).collect();
    let new: Vec<&String> = found.difference(&known).collect();
    let gone: Vec<&String> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "import rules of ARCHITECTURE.md broken:\n  {}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    assert!(
        gone.is_empty(),
        "fixed, so remove from KNOWN in tests/engine/architecture.rs:\n  {}",
        gone.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The checker itself: it sees a cycle, a sim import and a pane import in made-up code.
#[test]
fn the_checker_sees_what_it_must() {
    let mut g = Graph::default();
    let file = |m: &str, code: &str, g: &mut Graph| {
        let module: Vec<String> = m.split("::").map(String::from).collect();
        scan(&module, &code_only(code), g);
    };
    file(
        "engine::a",
        "use crate::engine::{b::X, c};\n// use crate::ui::Nope;\nlet s = \"crate::cli::no\";",
        &mut g,
    );
    file("engine::b", "use super::a::Y;", &mut g);
    file(
        "sim::x",
        "fn f() { crate::model::Profile::default(); }",
        &mut g,
    );
    file(
        "ui::pane",
        "mod tests { use super::super::driver::Z; }",
        &mut g,
    );
    file("ui::other", "use crate::engine::rest::Client;", &mut g);
    file("model::m", "fn f() { tokio::spawn(async {}); }", &mut g);
    let v = violations(&g);
    let want = [
        "cycle: engine::a -> engine::b -> engine::a",
        "sim imports client code: sim::x -> model::Profile",
        "pane imports engine: ui::other -> engine::rest",
        "model uses tokio: model::m",
    ];
    for w in want {
        assert!(v.contains(w), "missing {w:?} in {v:#?}");
    }
    assert!(!v.iter().any(|s| s.contains("-> cli")), "{v:#?}");
    assert_eq!(v.len(), want.len(), "{v:#?}");
}

// ---- function length (the scanner: `architecture/fn_scan.rs`) ----

mod fn_scan;
use fn_scan::{FnSpan, functions};

/// A function longer than this (lines from `fn` to its closing brace) needs a reason to stay.
const MAX_FN_LINES: usize = 80;

/// Functions in `src/` over [`MAX_FN_LINES`] that stay for now, as "file: name" with the
/// reason. Tests (`#[test]` functions, `#[cfg(test)]` items, `mod tests`) are not counted. An
/// entry that is no longer over the limit fails the test, so the list only shrinks.
const LONG_FNS: &[(&str, &str)] = &[];

/// Every function over [`MAX_FN_LINES`] in `src/`, as "file: name" → its lengths.
fn long_functions() -> BTreeMap<String, Vec<usize>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    src_files(&root.join("src"), &mut files);
    let mut long: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for span in functions(&std::fs::read_to_string(&f).unwrap()) {
            if span.lines > MAX_FN_LINES {
                long.entry(format!("{rel}: {}", span.name))
                    .or_default()
                    .push(span.lines);
            }
        }
    }
    long
}

#[test]
fn no_function_in_src_is_over_80_lines_but_the_listed_ones() {
    let long = long_functions();
    let allowed: BTreeMap<&str, &str> = LONG_FNS.iter().copied().collect();
    let new: Vec<String> = long
        .iter()
        .filter(|(k, _)| !allowed.contains_key(k.as_str()))
        .map(|(k, n)| format!("{k} ({n:?} lines)"))
        .collect();
    let gone: Vec<&str> = allowed
        .keys()
        .filter(|k| !long.contains_key(**k))
        .copied()
        .collect();
    assert!(
        new.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them by what they do; a data table may go \
         into LONG_FNS in tests/engine/architecture.rs with its reason):\n  {}",
        new.join("\n  ")
    );
    assert!(
        gone.is_empty(),
        "no longer over {MAX_FN_LINES} lines, so remove from LONG_FNS in \
         tests/engine/architecture.rs:\n  {}",
        gone.join("\n  ")
    );
    for (k, reason) in LONG_FNS {
        assert!(
            !reason.trim().is_empty(),
            "LONG_FNS entry {k} needs a reason"
        );
    }
}

/// The scanner itself, on made-up code: braces in strings, chars, comments and raw strings do
/// not count; test functions, `#[cfg(test)]` items and `mod tests` are skipped; a trait's
/// method without a body and an array type in a signature do not confuse it.
#[test]
fn the_function_scanner_counts_what_it_must() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let code = format!(
        "trait T {{\n    fn decl(&self, a: [u8; 4]);\n}}\n\
         fn tricky<'a>(s: &'a str, a: [u8; 2]) -> char {{\n\
         \x20   let _ = \"{{ \\\" {{\";\n\
         \x20   let _ = r#\"}} \" }}\"#;\n\
         \x20   let _ = br\"{{\";\n\
         \x20   let _ = b\"}}\";\n\
         \x20   // }} }}\n\
         \x20   /* {{ /* nested }} */ {{ */\n\
         \x20   let _ = '{{';\n\
         \x20   let _ = '\\'';\n\
         \x20   let _ = '\\u{{7b}}';\n\
         \x20   'outer: loop {{ break 'outer; }}\n\
         \x20   '}}'\n\
         }}\n\
         pub async fn long_one() {{\n{}}}\n\
         #[test]\nfn a_test() {{\n{}}}\n\
         #[tokio::test(flavor = \"current_thread\")]\nasync fn an_async_test() {{\n{}}}\n\
         #[cfg(test)]\nmod checks {{\n    fn helper() {{\n{}    }}\n}}\n\
         mod tests {{\n    fn helper() {{\n{}    }}\n}}\n\
         impl S {{\n    fn method(&self) {{\n        fn inner() {{}}\n    }}\n}}\n",
        body(81),
        body(90),
        body(90),
        body(90),
        body(90),
    );
    let spans = functions(&code);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["tricky", "long_one", "inner", "method"],
        "{spans:#?}"
    );
    assert_eq!(
        spans[0],
        FnSpan {
            name: "tricky".into(),
            line: 4,
            lines: 13
        }
    );
    assert_eq!(spans[1].lines, 83, "{spans:#?}");
    assert_eq!(spans[3].lines, 3, "{spans:#?}");
}
