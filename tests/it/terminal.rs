//! Behaviour that only shows on a terminal, tested in a pseudo-terminal (rexpect): the delete
//! prompt, and colour for jsonc/yamlc unless NO_COLOR says otherwise. Unix only.

use crate::harness::*;
use rexpect::process::WaitStatus;
use rexpect::session::spawn_command;

const DELETE: &str = "rolebinding delete -g rg1 --cluster-name cluster1 -n ml-binding";

fn exit_code(session: &rexpect::session::PtySession) -> i32 {
    match session.process().wait() {
        Ok(WaitStatus::Exited(_, code)) => code,
        other => panic!("the CLI did not exit normally: {other:?}"),
    }
}

#[test]
fn delete_asks_on_a_terminal_and_no_cancels() {
    let emu = Emulator::start();
    let mut cmd = emu.std_cli();
    cmd.args(argv(DELETE));
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    session
        .exp_string("Are you sure you want to perform this operation? (y/n): ")
        .unwrap();
    session.send_line("n").unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(rest.contains("ERROR: Operation cancelled."), "{rest}");
    assert_eq!(exit_code(&session), 1);
    assert!(emu.requests().is_empty(), "nothing was sent");
}

#[test]
fn delete_asks_on_a_terminal_and_yes_deletes() {
    let emu = Emulator::start();
    let mut cmd = emu.std_cli();
    cmd.args(argv(DELETE));
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    session.exp_string("(y/n): ").unwrap();
    session.send_line("y").unwrap();
    session.exp_eof().unwrap();
    assert_eq!(exit_code(&session), 0);
    assert_eq!(emu.requests()[0]["method"], "DELETE");
}

const SHOW: &str = "rolebinding show -g rg1 --cluster-name cluster1 -n ml-binding -o";

/// Runs `SHOW <format>` on a pseudo-terminal, with `env` set and `stderr` redirected by a shell
/// when given; returns what the terminal showed.
fn on_terminal(emu: &Emulator, format: &str, env: &[(&str, &str)], stderr: Option<&str>) -> String {
    let binary = env!("CARGO_BIN_EXE_aks-trustedaccess");
    let mut cmd = match stderr {
        None => {
            let mut cmd = emu.std_cli();
            cmd.args(argv(&format!("{SHOW} {format}")));
            cmd
        }
        Some(target) => {
            let mut shell = std::process::Command::new("bash");
            for (key, value) in emu.std_cli().get_envs() {
                if let Some(v) = value {
                    shell.env(key, v);
                }
            }
            shell.args([
                "--norc",
                "-c",
                &format!("exec {binary} {SHOW} {format} 2>{target}"),
            ]);
            shell
        }
    };
    cmd.envs(env.iter().copied());
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    let out = session.exp_eof().unwrap();
    assert!(out.contains("ml-binding"), "{out}");
    out
}

#[test]
fn jsonc_and_yamlc_colour_a_terminal_and_nothing_else() {
    let emu = Emulator::start();
    for (format, coloured) in [
        ("jsonc", true),
        ("yamlc", true),
        ("json", false),
        ("yaml", false),
    ] {
        let out = on_terminal(&emu, format, &[], None);
        assert_eq!(
            out.contains("\x1b["),
            coloured,
            "{format} on a terminal: {out:?}"
        );
    }
}

#[test]
fn no_color_and_az_no_color_turn_jsonc_and_yamlc_colour_off() {
    let emu = Emulator::start();
    for format in ["jsonc", "yamlc"] {
        for env in [
            [("NO_COLOR", "1")],
            [("AZURE_CORE_NO_COLOR", "true")],
            [("AZURE_CORE_NO_COLOR", "yes")],
        ] {
            let out = on_terminal(&emu, format, &env, None);
            assert!(!out.contains("\x1b["), "{env:?} wins for {format}: {out:?}");
        }
        // An empty NO_COLOR, and az's setting false, leave colour on.
        for env in [[("NO_COLOR", "")], [("AZURE_CORE_NO_COLOR", "false")]] {
            let out = on_terminal(&emu, format, &env, None);
            assert!(out.contains("\x1b["), "{env:?} leaves colour on: {out:?}");
        }
    }
    emu.write_az_file("config", b"[core]\nno_color = True\n");
    for format in ["jsonc", "yamlc"] {
        let out = on_terminal(&emu, format, &[], None);
        assert!(
            !out.contains("\x1b["),
            "[core] no_color wins for {format}: {out:?}"
        );
    }
}

#[test]
fn jsonc_is_plain_when_stderr_is_not_a_terminal_as_in_knack() {
    let emu = Emulator::start();
    let out = on_terminal(&emu, "jsonc", &[], Some("/dev/null"));
    assert!(!out.contains("\x1b["), "{out:?}");
    // The same shell with stderr left on the terminal colours: the redirect is what changed.
    let out = on_terminal(&emu, "jsonc", &[], Some("/dev/stdout"));
    assert!(out.contains("\x1b["), "{out:?}");
}

#[test]
fn audit_shows_progress_on_a_terminal_and_not_when_piped() {
    let emu = Emulator::start_with(&["--fleet", "1x12x1", "--latency-ms", "60"]);
    let mut cmd = emu.std_cli();
    cmd.args(["audit", "--parallel", "2", "-o", "none"]);
    let mut session = spawn_command(cmd, Some(30_000)).unwrap();
    let out = session.exp_eof().unwrap();
    assert!(
        out.contains("audited ") && out.contains(" clusters"),
        "a spinner with a count: {out:?}"
    );
    assert!(
        out.contains("Audited 12 clusters in 2 subscriptions"),
        "{out:?}"
    );

    let piped = run(emu.cli().args(["audit", "--parallel", "2", "-o", "none"]));
    assert!(
        !piped.stderr.contains("audited "),
        "no progress when piped: {}",
        piped.stderr
    );
    assert!(
        piped.stderr.starts_with("Audited 12 clusters"),
        "{}",
        piped.stderr
    );
}

#[test]
fn ctrl_d_at_the_delete_prompt_ends_the_line_and_cancels() {
    let emu = Emulator::start();
    let mut cmd = emu.std_cli();
    cmd.args(argv(DELETE)).env("NO_COLOR", "1");
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    session.exp_string("(y/n): ").unwrap();
    session.send_control('d').unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(
        rest.starts_with("\r\nERROR: Operation cancelled."),
        "the error starts on its own line: {rest:?}"
    );
    assert_eq!(exit_code(&session), 1);
    assert!(emu.requests().is_empty());
}

#[test]
fn errors_are_red_and_warnings_yellow_on_a_terminal_unless_no_color() {
    let emu = Emulator::start();
    let missing = [
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "nope",
    ];
    let mut session = spawn_command(
        {
            let mut cmd = emu.std_cli();
            cmd.args(missing);
            cmd
        },
        Some(20_000),
    )
    .unwrap();
    let out = session.exp_eof().unwrap();
    assert!(out.starts_with("\x1b[91mERROR: "), "{out:?}");
    assert!(out.trim_end().ends_with("\x1b[0m"), "{out:?}");
    assert_eq!(exit_code(&session), 3);

    let mut cmd = emu.std_cli();
    cmd.args(missing).env("NO_COLOR", "1");
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    let out = session.exp_eof().unwrap();
    assert!(out.starts_with("ERROR: "), "{out:?}");
    assert!(!out.contains("\x1b["), "{out:?}");

    let mut cmd = emu.std_cli();
    cmd.args(missing).env("AZURE_CORE_NO_COLOR", "true");
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    let out = session.exp_eof().unwrap();
    assert!(!out.contains("\x1b["), "az's no_color setting: {out:?}");

    // A warning: stdin is the terminal, so no warning about a missing tty; use a cloud warning.
    let mut cmd = emu.std_cli();
    cmd.args(SHOW_ML)
        .args(["--cloud", "AzureChinaCloud", "-o", "none"]);
    let mut session = spawn_command(cmd, Some(20_000)).unwrap();
    let out = session.exp_eof().unwrap();
    assert!(out.starts_with("\x1b[33mWARNING: "), "{out:?}");
}

const SHOW_ML: [&str; 8] = [
    "rolebinding",
    "show",
    "-g",
    "rg1",
    "--cluster-name",
    "cluster1",
    "-n",
    "ml-binding",
];
