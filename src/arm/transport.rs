//! Where requests go and how: the ARM endpoint (https, or http on loopback only), and the one
//! HTTP client shared by ARM requests and the sign-in credentials (user agent, timeouts, no
//! redirects, HTTP/2 when offered, and the trust store: the system's, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`, read only when a TLS handshake needs it).

#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
mod lazy_roots;
#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
mod subject_index;
mod trust_store;

use crate::arm::cloud::Cloud;
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use std::time::Duration;
use url::Url;

pub const USER_AGENT: &str = concat!("aks-trustedaccess/", env!("CARGO_PKG_VERSION"));

/// The HTTP client for `endpoint`. Proxies come from HTTPS_PROXY/NO_PROXY (and the OS settings);
/// a loopback endpoint (the emulator) is always reached directly. No certificate is read here:
/// the trust store loads at the first TLS handshake (see `trust_store`).
pub fn http_client(
    endpoint: &Url,
    request_timeout: Duration,
    diagnostics: Diagnostics,
) -> Result<reqwest::Client> {
    build_client(never_proxied(endpoint), request_timeout, diagnostics)
}

/// A client that never uses a proxy, for loopback and link-local identity endpoints (App
/// Service's IDENTITY_ENDPOINT, IMDS): their secrets must not travel through a proxy in clear.
pub fn direct_http_client(
    request_timeout: Duration,
    diagnostics: Diagnostics,
) -> Result<reqwest::Client> {
    build_client(true, request_timeout, diagnostics)
}

fn build_client(
    direct: bool,
    request_timeout: Duration,
    diagnostics: Diagnostics,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10).min(request_timeout))
        .timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        // HTTP/1.1 headers are bounded by hyper (about 400 KB); bound HTTP/2's too.
        .http2_max_header_list_size(64 * 1024);
    if direct {
        builder = builder.no_proxy();
    }
    let sources = trust_store::Sources::from_env();
    if let trust_store::Sources::Env {
        file: Some(path), ..
    } = &sources
    {
        trust_store::check_cert_file(path).map_err(|why| bad_cert_file(path, &why))?;
    }
    builder = with_trust_store(builder, sources, diagnostics)?;
    builder
        .build()
        .map_err(|e| Error::Io(format!("cannot start the HTTP client: {e}")))
}

fn bad_cert_file(path: &std::path::Path, why: &str) -> Error {
    Error::Config {
        message: format!("cannot use SSL_CERT_FILE {}: {why}", path.display()),
        hint: Some("point SSL_CERT_FILE at a PEM bundle of CA certificates, or unset it".into()),
    }
}

/// Linux and the BSDs: webpki over the trust store files, loaded lazily (rustls-platform-verifier,
/// reqwest's default, reads every file of the store when the client is built).
#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
fn with_trust_store(
    builder: reqwest::ClientBuilder,
    sources: trust_store::Sources,
    diagnostics: Diagnostics,
) -> Result<reqwest::ClientBuilder> {
    use std::sync::Arc;
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = lazy_roots::LazyTrustStore::new(sources, provider.clone(), diagnostics);
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Io(format!("cannot set up TLS: {e}")))?
        .dangerous() // not dangerous: a webpki verifier, only loaded later
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // HTTP/2 when the server offers it (ARM does): one connection carries parallel requests.
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(builder.tls_backend_preconfigured(tls))
}

/// macOS, Windows: the OS verifies (rustls-platform-verifier asks it per handshake, nothing is
/// read up front); SSL_CERT_FILE adds roots to it.
#[cfg(not(all(unix, not(target_vendor = "apple"), not(target_os = "android"))))]
fn with_trust_store(
    builder: reqwest::ClientBuilder,
    sources: trust_store::Sources,
    _diagnostics: Diagnostics,
) -> Result<reqwest::ClientBuilder> {
    let trust_store::Sources::Env {
        file: Some(path), ..
    } = sources
    else {
        return Ok(builder);
    };
    let pem = std::fs::read(&path).map_err(|e| bad_cert_file(&path, &e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad_cert_file(&path, &format!("not a PEM bundle: {e}")))?;
    Ok(builder.tls_certs_merge(certs))
}

use crate::arm::cloud::ENDPOINT_ENV;

/// The ARM endpoint: `AKS_TRUSTEDACCESS_ARM_ENDPOINT` or the cloud's. Plain http is refused
/// unless the host is loopback, so a token never crosses a network in clear text.
pub fn endpoint_from_env(cloud: Cloud) -> Result<Url> {
    let raw = std::env::var(ENDPOINT_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| cloud.arm_endpoint().to_string());
    parse_endpoint(raw.trim())
}

pub fn parse_endpoint(raw: &str) -> Result<Url> {
    parse_endpoint_of(ENDPOINT_ENV, raw)
}

/// Log Analytics' query endpoint (`--workspace`): `AKS_TRUSTEDACCESS_LOGANALYTICS_ENDPOINT`;
/// else, while `AKS_TRUSTEDACCESS_ARM_ENDPOINT` points elsewhere (the emulator, a test), that
/// same endpoint, so a token never goes to the real service from a test; else the cloud's
/// (`None` when a registered cloud names none). The same rule: https, or http on loopback.
pub fn log_analytics_from_env(cloud: Cloud, arm: &Url) -> Result<Option<Url>> {
    let set = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(raw) = set(crate::arm::cloud::LOG_ANALYTICS_ENDPOINT_ENV) {
        return parse_endpoint_of(crate::arm::cloud::LOG_ANALYTICS_ENDPOINT_ENV, &raw).map(Some);
    }
    if set(ENDPOINT_ENV).is_some() {
        return Ok(Some(arm.clone()));
    }
    cloud
        .log_analytics()
        .map(|raw| parse_endpoint_of("the cloud's Log Analytics endpoint", raw))
        .transpose()
}

fn parse_endpoint_of(name: &str, raw: &str) -> Result<Url> {
    let invalid = |why: &str| {
        Error::usage_with_hint(
            format!("invalid {name} '{raw}': {why}"),
            "use https://<host>, or http://127.0.0.1:<port> for the local emulator",
        )
    };
    let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(invalid("plain http is only allowed for loopback hosts")),
        _ => return Err(invalid("the scheme must be https")),
    }
    if url.host().is_none() {
        return Err(invalid("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid("it must not carry a query, fragment or user"));
    }
    Ok(url)
}

/// Hosts never reached through a proxy: loopback, and link-local (IMDS at 169.254.169.254).
pub fn never_proxied(url: &Url) -> bool {
    is_loopback(url)
        || match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
            Some(url::Host::Ipv6(ip)) => ip.is_unicast_link_local(),
            _ => false,
        }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_link_local_hosts_are_never_proxied() {
        for direct in [
            "http://127.0.0.1:4000/msi/token",
            "http://localhost:42356/msi/token",
            "http://169.254.169.254/metadata/identity/oauth2/token",
            "http://[fe80::1]/x",
            "http://[::1]:8080",
        ] {
            assert!(never_proxied(&Url::parse(direct).unwrap()), "{direct}");
        }
        for proxied in ["https://login.microsoftonline.com", "http://10.0.0.1"] {
            assert!(!never_proxied(&Url::parse(proxied).unwrap()), "{proxied}");
        }
    }

    /// `.cargo/config.toml` builds AWS-LC without CPU-jitter entropy (otherwise 20–50 ms of CPU
    /// on the first handshake of every run); a build that lost the setting fails here.
    #[test]
    fn aws_lc_is_built_without_cpu_jitter_entropy() {
        assert!(
            aws_lc_rs::try_fips_cpu_jitter_entropy().is_err(),
            "AWS-LC uses CPU-jitter entropy: AWS_LC_SYS_NO_JITTER_ENTROPY=1 did not reach the \
             aws-lc-sys build (.cargo/config.toml)"
        );
    }

    #[test]
    fn http_is_only_allowed_on_loopback() {
        assert!(parse_endpoint("https://management.azure.com").is_ok());
        assert!(parse_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(parse_endpoint("http://localhost:8080").is_ok());
        assert!(parse_endpoint("http://[::1]:8080").is_ok());
        assert!(parse_endpoint("http://10.0.0.1:8080").is_err());
        assert!(parse_endpoint("http://example.com").is_err());
        assert!(parse_endpoint("ftp://127.0.0.1").is_err());
        assert!(parse_endpoint("not a url").is_err());
        let bad = parse_endpoint_of("AKS_TRUSTEDACCESS_LOGANALYTICS_ENDPOINT", "http://10.0.0.1")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("AKS_TRUSTEDACCESS_LOGANALYTICS_ENDPOINT"),
            "{bad}"
        );
    }
}
