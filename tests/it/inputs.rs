//! Manifests that are not plain files (issue 21 items 7, 8): `/dev/zero`, a FIFO fed for ever,
//! a FIFO nobody writes to, stdin past the size bound, and nesting deep enough to make the YAML
//! parser's time explode. Each is refused with exit 2 before any request.

use crate::harness::*;
use std::io::Write;
use std::process::Stdio;

fn no_requests(emu: &Emulator) {
    assert_eq!(emu.request_lines(), Vec::<String>::new());
}

#[test]
fn dev_zero_is_refused_at_the_size_bound() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(["plan", "-f", "/dev/zero"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("larger than the 32 MiB this tool reads"),
        "{}",
        out.stderr
    );
    no_requests(&emu);
}

fn fifo(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    path
}

/// Before: `open` blocked for ever waiting for a writer.
#[test]
fn a_fifo_nobody_writes_to_is_given_up_on() {
    let emu = Emulator::start();
    let path = fifo(emu.home.path());
    let out = run(emu.cli().args(["plan", "-f"]).arg(&path));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing wrote to it within 10 s"),
        "{}",
        out.stderr
    );
    no_requests(&emu);
}

/// A FIFO fed by `yes` for ever (before: memory grew to the machine's limit).
#[test]
fn an_endless_fifo_is_refused_at_the_size_bound() {
    let emu = Emulator::start();
    let path = fifo(emu.home.path());
    let mut writer = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec yes > '{}'", path.display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = run(emu.cli().args(["plan", "-f"]).arg(&path));
    let _ = writer.kill();
    let _ = writer.wait();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("larger than the 32 MiB"),
        "{}",
        out.stderr
    );
    no_requests(&emu);
}

/// `-f /dev/stdin` and `-f -` fed more than the bound: refused, not cut. Before, `-` was cut at
/// 32 MiB: an entry past the cut was silently dropped, and a prune would delete its binding.
#[test]
fn stdin_past_the_bound_is_refused_not_cut() {
    let emu = Emulator::start();
    let cluster = cluster_path("cluster1");
    let head = format!(
        "apiVersion: aks-trustedaccess/v1\nbindings:\n  - name: ml-binding\n    sourceResourceId: /subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace\n    roles: [{ML_ROLE}]\n    clusters: [{cluster}]\n"
    );
    let bound = 32 * 1024 * 1024;
    let mut text = head.into_bytes();
    let comment = b"# padding padding padding padding padding padding padding padding\n";
    while text.len() + comment.len() <= bound {
        text.extend_from_slice(comment);
    }
    text.resize(bound - 1, b'#');
    text.push(b'\n');
    text.extend_from_slice(
        format!("  - name: late\n    sourceResourceId: /x\n    roles: [{ML_ROLE}]\n    clusters: [{cluster}]\n").as_bytes(),
    );
    for path in ["-", "/dev/stdin"] {
        let mut child = emu
            .std_cli()
            .args(["plan", "--prune", "-f", path])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = text.clone();
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert!(
            stderr.contains("larger than the 32 MiB"),
            "{path}: {stderr}"
        );
    }
    no_requests(&emu);
}

/// 400 KB of `[` (before: over a minute of CPU in the YAML parser).
#[test]
fn deep_nesting_is_refused_before_parsing() {
    let emu = Emulator::start();
    let deep = format!(
        "apiVersion: aks-trustedaccess/v1\nbindings: {}\n",
        "[".repeat(400_000)
    );
    std::fs::write(emu.home.path().join("deep.yaml"), deep).unwrap();
    let blocks: String = (0..100).map(|_| "- ").collect::<String>() + "x\n";
    std::fs::write(
        emu.home.path().join("blocks.yaml"),
        format!("apiVersion: aks-trustedaccess/v1\nbindings:\n{blocks}"),
    )
    .unwrap();
    for (file, line) in [("deep.yaml", 2), ("blocks.yaml", 3)] {
        let out = run(emu
            .cli()
            .current_dir(emu.home.path())
            .args(["plan", "-f", file]));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "{file}:{line}: the manifest nests deeper than 64 levels"
            )),
            "{}",
            out.stderr
        );
    }
    no_requests(&emu);
}
