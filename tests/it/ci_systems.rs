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
    assert_eq!(rules.as_array().unwrap().len(), 12);
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
