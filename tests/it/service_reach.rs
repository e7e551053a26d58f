//! `audit --services` where the audit's identity cannot read a service: Resource Graph leaves
//! the rows out without a word, so the audit reads the caller's permissions per subscription
//! (once each) and makes those checks `unknown`, never a pass or a false TA014; and the
//! emulator's own model of those permissions (its permissions API, Resource Graph rows and
//! resource GETs that follow them).

use crate::emulator_services::{S1, S2, cluster_id, vault_id};
use crate::harness::*;
use serde_json::{Value, json};

const READ_BACKUP: &str = "Microsoft.DataProtection/backupVaults/backupInstances/read";
const ROLE: &str = "Microsoft.DataProtection/backupVaults/backup-operator";
const PERMISSIONS: &str = "/providers/Microsoft.Authorization/permissions";

/// Everything readable but backup instances (a custom role, as `*/read` less one action).
fn without_backup() -> Value {
    json!([{"actions": ["*/read"], "notActions": [READ_BACKUP]}])
}

/// In each subscription: cluster1/cluster3 protected by the vault with no binding to it (TA013),
/// cluster2/cluster4 bound to the vault with no backup instance (TA014). The caller may not
/// read backup instances in S1.
fn state() -> Value {
    let cluster = |sub: &str, name: &str, bound: bool| {
        let bindings = match bound {
            true => {
                json!([{"name": "vault-binding", "sourceResourceId": vault_id(sub), "roles": [ROLE]}])
            }
            false => json!([]),
        };
        json!({"subscriptionId": sub, "resourceGroup": "rg1", "name": name,
               "location": "westeurope", "identityType": "SystemAssigned", "bindings": bindings})
    };
    let groups: Vec<Value> = [S1, S2]
        .iter()
        .flat_map(|s| ["rg1", "rg-backup"].map(|g| json!({"subscriptionId": s, "name": g})))
        .collect();
    let instance = |sub: &str, cluster: &str| {
        json!({"vaultId": vault_id(sub), "name": format!("{cluster}-bi"),
               "dataSourceId": cluster_id(sub, cluster)})
    };
    json!({
        "subscriptions": [
            {"subscriptionId": S1, "displayName": "One", "permissions": without_backup()},
            {"subscriptionId": S2, "displayName": "Two"},
        ],
        "resourceGroups": groups,
        "clusters": [cluster(S1, "cluster1", false), cluster(S1, "cluster2", true),
                     cluster(S2, "cluster3", false), cluster(S2, "cluster4", true)],
        "resources": [
            {"id": vault_id(S1), "identity": {"type": "SystemAssigned"}},
            {"id": vault_id(S2), "identity": {"type": "SystemAssigned"}},
        ],
        "services": {"backupInstances": [instance(S1, "cluster1"), instance(S2, "cluster3")]},
    })
}

fn audit(emu: &Emulator, extra: &[&str]) -> Run {
    emu.control_client()
        .delete(format!("{}/_emulator/requests", emu.url))
        .send()
        .unwrap();
    let mut args = vec!["audit", "--services", "-o", "json"];
    args.extend_from_slice(extra);
    run(emu.cli().args(&args))
}

/// The permissions GETs the emulator received, as `path?query`.
fn permission_reads(emu: &Emulator) -> Vec<String> {
    let mut reads: Vec<String> = emu
        .request_lines()
        .into_iter()
        .filter(|l| l.contains(PERMISSIONS))
        .collect();
    reads.sort();
    reads
}

fn read_of(sub: &str) -> String {
    format!("GET /subscriptions/{sub}{PERMISSIONS}?api-version=2022-04-01")
}

/// A cluster's row: its verdict, and its TA013/TA014 results as (rule, outcome, message, hint).
fn service_results(rows: &Value, cluster: &str) -> (String, Vec<[String; 4]>) {
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cluster"] == cluster)
        .unwrap_or_else(|| panic!("no row for {cluster}: {rows}"));
    let results = row["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "TA013" || f["ruleId"] == "TA014")
        .map(|f| ["ruleId", "outcome", "message", "hint"].map(|k| f[k].as_str().unwrap().into()))
        .collect();
    (row["verdict"].as_str().unwrap().to_string(), results)
}

fn outcomes(results: &[[String; 4]]) -> Vec<(&str, &str)> {
    results
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect()
}

#[test]
fn a_service_the_identity_cannot_read_is_unknown_and_the_other_subscription_is_judged() {
    let emu = Emulator::start_with_state(&state(), &[]);
    let out = audit(&emu, &["--subscription", S1, "--subscription", S2]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let rows = json(&out.stdout);

    // S1: the backup instance cluster1 has without a binding is not a pass, but unknown…
    let (verdict, r) = service_results(&rows, "cluster1");
    assert_eq!(outcomes(&r), [("TA013", "unknown")], "{verdict}");
    let (message, hint) = (&r[0][2], &r[0][3]);
    for part in [
        READ_BACKUP,
        S1,
        "Resource Graph leaves out what the caller cannot read",
    ] {
        assert!(message.contains(part), "{message}");
    }
    assert!(message.starts_with("Azure Backup: "), "{message}");
    assert_eq!(
        hint,
        &format!(
            "grant the audit's identity Reader (or {READ_BACKUP}) on subscription {S1}, or pass --allow-unknown to accept unknowns"
        )
    );
    // …and the vault binding of cluster2 is not reported as serving nothing: unknown too.
    let (verdict, r) = service_results(&rows, "cluster2");
    assert_eq!(
        outcomes(&r),
        [("TA013", "unknown"), ("TA014", "unknown")],
        "{r:?}"
    );
    assert_eq!(verdict, "unknown");
    assert!(r[1][2].starts_with("binding vault-binding: whether a backup instance of the cluster in that vault exists could not be read (the audit's identity is not granted"), "{}", r[1][2]);

    // S2, readable: judged as before.
    let (verdict, r) = service_results(&rows, "cluster3");
    assert_eq!(
        (verdict.as_str(), outcomes(&r)),
        ("fail", vec![("TA013", "finding")])
    );
    assert!(r[0][3].contains(&format!("--source-resource-id {}", vault_id(S2))));
    let (verdict, r) = service_results(&rows, "cluster4");
    assert_eq!(
        (verdict.as_str(), outcomes(&r)),
        ("warn", vec![("TA014", "finding")])
    );
    assert!(
        out.stderr.contains("(3 checks that could not be made)"),
        "{}",
        out.stderr
    );
    // One permissions read per subscription, shared by its clusters and bindings.
    assert_eq!(permission_reads(&emu), [read_of(S1), read_of(S2)]);

    // Only the subscriptions the rules look into are read.
    let only_two = audit(&emu, &["--subscription", S2]);
    assert_eq!(only_two.code, 4, "{}", only_two.stderr);
    assert_eq!(permission_reads(&emu), [read_of(S2)]);

    // The unknowns came from the permissions alone: granted back, S1 is judged like S2.
    let put = emu
        .control_client()
        .put(format!("{}/_emulator/permissions", emu.url))
        .json(&json!({S1: null}))
        .send()
        .unwrap();
    assert_eq!(put.status().as_u16(), 204);
    let rows = json(&audit(&emu, &["--subscription", S1, "--subscription", S2]).stdout);
    assert_eq!(
        outcomes(&service_results(&rows, "cluster1").1),
        [("TA013", "finding")]
    );
    assert_eq!(
        outcomes(&service_results(&rows, "cluster2").1),
        [("TA014", "finding")]
    );
}

#[test]
fn a_refused_permissions_read_leaves_those_checks_unknown_with_its_reason() {
    let mut world = state();
    world["subscriptions"][0]
        .as_object_mut()
        .unwrap()
        .remove("permissions");
    let emu = Emulator::start_with_state(&world, &[]);
    let refusal = json!({"error": {"code": "AuthorizationFailed",
        "message": "The client does not have authorization to perform action 'Microsoft.Authorization/permissions/read'."}});
    let script = json!([{"method": "GET", "pathContains": format!("{S1}{PERMISSIONS}"),
        "times": 1, "status": 403, "body": refusal.to_string()}]);
    emu.script(&script);
    let out = audit(&emu, &["--subscription", S1, "--subscription", S2]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let rows = json(&out.stdout);
    // Nothing is known of what S1's caller can read: every service's checks there are unknown.
    let unknown = ("TA013", "unknown");
    for (cluster, expected) in [
        ("cluster1", vec![unknown; 3]),
        (
            "cluster2",
            vec![unknown, unknown, unknown, ("TA014", "unknown")],
        ),
        ("cluster3", vec![("TA013", "finding")]),
        ("cluster4", vec![("TA014", "finding")]),
    ] {
        let (_, r) = service_results(&rows, cluster);
        assert_eq!(outcomes(&r), expected, "{cluster}: {r:?}");
        for unknown in r.iter().filter(|f| f[1] == "unknown") {
            assert!(
                unknown[2].contains(&format!(
                    "the caller's permissions on subscription {S1} could not be read: (AuthorizationFailed)"
                )),
                "{}",
                unknown[2]
            );
            assert!(unknown[3].contains("grant Reader"), "{}", unknown[3]);
        }
    }
    // A 403 is an answer: read once, not retried, and shared by both clusters.
    assert_eq!(permission_reads(&emu), [read_of(S1), read_of(S2)]);

    // A 503 that outlasts the retries: unknown too, and the hint does not blame permissions.
    let script = json!([{"method": "GET", "pathContains": format!("{S1}{PERMISSIONS}"),
        "times": 3, "status": 503, "body": "{\"error\": {\"code\": \"ServiceUnavailable\", \"message\": \"busy\"}}"}]);
    emu.script(&script);
    emu.control_client()
        .delete(format!("{}/_emulator/requests", emu.url))
        .send()
        .unwrap();
    let out = run(emu.cli().env("AKS_TRUSTEDACCESS_MAX_RETRIES", "2").args([
        "audit",
        "--services",
        "-o",
        "json",
        "--subscription",
        S1,
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let (_, r) = service_results(&json(&out.stdout), "cluster1");
    assert_eq!(outcomes(&r), [unknown; 3]);
    assert!(r[0][2].contains("could not be read: "), "{}", r[0][2]);
    assert!(
        r[0][3].starts_with("not a permission problem"),
        "{} / {}",
        r[0][2],
        r[0][3]
    );
    assert_eq!(permission_reads(&emu), vec![read_of(S1); 3], "two retries");
}

#[test]
fn permissions_over_several_pages_are_read_whole() {
    let mut world = state();
    // The first page takes backup instances away; the second entry grants them.
    world["subscriptions"][0]["permissions"] = json!([
        {"actions": ["*/read"], "notActions": [READ_BACKUP]},
        {"actions": ["microsoft.dataprotection/*/READ"]},
    ]);
    let emu = Emulator::start_with_state(&world, &["--page-size", "1"]);
    let out = audit(&emu, &["--subscription", S1]);
    let rows = json(&out.stdout);
    assert_eq!(
        outcomes(&service_results(&rows, "cluster1").1),
        [("TA013", "finding")],
        "{}",
        out.stderr
    );
    assert_eq!(
        permission_reads(&emu),
        [read_of(S1), format!("{}&$skipToken=1", read_of(S1)),]
    );
}

fn arm_get(emu: &Emulator, path: &str) -> (u16, Value) {
    let resp = emu
        .control_client()
        .get(format!("{}{path}", emu.url))
        .bearer_auth("t")
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn the_emulator_serves_permissions_and_hides_what_they_do_not_grant() {
    let emu = Emulator::start_with_state(&state(), &[]);
    let get = |sub: &str, version: &str| {
        arm_get(
            &emu,
            &format!("/subscriptions/{sub}{PERMISSIONS}?api-version={version}"),
        )
    };
    let entry = |actions: Value, not_actions: Value| json!({"actions": actions, "notActions": not_actions, "dataActions": [], "notDataActions": []});
    assert_eq!(
        get(S1, "2022-04-01"),
        (
            200,
            json!({"value": [entry(json!(["*/read"]), json!([READ_BACKUP]))]})
        )
    );
    // Absent, a subscription grants everything: every older world is unchanged.
    assert_eq!(
        get(S2, "2022-04-01"),
        (200, json!({"value": [entry(json!(["*"]), json!([]))]}))
    );
    let (status, body) = get("33333333-0000-0000-0000-000000000003", "2022-04-01");
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("SubscriptionNotFound"))
    );
    let (status, body) = get(S1, "2020-01-01");
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("NoRegisteredProviderFound"))
    );

    // Resource Graph leaves out the backup instances of S1, and keeps the vaults.
    let graph = |query: &str| -> Vec<String> {
        let resp = emu
            .control_client()
            .post(format!(
                "{}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01",
                emu.url
            ))
            .bearer_auth("t")
            .json(&json!({"query": query}))
            .send()
            .unwrap();
        let body: Value = resp.json().unwrap();
        let rows = body["data"].as_array().unwrap_or_else(|| panic!("{body}"));
        rows.iter()
            .map(|r| r["subscriptionId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        graph("recoveryservicesresources | project subscriptionId"),
        [S2]
    );
    assert_eq!(
        graph(
            "resources | where type =~ 'microsoft.dataprotection/backupvaults' | project subscriptionId | order by subscriptionId asc"
        ),
        [S1, S2]
    );
    // An ARM GET of one answers 403 there, 200 where the caller may read it.
    let instance = |sub: &str, cluster: &str| {
        format!(
            "{}/backupInstances/{cluster}-bi?api-version=2024-04-01",
            vault_id(sub)
        )
    };
    let (status, body) = arm_get(&emu, &instance(S1, "cluster1"));
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("AuthorizationFailed"))
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("'{READ_BACKUP}'")), "{message}");
    assert_eq!(arm_get(&emu, &instance(S2, "cluster3")).0, 200);

    // Set through the control API (an unknown subscription changes nothing) and kept in the state.
    let control = format!("{}/_emulator/permissions", emu.url);
    let client = emu.control_client();
    let bad = client
        .put(&control)
        .json(&json!({S2: [], "33333333-0000-0000-0000-000000000003": []}))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let ok = client
        .put(&control)
        .json(&json!({S1: null, S2: [{"actions": ["Microsoft.ContainerService/*/read"]}]}))
        .send()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    assert_eq!(
        graph("recoveryservicesresources | project subscriptionId"),
        [S1]
    );
    let all: Value = client.get(&control).send().unwrap().json().unwrap();
    assert_eq!(all[S1], json!([entry(json!(["*"]), json!([]))]));
    let state = emu.state();
    assert!(
        state["subscriptions"][0].get("permissions").is_none(),
        "{state}"
    );
    assert_eq!(
        state["subscriptions"][1]["permissions"],
        json!([{"actions": ["Microsoft.ContainerService/*/read"], "notActions": []}])
    );
}
