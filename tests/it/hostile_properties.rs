//! Property tests of the hostile dimensions: answer sizes, header sizes, waits the server asks
//! for, answers that never come, escape sequences in server strings, and a crafted environment.
//! Whatever they are, the run ends with a known exit code, no panic, and no escape sequence on
//! stdout or stderr. Seeded (PROPTEST_RNG_SEED explores others).

use crate::harness::*;
use proptest::prelude::*;
use serde_json::{Value, json};

fn config() -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_130);
    ProptestConfig {
        cases: 16,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn script(emu: &Emulator, canned: &Value) {
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(canned.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
}

/// A string a hostile server might put anywhere: escapes, controls, long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}",
        "[a-z]{0,5}\u{1b}\\][0-9];[a-z]{0,8}\u{7}[a-z]{0,5}",
        "[a-z]{0,5}\u{1b}\\[[0-9;]{0,6}[A-Za-z][a-z]{0,5}",
        "[\u{0}-\u{1f}\u{7f}\u{80}-\u{9f}]{1,10}",
        (1usize..20_000).prop_map(|n| "y".repeat(n)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_hostile_answer_panics_hangs_or_reaches_the_terminal(
        status in prop::sample::select(vec![200u16, 400, 429, 500, 503]),
        text in hostile_text(),
        extra_body in prop::sample::select(vec![0u64, 1 << 10, 3 << 20, 5 << 20]),
        header_bytes in prop::sample::select(vec![0usize, 1 << 10, 64 << 10, 600 << 10]),
        retry_after in prop::option::of(prop::sample::select(vec!["0", "1", "999999", "1e300", "NaN", "-5"])),
        hang in prop::bool::weighted(0.15),
        command in 0..3usize,
    ) {
        let emu = Emulator::start();
        let mut headers = serde_json::Map::new();
        if header_bytes > 0 {
            headers.insert("x-padding".into(), json!("h".repeat(header_bytes)));
        }
        if let Some(r) = retry_after {
            headers.insert("Retry-After".into(), json!(r));
        }
        let body = json!({
            "value": [{"name": text, "sourceResourceType": text, "rules": []}],
            "error": {"code": text, "message": text},
            "name": text, "properties": {"roles": [text], "sourceResourceId": text}
        })
        .to_string();
        let canned = json!({"status": status, "headers": headers, "body": body,
                            "extraBodyBytes": extra_body, "hang": hang, "times": 20});
        script(&emu, &json!([canned]));
        let args: Vec<&str> = match command {
            0 => vec!["role", "list", "-l", "westeurope", "-o", "table"],
            1 => vec!["rolebinding", "list", "-g", "rg1", "--cluster-name", "cluster1", "-o", "tsv"],
            _ => vec!["rolebinding", "show", "-g", "rg1", "--cluster-name", "cluster1", "-n", "ml-binding"],
        };
        let out = run(emu
            .cli()
            .args(&args)
            .args(["--max-retries", "2", "--retry-budget", "3", "--request-timeout", "1"]));
        prop_assert!([0, 1, 3].contains(&out.code), "{:?} exited {}: {}", args, out.code, out.stderr);
        prop_assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        let controls = |s: &str| s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
        prop_assert!(!controls(&out.stdout), "stdout: {:?}", out.stdout);
        prop_assert!(!controls(&out.stderr), "stderr: {:?}", out.stderr);
        prop_assert!(out.stderr.len() < 64 * 1024, "{} bytes of stderr", out.stderr.len());
    }

    #[test]
    fn no_crafted_environment_panics_or_hangs(
        endpoint in prop_oneof![
            Just(String::new()),
            Just(" ".to_string()),
            "[ -~]{0,30}",
            Just("http://user:pass@127.0.0.1:1".to_string()),
            Just("https://[::1".to_string()),
        ],
        cert_file in prop::option::of(prop::sample::select(vec!["/dev/zero", "/", "/nonexistent/x", "/dev/null"])),
        retries in prop_oneof![Just("0".to_string()), Just("4294967295".to_string()), "[0-9a-z-]{0,6}"],
        budget in prop_oneof![Just("0".to_string()), Just("18446744073709551615".to_string()), "[0-9]{0,4}"],
    ) {
        let emu = Emulator::start();
        let mut cmd = emu.cli();
        // An invalid binding name stops the run before any request, wherever the endpoint points.
        cmd.env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", &endpoint)
            .env("AKS_TRUSTEDACCESS_MAX_RETRIES", &retries)
            .env("AKS_TRUSTEDACCESS_RETRY_BUDGET", &budget)
            .args(["rolebinding", "show", "-g", "rg1", "--cluster-name", "cluster1", "-n", "bad_name!"]);
        if let Some(file) = cert_file {
            cmd.env("SSL_CERT_FILE", file);
        }
        let out = run(&mut cmd);
        prop_assert!([1, 2].contains(&out.code), "exited {}: {}", out.code, out.stderr);
        prop_assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        prop_assert!(emu.requests().is_empty());
    }
}
