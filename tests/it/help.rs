//! Help is a reviewed artefact: every command's `--help` and `-h` is compared with a snapshot in
//! tests/snapshots/help/, and every example the help prints runs, as printed, against the
//! emulator. After a deliberate change to the help, refresh the snapshots with
//! `UPDATE_SNAPSHOTS=1 cargo test --test it help::` and review the diff.

use crate::harness::{Emulator, SUB};
use aks_trustedaccess::cli::Cli;
use clap::CommandFactory;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Every command path, depth first (`[]` is the top level).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            walk(sub, p, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), Vec::new(), &mut out);
    out
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help")
}

/// The help as a user sees it on a 100-column terminal, with no environment values shown.
fn render(path: &[String], flag: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aks-trustedaccess"))
        .env_clear()
        .env("COLUMNS", "100")
        .args(path)
        .arg(flag)
        .output()
        .expect("the CLI runs");
    assert_eq!(out.status.code(), Some(0), "{path:?} {flag}");
    assert!(
        out.stderr.is_empty(),
        "{path:?} {flag}: help goes to stdout only"
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

#[test]
fn every_help_matches_its_reviewed_snapshot() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let dir = snapshot_dir();
    let mut expected_files = Vec::new();
    let mut stale = Vec::new();
    for path in command_paths() {
        let stem = if path.is_empty() {
            "aks-trustedaccess".to_string()
        } else {
            path.join("-")
        };
        for (flag, suffix) in [("--help", "long"), ("-h", "short")] {
            let file = dir.join(format!("{stem}.{suffix}.txt"));
            expected_files.push(file.clone());
            let actual = render(&path, flag);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&file, &actual).unwrap();
                continue;
            }
            let reviewed = std::fs::read_to_string(&file)
                .unwrap_or_default()
                .replace("\r\n", "\n");
            if reviewed != actual {
                stale.push(format!("{}:\n{actual}", file.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "help changed; review it and run `UPDATE_SNAPSHOTS=1 cargo test --test it help::`\n{}",
        stale.join("\n")
    );
    // No snapshot of a command that no longer exists.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        assert!(
            expected_files.contains(&file),
            "{} belongs to no command (remove it)",
            file.display()
        );
    }
}

#[test]
fn global_flags_are_under_their_own_heading() {
    for path in [
        vec!["role", "list"],
        vec!["rolebinding", "create"],
        vec!["audit"],
    ] {
        let path: Vec<String> = path.into_iter().map(String::from).collect();
        let help = render(&path, "--help");
        let (own, global) = help
            .split_once("Global Arguments:\n")
            .unwrap_or_else(|| panic!("{path:?} has no Global Arguments heading:\n{help}"));
        assert!(
            !own.contains("--query"),
            "{path:?}: --query among the command's own flags"
        );
        assert!(global.contains("--query") && global.contains("--subscription"));
    }
}

/// One example: its description and its shell lines (continuations kept, as printed).
struct Example {
    command: String,
    description: String,
    script: String,
}

/// The examples of every command's help: after `Examples:`, a description indented 2 spaces,
/// then the lines to type, indented 4 (continuation lines 6, or not at all after a `\`).
fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    let mut visit = |cmd: &clap::Command, name: String| {
        let Some(text) = cmd.get_after_help().map(|t| t.to_string()) else {
            return;
        };
        let Some((_, section)) = text.split_once("Examples:\n") else {
            return;
        };
        let section = section.split("\n\n").next().unwrap_or_default();
        for line in section.lines() {
            if let Some(desc) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
                out.push(Example {
                    command: name.clone(),
                    description: desc.to_string(),
                    script: String::new(),
                });
            } else if let Some(example) = out.last_mut() {
                example
                    .script
                    .push_str(line.strip_prefix("    ").unwrap_or(line));
                example.script.push('\n');
            }
        }
    };
    fn walk(cmd: &clap::Command, name: String, visit: &mut dyn FnMut(&clap::Command, String)) {
        visit(cmd, name.clone());
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{name} {}", sub.get_name()), visit);
        }
    }
    walk(&Cli::command(), "aks-trustedaccess".into(), &mut visit);
    out
}

/// The emulator's world plus what the examples name: a group `myResourceGroup` with a cluster
/// `myCluster` and its binding `myBinding` for the workspace `myWorkspace`, and subscriptions
/// called Prod and Staging.
pub(crate) fn example_world() -> Value {
    let emu = Emulator::start();
    let mut state: Value = emu
        .control_client()
        .get(format!("{}/_emulator/state", emu.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ws = format!(
        "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.MachineLearningServices/workspaces/myWorkspace"
    );
    let mut source = state["resources"][0].clone();
    source["id"] = json!(ws);
    state["resources"].as_array_mut().unwrap().push(source);
    // The Log Analytics workspace `rolebinding history --workspace` reads (its customerId, a
    // stable uuid of this id, is the one the example prints).
    state["resources"].as_array_mut().unwrap().push(json!({"id": format!(
        "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.OperationalInsights/workspaces/myLogs"
    )}));
    state["resourceGroups"]
        .as_array_mut()
        .unwrap()
        .push(json!({"subscriptionId": SUB, "name": "myResourceGroup"}));
    let mut cluster = state["clusters"][0].clone();
    cluster["resourceGroup"] = json!("myResourceGroup");
    cluster["name"] = json!("myCluster");
    cluster["bindings"][0]["name"] = json!("myBinding");
    cluster["bindings"][0]["sourceResourceId"] = json!(ws);
    state["clusters"].as_array_mut().unwrap().push(cluster);
    for (id, name) in [
        ("11111111-0000-0000-0000-000000000001", "Prod"),
        ("11111111-0000-0000-0000-000000000002", "Staging"),
    ] {
        let mut sub = state["subscriptions"][0].clone();
        sub["subscriptionId"] = json!(id);
        sub["displayName"] = json!(name);
        state["subscriptions"].as_array_mut().unwrap().push(sub);
    }
    state
}

/// The manifest `plan` and `apply` examples read (`bindings.yaml`): `myBinding` on `myCluster` as
/// it is (JSON, which the manifest reader takes as YAML too).
fn example_manifest(world: &Value) -> String {
    let cluster = world["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "myCluster")
        .unwrap();
    let binding = &cluster["bindings"][0];
    json!({
        "apiVersion": "aks-trustedaccess/v1",
        "bindings": [{
            "name": binding["name"],
            "sourceResourceId": binding["sourceResourceId"],
            "roles": binding["roles"],
            "clusters": [format!(
                "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.ContainerService/managedClusters/myCluster"
            )],
        }],
    })
    .to_string()
}

/// Examples that cannot run here, and why.
fn skipped(example: &Example) -> Option<&'static str> {
    let s = &example.script;
    if s.contains("aks-trustedaccess-emulator") {
        Some("starts an emulator on a fixed port")
    } else if example.command.ends_with("token check") {
        Some("needs a partner service's token")
    } else if s.contains("Out-String") || s.contains("${fpath") {
        Some("PowerShell and zsh syntax")
    } else if s.contains("--wait-effective") {
        Some("waits up to five minutes for a binding to take effect")
    } else {
        None
    }
}

#[test]
fn every_example_in_help_runs_as_printed_against_the_emulator() {
    let all = examples();
    assert!(all.len() >= 15, "found only {} examples", all.len());
    let world = example_world();
    let manifest = example_manifest(&world);
    let mut ran = 0;
    // Shell variables set by an earlier example of the same command (`ws=…`), as a reader who
    // pastes the examples in order has them.
    let mut variables = (String::new(), String::new());
    for example in &all {
        if variables.0 != example.command {
            variables = (example.command.clone(), String::new());
        }
        let script = format!("{}{}", variables.1, example.script);
        for line in example.script.lines() {
            if line.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) {
                variables.1.push_str(line);
                variables.1.push('\n');
            }
        }
        if skipped(example).is_some() {
            continue;
        }
        // A fresh world per example, so each runs as it would on its own.
        let emu = Emulator::start_with_state(&world, &[]);
        for dir in [
            ".local/share/bash-completion/completions",
            ".config/fish/completions",
        ] {
            std::fs::create_dir_all(emu.home.path().join(dir)).unwrap();
        }
        std::fs::write(emu.home.path().join("bindings.yaml"), &manifest).unwrap();
        let out = emu.bash(&format!("set -euo pipefail\n{script}"));
        let code = out.status.code();
        // 0, or 4 where the command's verdict is "findings" (audit, check).
        assert!(
            code == Some(0) || code == Some(4),
            "`{}` example '{}' exited {code:?}:\n{}\nstderr: {}",
            example.command,
            example.description,
            example.script,
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 12, "ran only {ran} examples");
}
