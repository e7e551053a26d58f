//! Which subscription and cloud a command acts on, by az's rules: `--subscription ""`, ids and
//! names az's profile does not know, clouds registered with `az cloud register`; plus the
//! emulator's banner, which must name a subscription of the world it serves.

use crate::harness::*;

const LIST: &str = "rolebinding list -g rg1 --cluster-name cluster2";

fn list_line() -> String {
    format!(
        "GET {}/trustedAccessRoleBindings?api-version=2026-08-01",
        cluster_path("cluster2")
    )
}

#[test]
fn an_empty_subscription_warns_as_az_and_uses_the_default() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(argv(LIST)).args(["--subscription", ""]));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "[]\n", "WARNING: Subscription '' not recognized.\n")
    );
    assert_eq!(emu.request_lines(), [list_line()]);
}

/// An `az` on PATH that logs its arguments and prints a token (not a JWT: the emulator takes
/// any opaque token).
#[cfg(unix)]
fn fake_az(emu: &Emulator) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = emu.home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\necho '{{\"accessToken\": \"opaque-az-token\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4102444800, \"tokenType\": \"Bearer\"}}'\n",
        emu.home.path().join("az.log").display()
    );
    std::fs::write(bin.join("az"), script).unwrap();
    std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[cfg(unix)]
fn az_calls(emu: &Emulator) -> Vec<String> {
    std::fs::read_to_string(emu.home.path().join("az.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(unix)]
fn write_profile(emu: &Emulator) {
    let profile = format!(
        "\u{feff}{{\"subscriptions\": [{{\"id\": \"{SUB}\", \"name\": \"Emulated Subscription\", \"isDefault\": true}}]}}"
    );
    emu.write_az_file("azureProfile.json", profile.as_bytes());
}

#[test]
#[cfg(unix)]
fn a_subscription_azs_profile_does_not_know_fails_before_any_request() {
    let emu = Emulator::start();
    write_profile(&emu);
    let bin = fake_az(&emu);
    let other = "11111111-1111-1111-1111-111111111111";
    for wanted in [other, "Nope"] {
        let out = run(emu
            .bare_cli()
            .args(argv(LIST))
            .args(["--auth", "cli", "--subscription", wanted])
            .env("PATH", format!("{}:/bin:/usr/bin", bin.display())));
        assert_eq!(out.code, 1, "{}", out.stderr);
        // What az 2.91.0 prints, run against the same profile: its --subscription action's
        // warning, then Profile.get_subscription's error, exit 1.
        assert!(
            out.stderr.starts_with(&format!(
                "WARNING: Subscription '{wanted}' not recognized.\n\
                 ERROR: Subscription '{wanted}' not found. Check the spelling and casing and try again.\n"
            )),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
    assert!(emu.requests().is_empty(), "refused before any request");
    assert!(az_calls(&emu).is_empty(), "and before signing in");
}

#[test]
#[cfg(unix)]
fn a_name_in_azs_profile_needs_no_subscription_listing() {
    let emu = Emulator::start();
    write_profile(&emu);
    let bin = fake_az(&emu);
    let out = run(emu
        .bare_cli()
        .args(argv(LIST))
        .args(["--auth", "cli", "--subscription", "EMULATED subscription"])
        .env("PATH", format!("{}:/bin:/usr/bin", bin.display())));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.request_lines(), [list_line()]);
}

#[test]
fn without_az_sign_in_the_profile_does_not_restrict_ids() {
    // The static token (the emulator's way): a profile on the machine must not refuse an id.
    let emu = Emulator::start();
    let profile = "{\"subscriptions\": [{\"id\": \"99999999-9999-9999-9999-999999999999\", \"name\": \"Elsewhere\", \"isDefault\": true}]}";
    emu.write_az_file("azureProfile.json", profile.as_bytes());
    let out = run(emu.cli().args(argv(LIST)));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.request_lines(), [list_line()]);
}

#[test]
#[cfg(unix)]
fn a_cloud_registered_with_az_gives_the_endpoint_and_the_token_scope() {
    let emu = Emulator::start();
    emu.write_az_file("config", b"[cloud]\nname = MyStack\n");
    let clouds = format!(
        "[AzureCloud]\nprofile = latest\n\n[MyStack]\nendpoint_resource_manager = {}/\nendpoint_active_directory = https://login.stack.example\nendpoint_active_directory_resource_id = https://management.adfs.stack.example/abc/\nprofile = 2020-09-01-hybrid\n",
        emu.url
    );
    emu.write_az_file("clouds.config", clouds.as_bytes());
    let bin = fake_az(&emu);
    let out = run(emu
        .cli()
        .args(argv(LIST))
        .args(["--auth", "cli"])
        .env_remove("AKS_TRUSTEDACCESS_ARM_ENDPOINT")
        .env("PATH", format!("{}:/bin:/usr/bin", bin.display())));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "[]\n", "")
    );
    assert_eq!(emu.request_lines(), [list_line()]);
    assert_eq!(
        az_calls(&emu),
        [
            "account get-access-token -o json --scope https://management.adfs.stack.example/abc/.default"
        ]
    );
}

#[test]
fn an_unknown_active_cloud_runs_when_the_endpoint_is_given_and_is_refused_otherwise() {
    let emu = Emulator::start();
    emu.write_az_file("config", b"[cloud]\nname = NoSuchCloud\n");
    let out = run(emu.cli().args(argv(LIST)));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr,
        "WARNING: az's active cloud 'NoSuchCloud' is neither built in nor in clouds.config; using AKS_TRUSTEDACCESS_ARM_ENDPOINT and AzureCloud's sign-in settings\n"
    );
    assert_eq!(emu.request_lines(), [list_line()]);

    let out = run(emu
        .cli()
        .args(argv(LIST))
        .env_remove("AKS_TRUSTEDACCESS_ARM_ENDPOINT"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "ERROR: az's active cloud 'NoSuchCloud' is neither built in nor registered in clouds.config\n"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(emu.request_lines().len(), 1, "nothing more was sent");
}

#[test]
fn the_fleet_banner_exports_a_subscription_the_fleet_holds() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aks-trustedaccess-emulator"))
        .args(["--port", "0", "--fleet", "2x1x1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let exported = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.trim()
                .strip_prefix("export AZURE_SUBSCRIPTION_ID=")
                .map(str::to_string)
        })
        .expect("the banner exports a subscription");
    let state: serde_json::Value = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/_emulator/state", url.trim()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let ids: Vec<&str> = state["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["subscriptionId"].as_str())
        .collect();
    assert!(ids.contains(&exported.as_str()), "{exported} in {ids:?}");
    assert_ne!(exported, SUB, "a fleet has no default subscription");
}
