//! Desired-state benchmark (`cargo bench --bench desired`): on a generated fleet (default 20 × 50
//! clusters, 2 bindings each) at 20 ms per request, over TLS and plain http: `plan` of the fleet's
//! own export (must exit 0), then `plan` and `apply` of a manifest that changes 500 bindings (250
//! role updates, 250 creates), then `plan` again (must exit 0). Two shapes of change: spread over
//! every subscription, and concentrated on the first clusters in id order (a few subscriptions).
//!
//! Ideal time: every request costs the latency, `parallel` at a time, and no subscription can be
//! served faster than ARM's budget refills it: max(requests × latency / parallel, for each
//! subscription (reads − 250) / 25 per s and (writes − 200) / 10 per s). The emulator runs with
//! those budgets (its defaults, ARM's) and the bench rests 10 s before each measured run, so every
//! bucket starts full. A write's two polls (the emulator answers InProgress once, Retry-After: 0)
//! are requests the server demands, so they count in the ideal.
//!
//! Knobs (environment): AKS_BENCH_FLEET (default "20x50x2"), AKS_BENCH_PARALLEL (default 32),
//! AKS_BENCH_CHANGES (default 500), AKS_BENCH_LATENCY_MS (default 20), AKS_BENCH_REST_SECONDS
//! (default 10), AKS_BENCH_SHAPES (default "spread,concentrated").

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

/// ARM's budgets per subscription, as the emulator is started with: (bucket, refill per second).
const READ_BUDGET: (f64, f64) = (250.0, 25.0);
const WRITE_BUDGET: (f64, f64) = (200.0, 10.0);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Changes taken one subscription at a time: about the same number in each.
    Spread,
    /// The first clusters in id order: a few subscriptions take every change.
    Concentrated,
}

/// Whether the cluster's location offers the role the changes grant: clusters are
/// aks-<s>-<c>, number n = s × 50 + c sits in australiaeast (no such role) when n % 11 == 10.
fn offers_role(cluster: &str) -> bool {
    let name = cluster.rsplit('/').next().unwrap_or_default();
    let parts: Vec<usize> = name
        .split('-')
        .skip(1)
        .filter_map(|p| p.parse().ok())
        .collect();
    parts.len() == 2 && (parts[0] * 50 + parts[1]) % 11 != 10
}

fn subscription_of(cluster: &str) -> String {
    cluster.split('/').nth(2).unwrap_or_default().to_string()
}

/// The first `n` of `items` (in order), or with `Spread` one subscription at a time.
fn pick<T: Clone>(items: &[T], n: usize, shape: Shape, sub: impl Fn(&T) -> String) -> Vec<T> {
    if shape == Shape::Concentrated {
        return items.iter().take(n).cloned().collect();
    }
    let mut queues: std::collections::BTreeMap<String, std::collections::VecDeque<T>> =
        Default::default();
    for item in items {
        queues.entry(sub(item)).or_default().push_back(item.clone());
    }
    let mut out = Vec::new();
    while out.len() < n && queues.values().any(|q| !q.is_empty()) {
        for q in queues.values_mut() {
            if out.len() < n {
                out.extend(q.pop_front());
            }
        }
    }
    out
}

/// Changes `changes` bindings: half get a second role (update), half are created as a new
/// entry on clusters whose location offers the role.
fn changed(mut manifest: Value, changes: usize, shape: Shape) -> Value {
    let entries = manifest["bindings"].as_array_mut().expect("bindings");
    let single: Vec<usize> = (0..entries.len())
        .filter(|&i| {
            let clusters = entries[i]["clusters"].as_array().expect("clusters");
            clusters.len() == 1 && offers_role(clusters[0].as_str().expect("id"))
        })
        .collect();
    let cluster_of =
        |i: &usize| subscription_of(entries[*i]["clusters"][0].as_str().unwrap_or_default());
    let updated = pick(&single, changes / 2, shape, cluster_of);
    for &i in &updated {
        entries[i]["roles"]
            .as_array_mut()
            .expect("roles")
            .push(json!(ML_ROLE_2));
    }
    let mut clusters: Vec<String> = entries
        .iter()
        .flat_map(|e| e["clusters"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_str().map(str::to_string))
        .filter(|c| offers_role(c))
        .collect();
    clusters.sort();
    clusters.dedup();
    let targets = pick(&clusters, changes - updated.len(), shape, |c| {
        subscription_of(c)
    });
    let sub = subscription_of(&targets[0]);
    entries.push(json!({
        "name": "bench-new",
        "sourceResourceId": format!("/subscriptions/{sub}/resourceGroups/rg-bench/providers/Microsoft.MachineLearningServices/workspaces/bench"),
        "roles": ["Microsoft.MachineLearningServices/workspaces/mlworkload"],
        "clusters": targets,
    }));
    manifest
}

/// What one measured run sent: its requests, and the ideal time in ms with what bounds it.
struct Sent {
    requests: usize,
    ideal_ms: f64,
    bound: String,
}

/// The requests the emulator logged from index `from` on, and the run's ideal time.
fn sent(emulator: &Emulator, from: usize, latency: f64, parallel: usize) -> Sent {
    let log = emulator.control("requests");
    let log = &log.as_array().expect("a request log")[from..];
    let mut per_sub: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for r in log {
        let path = r["path"].as_str().unwrap_or_default();
        if let Some(sub) = path
            .strip_prefix("/subscriptions/")
            .and_then(|p| p.split('/').next())
        {
            let counts = per_sub.entry(sub.to_ascii_lowercase()).or_default();
            if r["method"] == "GET" {
                counts.0 += 1.0;
            } else {
                counts.1 += 1.0;
            }
        }
    }
    let mut ideal_ms = log.len() as f64 * latency / parallel as f64;
    let mut bound = format!("{parallel} in flight");
    for (sub, (reads, writes)) in per_sub {
        let by_reads = (reads - READ_BUDGET.0).max(0.0) / READ_BUDGET.1 * 1000.0;
        let by_writes = (writes - WRITE_BUDGET.0).max(0.0) / WRITE_BUDGET.1 * 1000.0;
        if by_reads.max(by_writes) > ideal_ms {
            ideal_ms = by_reads.max(by_writes);
            bound = format!("budget of {}…: {reads} reads, {writes} writes", &sub[..8]);
        }
    }
    Sent {
        requests: log.len(),
        ideal_ms,
        bound,
    }
}

fn shapes() -> Vec<Shape> {
    let wanted = std::env::var("AKS_BENCH_SHAPES").unwrap_or_else(|_| "spread,concentrated".into());
    let mut out = Vec::new();
    if wanted.contains("spread") {
        out.push(Shape::Spread);
    }
    if wanted.contains("concentrated") {
        out.push(Shape::Concentrated);
    }
    out
}

struct Knobs {
    fleet: String,
    parallel: usize,
    changes: usize,
    latency: usize,
    rest: std::time::Duration,
}

fn main() {
    if measure::run_as_runner() {
        return;
    }
    let knobs = Knobs {
        fleet: std::env::var("AKS_BENCH_FLEET").unwrap_or_else(|_| "20x50x2".into()),
        parallel: env_or("AKS_BENCH_PARALLEL", 32),
        changes: env_or("AKS_BENCH_CHANGES", 500),
        latency: env_or("AKS_BENCH_LATENCY_MS", 20),
        rest: std::time::Duration::from_secs(env_or("AKS_BENCH_REST_SECONDS", 10) as u64),
    };
    let trust = measure::TrustFile::new();
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "desired state, fleet {}, {} ms per request, --parallel {}; ideal = max(requests × latency / parallel, per-subscription budget refill)\n",
        knobs.fleet, knobs.latency, knobs.parallel
    );
    println!(
        "| shape | command | transport | exit | requests | ideal (bound) | wall | ratio to ideal | CPU | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for shape in shapes() {
        for (label, transport) in [("TLS", Transport::Tls), ("plain http", Transport::Plain)] {
            one_fleet(&knobs, shape, label, transport, &trust, dir.path());
        }
    }
}

/// One emulator: export, plan of the export, then plan, apply and plan of the changed manifest.
fn one_fleet(
    knobs: &Knobs,
    shape: Shape,
    label: &str,
    transport: Transport,
    trust: &measure::TrustFile,
    dir: &std::path::Path,
) {
    let budgets = [
        ("--read-budget", READ_BUDGET.0),
        ("--read-refill", READ_BUDGET.1),
        ("--write-budget", WRITE_BUDGET.0),
        ("--write-refill", WRITE_BUDGET.1),
    ]
    .map(|(flag, value)| [flag.to_string(), value.to_string()]);
    let mut args = vec![
        "--fleet".to_string(),
        knobs.fleet.clone(),
        "--latency-ms".into(),
        knobs.latency.to_string(),
    ];
    args.extend(budgets.into_iter().flatten());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let emulator = Emulator::start(transport, &args, trust);
    let exported = export(&emulator);
    let shape_name = match shape {
        Shape::Spread => "spread",
        Shape::Concentrated => "concentrated",
    };
    let as_is = dir.join(format!("export-{shape_name}-{label}.json"));
    std::fs::write(&as_is, exported.to_string()).expect("manifest");
    let file = dir.join(format!("changed-{shape_name}-{label}.json"));
    let manifest = changed(exported, knobs.changes, shape);
    std::fs::write(&file, manifest.to_string()).expect("manifest");
    let runs = [
        ("plan (export as is)", "plan", &as_is, 0),
        ("plan (500 changes)", "plan", &file, 4),
        ("apply (500 changes)", "apply", &file, 0),
        ("plan (after apply)", "plan", &file, 0),
    ];
    for (what, command, path, expected) in runs {
        std::thread::sleep(knobs.rest);
        let mut a: Vec<String> = vec![
            command.into(),
            "-f".into(),
            path.display().to_string(),
            "--parallel".into(),
            knobs.parallel.to_string(),
        ];
        if command == "apply" {
            a.push("--yes".into());
        }
        let from = emulator.control("requests").as_array().map_or(0, Vec::len);
        let run = emulator.run(&a);
        let sent = sent(&emulator, from, knobs.latency as f64, knobs.parallel);
        assert_eq!(
            run.code, expected,
            "{what} over {label} exited {}",
            run.code
        );
        println!(
            "| {shape_name} | `{what}` | {label} | {} | {} | {} ({}) | {} | {:.2}× | {} | {:.1} MiB |",
            run.code,
            sent.requests,
            measure::ms(sent.ideal_ms),
            sent.bound,
            measure::ms(run.wall),
            run.wall / sent.ideal_ms,
            measure::ms(run.cpu),
            run.peak_rss_kib as f64 / 1024.0
        );
    }
}
