//! Whole-process benchmarks (`cargo bench`): the real `aks-trustedaccess` binary against the
//! emulator, every command over TLS (as users reach ARM) and over plain http, side by side and
//! alternating run by run so machine noise hits both alike. For each: median and spread of wall
//! time, CPU time, peak memory, and the wall and CPU time spent before the first request reaches
//! the server. Then `audit` over a fleet at 20 ms per request against the ideal
//! `requests × latency / parallelism`, over TLS with HTTP/2, TLS with HTTP/1.1 only, and plain.
//!
//! Over TLS the emulator serves a certificate from its test CA (`--tls`); the CLI trusts it
//! through SSL_CERT_FILE pointing at the system's CA bundle with the test CA appended, so the
//! trust store it loads is as large as a real one (a company CA added to the system store).
//!
//! Then the overhead of a long-running create over the server's own delay, and the token cache
//! with a slow `az`.
//!
//! Knobs (environment): AKS_BENCH_RUNS (default 21 per transport), AKS_BENCH_PROBE_RUNS (7),
//! AKS_BENCH_FLEET (default "20x50x2"), AKS_BENCH_PARALLEL (default 16), AKS_BENCH_AUDIT_RUNS (5),
//! AKS_BENCH_FAKE_AZ_SECONDS (0.6).

#![expect(
    clippy::print_stdout,
    reason = "the benchmark report is this harness's output"
)]

#[path = "measure.rs"]
mod measure;

use measure::{Emulator, Run, Stats, Transport, ms};
use std::process::Command;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const ML_SOURCE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/bench";
const ML_ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";

const COMMANDS: [&str; 5] = [
    "role list",
    "rolebinding list",
    "rolebinding show",
    "rolebinding create",
    "rolebinding delete",
];

/// The arguments of run `i` of a command: `create` makes binding `bench-i`, `delete` removes it.
fn command_args(name: &str, i: usize) -> Vec<String> {
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    match name {
        "role list" => words("role list -l westeurope"),
        "rolebinding list" => words("rolebinding list -g rg1 --cluster-name cluster1"),
        "rolebinding show" => {
            words("rolebinding show -g rg1 --cluster-name cluster1 -n ml-binding")
        }
        "rolebinding create" => {
            let mut args = words("rolebinding create -g rg1 --cluster-name cluster2 --roles");
            args.extend([ML_ROLE.into(), "-s".into(), ML_SOURCE.into()]);
            args.extend(["-n".into(), format!("bench-{i}")]);
            args
        }
        "rolebinding delete" => {
            let mut args = words("rolebinding delete -g rg1 --cluster-name cluster2 --yes -n");
            args.push(format!("bench-{i}"));
            args
        }
        other => unreachable!("unknown benchmark {other}"),
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if measure::run_as_runner() {
        return;
    }
    let runs = env_or("AKS_BENCH_RUNS", 21);
    let probe_runs = env_or("AKS_BENCH_PROBE_RUNS", 7);
    let binary_size = std::fs::metadata(measure::CLI)
        .map(|m| m.len())
        .unwrap_or(0);
    let trust = measure::TrustFile::new();
    println!(
        "aks-trustedaccess benchmarks: binary {:.1} MiB; {runs} runs per command and transport, \
         alternating TLS and plain; TLS trusts {} certificates ({})\n",
        binary_size as f64 / 1048576.0,
        trust.certificates,
        trust.origin
    );
    commands_side_by_side(&trust, runs);
    before_first_request(&trust, probe_runs);
    audit_fleet(&trust);
    lro_overhead(&trust);
    #[cfg(unix)]
    azure_cli_token_cache(&trust);
}

/// The headline table: each command over TLS and over plain http, alternating.
fn commands_side_by_side(trust: &measure::TrustFile, runs: usize) {
    let tls = Emulator::start(Transport::Tls, &[], trust);
    let plain = Emulator::start(Transport::Plain, &[], trust);
    println!(
        "| command | transport | median wall | p10 – p90 | median CPU | peak RSS | TLS − plain |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for name in COMMANDS {
        let mut results: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        for i in 0..runs {
            // Alternate which goes first, so neither always runs right after the other.
            let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let emulator = [&tls, &plain][which];
                // A cluster holds at most 8 bindings (as in ARM): each create is undone, and
                // each delete has its binding made, outside the measured run.
                if name == "rolebinding delete" {
                    let made = emulator.run(&command_args("rolebinding create", i));
                    assert_eq!(made.code, 0, "create before delete exited {}", made.code);
                }
                let run = emulator.run(&command_args(name, i));
                assert_eq!(run.code, 0, "{name} exited {}", run.code);
                results[which].push(run);
                if name == "rolebinding create" {
                    let undone = emulator.run(&command_args("rolebinding delete", i));
                    assert_eq!(undone.code, 0, "delete after create exited {}", undone.code);
                }
            }
        }
        let [t, p] = results.map(|r| Stats::of(&r));
        for (label, s) in [("TLS", &t), ("plain http", &p)] {
            let delta = if label == "TLS" {
                format!("{:+.1} ms", t.wall.median - p.wall.median)
            } else {
                String::new()
            };
            println!(
                "| `{name}` | {label} | {} | {} – {} | {} | {:.1} MiB | {delta} |",
                ms(s.wall.median),
                ms(s.wall.p10),
                ms(s.wall.p90),
                ms(s.cpu.median),
                s.peak_rss_kib as f64 / 1024.0,
            );
        }
    }
}

/// Wall and CPU time from start to the moment the first request reaches the server: start-up,
/// argument checks, the trust store, the TCP and TLS handshakes. Measured with a server that
/// waits 300 ms before answering, so the CLI sits idle while its CPU time is read.
fn before_first_request(trust: &measure::TrustFile, runs: usize) {
    let args = ["--latency-ms", "300", "--log-requests"];
    let tls = Emulator::start(Transport::Tls, &args, trust);
    let plain = Emulator::start(Transport::Plain, &args, trust);
    println!(
        "\n| before the first request reaches the server ({runs} runs each) | transport | wall (median) | CPU (median) |"
    );
    println!("| --- | --- | --- | --- |");
    for name in ["role list", "rolebinding show"] {
        let mut walls = [Vec::new(), Vec::new()];
        let mut cpus = [Vec::new(), Vec::new()];
        for i in 0..runs {
            let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let emulator = [&tls, &plain][which];
                let (wall, cpu) = emulator.until_first_request(&command_args(name, i));
                walls[which].push(wall);
                cpus[which].push(cpu);
            }
        }
        for (which, label) in [(0, "TLS"), (1, "plain http")] {
            println!(
                "| `{name}` | {label} | {} | {} |",
                ms(measure::median(&mut walls[which])),
                ms(measure::median(&mut cpus[which]))
            );
        }
    }
}

/// `audit` over a generated fleet at 20 ms per request: wall time against the ideal, over TLS
/// with HTTP/2 (what ARM offers), TLS with HTTP/1.1 only (a connection pool), and plain http.
fn audit_fleet(trust: &measure::TrustFile) {
    let fleet = std::env::var("AKS_BENCH_FLEET").unwrap_or_else(|_| "20x50x2".into());
    let parallel = env_or("AKS_BENCH_PARALLEL", 16);
    let runs = env_or("AKS_BENCH_AUDIT_RUNS", 5);
    println!(
        "\n| audit, fleet {fleet}, 20 ms per request, --parallel {parallel} | requests | connections | ideal | median wall (p10 – p90) | ratio to ideal | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let modes: [(&str, Transport, &[&str]); 3] = [
        ("TLS, HTTP/2", Transport::Tls, &[]),
        ("TLS, HTTP/1.1 only", Transport::Tls, &["--http1-only"]),
        ("plain http (HTTP/1.1)", Transport::Plain, &[]),
    ];
    let args: Vec<String> = ["audit", "--parallel", &parallel.to_string()]
        .map(String::from)
        .to_vec();
    let mut all: Vec<(Vec<Run>, u64, u64)> = modes.iter().map(|_| (Vec::new(), 0, 0)).collect();
    for _ in 0..runs {
        for (m, (_, transport, extra)) in modes.iter().enumerate() {
            // A fresh emulator per run: each audit starts with ARM's full request budget.
            let mut emulator_args = vec!["--fleet", &fleet, "--latency-ms", "20"];
            emulator_args.extend_from_slice(extra);
            let emulator = Emulator::start(*transport, &emulator_args, trust);
            let run = emulator.run(&args);
            // The generated fleet has clusters the caller may not read (1) and findings (4).
            assert!([0, 1, 4].contains(&run.code), "audit exited {}", run.code);
            all[m].1 = emulator.stat("requests");
            // Less the connection of the stats request itself.
            all[m].2 = emulator.stat("connections").saturating_sub(1);
            all[m].0.push(run);
        }
    }
    for ((label, _, _), (runs, requests, connections)) in modes.iter().zip(&all) {
        let s = Stats::of(runs);
        let ideal = *requests as f64 * 20.0 / parallel as f64;
        println!(
            "| {label} | {requests} | {connections} | {ideal:.0} ms | {} ({} – {}) | {:.2}× | {:.1} MiB |",
            ms(s.wall.median),
            ms(s.wall.p10),
            ms(s.wall.p90),
            s.wall.median / ideal,
            s.peak_rss_kib as f64 / 1024.0
        );
    }
}

/// The CLI's environment for one emulator: endpoint, token, subscription, no az config, and the
/// trust file (read only over TLS; set for both so the environments differ in nothing else).
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

/// A create whose operation takes the server 2 s, over TLS: how much longer than 2 s the command
/// takes, with the server naming a wait (Retry-After: 1) and without (the client's own backoff).
fn lro_overhead(trust: &measure::TrustFile) {
    println!(
        "\n| long-running create over TLS (server takes 2.0 s) | median wall | overhead over the server's 2.0 s |"
    );
    println!("| --- | --- | --- |");
    for (label, retry_after) in [
        ("server sends Retry-After: 1", "1"),
        ("server sends no Retry-After", "none"),
    ] {
        let args = [
            "--operation-polls",
            "1000000",
            "--operation-seconds",
            "2",
            "--retry-after",
            retry_after,
        ];
        let emulator = Emulator::start(Transport::Tls, &args, trust);
        let runs: Vec<Run> = (0..5)
            .map(|i| {
                let mut args = command_args("rolebinding create", i);
                args.push("--skip-validation".into());
                let run = emulator.run(&args);
                assert_eq!(run.code, 0, "create exited {}", run.code);
                run
            })
            .collect();
        let s = Stats::of(&runs);
        println!(
            "| {label} | {} | {} (az: ≥ 30 000 ms without Retry-After) |",
            ms(s.wall.median),
            ms(s.wall.median - 2000.0)
        );
    }
}

/// Ten consecutive `rolebinding list` calls over TLS signed in with a fake `az` on PATH, token
/// cache on and off; the fake sleeps AKS_BENCH_FAKE_AZ_SECONDS (default 0.6, az's start-up).
#[cfg(unix)]
fn azure_cli_token_cache(trust: &measure::TrustFile) {
    use std::os::unix::fs::PermissionsExt;
    let delay = std::env::var("AKS_BENCH_FAKE_AZ_SECONDS").unwrap_or_else(|_| "0.6".into());
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("temp dir");
    let b64 = |v: &serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 3600;
    let claims = serde_json::json!({"aud": "https://management.azure.com/", "tid": "11111111-1111-1111-1111-111111111111", "exp": exp});
    let token = format!(
        "{}.{}.sig",
        b64(&serde_json::json!({"alg": "none"})),
        b64(&claims)
    );
    let script = format!(
        "#!/bin/sh\nsleep {delay}\necho '{{\"accessToken\": \"{token}\", \"expires_on\": {exp}, \"tokenType\": \"Bearer\"}}'\n"
    );
    let az = bin.join("az");
    std::fs::write(&az, script).expect("fake az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let emulator = Emulator::start(Transport::Tls, &[], trust);
    println!(
        "\n| 10 × `rolebinding list` over TLS, az credential (fake az, {delay} s per call) | total wall |"
    );
    println!("| --- | --- |");
    for (label, no_cache) in [
        ("token cache on (default)", false),
        ("token cache off (--no-token-cache)", true),
    ] {
        let cache = dir.path().join(format!("cache-{no_cache}"));
        let started = std::time::Instant::now();
        for _ in 0..10 {
            let mut cmd = Command::new(measure::CLI);
            cli_env(&mut cmd, &emulator.url, &emulator.trust);
            cmd.env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
                .env("PATH", format!("{}:/bin:/usr/bin", bin.display()))
                .env("XDG_CACHE_HOME", &cache)
                .env("HOME", dir.path())
                .args(command_args("rolebinding list", 0))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if no_cache {
                cmd.arg("--no-token-cache");
            }
            let status = cmd.status().expect("the CLI runs");
            assert!(status.success(), "{label}: {status}");
        }
        println!(
            "| {label} | {} |",
            ms(started.elapsed().as_secs_f64() * 1000.0)
        );
    }
}
