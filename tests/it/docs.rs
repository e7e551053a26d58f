//! The README's table of environment variables, checked against the code both ways: every
//! variable the CLI's code reads is in the table, every row the table says the CLI reads is read,
//! and every row read by a library names a crate the build uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Names that only an environment variable can be: all capitals, digits and `_`, with a prefix
/// the tool's variables use (so `"PUT"` or `"NAME"` are not taken for variables).
const PREFIXES: [&str; 9] = [
    "AKS_TRUSTEDACCESS_",
    "AZURE_",
    "AZURESUBSCRIPTION_",
    "IDENTITY_",
    "MSI_",
    "SYSTEM_",
    "SSL_CERT_",
    "GITHUB_",
    "NO_COLOR",
];

fn is_variable_name(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The string literal opening right after `prefix` wherever it occurs in `code`.
fn literals_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    code.match_indices(prefix)
        .filter_map(|(i, m)| {
            let rest = &code[i + m.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// Every variable a file's code reads: `env::var("X")`, `var_os("X")`, the auth selection's
/// `env.get("X")`, clap's `env = "X"`, az's settings (`get("core", "output")` reads
/// `AZURE_CORE_OUTPUT`), and any literal with a variable's prefix (constants such as
/// `TOKEN_ENV`, the names listed in messages).
fn variables_read(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for call in ["var(\"", "var_os(\"", "env.get(\"", "env = \""] {
        for name in literals_after(code, call) {
            if is_variable_name(name) {
                out.insert(name.to_string());
            }
        }
    }
    for call in ["get(\"", "get_bool(\""] {
        for (i, _) in code.match_indices(call) {
            let args = &code[i + call.len() - 1..];
            let args = &args[..args.find(')').unwrap_or(0)];
            let parts: Vec<&str> = args.split('"').collect();
            // ("section", "key") → ["", section, ", ", key, ""]
            if let [_, section, ", ", key, _] = parts.as_slice() {
                let lower = |s: &str| s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                if lower(section) && lower(key) {
                    out.insert(format!("AZURE_{}_{}", section, key).to_uppercase());
                }
            }
        }
    }
    for literal in code.split('"').skip(1).step_by(2) {
        if is_variable_name(literal) && PREFIXES.iter().any(|p| literal.starts_with(p)) {
            out.insert(literal.to_string());
        }
    }
    out
}

/// The CLI's own sources: src/ without the emulator (a test server, not the tool users run).
fn cli_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("emulator") && !path.ends_with("bin") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), code_of(&text)));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// Source without `//` comments, so prose naming a variable is not a read.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The README's table: each variable with the reader its row names.
fn readme_table() -> BTreeMap<String, String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n## Environment variables\n")
        .nth(1)
        .expect("the README has an `## Environment variables` section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let mut table = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(
            cells.len() >= 3,
            "a row with variable, reader, meaning: {row}"
        );
        let reader = cells[1].trim().to_string();
        for name in cells[0]
            .trim_start_matches("| ")
            .split('`')
            .skip(1)
            .step_by(2)
        {
            let previous = table.insert(name.to_string(), reader.clone());
            assert!(previous.is_none(), "{name} is in the table twice");
        }
    }
    table
}

#[test]
fn every_environment_variable_the_code_reads_is_in_the_readme_table() {
    let table = readme_table();
    let sources = cli_sources();
    let mut read: BTreeMap<String, String> = BTreeMap::new();
    for (file, code) in &sources {
        for name in variables_read(code) {
            read.entry(name).or_insert_with(|| file.clone());
        }
    }
    // The extraction works: a variable read each way is found.
    for known in [
        "AKS_TRUSTEDACCESS_ARM_ENDPOINT", // a constant
        "AKS_TRUSTEDACCESS_AUTH",         // clap's env
        "NO_COLOR",                       // env::var_os
        "AZURE_CLIENT_SECRET",            // the auth selection's env.get
        "AZURE_DEFAULTS_GROUP",           // an az setting
    ] {
        assert!(
            read.contains_key(known),
            "the extraction misses {known}: {read:?}"
        );
    }

    let missing: Vec<String> = read
        .iter()
        .filter(|(name, _)| !table.contains_key(*name))
        .map(|(name, file)| format!("{name} (read in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "read by the code but not in the README's table of environment variables:\n{}",
        missing.join("\n")
    );

    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let mut stale = Vec::new();
    for (name, reader) in &table {
        if reader == "aks-trustedaccess" {
            if !read.contains_key(name) {
                stale.push(format!(
                    "{name}: the table says the tool reads it; no code does"
                ));
            }
        } else if !lock.contains(&format!("\nname = \"{reader}\"\n")) {
            stale.push(format!(
                "{name}: read by `{reader}`, which is not in Cargo.lock"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "stale rows in the README's table:\n{}",
        stale.join("\n")
    );
}
