//! `--query` differentially against az's own libraries: thousands of seeded random queries over
//! binding and role data, evaluated by Python's jmespath 1.1.0 with ordered dicts (az's call)
//! and rendered by knack in json, yaml, tsv and table (`tests/fixtures/generate_query_cases.py`
//! made `query-cases.json`). Every case goes through the same `Query` and `Printer` the CLI uses;
//! the cases over the emulator's own data also go through the real binary.

use crate::harness::*;
use aks_trustedaccess::output::OutputFormat;
use aks_trustedaccess::output::Printer;
use aks_trustedaccess::output::query::Query;
use serde_json::Value;

const FORMATS: [(OutputFormat, &str); 4] = [
    (OutputFormat::Json, "json"),
    (OutputFormat::Yaml, "yaml"),
    (OutputFormat::Tsv, "tsv"),
    (OutputFormat::Table, "table"),
];

const QUERY_HELP: &str = "To learn more about --query, please visit: 'https://learn.microsoft.com/cli/azure/query-azure-cli'";

fn fixture_cases() -> Value {
    serde_json::from_str(&fixture("query-cases.json")).unwrap()
}

/// What az writes on stderr for a case that fails while evaluating.
fn expected_error(case: &Value) -> Option<String> {
    let message = case["message"].as_str()?;
    match case["error"].as_str()? {
        "jmespath" => Some(format!(
            "ERROR: Invalid jmespath query supplied for `--query`: {message}\n{QUERY_HELP}\n"
        )),
        "python" => Some(format!(
            "ERROR: The command failed with an unexpected error. Here is the traceback:\nERROR: {message}\n"
        )),
        _ => None,
    }
}

/// Compares one case; returns what differs.
fn check_case(data: &Value, case: &Value) -> Vec<String> {
    let query = case["query"].as_str().unwrap();
    let mut differences = Vec::new();
    let compiled = Query::compile(query);
    if case["error"] == "syntax" {
        match compiled {
            Err(e) if e.exit_code() == 2 => {}
            other => differences.push(format!("refused by Python before running, here {other:?}")),
        }
        return differences;
    }
    let compiled = match compiled {
        Ok(q) => q,
        Err(e) => return vec![format!("refused: {}", e.render())],
    };
    for (format, key) in FORMATS {
        let printer = Printer::new(format, Some(compiled.clone()), false);
        let got = printer.render_value(data, None);
        match (expected_error(case), got) {
            (Some(want), Err(e)) if e.exit_code() == 1 && e.render() == want => {}
            (Some(want), got) => {
                differences.push(format!("{key}: want error {want:?}, got {got:?}"))
            }
            (None, Ok(text)) => {
                // null: knack could not make a table ("Table output unavailable").
                if let Some(want) = case[key].as_str()
                    && text != want
                {
                    differences.push(format!("{key}:\n--- knack\n{want}--- here\n{text}"));
                }
            }
            (None, Err(e)) => differences.push(format!("{key}: failed: {}", e.render())),
        }
    }
    differences
}

#[test]
fn thousands_of_generated_queries_match_python_jmespath_and_knack() {
    let fixture = fixture_cases();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 4000, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let data = &fixture["datasets"][case["data"].as_str().unwrap()];
        let differences = check_case(data, case);
        if !differences.is_empty() {
            failures.push(format!(
                "case {i} (seed {}) over {}: {}\n{}",
                fixture["seed"],
                case["data"],
                case["query"],
                differences.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} generated cases differ from jmespath.py + knack:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn the_binary_prints_what_az_prints_for_generated_queries_over_the_emulators_data() {
    let fixture = fixture_cases();
    let emu = Emulator::start();
    let mut compared = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let command: &[&str] = match case["data"].as_str().unwrap() {
            "catalog" => &["role", "list", "-l", "westeurope"],
            "cluster1" => &[
                "rolebinding",
                "list",
                "-g",
                "rg1",
                "--cluster-name",
                "cluster1",
            ],
            _ => continue,
        };
        let query = case["query"].as_str().unwrap();
        for (_, key) in FORMATS {
            let before = emu.requests().len();
            let out = run(emu.cli().args(command).args(["--query", query, "-o", key]));
            let context = format!("{command:?} --query {query:?} -o {key}");
            if case["error"] == "syntax" {
                assert_eq!(out.code, 2, "{context}: {}", out.stderr);
                assert_eq!(
                    emu.requests().len(),
                    before,
                    "{context}: refused before any request"
                );
            } else if let Some(want) = expected_error(case) {
                assert_eq!(
                    (out.code, out.stderr.as_str()),
                    (1, want.as_str()),
                    "{context}"
                );
                assert_eq!(out.stdout, "", "{context}");
            } else if let Some(want) = case[key].as_str() {
                assert_eq!(
                    (out.code, out.stdout.as_str()),
                    (0, want),
                    "{context}: {}",
                    out.stderr
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 16 * FORMATS.len());
}

#[test]
fn keys_of_a_binding_and_a_role_follow_the_sdk_model() {
    let emu = Emulator::start();
    let out = run(emu.cli().args([
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
        "--query",
        "[keys(@), keys(systemData)]",
        "-o",
        "tsv",
    ]));
    assert_eq!(
        out.stdout,
        "id\tname\ttype\tsystemData\tprovisioningState\tsourceResourceId\troles\tresourceGroup\n\
         createdBy\tcreatedByType\tcreatedAt\tlastModifiedBy\tlastModifiedByType\tlastModifiedAt\n",
        "{}",
        out.stderr
    );
    let out = run(emu.cli().args([
        "role",
        "list",
        "-l",
        "westeurope",
        "--query",
        "[0].[keys(@), keys(rules[0])]",
        "-o",
        "tsv",
    ]));
    assert_eq!(
        out.stdout,
        "sourceResourceType\tname\trules\nverbs\tapiGroups\tresources\tresourceNames\tnonResourceUrLs\n",
        "{}",
        out.stderr
    );
    // A query table shows a binding's columns in the SDK's order, as az does.
    let out = run(emu.cli().args([
        "rolebinding",
        "list",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "--query",
        "[?provisioningState=='Succeeded']",
        "-o",
        "table",
    ]));
    assert!(
        out.stdout
            .starts_with("Name        ProvisioningState    SourceResourceId"),
        "{}",
        out.stdout
    );
}
