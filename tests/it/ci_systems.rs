//! What CI systems show of the audit: Azure DevOps logging commands under Azure Pipelines
//! (`TF_BUILD=True`), on stderr as GitHub's annotations are; and each rule's severity and fix,
//! with the README section reports link to.

use crate::harness::*;

#[test]
fn azure_pipelines_gets_logging_commands_on_stderr_unless_turned_off() {
    let emu = Emulator::start_with(&["--fleet", "1x10x2"]);
    let plain = run(emu.cli().arg("audit"));
    let ado = run(emu.cli().arg("audit").env("TF_BUILD", "True"));
    assert_eq!(plain.stdout, ado.stdout, "stdout stays data");
    assert_eq!(ado.code, plain.code);
    let commands: Vec<&str> = ado
        .stderr
        .lines()
        .filter(|l| l.starts_with("##vso["))
        .collect();
    assert!(
        commands
            .iter()
            .any(|l| l.starts_with("##vso[task.logissue type=error;code=TA001]TA001 no-binding: ")),
        "{}",
        ado.stderr
    );
    assert!(
        commands
            .iter()
            .all(|l| l.starts_with("##vso[task.logissue type="))
    );
    assert!(!ado.stderr.contains("::error"), "not GitHub's syntax");
    assert!(!plain.stderr.contains("##vso"));
    let off = run(emu
        .cli()
        .args(["audit", "--no-annotations"])
        .env("TF_BUILD", "True"));
    assert!(!off.stderr.contains("##vso"));
}

#[test]
fn every_rule_has_a_severity_and_a_readme_section_with_its_fix() {
    let emu = Emulator::start();
    let listed = run(emu.cli().args(["audit", "--list-rules"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rules = json(&listed.stdout);
    assert_eq!(rules.as_array().unwrap().len(), 17);
    for rule in rules.as_array().unwrap() {
        let (id, name) = (rule["id"].as_str().unwrap(), rule["name"].as_str().unwrap());
        let severity = rule["severity"].as_str().unwrap();
        assert!(
            ["critical", "high", "medium", "low"].contains(&severity),
            "{rule}"
        );
        let score: f64 = rule["securitySeverity"].as_str().unwrap().parse().unwrap();
        assert!(score > 0.0 && score <= 10.0);
        let anchor = format!("#{}-{name}", id.to_ascii_lowercase());
        assert!(
            rule["helpUri"].as_str().unwrap().ends_with(&anchor),
            "{rule}"
        );
        // The section GitHub makes that anchor from, with the severity and the command.
        let heading = format!("##### {id} {name}\n");
        let at = readme
            .find(&heading)
            .unwrap_or_else(|| panic!("README has no {heading:?}"));
        let section = &readme[at..];
        let section = &section[..section[1..].find("\n##").map_or(section.len(), |e| e + 1)];
        assert!(
            section.contains(&format!(
                "Severity **{severity}** ({})",
                rule["securitySeverity"].as_str().unwrap()
            )),
            "{section}"
        );
        assert!(
            section.contains(&format!("- command: `{}`", rule["fix"].as_str().unwrap())),
            "{section}"
        );
        assert!(section.contains("- manifest") && section.contains("- Terraform"));
    }
}

/// An audit of a generated fleet with every report, an ignore file that accepts one finding and
/// has an expired entry, and (when given) a baseline. Returns the run and the reports' paths.
fn audit_with_reports(emu: &Emulator, tag: &str, extra: &[&str]) -> (Run, std::path::PathBuf) {
    let dir = emu.home.path().join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    // One ignore file for every run (its path is part of its entries' fingerprints).
    let ignore = emu.home.path().join("ignore.yaml");
    std::fs::write(
        &ignore,
        "- rule: TA001\n  resource: '/subscriptions/00000000-*/managedClusters/aks-0-9'\n  reason: decommissioned next sprint\n  owner: alice\n  expires: 2999-01-01\n- rule: TA003\n  resource: '*'\n  reason: old acceptance\n  owner: bob\n  expires: 2001-01-01\n",
    )
    .unwrap();
    let path = |name: &str| format!("{}", dir.join(name).display());
    let mut args: Vec<String> = ["audit", "-o", "json", "--ignore-file"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(ignore.display().to_string());
    for (format, file) in [
        ("sarif", "a.sarif"),
        ("junit", "a.xml"),
        ("codeclimate", "gl-code-quality.json"),
        ("markdown", "a.md"),
    ] {
        args.push("--report".into());
        args.push(format!("{format}={}", path(file)));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    (run(emu.cli().args(&args)), dir)
}

#[test]
fn sarif_rules_carry_severity_help_and_tags_and_results_come_most_severe_first() {
    let emu = Emulator::start_with(&["--fleet", "2x10x2"]);
    let (out, dir) = audit_with_reports(&emu, "a", &[]);
    assert_eq!(
        out.code, 1,
        "an unreadable cluster in the fleet: {}",
        out.stderr
    );
    let sarif = json(&std::fs::read_to_string(dir.join("a.sarif")).unwrap());
    let schema = json(&fixture("sarif-schema-2.1.0.json"));
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 17);
    let mut score_of = std::collections::HashMap::new();
    for rule in rules {
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(score > 0.0 && score <= 10.0, "{rule}");
        assert_eq!(rule["properties"]["tags"][0], "security", "{rule}");
        let anchor = format!(
            "#{}-{}",
            rule["id"].as_str().unwrap().to_ascii_lowercase(),
            rule["name"].as_str().unwrap()
        );
        assert!(
            rule["helpUri"].as_str().unwrap().ends_with(&anchor),
            "{rule}"
        );
        assert!(
            rule["help"]["text"].as_str().unwrap().contains("Command: "),
            "{rule}"
        );
        let markdown = rule["help"]["markdown"].as_str().unwrap();
        assert!(
            markdown.contains("**Severity:**") && markdown.contains("```hcl"),
            "{markdown}"
        );
        score_of.insert(rule["id"].as_str().unwrap().to_string(), score);
    }
    // Most severe first: level (error, unknown, warning, note), then the rule's score.
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let rank = |r: &serde_json::Value| {
        let level = match (r["kind"].as_str(), r["level"].as_str()) {
            (Some("open"), _) => 1,
            (_, Some("error")) => 0,
            (_, Some("warning")) => 2,
            _ => 3,
        };
        // The severity's band: critical ≥ 9, high ≥ 7, medium ≥ 4, low.
        let score = score_of[r["ruleId"].as_str().unwrap()];
        let band = [9.0, 7.0, 4.0, 0.0]
            .iter()
            .position(|b| score >= *b)
            .unwrap() as i32;
        (level, band)
    };
    let ranks: Vec<(i32, i32)> = results.iter().map(rank).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert!(ranks.first().unwrap().0 < ranks.last().unwrap().0);
    // The accepted finding is suppressed with its justification; the expired entry is a result
    // on its line of the ignore file.
    let suppressed: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .collect();
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    let why = suppressed[0]["suppressions"][0]["justification"]
        .as_str()
        .unwrap();
    assert!(
        why.starts_with("decommissioned next sprint (owner alice, until 2999-01-01; "),
        "{why}"
    );
    let expired = results
        .iter()
        .find(|r| r["ruleId"] == "TA011")
        .expect("TA011");
    let at = &expired["locations"][0]["physicalLocation"];
    assert_eq!(at["region"]["startLine"], 6);
    assert!(
        at["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/ignore.yaml")
    );
}

#[test]
fn junit_reports_known_and_suppressed_findings_as_skipped_with_the_reason() {
    use quick_xml::events::Event;
    let emu = Emulator::start_with(&["--fleet", "2x10x2"]);
    let (first, _) = audit_with_reports(&emu, "a", &[]);
    let baseline = emu.home.path().join("baseline.json");
    std::fs::write(&baseline, &first.stdout).unwrap();
    let (out, dir) = audit_with_reports(&emu, "b", &["--baseline", baseline.to_str().unwrap()]);
    // Every finding is known or accepted; the fleet's unreadable cluster makes it exit 1 (an
    // error row outranks findings), and the expired entry is a failure in the report.
    assert_eq!(out.code, 1, "{}", out.stderr);
    let junit = std::fs::read_to_string(dir.join("a.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&junit);
    let (mut skipped, mut failures, mut reasons) = (0, 0, Vec::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"skipped" => {
                    skipped += 1;
                    let message = e.try_get_attribute("message").unwrap().unwrap();
                    reasons.push(message.unescape_value().unwrap().into_owned());
                }
                b"failure" => failures += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(skipped > 0, "{junit}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("known (in the baseline): ")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("suppressed: decommissioned next sprint (owner alice")),
        "{reasons:?}"
    );
    // The one failure left: the expired entry, in the ignore file's own testcase.
    assert_eq!(failures, 1, "{junit}");
    assert!(junit.contains(&format!("skipped=\"{skipped}\"")));
    // The summary marks them too, and counts neither as new.
    let md = std::fs::read_to_string(dir.join("a.md")).unwrap();
    assert!(md.contains("| error (suppressed) | TA001 |"), "{md}");
    assert!(md.contains("| error (known) | TA003 |"), "{md}");
}

#[test]
fn the_code_quality_report_is_gitlabs_format_with_fingerprints_stable_across_runs() {
    let emu = Emulator::start_with(&["--fleet", "2x10x2"]);
    let (one, dir_one) = audit_with_reports(&emu, "one", &[]);
    let (two, dir_two) = audit_with_reports(&emu, "two", &[]);
    assert_eq!(one.code, two.code);
    let read = |dir: &std::path::Path| {
        json(&std::fs::read_to_string(dir.join("gl-code-quality.json")).unwrap())
    };
    let (first, second) = (read(&dir_one), read(&dir_two));
    let issues = first.as_array().unwrap();
    let fingerprints = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        fingerprints(&first),
        fingerprints(&second),
        "same fingerprints, same order"
    );
    let unique: std::collections::BTreeSet<String> = fingerprints(&first).into_iter().collect();
    assert_eq!(unique.len(), issues.len(), "one fingerprint per issue");
    // Every finding of the JSON output but the suppressed one, and the expired entry.
    let rows = json(&one.stdout);
    let findings: usize = rows
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["suppression"].is_null())
        .count();
    assert_eq!(issues.len(), findings + 1);
    for issue in issues {
        assert!(
            issue["description"]
                .as_str()
                .unwrap()
                .starts_with(issue["check_name"].as_str().unwrap())
        );
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap()),
            "{issue}"
        );
        assert!(!issue["location"]["path"].as_str().unwrap().is_empty());
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert_eq!(issue["fingerprint"].as_str().unwrap().len(), 64);
    }
    let dangling = issues
        .iter()
        .find(|i| i["check_name"] == "TA003 dangling-source")
        .expect("TA003");
    assert_eq!(dangling["severity"], "major");
    assert!(
        dangling["location"]["path"]
            .as_str()
            .unwrap()
            .starts_with("subscriptions/")
    );
    let expired = issues
        .iter()
        .find(|i| i["check_name"] == "TA011 suppression-expired")
        .unwrap();
    assert_eq!(expired["location"]["lines"]["begin"], 6);
}
