//! The source tree's shape, checked: no module depends on itself through others (the module
//! graph, built from every `crate::` and `super::` path in src/, has no cycle, at the level of
//! files and of top-level modules), the layers import only downwards, every file opens with a
//! line saying what it is for, and files and functions stay within their sizes (500 and 80
//! lines, with the stated exceptions).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every .rs file under src/ (the library's modules; src/main.rs and src/bin/ are binaries).
fn library_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&src, &mut out);
    out.retain(|p| {
        let rel = p.strip_prefix(&src).unwrap();
        rel != Path::new("main.rs") && !rel.starts_with("bin")
    });
    out.sort();
    out
}

/// `src/arm/auth/mod.rs` → `arm::auth`; `src/lib.rs` → `` (the crate root).
fn module_of(file: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rel = file.strip_prefix(&src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// Source without comments (`//…` to the end of the line), so prose naming a module is no edge.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file refers to: `crate::a::b::Item` and `use crate::a::{b, c::d}` give
/// `a::b`, `a::c::d` and so on (later matched against the modules that exist).
fn references(module: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let path_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for (start, prefix) in code
        .match_indices("crate::")
        .map(|(i, _)| (i + 7, String::new()))
        .chain(code.match_indices("super::").map(|(i, _)| {
            let parent = module.rsplit_once("::").map(|(p, _)| p).unwrap_or("");
            (i + 7, parent.to_string())
        }))
    {
        let rest = &code[start..];
        let path: String = rest.chars().take_while(|&c| path_char(c)).collect();
        let path = path.trim_end_matches(':');
        let joined = |p: &str| {
            if prefix.is_empty() {
                p.to_string()
            } else {
                format!("{prefix}::{p}")
            }
        };
        // `use crate::a::{b, c::d}`: each item of the group.
        let after = &rest[path.len()..];
        if let Some(group) = after.strip_prefix("::{") {
            let inner: String = group.chars().take_while(|&c| c != '}').collect();
            for item in inner.split(',') {
                let item: String = item.trim().chars().take_while(|&c| path_char(c)).collect();
                if !item.is_empty() {
                    out.push(joined(&format!("{path}::{item}")));
                }
            }
        }
        out.push(joined(path));
    }
    out
}

/// File-level edges: module → the deepest existing module each reference lands in.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let files = library_files();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for reference in references(&from, &code) {
            let mut target = reference.as_str();
            let to = loop {
                if modules.contains(target) {
                    break Some(target.to_string());
                }
                match target.rsplit_once("::") {
                    Some((parent, _)) => target = parent,
                    None => break None,
                }
            };
            // A module's own items, and paths into its own children (declared there), are no edge.
            if let Some(to) = to.filter(|to| *to != from && !to.starts_with(&format!("{from}::"))) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// A cycle in `graph`, if any, as the path that closes it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// Every cycle, found one at a time by cutting the edge that closes it.
fn all_cycles(mut graph: BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut cycles = Vec::new();
    while let Some(cycle) = find_cycle(&graph) {
        let (from, to) = (&cycle[cycle.len() - 2], &cycle[cycle.len() - 1]);
        graph.get_mut(from).unwrap().remove(to);
        cycles.push(cycle);
    }
    cycles
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = edges();
    assert!(
        graph
            .get("commands::rolebinding")
            .is_some_and(|e| e.contains("resolve")),
        "the edge finder works (commands::rolebinding uses resolve): {graph:?}"
    );
    let unexpected: Vec<String> = all_cycles(graph.clone())
        .into_iter()
        .map(|c| c.join(" → "))
        .collect();
    assert!(
        unexpected.is_empty(),
        "module cycles:\n{}",
        unexpected.join("\n")
    );
    // The same at the top level: `arm` → `output` → `arm` is a cycle even through other files.
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let head = |m: &str| m.split("::").next().unwrap_or_default().to_string();
    for (from, tos) in &graph {
        for to in tos {
            let (a, b) = (head(from), head(to));
            if a != b && !a.is_empty() && !b.is_empty() {
                top.entry(a).or_default().insert(b);
            }
        }
    }
    if let Some(cycle) = find_cycle(&top) {
        panic!("top-level module cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_layers_import_only_downwards() {
    let layer = |m: &str, name: &str| m == name || m.starts_with(&format!("{name}::"));
    let graph = edges();
    assert!(
        graph
            .get("commands::desired")
            .is_some_and(|e| e.iter().any(|to| layer(to, "domain"))),
        "the edge finder sees domain imports: {graph:?}"
    );
    for (from, tos) in graph {
        let head = from.split("::").next().unwrap_or_default();
        for to in &tos {
            let forbidden = match head {
                "domain" => ["arm", "output", "cli", "commands", "resolve", "azconfig"]
                    .iter()
                    .any(|l| layer(to, l)),
                "commands" => layer(to, "cli") || layer(to, "output"),
                "output" => layer(to, "cli"),
                "arm" => layer(to, "output") || to == "azconfig" || to == "cli",
                _ => false,
            };
            assert!(!forbidden, "{from} depends on {to}");
        }
    }
}

/// The domain layer does no I/O: no files, environment, clock, network or runtime.
#[test]
fn the_domain_layer_does_no_io() {
    for file in library_files() {
        if !module_of(&file).starts_with("domain") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for io in [
            "std::fs",
            "std::io",
            "std::env",
            "std::net",
            "std::process",
            "SystemTime",
            "Instant",
            "tokio",
            "reqwest",
        ] {
            assert!(!code.contains(io), "{} uses {io}", file.display());
        }
    }
}

#[test]
fn every_file_opens_with_its_purpose() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = library_files();
    files.push(root.join("src/main.rs"));
    for dir in ["src/bin", "tests/it", "tests/bench"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("//! ") && first.len() > 12,
            "{} must open with a `//!` line saying what it is for",
            file.display()
        );
    }
}

/// Files longer than this are usually two ideas (STYLE.md), except the ones below.
const MAX_FILE_LINES: usize = 500;

/// Where a longer file is the job's nature: the `--query` engine (a JMESPath interpreter that
/// follows jmespath.py function by function), the emulator's KQL (its own small language), and
/// the tests.
const LONG_FILES_ALLOWED: &[&str] = &["src/output/query/", "src/emulator/kql.rs"];

/// A function longer than this does not fit in one's head (nor on one screen).
const MAX_FN_LINES: usize = 80;

/// Functions allowed to be longer, each a table (one arm or one entry per case, nothing to
/// split but the list): `path:name`. Empty today; a table that grows past the limit goes here.
const LONG_FNS_ALLOWED: &[&str] = &[];

/// Every .rs file under src/, binaries included, with its path from the crate root.
fn every_source_file() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn no_file_is_longer_than_500_lines_outside_the_stated_exceptions() {
    let mut long = Vec::new();
    for (path, text) in every_source_file() {
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES && !LONG_FILES_ALLOWED.iter().any(|a| path.starts_with(a)) {
            long.push(format!("{path}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines (split them by idea): {long:?}"
    );
}

/// The source with comments, strings and character literals blanked (newlines kept), so
/// braces and `fn` are seen only where they are code.
fn blank_non_code(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let ident_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let end = if b[i..].starts_with(b"//") {
            src[i..].find('\n').map_or(b.len(), |j| i + j)
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    (depth, j) = (depth + 1, j + 2);
                } else if b[j..].starts_with(b"*/") {
                    (depth, j) = (depth - 1, j + 2);
                } else {
                    j += 1;
                }
            }
            j
        } else if !ident_before && (b[i] == b'r' || b[i..].starts_with(b"br")) {
            let start = if b[i] == b'r' { i + 1 } else { i + 2 };
            let hashes = b[start..].iter().take_while(|c| **c == b'#').count();
            if b.get(start + hashes) == Some(&b'"') {
                let close = format!("\"{}", "#".repeat(hashes));
                let body = start + hashes + 1;
                src[body..]
                    .find(&close)
                    .map_or(b.len(), |j| body + j + close.len())
            } else {
                i + 1
            }
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '\u{1b}'), not a lifetime ('a).
            let len = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..].iter().position(|c| *c == b'\'').map(|j| j + 3)
            } else {
                let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(ch + 2)
            };
            len.map_or(i + 1, |l| i + l)
        } else {
            i + 1
        };
        if end > i + 1 || b[i] == b'"' {
            blank(&mut out, i, end);
        }
        i = end.max(i + 1);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Each function with a body: its name, first line and length in lines (from `fn` to its
/// closing brace).
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let line_at = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("fn ") {
        let at = from + found;
        from = at + 3;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body opens at the first `{` outside the signature's brackets; a `;` first is a
        // declaration without a body (a trait's).
        let (mut depth, mut j) = (0i32, at);
        while j < b.len() {
            match b[j] {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                b'{' | b';' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        if j >= b.len() || b[j] == b';' {
            continue;
        }
        let mut braces = 0;
        let mut k = j;
        while k < b.len() {
            match b[k] {
                b'{' => braces += 1,
                b'}' => {
                    braces -= 1;
                    if braces == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        out.push((name, line_at(at), line_at(k) - line_at(at) + 1));
    }
    out
}

#[test]
fn the_function_finder_sees_bodies_not_strings_comments_or_declarations() {
    let src = "fn a() {\n    let s = \"fn b() {\";\n    // fn c() {\n    let c = '{';\n}\n\
               trait T { fn d(&self); }\nfn e<'x>(v: &'x [u8; 2]) -> u8 {\n    r#\"}\"#;\n    v[0]\n}\n";
    let found = functions(&blank_non_code(src));
    assert_eq!(
        found,
        [("a".to_string(), 1, 5), ("e".to_string(), 7, 4)],
        "{src}"
    );
}

#[test]
fn no_function_is_longer_than_80_lines_outside_the_listed_tables() {
    let mut long = Vec::new();
    let mut seen = 0;
    for (path, text) in every_source_file() {
        for (name, line, lines) in functions(&blank_non_code(&text)) {
            seen += 1;
            let key = format!("{path}:{name}");
            if lines > MAX_FN_LINES && !LONG_FNS_ALLOWED.contains(&key.as_str()) {
                long.push(format!("{key} (line {line}): {lines} lines"));
            }
        }
    }
    assert!(seen > 1000, "the finder saw only {seen} functions");
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them, or list a table in LONG_FNS_ALLOWED): {long:?}"
    );
}
