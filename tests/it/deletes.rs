//! Prune against a hostile or racing world (issue 21's **deletes** items): a list holding one
//! name twice, a binding re-created between plan and delete, a list page without `value`, stale
//! Resource Graph tags, and az's prompt setting. In each, no binding the manifest wants is
//! deleted; the emulator's records show which writes were sent.

use crate::harness::*;
use serde_json::{Value, json};

fn source(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/{name}"
    )
}

fn script(emu: &Emulator, canned: Value) {
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(canned.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text());
}

/// A binding as the service lists it.
fn listed(cluster: &str, name: &str, src: &str) -> Value {
    json!({
        "id": binding_path(cluster, name), "name": name,
        "type": "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings",
        "properties": {"sourceResourceId": src, "roles": [ML_ROLE], "provisioningState": "Succeeded"}
    })
}

/// The emulator with cluster c1 (tags env=prod) holding `bindings` (name, source workspace).
fn world(bindings: &[(&str, &str)]) -> Emulator {
    let bindings: Vec<Value> = bindings
        .iter()
        .map(|(n, s)| json!({"name": n, "sourceResourceId": source(s), "roles": [ML_ROLE]}))
        .collect();
    let state = json!({
        "subscriptions": [{"subscriptionId": SUB, "displayName": "Emulated Subscription"}],
        "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
        "clusters": [{"subscriptionId": SUB, "resourceGroup": "rg1", "name": "c1",
                      "location": "westeurope", "identityType": "SystemAssigned",
                      "tags": {"env": "prod"}, "bindings": bindings}],
    });
    Emulator::start_with_state(&state, &[])
}

/// A manifest of `entries` (name, source workspace, cluster reference in flow YAML).
fn manifest(emu: &Emulator, entries: &[(&str, &str, &str)]) {
    let mut text = String::from("apiVersion: aks-trustedaccess/v1\nbindings:\n");
    for (name, src, cluster) in entries {
        text.push_str(&format!(
            "  - name: {name}\n    sourceResourceId: {}\n    roles: [{ML_ROLE}]\n    clusters:\n      - {cluster}\n",
            source(src)
        ));
    }
    std::fs::write(emu.home.path().join("m.yaml"), text).unwrap();
}

fn cli(emu: &Emulator, args: &[&str]) -> Run {
    run(emu.cli().current_dir(emu.home.path()).args(args))
}

fn deletes(emu: &Emulator) -> Vec<String> {
    emu.request_lines()
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .map(|l| l.split('?').next().unwrap().to_string())
        .collect()
}

fn names_on_c1(emu: &Emulator) -> Vec<String> {
    let state = emu.state();
    let mut names: Vec<String> = state["clusters"][0]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn c1() -> String {
    cluster_path("c1")
}

/// A list that holds `keep` twice with different sources (a binding re-created between two
/// pages): before, the second copy was "described by no entry" and pruned, deleting `keep`.
#[test]
fn a_name_listed_twice_with_different_sources_is_never_pruned() {
    let emu = world(&[("keep", "a"), ("extra", "f")]);
    manifest(&emu, &[("keep", "a", &c1())]);
    let list = json!({"value": [listed("c1", "keep", &source("a")), listed("c1", "extra", &source("f")),
                                listed("c1", "KEEP", &source("b"))]});
    script(
        &emu,
        json!([{"method": "GET", "path": format!("{}/trustedAccessRoleBindings", c1()),
                "body": list.to_string(), "times": 2}]),
    );
    let out = cli(
        &emu,
        &["apply", "-f", "m.yaml", "--prune", "--yes", "-o", "json"],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("listed binding 'KEEP' twice"),
        "{}",
        out.stderr
    );
    assert_eq!(deletes(&emu), Vec::<String>::new());
    assert_eq!(names_on_c1(&emu), ["extra", "keep"]);
}

/// Copies that agree (the name in another case) are one binding: `keep` is as desired and only
/// `extra` is pruned.
#[test]
fn a_name_listed_twice_with_the_same_contents_is_merged() {
    let emu = world(&[("keep", "a"), ("extra", "f")]);
    manifest(&emu, &[("keep", "a", &c1())]);
    let list = json!({"value": [listed("c1", "keep", &source("a")), listed("c1", "extra", &source("f")),
                                listed("c1", "KEEP", &source("A").to_uppercase())]});
    script(
        &emu,
        json!([{"method": "GET", "path": format!("{}/trustedAccessRoleBindings", c1()),
                "body": list.to_string()}]),
    );
    let out = cli(
        &emu,
        &["apply", "-f", "m.yaml", "--prune", "--yes", "-o", "json"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let results: Vec<(String, String)> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().into(),
                a["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("extra".to_string(), "delete".to_string()),
            ("keep".into(), "noop".into())
        ]
    );
    assert_eq!(
        deletes(&emu),
        [format!("DELETE {}", binding_path("c1", "extra"))]
    );
    assert_eq!(names_on_c1(&emu), ["keep"]);
}

/// Another writer deleted and re-created `extra` with another source after the plan read it:
/// the delete is not sent, the binding is reported as changed, and the exit code says so.
#[test]
fn a_binding_recreated_after_the_plan_is_not_pruned() {
    let emu = world(&[("keep", "a"), ("extra", "f")]);
    manifest(&emu, &[("keep", "a", &c1())]);
    script(
        &emu,
        json!([{"method": "GET", "path": binding_path("c1", "extra"),
                "body": listed("c1", "extra", &source("someone-elses")).to_string()}]),
    );
    let out = cli(
        &emu,
        &["apply", "-f", "m.yaml", "--prune", "--yes", "-o", "json"],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let results = json(&out.stdout);
    let extra = results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "extra")
        .unwrap();
    assert_eq!(extra["result"], "changed", "{extra}");
    assert!(
        extra["error"].as_str().unwrap().contains("someone-elses"),
        "{extra}"
    );
    // The reason is on stderr too, not only in the output.
    assert!(
        out.stderr.contains("changed since the plan"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("trustedAccessRoleBindings/extra: not deleted"),
        "{}",
        out.stderr
    );
    assert_eq!(deletes(&emu), Vec::<String>::new());
    assert_eq!(names_on_c1(&emu), ["extra", "keep"]);
}

/// A list page of `{}` is not "empty and last": export names the cluster unreadable (exit 1)
/// instead of leaving its bindings out, and apply --prune deletes nothing there.
#[test]
fn a_list_page_without_value_is_an_error() {
    let emu = world(&[("keep", "a"), ("extra", "f")]);
    let bindings = format!("{}/trustedAccessRoleBindings", c1());
    script(
        &emu,
        json!([{"method": "GET", "path": bindings, "body": "{}", "times": 2}]),
    );
    let out = cli(&emu, &["export", "-o", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("not a list page"), "{}", out.stderr);
    assert_eq!(json(&out.stdout)["bindings"], json!([]));
    manifest(&emu, &[("keep", "a", &c1())]);
    let out = cli(&emu, &["apply", "-f", "m.yaml", "--prune", "--yes"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(deletes(&emu), Vec::<String>::new());
    assert_eq!(names_on_c1(&emu), ["extra", "keep"]);
}

/// The Resource Graph row of c1 with these tags (a stale copy when ARM has others).
fn graph_answer(tags: Value) -> String {
    json!({"totalRecords": 1, "count": 1, "resultTruncated": "false", "data": [{
        "id": c1(), "name": "c1", "resourceGroup": "rg1", "subscriptionId": SUB,
        "location": "westeurope", "tags": tags, "identityType": "SystemAssigned"}]})
    .to_string()
}

/// Resource Graph still shows c1's old tags (env=dev) while ARM has env=prod: the selector
/// env=prod seems not to match, and `team` (which it wants) looked undescribed. ARM's tags are
/// read before the prune, so `team` stays and only `extra` goes.
#[test]
fn stale_resource_graph_tags_do_not_decide_a_prune() {
    let emu = world(&[("base", "b"), ("team", "t"), ("extra", "f")]);
    manifest(
        &emu,
        &[
            ("base", "b", &c1()),
            (
                "team",
                "t",
                &format!("{{subscription: {SUB}, tags: {{env: prod}}}}"),
            ),
        ],
    );
    script(
        &emu,
        json!([{"method": "POST", "path_contains": "Microsoft.ResourceGraph",
                "body": graph_answer(json!({"env": "dev"})), "times": 2}]),
    );
    let out = cli(
        &emu,
        &["apply", "-f", "m.yaml", "--prune", "--yes", "-o", "json"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        deletes(&emu),
        [format!("DELETE {}", binding_path("c1", "extra"))]
    );
    assert_eq!(names_on_c1(&emu), ["base", "team"]);
    assert!(
        emu.request_lines()
            .iter()
            .any(|l| l.split('?').next() == Some(&format!("GET {}", c1()))),
        "the cluster was read through ARM"
    );
}

/// az's `disable_confirm_prompt` lifts `rolebinding delete`'s prompt, never apply's gate.
#[test]
fn az_prompt_setting_does_not_lift_the_prune_gate() {
    let emu = world(&[("keep", "a"), ("extra", "f")]);
    manifest(&emu, &[("keep", "a", &c1())]);
    let out = run(emu
        .cli()
        .current_dir(emu.home.path())
        .env("AZURE_CORE_DISABLE_CONFIRM_PROMPT", "true")
        .args(["apply", "-f", "m.yaml", "--prune"]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("needs --yes"), "{}", out.stderr);
    assert!(
        out.stderr.contains("disable_confirm_prompt does not apply"),
        "{}",
        out.stderr
    );
    emu.write_az_file("config", b"[core]\ndisable_confirm_prompt = true\n");
    let out = cli(&emu, &["apply", "-f", "m.yaml", "--prune"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(deletes(&emu), Vec::<String>::new());
    assert_eq!(names_on_c1(&emu), ["extra", "keep"]);
}

/// TERM during apply (issue 21 item 11): the writes that ended and the one in flight are listed
/// on stderr and, with `-o json`, on stdout as valid JSON; exit 143 (before: stdout empty, stderr
/// only "the operation continues in Azure").
#[cfg(unix)]
#[test]
fn an_interrupted_apply_lists_the_writes_done_and_in_flight() {
    use std::process::Stdio;
    let emu = world(&[("extra", "f")]);
    manifest(&emu, &[("new", "a", &c1())]);
    script(
        &emu,
        json!([{"method": "PUT", "path": binding_path("c1", "new"), "hang": true}]),
    );
    let child = emu
        .std_cli()
        .current_dir(emu.home.path())
        .args([
            "apply",
            "-f",
            "m.yaml",
            "--prune",
            "--yes",
            "--no-wait",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !emu.request_lines().iter().any(|l| l.starts_with("PUT")) {
        assert!(std::time::Instant::now() < deadline, "the PUT never came");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let results: Vec<(String, String, String)> = json(&String::from_utf8_lossy(&out.stdout))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let t = |k: &str| r[k].as_str().unwrap().to_string();
            (t("name"), t("action"), t("result"))
        })
        .collect();
    assert_eq!(
        results,
        [
            (
                "extra".to_string(),
                "delete".to_string(),
                "done".to_string()
            ),
            ("new".into(), "create".into(), "in-flight".into())
        ]
    );
    assert!(stderr.contains("1 writes ended, 1 in flight"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in-flight create {}/trustedAccessRoleBindings/new",
            c1()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("done delete"), "{stderr}");
}
