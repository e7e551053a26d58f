//! Where the CA certificates that verify servers come from (the system, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`), and the bounds on reading them; `lazy_roots` loads them when needed.

use std::path::{Path, PathBuf};

/// The largest certificate file read (a system bundle is about 0.2 MiB), so `SSL_CERT_FILE=/dev/zero`
/// or a runaway file cannot make the tool read gigabytes.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// Where CA certificates come from. `SSL_CERT_FILE` and `SSL_CERT_DIR` (a `:`-separated list), if
/// either is set, replace the system's locations, as rustls-native-certs and OpenSSL read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    Env {
        file: Option<PathBuf>,
        dirs: Vec<PathBuf>,
    },
    /// The platform's bundle file and directories, as openssl-probe finds them.
    System,
}

impl Sources {
    /// From the environment; an empty variable counts as unset.
    pub fn from_env() -> Sources {
        let file = std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let dirs: Vec<PathBuf> = std::env::var_os("SSL_CERT_DIR")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if file.is_none() && dirs.is_empty() {
            Sources::System
        } else {
            Sources::Env { file, dirs }
        }
    }
}

/// Checks `SSL_CERT_FILE` without opening it: an existing regular file of a sane size. Reading
/// it waits for the first handshake; a wrong path is reported before anything else happens.
pub fn check_cert_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes, more than the {} MiB a CA bundle can need",
            meta.len(),
            MAX_FILE_BYTES >> 20
        ));
    }
    Ok(())
}
