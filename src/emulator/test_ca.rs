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

/// `aks-trustedaccess emulator test CA <8 random hex digits>`.
pub fn ca_common_name() -> String {
    format!(
        "aks-trustedaccess emulator test CA {:08x}",
        fastrand::u32(..)
    )
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
    // A name of its own per run, so two emulators' CAs in one bundle are told apart (a client
    // picks the issuer by name, then by key identifier).
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ca_common_name());
    let ca_cert = ca_params.self_signed(&ca_key).map_err(failed)?;
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);

    let server_key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(failed)?;
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    // Names its issuer's key (authority key identifier), as public CAs' certificates do.
    params.use_authority_key_identifier_extension = true;
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// The DER bytes of a PEM file's first certificate.
    fn der(path: &Path) -> Vec<u8> {
        let pem = std::fs::read_to_string(path).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Two runs' CAs have different names (so one bundle can hold both), and the server
    /// certificate carries an authority key identifier (OID 2.5.29.35: 06 03 55 1D 23).
    #[test]
    fn each_run_has_a_ca_of_its_own_name_and_the_server_certificate_names_its_key() {
        let names: Vec<String> = (0..2)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                let files = generate(dir.path()).unwrap();
                let ca = der(&files.ca_cert);
                let prefix = b"aks-trustedaccess emulator test CA ";
                let at = contains(&ca, prefix).expect("the CA's name") + prefix.len();
                let suffix = String::from_utf8(ca[at..at + 8].to_vec()).unwrap();
                assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()), "{suffix}");
                let server = der(&files.server_cert);
                assert!(contains(&server, &[0x06, 0x03, 0x55, 0x1d, 0x23]).is_some());
                assert!(contains(&server, prefix).is_some(), "the issuer's name");
                suffix
            })
            .collect();
        assert_ne!(names[0], names[1]);
    }
}
