//! The one HTTP client, shared by ARM requests and the sign-in credentials: user agent, timeouts,
//! no redirects, and extra trusted roots from `SSL_CERT_FILE` (corporate proxies, test CAs).

use crate::error::{Error, Result};
use std::time::Duration;

pub const USER_AGENT: &str = concat!("aks-trustedaccess/", env!("CARGO_PKG_VERSION"));

pub fn http_client(request_timeout: Duration) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10).min(request_timeout))
        .timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&path).map_err(|e| Error::Config {
            message: format!("cannot read SSL_CERT_FILE {}: {e}", path.to_string_lossy()),
            hint: Some(
                "point SSL_CERT_FILE at a PEM bundle of CA certificates, or unset it".into(),
            ),
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Config {
            message: format!(
                "SSL_CERT_FILE {} is not a PEM bundle: {e}",
                path.to_string_lossy()
            ),
            hint: None,
        })?;
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| Error::Io(format!("cannot start the HTTP client: {e}")))
}
