//! az's argument conventions (argparse: unambiguous long-option prefixes, the last value of a
//! repeated option wins) and az's settings (`[core] only_show_errors`, `disable_confirm_prompt`),
//! plus the small usage messages, the man pages and bash completion run in a real bash.

use crate::harness::*;

const SHOW: [&str; 8] = [
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
fn an_unambiguous_prefix_of_a_long_option_is_that_option() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv("rolebinding show --resource-gr rg1 --cluster cluster1 --na=ml-binding --que name --out tsv")));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "ml-binding\n"),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.request_lines(),
        [format!(
            "GET {}?api-version=2026-08-01",
            binding_path("cluster1", "ml-binding")
        )]
    );
}

#[test]
fn an_ambiguous_prefix_is_a_usage_error_naming_the_candidates() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(["rolebinding", "list", "-g", "rg1", "--c", "cluster1"]));
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: ambiguous option: --c could match --cluster-name, --cloud\n\nFor more information, try '--help'.\n"
    );
    assert!(out.stdout.is_empty());
    assert!(emu.requests().is_empty());
}

#[test]
fn a_repeated_single_value_option_takes_the_last_value() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(SHOW).args(argv(
        "-o json -o tsv --query roles --query name -n ml-binding",
    )));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "ml-binding\n"),
        "{}",
        out.stderr
    );

    // --subscription twice: the last one is the subscription asked.
    let other = "11111111-1111-1111-1111-111111111111";
    let out = run(emu
        .cli()
        .args(argv("rolebinding list -g rg1 --cluster-name cluster2"))
        .args(["--subscription", other, "--subscription", SUB]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let lines = emu.request_lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            format!(
                "GET {}/trustedAccessRoleBindings?api-version=2026-08-01",
                cluster_path("cluster2")
            )
            .as_str()
        )
    );
    assert!(lines.iter().all(|l| !l.contains(other)), "{lines:?}");
}

#[test]
fn flags_given_twice_are_accepted() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(SHOW)
        .args(["--debug", "--debug", "-o", "none"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn zero_seconds_is_refused_in_words() {
    let emu = Emulator::start();
    for flag in ["--timeout", "--request-timeout"] {
        let out = run(emu
            .cli()
            .args(argv(
                "rolebinding delete -g rg1 --cluster-name c -n b --yes",
            ))
            .args([flag, "0"]));
        assert_eq!(out.code, 2, "{flag}");
        assert!(
            out.stderr.contains(&format!(
                "invalid value '0' for '{flag} <SECONDS>': must be at least 1 second"
            )),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("18446744073709551615"),
            "{}",
            out.stderr
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(SHOW)
        .env("AKS_TRUSTEDACCESS_MAX_RETRIES", "many"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(
            "error: invalid value 'many' for '--max-retries <N>': invalid digit found in string\n  note: the value comes from the environment variable AKS_TRUSTEDACCESS_MAX_RETRIES; fix or unset it\n"
        ),
        "{}",
        out.stderr
    );
    // The same bad value on the command line is the flag's fault, not the variable's.
    let out = run(emu.cli().args(SHOW).args(["--max-retries", "many"]));
    assert_eq!(out.code, 2);
    assert!(
        !out.stderr.contains("environment variable"),
        "{}",
        out.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn az_only_show_errors_setting_hides_warnings_unless_debug_or_verbose() {
    let emu = Emulator::start();
    let delete = [
        "rolebinding",
        "delete",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
    ];
    let no_tty = "WARNING: Unable to prompt for confirmation as no tty available. Use --yes.\n";
    let out = run(emu.cli().args(delete));
    assert_eq!(out.stderr, format!("{no_tty}ERROR: Operation cancelled.\n"));
    let out = run(emu
        .cli()
        .args(delete)
        .env("AZURE_CORE_ONLY_SHOW_ERRORS", "true"));
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "ERROR: Operation cancelled.\n")
    );
    emu.write_az_file("config", b"[core]\nonly_show_errors = yes\n");
    let out = run(emu.cli().args(delete));
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "ERROR: Operation cancelled.\n")
    );
    let out = run(emu.cli().args(delete).arg("--verbose"));
    assert!(out.stderr.starts_with(no_tty), "{}", out.stderr);
    let out = run(emu
        .cli()
        .args(delete)
        .env("AZURE_CORE_ONLY_SHOW_ERRORS", "false"));
    assert!(
        out.stderr.starts_with(no_tty),
        "the variable wins: {}",
        out.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn az_disable_confirm_prompt_setting_deletes_without_yes() {
    let delete = [
        "rolebinding",
        "delete",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
    ];
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(delete)
        .env("AZURE_CORE_DISABLE_CONFIRM_PROMPT", "1"));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(
        emu.request_lines()[0],
        format!(
            "DELETE {}?api-version=2026-08-01",
            binding_path("cluster1", "ml-binding")
        )
    );

    let emu = Emulator::start();
    emu.write_az_file("config", b"[core]\ndisable_confirm_prompt = True\n");
    let out = run(emu.cli().args(delete));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(emu.requests()[0]["method"], "DELETE");

    let emu = Emulator::start();
    emu.write_az_file("config", b"[core]\ndisable_confirm_prompt = false\n");
    let out = run(emu.cli().args(delete));
    assert_eq!(out.code, 1);
    assert!(emu.requests().is_empty());
}

#[test]
fn man_writes_every_page_the_pages_refer_to() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.bare_cli().arg("man").arg(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            std::path::Path::new(l)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for page in [
        "aks-trustedaccess.1",
        "aks-trustedaccess-role.1",
        "aks-trustedaccess-role-list.1",
        "aks-trustedaccess-rolebinding-create.1",
        "aks-trustedaccess-audit.1",
    ] {
        assert!(written.iter().any(|w| w == page), "{page} in {written:?}");
    }
    // Every page another page names (".BR aks\-trustedaccess\-role\-list (1)") exists.
    let referred = regex::Regex::new(r"aks\\-trustedaccess(\\-[a-z]+)*\(1\)").unwrap();
    for name in &written {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(text.starts_with(".ie"), "{name} is roff");
        for m in referred.find_iter(&text) {
            let page = m.as_str().replace("\\-", "-").replace("(1)", ".1");
            assert!(
                written.contains(&page),
                "{name} refers to {page}, not written"
            );
        }
    }
    assert!(emu.requests().is_empty());
}

/// Runs the bash completion function for a command line in a real bash, returns COMPREPLY.
fn complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD=$((${{#COMP_WORDS[@]}}-1))\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n_aks__trustedaccess aks-trustedaccess \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" ")
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg(unix)]
fn bash_completion_completes_every_level_and_flag_values_in_real_bash() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("bash is needed for this test");
    }
    let emu = Emulator::start();
    let out = run(emu.bare_cli().args(["completion", "bash"]));
    assert_eq!(out.code, 0);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("aks-trustedaccess.bash");
    std::fs::write(&script, &out.stdout).unwrap();

    let top = complete(&script, &["aks-trustedaccess", ""]);
    for word in ["role", "rolebinding", "audit", "completion"] {
        assert!(top.contains(&word.to_string()), "{top:?}");
    }
    let sub = complete(&script, &["aks-trustedaccess", "rolebinding", ""]);
    for word in ["list", "show", "create", "update", "delete"] {
        assert!(sub.contains(&word.to_string()), "{sub:?}");
    }
    let role = complete(&script, &["aks-trustedaccess", "role", ""]);
    assert!(role.contains(&"list".to_string()), "{role:?}");
    let flags = complete(
        &script,
        &["aks-trustedaccess", "rolebinding", "create", "--"],
    );
    for flag in [
        "--cluster-name",
        "--source-resource-id",
        "--roles",
        "--no-wait",
        "--subscription",
    ] {
        assert!(flags.contains(&flag.to_string()), "{flags:?}");
    }
    let prefixed = complete(
        &script,
        &["aks-trustedaccess", "rolebinding", "delete", "--y"],
    );
    assert_eq!(prefixed, ["--yes"]);
    let formats = complete(&script, &["aks-trustedaccess", "role", "list", "-o", ""]);
    assert_eq!(
        formats,
        ["json", "jsonc", "yaml", "yamlc", "table", "tsv", "none"]
    );
    let formats = complete(
        &script,
        &["aks-trustedaccess", "rolebinding", "show", "--output", "t"],
    );
    assert_eq!(formats, ["table", "tsv"]);
    let clouds = complete(&script, &["aks-trustedaccess", "audit", "--cloud", ""]);
    assert!(
        clouds.contains(&"AzureUSGovernment".to_string()),
        "{clouds:?}"
    );
    let shells = complete(&script, &["aks-trustedaccess", "completion", ""]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(shells.contains(&shell.to_string()), "{shells:?}");
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn an_https_endpoint_that_speaks_http_is_named_and_not_retried() {
    let emu = Emulator::start();
    let https = emu.url.replacen("http://", "https://", 1);
    let out = run(emu
        .cli()
        .args(["role", "list", "-l", "westeurope", "--verbose"])
        .env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", &https));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "the server answered in plain HTTP, not TLS: use an http:// URL for it (allowed for loopback hosts only) or its TLS port"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    assert!(emu.requests().is_empty(), "no HTTP request was understood");
}
