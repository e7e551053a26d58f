//! `--query` against the official JMESPath compliance suite (jmespath/jmespath.test, vendored in
//! `tests/fixtures/jmespath/`), which az's Python jmespath passes: every case through the same
//! `Query` the CLI uses, and a sample through the real binary. A case the suite calls an error
//! is refused before any request (exit 2) when the expression alone shows it (syntax, unknown
//! function, arity, zero slice step), and fails with exit 1 when only the data does (a type).

use crate::harness::*;
use aks_trustedaccess::output::query::{Query, python_compact_json};
use serde_json::Value;

fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .map(|f| serde_json::json!(f))
            .unwrap_or(Value::Null),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

struct Case {
    file: String,
    given: Value,
    expression: String,
    expected: Result<Value, String>,
}

fn compliance_cases() -> Vec<Case> {
    let dir = format!("{}/tests/fixtures/jmespath", env!("CARGO_MANIFEST_DIR"));
    let mut cases = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let groups: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for group in groups {
            for case in group["cases"].as_array().unwrap() {
                let expected = match case.get("error") {
                    Some(kind) => Err(kind.as_str().unwrap().to_string()),
                    None => Ok(case["result"].clone()),
                };
                cases.push(Case {
                    file: name.clone(),
                    given: group["given"].clone(),
                    expression: case["expression"].as_str().unwrap().to_string(),
                    expected,
                });
            }
        }
    }
    cases
}

#[test]
fn every_jmespath_compliance_case_passes() {
    let cases = compliance_cases();
    assert!(
        cases.len() > 800,
        "the suite is vendored whole ({} cases)",
        cases.len()
    );
    let mut failures = Vec::new();
    for Case {
        file,
        given,
        expression,
        expected,
    } in &cases
    {
        let outcome = Query::compile(expression).and_then(|q| q.apply(given));
        let ok = match (expected, &outcome) {
            (Ok(want), Ok(got)) => {
                let got: Value = serde_json::from_str(&python_compact_json(got)).unwrap();
                numbers_as_f64(want) == numbers_as_f64(&got)
            }
            (Err(kind), Err(e)) => e.exit_code() == if kind == "invalid-type" { 1 } else { 2 },
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{file}: {expression} → {outcome:?}, expected {expected:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_binary_applies_queries_and_rejects_bad_ones_with_the_position() {
    let emu = Emulator::start();
    let out = run(emu.cli().args([
        "role",
        "list",
        "-l",
        "westeurope",
        "--query",
        "sort_by([?starts_with(name, 'microsoft')], &name)[].name | [:2]",
    ]));
    assert_eq!(
        json(&out.stdout),
        serde_json::json!([
            "microsoft-defender-network-policy-operator",
            "microsoft-defender-operator"
        ])
    );
    let before = emu.requests().len();
    let out = run(emu
        .cli()
        .args(argv("role list -l westeurope --query '[].name | foo(@)'")));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unknown function foo() at column 11"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.requests().len(), before, "refused before any request");
}

/// jmespath.py reads a literal with `json.loads`: an integer wider than 64 bits stays an integer
/// (checked with jmespath 1.0.1 from azure-cli 2.91.0's venv). Here up to 128 bits; 2**128 is a
/// float (Python: an int), as the README's differences say.
#[test]
fn integer_literals_wider_than_64_bits_stay_integers() {
    let emu = Emulator::start();
    for (query, printed) in [
        (
            "`123456789012345678901234567890`",
            "123456789012345678901234567890\n",
        ),
        (
            "`[-123456789012345678901234567890, {\"a\": 12345678901234567890123}]`",
            "[\n  -123456789012345678901234567890,\n  {\n    \"a\": 12345678901234567890123\n  }\n]\n",
        ),
        ("`123456789012345678901234567890` > `1`", "true\n"),
    ] {
        let out = run(emu
            .cli()
            .args(["role", "list", "-l", "westeurope", "--query", query]));
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, printed),
            "{query}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_query_nested_twenty_thousand_deep_is_refused_before_any_request() {
    let emu = Emulator::start();
    for (open, close) in [("(", ")"), ("[", "]"), ("{a:", "}"), ("!", "")] {
        let deep = format!("{}name{}", open.repeat(20_000), close.repeat(20_000));
        let before = emu.requests().len();
        let out = run(emu
            .cli()
            .args(["role", "list", "-l", "westeurope", "--query", &deep]));
        assert_eq!(
            out.code,
            2,
            "{open}: {}",
            &out.stderr[..200.min(out.stderr.len())]
        );
        assert!(
            out.stderr
                .contains("the expression nests deeper than 600 levels"),
            "{open}"
        );
        assert_eq!(emu.requests().len(), before, "refused before any request");
    }
}
