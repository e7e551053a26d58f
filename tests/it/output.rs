//! Every output format against az's own formatters: the fixtures were produced by knack (see
//! `tests/fixtures/generate_with_knack.py`), the tool must print them byte for byte.

use crate::harness::*;

fn check(emu: &Emulator, args: &[&str], fixture_name: &str) {
    let out = run(emu.cli().args(args));
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    assert_eq!(
        out.stdout,
        fixture(fixture_name),
        "{args:?} vs {fixture_name}"
    );
    assert_eq!(out.stderr, "");
}

/// `role list -o table` is az's table with one column added last, Risk (the README lists it
/// under "Where it differs from az"): without that column, every line is az's.
fn check_role_table(emu: &Emulator, args: &[&str]) {
    let out = run(emu.cli().args(args));
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    let az = fixture("role-list.table");
    assert_eq!(
        out.stdout.lines().count(),
        az.lines().count(),
        "{}",
        out.stdout
    );
    for (i, (ours, theirs)) in out.stdout.lines().zip(az.lines()).enumerate() {
        let (kept, risk) = ours.rsplit_once("  ").expect("a Risk column");
        assert_eq!(kept.trim_end(), theirs.trim_end(), "line {i}: {ours}");
        let expected: &[&str] = match i {
            0 => &["Risk"],
            1 => &["------"],
            _ => &["low", "medium", "high"],
        };
        assert!(expected.contains(&risk.trim_end()), "line {i}: {ours}");
    }
}

const ROLE_LIST: [&str; 4] = ["role", "list", "-l", "westeurope"];
const BINDING_LIST: [&str; 6] = [
    "rolebinding",
    "list",
    "-g",
    "rg1",
    "--cluster-name",
    "cluster1",
];
const BINDING_SHOW: [&str; 8] = [
    "rolebinding",
    "show",
    "-g",
    "rg1",
    "--cluster-name",
    "cluster1",
    "-n",
    "ml-binding",
];

#[test]
fn every_format_of_every_read_command_matches_az() {
    let emu = Emulator::start();
    for (command, name) in [
        (&ROLE_LIST[..], "role-list"),
        (&BINDING_LIST[..], "rolebinding-list-cluster1"),
        (&BINDING_SHOW[..], "rolebinding-show-ml-binding"),
    ] {
        for (format, ext) in [
            ("json", "json"),
            ("yaml", "yaml"),
            ("tsv", "tsv"),
            ("table", "table"),
            ("JSON", "json"),
            ("Yaml", "yaml"),
        ] {
            let mut args = command.to_vec();
            args.extend(["-o", format]);
            if name == "role-list" && ext == "table" {
                check_role_table(&emu, &args);
            } else {
                check(&emu, &args, &format!("{name}.{ext}"));
            }
        }
    }
}

#[test]
fn colour_formats_print_plain_text_when_piped() {
    let emu = Emulator::start();
    check(
        &emu,
        &[&ROLE_LIST[..], &["-o", "jsonc"]].concat(),
        "role-list.json",
    );
    check(
        &emu,
        &[&ROLE_LIST[..], &["-o", "yamlc"]].concat(),
        "role-list.yaml",
    );
}

#[test]
fn none_prints_nothing() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(ROLE_LIST).args(["-o", "none"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn query_shapes_render_as_az_renders_them() {
    let emu = Emulator::start();
    let multiselect = "[].{type:sourceResourceType, name:name}";
    for (format, fixture_name) in [
        ("table", "role-list-multiselect.table"),
        ("tsv", "role-list-multiselect.tsv"),
        ("yaml", "role-list-multiselect.yaml"),
    ] {
        check(
            &emu,
            &[&ROLE_LIST[..], &["--query", multiselect, "-o", format]].concat(),
            fixture_name,
        );
    }
    check(
        &emu,
        &[
            &ROLE_LIST[..],
            &[
                "--query",
                "[].{name:name, source:sourceResourceType}",
                "-o",
                "table",
            ],
        ]
        .concat(),
        "role-list-name-source.table",
    );
    check(
        &emu,
        &[&ROLE_LIST[..], &["--query", "[0].name", "-o", "yaml"]].concat(),
        "role-list-first-name.yaml",
    );
    check(
        &emu,
        &[&ROLE_LIST[..], &["--query", "[0].name", "-o", "tsv"]].concat(),
        "role-list-first-name.tsv",
    );
    check(
        &emu,
        &[&ROLE_LIST[..], &["--query", "length(@)", "-o", "table"]].concat(),
        "role-list-count.table",
    );
}

#[test]
fn the_default_format_comes_from_azs_config_or_environment() {
    let emu = Emulator::start();
    emu.write_az_file("config", b"[core]\noutput = tsv\n");
    check(&emu, &ROLE_LIST, "role-list.tsv");
    let out = run(emu.cli().args(ROLE_LIST).env("AZURE_CORE_OUTPUT", "yaml"));
    assert_eq!(out.stdout, fixture("role-list.yaml"));
    let out = run(emu
        .cli()
        .args(ROLE_LIST)
        .args(["-o", "json"])
        .env("AZURE_CORE_OUTPUT", "yaml"));
    assert_eq!(out.stdout, fixture("role-list.json"), "the flag wins");
}

#[test]
fn a_query_that_matches_nothing_prints_nothing() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(ROLE_LIST)
        .args(["--query", "[?name=='nope'] | [0]"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let emu = Emulator::start();
    let mut child = emu
        .std_cli()
        .args(ROLE_LIST)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn verbose_logs_one_line_per_request_on_stderr() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(ROLE_LIST).arg("--verbose"));
    assert_eq!(out.stdout, fixture("role-list.json"));
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("INFO: GET http://127.0.0.1:") && lines[0].contains("-> 200 OK ("),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("request id "), "{}", lines[0]);
}

#[test]
fn every_command_has_help_with_examples() {
    let emu = Emulator::start();
    for command in [
        &["role", "list"][..],
        &["rolebinding", "list"],
        &["rolebinding", "show"],
        &["rolebinding", "create"],
        &["rolebinding", "update"],
        &["rolebinding", "delete"],
        &["rolebinding", "check"],
        &["token", "check"],
        &["completion"],
    ] {
        let out = run(emu.cli().args(command).arg("--help"));
        assert_eq!(out.code, 0, "{command:?}");
        assert!(
            out.stdout.contains("Examples:"),
            "{command:?}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains("--query") || command == ["completion"],
            "{command:?} lists the global flags"
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn completion_scripts_and_the_man_page_need_no_credentials() {
    let emu = Emulator::start();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(emu
            .bare_cli()
            .args(["completion", shell])
            .env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
            .env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", "http://192.0.2.1"));
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("rolebinding"), "{shell}");
    }
    let dir = tempfile::tempdir().unwrap();
    let man = run(emu.bare_cli().arg("man").arg(dir.path()));
    assert_eq!(man.code, 0, "{}", man.stderr);
    let page = std::fs::read_to_string(dir.path().join("aks-trustedaccess.1")).unwrap();
    assert!(page.starts_with(".ie"), "{page}");
    assert!(emu.requests().is_empty());
}

/// 150 random documents (tricky strings, numbers, nulls, nesting) rendered by az's own formatters
/// (`tests/fixtures/generate_with_knack.py`): this tool's renderers must give the same bytes.
#[test]
fn yaml_tsv_and_table_match_azs_formatters_on_random_documents() {
    use aks_trustedaccess::output::pyvalue::PyValue;
    use aks_trustedaccess::output::{table, tsv, yaml};
    let cases: serde_json::Value = serde_json::from_str(&fixture("format-cases.json")).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 150);
    let mut compared_tables = 0;
    for (i, case) in cases.iter().enumerate() {
        let data = &case["data"];
        let doc = PyValue::from(data);
        assert_eq!(
            yaml::render(&doc).unwrap(),
            case["yaml"].as_str().unwrap(),
            "case {i}: yaml of {data}"
        );
        assert_eq!(
            tsv::render(&doc),
            case["tsv"].as_str().unwrap(),
            "case {i}: tsv of {data}"
        );
        // tabulate mis-measures cells with control characters other than newlines (wcwidth gives
        // them -1); that is not a behaviour worth copying, so those tables are not compared.
        let has_control = data.to_string().contains("\\t");
        if !has_control {
            assert_eq!(
                table::render(&doc, table::Columns::Sorted),
                case["table"].as_str().unwrap(),
                "case {i}: table of {data}"
            );
            compared_tables += 1;
        }
    }
    assert!(compared_tables >= 80, "{compared_tables} tables compared");
}
