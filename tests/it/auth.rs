//! Every way to sign in, on loopback: fake `az`/`azd` on PATH, managed identity through
//! IDENTITY_ENDPOINT on plain http, service principal and workload identity against the
//! emulator's token endpoint over TLS with a CA generated in the test; the token cache; the 401
//! diagnoses; and that no output ever contains a token or a secret.

use crate::harness::*;
use base64::Engine;
use serde_json::{Value, json};

const TENANT: &str = "11111111-1111-1111-1111-111111111111";
const LIST: [&str; 6] = [
    "rolebinding",
    "list",
    "-g",
    "rg1",
    "--cluster-name",
    "cluster2",
];

fn jwt(claims: Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    )
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn good_token() -> String {
    jwt(
        json!({"aud": "https://management.azure.com/", "tid": TENANT, "exp": unix_now() + 3600, "oid": "o"}),
    )
}

fn sign_in_requests(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .into_iter()
        .filter(|r| r.get("signIn").is_some())
        .collect()
}

/// An emulator and a CLI with no token: sign-in has to happen.
fn without_token(emu: &Emulator) -> assert_cmd::Command {
    let mut cmd = emu.cli();
    cmd.env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
        .env("PATH", emu.home.path().join("no-bin"));
    cmd
}

/// The CLI with no token, trusting the TLS emulator's CA, signing in against its token endpoint.
fn against_token_endpoint(emu: &Emulator) -> assert_cmd::Command {
    let mut cmd = without_token(emu);
    cmd.env("SSL_CERT_FILE", emu.home.path().join("ca.pem"))
        .env("AZURE_AUTHORITY_HOST", &emu.url);
    cmd
}

#[cfg(unix)]
mod fake_tools {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    /// Writes an executable `name` into `<home>/bin` that logs its arguments to `<home>/<name>.log`
    /// and prints `stdout` (or fails with `stderr`).
    pub fn install(
        emu: &Emulator,
        name: &str,
        stdout: &str,
        exit_code: i32,
        stderr: &str,
    ) -> PathBuf {
        let bin = emu.home.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = emu.home.path().join(format!("{name}.log"));
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\ncat <<'EOF'\n{stdout}\nEOF\necho '{stderr}' >&2\nexit {exit_code}\n",
            log.display()
        );
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    /// Where the token cache lives for this test's HOME (the platform's user cache directory).
    pub fn cache_dir(emu: &Emulator) -> PathBuf {
        let base = if cfg!(target_os = "macos") {
            emu.home.path().join("Library").join("Caches")
        } else {
            emu.home.path().join("cache")
        };
        base.join("aks-trustedaccess")
    }

    pub fn calls(emu: &Emulator, name: &str) -> Vec<String> {
        std::fs::read_to_string(emu.home.path().join(format!("{name}.log")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn az_output(token: &str) -> String {
        json!({"accessToken": token, "expiresOn": "2099-01-01 00:00:00.000000", "expires_on": unix_now() + 3600,
               "subscription": SUB, "tenant": TENANT, "tokenType": "Bearer"})
        .to_string()
    }

    pub fn with_az(emu: &Emulator, stdout: &str) -> assert_cmd::Command {
        let bin = install(emu, "az", stdout, 0, "");
        let mut cmd = without_token(emu);
        cmd.env("PATH", format!("{}:/bin:/usr/bin", bin.display()));
        cmd
    }

    #[test]
    fn the_azure_cli_token_is_cached_so_the_second_call_spawns_no_az() {
        let emu = Emulator::start();
        let token = good_token();
        let first = run(with_az(&emu, &az_output(&token)).args(LIST));
        assert_eq!(
            (first.code, first.stdout.as_str()),
            (0, "[]\n"),
            "{}",
            first.stderr
        );
        let second = run(with_az(&emu, &az_output(&token))
            .args(LIST)
            .arg("--verbose"));
        assert_eq!(
            (second.code, second.stdout.as_str()),
            (0, "[]\n"),
            "{}",
            second.stderr
        );
        assert!(
            second
                .stderr
                .contains("using a cached token from the Azure CLI (az)"),
            "{}",
            second.stderr
        );
        let calls = calls(&emu, "az");
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(
            calls[0],
            "account get-access-token -o json --scope https://management.azure.com/.default"
        );
        assert!(!first.stderr.contains(&token) && !second.stderr.contains(&token));

        let cache = cache_dir(&emu).join("tokens.json");
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the cache file is private");
        let dir_mode = std::fs::metadata(cache.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn no_token_cache_asks_az_every_time() {
        let emu = Emulator::start();
        let output = az_output(&good_token());
        run(with_az(&emu, &output).args(LIST).arg("--no-token-cache"));
        run(with_az(&emu, &output)
            .args(LIST)
            .env("AKS_TRUSTEDACCESS_NO_TOKEN_CACHE", "1"));
        assert_eq!(calls(&emu, "az").len(), 2);
        assert!(!cache_dir(&emu).join("tokens.json").exists());
    }

    #[test]
    fn a_corrupt_or_readable_cache_file_is_ignored_and_replaced() {
        let emu = Emulator::start();
        let cache = cache_dir(&emu);
        std::fs::create_dir_all(&cache).unwrap();
        let file = cache.join("tokens.json");
        std::fs::write(&file, "{corrupt").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(with_az(&emu, &az_output(&good_token()))
            .args(LIST)
            .arg("--verbose"));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("token cache ignored: the token cache is readable by others"),
            "{}",
            out.stderr
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = run(with_az(&emu, &az_output(&good_token())).args(LIST));
        assert_eq!(again.code, 0);
        assert_eq!(
            calls(&emu, "az").len(),
            1,
            "the replaced file serves the second call"
        );
    }

    #[test]
    fn az_not_signed_in_is_a_clear_error() {
        let emu = Emulator::start();
        let bin = install(
            &emu,
            "az",
            "",
            1,
            "ERROR: Please run az login to setup account.",
        );
        let out = run(without_token(&emu)
            .args(LIST)
            .env("PATH", format!("{}:/bin:/usr/bin", bin.display())));
        assert_eq!(out.code, 1);
        assert!(
            out.stderr
                .starts_with("ERROR: could not sign in with the Azure CLI (az): "),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("ERROR: Please run az login to setup account."),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("hint: run 'az login'"),
            "{}",
            out.stderr
        );
        // Failing fast means asking az once, not retrying it (no wall clock: a slow machine
        // must not fail this).
        assert_eq!(calls(&emu, "az").len(), 1);
        assert!(emu.requests().is_empty());
    }

    #[test]
    fn a_401_drops_the_cached_token_and_retries_once_with_a_fresh_one() {
        let emu = Emulator::start();
        // az hands out a token ARM refuses (revoked early): the run fails after one fresh try,
        // and the cache is left holding that token.
        let refused = jwt(
            json!({"aud": "https://management.azure.com/", "tid": TENANT, "exp": unix_now() - 60}),
        );
        let out = run(with_az(&emu, &az_output(&refused)).args(LIST));
        assert_eq!(out.code, 1);
        assert_eq!(
            calls(&emu, "az").len(),
            2,
            "one retry with a fresh token, no more"
        );
        // Now az has a good token: the cached one is refused, dropped, and the fresh one works.
        let out = run(with_az(&emu, &az_output(&good_token()))
            .args(LIST)
            .arg("--verbose"));
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "[]\n"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("401 Unauthorized: getting a fresh token and retrying once"),
            "{}",
            out.stderr
        );
        assert_eq!(calls(&emu, "az").len(), 3);
    }

    #[test]
    fn the_azure_developer_cli_is_used_when_az_is_absent() {
        let emu = Emulator::start();
        let out_json =
            json!({"token": good_token(), "expiresOn": "2099-01-01T00:00:00Z"}).to_string();
        let bin = install(&emu, "azd", &out_json, 0, "");
        let out = run(without_token(&emu)
            .args(LIST)
            .env("PATH", format!("{}:/bin:/usr/bin", bin.display())));
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "[]\n"),
            "{}",
            out.stderr
        );
        let calls = calls(&emu, "azd");
        assert_eq!(calls.len(), 1);
        assert!(
            calls[0].starts_with(
                "auth token -o json --no-prompt --scope https://management.azure.com/.default"
            ),
            "{calls:?}"
        );
    }

    #[test]
    fn another_cloud_asks_for_its_own_scope_and_warns() {
        let emu = Emulator::start();
        let out = run(with_az(&emu, &az_output(&good_token()))
            .args(LIST)
            .args(["--cloud", "AzureUSGovernment"]));
        assert!(
            out.stderr
                .starts_with("WARNING: Trusted Access is not offered in AzureUSGovernment today"),
            "{}",
            out.stderr
        );
        assert!(
            calls(&emu, "az")[0].contains("--scope https://management.usgovcloudapi.net/.default")
        );
        emu.write_az_file("config", b"[cloud]\nname = AzureChinaCloud\n");
        run(with_az(&emu, &az_output(&good_token()))
            .args(LIST)
            .arg("--no-token-cache"));
        assert!(
            calls(&emu, "az")[1].contains("--scope https://management.chinacloudapi.cn/.default"),
            "az's active cloud is the default"
        );
    }

    /// A fake `az` that waits `seconds` before answering (so concurrent runs overlap), logging
    /// each call with the tenant it was started for.
    fn slow_az(emu: &Emulator, seconds: &str, stdout: &str) -> PathBuf {
        let bin = emu.home.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = emu.home.path().join("az.log");
        let script = format!(
            "#!/bin/sh\necho \"$AZURE_TENANT_ID\" >> '{}'\nsleep {seconds}\ncat <<'EOF'\n{stdout}\nEOF\n",
            log.display()
        );
        let path = bin.join("az");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[test]
    fn twenty_concurrent_runs_spawn_az_once_per_key_and_lose_no_entry() {
        let emu = Emulator::start();
        let bin = slow_az(&emu, "0.3", &az_output(&good_token()));
        let children: Vec<_> = (0..20)
            .map(|i| {
                let mut cmd = emu.std_cli();
                cmd.env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
                    .env("PATH", format!("{}:/bin:/usr/bin", bin.display()))
                    .env(
                        "AZURE_TENANT_ID",
                        if i % 2 == 0 { "tenant-a" } else { "tenant-b" },
                    )
                    .args(LIST)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut tenants = calls(&emu, "az");
        tenants.sort();
        assert_eq!(tenants, ["tenant-a", "tenant-b"], "az once per key");
        let file: Value = serde_json::from_str(
            &std::fs::read_to_string(cache_dir(&emu).join("tokens.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            file["entries"].as_object().unwrap().len(),
            2,
            "both keys' entries kept: {file}"
        );
    }

    #[test]
    fn a_linked_or_open_cache_directory_is_not_used() {
        let emu = Emulator::start();
        let output = az_output(&good_token());
        let dir = cache_dir(&emu);
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let elsewhere = emu.home.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
        for _ in 0..2 {
            let out = run(with_az(&emu, &output).args(LIST).arg("--verbose"));
            assert_eq!(out.code, 0, "{}", out.stderr);
            assert!(out.stderr.contains("is a link"), "{}", out.stderr);
        }
        assert_eq!(calls(&emu, "az").len(), 2, "no cache through a link");
        assert!(!elsewhere.join("tokens.json").exists());

        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let out = run(with_az(&emu, &output).args(LIST).arg("--verbose"));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("writable by others"), "{}", out.stderr);
        assert!(!dir.join("tokens.json").exists());
    }

    #[test]
    fn a_fifo_in_place_of_the_cache_file_does_not_hang() {
        let emu = Emulator::start();
        let dir = cache_dir(&emu);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("600")
            .arg(dir.join("tokens.json"))
            .status()
            .unwrap();
        assert!(status.success());
        let out = run(with_az(&emu, &az_output(&good_token()))
            .args(LIST)
            .arg("--verbose")
            .timeout(Duration::from_secs(20)));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
    }

    #[test]
    fn an_interrupted_sign_in_kills_azs_whole_process_tree() {
        let emu = Emulator::start();
        let bin = emu.home.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let pids = emu.home.path().join("pids");
        // Like az: a shell script that starts another process and waits for it.
        let script = format!(
            "#!/bin/sh\nsleep 600 &\necho $! > '{0}.tmp'\nmv '{0}.tmp' '{0}'\nwait\n",
            pids.display()
        );
        std::fs::write(bin.join("az"), script).unwrap();
        std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = emu
            .std_cli()
            .env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
            .env("PATH", format!("{}:/bin:/usr/bin", bin.display()))
            .args(LIST)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !pids.exists() {
            assert!(Instant::now() < deadline, "az never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let grandchild = std::fs::read_to_string(&pids).unwrap().trim().to_string();
        let kill = |signal: &str, pid: &str| {
            std::process::Command::new("kill")
                .args([signal, pid])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success()
        };
        assert!(kill("-TERM", &child.id().to_string()));
        assert_eq!(child.wait().unwrap().code(), Some(143));
        let deadline = Instant::now() + Duration::from_secs(10);
        while kill("-0", &grandchild) {
            if Instant::now() > deadline {
                kill("-KILL", &grandchild);
                panic!("az's child {grandchild} outlived the tool");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn ten_list_calls_with_the_az_credential_spawn_az_once() {
        let emu = Emulator::start();
        let output = az_output(&good_token());
        for _ in 0..10 {
            assert_eq!(run(with_az(&emu, &output).args(LIST)).code, 0);
        }
        assert_eq!(calls(&emu, "az").len(), 1);
    }
}

#[test]
fn managed_identity_through_identity_endpoint_on_plain_http() {
    let emu = Emulator::start();
    let out = run(without_token(&emu)
        .args(LIST)
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.url))
        .env("IDENTITY_HEADER", "header-secret-value"));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let sign_in = sign_in_requests(&emu);
    assert_eq!(sign_in.len(), 1);
    assert_eq!(sign_in[0]["path"], "/msi/token");
    assert!(
        sign_in[0]["query"]
            .as_str()
            .unwrap()
            .contains("resource=https%3A%2F%2Fmanagement.azure.com"),
        "{}",
        sign_in[0]
    );
    assert!(!out.stderr.contains("header-secret-value"));
}

#[test]
fn a_service_principal_signs_in_against_the_token_endpoint_over_tls() {
    let emu = Emulator::start_tls(&[]);
    let out = run(against_token_endpoint(&emu)
        .args(LIST)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-1")
        .env("AZURE_CLIENT_SECRET", "s3cret-value"));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cret-value"));
    let sign_in = sign_in_requests(&emu);
    assert_eq!(sign_in.len(), 1);
    assert_eq!(
        sign_in[0]["signIn"],
        json!({"tenant": TENANT, "grant_type": "client_credentials", "client_id": "app-id-1",
               "scope": "https://management.azure.com/.default", "client_secret": true,
               "client_assertion": false, "client_assertion_type": "", "assertion": null})
    );
    assert_eq!(sign_in[0]["path"], format!("/{TENANT}/oauth2/v2.0/token"));
}

#[test]
fn a_rejected_secret_fails_fast_with_the_reason() {
    let emu = Emulator::start_tls(&[]);
    let out = run(against_token_endpoint(&emu)
        .args(LIST)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-1")
        .env("AZURE_CLIENT_SECRET", "wrong-secret"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("ERROR: could not sign in with service principal app-id-1: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("AADSTS7000215"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("wrong-secret"));
    // Fast: the refused secret is not retried (one sign-in request, nothing sent to ARM).
    assert_eq!(sign_in_requests(&emu).len(), 1);
    assert!(emu.requests().iter().all(|r| r.get("signIn").is_some()));
}

#[test]
fn workload_identity_sends_the_federated_token_as_an_assertion() {
    let emu = Emulator::start_tls(&[]);
    let assertion = emu.home.path().join("federated-token");
    std::fs::write(
        &assertion,
        jwt(json!({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:x"})),
    )
    .unwrap();
    let out = run(against_token_endpoint(&emu)
        .args(LIST)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-2")
        .env("AZURE_FEDERATED_TOKEN_FILE", &assertion));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let sign_in = sign_in_requests(&emu);
    assert_eq!(sign_in[0]["signIn"]["client_assertion"], true);
    assert_eq!(
        sign_in[0]["signIn"]["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(sign_in[0]["signIn"]["client_id"], "app-id-2");
}

#[test]
fn with_no_way_to_sign_in_the_error_is_instant_and_names_each_way() {
    let emu = Emulator::start();
    let out = run(without_token(&emu).args(LIST));
    assert_eq!(out.code, 1);
    // "Instant": nothing is probed (no request anywhere; IMDS only when asked for), checked
    // without a wall-clock bound that a slow machine could break.
    for expected in [
        "no way to sign in was found",
        "access token:",
        "service principal:",
        "workload identity:",
        "Azure Pipelines:",
        "managed identity:",
        "'az' is not on PATH",
        "'azd' is not on PATH",
        "hint: run 'az login'",
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn an_explicit_auth_method_that_does_not_apply_says_why() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(LIST).args(["--auth", "workload-identity"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("workload identity: AZURE_FEDERATED_TOKEN_FILE is not set"),
        "{}",
        out.stderr
    );
    let out = run(emu.cli().args(LIST).args(["--auth", "token"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "[]\n"));
}

#[test]
fn a_refused_token_is_diagnosed_from_its_claims() {
    let emu = Emulator::start();
    let cases = [
        (
            jwt(
                json!({"aud": "https://management.azure.com/", "tid": TENANT, "exp": unix_now() - 3600}),
            ),
            "ExpiredAuthenticationToken",
            "the access token expired at ",
        ),
        (
            jwt(
                json!({"aud": "https://graph.microsoft.com", "tid": TENANT, "exp": unix_now() + 3600}),
            ),
            "InvalidAuthenticationTokenAudience",
            "issued for audience 'https://graph.microsoft.com'",
        ),
        (
            jwt(
                json!({"aud": "https://management.azure.com/", "tid": "22222222-2222-2222-2222-222222222222", "exp": unix_now() + 3600}),
            ),
            "InvalidAuthenticationTokenTenant",
            "az login --tenant 11111111-1111-1111-1111-111111111111",
        ),
    ];
    for (token, code, hint) in cases {
        let out = run(emu
            .cli()
            .args(LIST)
            .env("AKS_TRUSTEDACCESS_ACCESS_TOKEN", &token));
        assert_eq!(out.code, 1, "{code}");
        assert!(
            out.stderr.starts_with(&format!("ERROR: ({code}) ")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("hint: {hint}")) || out.stderr.contains(hint),
            "{hint}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(&token));
    }
}

#[test]
fn an_issued_token_that_has_expired_is_refused_and_explained() {
    let emu = Emulator::start_tls(&["--token-lifetime", "-60"]);
    let out = run(against_token_endpoint(&emu)
        .args(LIST)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-1")
        .env("AZURE_CLIENT_SECRET", "s3cret"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("(ExpiredAuthenticationToken)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("signed in with service principal app-id-1"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_azure_pipelines_service_connection_signs_in_with_its_oidc_token() {
    let emu = Emulator::start_tls(&[]);
    let out = run(against_token_endpoint(&emu)
        .args(LIST)
        .env("SYSTEM_OIDCREQUESTURI", format!("{}/oidc/token", emu.url))
        .env("SYSTEM_ACCESSTOKEN", "system-access-token-value")
        .env("AZURESUBSCRIPTION_TENANT_ID", TENANT)
        .env("AZURESUBSCRIPTION_CLIENT_ID", "app-id-3")
        .env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "connection-1"));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("system-access-token-value"));
    let sign_in = sign_in_requests(&emu);
    assert_eq!(sign_in.len(), 2, "{sign_in:#?}");
    assert_eq!(sign_in[0]["path"], "/oidc/token");
    assert!(
        sign_in[0]["query"]
            .as_str()
            .unwrap()
            .contains("serviceConnectionId=connection-1"),
        "{}",
        sign_in[0]
    );
    assert_eq!(sign_in[1]["signIn"]["client_id"], "app-id-3");
    assert_eq!(sign_in[1]["signIn"]["client_assertion"], true);
}

#[test]
fn a_service_principal_signs_in_with_a_certificate_it_signs_for() {
    let emu = Emulator::start_tls(&[]);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["app".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let pem = emu.home.path().join("sp.pem");
    std::fs::write(&pem, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    let out = run(against_token_endpoint(&emu)
        .args(LIST)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-4")
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &pem));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let sign_in = sign_in_requests(&emu);
    assert_eq!(sign_in.len(), 1);
    assert_eq!(sign_in[0]["signIn"]["client_secret"], false);
    assert_eq!(
        sign_in[0]["signIn"]["assertion"],
        json!({"alg": "RS256", "x5t": true, "aud": format!("{}/{TENANT}/oauth2/v2.0/token", emu.url),
               "iss": "app-id-4", "sub": "app-id-4", "signed": true})
    );
}

#[test]
fn a_certificate_that_cannot_work_is_refused_before_any_request() {
    let emu = Emulator::start();
    let pfx = emu.home.path().join("sp.pfx");
    std::fs::write(&pfx, [0x30u8, 0x82, 0x0a, 0x01]).unwrap();
    let out = run(without_token(&emu)
        .args(LIST)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-4")
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &pfx));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("a PFX/PKCS#12 file is not supported"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("openssl pkcs12"), "{}", out.stderr);
    assert!(emu.requests().is_empty());
}
