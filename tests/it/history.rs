//! `rolebinding history` against the emulator's activity log: a binding created, updated and
//! deleted by two identities (a user and a service principal, from their tokens' claims) shows
//! exactly those three changes, newest first, by the right caller, read page by page through
//! one of the service's filter forms; other forms are refused with the service's message; a bad
//! `--since` is refused before any request.

use crate::harness::*;
use base64::Engine;
use serde_json::{Value, json};

pub const BINDING: &str = "hist";

/// An unsigned JWT with these claims (the emulator reads, never verifies, them).
pub fn jwt(claims: Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    )
}

pub fn user() -> String {
    jwt(
        json!({"upn": "ana@contoso.com", "oid": "11111111-1111-1111-1111-111111111111", "idtyp": "user", "ipaddr": "203.0.113.7"}),
    )
}

pub fn service_principal() -> String {
    jwt(
        json!({"oid": "22222222-2222-2222-2222-222222222222", "appid": "33333333-3333-3333-3333-333333333333", "idtyp": "app"}),
    )
}

fn as_identity(emu: &Emulator, token: &str, args: &[&str]) {
    let out = run(emu
        .cli()
        .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", token)
        .args(args));
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
}

/// Created by the user, updated by the service principal, deleted by the user.
pub fn three_writes(emu: &Emulator) {
    as_identity(emu, &user(), &create_args(BINDING, ML_ROLE));
    as_identity(
        emu,
        &service_principal(),
        &[
            "rolebinding",
            "update",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
            "-n",
            BINDING,
            "--roles",
            &format!("{ML_ROLE},{ML_ROLE_2}"),
        ],
    );
    as_identity(
        emu,
        &user(),
        &[
            "rolebinding",
            "delete",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
            "-n",
            BINDING,
            "--yes",
        ],
    );
}

#[test]
fn history_shows_each_write_by_its_identity_newest_first_across_pages() {
    let emu = Emulator::start_with(&["--page-size", "1"]);
    three_writes(&emu);
    let before = emu.requests().len();
    let out = run(emu.cli().args([
        "rolebinding",
        "history",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        BINDING,
        "--since",
        "1d",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let changes: Vec<Value> = json(&out.stdout).as_array().unwrap().clone();
    let seen: Vec<(&str, &str, &str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["operation"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
                c["caller"].as_str().unwrap(),
                c["callerType"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("delete", BINDING, "ana@contoso.com", "User", "Succeeded"),
            (
                "update",
                BINDING,
                "33333333-3333-3333-3333-333333333333",
                "ServicePrincipal",
                "Succeeded"
            ),
            // The first write in the log: it may have existed before, so not called a create.
            ("write", BINDING, "ana@contoso.com", "User", "Succeeded"),
        ]
    );
    // The emulator listens on loopback only: that is the caller's address.
    assert_eq!(changes[0]["clientIp"], "127.0.0.1");
    assert_eq!(changes[0]["cluster"], "cluster2");
    assert_eq!(changes[0]["resourceId"], binding_path("cluster2", BINDING));
    let times: Vec<&str> = changes
        .iter()
        .map(|c| c["time"].as_str().unwrap())
        .collect();
    assert!(times[0] >= times[1] && times[1] >= times[2], "{times:?}");
    // Six events (Started and Succeeded of each write), one a page: six GETs, one filter form.
    let requests = emu.requests()[before..].to_vec();
    assert_eq!(requests.len(), 6, "{requests:#?}");
    for r in &requests {
        assert_eq!(r["method"], "GET");
        assert_eq!(
            r["path"],
            format!(
                "/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values"
            )
        );
        let query = r["query"].as_str().unwrap();
        let decoded = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "$filter")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert!(decoded.starts_with("eventTimestamp ge '"), "{decoded}");
        assert!(
            decoded.ends_with(&format!(
                "' and resourceUri eq '{}'",
                binding_path("cluster2", BINDING)
            )),
            "{decoded}"
        );
        assert!(query.contains("api-version=2015-04-01"), "{query}");
    }
}

#[test]
fn every_scope_and_output_format_shows_the_deleted_binding() {
    let emu = Emulator::start();
    three_writes(&emu);
    for scope in [
        vec![],
        vec!["-g", "rg1"],
        vec!["-g", "rg1", "--cluster-name", "cluster2"],
    ] {
        let out = run(emu
            .cli()
            .args(["rolebinding", "history", "-o", "json"])
            .args(&scope));
        assert_eq!(out.code, 0, "{scope:?}: {}", out.stderr);
        let ops: Vec<String> = json(&out.stdout)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["operation"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            ops,
            ["delete hist", "update hist", "write hist"],
            "{scope:?}"
        );
    }
    let table = run(emu.cli().args(["rolebinding", "history", "-o", "table"]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", table.stdout);
    for column in [
        "Time",
        "Operation",
        "Cluster",
        "Name",
        "Caller",
        "CallerType",
        "ClientIp",
        "Status",
    ] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    assert!(
        lines[2].contains("delete") && lines[2].contains("ana@contoso.com"),
        "{}",
        table.stdout
    );
    let tsv = run(emu.cli().args([
        "rolebinding",
        "history",
        "-o",
        "tsv",
        "--query",
        "[].[operation, callerType]",
    ]));
    assert_eq!(
        tsv.stdout,
        "delete\tUser\nupdate\tServicePrincipal\nwrite\tUser\n"
    );
    let yaml = run(emu.cli().args(["rolebinding", "history", "-o", "yaml"]));
    assert!(
        yaml.stdout.contains("callerType: ServicePrincipal"),
        "{}",
        yaml.stdout
    );
}

#[test]
fn a_bad_since_is_refused_before_any_request() {
    let emu = Emulator::start();
    for since in ["91d", "3w", "0d", "soon"] {
        let out = run(emu.cli().args(["rolebinding", "history", "--since", since]));
        assert_eq!(out.code, 2, "{since}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("invalid --since '{since}'")),
            "{}",
            out.stderr
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn filters_outside_the_five_forms_get_the_services_message() {
    let emu = Emulator::start();
    let url = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values",
        emu.url
    );
    let now = time::OffsetDateTime::now_utc();
    let at = |d: i64| {
        (now - time::Duration::days(d))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let window = format!(
        "eventTimestamp ge '{}' and eventTimestamp le '{}'",
        at(1),
        at(0)
    );
    let get = |filter: &str| {
        let mut full = url::Url::parse(&url).unwrap();
        full.query_pairs_mut()
            .append_pair("api-version", "2015-04-01")
            .append_pair("$filter", filter);
        let r = emu
            .control_client()
            .get(full.as_str())
            .bearer_auth("x")
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    for ok in [
        window.clone(),
        format!("{window} and resourceGroupName eq 'rg1'"),
        format!(
            "{window} and resourceUri eq '{}'",
            binding_path("cluster2", "x")
        ),
        format!("{window} and resourceProvider eq 'Microsoft.ContainerService'"),
        format!("{window} and correlationId eq 'abc'"),
    ] {
        assert_eq!(get(&ok).0, 200, "{ok}");
    }
    for bad in [
        format!("eventTimestamp ge '{}'", at(1)),
        format!("{window} and status eq 'Failed'"),
        format!("{window} and resourceGroupName eq 'rg1' and correlationId eq 'abc'"),
    ] {
        let (status, body) = get(&bad);
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["error"]["code"], "BadRequest");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("The $filter is not supported."),
            "{body}"
        );
    }
    let old = format!(
        "eventTimestamp ge '{}' and eventTimestamp le '{}'",
        at(91),
        at(0)
    );
    let (status, body) = get(&old);
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last 90 days"),
        "{body}"
    );
}

#[test]
fn audit_since_lists_the_changes_of_every_audited_subscription() {
    let emu = Emulator::start_with(&["--fleet", "2x2x1"]);
    let subs = [
        "00000000-0000-4000-8000-000000000001",
        "00000001-0000-4000-8000-000000000002",
    ];
    for (i, sub) in subs.iter().enumerate() {
        let token = if i == 0 { user() } else { service_principal() };
        as_identity(
            &emu,
            &token,
            &[
                "rolebinding",
                "update",
                "--subscription",
                sub,
                "-g",
                &format!("rg-fleet-{i}"),
                "--cluster-name",
                &format!("aks-{i}-0"),
                "-n",
                "binding-0",
                "--roles",
                &format!("{ML_ROLE},{ML_ROLE_2}"),
            ],
        );
    }
    let out = run(emu.cli().args([
        "audit",
        "--since",
        "30d",
        "--subscription",
        subs[0],
        "--subscription",
        subs[1],
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<(String, String, String)> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["subscription"].as_str().unwrap().to_string(),
                c["cluster"].as_str().unwrap().to_string(),
                c["callerType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                subs[1].to_string(),
                "aks-1-0".to_string(),
                "ServicePrincipal".to_string()
            ),
            (
                subs[0].to_string(),
                "aks-0-0".to_string(),
                "User".to_string()
            ),
        ]
    );
    let group = run(emu.cli().args([
        "audit",
        "--since",
        "30d",
        "--subscription",
        subs[0],
        "--subscription",
        subs[1],
        "-g",
        "rg-fleet-0",
        "-o",
        "tsv",
        "--query",
        "[].cluster",
    ]));
    assert_eq!(group.stdout, "aks-0-0\n", "{}", group.stderr);
    let refused = run(emu
        .cli()
        .args(["audit", "--since", "30d", "--tag", "env=prod"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}

/// `audit --since` lists changes; the audit's own options would do nothing there, so each is
/// refused (exit 2, nothing sent) instead of being silently ignored.
#[test]
fn audit_since_refuses_the_audits_own_options() {
    let emu = Emulator::start();
    for extra in [
        "--fail-level warning",
        "--discovery arm",
        "--parallel 4",
        "--report sarif=out.sarif",
        "--skip-rule TA001",
        "--allow-unknown",
    ] {
        let out = run(emu.cli().args(argv("audit --since 30d")).args(argv(extra)));
        assert_eq!(out.code, 2, "{extra}: {}", out.stderr);
        assert!(
            out.stderr.contains("cannot be used with"),
            "{extra}: {}",
            out.stderr
        );
    }
    assert!(emu.request_lines().is_empty(), "{:?}", emu.request_lines());
}

/// A managed identity's token (Defender's and Backup's writes look like this).
fn managed_identity() -> String {
    jwt(json!({
        "oid": "44444444-4444-4444-4444-444444444444",
        "appid": "55555555-5555-5555-5555-555555555555",
        "idtyp": "app",
        "xms_mirid": "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/backup",
    }))
}

#[test]
fn failed_writes_and_managed_identities_show_as_such() {
    let emu = Emulator::start_with(&["--operation-outcome", "failed"]);
    let out = run(emu
        .cli()
        .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", managed_identity())
        .args(create_args(BINDING, ML_ROLE)));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let out = run(emu.cli().args([
        "rolebinding",
        "history",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        BINDING,
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let changes = json(&out.stdout);
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let c = &changes[0];
    assert_eq!(c["status"], "Failed");
    // A failed PUT's log does not say whether it would have created or updated.
    assert_eq!(c["operation"], "write");
    assert_eq!(c["caller"], "55555555-5555-5555-5555-555555555555");
    assert_eq!(c["callerType"], "ManagedIdentity");
    assert_eq!(
        c["error"],
        "(EmulatedOperationFailed) The operation failed (emulator --operation-outcome failed)."
    );
}
