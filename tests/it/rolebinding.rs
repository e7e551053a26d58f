//! `rolebinding list | show | create | update | delete`: az's semantics, outputs and requests.

use crate::harness::*;
use serde_json::{Value, json};

const API: &str = "api-version=2026-08-01";

fn binding_url(cluster: &str, name: &str) -> String {
    format!("{}?{API}", binding_path(cluster, name))
}

/// The body of the PUT the emulator received.
fn put_body(emu: &Emulator) -> Value {
    emu.requests()
        .into_iter()
        .find(|r| r["method"] == "PUT")
        .map(|r| r["body"].clone())
        .expect("a PUT was sent")
}

/// The reads that check the roles: the cluster (for its location) and that location's catalog.
fn check_requests(cluster: &str) -> [String; 2] {
    [
        format!("GET {}?{API}", cluster_path(cluster)),
        format!(
            "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?{API}"
        ),
    ]
}

fn create_args<'a>(name: &'a str, roles: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        name,
        "--source-resource-id",
        ML_SOURCE,
        "--roles",
    ];
    args.extend_from_slice(roles);
    args
}

#[test]
fn list_prints_the_bindings_as_az_does() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(argv("rolebinding list -g rg1 --cluster-name cluster1")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, fixture("rolebinding-list-cluster1.json"));
    assert_eq!(
        emu.request_lines(),
        [format!(
            "GET {}/trustedAccessRoleBindings?{API}",
            cluster_path("cluster1")
        )]
    );
}

#[test]
fn list_of_a_cluster_without_bindings_prints_an_empty_list() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(argv("rolebinding list -g rg1 --cluster-name cluster2")));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "[]\n", "")
    );
}

#[test]
fn list_of_a_missing_cluster_exits_3_with_arms_error() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(argv("rolebinding list -g rg1 --cluster-name nosuch")));
    assert_eq!(out.code, 3);
    assert!(out.stderr.starts_with("ERROR: (ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/nosuch'"), "{}", out.stderr);
    assert!(out.stderr.contains("\nRequest ID: "), "{}", out.stderr);
    let out = run(emu
        .cli()
        .args(argv("rolebinding list -g nogroup --cluster-name c")));
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with(
            "ERROR: (ResourceGroupNotFound) Resource group 'nogroup' could not be found."
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn show_prints_one_binding() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(
        "rolebinding show -g rg1 --cluster-name cluster1 --name ml-binding",
    )));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, fixture("rolebinding-show-ml-binding.json"));
    assert_eq!(
        emu.request_lines(),
        [format!("GET {}", binding_url("cluster1", "ml-binding"))]
    );
}

#[test]
fn show_of_a_missing_binding_exits_3_with_the_services_bare_error() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(
        "rolebinding show -g rg1 --cluster-name cluster1 -n missing",
    )));
    assert_eq!(out.code, 3);
    assert_eq!(out.stdout, "");
    let message = format!(
        "Could not find the trusted access role binding missing in subscription: {SUB}, resourceGroup: rg1, clusterName: cluster1."
    );
    assert!(
        out.stderr.starts_with(&format!(
            "ERROR: (NotFound) {message}\nCode: NotFound\nMessage: {message}\n"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn create_makes_azs_calls_in_order_and_prints_the_final_binding() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(create_args("b2", &[ML_ROLE])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let printed = scrub_times(json(&out.stdout));
    assert_eq!(
        printed,
        json!({
            "id": binding_path("cluster1", "b2"),
            "name": "b2",
            "provisioningState": "Succeeded",
            "resourceGroup": "rg1",
            "roles": [ML_ROLE],
            "sourceResourceId": ML_SOURCE,
            "systemData": {
                "createdAt": "<time>", "createdBy": "user@example.com", "createdByType": "User",
                "lastModifiedAt": "<time>", "lastModifiedBy": "user@example.com", "lastModifiedByType": "User"
            },
            "type": "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings"
        })
    );
    let lines = emu.request_lines();
    assert_eq!(lines.len(), 7, "{lines:#?}");
    assert_eq!(lines[0], format!("GET {}", binding_url("cluster1", "b2")));
    assert_eq!(
        lines[1..3],
        check_requests("cluster1"),
        "the roles are checked first"
    );
    assert_eq!(lines[3], format!("PUT {}", binding_url("cluster1", "b2")));
    let poll = format!(
        "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/"
    );
    assert!(
        lines[4].starts_with(&poll) && lines[4].ends_with("?api-version=2016-03-30"),
        "{}",
        lines[4]
    );
    assert_eq!(lines[5], lines[4], "polls the same operation URL verbatim");
    assert_eq!(lines[6], format!("GET {}", binding_url("cluster1", "b2")));
    assert_eq!(
        put_body(&emu),
        json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}})
    );
}

#[test]
fn create_with_skip_validation_makes_exactly_azs_calls() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(create_args("b2", &[ML_ROLE]))
        .arg("--skip-validation"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = emu.request_lines();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(lines[0], format!("GET {}", binding_url("cluster1", "b2")));
    assert_eq!(lines[1], format!("PUT {}", binding_url("cluster1", "b2")));
    assert_eq!(lines[4], format!("GET {}", binding_url("cluster1", "b2")));
}

#[test]
fn create_refuses_a_role_missing_from_the_locations_catalog_before_the_put() {
    let emu = Emulator::start();
    let bad = "Microsoft.MachineLearningServices/workspaces/nosuchrole";
    let out = run(emu.cli().args(create_args("b9", &[ML_ROLE, bad])));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "ERROR: role '{bad}' does not exist in westeurope for sources of type Microsoft.MachineLearningServices/workspaces\n\
             hint: roles for Microsoft.MachineLearningServices/workspaces in westeurope: {ML_ROLE}, {ML_ROLE_2} \
             (--skip-validation sends the request anyway)\n"
        )
    );
    assert!(
        !emu.request_lines().iter().any(|l| l.starts_with("PUT")),
        "nothing written"
    );
}

#[test]
fn create_dry_run_runs_the_checks_and_prints_the_request_without_sending_it() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(create_args("b10", &[ML_ROLE]))
        .arg("--dry-run"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json(&out.stdout),
        json!({
            "method": "PUT",
            "url": format!("{}{}", emu.url, binding_url("cluster1", "b10")),
            "body": {"properties": {"sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}}
        })
    );
    let lines = emu.request_lines();
    assert_eq!(
        lines.len(),
        3,
        "the existence check and the catalog check only: {lines:#?}"
    );
    assert!(lines.iter().all(|l| l.starts_with("GET")));
}

#[test]
fn delete_dry_run_prints_the_request_and_deletes_nothing() {
    let emu = Emulator::start();
    let args = [
        "rolebinding",
        "delete",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
        "--dry-run",
    ];
    let out = run(emu.cli().args(args));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json(&out.stdout),
        json!({"method": "DELETE", "url": format!("{}{}", emu.url, binding_url("cluster1", "ml-binding")), "body": null})
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn create_takes_roles_comma_separated_repeated_and_space_separated_without_duplicates() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(create_args(
        "b3",
        &[
            &format!("{ML_ROLE}, {ML_ROLE_2}"),
            ML_ROLE,
            "--roles",
            ML_ROLE_2,
            "--no-wait",
        ],
    )));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        put_body(&emu)["properties"]["roles"],
        json!([ML_ROLE, ML_ROLE_2])
    );
}

#[test]
fn create_no_wait_prints_what_arm_accepted_and_does_not_poll() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(create_args("b4", &[ML_ROLE, "--no-wait"])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json(&out.stdout)["provisioningState"], "Updating");
    let [cluster, catalog] = check_requests("cluster1");
    assert_eq!(
        emu.request_lines(),
        [
            format!("GET {}", binding_url("cluster1", "b4")),
            cluster,
            catalog,
            format!("PUT {}", binding_url("cluster1", "b4"))
        ]
    );
}

#[test]
fn create_refuses_an_existing_binding_pointing_at_update() {
    let emu = Emulator::start();
    let mut args = create_args("ml-binding", &[ML_ROLE]);
    args[9] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace";
    let out = run(emu.cli().args(args));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "ERROR: TrustedAccess RoleBinding ml-binding already existed, please use 'aks-trustedaccess rolebinding update' command to update!\n"
    );
    assert_eq!(
        emu.request_lines(),
        [format!("GET {}", binding_url("cluster1", "ml-binding"))]
    );
}

#[test]
fn create_refuses_bad_input_before_any_request() {
    let emu = Emulator::start();
    let empty_item = format!("{ML_ROLE},,{ML_ROLE_2}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            create_args("bad_name", &[ML_ROLE]),
            "invalid role binding name 'bad_name'",
        ),
        (
            create_args("this-name-is-much-too-long-x", &[ML_ROLE]),
            "invalid role binding name",
        ),
        (
            create_args("b", &["mlworkload"]),
            "Microsoft.MachineLearningServices/workspaces/mlworkload",
        ),
        (
            create_args(
                "b",
                &["Microsoft.DataProtection/backupVaults/backup-operator"],
            ),
            "is for sources of type Microsoft.DataProtection/backupVaults",
        ),
        (
            create_args("b", &[&empty_item]),
            "--roles has an empty item",
        ),
        (
            vec![
                "rolebinding",
                "create",
                "-g",
                "rg1",
                "--cluster-name",
                "cluster1",
                "-n",
                "b",
                "-s",
                "/subscriptions/x/providers/A.B/c/d",
                "--roles",
                ML_ROLE,
            ],
            "the subscription must be a UUID",
        ),
        (
            vec![
                "rolebinding",
                "create",
                "-g",
                "rg 1",
                "--cluster-name",
                "cluster1",
                "-n",
                "b",
                "-s",
                ML_SOURCE,
                "--roles",
                ML_ROLE,
            ],
            "invalid resource group name",
        ),
        (
            vec![
                "rolebinding",
                "create",
                "-g",
                "rg1",
                "--cluster-name",
                "bad-",
                "-n",
                "b",
                "-s",
                ML_SOURCE,
                "--roles",
                ML_ROLE,
            ],
            "invalid cluster name",
        ),
    ];
    for (args, expected) in cases {
        let out = run(emu.cli().args(&args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
    assert!(emu.requests().is_empty(), "{:#?}", emu.request_lines());
}

#[test]
fn create_accepts_the_short_source_flag_s() {
    let emu = Emulator::start();
    let out = run(emu.cli().args([
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "b5",
        "-s",
        ML_SOURCE,
        "--roles",
        ML_ROLE,
        "--no-wait",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn create_with_a_role_the_service_rejects_shows_its_error() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(create_args(
        "b6",
        &[
            "Microsoft.MachineLearningServices/workspaces/nosuchrole",
            "--skip-validation",
        ],
    )));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("ERROR: (BadRequest) Role 'Microsoft.MachineLearningServices/workspaces/nosuchrole' is not a valid trusted access role in location 'westeurope'."),
        "{}",
        out.stderr
    );
}

#[test]
fn update_keeps_the_source_and_replaces_the_roles() {
    let emu = Emulator::start();
    let out = run(emu.cli().args([
        "rolebinding",
        "update",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
        "--roles",
        ML_ROLE_2,
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let printed = json(&out.stdout);
    assert_eq!(printed["roles"], json!([ML_ROLE_2]));
    assert_eq!(printed["provisioningState"], "Succeeded");
    let lines = emu.request_lines();
    assert_eq!(
        lines[0],
        format!("GET {}", binding_url("cluster1", "ml-binding"))
    );
    assert_eq!(lines[1..3], check_requests("cluster1"));
    assert_eq!(
        lines[3],
        format!("PUT {}", binding_url("cluster1", "ml-binding"))
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!("GET {}", binding_url("cluster1", "ml-binding"))
    );
    assert_eq!(
        put_body(&emu),
        json!({"properties": {
            "sourceResourceId": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace"),
            "roles": [ML_ROLE_2]
        }})
    );
}

#[test]
fn update_of_a_missing_binding_exits_3_after_one_get() {
    let emu = Emulator::start();
    let out = run(emu.cli().args([
        "rolebinding",
        "update",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "missing",
        "--roles",
        ML_ROLE,
    ]));
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with("ERROR: (NotFound) "),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.request_lines(),
        [format!("GET {}", binding_url("cluster1", "missing"))]
    );
}

#[test]
fn update_refuses_roles_for_another_source_type_before_the_put() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv("rolebinding update -g rg1 --cluster-name cluster1 -n ml-binding --roles Microsoft.DataProtection/backupVaults/backup-operator")));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(emu.request_lines().len(), 1, "only the GET of the binding");
}

#[test]
fn delete_with_yes_waits_for_the_operation_and_prints_nothing() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(
        "rolebinding delete -g rg1 --cluster-name cluster1 -n ml-binding --yes",
    )));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let lines = emu.request_lines();
    assert_eq!(
        lines[0],
        format!("DELETE {}", binding_url("cluster1", "ml-binding"))
    );
    assert_eq!(
        lines.len(),
        3,
        "DELETE then two polls, no final GET: {lines:#?}"
    );
    assert!(lines[1].contains("/operations/"));
    let listed = run(emu
        .cli()
        .args(argv("rolebinding list -g rg1 --cluster-name cluster1")));
    assert_eq!(listed.stdout, "[]\n");
}

#[test]
fn delete_without_a_terminal_and_without_yes_cancels_like_az() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(
        "rolebinding delete -g rg1 --cluster-name cluster1 -n ml-binding",
    )));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "WARNING: Unable to prompt for confirmation as no tty available. Use --yes.\nERROR: Operation cancelled.\n"
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn delete_of_a_missing_binding_succeeds_quietly() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(
        "rolebinding delete -g rg1 --cluster-name cluster1 -n missing -y",
    )));
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert_eq!(
        emu.request_lines(),
        [format!("DELETE {}", binding_url("cluster1", "missing"))]
    );
}

#[test]
fn delete_no_wait_sends_only_the_delete() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(
        "rolebinding delete -g rg1 --cluster-name cluster1 -n ml-binding -y --no-wait",
    )));
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert_eq!(
        emu.request_lines(),
        [format!("DELETE {}", binding_url("cluster1", "ml-binding"))]
    );
}

#[test]
fn an_operation_that_fails_or_is_canceled_exits_1_with_its_error() {
    for (outcome, code) in [
        ("failed", "EmulatedOperationFailed"),
        ("canceled", "OperationCanceled"),
    ] {
        let emu = Emulator::start_with(&["--operation-outcome", outcome]);
        let out = run(emu.cli().args(create_args("b7", &[ML_ROLE])));
        assert_eq!(out.code, 1, "{outcome}");
        assert!(
            out.stderr.starts_with(&format!("ERROR: ({code}) ")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("rolebinding show"),
            "says how to check: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn polls_wait_what_retry_after_says() {
    let emu = Emulator::start_with(&["--retry-after", "1", "--operation-polls", "1"]);
    let out = run(emu.cli().args(create_args("b8", &[ML_ROLE])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Two polls, each Retry-After (1 s) after the answer before it, on the emulator's clock.
    let requests = emu.requests();
    let put = requests.iter().position(|r| r["method"] == "PUT").unwrap();
    let polls: Vec<usize> = (put + 1..requests.len())
        .filter(|i| {
            requests[*i]["path"]
                .as_str()
                .unwrap()
                .contains("/operations/")
        })
        .collect();
    assert_eq!(polls.len(), 2, "{requests:?}");
    assert!(gap_ms(&requests[put], &requests[polls[0]]) >= 1000);
    assert!(gap_ms(&requests[polls[0]], &requests[polls[1]]) >= 1000);
}

#[test]
fn the_full_lifecycle_works_like_the_recorded_az_session() {
    let emu = Emulator::start_with(&["--operation-polls", "1"]);
    let list = |emu: &Emulator| {
        json(
            &run(emu
                .cli()
                .args(argv("rolebinding list -g rg1 --cluster-name cluster2")))
            .stdout,
        )
    };
    assert_eq!(list(&emu), json!([]));
    let mut args = create_args("testbinding", &[ML_ROLE]);
    args[5] = "cluster2";
    assert_eq!(run(emu.cli().args(&args)).code, 0);
    assert_eq!(list(&emu).as_array().map(Vec::len), Some(1));
    let show = run(emu.cli().args(argv(
        "rolebinding show -g rg1 --cluster-name cluster2 -n testbinding",
    )));
    assert_eq!(json(&show.stdout)["roles"], json!([ML_ROLE]));
    let update = run(emu.cli().args([
        "rolebinding",
        "update",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        "testbinding",
        "--roles",
        ML_ROLE,
        ML_ROLE_2,
    ]));
    assert_eq!(json(&update.stdout)["roles"], json!([ML_ROLE, ML_ROLE_2]));
    assert_eq!(
        run(emu.cli().args(argv(
            "rolebinding delete -g rg1 --cluster-name cluster2 -n testbinding -y"
        )))
        .code,
        0
    );
    assert_eq!(list(&emu), Value::Array(vec![]));
}
