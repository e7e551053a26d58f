//! Desired-state benchmark (`cargo bench --bench desired`): on a generated fleet (default 20 × 50
//! clusters, 2 bindings each) at 20 ms per request, `apply` of a manifest that changes 500
//! bindings (250 role updates, 250 creates), against its ideal `requests × latency / parallel`;
//! and `plan` of the same manifest. Reports requests, wall time, ratio and peak memory.
//!
//! Knobs (environment): AKS_BENCH_FLEET (default "20x50x2"), AKS_BENCH_PARALLEL (default 32),
//! AKS_BENCH_CHANGES (default 500), AKS_BENCH_LATENCY_MS (default 20).

#![expect(
    clippy::print_stdout,
    reason = "the benchmark report is this harness's output"
)]

#[path = "measure.rs"]
#[allow(
    dead_code,
    reason = "the shared runner; this bench uses part of it (an expect would break when it uses all)"
)]
mod measure;

use measure::{Emulator, Transport};
use serde_json::{Value, json};
use std::process::Command;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const ML_ROLE_2: &str = "Microsoft.MachineLearningServices/workspaces/inference-v1";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The CLI's environment for one emulator (also read by `measure`).
fn cli_env(cmd: &mut Command, url: &str, trust: &std::path::Path) {
    cmd.env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", url)
        .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", "bench")
        .env("AZURE_SUBSCRIPTION_ID", SUB)
        .env(
            "AZURE_CONFIG_DIR",
            std::env::temp_dir().join("aks-trustedaccess-bench-no-az"),
        )
        .env("SSL_CERT_FILE", trust)
        .env_remove("SSL_CERT_DIR");
}

/// The fleet's manifest as `export` writes it (JSON).
fn export(emulator: &Emulator) -> Value {
    let mut cmd = Command::new(measure::CLI);
    cli_env(&mut cmd, &emulator.url, &emulator.trust);
    let out = cmd
        .args(["export", "-o", "json", "--parallel", "32"])
        .output()
        .expect("export runs");
    serde_json::from_slice(&out.stdout).expect("export prints a manifest")
}

/// Changes `changes` bindings: half get a second role (update), half are created on clusters
/// whose location offers the role (the fleet's australiaeast clusters do not).
fn changed(mut manifest: Value, changes: usize) -> Value {
    let offers_role = |cluster: &str| {
        // Clusters are aks-<s>-<c>; number n = s × 50 + c sits in australiaeast when n % 11 == 10.
        let name = cluster.rsplit('/').next().unwrap_or_default();
        let parts: Vec<usize> = name
            .split('-')
            .skip(1)
            .filter_map(|p| p.parse().ok())
            .collect();
        parts.len() == 2 && (parts[0] * 50 + parts[1]) % 11 != 10
    };
    let entries = manifest["bindings"].as_array_mut().expect("bindings");
    let mut updated = 0;
    for entry in entries.iter_mut() {
        let single = entry["clusters"].as_array().map(Vec::len) == Some(1);
        if updated < changes / 2 && single && offers_role(entry["clusters"][0].as_str().unwrap()) {
            entry["roles"]
                .as_array_mut()
                .unwrap()
                .push(json!(ML_ROLE_2));
            updated += 1;
        }
    }
    let mut targets: Vec<String> = entries
        .iter()
        .flat_map(|e| e["clusters"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_str().map(str::to_string))
        .filter(|c| offers_role(c))
        .collect();
    targets.sort();
    targets.dedup();
    targets.truncate(changes - updated);
    let sub = targets[0].split('/').nth(2).unwrap().to_string();
    entries.push(json!({
        "name": "bench-new",
        "sourceResourceId": format!("/subscriptions/{sub}/resourceGroups/rg-bench/providers/Microsoft.MachineLearningServices/workspaces/bench"),
        "roles": ["Microsoft.MachineLearningServices/workspaces/mlworkload"],
        "clusters": targets,
    }));
    manifest
}

fn main() {
    if measure::run_as_runner() {
        return;
    }
    let fleet = std::env::var("AKS_BENCH_FLEET").unwrap_or_else(|_| "20x50x2".into());
    let parallel = env_or("AKS_BENCH_PARALLEL", 32);
    let changes = env_or("AKS_BENCH_CHANGES", 500);
    let latency = env_or("AKS_BENCH_LATENCY_MS", 20);
    let trust = measure::TrustFile::new();
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "| desired state, fleet {fleet}, {latency} ms per request, --parallel {parallel} | transport | requests | ideal | wall | ratio to ideal | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, transport) in [("TLS", Transport::Tls), ("plain http", Transport::Plain)] {
        let emulator = Emulator::start(
            transport,
            &["--fleet", &fleet, "--latency-ms", &latency.to_string()],
            &trust,
        );
        let manifest = changed(export(&emulator), changes);
        let file = dir.path().join(format!("fleet-{label}.json"));
        std::fs::write(&file, manifest.to_string()).expect("manifest");
        let args = |command: &str| -> Vec<String> {
            vec![
                command.into(),
                "-f".into(),
                file.display().to_string(),
                "--parallel".into(),
                parallel.to_string(),
                "--yes".into(),
            ]
        };
        for command in ["plan", "apply"] {
            let mut a = args(command);
            if command == "plan" {
                a.pop();
            }
            let before = emulator.stat("requests");
            let run = emulator.run(&a);
            let requests = emulator.stat("requests") - before;
            let ideal = requests as f64 * latency as f64 / parallel as f64;
            println!(
                "| `{command}` ({changes} changes) | {label} | {requests} | {ideal:.0} ms | {} | {:.2}× | {:.1} MiB |",
                measure::ms(run.wall),
                run.wall / ideal,
                run.peak_rss_kib as f64 / 1024.0
            );
        }
    }
}
