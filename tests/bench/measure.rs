//! How the benchmarks measure: emulators over TLS or plain http, one CLI run through a runner
//! process (so its peak memory and CPU time are its own), the moment the first request reaches
//! the server, and medians.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub const CLI: &str = env!("CARGO_BIN_EXE_aks-trustedaccess");
const EMULATOR: &str = env!("CARGO_BIN_EXE_aks-trustedaccess-emulator");
const RUNNER: &str = "AKS_BENCH_RUNNER";
/// Where a runner sends the CLI's stdout (else nowhere).
const RUNNER_STDOUT: &str = "AKS_BENCH_STDOUT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tls,
    Plain,
}

/// The system's CA bundle, copied once; each TLS emulator's file is it plus that emulator's CA.
pub struct TrustFile {
    dir: tempfile::TempDir,
    bundle: Vec<u8>,
    pub certificates: usize,
    pub origin: String,
}

impl TrustFile {
    pub fn new() -> TrustFile {
        let probed = openssl_probe::probe().cert_file;
        let bundle = probed
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        let certificates = String::from_utf8_lossy(&bundle)
            .matches("-----BEGIN CERTIFICATE-----")
            .count()
            + 1;
        let origin = match &probed {
            Some(p) if !bundle.is_empty() => format!("{} plus the emulator's test CA", p.display()),
            _ => "the emulator's test CA only: no system bundle found".into(),
        };
        TrustFile {
            dir: tempfile::tempdir().expect("temp dir"),
            bundle,
            certificates,
            origin,
        }
    }
}

pub struct Emulator {
    child: Child,
    pub url: String,
    /// SSL_CERT_FILE for the CLI: the system bundle, plus this emulator's CA over TLS.
    pub trust: PathBuf,
    ca_pem: Option<Vec<u8>>,
    /// Request lines the emulator logs (`--log-requests`), as they arrive.
    log: Receiver<()>,
}

impl Emulator {
    pub fn start(transport: Transport, args: &[&str], trust: &TrustFile) -> Emulator {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ca_path = trust.dir.path().join(format!("ca-{n}.pem"));
        let mut cmd = Command::new(EMULATOR);
        cmd.args(["--port", "0"]).args(args);
        if transport == Transport::Tls {
            cmd.arg("--tls").arg("--tls-ca-file").arg(&ca_path);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the emulator starts");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("URL");
        let (tx, log) = channel();
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if line.starts_with("GET ")
                    || line.starts_with("PUT ")
                    || line.starts_with("DELETE ")
                    || line.starts_with("POST ")
                {
                    let _ = tx.send(());
                }
            }
        });
        let ca_pem = (transport == Transport::Tls).then(|| std::fs::read(&ca_path).expect("CA"));
        let mut trusted = trust.bundle.clone();
        trusted.extend_from_slice(ca_pem.as_deref().unwrap_or_default());
        let trust_path = trust.dir.path().join(format!("trusted-{n}.pem"));
        std::fs::write(&trust_path, trusted).expect("trust file");
        Emulator {
            child,
            url: url.trim().to_string(),
            trust: trust_path,
            ca_pem,
            log,
        }
    }

    /// One CLI run, measured by a runner process.
    pub fn run(&self, args: &[String]) -> Run {
        self.run_with(args, None)
    }

    /// One CLI run, measured by a runner process, its stdout written to `stdout`.
    #[allow(
        dead_code,
        reason = "used by some of the benches that include this file"
    )]
    pub fn run_to(&self, args: &[String], stdout: &std::path::Path) -> Run {
        self.run_with(args, Some(stdout))
    }

    fn run_with(&self, args: &[String], stdout: Option<&std::path::Path>) -> Run {
        let me = std::env::current_exe().expect("the bench knows its path");
        let mut cmd = Command::new(me);
        crate::cli_env(&mut cmd, &self.url, &self.trust);
        match stdout {
            Some(path) => cmd.env(RUNNER_STDOUT, path),
            None => cmd.env_remove(RUNNER_STDOUT),
        };
        let out = cmd.env(RUNNER, "1").args(args).output().expect("runner");
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        assert_eq!(
            f.len(),
            5,
            "runner: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Run {
            wall: f[0] / 1000.0,
            cpu: (f[1] + f[2]) / 1000.0,
            peak_rss_kib: f[3] as u64,
            code: f[4] as i32,
        }
    }

    /// Wall and CPU milliseconds from start until the first request reaches the server.
    pub fn until_first_request(&self, args: &[String]) -> (f64, f64) {
        while self.log.try_recv().is_ok() {}
        let mut cmd = Command::new(CLI);
        crate::cli_env(&mut cmd, &self.url, &self.trust);
        let started = Instant::now();
        let mut child = cmd
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the CLI runs");
        self.log
            .recv_timeout(Duration::from_secs(30))
            .expect("a request arrives");
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        let cpu = cpu_ms(child.id());
        let status = child.wait().expect("the CLI ends");
        assert!(status.success(), "{args:?}: {status}");
        while self.log.recv_timeout(Duration::from_millis(20)).is_ok() {}
        (wall, cpu)
    }

    /// A number from the emulator's `/_emulator/stats`.
    pub fn stat(&self, name: &str) -> u64 {
        self.control("stats")[name].as_u64().unwrap_or(0)
    }

    /// Every request the emulator recorded (`/_emulator/requests`).
    #[allow(
        dead_code,
        reason = "used by some of the benches that include this file"
    )]
    pub fn requests(&self) -> Vec<serde_json::Value> {
        match self.control("requests") {
            serde_json::Value::Array(all) => all,
            other => panic!("requests: {other}"),
        }
    }

    /// A document from the emulator's control API: `/_emulator/{path}` (stats, requests, state).
    pub fn control(&self, path: &str) -> serde_json::Value {
        // A large fleet's request log takes a while to serialize.
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120));
        if let Some(pem) = &self.ca_pem {
            builder =
                builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem).expect("CA"));
        }
        builder
            .build()
            .expect("client")
            .get(format!("{}/_emulator/{path}", self.url))
            .send()
            .and_then(|r| r.json())
            .expect("the emulator's control API answers")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time of a running process, in milliseconds: the sum over its threads of the scheduler's
/// nanosecond run time (/proc/PID/task/*/schedstat).
fn cpu_ms(pid: u32) -> f64 {
    let mut total_ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.filter_map(Result::ok) {
            let mut text = String::new();
            if let Ok(mut f) = std::fs::File::open(task.path().join("schedstat")) {
                let _ = f.read_to_string(&mut text);
            }
            total_ns += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total_ns as f64 / 1e6
}

/// One measured run: milliseconds of wall and CPU time, peak resident memory, exit code.
pub struct Run {
    pub wall: f64,
    pub cpu: f64,
    pub peak_rss_kib: u64,
    pub code: i32,
}

pub struct Quantiles {
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
}

pub struct Stats {
    pub wall: Quantiles,
    pub cpu: Quantiles,
    pub peak_rss_kib: u64,
}

impl Stats {
    pub fn of(runs: &[Run]) -> Stats {
        Stats {
            wall: quantiles(runs.iter().map(|r| r.wall).collect()),
            cpu: quantiles(runs.iter().map(|r| r.cpu).collect()),
            peak_rss_kib: runs.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
        }
    }
}

fn quantiles(mut values: Vec<f64>) -> Quantiles {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Quantiles {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    quantiles(values.to_vec()).median
}

pub fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0} ms")
    } else {
        format!("{value:.1} ms")
    }
}

/// In a runner process (the bench started itself with AKS_BENCH_RUNNER): run the CLI once with
/// this process's arguments and environment, and print wall µs, user µs, system µs, peak RSS KiB
/// and the exit code. The CLI is this process's only child, so the usage figures are its own.
pub fn run_as_runner() -> bool {
    if std::env::var_os(RUNNER).is_none() {
        return false;
    }
    let stdout = match std::env::var_os(RUNNER_STDOUT) {
        Some(path) => Stdio::from(std::fs::File::create(path).expect("the stdout file")),
        None => Stdio::null(),
    };
    let started = Instant::now();
    let status = Command::new(CLI)
        .args(std::env::args_os().skip(1))
        .env_remove(RUNNER)
        .env_remove(RUNNER_STDOUT)
        .stdout(stdout)
        .stderr(Stdio::null())
        .status()
        .expect("the CLI runs");
    let wall = started.elapsed().as_micros();
    let (user, system, rss) = children_usage();
    println!(
        "{wall} {user} {system} {rss} {}",
        status.code().unwrap_or(-1)
    );
    true
}

#[cfg(target_os = "linux")]
fn children_usage() -> (i64, i64, i64) {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000 + t.tv_usec();
    (
        us(usage.user_time()),
        us(usage.system_time()),
        usage.max_rss(),
    )
}

#[cfg(not(target_os = "linux"))]
fn children_usage() -> (i64, i64, i64) {
    (0, 0, 0)
}
