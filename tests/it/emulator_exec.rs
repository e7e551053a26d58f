//! `aks-trustedaccess-emulator exec` and `env` with real child processes: the environment a
//! child gets, its exit code and signal passed on, signals forwarded, the record left behind.

use crate::harness::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The emulator binary, with the CLI next to it first on PATH.
fn emulator() -> Command {
    let cli = std::path::Path::new(env!("CARGO_BIN_EXE_aks-trustedaccess"));
    let path = format!(
        "{}:{}",
        cli.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aks-trustedaccess-emulator"));
    cmd.env("PATH", path)
        .env_remove("AKS_TRUSTEDACCESS_ARM_ENDPOINT")
        .env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .env_remove("AZURE_CONFIG_DIR");
    cmd
}

fn exec(args: &[&str]) -> std::process::Output {
    emulator().arg("exec").args(args).output().unwrap()
}

#[test]
fn the_childs_exit_code_is_passed_on() {
    for (script, code) in [("exit 0", 0), ("exit 7", 7), ("exit 255", 255)] {
        let out = exec(&["--", "sh", "-c", script]);
        assert_eq!(out.status.code(), Some(code), "{script}");
    }
    let out = exec(&["--", "no-such-command-anywhere"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run 'no-such-command-anywhere'"));
}

#[cfg(unix)]
#[test]
fn a_child_ended_by_a_signal_gives_128_plus_its_number() {
    for (signal, code) in [("TERM", 143), ("KILL", 137), ("INT", 130)] {
        let out = exec(&["--", "sh", "-c", &format!("kill -{signal} $$")]);
        assert_eq!(out.status.code(), Some(code), "{signal}");
    }
}

/// TERM (and INT) sent to `exec` reach the child, which decides how to end: here it traps TERM
/// and exits 42, and `exec` exits 42 too.
#[cfg(unix)]
#[test]
fn signals_sent_to_exec_are_forwarded_to_the_child() {
    let mut child = emulator()
        .args(["exec", "--", "sh", "-c"])
        .arg("trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "got TERM\n");
    assert_eq!(child.wait().unwrap().code(), Some(42));
}

/// The child is pointed at the emulator over TLS with its own CA, a private az config dir and
/// the documented identity; `--record` leaves the requests and the final world behind, and the
/// world is a state file another emulator starts from.
#[test]
fn the_child_talks_to_the_emulator_and_the_record_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record");
    let script = "set -e
case \"$AKS_TRUSTEDACCESS_ARM_ENDPOINT\" in https://127.0.0.1:*) ;; *) exit 11 ;; esac
[ \"$SSL_CERT_FILE\" = \"$REQUESTS_CA_BUNDLE\" ] && [ -s \"$SSL_CERT_FILE\" ] || exit 12
[ -d \"$AZURE_CONFIG_DIR\" ] || exit 13
[ \"$AZURE_SUBSCRIPTION_ID\" = 00000000-0000-0000-0000-000000000000 ] || exit 14
aks-trustedaccess rolebinding create -g rg1 --cluster-name cluster2 -n from-exec \\
  --source-resource-id /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws2 \\
  --roles Microsoft.MachineLearningServices/workspaces/mlworkload -o none";
    let out = emulator()
        .args([
            "exec",
            "--record",
            record.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = json(&std::fs::read_to_string(record.join("requests.json")).unwrap());
    let lines: Vec<String> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    let binding = format!("PUT {}", binding_path("cluster2", "from-exec"));
    assert!(lines.contains(&binding), "{lines:#?}");
    let put = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "PUT")
        .unwrap();
    assert_eq!(put["authorization"], "bearer");
    // The final world holds the binding, made by the documented service principal.
    let state = json(&std::fs::read_to_string(record.join("state.json")).unwrap());
    let again = Emulator::start_with_state(&state, &[]);
    let out = run(again.cli().args([
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        "from-exec",
        "--query",
        "systemData.[createdBy, createdByType]",
        "-o",
        "tsv",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "a3f9c4d2-6e1b-4c8a-9d7e-0b5f2e8a1c34\nApplication\n"
    );
}

/// `env`: export lines for `eval`, the process id to stop it by, and the record written when it
/// is stopped.
#[cfg(unix)]
#[test]
fn env_prints_exports_for_a_long_running_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("rec");
    let script = format!(
        "set -e
eval \"$(aks-trustedaccess-emulator env --record '{0}' &)\"
aks-trustedaccess role list -l francecentral --query 'length(@)' -o tsv
kill \"$AKS_TRUSTEDACCESS_EMULATOR_PID\"
# The emulator writes the record as it stops. Bounded (2 minutes), so a record that is never
# written fails the test instead of hanging it.
i=0
while [ ! -f '{0}/state.json' ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done
test -f '{0}/state.json'
echo stopped",
        record.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", {
            let bin = std::path::Path::new(env!("CARGO_BIN_EXE_aks-trustedaccess-emulator"));
            format!(
                "{}:{}",
                bin.parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            )
        })
        .env_remove("AKS_TRUSTEDACCESS_ARM_ENDPOINT")
        .env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_ne!(lines[0], "0", "roles of francecentral");
    assert_eq!(lines[1], "stopped");
    let requests = json(&std::fs::read_to_string(record.join("requests.json")).unwrap());
    assert_eq!(requests.as_array().unwrap().len(), 1, "{requests}");
}

#[test]
fn env_output_is_export_lines_with_quoted_values() {
    let mut child = emulator()
        .args(["env", "--plain-http"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut text).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let names: Vec<&str> = text
        .lines()
        .map(|l| {
            l.strip_prefix("export ")
                .unwrap()
                .split('=')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "AKS_TRUSTEDACCESS_ARM_ENDPOINT",
            "AKS_TRUSTEDACCESS_ACCESS_TOKEN",
            "AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN",
            "AZURE_SUBSCRIPTION_ID",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_CONFIG_DIR",
            "AZURE_CORE_COLLECT_TELEMETRY",
            "AKS_TRUSTEDACCESS_EMULATOR_PID",
        ],
        "{text}"
    );
    assert!(
        text.starts_with("export AKS_TRUSTEDACCESS_ARM_ENDPOINT='http://127.0.0.1:"),
        "{text}"
    );
}

/// `--help` documents the credentials every client can sign in with (az_flows.rs signs in
/// with them).
#[test]
fn help_prints_the_documented_credentials() {
    for args in [&["--help"][..], &["exec", "--help"]] {
        let out = emulator().args(args).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for text in [
            "11111111-1111-1111-1111-111111111111",
            "a3f9c4d2-6e1b-4c8a-9d7e-0b5f2e8a1c34",
            "emulator-client-secret",
        ] {
            assert!(help.contains(text), "{args:?}: {help}");
        }
    }
}

/// `--az` without az on PATH: a clear error before anything runs, not a child that cannot sign in.
#[test]
fn exec_az_without_az_says_so_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let cli = std::path::Path::new(env!("CARGO_BIN_EXE_aks-trustedaccess"));
    let out = emulator()
        .env("PATH", cli.parent().unwrap())
        .args(["exec", "--az", "--", "/bin/sh", "-c"])
        .arg(format!("touch '{}'", marker.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR: --az: 'az' is not on PATH (install the Azure CLI, or leave out --az)\n"
    );
    assert!(!marker.exists());
}
