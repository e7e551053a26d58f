//! The installer action's script (.github/actions/install/install.sh) against fake releases on a
//! local HTTP server (127.0.0.1): a good asset installs, is cached and runs; a wrong checksum, a
//! missing asset, an unsupported platform, a refused attestation and a bad version each fail with
//! their own message and exit code, and nothing is installed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const VERSION: &str = "v9.8.7";
const TARGET: &str = "x86_64-unknown-linux-musl";

/// A release server: GET of a path it holds answers 200 with the bytes, anything else 404.
/// Records every path requested.
struct Releases {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Releases {
    fn serve(files: BTreeMap<String, Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // The rest of the head, up to the blank line.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(path.clone());
                let (status, body) = match files.get(&path) {
                    Some(bytes) => ("200 OK", bytes.clone()),
                    None => ("404 Not Found", b"Not Found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Releases { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/actions/install/install.sh")
}

/// What the fake release's binary prints for `--version`.
const FAKE_VERSION: &str = "aks-trustedaccess 9.8.7 (a fake release)";

/// A release archive laid out as the release workflow makes it (the CLI and a man page at the
/// top level); the CLI is a small script, so each test packs kilobytes, not the debug build.
fn archive(dir: &Path) -> Vec<u8> {
    let staging = dir.join("staging");
    std::fs::create_dir_all(staging.join("man")).unwrap();
    let cli = staging.join("aks-trustedaccess");
    std::fs::write(&cli, format!("#!/bin/sh\necho '{FAKE_VERSION}'\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(staging.join("man/aks-trustedaccess.1"), ".TH x\n").unwrap();
    let out = dir.join("asset.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(&staging)
        .arg(".")
        .status()
        .expect("tar runs");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("sha256sum \"$1\" 2>/dev/null || shasum -a 256 \"$1\"")
        .arg("sh")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn asset_name(target: &str) -> String {
    format!("aks-trustedaccess-{VERSION}-{target}.tar.gz")
}

/// A release of VERSION holding the Linux x86_64 asset, with SHA256SUMS as given by `sums`
/// (None: the right line).
fn release(work: &Path, sums: Option<String>) -> BTreeMap<String, Vec<u8>> {
    let bytes = archive(work);
    let path = work.join("good.tar.gz");
    std::fs::write(&path, &bytes).unwrap();
    let sums = sums.unwrap_or_else(|| {
        format!(
            "{}  {}\n{}  aks-trustedaccess-{VERSION}-aarch64-apple-darwin.tar.gz\n",
            sha256_hex(&path),
            asset_name(TARGET),
            "0".repeat(64)
        )
    });
    BTreeMap::from([
        (format!("/{VERSION}/{}", asset_name(TARGET)), bytes),
        (format!("/{VERSION}/SHA256SUMS"), sums.into_bytes()),
    ])
}

struct Install {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The tools the script may use, linked into one directory: its PATH holds nothing else, so a
/// runner's own `gh` (hosted Linux runners have one in /usr/bin) is never asked.
const TOOLS: &[&str] = &[
    "awk",
    "cat",
    "chmod",
    "curl",
    "cut",
    "dirname",
    "gzip",
    "head",
    "mkdir",
    "mktemp",
    "mv",
    "perl",
    "rm",
    "sed",
    "sha256sum",
    "shasum",
    "tar",
    "uname",
];

fn tools(work: &Path) -> PathBuf {
    let dir = work.join("tools");
    if !dir.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        for tool in TOOLS {
            if let Ok(found) = which::which(tool) {
                std::os::unix::fs::symlink(found, dir.join(tool)).unwrap();
            }
        }
    }
    dir
}

/// Runs the script as the action does on a Linux X64 runner, with only `tools` on PATH (the
/// tests that want a `gh` put one first) and GitHub's output files in `work`.
fn install(work: &Path, server: &Releases, args: &[&str], env: &[(&str, &str)]) -> Install {
    let mut cmd = std::process::Command::new(which::which("bash").expect("bash is installed"));
    cmd.arg(script())
        .args(args)
        .env_clear()
        .env("PATH", tools(work))
        .env("HOME", work)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TOOL_CACHE", work.join("toolcache"))
        .env("GITHUB_PATH", work.join("github_path"))
        .env("GITHUB_OUTPUT", work.join("github_output"))
        .env("AKS_TRUSTEDACCESS_REPO", "example/aks-trustedaccess")
        .env("AKS_TRUSTEDACCESS_BASE_URL", &server.url)
        .env("AKS_TRUSTEDACCESS_VERSION", VERSION);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    Install {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn install_dir(work: &Path) -> PathBuf {
    work.join("toolcache/aks-trustedaccess/9.8.7").join(TARGET)
}

#[test]
fn a_good_asset_installs_runs_goes_on_path_and_is_cached() {
    let work = tempfile::tempdir().unwrap();
    let server = Releases::serve(release(work.path(), None));
    let first = install(work.path(), &server, &[], &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let dir = install_dir(work.path());
    assert_eq!(
        first.stdout,
        format!("{}\n", dir.display()),
        "only the directory"
    );
    assert!(
        first.stderr.contains("checksum verified"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("gh is not on PATH"),
        "an unchecked attestation is said: {}",
        first.stderr
    );
    let version = FAKE_VERSION;
    assert!(
        first.stderr.contains(&format!(
            "installed {FAKE_VERSION} ({VERSION}, {TARGET}) in {}",
            dir.display()
        )),
        "{}",
        first.stderr
    );
    let ran = std::process::Command::new(dir.join("aks-trustedaccess"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout).trim(), version);
    assert!(dir.join("man/aks-trustedaccess.1").is_file());
    let path_file = std::fs::read_to_string(work.path().join("github_path")).unwrap();
    assert_eq!(path_file, format!("{}\n", dir.display()));
    let outputs = std::fs::read_to_string(work.path().join("github_output")).unwrap();
    assert_eq!(
        outputs,
        format!("version={VERSION}\npath={}\n", dir.display())
    );
    assert_eq!(
        server.requests(),
        [
            format!("/{VERSION}/SHA256SUMS"),
            format!("/{VERSION}/{}", asset_name(TARGET))
        ]
    );
    // Again: the cached binary matches the release's checksum, so only SHA256SUMS is fetched.
    let second = install(work.path(), &server, &[], &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stderr.contains("found in the cache"),
        "{}",
        second.stderr
    );
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.requests()[2], format!("/{VERSION}/SHA256SUMS"));
}

#[test]
fn a_wrong_checksum_fails_with_exit_5_and_installs_nothing() {
    let work = tempfile::tempdir().unwrap();
    let sums = format!("{}  {}\n", "ab".repeat(32), asset_name(TARGET));
    let server = Releases::serve(release(work.path(), Some(sums)));
    let out = install(work.path(), &server, &[], &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "error: checksum mismatch for {}: SHA256SUMS says {}, the download is ",
            asset_name(TARGET),
            "ab".repeat(32)
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .starts_with("::error title=install aks-trustedaccess::checksum mismatch")
    );
    assert!(!install_dir(work.path()).exists());
    assert!(!work.path().join("github_path").exists());
}

#[test]
fn a_missing_asset_fails_with_exit_3_naming_it() {
    let work = tempfile::tempdir().unwrap();
    let server = Releases::serve(release(work.path(), None));
    // macOS ARM64 is listed in SHA256SUMS but the file is not there.
    let out = install(
        work.path(),
        &server,
        &[],
        &[("RUNNER_OS", "macOS"), ("RUNNER_ARCH", "ARM64")],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let asset = asset_name("aarch64-apple-darwin");
    assert!(
        out.stderr.contains(&format!(
            "error: the asset {asset} not found: {}/{VERSION}/{asset} answered 404",
            server.url
        )),
        "{}",
        out.stderr
    );
    // Linux ARM64 is not even listed.
    let out = install(work.path(), &server, &[], &[("RUNNER_ARCH", "ARM64")]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "error: release {VERSION} has no asset {}",
            asset_name("aarch64-unknown-linux-musl")
        )),
        "{}",
        out.stderr
    );
    // A release that does not exist.
    let out = install(work.path(), &server, &["--version", "1.0.0"], &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the checksum file SHA256SUMS of v1.0.0 not found")
    );
}

#[test]
fn an_unsupported_platform_fails_with_exit_6_before_any_download() {
    let work = tempfile::tempdir().unwrap();
    let server = Releases::serve(release(work.path(), None));
    for (os, arch) in [("Linux", "ARM"), ("Windows", "ARM64"), ("FreeBSD", "X64")] {
        let out = install(
            work.path(),
            &server,
            &[],
            &[("RUNNER_OS", os), ("RUNNER_ARCH", arch)],
        );
        assert_eq!(out.code, 6, "{os}/{arch}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "error: no aks-trustedaccess build for {os}/{arch}; releases have"
            )),
            "{}",
            out.stderr
        );
    }
    assert!(server.requests().is_empty());
}

#[test]
fn invalid_inputs_are_exit_2_before_any_download() {
    let work = tempfile::tempdir().unwrap();
    let server = Releases::serve(release(work.path(), None));
    let out = install(work.path(), &server, &["--version", "latest-ish"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("version 'vlatest-ish' is not a release version")
    );
    let out = install(work.path(), &server, &["--verify", "yes"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("verify is 'yes'; expected true or false")
    );
    assert!(server.requests().is_empty());
}

/// A fake `gh` that records its arguments and exits with `code`.
fn fake_gh(work: &Path, code: i32) -> PathBuf {
    let bin = work.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    let log = work.join("gh.log");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexit {code}\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn the_attestation_is_verified_with_gh_when_present_and_a_refusal_is_exit_5() {
    let work = tempfile::tempdir().unwrap();
    let server = Releases::serve(release(work.path(), None));
    let path = format!(
        "{}:{}",
        fake_gh(work.path(), 1).display(),
        tools(work.path()).display()
    );
    let refused = install(work.path(), &server, &[], &[("PATH", &path)]);
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "error: attestation of {} could not be verified (gh attestation verify --repo example/aks-trustedaccess)",
            asset_name(TARGET)
        )),
        "{}",
        refused.stderr
    );
    assert!(!install_dir(work.path()).exists());
    let log = std::fs::read_to_string(work.path().join("gh.log")).unwrap();
    assert!(log.starts_with("attestation verify "), "{log}");
    assert!(log.trim_end().ends_with(&format!(
        "{} --repo example/aks-trustedaccess",
        asset_name(TARGET)
    )));
    // verify=false: checksum only, gh not asked.
    let unverified = install(
        work.path(),
        &server,
        &["--verify", "false"],
        &[("PATH", &path)],
    );
    assert_eq!(unverified.code, 0, "{}", unverified.stderr);
    assert_eq!(
        std::fs::read_to_string(work.path().join("gh.log")).unwrap(),
        log
    );
    // A gh that accepts: installed, and said so.
    std::fs::remove_dir_all(install_dir(work.path())).unwrap();
    let path = format!(
        "{}:{}",
        fake_gh(work.path(), 0).display(),
        tools(work.path()).display()
    );
    let verified = install(work.path(), &server, &[], &[("PATH", &path)]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified
            .stderr
            .contains("build-provenance attestation verified")
    );
}

#[test]
fn the_default_version_is_the_one_of_the_actions_own_checkout() {
    let work = tempfile::tempdir().unwrap();
    let server = Releases::serve(BTreeMap::new());
    let out = install(
        work.path(),
        &server,
        &["--resolve"],
        &[("AKS_TRUSTEDACCESS_VERSION", "")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "version=v{}\ntarget={TARGET}\ndir={}\n",
            env!("CARGO_PKG_VERSION"),
            work.path()
                .join("toolcache/aks-trustedaccess")
                .join(env!("CARGO_PKG_VERSION"))
                .join(TARGET)
                .display()
        )
    );
    assert!(server.requests().is_empty());
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The value of `key = "…"` in Cargo.toml's [package.metadata.binstall].
fn binstall(key: &str) -> String {
    let cargo = repo_file("Cargo.toml");
    let section = cargo
        .split("[package.metadata.binstall]")
        .nth(1)
        .expect("Cargo.toml has [package.metadata.binstall]");
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no {key} in [package.metadata.binstall]"))
        .to_string()
}

#[test]
fn the_release_workflow_the_installer_and_binstall_agree_on_targets_and_asset_names() {
    let release = repo_file(".github/workflows/release.yml");
    let script = repo_file(".github/actions/install/install.sh");
    let built: std::collections::BTreeSet<&str> = release
        .lines()
        .filter_map(|l| l.split("target: ").nth(1))
        .filter_map(|t| t.split([',', ' ', '}']).next())
        .collect();
    let installed: std::collections::BTreeSet<&str> = script
        .lines()
        .filter(|l| l.contains(") target="))
        .filter_map(|l| l.split("target=").nth(1)?.split_whitespace().next())
        .collect();
    assert_eq!(built, installed);
    assert_eq!(built.len(), 5, "{built:?}");
    // One name: aks-trustedaccess-vX.Y.Z-<target>.tar.gz, binaries at the archive's top level.
    assert!(
        release.contains(
            "ASSET: aks-trustedaccess-${{ github.ref_name }}-${{ matrix.target }}.tar.gz"
        )
    );
    assert!(
        release.contains("cp \"$exe\" dist/") && release.contains("tar -czf \"$ASSET\" -C dist .")
    );
    assert!(script.contains("asset=$NAME-$tag-$target.tar.gz"));
    assert!(script.contains("base_url=https://github.com/$repo/releases/download"));
    assert!(script.contains("\"$base_url/$tag/$asset\""));
    let repo = "https://github.com/example/aks-trustedaccess";
    for target in &built {
        let url = binstall("pkg-url")
            .replace("{ repo }", repo)
            .replace("{ name }", "aks-trustedaccess")
            .replace("{ version }", "1.2.3")
            .replace("{ target }", target);
        assert_eq!(
            url,
            format!("{repo}/releases/download/v1.2.3/aks-trustedaccess-v1.2.3-{target}.tar.gz")
        );
    }
    assert_eq!(binstall("bin-dir"), "{ bin }{ binary-ext }");
    assert_eq!(binstall("pkg-fmt"), "tgz");
}
