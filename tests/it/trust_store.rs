//! The trust store is read by the first TLS handshake and never before: commands that send no
//! request (help, version, completions, every error found before a request) open no CA
//! certificate file. inotify reports every open of SSL_CERT_FILE and of the files in
//! SSL_CERT_DIR, so a trust store loaded up front again would fail here.

use crate::harness::{Emulator, ML_ROLE, ML_SOURCE, create_args, run};
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::path::{Path, PathBuf};

/// Opens of a CA file and of a CA directory (or a file in it), counted by inotify.
struct Watched {
    inotify: Inotify,
    file: WatchDescriptor,
    dir: WatchDescriptor,
    pub file_path: PathBuf,
    pub dir_path: PathBuf,
}

impl Watched {
    /// `ca_file` as SSL_CERT_FILE and a directory holding `dir_pem` as SSL_CERT_DIR.
    fn new(root: &Path, ca_file: &str, dir_pem: &str) -> Watched {
        let file_path = root.join("trusted.pem");
        std::fs::write(&file_path, ca_file).unwrap();
        let dir_path = root.join("trusted.d");
        std::fs::create_dir(&dir_path).unwrap();
        std::fs::write(dir_path.join("ca.pem"), dir_pem).unwrap();
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).unwrap();
        let flags = AddWatchFlags::IN_OPEN | AddWatchFlags::IN_ACCESS;
        let file = inotify.add_watch(&file_path, flags).unwrap();
        let dir = inotify.add_watch(&dir_path, flags).unwrap();
        Watched {
            inotify,
            file,
            dir,
            file_path,
            dir_path,
        }
    }

    fn env<'a>(&self, cmd: &'a mut assert_cmd::Command) -> &'a mut assert_cmd::Command {
        cmd.env("SSL_CERT_FILE", &self.file_path)
            .env("SSL_CERT_DIR", &self.dir_path)
    }

    /// (opens of the file, opens in the directory) since the last call.
    fn opens(&self) -> (usize, usize) {
        let (mut file, mut dir) = (0, 0);
        loop {
            match self.inotify.read_events() {
                Ok(events) => {
                    for event in events {
                        let open = event.mask.contains(AddWatchFlags::IN_OPEN);
                        if open && event.wd == self.file {
                            file += 1;
                        } else if open && event.wd == self.dir {
                            dir += 1;
                        }
                    }
                }
                Err(Errno::EAGAIN) => return (file, dir),
                Err(e) => panic!("inotify: {e}"),
            }
        }
    }
}

fn other_ca_pem() -> String {
    ca_pem_named("some other CA")
}

/// A self-signed CA certificate with this common name and a fresh key.
fn ca_pem_named(name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.self_signed(&key).unwrap().pem()
}

/// A handshake decodes only the CA certificates named like the server's issuer: among 150
/// others the test CA is found, and one with its name but another key vouches for nothing.
#[test]
fn among_many_ca_certificates_only_the_issuers_own_key_is_trusted() {
    let emu = Emulator::start_tls(&[]);
    let many: String = (0..150).map(|i| ca_pem_named(&format!("CA {i}"))).collect();
    let impostor = ca_pem_named("aks-trustedaccess test CA"); // the harness CA's name
    let ca = emu.ca_pem.clone().unwrap();
    let refused = tempfile::tempdir().unwrap();
    let watched = Watched::new(
        refused.path(),
        &format!("{many}{impostor}"),
        &other_ca_pem(),
    );
    let out =
        run(watched
            .env(&mut emu.cli())
            .args(["role", "list", "-l", "westeurope", "--debug"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("BadSignature"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("DEBUG: trust store: 151 certificates from 1 file(s) in"),
        "{}",
        out.stderr
    );
    assert!(emu.requests().is_empty(), "nothing reached the server");
    let trusted = tempfile::tempdir().unwrap();
    let watched = Watched::new(
        trusted.path(),
        &format!("{many}{impostor}{ca}"),
        &other_ca_pem(),
    );
    let out =
        run(watched
            .env(&mut emu.cli())
            .args(["role", "list", "-l", "westeurope", "--debug"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(watched.opens(), (1, 0), "{}", out.stderr);
    assert_eq!(emu.requests().len(), 1);
}

#[test]
fn commands_that_send_no_request_read_no_ca_certificate() {
    let emu = Emulator::start_tls(&[]);
    let ca = emu.ca_pem.clone().unwrap();
    let watched = Watched::new(emu.home.path(), &ca, &ca);
    let cases: [(&[&str], i32); 9] = [
        (&["--version"], 0),
        (&["--help"], 0),
        (&["rolebinding", "create", "--help"], 0),
        (&["completion", "bash"], 0),
        (&["rolebinding", "list", "-g", "rg1"], 2),
        (
            &[
                "rolebinding",
                "show",
                "-g",
                "rg1",
                "--cluster-name",
                "c",
                "-n",
                "bad name!",
            ],
            2,
        ),
        (
            &[
                "rolebinding",
                "create",
                "-g",
                "rg1",
                "--cluster-name",
                "c1",
                "-n",
                "b",
                "-s",
                ML_SOURCE,
                "--roles",
                "not-a-role",
            ],
            2,
        ),
        (&["role", "list", "-l", "westeurope", "--query", "[?"], 2),
        (
            &[
                "role",
                "list",
                "-l",
                "westeurope",
                "--debug",
                "--only-show-errors",
            ],
            2,
        ),
    ];
    for (args, code) in cases {
        let out = run(watched.env(&mut emu.cli()).args(args));
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert_eq!(watched.opens(), (0, 0), "{args:?} read a CA certificate");
    }
    assert!(emu.requests().is_empty(), "none of them sent a request");
}

#[test]
fn the_first_handshake_reads_the_bundle_once_and_the_directory_only_if_needed() {
    let emu = Emulator::start_tls(&["--page-size", "4"]);
    let ca = emu.ca_pem.clone().unwrap();
    // The CA in the bundle: three pages (three requests), one read of the bundle, none of the
    // directory.
    let watched = Watched::new(emu.home.path(), &ca, &other_ca_pem());
    let out =
        run(watched
            .env(&mut emu.cli())
            .args(["role", "list", "-l", "westeurope", "--debug"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(watched.opens(), (1, 0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("DEBUG: trust store: 1 certificates from 1 file(s) in"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_ca_only_in_ssl_cert_dir_is_trusted_too() {
    let emu = Emulator::start_tls(&[]);
    let ca = emu.ca_pem.clone().unwrap();
    let watched = Watched::new(emu.home.path(), &other_ca_pem(), &ca);
    let out = run(watched
        .env(&mut emu.cli())
        .args(create_args("dir-ca", ML_ROLE)));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (file, dir) = watched.opens();
    assert_eq!(file, 1, "the bundle is read once");
    assert!(
        dir >= 1,
        "the directory is read when the bundle cannot verify"
    );
}

/// TCP connections the emulator accepted, less the one asking.
fn connections(emu: &Emulator) -> u64 {
    let stats: serde_json::Value = emu
        .control_client()
        .get(format!("{}/_emulator/stats", emu.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    stats["connections"].as_u64().unwrap() - 1
}

/// A certificate no trusted CA vouches for cannot become trusted by asking again: one
/// connection, no retry, and an error that says what to do.
#[test]
fn a_server_no_trusted_ca_vouches_for_is_refused_at_once() {
    let emu = Emulator::start_tls(&[]);
    let other = other_ca_pem();
    let watched = Watched::new(emu.home.path(), &other, &other);
    let out =
        run(watched
            .env(&mut emu.cli())
            .args(["role", "list", "-l", "westeurope", "--verbose"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "/trustedAccessRoles failed: the server's certificate was not accepted (could not \
             connect: "
        ) && out.stderr.contains(
            "invalid peer certificate: UnknownIssuer); another attempt cannot change that, so \
             none was made\nhint: servers are checked against the system's CA certificates, or \
             SSL_CERT_FILE / SSL_CERT_DIR when set"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retrying GET"), "{}", out.stderr);
    assert_eq!(connections(&emu), 1, "one connection, no retry");
    assert!(emu.requests().is_empty(), "nothing reached the server");
}

#[test]
fn ssl_cert_file_that_is_not_a_regular_file_is_refused_unread() {
    let emu = Emulator::start_tls(&[]);
    for path in ["/dev/zero", "/nonexistent/ca.pem"] {
        let out =
            run(emu
                .cli()
                .env("SSL_CERT_FILE", path)
                .args(["role", "list", "-l", "westeurope"]));
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("cannot use SSL_CERT_FILE {path}")),
            "{}",
            out.stderr
        );
    }
    assert!(emu.requests().is_empty());
}
