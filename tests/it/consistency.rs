//! The same binding gets the same answer from every command that judges it: `audit`, `rolebinding
//! check` (the doctor), the pre-write check of `rolebinding create` and `plan`, on every rule more
//! than one of them applies (role in the location's catalog, role fits the source, source exists,
//! source has a system-assigned identity).

use crate::harness::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace";
const BACKUP_ROLE: &str = "Microsoft.DataProtection/backupVaults/backup-operator";
const DEFENDER_ROLE: &str = "Microsoft.Security/pricings/microsoft-defender-operator";

fn defender_source() -> String {
    format!(
        "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
    )
}

/// One binding to judge: its source and role, the resources that exist, the location's catalog.
struct Case {
    what: &'static str,
    source: String,
    role: &'static str,
    resources: Value,
    /// The roles westeurope offers (`None`: the emulator's default catalog).
    catalog: Option<Value>,
    /// The rule this case is about, and whether the binding passes it.
    expect: (&'static str, bool),
}

fn identity(id: &str, kind: &str) -> Value {
    json!({"id": id, "identity": {"type": kind}})
}

fn cases() -> Vec<Case> {
    let ml_only_inference = json!([{"name": "inference-v1",
        "sourceResourceType": "Microsoft.MachineLearningServices/workspaces", "rules": []}]);
    vec![
        Case {
            what: "a healthy binding",
            source: WORKSPACE.into(),
            role: ML_ROLE,
            resources: json!([identity(WORKSPACE, "SystemAssigned")]),
            catalog: None,
            expect: ("role-in-catalog", true),
        },
        Case {
            what: "a role the location does not offer",
            source: WORKSPACE.into(),
            role: ML_ROLE,
            resources: json!([identity(WORKSPACE, "SystemAssigned")]),
            catalog: Some(ml_only_inference),
            expect: ("role-in-catalog", false),
        },
        Case {
            what: "a role for another source type",
            source: WORKSPACE.into(),
            role: BACKUP_ROLE,
            resources: json!([identity(WORKSPACE, "SystemAssigned")]),
            catalog: None,
            expect: ("role-fits-source", false),
        },
        Case {
            // The doctor's and the manifest's copies of the rule once let a one-segment role type
            // fit any source of its namespace.
            what: "a role typed by its namespace alone",
            source: WORKSPACE.into(),
            role: "Microsoft.MachineLearningServices/mlworkload",
            resources: json!([identity(WORKSPACE, "SystemAssigned")]),
            catalog: None,
            expect: ("role-fits-source", false),
        },
        Case {
            what: "Defender's role on its nested source",
            source: defender_source(),
            role: DEFENDER_ROLE,
            resources: json!([identity(&defender_source(), "SystemAssigned")]),
            catalog: None,
            expect: ("role-fits-source", true),
        },
        Case {
            what: "a deleted source",
            source: WORKSPACE.into(),
            role: ML_ROLE,
            resources: json!([]),
            catalog: None,
            expect: ("source-exists", false),
        },
        Case {
            what: "a source without a system-assigned identity",
            source: WORKSPACE.into(),
            role: ML_ROLE,
            resources: json!([identity(WORKSPACE, "UserAssigned")]),
            catalog: None,
            expect: ("source-identity", false),
        },
    ]
}

fn world(case: &Case) -> Value {
    let mut world = json!({
        "subscriptions": [{"subscriptionId": SUB, "displayName": "Emulated Subscription"}],
        "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
        // cluster1 holds the binding the audit and the doctor judge; the writers write the same
        // binding to cluster2 (on cluster1, plan would adopt the identical binding, not write).
        "clusters": [{
            "subscriptionId": SUB, "resourceGroup": "rg1", "name": "cluster1",
            "location": "westeurope", "identityType": "SystemAssigned",
            "bindings": [{"name": "b", "sourceResourceId": case.source, "roles": [case.role]}]
        }, {
            "subscriptionId": SUB, "resourceGroup": "rg1", "name": "cluster2",
            "location": "westeurope", "identityType": "SystemAssigned", "bindings": []
        }],
        "resources": case.resources,
    });
    if let Some(catalog) = &case.catalog {
        world["rolesByLocation"] = json!({ "westeurope": catalog });
    }
    world
}

/// A rule's answer per command: `true` the binding passes it.
type Answers = BTreeMap<&'static str, BTreeMap<&'static str, bool>>;

fn record(answers: &mut Answers, rule: &'static str, command: &'static str, passes: bool) {
    answers.entry(rule).or_default().insert(command, passes);
}

/// The doctor's verdicts on its checks that other commands share.
fn doctor(emu: &Emulator, answers: &mut Answers) {
    let out = run(emu.cli().args(argv(
        "rolebinding check -g rg1 --cluster-name cluster1 -n b -o json",
    )));
    let doc = json(&out.stdout);
    for (check, rule) in [
        ("roles-in-catalog", "role-in-catalog"),
        ("roles-fit-source", "role-fits-source"),
        ("source-exists", "source-exists"),
        ("source-identity", "source-identity"),
    ] {
        let verdict = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == check)
            .unwrap_or_else(|| panic!("no check {check}: {doc}"))["verdict"]
            .clone();
        if verdict != "unknown" {
            record(answers, rule, "doctor", verdict == "pass");
        }
    }
}

/// The audit's findings on the binding: each rule's absence is a pass.
fn audit(emu: &Emulator, answers: &mut Answers) {
    let out = run(emu.cli().args(argv("audit -o json")));
    let rows = json(&out.stdout);
    let findings: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["cluster"] == "cluster1")
        .flat_map(|row| row["results"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["ruleId"].as_str().map(str::to_string))
        .collect();
    for (id, rule) in [
        ("TA005", "role-in-catalog"),
        ("TA003", "source-exists"),
        ("TA004", "source-identity"),
    ] {
        record(answers, rule, "audit", !findings.iter().any(|f| f == id));
    }
}

/// What a refusal says about the rules the writer checks in order: fit (a role that is not
/// `<Namespace>/<type>[/<subtype>]/<name>` fits no source), then the catalog. An accepted binding
/// passed both; a catalog refusal passed fit first.
fn writer(answers: &mut Answers, command: &'static str, code: i32, stderr: &str, says: [&str; 2]) {
    let [misfit, not_offered] = says;
    if code == 2 && (stderr.contains(misfit) || stderr.contains("invalid role")) {
        record(answers, "role-fits-source", command, false);
    } else if code == 2 && stderr.contains(not_offered) {
        record(answers, "role-fits-source", command, true);
        record(answers, "role-in-catalog", command, false);
    } else {
        assert!(code == 0 || code == 4, "{command}: exit {code}: {stderr}");
        record(answers, "role-fits-source", command, true);
        record(answers, "role-in-catalog", command, true);
    }
}

fn pre_write(emu: &Emulator, case: &Case, answers: &mut Answers) {
    let line = format!(
        "rolebinding create -g rg1 --cluster-name cluster2 -n b --source-resource-id {} --roles {} --dry-run",
        case.source, case.role
    );
    let out = run(emu.cli().args(argv(&line)));
    let says = ["is for sources of type", "does not exist in"];
    writer(answers, "pre-write", out.code, &out.stderr, says);
}

fn plan(emu: &Emulator, case: &Case, answers: &mut Answers) {
    let manifest = format!(
        "apiVersion: aks-trustedaccess/v1\nbindings:\n  - name: b\n    sourceResourceId: {}\n    roles: [{}]\n    clusters: [{}]\n",
        case.source,
        case.role,
        cluster_path("cluster2")
    );
    emu.write_az_file("m.yaml", manifest.as_bytes());
    let file = emu.home.path().join("m.yaml");
    let out = run(emu
        .cli()
        .args(["plan", "-f", file.to_str().unwrap(), "-o", "json"]));
    let says = ["is for sources of type", "is not offered in"];
    writer(answers, "plan", out.code, &out.stderr, says);
}

#[test]
fn audit_doctor_pre_write_and_plan_agree_on_every_shared_rule() {
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for case in cases() {
        let emu = Emulator::start_with_state(&world(&case), &[]);
        let mut answers = Answers::new();
        doctor(&emu, &mut answers);
        audit(&emu, &mut answers);
        pre_write(&emu, &case, &mut answers);
        plan(&emu, &case, &mut answers);
        for (rule, by_command) in &answers {
            if by_command.len() < 2 {
                continue;
            }
            compared += 1;
            let first = by_command.values().next().unwrap();
            if by_command.values().any(|v| v != first) {
                disagreements.push(format!("{}: {rule}: {by_command:?}", case.what));
            }
        }
        // Agreement on the right answer: the case's own rule, from every command applying it.
        let (rule, passes) = case.expect;
        let by_command = &answers[rule];
        assert!(
            by_command.len() >= 2,
            "{}: {rule}: {by_command:?}",
            case.what
        );
        assert!(
            by_command.values().all(|v| *v == passes),
            "{}: {rule} should be {passes}: {by_command:?}",
            case.what
        );
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // Most cases compare all four shared rules (a deleted source leaves its identity unknown).
    assert!(
        compared >= 24,
        "only {compared} rules were answered by two commands or more"
    );
}
