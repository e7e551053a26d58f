//! Property tests: no argument value and no server answer makes the binary panic (exit 101) or
//! hang; invalid values are refused with exit 2 before any request.

use crate::harness::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const CASES: u32 = 64;

/// A fixed seed, so CI runs the same cases every time (set PROPTEST_RNG_SEED to explore others).
#[expect(
    clippy::print_stderr,
    reason = "shown by the test harness only when a case fails"
)]
fn config() -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_122);
    eprintln!("proptest seed {seed} (PROPTEST_RNG_SEED={seed} replays these cases)");
    ProptestConfig {
        cases: CASES,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn script(emu: &Emulator, canned: &Value) {
    emu.control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(canned.to_string())
        .send()
        .unwrap();
}

fn invalid_binding_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9-]{25,40}",
        "[A-Za-z0-9]{0,5}[_. !@#/:é\\\\][A-Za-z0-9-]{0,5}",
    ]
}

fn invalid_cluster_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z][a-z0-9]{0,5}[.!@ /é][a-z0-9]{0,5}",
        "[a-z0-9]{1,5}-",
        "[a-z0-9]{64,70}"
    ]
}

/// Source ids invalid by construction, each by a documented rule (no filter through the code
/// under test: a parser that accepts too much must make this test fail).
fn invalid_source_id() -> impl Strategy<Value = String> {
    prop_oneof![
        // A resource id starts with '/'.
        "[a-zA-Z0-9 ._-][a-zA-Z0-9/ ._-]{0,59}",
        // A subscription id is a GUID.
        "/subscriptions/[a-z]{5}/resourceGroups/rg/providers/A\\.B/c/d",
        // A resource id ends with the resource's name after its type.
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/A\\.B/c",
        // A resource group name has no spaces.
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/r g/providers/A\\.B/c/d",
    ]
}

/// `--roles` values invalid by construction, each by a documented rule.
fn invalid_roles() -> impl Strategy<Value = String> {
    prop_oneof![
        // A role is `<namespace>/<type>/<name>`: no '/' at all.
        "[a-z-]{1,20}",
        // One element of the comma-separated list has no '/'.
        "Microsoft\\.MachineLearningServices/workspaces/mlworkload,,[a-z]{1,5}",
        // A role name has no spaces.
        "Microsoft\\.MachineLearningServices/workspaces/[a-z]{1,5} x",
        // A namespace without a '.' is no resource provider, so the role cannot fit the
        // Machine Learning workspace source.
        "[A-Za-z]{1,8}/[a-z]{1,8}/[a-z]{1,8}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn invalid_values_are_refused_with_exit_2_and_no_request(
        name in invalid_binding_name(),
        cluster in invalid_cluster_name(),
        source in invalid_source_id(),
        roles in invalid_roles(),
        which in 0..4usize,
    ) {
        let emu = Emulator::start();
        let (n, c, s, r) = match which {
            0 => (name.as_str(), "cluster1", ML_SOURCE, ML_ROLE),
            1 => ("b1", cluster.as_str(), ML_SOURCE, ML_ROLE),
            2 => ("b1", "cluster1", source.as_str(), ML_ROLE),
            _ => ("b1", "cluster1", ML_SOURCE, roles.as_str()),
        };
        let args = ["rolebinding", "create", "-g", "rg1", "--cluster-name", c, "-n", n, "--source-resource-id", s, "--roles", r];
        let out = run(emu.cli().args(args));
        prop_assert_eq!(out.code, 2, "{:?}: {}", args, out.stderr);
        prop_assert!(out.stderr.contains("ERROR: ") || out.stderr.contains("error: "), "{}", out.stderr);
        prop_assert!(emu.requests().is_empty());
    }

    #[test]
    fn no_argument_value_makes_the_binary_panic(
        values in proptest::collection::vec("[ -~é日]{0,30}", 5),
        command in 0..5usize,
    ) {
        let emu = Emulator::start();
        let v: Vec<&str> = values.iter().map(String::as_str).collect();
        let args: Vec<&str> = match command {
            0 => vec!["role", "list", "-l", v[0]],
            1 => vec!["rolebinding", "list", "-g", v[0], "--cluster-name", v[1]],
            2 => vec!["rolebinding", "show", "-g", "rg1", "--cluster-name", v[1], "-n", v[2]],
            3 => vec!["rolebinding", "create", "-g", "rg1", "--cluster-name", "cluster1", "-n", v[2], "-s", v[3], "--roles", v[4]],
            _ => vec!["rolebinding", "update", "-g", "rg1", "--cluster-name", "cluster1", "-n", v[2], "--roles", v[4], "--query", v[0]],
        };
        let out = run(emu.cli().args(&args));
        prop_assert!([0, 1, 2, 3].contains(&out.code), "{:?} exited {}: {}", args, out.code, out.stderr);
        prop_assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }

    #[test]
    fn no_server_answer_makes_the_binary_panic_or_hang(
        status in prop::sample::select(vec![200u16, 201, 202, 204, 400, 401, 404, 409, 429, 500, 502]),
        body in server_body(),
        retry_after in prop::option::of(prop_oneof!["[0-2]", "[a-z ]{0,8}", "-1", "Wed, 21 Oct 2015 07:28:00 GMT"]),
        async_op in prop::option::of(prop_oneof![Just("self".to_string()), "[a-z:/.]{0,20}"]),
        command in 0..5usize,
    ) {
        let emu = Emulator::start();
        let mut headers = serde_json::Map::new();
        if let Some(r) = retry_after {
            headers.insert("Retry-After".into(), json!(r));
        }
        if let Some(op) = async_op {
            let op = if op == "self" {
                format!("{}/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/x?api-version=2016-03-30", emu.url)
            } else {
                op
            };
            headers.insert("Azure-AsyncOperation".into(), json!(op));
        }
        let canned = json!({"status": status, "headers": headers, "body": body});
        // The scripted answer is served to each of the command's first three requests.
        script(&emu, &json!([canned, canned, canned]));
        let args: Vec<&str> = match command {
            0 => vec!["role", "list", "-l", "westeurope"],
            1 => vec!["rolebinding", "list", "-g", "rg1", "--cluster-name", "cluster1", "-o", "table"],
            2 => vec!["rolebinding", "show", "-g", "rg1", "--cluster-name", "cluster1", "-n", "ml-binding", "-o", "yaml"],
            3 => vec!["rolebinding", "create", "-g", "rg1", "--cluster-name", "cluster2", "-n", "p1", "-s", ML_SOURCE, "--roles", ML_ROLE, "--timeout", "3"],
            _ => vec!["rolebinding", "delete", "-g", "rg1", "--cluster-name", "cluster1", "-n", "ml-binding", "-y", "--timeout", "3"],
        };
        let out = run(emu.cli().args(&args).args(["--max-retries", "2", "--retry-budget", "5"]));
        prop_assert!([0, 1, 3].contains(&out.code), "{:?} exited {}: {}", args, out.code, out.stderr);
        prop_assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        if out.code != 0 {
            prop_assert!(out.stderr.starts_with("ERROR: "), "{}", out.stderr);
        }
    }
}

/// Bodies a broken or surprising server could send: JSON of any shape, valid shapes with wrong
/// types, truncated JSON, HTML, bytes.
fn server_body() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    let any_json = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("value".to_string()),
                    Just("nextLink".to_string()),
                    Just("properties".to_string()),
                    Just("status".to_string()),
                    Just("error".to_string()),
                    Just("id".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        any_json.prop_map(|v| v.to_string()),
        Just(String::new()),
        Just("<html><body>502 Bad Gateway</body></html>".to_string()),
        "[ -~]{0,40}",
        Just(r#"{"value": [{"name": 5, "rules": "x"}], "nextLink": 7}"#.to_string()),
        Just(r#"{"status": "Failed"}"#.to_string()),
        Just(r#"{"error": {"code": 5}}"#.to_string()),
        Just(r#"{"id": "/subscriptions/x", "properties": {"roles": [1, 2], "sourceResourceId": {}}}"#.to_string()),
    ]
}
