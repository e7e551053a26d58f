//! The CA certificates a server certificate is checked against, loaded by the first TLS handshake
//! and once per process: a command that sends no request reads none. The bundle file first; the
//! certificate directories only when the bundle alone cannot verify the server, which gives the
//! same answer as loading both without reading ~300 files on every run.

use super::trust_store::{MAX_FILE_BYTES, Sources};
use crate::diagnostics::Diagnostics;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio_rustls::rustls;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// At most this many bytes in all from certificate directories, and this many files.
const MAX_DIR_BYTES: u64 = 64 << 20;
const MAX_DIR_FILES: usize = 20_000;

/// A bundle file and certificate directories.
type Locations = (Option<PathBuf>, Vec<PathBuf>);

/// The file and directories to read (the system's are probed only now).
fn resolve(sources: &Sources) -> Locations {
    match sources {
        Sources::Env { file, dirs } => (file.clone(), dirs.clone()),
        Sources::System => {
            let found = openssl_probe::probe();
            (found.cert_file, found.cert_dir)
        }
    }
}

/// Reads a regular file of at most `limit` bytes, never blocking on a FIFO or device.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {} MiB", limit >> 20));
    }
    Ok(bytes)
}

/// The certificates of one PEM file (sections that are not certificates are skipped, as
/// rustls-native-certs does).
fn pem_certificates(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(bytes)
        .filter_map(Result::ok)
        .collect()
}

/// What one loading step found: certificates, and the problems met on the way (for `--debug`
/// and for the error when nothing at all was found).
#[derive(Default)]
struct Found {
    certs: Vec<CertificateDer<'static>>,
    problems: Vec<String>,
    files: usize,
}

fn load_file(path: &Path) -> Found {
    let mut found = Found::default();
    match read_bounded(path, MAX_FILE_BYTES) {
        Ok(bytes) => {
            found.certs = pem_certificates(&bytes);
            found.files = 1;
            if found.certs.is_empty() {
                found
                    .problems
                    .push(format!("{}: no PEM certificate in it", path.display()));
            }
        }
        Err(e) => found.problems.push(format!("{}: {e}", path.display())),
    }
    found
}

/// Every regular file of the directories (each file once: hash links and names point at the
/// same file), skipping `skip` (the bundle already read).
fn load_dirs(dirs: &[PathBuf], skip: Option<&Path>) -> Found {
    use std::os::unix::fs::MetadataExt;
    let mut found = Found::default();
    let mut seen = std::collections::HashSet::new();
    if let Some(meta) = skip.and_then(|p| std::fs::metadata(p).ok()) {
        seen.insert((meta.dev(), meta.ino()));
    }
    let mut budget = MAX_DIR_BYTES;
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                found.problems.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue; // a dangling link, as rustls-native-certs skips it
            };
            if !meta.is_file() || !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            if found.files >= MAX_DIR_FILES || meta.len() > budget {
                found.problems.push(format!(
                    "{}: stopped reading, more than {MAX_DIR_FILES} files or {} MiB",
                    dir.display(),
                    MAX_DIR_BYTES >> 20
                ));
                return found;
            }
            match read_bounded(&path, MAX_FILE_BYTES.min(budget)) {
                Ok(bytes) => {
                    budget -= bytes.len() as u64;
                    found.files += 1;
                    found.certs.extend(pem_certificates(&bytes));
                }
                Err(e) => found.problems.push(format!("{}: {e}", path.display())),
            }
        }
    }
    found
}

type Stage = Result<Arc<WebPkiServerVerifier>, String>;

/// A webpki verifier over `certs` (certificates that do not parse as trust anchors are skipped).
fn verifier_for(certs: &[CertificateDer<'static>], provider: &Arc<CryptoProvider>) -> Stage {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(certs.iter().cloned());
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())
}

/// The server certificate verifier: webpki against the trust store, which it loads on first use.
#[derive(Debug)]
pub struct LazyTrustStore {
    sources: Sources,
    provider: Arc<CryptoProvider>,
    diagnostics: Diagnostics,
    locations: OnceLock<Locations>,
    /// The bundle file alone, its certificates kept for the second stage.
    bundle: OnceLock<(Vec<CertificateDer<'static>>, Option<Stage>)>,
    /// The bundle and the directories.
    everything: OnceLock<Stage>,
}

impl LazyTrustStore {
    pub fn new(sources: Sources, provider: Arc<CryptoProvider>, diagnostics: Diagnostics) -> Self {
        LazyTrustStore {
            sources,
            provider,
            diagnostics,
            locations: OnceLock::new(),
            bundle: OnceLock::new(),
            everything: OnceLock::new(),
        }
    }

    fn locations(&self) -> &Locations {
        self.locations.get_or_init(|| resolve(&self.sources))
    }

    fn bundle(&self) -> &(Vec<CertificateDer<'static>>, Option<Stage>) {
        self.bundle.get_or_init(|| {
            let started = Instant::now();
            let Some(file) = &self.locations().0 else {
                return (Vec::new(), None);
            };
            let found = load_file(file);
            let stage =
                (!found.certs.is_empty()).then(|| verifier_for(&found.certs, &self.provider));
            self.report(std::slice::from_ref(file), &found, started);
            (found.certs, stage)
        })
    }

    fn everything(&self) -> &Stage {
        self.everything.get_or_init(|| {
            let started = Instant::now();
            let (file, dirs) = self.locations();
            let mut found = load_dirs(dirs, file.as_deref());
            self.report(dirs, &found, started);
            found.certs.extend(self.bundle().0.iter().cloned());
            found
                .certs
                .sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
            found.certs.dedup();
            if found.certs.is_empty() {
                return Err(nothing_found(file.as_deref(), dirs, &found.problems));
            }
            verifier_for(&found.certs, &self.provider)
        })
    }

    fn report(&self, paths: &[PathBuf], found: &Found, started: Instant) {
        if !self.diagnostics.is_debug() || paths.is_empty() {
            return;
        }
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.diagnostics.debug(&format!(
            "trust store: {} certificates from {} file(s) in {} ({:.1} ms)",
            found.certs.len(),
            found.files,
            names.join(", "),
            started.elapsed().as_secs_f64() * 1000.0
        ));
        for problem in &found.problems {
            self.diagnostics.debug(&format!("trust store: {problem}"));
        }
    }
}

impl ServerCertVerifier for LazyTrustStore {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verify = |v: &WebPkiServerVerifier| {
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        };
        // A chain the bundle verifies is verified by any superset of it: the directories are
        // read only when the bundle alone says no.
        if let Some(Ok(bundle)) = &self.bundle().1 {
            let verdict = verify(bundle);
            if verdict.is_ok() || self.locations().1.is_empty() {
                return verdict;
            }
        }
        match self.everything() {
            Ok(all) => verify(all),
            Err(why) => Err(rustls::Error::General(why.clone())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The error when no CA certificate at all could be loaded.
fn nothing_found(file: Option<&Path>, dirs: &[PathBuf], problems: &[String]) -> String {
    let looked: Vec<String> = file
        .into_iter()
        .chain(dirs.iter().map(PathBuf::as_path))
        .map(|p| p.display().to_string())
        .collect();
    let mut message = if looked.is_empty() {
        "no CA certificates: no system trust store was found".to_string()
    } else {
        format!("no CA certificates found in {}", looked.join(", "))
    };
    for problem in problems {
        message.push_str("; ");
        message.push_str(problem);
    }
    message.push_str(" (set SSL_CERT_FILE to a PEM bundle of CA certificates)");
    message
}
