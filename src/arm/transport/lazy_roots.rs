//! The CA certificates a server certificate is checked against, loaded by the first TLS handshake
//! and once per process: a command that sends no request reads none. The bundle file first; the
//! certificate directories only when the bundle alone cannot verify the server, which gives the
//! same answer as loading both without reading ~300 files on every run. Within the bundle, a
//! handshake decodes only the certificates whose subject names an issuer of the server's chain
//! (`subject_index`), and the whole bundle only if those cannot verify it.

use super::subject_index::{self, Block};
use super::trust_store::{MAX_FILE_BYTES, Sources};
use crate::diagnostics::Diagnostics;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
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

type Narrowed = Option<Arc<WebPkiServerVerifier>>;

/// The bundle file as read by the first handshake: its bytes and their index by subject.
#[derive(Debug)]
struct BundleFile {
    bytes: Vec<u8>,
    /// None when the file is not plain PEM certificates: only the full decode is used.
    blocks: Option<Vec<Block>>,
    /// Verifiers over the candidates of the chains met, by candidate positions (an audit's
    /// handshakes all meet the same chain): None when none of them is a CA certificate.
    narrowed: Mutex<Vec<(Vec<usize>, Narrowed)>>,
    /// Every certificate of the file, decoded only when the candidates cannot verify a chain,
    /// and the verifier over them (None when there are none).
    full_certs: OnceLock<Vec<CertificateDer<'static>>>,
    full: OnceLock<Option<Stage>>,
}

fn read_bundle(path: &Path) -> (Option<BundleFile>, Found) {
    let mut found = Found::default();
    match read_bounded(path, MAX_FILE_BYTES) {
        Ok(bytes) => {
            found.files = 1;
            let blocks = subject_index::index(&bytes);
            let bundle = BundleFile {
                blocks,
                bytes,
                narrowed: Mutex::new(Vec::new()),
                full_certs: OnceLock::new(),
                full: OnceLock::new(),
            };
            if bundle.count() == 0 {
                found
                    .problems
                    .push(format!("{}: no PEM certificate in it", path.display()));
            }
            (Some(bundle), found)
        }
        Err(e) => {
            found.problems.push(format!("{}: {e}", path.display()));
            (None, found)
        }
    }
}

impl BundleFile {
    /// How many certificates the file holds.
    fn count(&self) -> usize {
        match &self.blocks {
            Some(blocks) => blocks.len(),
            None => self.full_certs().len(),
        }
    }

    fn full_certs(&self) -> &[CertificateDer<'static>] {
        self.full_certs
            .get_or_init(|| pem_certificates(&self.bytes))
    }

    /// A verifier over the certificates that can be the trust anchor of this chain: those whose
    /// subject is the issuer of one of its certificates. None when that cannot be told (a
    /// certificate of the chain not read, or a file not indexed) or none is a CA certificate.
    fn narrowed(&self, chain: &[&CertificateDer<'_>], provider: &Arc<CryptoProvider>) -> Narrowed {
        let blocks = self.blocks.as_ref()?;
        let issuers: Vec<&[u8]> = chain
            .iter()
            .map(|c| subject_index::issuer(c.as_ref()))
            .collect::<Option<_>>()?;
        let picked = subject_index::candidates(blocks, &issuers);
        let key: Vec<usize> = picked.iter().map(|b| b.range.start).collect();
        let mut cache = self.narrowed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, verifier)) = cache.iter().find(|(k, _)| *k == key) {
            return verifier.clone();
        }
        let certs: Vec<CertificateDer<'static>> = picked
            .iter()
            .flat_map(|b| pem_certificates(&self.bytes[b.range.clone()]))
            .collect();
        let verifier = if certs.is_empty() {
            None
        } else {
            verifier_for(&certs, provider).ok()
        };
        cache.push((key, verifier.clone()));
        verifier
    }

    /// A verifier over every certificate of the file (None if there are none).
    fn full_stage(&self, provider: &Arc<CryptoProvider>) -> Option<&Stage> {
        self.full
            .get_or_init(|| {
                let certs = self.full_certs();
                (!certs.is_empty()).then(|| verifier_for(certs, provider))
            })
            .as_ref()
    }
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
    /// The bundle file (None when there is none, or it could not be read).
    bundle: OnceLock<Option<BundleFile>>,
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

    fn bundle(&self) -> Option<&BundleFile> {
        self.bundle
            .get_or_init(|| {
                let started = Instant::now();
                let file = self.locations().0.as_ref()?;
                let (bundle, found) = read_bundle(file);
                let count = bundle.as_ref().map_or(0, BundleFile::count);
                self.report(std::slice::from_ref(file), count, &found, started);
                bundle
            })
            .as_ref()
    }

    fn everything(&self) -> &Stage {
        self.everything.get_or_init(|| {
            let started = Instant::now();
            let (file, dirs) = self.locations();
            let mut found = load_dirs(dirs, file.as_deref());
            self.report(dirs, found.certs.len(), &found, started);
            if let Some(bundle) = self.bundle() {
                found.certs.extend(bundle.full_certs().iter().cloned());
            }
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

    fn report(&self, paths: &[PathBuf], certificates: usize, found: &Found, started: Instant) {
        if !self.diagnostics.is_debug() || paths.is_empty() {
            return;
        }
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.diagnostics.debug(&format!(
            "trust store: {certificates} certificates from {} file(s) in {} ({:.1} ms)",
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
        // A chain a set of CA certificates verifies is verified by any superset of it: the
        // rest of the bundle is decoded only when the candidates say no, the directories read
        // only when the whole bundle says no. A no is always the answer of the largest set.
        if let Some(bundle) = self.bundle() {
            let mut chain = vec![end_entity];
            chain.extend(intermediates);
            if let Some(narrowed) = bundle.narrowed(&chain, &self.provider)
                && verify(&narrowed).is_ok()
            {
                return Ok(ServerCertVerified::assertion());
            }
            if let Some(Ok(full)) = bundle.full_stage(&self.provider) {
                let verdict = verify(full);
                if verdict.is_ok() || self.locations().1.is_empty() {
                    return verdict;
                }
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

#[cfg(test)]
#[path = "lazy_roots_tests.rs"]
mod tests;
