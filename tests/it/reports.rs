//! `audit --report`: SARIF checked against the SARIF 2.1.0 schema (vendored in
//! tests/fixtures), JUnit parsed back, the Markdown summary, and GitHub Actions annotations on
//! stderr (stdout stays data).

use crate::harness::*;
use serde_json::Value;

fn fleet_reports(emu: &Emulator) -> (Run, Value, String, String) {
    let dir = emu.home.path();
    let (sarif, junit, md) = (dir.join("a.sarif"), dir.join("a.xml"), dir.join("a.md"));
    let out = run(emu.cli().args([
        "audit",
        "--report",
        &format!("sarif={}", sarif.display()),
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("markdown={}", md.display()),
    ]));
    (
        out,
        json(&std::fs::read_to_string(sarif).unwrap()),
        std::fs::read_to_string(junit).unwrap(),
        std::fs::read_to_string(md).unwrap(),
    )
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema_and_carries_every_finding() {
    let emu = Emulator::start_with(&["--fleet", "2x10x2"]);
    let (out, sarif, _, _) = fleet_reports(&emu);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let schema: Value = json(&fixture("sarif-schema-2.1.0.json"));
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let from_json: usize = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["results"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(results.len(), from_json);
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("https://portal.azure.com/#resource/subscriptions/")
    }));
    assert!(results.iter().any(|r| r["ruleId"] == "TA003"));
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        17
    );
    // A result that is not valid SARIF is caught by the same check.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn junit_parses_back_with_a_testcase_per_cluster_and_rule() {
    use quick_xml::events::Event;
    let emu = Emulator::start_with(&["--fleet", "1x13x2"]);
    let (_, _, junit, md) = fleet_reports(&emu);
    let mut reader = quick_xml::Reader::from_str(&junit);
    let (mut cases, mut failures, mut errors, mut suites) = (0, 0, 0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suites += 1,
                b"testcase" => cases += 1,
                b"failure" => failures += 1,
                b"error" => errors += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    // A testsuite per rule, a testcase per cluster (and the unreadable subscription) and rule;
    // cluster 12 and the subscription cannot be read (an error in each suite); one source
    // cannot be read (an unknown: an error of type unknown in TA010's suite).
    assert_eq!(suites, 17);
    assert_eq!(cases, 17 * 14, "{junit}");
    assert_eq!(errors, 2 * 17 + 1);
    assert_eq!(
        junit
            .matches("<error type=\"unknown\" message=\"unknown: binding")
            .count(),
        1
    );
    assert!(failures > 0 && errors > 0);
    assert!(md.starts_with("## aks-trustedaccess audit\n"));
    assert!(md.contains("| TA003 dangling-source | error |"), "{md}");
}

#[test]
fn annotations_go_to_stderr_under_github_actions_unless_turned_off() {
    let emu = Emulator::start_with(&["--fleet", "1x10x2"]);
    let plain = run(emu.cli().arg("audit"));
    let annotated = run(emu.cli().arg("audit").env("GITHUB_ACTIONS", "true"));
    assert_eq!(plain.stdout, annotated.stdout, "stdout stays data");
    assert!(
        annotated
            .stderr
            .contains("::error title=TA001 no-binding::"),
        "{}",
        annotated.stderr
    );
    assert!(!plain.stderr.contains("::error"));
    let off = run(emu
        .cli()
        .args(["audit", "--no-annotations"])
        .env("GITHUB_ACTIONS", "true"));
    assert!(!off.stderr.contains("::error"));
}
