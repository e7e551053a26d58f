//! One sanitiser wherever a server string meets a terminal or a report (issue 21 item 12, issue
//! 20's table/TSV item): a binding list carrying escape sequences, a bidi override and U+FFFE in
//! its roles and source reaches `rolebinding list -o table|tsv`, `audit -o table`, the Markdown
//! and JUnit reports, annotations, and plan and apply lines with none of them left.

use crate::harness::*;
use serde_json::json;

const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}\u{fffe}\u{ffff}";

fn hostile_list(emu: &Emulator, times: u32) {
    let role = format!("{ML_ROLE}{HOSTILE}");
    let source = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws{HOSTILE}"
    );
    let list = json!({"value": [{
        "id": binding_path("cluster1", "evil"), "name": "evil",
        "properties": {"sourceResourceId": source, "roles": [role], "provisioningState": format!("Succeeded{HOSTILE}")}
    }]});
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(
            json!([{"method": "GET", "path": format!("{}/trustedAccessRoleBindings", cluster_path("cluster1")),
                    "body": list.to_string(), "times": times}])
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
}

fn clean(what: &str, text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{fffe}', '\u{ffff}'] {
        assert!(
            !text.contains(bad),
            "{what} holds U+{:04X}: {text:?}",
            bad as u32
        );
    }
}

#[test]
fn lists_and_audits_show_no_server_escape_sequences() {
    let emu = Emulator::start();
    hostile_list(&emu, 10);
    let list = [
        "rolebinding",
        "list",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
    ];
    let table = run(emu.cli().args(list).args(["-o", "table"]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("evil"), "{}", table.stdout);
    clean("rolebinding list -o table", &table.stdout);
    let tsv = run(emu
        .cli()
        .args(list)
        .args(["-o", "tsv", "--query", "[].properties.roles[0]"]));
    clean("rolebinding list -o tsv", &tsv.stdout);
    let audit = run(emu
        .cli()
        .current_dir(emu.home.path())
        .env("GITHUB_ACTIONS", "true")
        .args([
            "audit",
            "-o",
            "table",
            "--report",
            "markdown=r.md",
            "--report",
            "junit=r.xml",
        ]));
    assert!(audit.stdout.contains("cluster1"), "{}", audit.stdout);
    clean("audit -o table", &audit.stdout);
    clean("audit's annotations", &audit.stderr);
    for report in ["r.md", "r.xml"] {
        let text = std::fs::read_to_string(emu.home.path().join(report)).unwrap();
        clean(report, &text);
    }
}

#[test]
fn plan_and_apply_lines_show_no_server_escape_sequences() {
    let emu = Emulator::start();
    hostile_list(&emu, 2);
    let manifest = format!(
        "apiVersion: aks-trustedaccess/v1\nbindings:\n  - name: ml\n    sourceResourceId: /subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace\n    roles: [{ML_ROLE}]\n    clusters: [{}]\n",
        cluster_path("cluster1")
    );
    std::fs::write(emu.home.path().join("m.yaml"), manifest).unwrap();
    let plan = run(emu
        .cli()
        .current_dir(emu.home.path())
        .args(["plan", "-f", "m.yaml", "--prune"]));
    assert_eq!(plan.code, 4, "{}", plan.stderr);
    assert!(plan.stdout.contains("- evil"), "{}", plan.stdout);
    clean("plan", &plan.stdout);
    let apply = run(emu
        .cli()
        .current_dir(emu.home.path())
        .args(["apply", "-f", "m.yaml", "--prune", "--yes"]));
    assert!(apply.stdout.contains("evil"), "{}", apply.stdout);
    clean("apply", &apply.stdout);
    clean("apply's stderr", &apply.stderr);
}
