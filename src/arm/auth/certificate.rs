//! Service principal sign-in with a certificate (`AZURE_CLIENT_CERTIFICATE_PATH`): a PEM file
//! holding the certificate and its RSA private key. The client assertion (a JWT signed RS256,
//! with the certificate's SHA-1 thumbprint as `x5t`, as MSAL sends it) is signed here with
//! aws-lc-rs, already in the build for TLS, and handed to azure_identity's
//! `ClientAssertionCredential`; the SDK's own certificate credential would pull in OpenSSL.

use crate::error::{Error, Result};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use azure_core::http::ClientMethodOptions;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use std::fmt;
use std::path::Path;

pub struct CertificateAssertion {
    client_id: String,
    /// The token endpoint: the assertion's audience.
    audience: String,
    key: RsaKeyPair,
    thumbprint: String,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    pub fn from_pem_file(path: &Path, client_id: &str, audience: String) -> Result<Self> {
        let refuse = |why: String| {
            Error::Auth {
            message: format!("cannot use the certificate {}: {why}", path.display()),
            hint: Some(
                "AZURE_CLIENT_CERTIFICATE_PATH must be a PEM file with the certificate and its unencrypted RSA private key \
                 (from a PFX: openssl pkcs12 -in cert.pfx -out cert.pem -nodes)"
                    .into(),
            ),
        }
        };
        // A certificate and its key are a few kilobytes; a FIFO or a device is refused at once.
        let bytes = crate::arm::files::read_bounded(path, 1024 * 1024)
            .map_err(|e| refuse(e.to_string()))?;
        if !bytes.starts_with(b"-----") && !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            return Err(refuse(
                "it is not PEM (a PFX/PKCS#12 file is not supported)".into(),
            ));
        }
        let certificate = CertificateDer::pem_slice_iter(&bytes)
            .next()
            .ok_or_else(|| refuse("it holds no CERTIFICATE".into()))?
            .map_err(|e| refuse(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(&bytes)
            .map_err(|_| refuse("it holds no unencrypted private key".into()))?;
        let key = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => {
                return Err(refuse(
                    "the private key is not an RSA key (Microsoft Entra needs RSA)".into(),
                ));
            }
        }
        .map_err(|e| {
            refuse(format!(
                "the private key is not an RSA key Microsoft Entra accepts ({e})"
            ))
        })?;
        let sha1 = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            certificate.as_ref(),
        );
        Ok(CertificateAssertion {
            client_id: client_id.to_string(),
            audience,
            key,
            thumbprint: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1.as_ref()),
        })
    }

    /// A fresh assertion, valid for 10 minutes.
    pub fn sign(&self, now: i64) -> std::result::Result<String, String> {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint});
        let claims = json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }
}

#[async_trait::async_trait]
impl azure_identity::ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.sign(crate::arm::auth::claims::unix_now())
            .map_err(|e| {
                azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, e)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_cannot_work_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let pfx = dir.path().join("cert.pfx");
        std::fs::write(&pfx, [0x30, 0x82, 0x01, 0x02]).unwrap();
        let Err(Error::Auth { message, hint }) =
            CertificateAssertion::from_pem_file(&pfx, "c", "a".into())
        else {
            panic!("a PFX must be refused");
        };
        assert!(
            message.contains("PFX/PKCS#12 file is not supported"),
            "{message}"
        );
        assert!(hint.unwrap().contains("openssl pkcs12"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "-----BEGIN NOTHING-----\n-----END NOTHING-----\n").unwrap();
        assert!(CertificateAssertion::from_pem_file(&empty, "c", "a".into()).is_err());
    }
}
