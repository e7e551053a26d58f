//! The README's examples run as printed: every `sh`/`bash` block and every `$ ` line of a
//! `console` block is run with bash against the emulator, in order, with the shell state a reader
//! who pastes them has (exports, files written by an earlier command).

use crate::harness::Emulator;
use std::path::Path;

/// The address the README tells readers to start the emulator on; the test's emulator has its own.
const README_ENDPOINT: &str = "http://127.0.0.1:8080";

/// One command as a reader pastes it (continuation lines joined), and where it is in the README.
#[derive(Debug, Clone)]
struct Example {
    line: usize,
    command: String,
}

/// The commands of one fenced block, or None when the block is not shell (yaml, output, layout).
fn commands_of_block(lang: &str, start: usize, body: &[&str]) -> Option<Vec<Example>> {
    let console = match lang {
        "sh" | "bash" | "shell" => false,
        "console" => true,
        _ => return None,
    };
    let mut out = Vec::new();
    let mut pending: Option<Example> = None;
    for (i, raw) in body.iter().enumerate() {
        let line = start + 1 + i;
        if let Some(mut ex) = pending.take() {
            ex.command.push('\n');
            ex.command.push_str(raw);
            if raw.trim_end().ends_with('\\') {
                pending = Some(ex);
            } else {
                out.push(ex);
            }
            continue;
        }
        let text = if console {
            match raw.strip_prefix("$ ") {
                Some(t) => t,
                None => continue, // output shown under the command
            }
        } else {
            raw
        };
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let ex = Example {
            line,
            command: text.to_string(),
        };
        if text.trim_end().ends_with('\\') {
            pending = Some(ex);
        } else {
            out.push(ex);
        }
    }
    out.extend(pending);
    Some(out)
}

/// Every shell command of a markdown file, in order.
fn examples(markdown: &str) -> Vec<Example> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .unwrap_or(lines.len());
        if let Some(commands) = commands_of_block(lang.trim(), i + 1, &lines[i + 1..end]) {
            out.extend(commands);
        }
        i = end + 1;
    }
    out
}

/// Commands that cannot run here, and why (everything else must).
fn skipped(command: &str) -> Option<&'static str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let runs = |program: &str| words.contains(&program);
    if runs("aks-trustedaccess-emulator") && runs("--az") {
        Some("needs az")
    } else if runs("aks-trustedaccess-emulator") && !runs("exec") {
        Some("the test starts the emulator itself, on a free port")
    } else if runs("cargo") || runs("python3") || runs("pip") {
        Some("builds, tests or regenerates the project")
    } else if runs("az") {
        Some("signs in to Azure")
    } else if runs("$EDITOR") {
        Some("a reader's edit")
    } else if runs("--wait-effective") {
        Some("waits up to five minutes for a binding to take effect")
    } else if command.contains("token check") {
        Some("needs a partner service's token")
    } else {
        None
    }
}

/// A bash script that runs each command and stops at the first exit code other than 0 or 4
/// (4: findings or drift, which examples of audit, plan and check show on purpose).
fn script(examples: &[Example], endpoint: &str) -> (String, usize) {
    let mut script = String::from("set -o pipefail\n");
    let mut ran = 0;
    for ex in examples {
        if skipped(&ex.command).is_some() {
            continue;
        }
        let command = ex.command.replace(README_ENDPOINT, endpoint);
        script.push_str(&format!(
            "{command}\nrc=$?\nif [ $rc -ne 0 ] && [ $rc -ne 4 ]; then echo \"README line {}: exit $rc\" >&2; exit 1; fi\n",
            ex.line
        ));
        ran += 1;
    }
    (script, ran)
}

#[test]
fn the_parser_finds_commands_continuations_and_console_prompts() {
    let md = "text\n```sh\nexport A=1   \n# comment\naks-trustedaccess role list \\\n  -l westeurope\n```\n```yaml\nkey: value\n```\n```console\n$ aks-trustedaccess plan -f x.yaml\ncluster …\n$ echo done\n```\n";
    let found: Vec<(usize, String)> = examples(md)
        .into_iter()
        .map(|e| (e.line, e.command))
        .collect();
    assert_eq!(
        found,
        [
            (3, "export A=1   ".to_string()),
            (
                5,
                "aks-trustedaccess role list \\\n  -l westeurope".to_string()
            ),
            (12, "aks-trustedaccess plan -f x.yaml".to_string()),
            (14, "echo done".to_string()),
        ]
    );
}

#[test]
fn commands_that_cannot_run_here_are_recognised_wherever_the_program_is() {
    assert!(skipped("UPDATE_SNAPSHOTS=1 cargo test --test it help::").is_some());
    assert!(skipped("aks-trustedaccess-emulator --port 8080 &").is_some());
    assert!(skipped("aks-trustedaccess rolebinding list -g rg1 --cluster-name c").is_none());
}

#[test]
fn every_example_in_the_readme_runs_as_printed_against_the_emulator() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let all = examples(&readme);
    let tool_commands = all
        .iter()
        .filter(|e| e.command.starts_with("aks-trustedaccess "))
        .count();
    assert!(tool_commands >= 10, "found only {tool_commands}: {all:#?}");
    // The world help's examples use: the default one plus myResourceGroup/myCluster.
    let emu = Emulator::start_with_state(&crate::help::example_world(), &[]);
    let (script, ran) = script(&all, &emu.url);
    assert!(ran >= 12, "ran only {ran} commands");
    let out = emu.bash(&script);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\nscript:\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The examples reached the emulator: the create, update and delete of the walk-through.
    let methods: Vec<String> = emu
        .requests()
        .iter()
        .map(|r| r["method"].as_str().unwrap_or("").to_string())
        .collect();
    for method in ["GET", "PUT", "DELETE"] {
        assert!(
            methods.iter().any(|m| m == method),
            "no {method}: {methods:?}"
        );
    }
}
