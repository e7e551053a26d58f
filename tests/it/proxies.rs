//! Secrets go only where they are meant for: with every proxy variable pointing at a recording
//! proxy and ARM reached through it, each credential's sign-in request to a loopback identity or
//! token endpoint goes there directly, never through the proxy.

use crate::harness::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const TENANT: &str = "11111111-1111-1111-1111-111111111111";
const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// A proxy on loopback that records the head of every request it gets and refuses it (502),
/// so nothing goes further.
struct RecordingProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                record.lock().unwrap().push(head);
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        RecordingProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The CLI with no token, every proxy variable set, and ARM on a host that is not loopback (so
/// ARM requests do go through the proxy, which refuses them).
fn through_proxy(emu: &Emulator, proxy: &RecordingProxy) -> assert_cmd::Command {
    let mut cmd = emu.cli();
    cmd.env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
        .env("PATH", emu.home.path().join("no-bin"))
        .env(
            "AKS_TRUSTEDACCESS_ARM_ENDPOINT",
            "https://arm.example.invalid",
        )
        .env("NO_PROXY", "")
        .env("no_proxy", "")
        .args(argv(
            "rolebinding list -g rg1 --cluster-name cluster2 --max-retries 0",
        ));
    for var in PROXY_VARS {
        cmd.env(var, &proxy.url);
    }
    cmd
}

fn sign_ins(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .into_iter()
        .filter(|r| r.get("signIn").is_some())
        .collect()
}

/// The sign-in reached the emulator directly; the proxy saw only the ARM request (a CONNECT to
/// the non-loopback ARM host), never anything for 127.0.0.1 nor any secret.
fn assert_direct(emu: &Emulator, proxy: &RecordingProxy, out: &Run, secret: &str) {
    assert!(
        !sign_ins(emu).is_empty(),
        "no sign-in reached the emulator: {}",
        out.stderr
    );
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .all(|head| head.starts_with("CONNECT arm.example.invalid:443")),
        "the proxy saw: {seen:#?}"
    );
    assert!(!seen.iter().any(|head| head.contains(secret)), "{seen:#?}");
    assert!(
        !seen.is_empty(),
        "ARM went through the proxy: {}",
        out.stderr
    );
}

#[test]
fn managed_identity_on_loopback_is_never_proxied() {
    let emu = Emulator::start();
    let proxy = RecordingProxy::start();
    let out = run(through_proxy(&emu, &proxy)
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.url))
        .env("IDENTITY_HEADER", "identity-header-secret"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_direct(&emu, &proxy, &out, "identity-header-secret");
}

#[test]
fn a_service_principal_with_a_loopback_authority_is_never_proxied() {
    let emu = Emulator::start_tls(&[]);
    let proxy = RecordingProxy::start();
    let out = run(through_proxy(&emu, &proxy)
        .env("SSL_CERT_FILE", emu.home.path().join("ca.pem"))
        .env("AZURE_AUTHORITY_HOST", &emu.url)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-1")
        .env("AZURE_CLIENT_SECRET", "client-secret-value"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_direct(&emu, &proxy, &out, "client-secret-value");
}

#[test]
fn workload_identity_with_a_loopback_authority_is_never_proxied() {
    let emu = Emulator::start_tls(&[]);
    let proxy = RecordingProxy::start();
    let assertion = emu.home.path().join("federated-token");
    std::fs::write(&assertion, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig").unwrap();
    let out = run(through_proxy(&emu, &proxy)
        .env("SSL_CERT_FILE", emu.home.path().join("ca.pem"))
        .env("AZURE_AUTHORITY_HOST", &emu.url)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "app-id-2")
        .env("AZURE_FEDERATED_TOKEN_FILE", &assertion));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_direct(&emu, &proxy, &out, "eyJzdWIiOiJ4In0");
}

#[test]
fn azure_pipelines_on_loopback_is_never_proxied() {
    let emu = Emulator::start_tls(&[]);
    let proxy = RecordingProxy::start();
    let out = run(through_proxy(&emu, &proxy)
        .env("SSL_CERT_FILE", emu.home.path().join("ca.pem"))
        .env("AZURE_AUTHORITY_HOST", &emu.url)
        .env("SYSTEM_OIDCREQUESTURI", format!("{}/oidc/token", emu.url))
        .env("SYSTEM_ACCESSTOKEN", "system-access-token-value")
        .env("AZURESUBSCRIPTION_TENANT_ID", TENANT)
        .env("AZURESUBSCRIPTION_CLIENT_ID", "app-id-3")
        .env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "connection-1"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_direct(&emu, &proxy, &out, "system-access-token-value");
}
