//! `--tls`: a throwaway certificate authority made at start, and a certificate it signs for
//! 127.0.0.1 and localhost (a leaf, not a CA: rustls rightly refuses a CA certificate as a
//! server's), so the CLI is measured and tested over TLS the way it talks to ARM, trusting the
//! CA through SSL_CERT_FILE.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// The files `generate` wrote.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA's certificate (PEM): what SSL_CERT_FILE points at.
    pub ca_cert: PathBuf,
    /// The server's certificate chain and private key (PEM), for the TLS acceptor.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

/// Makes a CA and a server certificate for loopback, and writes them into `dir` as `ca.pem`,
/// `server.pem` and `server-key.pem`.
pub fn generate(dir: &Path) -> Result<TestCa, String> {
    let failed = |e: rcgen::Error| format!("cannot make the test certificates: {e}");
    let ca_key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "aks-trustedaccess emulator test CA",
    );
    let ca_cert = ca_params.self_signed(&ca_key).map_err(failed)?;
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);

    let server_key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(failed)?;
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "aks-trustedaccess emulator");
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
    }
    let server_cert = params.signed_by(&server_key, &issuer).map_err(failed)?;

    let write = |name: &str, text: &str| -> Result<PathBuf, String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    };
    Ok(TestCa {
        ca_cert: write("ca.pem", &ca_cert.pem())?,
        server_cert: write("server.pem", &server_cert.pem())?,
        server_key: write("server-key.pem", &server_key.serialize_pem())?,
    })
}
