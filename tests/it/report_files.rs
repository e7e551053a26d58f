//! Where `--report` writes (issue 21 item 10, issue 20's smaller items): a FIFO and `>(…)` are
//! written through, a symlink stays a symlink, a new report honours the umask, a read-only file
//! or a missing directory is refused before any request (naming the path, never a temporary
//! file), and TERM before the first row still leaves valid JSON.
#![cfg(unix)]

use crate::harness::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_report_honours_the_umask_and_a_replaced_one_keeps_its_mode() {
    let emu = Emulator::start();
    let out = emu.bash(
        "umask 027; aks-trustedaccess audit --report sarif=new.sarif >/dev/null; \
         touch kept.md && chmod 604 kept.md; \
         aks-trustedaccess audit --report markdown=kept.md >/dev/null; echo $?",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&emu.home.path().join("new.sarif")), 0o640);
    assert_eq!(mode(&emu.home.path().join("kept.md")), 0o604);
    assert!(
        std::fs::read_to_string(emu.home.path().join("kept.md"))
            .unwrap()
            .contains("## aks-trustedaccess audit")
    );
}

#[test]
fn a_symlinked_report_is_written_through_the_link() {
    let emu = Emulator::start();
    let out = emu.bash(
        "mkdir real && ln -s real/report.sarif link.sarif; \
         aks-trustedaccess audit --report sarif=link.sarif >/dev/null; echo $?",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = emu.home.path().join("link.sarif");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(emu.home.path().join("real/report.sarif")).unwrap();
    assert!(text.contains("\"version\""), "{text}");
}

/// A FIFO read by another process and a process substitution: the report goes through them
/// (before: the FIFO was replaced by a regular file and its reader waited for ever).
#[test]
fn fifos_and_process_substitution_are_written_through() {
    let emu = Emulator::start();
    let out = emu.bash(
        "mkfifo report.fifo && (timeout 30 cat report.fifo > from-fifo.md &) && \
         aks-trustedaccess audit --report markdown=report.fifo \
           --report junit=>(cat > from-subst.xml) >/dev/null; \
         test -p report.fifo && echo still-a-fifo",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("still-a-fifo"), "{stdout}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let read = |name: &str| std::fs::read_to_string(emu.home.path().join(name)).unwrap_or_default();
    while !(read("from-fifo.md").contains("## aks-trustedaccess audit")
        && read("from-subst.xml").contains("</testsuite"))
    {
        assert!(
            Instant::now() < deadline,
            "{} / {}",
            read("from-fifo.md"),
            read("from-subst.xml")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Before: the audit ran to its end, then failed naming `.tmpXXXX`; a 0444 file was replaced.
#[test]
fn an_unwritable_report_is_refused_before_any_request() {
    let emu = Emulator::start();
    let read_only = emu.home.path().join("locked.sarif");
    std::fs::write(&read_only, "keep me").unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    for (target, why) in [
        ("sarif=missing-dir/r.sarif".to_string(), "does not exist"),
        (format!("sarif={}", read_only.display()), "read-only"),
        (
            format!("junit={}", emu.home.path().display()),
            "is a directory",
        ),
    ] {
        let out = run(emu
            .cli()
            .current_dir(emu.home.path())
            .args(["audit", "--report", &target]));
        assert_eq!(out.code, 2, "{target}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{target}: {}", out.stderr);
        let home = emu.home.path().display().to_string();
        assert!(
            !out.stderr.replace(&home, "").contains(".tmp"),
            "{}",
            out.stderr
        );
        assert_eq!(emu.request_lines(), Vec::<String>::new(), "{target}");
    }
    assert_eq!(std::fs::read_to_string(&read_only).unwrap(), "keep me");
    assert_eq!(mode(&read_only), 0o444);
}

/// TERM or HUP while discovery waits, before any row: stdout is `[]` (valid JSON), the exit
/// code 128+n (before: stdout was empty).
#[test]
fn a_signal_before_the_first_row_leaves_valid_json() {
    for (signal, code) in [("-TERM", 143), ("-HUP", 129)] {
        let emu = Emulator::start();
        let resp = emu
            .control_client()
            .post(format!("{}/_emulator/script", emu.url))
            .body(
                r#"[{"method": "POST", "path_contains": "Microsoft.ResourceGraph", "hang": true}]"#,
            )
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204);
        let child = emu
            .std_cli()
            .args(["audit", "-o", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !emu
            .request_lines()
            .iter()
            .any(|l| l.contains("ResourceGraph"))
        {
            assert!(Instant::now() < deadline, "the query never came");
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            json(&String::from_utf8_lossy(&out.stdout)),
            serde_json::json!([])
        );
    }
}
