//! The fleet audit at scale (`cargo bench --bench fleet`): `audit` over a generated fleet of
//! 200 subscriptions × 50 clusters × 2 bindings (10,000 clusters; some sources dangling, some
//! without identity, some unreadable) with the emulator answering each request after 20 ms, at
//! the default parallelism. For each output format (JSON, TSV) it checks every verdict against
//! what the generator promises (not against the tool), then reports the requests sent (by kind,
//! and per cluster), the wall time against the ideal `requests × latency / parallelism`, CPU
//! time and peak memory. Then the issue-12 case: a 20 × 50 fleet over TLS and plain http. Then
//! issue 20's: a 200 × 50 × 2 fleet with 8 % dangling and 8 % identity-less sources behind a
//! Resource Graph that refuses queries over 100,000 characters, audited with all three reports
//! (every broken binding reported, the same findings under `--discovery arm`, time against the
//! ideal, peak memory, the Markdown report's size).
//!
//! Then, when AKS_BENCH_SERVICES=PERCENT is set, issue 24's: the same fleet with services on
//! that share of the clusters (`--fleet-services`), audited (with AKS_BENCH_SERVICES_ARGS
//! added, e.g. "--services --access", the CLI's opt-in service flags), each cluster with a
//! readable error-level service finding in the generator's expectations
//! (`/_emulator/expectations`) checked to fail, the others to keep the plain fleet's promise
//! unless a service finding is on them; requests, time against the ideal and peak memory
//! reported.
//!
//! Knobs (environment): AKS_BENCH_FLEET (default "200x50x2"), AKS_BENCH_FLEET_RUNS (3 per
//! format), AKS_BENCH_SMALL_FLEET ("20x50x2"), AKS_BENCH_SMALL_RUNS (5 per transport),
//! AKS_BENCH_TRANSPORT ("tls" or "plain", for the large fleet; default tls),
//! AKS_BENCH_SERVICES (a percentage; unset: no services run), AKS_BENCH_SERVICES_ARGS,
//! AKS_BENCH_SERVICES_RUNS (3), AKS_BENCH_ONLY_SERVICES (set: the services case alone).

#![expect(
    clippy::print_stdout,
    reason = "the benchmark report is this harness's output"
)]

#[path = "measure.rs"]
#[allow(dead_code, reason = "the shared runner has more than this bench uses")]
mod measure;

use measure::{Emulator, Run, Stats, Transport, ms};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// The emulator's answer delay, and the audit's default `--parallel`.
const LATENCY_MS: f64 = 20.0;
const DEFAULT_PARALLEL: f64 = 16.0;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `SxCxB` as numbers.
fn fleet_shape(text: &str) -> (usize, usize, usize) {
    let n: Vec<usize> = text.split('x').filter_map(|p| p.parse().ok()).collect();
    assert_eq!(n.len(), 3, "a fleet is SxCxB, not {text}");
    (n[0], n[1], n[2])
}

fn main() {
    if measure::run_as_runner() {
        return;
    }
    let trust = measure::TrustFile::new();
    let fleet = std::env::var("AKS_BENCH_FLEET").unwrap_or_else(|_| "200x50x2".into());
    let transport = match std::env::var("AKS_BENCH_TRANSPORT").as_deref() {
        Ok("plain") => Transport::Plain,
        _ => Transport::Tls,
    };
    // AKS_BENCH_ONLY_SERVICES=1: issue 24's case alone (with AKS_BENCH_SERVICES set).
    if std::env::var_os("AKS_BENCH_ONLY_SERVICES").is_none() {
        large_fleet(&trust, &fleet, transport, env_or("AKS_BENCH_FLEET_RUNS", 3));
        let small = std::env::var("AKS_BENCH_SMALL_FLEET").unwrap_or_else(|_| "20x50x2".into());
        small_fleet(&trust, &small, env_or("AKS_BENCH_SMALL_RUNS", 5));
        refusing_graph(&trust, &fleet, env_or("AKS_BENCH_REFUSING_RUNS", 3));
    }
    if let Ok(percent) = std::env::var("AKS_BENCH_SERVICES") {
        services_fleet(
            &trust,
            &fleet,
            &percent,
            env_or("AKS_BENCH_SERVICES_RUNS", 3),
        );
    }
}

/// Issue 24's case (see the file's comment).
fn services_fleet(trust: &measure::TrustFile, fleet: &str, percent: &str, runs: usize) {
    let (subs, clusters, bindings) = fleet_shape(fleet);
    let extra = std::env::var("AKS_BENCH_SERVICES_ARGS").unwrap_or_default();
    println!(
        "\n| {fleet} with services on {percent} % (`--fleet-services`), audit {extra} | requests | Resource Graph queries | ideal | median wall (p10 – p90) | ratio to ideal | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let latency = LATENCY_MS.to_string();
    let (mut measured, mut requests, mut queries) = (Vec::new(), 0, 0);
    for _ in 0..runs {
        let emulator = Emulator::start(
            Transport::Tls,
            &[
                "--fleet",
                fleet,
                "--fleet-services",
                percent,
                "--latency-ms",
                &latency,
            ],
            trust,
        );
        let expected = emulator.control("expectations");
        let stdout = tempfile::NamedTempFile::new().expect("temp file");
        let mut args: Vec<String> = vec!["audit".into(), "-o".into(), "json".into()];
        args.extend(extra.split_whitespace().map(String::from));
        let run = emulator.run_to(&args, stdout.path());
        let rows: Vec<Value> =
            serde_json::from_slice(&std::fs::read(stdout.path()).expect("stdout")).expect("JSON");
        check_service_verdicts(&rows, &expected, subs, clusters, bindings);
        let log = emulator.requests();
        requests = log.len();
        queries = requests_by_kind(&log)
            .get("Resource Graph query")
            .map_or(0, |k| k.0);
        measured.push(run);
    }
    let s = Stats::of(&measured);
    let ideal = requests as f64 * LATENCY_MS / DEFAULT_PARALLEL;
    println!(
        "| {runs} runs | {requests} | {queries} | {} | {} ({} – {}) | {:.2}× | {:.1} MiB |",
        ms(ideal),
        ms(s.wall.median),
        ms(s.wall.p10),
        ms(s.wall.p90),
        s.wall.median / ideal,
        s.peak_rss_kib as f64 / 1024.0
    );
}

/// A cluster with a readable error-level service finding fails (or stays an error when the
/// plain fleet makes it unreadable); one without any service finding keeps the plain promise.
fn check_service_verdicts(
    rows: &[Value],
    expected: &Value,
    subs: usize,
    clusters: usize,
    bindings: usize,
) {
    let mut levels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in expected["findings"].as_array().into_iter().flatten() {
        let name = f["cluster"].as_str().unwrap_or_default().rsplit('/').next();
        levels
            .entry(name.unwrap_or_default().to_string())
            .or_default()
            .push(f["level"].as_str().unwrap_or_default().to_string());
    }
    let rows: Vec<&Value> = rows.iter().filter(|r| r["cluster"].is_string()).collect();
    assert_eq!(rows.len(), subs * clusters, "one row per cluster");
    let mut failed_by_services = 0;
    for row in rows {
        let name = row["cluster"].as_str().unwrap_or_default();
        let parts: Vec<usize> = name[4..]
            .split('-')
            .filter_map(|p| p.parse().ok())
            .collect();
        let plain = expected_verdict(parts[0] * clusters + parts[1], bindings);
        let verdict = row["verdict"].as_str().unwrap_or_default();
        match levels.get(name) {
            Some(l) if l.iter().any(|l| l == "error") && plain != "error" => {
                assert_eq!(verdict, "fail", "{name}: a service finding is an error");
                failed_by_services += usize::from(plain != "fail");
            }
            None => assert_eq!(verdict, plain, "{name}: no service finding"),
            Some(_) => {}
        }
    }
    assert!(
        failed_by_services > 0,
        "some clusters fail for their services alone"
    );
}

/// One measured audit of a fresh emulator (each run starts with ARM's full budget and Resource
/// Graph's full quota): the run, its stdout, and the requests the emulator recorded.
fn audit_once(
    trust: &measure::TrustFile,
    transport: Transport,
    fleet: &str,
    format: &str,
) -> (Run, Vec<u8>, Vec<Value>) {
    let latency = LATENCY_MS.to_string();
    let emulator = Emulator::start(
        transport,
        &["--fleet", fleet, "--latency-ms", &latency],
        trust,
    );
    let stdout = tempfile::NamedTempFile::new().expect("temp file");
    let args: Vec<String> = ["audit", "-o", format].map(String::from).to_vec();
    let run = emulator.run_to(&args, stdout.path());
    // Findings (4) and the clusters the caller may not read (1) are in every generated fleet.
    assert_eq!(run.code, 1, "audit exits 1: some clusters cannot be read");
    let out = std::fs::read(stdout.path()).expect("stdout");
    (run, out, emulator.requests())
}

fn large_fleet(trust: &measure::TrustFile, fleet: &str, transport: Transport, runs: usize) {
    let (subs, clusters, bindings) = fleet_shape(fleet);
    println!(
        "audit of a {fleet} fleet ({} clusters) over {}, {LATENCY_MS} ms per request, default --parallel ({DEFAULT_PARALLEL}); {runs} runs per format\n",
        subs * clusters,
        if transport == Transport::Tls {
            "TLS"
        } else {
            "plain http"
        }
    );
    println!(
        "| output | requests | per cluster | ideal | median wall (p10 – p90) | ratio to ideal | median CPU | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut kinds = BTreeMap::new();
    for format in ["json", "tsv"] {
        let mut measured = Vec::new();
        let mut requests = 0;
        for _ in 0..runs {
            let (run, out, log) = audit_once(trust, transport, fleet, format);
            check_verdicts(format, &out, subs, clusters, bindings);
            requests = log.len();
            kinds = requests_by_kind(&log);
            measured.push(run);
        }
        let s = Stats::of(&measured);
        let ideal = requests as f64 * LATENCY_MS / DEFAULT_PARALLEL;
        println!(
            "| {format} | {requests} | {:.2} | {} | {} ({} – {}) | {:.2}× | {} | {:.1} MiB |",
            requests as f64 / (subs * clusters) as f64,
            ms(ideal),
            ms(s.wall.median),
            ms(s.wall.p10),
            ms(s.wall.p90),
            s.wall.median / ideal,
            ms(s.cpu.median),
            s.peak_rss_kib as f64 / 1024.0
        );
    }
    println!("\n| requests by kind (last run) | count | first at | last at |");
    println!("| --- | --- | --- | --- |");
    for (kind, (count, first, last)) in &kinds {
        println!("| {kind} | {count} | {first} ms | {last} ms |");
    }
}

/// The issue-12 case: a small fleet over TLS and over plain http, alternating, at the default
/// parallelism.
fn small_fleet(trust: &measure::TrustFile, fleet: &str, runs: usize) {
    let (subs, clusters, bindings) = fleet_shape(fleet);
    println!(
        "\n| audit, fleet {fleet}, {LATENCY_MS} ms per request, default --parallel | requests | ideal | median wall (p10 – p90) | ratio to ideal | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let modes = [("TLS", Transport::Tls), ("plain http", Transport::Plain)];
    let mut all: Vec<(Vec<Run>, usize)> = modes.iter().map(|_| (Vec::new(), 0)).collect();
    for i in 0..runs {
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for m in order {
            let (run, out, log) = audit_once(trust, modes[m].1, fleet, "json");
            check_verdicts("json", &out, subs, clusters, bindings);
            all[m].0.push(run);
            all[m].1 = log.len();
        }
    }
    for ((label, _), (runs, requests)) in modes.iter().zip(&all) {
        let s = Stats::of(runs);
        let ideal = *requests as f64 * LATENCY_MS / DEFAULT_PARALLEL;
        println!(
            "| {label} | {requests} | {} | {} ({} – {}) | {:.2}× | {:.1} MiB |",
            ms(ideal),
            ms(s.wall.median),
            ms(s.wall.p10),
            ms(s.wall.p90),
            s.wall.median / ideal,
            s.peak_rss_kib as f64 / 1024.0
        );
    }
}

/// Requests by kind: how many, and when the first and last reached the emulator.
fn requests_by_kind(log: &[Value]) -> BTreeMap<&'static str, (usize, u64, u64)> {
    let mut kinds: BTreeMap<&'static str, (usize, u64, u64)> = BTreeMap::new();
    for entry in log {
        let path = entry["path"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let at = entry["receivedMs"].as_u64().unwrap_or(0);
        let kind = if path.ends_with("/providers/microsoft.resourcegraph/resources") {
            "Resource Graph query"
        } else if path.ends_with("/trustedaccessrolebindings") {
            "binding list"
        } else if path.ends_with("/trustedaccessroles") {
            "role catalog"
        } else if path == "/subscriptions" {
            "subscription list"
        } else if path.contains("/providers/microsoft.machinelearningservices/workspaces/") {
            "source read (ARM)"
        } else if path.contains("/providers/") && path.split('/').count() == 5 {
            "provider (api-versions)"
        } else if path.ends_with("/managedclusters") {
            "cluster list"
        } else {
            "other"
        };
        let e = kinds.entry(kind).or_insert((0, u64::MAX, 0));
        e.0 += 1;
        e.1 = e.1.min(at);
        e.2 = e.2.max(at);
    }
    kinds
}

/// What the fleet generator promises for cluster number `n` (see the emulator's `Seed::fleet`
/// and `fleet_source`): unreadable when n % 13 == 12; failing when it has no binding
/// (n % 10 == 9), a user-assigned identity (n % 7 == 6), a role its location's catalog lacks
/// (n % 11 == 10, australiaeast), or a binding k = n × bindings + b whose source is gone
/// (k % 17 == 5) or has no identity (k % 19 == 7); an unreadable source (k % 23 == 11) is a
/// makes the cluster `unknown` unless something else fails it, even one without identity (the
/// caller cannot see that: first at k = 425, so only fleets larger than the tests' meet it).
fn expected_verdict(n: usize, bindings: usize) -> &'static str {
    let bound = if n % 10 == 9 { 0 } else { bindings };
    let ks = || (0..bound).map(move |b| n * bound + b);
    let unreadable = |k: usize| k % 23 == 11 && k % 17 != 5;
    let broken_source = ks().any(|k| k % 17 == 5 || (k % 19 == 7 && !unreadable(k)));
    if n % 13 == 12 {
        "error"
    } else if n % 10 == 9 || n % 7 == 6 || (n % 11 == 10 && bound > 0) || broken_source {
        "fail"
    } else if ks().any(unreadable) {
        "unknown"
    } else {
        "pass"
    }
}

/// Every cluster's row (cluster `aks-S-C`) has the verdict the generator promises, and every
/// cluster has exactly one row.
fn check_verdicts(format: &str, out: &[u8], subs: usize, clusters: usize, bindings: usize) {
    let rows: Vec<(String, String)> = match format {
        "json" => {
            let all: Vec<Value> = serde_json::from_slice(out).expect("JSON output");
            all.iter()
                .filter(|r| r["cluster"].is_string())
                .map(|r| {
                    (
                        r["cluster"].as_str().unwrap_or_default().to_string(),
                        r["verdict"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        }
        _ => {
            // TSV: az's, every scalar field in key order: the cluster's name is the field
            // `aks-S-C`, the verdict the last.
            let text = String::from_utf8_lossy(out);
            text.lines()
                .filter_map(|l| {
                    let fields: Vec<&str> = l.split('\t').collect();
                    let name = fields.iter().find(|f| f.starts_with("aks-"))?;
                    Some((name.to_string(), fields.last()?.to_string()))
                })
                .collect()
        }
    };
    assert_eq!(rows.len(), subs * clusters, "{format}: one row per cluster");
    let mut seen = vec![false; subs * clusters];
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, verdict) in &rows {
        let parts: Vec<usize> = name[4..]
            .split('-')
            .filter_map(|p| p.parse().ok())
            .collect();
        let n = parts[0] * clusters + parts[1];
        assert!(!seen[n], "{format}: {name} has two rows");
        seen[n] = true;
        let want = expected_verdict(n, bindings);
        assert_eq!(verdict, want, "{format}: cluster {name}");
        *tally.entry(want).or_default() += 1;
    }
    assert!(
        tally.len() == 4,
        "every kind of verdict is exercised: {tally:?}"
    );
}

/// The CLI's environment for one emulator (as in cli.rs): endpoint, token, subscription, no az
/// config, the trust file.
fn cli_env(cmd: &mut Command, url: &str, trust: &std::path::Path) {
    cmd.env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", url)
        .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", "bench")
        .env(
            "AZURE_CONFIG_DIR",
            std::env::temp_dir().join("aks-trustedaccess-bench-no-az"),
        )
        .env("SSL_CERT_FILE", trust)
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .env_remove("SSL_CERT_DIR");
}

/// Issue 20's case (see the file's comment): each discovery mode, `runs` times.
fn refusing_graph(trust: &measure::TrustFile, fleet: &str, runs: usize) {
    let (_, clusters, bindings) = fleet_shape(fleet);
    println!(
        "\n| {fleet}, 8 % dangling + 8 % identity-less, queries over 100,000 characters refused, all three reports | requests | ideal | median wall (p10 – p90) | ratio to ideal | peak RSS | Markdown | SARIF results |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut findings_by_mode: Vec<(&str, Vec<Value>)> = Vec::new();
    for mode in ["arg", "arm"] {
        let mut measured = Vec::new();
        let (mut requests, mut md_len, mut sarif_results) = (0, 0, 0);
        for _ in 0..runs {
            let (run, rows, sizes) = refusing_graph_once(trust, fleet, mode);
            check_broken_bindings(&rows, clusters, bindings);
            (requests, md_len, sarif_results) = sizes;
            let clusters_only: Vec<Value> = rows
                .into_iter()
                .filter(|r| r["cluster"].is_string())
                .map(|r| serde_json::json!([r["id"], r["verdict"], r["results"]]))
                .collect();
            findings_by_mode.push((mode, clusters_only));
            measured.push(run);
        }
        let s = Stats::of(&measured);
        let ideal = requests as f64 * LATENCY_MS / DEFAULT_PARALLEL;
        println!(
            "| --discovery {mode} | {requests} | {} | {} ({} – {}) | {:.2}× | {:.1} MiB | {:.0} KiB | {sarif_results} |",
            ms(ideal),
            ms(s.wall.median),
            ms(s.wall.p10),
            ms(s.wall.p90),
            s.wall.median / ideal,
            s.peak_rss_kib as f64 / 1024.0,
            md_len as f64 / 1024.0
        );
    }
    let first = &findings_by_mode[0].1;
    for (mode, rows) in &findings_by_mode {
        assert!(rows == first, "--discovery {mode} gives the same findings");
    }
    println!(
        "\nevery dangling and identity-less binding reported in all {} runs (none as a pass); the same verdicts and findings under --discovery arg and arm",
        findings_by_mode.len()
    );
}

/// One audit with the three reports: the run, its rows, and (requests, Markdown bytes, SARIF
/// results).
fn refusing_graph_once(
    trust: &measure::TrustFile,
    fleet: &str,
    mode: &str,
) -> (Run, Vec<Value>, (usize, u64, usize)) {
    let latency = LATENCY_MS.to_string();
    let emulator = Emulator::start(
        Transport::Tls,
        &[
            "--fleet",
            fleet,
            "--fleet-broken-percent",
            "8",
            "--graph-max-query-chars",
            "100000",
            "--latency-ms",
            &latency,
        ],
        trust,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let report = |name: &str| dir.path().join(name).display().to_string();
    let mut args: Vec<String> = vec!["audit".into(), "--discovery".into(), mode.into()];
    for (format, file) in [
        ("sarif", "a.sarif"),
        ("junit", "a.xml"),
        ("markdown", "a.md"),
    ] {
        args.push("--report".into());
        args.push(format!("{format}={}", report(file)));
    }
    let stdout = dir.path().join("out.json");
    let run = emulator.run_to(&args, &stdout);
    assert_eq!(run.code, 1, "some clusters cannot be read");
    let rows: Vec<Value> =
        serde_json::from_slice(&std::fs::read(&stdout).expect("stdout")).expect("JSON");
    let md_len = std::fs::metadata(report("a.md")).expect("markdown").len();
    assert!(md_len < 1024 * 1024, "Markdown under 1 MiB: {md_len}");
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(report("a.sarif")).expect("SARIF")).expect("JSON");
    let results = sarif["runs"][0]["results"].as_array().map_or(0, Vec::len);
    (run, rows, (emulator.requests().len(), md_len, results))
}

/// Source k's (dangling, without identity) under `--fleet-broken-percent P`, as the generator
/// promises (a Fibonacci hash of k modulo 100 below P, or at least 100 - P).
fn broken(k: usize, percent: u64) -> (bool, bool) {
    let bucket = ((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 100;
    (bucket < percent, bucket >= 100 - percent)
}

/// Every binding whose source is dangling (TA003) or without identity (TA004, when the caller
/// can read it) is reported as such, on a cluster that fails; no other binding is.
fn check_broken_bindings(rows: &[Value], clusters: usize, bindings: usize) {
    let (mut dangling, mut without_identity) = (0, 0);
    for row in rows.iter().filter(|r| r["cluster"].is_string()) {
        let name = row["cluster"].as_str().unwrap_or_default();
        let parts: Vec<usize> = name[4..]
            .split('-')
            .filter_map(|p| p.parse().ok())
            .collect();
        let n = parts[0] * clusters + parts[1];
        if n % 13 == 12 || n % 10 == 9 {
            continue;
        }
        for b in 0..bindings {
            let k = n * bindings + b;
            let (gone, no_identity) = broken(k, 8);
            let seen_without = no_identity && k % 23 != 11;
            let binding = format!("/trustedAccessRoleBindings/binding-{b}");
            let has = |rule: &str| {
                row["results"].as_array().into_iter().flatten().any(|f| {
                    f["ruleId"] == rule
                        && f["resource"]
                            .as_str()
                            .unwrap_or_default()
                            .ends_with(&binding)
                })
            };
            assert_eq!(has("TA003"), gone, "{name} binding-{b}");
            assert_eq!(has("TA004"), seen_without, "{name} binding-{b}");
            if gone || seen_without {
                assert_eq!(row["verdict"], "fail", "{name}");
            }
            dangling += usize::from(gone);
            without_identity += usize::from(seen_without);
        }
    }
    assert!(dangling > 0 && without_identity > 0);
}
