//! Starts an emulator per test, builds CLI invocations with a clean environment, and reads the
//! requests the emulator recorded.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
/// The static token the tests sign in with; no test output may contain it.
pub const TOKEN: &str = "test-token-must-never-be-printed";
/// The static Log Analytics token (`--workspace`), likewise never printed.
pub const LOG_ANALYTICS_TOKEN: &str = "test-log-analytics-token-must-never-be-printed";

pub struct Emulator {
    child: Child,
    pub url: String,
    /// Empty az config dir (and HOME), so the user's own az setup never leaks in.
    pub home: tempfile::TempDir,
    /// The test CA's PEM when the emulator serves TLS.
    pub ca_pem: Option<String>,
}

impl Emulator {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Self {
        Self::spawn(args, tempfile::tempdir().expect("temp dir"), None)
    }

    /// The emulator started from a state file (the format of `GET /_emulator/state`).
    pub fn start_with_state(state: &Value, args: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let path = home.path().join("state.json");
        std::fs::write(&path, state.to_string()).expect("write the state file");
        let path = path.to_string_lossy().into_owned();
        let mut all = vec!["--state", path.as_str()];
        all.extend_from_slice(args);
        Self::spawn(&all, home, None)
    }

    /// The emulator over TLS, with a CA and a 127.0.0.1 certificate generated for this test.
    /// `ca.pem` is written into `home` for SSL_CERT_FILE.
    pub fn start_tls(args: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "aks-trustedaccess test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(std::net::IpAddr::V4(
                std::net::Ipv4Addr::LOCALHOST,
            )));
        let server_cert = params.signed_by(&server_key, &issuer).unwrap();
        let write = |name: &str, text: &str| {
            let path = home.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let cert = write("server.pem", &server_cert.pem());
        let key = write("server-key.pem", &server_key.serialize_pem());
        let ca = ca_cert.pem();
        write("ca.pem", &ca);
        let mut all = vec!["--tls-cert", &cert, "--tls-key", &key];
        all.extend_from_slice(args);
        Self::spawn(&all, home, Some(ca))
    }

    fn spawn(args: &[&str], home: tempfile::TempDir, ca_pem: Option<String>) -> Self {
        let mut child =
            std::process::Command::new(env!("CARGO_BIN_EXE_aks-trustedaccess-emulator"))
                .args(["--port", "0"])
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the emulator prints its URL");
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "emulator URL: {url}"
        );
        Emulator {
            child,
            url,
            home,
            ca_pem,
        }
    }

    /// Scripts the emulator's next answers (`POST /_emulator/script`).
    pub fn script(&self, answers: &serde_json::Value) {
        let resp = self
            .control_client()
            .post(format!("{}/_emulator/script", self.url))
            .body(answers.to_string())
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204, "the script is taken");
    }

    /// A client for the emulator's control API: direct (never through a proxy from the
    /// environment), trusting the test CA when there is one.
    pub fn control_client(&self) -> reqwest::blocking::Client {
        let mut builder = reqwest::blocking::Client::builder().no_proxy();
        if let Some(ca) = &self.ca_pem {
            builder = builder
                .tls_certs_merge(reqwest::Certificate::from_pem_bundle(ca.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }

    /// The CLI, pointed at this emulator, signed in with the static token, default subscription set.
    pub fn cli(&self) -> Command {
        let mut cmd = self.bare_cli();
        cmd.env("AZURE_SUBSCRIPTION_ID", SUB);
        cmd
    }

    /// The CLI pointed at this emulator with a token but no subscription configured.
    pub fn bare_cli(&self) -> Command {
        let mut cmd = Command::from_std(self.bare_std_command());
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// `cli()` as a plain `std::process::Command`, for tests that manage the process themselves.
    /// Runs a bash script as a reader pastes documented examples: the CLI's environment for this
    /// emulator, the built binaries first on PATH, the emulator's home as working directory.
    pub fn bash(&self, script: &str) -> std::process::Output {
        let mut shell = std::process::Command::new("bash");
        for (key, value) in self.std_cli().get_envs() {
            match value {
                Some(v) => shell.env(key, v),
                None => shell.env_remove(key),
            };
        }
        let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_aks-trustedaccess"))
            .parent()
            .expect("the binary is in a directory")
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        shell
            .env("PATH", path)
            .current_dir(self.home.path())
            .args(["--norc", "-c", script])
            .output()
            .expect("bash runs")
    }

    pub fn std_cli(&self) -> std::process::Command {
        let mut cmd = self.bare_std_command();
        cmd.env("AZURE_SUBSCRIPTION_ID", SUB);
        cmd
    }

    fn bare_std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aks-trustedaccess"));
        for var in [
            "AZURE_SUBSCRIPTION_ID",
            "AZURE_CORE_OUTPUT",
            "AZURE_CORE_ONLY_SHOW_ERRORS",
            "AZURE_CORE_DISABLE_CONFIRM_PROMPT",
            "AZURE_CORE_NO_COLOR",
            "AZURE_DEFAULTS_GROUP",
            "AZURE_DEFAULTS_LOCATION",
            "AZURE_CLOUD_NAME",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
            "MSI_ENDPOINT",
            "SYSTEM_OIDCREQUESTURI",
            "NO_COLOR",
            "AKS_TRUSTEDACCESS_AUTH",
            "AKS_TRUSTEDACCESS_MAX_RETRIES",
            "AKS_TRUSTEDACCESS_REQUEST_TIMEOUT",
            "AKS_TRUSTEDACCESS_NO_TOKEN_CACHE",
            "AKS_TRUSTEDACCESS_RETRY_BUDGET",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", &self.url)
            .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", TOKEN)
            .env(
                "AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN",
                LOG_ANALYTICS_TOKEN,
            )
            .env("AZURE_CONFIG_DIR", self.home.path())
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("LOCALAPPDATA", self.home.path().join("cache"))
            // Retries without a server-named wait start at 10 ms in tests (250 ms by default).
            .env("AKS_TRUSTEDACCESS_RETRY_DELAY_MS", "10");
        cmd
    }

    /// Everything the emulator recorded, in order.
    pub fn requests(&self) -> Vec<Value> {
        let body: Value = self
            .control_client()
            .get(format!("{}/_emulator/requests", self.url))
            .send()
            .expect("control API answers")
            .json()
            .expect("JSON");
        body.as_array().cloned().unwrap_or_default()
    }

    /// `METHOD path?query` per request, for exact comparisons.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                let query = r["query"].as_str().unwrap_or_default();
                let path = r["path"].as_str().unwrap_or_default();
                let method = r["method"].as_str().unwrap_or_default();
                if query.is_empty() {
                    format!("{method} {path}")
                } else {
                    format!("{method} {path}?{query}")
                }
            })
            .collect()
    }

    pub fn state(&self) -> Value {
        self.control_client()
            .get(format!("{}/_emulator/state", self.url))
            .send()
            .expect("control API answers")
            .json()
            .expect("JSON")
    }

    /// Writes a file into the az config dir (`config`, `azureProfile.json`).
    pub fn write_az_file(&self, name: &str, contents: &[u8]) {
        std::fs::write(self.home.path().join(name), contents).expect("write az file");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The result of one CLI run, as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("the CLI runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked into the output"
    );
    run
}

pub fn cluster_path(cluster: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/{cluster}"
    )
}

pub fn binding_path(cluster: &str, name: &str) -> String {
    format!("{}/trustedAccessRoleBindings/{name}", cluster_path(cluster))
}

/// A fixture's text, with line ends as written (a Windows checkout may have turned them to CRLF).
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
    .replace("\r\n", "\n")
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub const ML_SOURCE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws2";
pub const ML_ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";
pub const ML_ROLE_2: &str = "Microsoft.MachineLearningServices/workspaces/inference-v1";

/// `rolebinding create` of binding `name` on cluster2 (the default world's cluster without
/// bindings) for workspace ws2 with `role`: the write most tests make.
pub fn create_args<'a>(name: &'a str, role: &'a str) -> Vec<&'a str> {
    vec![
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        name,
        "-s",
        ML_SOURCE,
        "--roles",
        role,
    ]
}

/// Replaces the times the emulator stamps on a new binding, so outputs compare exactly.
pub fn scrub_times(mut value: Value) -> Value {
    if let Some(system_data) = value.get_mut("systemData").and_then(Value::as_object_mut) {
        for key in ["createdAt", "lastModifiedAt"] {
            if let Some(v) = system_data.get_mut(key) {
                assert!(
                    v.as_str().is_some_and(|t| t.ends_with("+00:00")),
                    "az renders times with +00:00: {v}"
                );
                *v = Value::String("<time>".into());
            }
        }
    }
    value
}

/// The seed of a test's randomness: `AKS_TEST_SEED`, else `default` (so CI runs the same cases
/// every time). Printed, so a failing test's captured output says how to replay it.
#[expect(
    clippy::print_stderr,
    reason = "shown by the test harness only when the test fails"
)]
pub fn test_seed(default: u64) -> u64 {
    let seed = std::env::var("AKS_TEST_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default);
    eprintln!("random seed {seed} (AKS_TEST_SEED={seed} replays this test)");
    seed
}

/// Milliseconds between two requests on the emulator's clock (`receivedMs`).
pub fn gap_ms(earlier: &Value, later: &Value) -> u64 {
    later["receivedMs"].as_u64().expect("receivedMs")
        - earlier["receivedMs"].as_u64().expect("receivedMs")
}

/// A command line written as one string, split as a shell would split it for these tests:
/// on whitespace, with `'…'` or `"…"` keeping spaces (and giving an empty argument: `''`).
/// No escapes, no expansion.
pub fn argv(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => args.extend(current.take()),
            (None, c) => current.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "an unclosed quote in {line:?}");
    args.extend(current);
    args
}

#[test]
fn argv_splits_on_whitespace_and_keeps_quoted_text_whole() {
    assert_eq!(
        argv(" role  show -n 'a b' --subscription '' -l \"x y\""),
        [
            "role",
            "show",
            "-n",
            "a b",
            "--subscription",
            "",
            "-l",
            "x y"
        ]
    );
}
