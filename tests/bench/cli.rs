//! Whole-process benchmarks (`cargo bench`): start the emulator with a given latency, run the
//! real `aks-trustedaccess` binary many times, and report the median and spread of wall time and
//! the peak memory of each command; the LRO overhead over the server's own delay; and `audit`
//! over a generated fleet against the ideal `requests × latency / parallelism`.
//!
//! Knobs (environment): AKS_BENCH_RUNS (default 25), AKS_BENCH_LATENCIES_MS (default "0,20"),
//! AKS_BENCH_FLEET (default "20x50x2"), AKS_BENCH_PARALLEL (default 16).

#![expect(
    clippy::print_stdout,
    reason = "the benchmark report is this harness's output"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLI: &str = env!("CARGO_BIN_EXE_aks-trustedaccess");
const EMULATOR: &str = env!("CARGO_BIN_EXE_aks-trustedaccess-emulator");
const SUB: &str = "00000000-0000-0000-0000-000000000000";
const ML_SOURCE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/bench";
const ML_ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";

struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(EMULATOR)
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("URL");
        Emulator {
            child,
            url: url.trim().to_string(),
        }
    }

    /// ARM requests the emulator has recorded (its control API is reached directly, no proxy).
    fn request_count(&self) -> u64 {
        let count = || -> Option<u64> {
            let client = reqwest::blocking::Client::builder()
                .no_proxy()
                .build()
                .ok()?;
            let stats: serde_json::Value = client
                .get(format!("{}/_emulator/stats", self.url))
                .send()
                .ok()?
                .json()
                .ok()?;
            stats["requests"].as_u64()
        };
        count().unwrap_or(0)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(emulator: &Emulator) -> Command {
    let mut cmd = Command::new(CLI);
    cmd.env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", &emulator.url)
        .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", "bench")
        .env("AZURE_SUBSCRIPTION_ID", SUB)
        .env(
            "AZURE_CONFIG_DIR",
            std::env::temp_dir().join("aks-trustedaccess-bench-no-az"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Wall times of `runs` runs of the command `args(i)`, and the peak RSS of those runs in KiB.
fn measure(
    emulator: &Emulator,
    runs: usize,
    args: &dyn Fn(usize) -> Vec<String>,
) -> (Vec<Duration>, Option<u64>) {
    let mut times = Vec::with_capacity(runs);
    let mut peak = None;
    for i in 0..runs {
        let started = Instant::now();
        let child = cli(emulator).args(args(i)).spawn().expect("the CLI runs");
        let (status, rss) = wait_with_peak_rss(child);
        times.push(started.elapsed());
        assert!(status == 0 || status == 4, "{:?} exited {status}", args(i));
        peak = peak.max(rss);
    }
    (times, peak)
}

/// Waits for the child and reads its peak resident set size (Linux: wait4's rusage).
#[cfg(target_os = "linux")]
fn wait_with_peak_rss(child: Child) -> (i32, Option<u64>) {
    use nix::sys::wait::WaitStatus;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    match nix::sys::wait::waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, code)) => {
            // RUSAGE_CHILDREN's max RSS is the largest of any waited-for child so far; each
            // measurement runs in its own helper process (see `main`), so it is this command's.
            let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
                .ok()
                .map(|u| u.max_rss() as u64);
            (code, rss)
        }
        _ => (-1, None),
    }
}

#[cfg(not(target_os = "linux"))]
fn wait_with_peak_rss(mut child: Child) -> (i32, Option<u64>) {
    (child.wait().ok().and_then(|s| s.code()).unwrap_or(-1), None)
}

struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

fn stats(times: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// One measurement, run in a helper process so its peak-RSS figure is its own.
fn run_one(name: &str, latency: u64, runs: usize) -> (Stats, Option<u64>) {
    let latency_arg = latency.to_string();
    let emulator = Emulator::start(&["--latency-ms", &latency_arg]);
    let binding = |prefix: &str, i: usize| format!("{prefix}-{i}");
    let cluster = ["-g", "rg1", "--cluster-name", "cluster2"].map(String::from);
    let (times, rss) = match name {
        "role list" => measure(&emulator, runs, &|_| {
            ["role", "list", "-l", "westeurope"]
                .map(String::from)
                .to_vec()
        }),
        "rolebinding list" => measure(&emulator, runs, &|_| {
            [
                "rolebinding",
                "list",
                "-g",
                "rg1",
                "--cluster-name",
                "cluster1",
            ]
            .map(String::from)
            .to_vec()
        }),
        "rolebinding show" => measure(&emulator, runs, &|_| {
            [
                "rolebinding",
                "show",
                "-g",
                "rg1",
                "--cluster-name",
                "cluster1",
                "-n",
                "ml-binding",
            ]
            .map(String::from)
            .to_vec()
        }),
        "rolebinding create" | "rolebinding delete" => {
            let create = |i: usize| {
                let mut args = vec!["rolebinding".to_string(), "create".into()];
                args.extend(cluster.iter().cloned());
                args.extend([
                    "-n".into(),
                    binding("bench", i),
                    "-s".into(),
                    ML_SOURCE.into(),
                    "--roles".into(),
                    ML_ROLE.into(),
                ]);
                args
            };
            let created = measure(&emulator, runs, &create);
            if name == "rolebinding create" {
                created
            } else {
                measure(&emulator, runs, &|i| {
                    let mut args = vec!["rolebinding".to_string(), "delete".into()];
                    args.extend(cluster.iter().cloned());
                    args.extend(["-n".into(), binding("bench", i), "--yes".into()]);
                    args
                })
            }
        }
        other => unreachable!("unknown benchmark {other}"),
    };
    (stats(&times), rss)
}

const COMMANDS: [&str; 5] = [
    "role list",
    "rolebinding list",
    "rolebinding show",
    "rolebinding create",
    "rolebinding delete",
];

fn main() {
    // `cargo bench` passes `--bench`; a helper run gets its task in the environment.
    if let Ok(task) = std::env::var("AKS_BENCH_AUDIT") {
        let (fleet, parallel) = task.split_once('|').unwrap_or(("20x50x2", "16"));
        run_audit(fleet, parallel);
        return;
    }
    if let Ok(task) = std::env::var("AKS_BENCH_TASK") {
        let mut parts = task.splitn(3, '|');
        let (name, latency, runs) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("0"),
            parts.next().unwrap_or("1"),
        );
        let (s, rss) = run_one(
            name,
            latency.parse().unwrap_or(0),
            runs.parse().unwrap_or(1),
        );
        println!(
            "{} {} {} {}",
            s.median,
            s.p10,
            s.p90,
            rss.map_or("-".to_string(), |r| r.to_string())
        );
        return;
    }
    let runs: usize = env_or("AKS_BENCH_RUNS", "25").parse().unwrap_or(25);
    let latencies: Vec<u64> = env_or("AKS_BENCH_LATENCIES_MS", "0,20")
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let binary_size = std::fs::metadata(CLI).map(|m| m.len()).unwrap_or(0);
    println!(
        "aks-trustedaccess benchmarks: {runs} runs per command, binary {:.1} MiB ({CLI})\n",
        binary_size as f64 / 1048576.0
    );
    println!("| command | server latency | median | p10 – p90 | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    let me = std::env::current_exe().expect("the bench knows its path");
    for latency in &latencies {
        for name in COMMANDS {
            let out = Command::new(&me)
                .env("AKS_BENCH_TASK", format!("{name}|{latency}|{runs}"))
                .output()
                .expect("the helper runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let f: Vec<&str> = text.split_whitespace().collect();
            if f.len() == 4 {
                let rss = f[3]
                    .parse::<f64>()
                    .map(|kb| format!("{:.1} MiB", kb / 1024.0))
                    .unwrap_or_else(|_| "n/a".into());
                println!(
                    "| `{name}` | {latency} ms | {:.1} ms | {:.1} – {:.1} ms | {rss} |",
                    f[0].parse::<f64>().unwrap_or(0.0),
                    f[1].parse::<f64>().unwrap_or(0.0),
                    f[2].parse::<f64>().unwrap_or(0.0)
                );
            } else {
                println!(
                    "| `{name}` | {latency} ms | failed: {} | | |",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                );
            }
        }
    }
    lro_overhead(runs.min(5));
    audit_fleet();
    #[cfg(unix)]
    azure_cli_token_cache();
}

/// Ten consecutive `rolebinding list` calls signed in with a fake `az` on PATH, token cache on
/// and off; the fake sleeps AKS_BENCH_FAKE_AZ_SECONDS (default 0.6, a real az's Python start-up).
#[cfg(unix)]
fn azure_cli_token_cache() {
    use std::os::unix::fs::PermissionsExt;
    let delay = env_or("AKS_BENCH_FAKE_AZ_SECONDS", "0.6");
    let dir =
        std::env::temp_dir().join(format!("aks-trustedaccess-bench-az-{}", std::process::id()));
    let bin = dir.join("bin");
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
    let token = format!(
        "{}.{}.sig",
        b64(&serde_json::json!({"alg": "none"})),
        b64(
            &serde_json::json!({"aud": "https://management.azure.com/", "tid": "11111111-1111-1111-1111-111111111111", "exp": exp})
        )
    );
    let script = format!(
        "#!/bin/sh\nsleep {delay}\necho '{{\"accessToken\": \"{token}\", \"expires_on\": {exp}, \"tokenType\": \"Bearer\"}}'\n"
    );
    let az = bin.join("az");
    std::fs::write(&az, script).expect("fake az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let emulator = Emulator::start(&[]);
    println!(
        "\n| 10 × `rolebinding list`, az credential (fake az, {delay} s per call) | total wall |"
    );
    println!("| --- | --- |");
    for (label, no_cache) in [
        ("token cache on (default)", false),
        ("token cache off (--no-token-cache)", true),
    ] {
        let cache = dir.join(format!("cache-{no_cache}"));
        let started = Instant::now();
        for _ in 0..10 {
            let mut cmd = cli(&emulator);
            cmd.env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
                .env("PATH", format!("{}:/bin:/usr/bin", bin.display()))
                .env("XDG_CACHE_HOME", &cache)
                .env("HOME", &dir)
                .args([
                    "rolebinding",
                    "list",
                    "-g",
                    "rg1",
                    "--cluster-name",
                    "cluster1",
                ]);
            if no_cache {
                cmd.arg("--no-token-cache");
            }
            let status = cmd.status().expect("the CLI runs");
            assert!(status.success(), "{label}: {status}");
        }
        println!(
            "| {label} | {:.0} ms |",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A create whose operation takes the server 2 s: how much longer than 2 s the command takes,
/// with the server naming a wait (Retry-After: 1) and without (the client's own backoff).
fn lro_overhead(runs: usize) {
    println!(
        "\n| long-running create (server takes 2.0 s) | median wall | overhead over the server's 2.0 s |"
    );
    println!("| --- | --- | --- |");
    for (label, retry_after) in [
        ("server sends Retry-After: 1", "1"),
        ("server sends no Retry-After", "none"),
    ] {
        let emulator = Emulator::start(&[
            "--operation-polls",
            "1000000",
            "--operation-seconds",
            "2",
            "--retry-after",
            retry_after,
        ]);
        let (times, _) = measure(&emulator, runs, &|i| {
            [
                "rolebinding",
                "create",
                "-g",
                "rg1",
                "--cluster-name",
                "cluster2",
                "-n",
                &format!("lro-{i}"),
                "-s",
                ML_SOURCE,
                "--roles",
                ML_ROLE,
                "--skip-validation",
            ]
            .map(String::from)
            .to_vec()
        });
        let s = stats(&times);
        println!(
            "| {label} | {:.0} ms | {:.0} ms (az: ≥ 30 000 ms without Retry-After) |",
            s.median,
            s.median - 2000.0
        );
    }
}

/// `audit` over a generated fleet at 20 ms per request, against requests × latency / parallelism;
/// and its peak memory next to a fleet a tenth the size (it should stay flat).
fn audit_fleet() {
    let fleet = env_or("AKS_BENCH_FLEET", "20x50x2");
    let parallel = env_or("AKS_BENCH_PARALLEL", "16");
    let small = match fleet.split_once('x') {
        Some((subs, rest)) => format!(
            "{}x{rest}",
            (subs.parse::<usize>().unwrap_or(20) / 10).max(1)
        ),
        None => "2x50x2".to_string(),
    };
    println!(
        "\n| audit, 20 ms per request, --parallel {parallel} | requests | ideal (requests × 20 ms / {parallel}) | median wall (p10 – p90) | ratio to ideal | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let me = std::env::current_exe().expect("the bench knows its path");
    for fleet in [small, fleet] {
        let out = Command::new(&me)
            .env("AKS_BENCH_AUDIT", format!("{fleet}|{parallel}"))
            .output()
            .expect("the helper runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = text
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        if f.len() != 5 {
            println!("| fleet {fleet} | failed | | | | |");
            continue;
        }
        let ideal = f[3] * 20.0 / parallel.parse::<f64>().unwrap_or(16.0);
        let rss = if f[4].is_nan() {
            "n/a".to_string()
        } else {
            format!("{:.1} MiB", f[4] / 1024.0)
        };
        println!(
            "| fleet {fleet} | {} | {ideal:.0} ms | {:.0} ms ({:.0} – {:.0}) | {:.2}× | {rss} |",
            f[3],
            f[0],
            f[1],
            f[2],
            f[0] / ideal
        );
    }
}

/// Helper: five audits of one fleet; prints median, p10, p90, requests per audit, peak RSS.
fn run_audit(fleet: &str, parallel: &str) {
    let mut walls = Vec::new();
    let mut requests = 0;
    let mut peak = None;
    for _ in 0..5 {
        // A fresh emulator per run: each audit starts with ARM's full request budget.
        let emulator = Emulator::start(&["--fleet", fleet, "--latency-ms", "20"]);
        let before = emulator.request_count();
        let started = Instant::now();
        let child = cli(&emulator)
            .args(["audit", "--parallel", parallel])
            .spawn()
            .expect("audit runs");
        let (status, rss) = wait_with_peak_rss(child);
        walls.push(started.elapsed());
        // The control request that reads the count is not an ARM request; exclude it.
        requests = emulator.request_count() - before;
        assert!([0, 1, 4].contains(&status), "audit exited {status}");
        peak = peak.max(rss);
    }
    let s = stats(&walls);
    println!(
        "{} {} {} {} {}",
        s.median,
        s.p10,
        s.p90,
        requests,
        peak.map_or("NaN".to_string(), |r| r.to_string())
    );
}
