//! Sign-in: which credential to use (`--auth`, or the first that applies), getting tokens through
//! azure_identity, and the cross-invocation cache for process-spawning credentials. Tokens never
//! appear in output, logs or errors.

pub mod cache;
pub mod certificate;
pub mod claims;
pub mod process;
pub mod selection;

pub use selection::{AuthMethod, Environment, Source, choose, process_environment};

use crate::arm::cloud::Cloud;
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use cache::{DiskCache, Lookup};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN_ENV: &str = "AKS_TRUSTEDACCESS_ACCESS_TOKEN";
/// With `AKS_TRUSTEDACCESS_ACCESS_TOKEN`, the token for Log Analytics (`--workspace`): a token
/// has one audience, so an ARM token is never sent there.
pub const LOG_ANALYTICS_TOKEN_ENV: &str = "AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN";

/// A bearer token. `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What `Credential::new` needs besides the choice.
pub struct AuthSettings {
    pub cloud: Cloud,
    pub token_cache: Option<DiskCache>,
    pub http: reqwest::Client,
    /// The same without any proxy: for identity endpoints on loopback or link-local addresses.
    pub direct_http: reqwest::Client,
    pub diagnostics: Diagnostics,
    /// az's configuration directory and signed-in account, so a cached token follows `az login`.
    pub az_identity: String,
}

pub struct Credential {
    source: Source,
    provider: Provider,
    /// ARM's scope: what the static token is for.
    arm_scope: String,
    cache: Option<(DiskCache, String)>,
    diagnostics: Diagnostics,
}

enum Provider {
    /// ARM's token, and Log Analytics' when given.
    Static(Token, Option<Token>),
    Sdk(Arc<dyn TokenCredential>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// How long one token request may take: a hung `az` or an unreachable endpoint is an error in
/// seconds, never a hang.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

impl Credential {
    pub fn new(source: Source, env: &Environment, settings: AuthSettings) -> Result<Self> {
        let provider = provider(&source, env, &settings)?;
        let cache = cache_entry(&source, env, &settings);
        Ok(Credential {
            source,
            provider,
            arm_scope: settings.cloud.scope(),
            cache,
            diagnostics: settings.diagnostics,
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Whether asking again can give a different token (a 401 is then worth one retry).
    pub fn can_refresh(&self) -> bool {
        !matches!(self.provider, Provider::Static(..))
    }

    /// A token for `scope`: from the cache when it has a fresh one, else from the credential.
    /// `refresh` skips (and drops) the cached one, after a 401.
    pub async fn token(&self, scope: &str, refresh: bool) -> Result<Token> {
        let credential = match &self.provider {
            Provider::Static(arm, _) if scope == self.arm_scope => return Ok(arm.clone()),
            Provider::Static(_, Some(other)) => return Ok(other.clone()),
            Provider::Static(_, None) => {
                return Err(Error::Auth {
                    message: format!(
                        "{TOKEN_ENV} holds a token for ARM; {scope} needs its own token, in {LOG_ANALYTICS_TOKEN_ENV}"
                    ),
                    hint: Some(format!(
                        "export {LOG_ANALYTICS_TOKEN_ENV}=\"$(az account get-access-token --resource {} --query accessToken -o tsv)\"",
                        scope.trim_end_matches("/.default")
                    )),
                });
            }
            Provider::Sdk(credential) => credential,
        };
        let now = claims::unix_now();
        // Look up, fetch and store under the cache's lock: concurrent runs wait for the one
        // asking az, then find its token, and no run's entry overwrites another's.
        let _lock = match &self.cache {
            Some((cache, _)) => match cache.lock().await {
                Ok(lock) => Some(lock),
                Err(why) => {
                    self.diagnostics
                        .verbose(&format!("token cache not locked: {why}"));
                    None
                }
            },
            None => None,
        };
        let key = self
            .cache
            .as_ref()
            .map(|(_, base)| format!("{base}|{scope}"));
        if let (Some((cache, _)), Some(key)) = (&self.cache, &key) {
            if refresh {
                let _ = cache.remove(key);
            } else {
                match cache.get(key, now) {
                    Lookup::Hit { token, expires_on } => {
                        self.diagnostics.verbose(&format!(
                            "using a cached token from {} (expires in {} min)",
                            self.source.describe(),
                            expires_on.saturating_sub(now) / 60
                        ));
                        return Ok(Token(token));
                    }
                    Lookup::Ignored(why) => self
                        .diagnostics
                        .verbose(&format!("token cache ignored: {why}")),
                    Lookup::Miss => {}
                }
            }
        }
        self.diagnostics
            .verbose(&format!("getting a token from {}", self.source.describe()));
        let access = tokio::time::timeout(TOKEN_TIMEOUT, credential.get_token(&[scope], None))
            .await
            .map_err(|_| Error::Auth {
                message: format!(
                    "{} did not answer within {} s",
                    self.source.describe(),
                    TOKEN_TIMEOUT.as_secs()
                ),
                hint: Some(self.source.hint()),
            })?
            .map_err(|e| sign_in_error(&self.source, &e))?;
        let token = access.token.secret().to_string();
        if let (Some((cache, _)), Some(key)) = (&self.cache, &key)
            && let Err(why) = cache.put(key, &token, access.expires_on.unix_timestamp(), now)
        {
            self.diagnostics
                .verbose(&format!("token cache not written: {why}"));
        }
        Ok(Token(token))
    }
}

/// The azure_identity options every SDK credential gets: the HTTP client (one that bypasses
/// proxies when all the credential's endpoints are loopback or link-local, so its secret never
/// crosses a proxy in clear), a short retry policy, and the cloud's authority.
fn client_options(source: &Source, env: &Environment, settings: &AuthSettings) -> ClientOptions {
    let direct = credential_endpoints(source, env, settings.cloud)
        .iter()
        .all(|e| url::Url::parse(e).is_ok_and(|u| crate::arm::transport::never_proxied(&u)));
    let http = if direct {
        settings.direct_http.clone()
    } else {
        settings.http.clone()
    };
    let mut options = ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(200),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..ClientOptions::default()
    };
    // AZURE_AUTHORITY_HOST (a standard Azure SDK variable) wins over the cloud's authority.
    if env.get("AZURE_AUTHORITY_HOST").is_none() {
        options.cloud = Some(Arc::new(settings.cloud.configuration()));
    }
    options
}

/// The token source behind a chosen credential.
fn provider(source: &Source, env: &Environment, settings: &AuthSettings) -> Result<Provider> {
    let options = || client_options(source, env, settings);
    let failed = |e: azure_core::Error| sign_in_error(source, &e);
    let credential: Arc<dyn TokenCredential> = match source {
        Source::AccessToken => {
            return Ok(Provider::Static(
                Token(env.get(TOKEN_ENV).unwrap_or_default().trim().to_string()),
                env.get(LOG_ANALYTICS_TOKEN_ENV)
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .map(Token),
            ));
        }
        Source::ServicePrincipal { tenant, client_id } => {
            return service_principal(source, tenant, client_id, env, settings);
        }
        Source::WorkloadIdentity => azure_identity::WorkloadIdentityCredential::new(Some(
            azure_identity::WorkloadIdentityCredentialOptions {
                credential_options: azure_identity::ClientAssertionCredentialOptions {
                    client_options: options(),
                },
                ..Default::default()
            },
        ))
        .map_err(failed)?,
        Source::Pipelines => azure_identity::AzurePipelinesCredential::new(
            env.get("AZURESUBSCRIPTION_TENANT_ID").unwrap_or_default(),
            env.get("AZURESUBSCRIPTION_CLIENT_ID").unwrap_or_default(),
            &env.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
                .unwrap_or_default(),
            env.get("SYSTEM_ACCESSTOKEN").unwrap_or_default(),
            Some(azure_identity::AzurePipelinesCredentialOptions {
                credential_options: azure_identity::ClientAssertionCredentialOptions {
                    client_options: options(),
                },
            }),
        )
        .map_err(failed)?,
        Source::ManagedIdentity { client_id } => azure_identity::ManagedIdentityCredential::new(
            Some(azure_identity::ManagedIdentityCredentialOptions {
                user_assigned_id: client_id
                    .clone()
                    .map(azure_identity::UserAssignedId::ClientId),
                client_options: options(),
            }),
        )
        .map_err(failed)?,
        Source::AzureCli => azure_identity::AzureCliCredential::new(Some(
            azure_identity::AzureCliCredentialOptions {
                executor: Some(Arc::new(process::GroupExecutor)),
                ..Default::default()
            },
        ))
        .map_err(failed)?,
        Source::AzureDeveloperCli => azure_identity::AzureDeveloperCliCredential::new(Some(
            azure_identity::AzureDeveloperCliCredentialOptions {
                executor: Some(Arc::new(process::GroupExecutor)),
                ..Default::default()
            },
        ))
        .map_err(failed)?,
    };
    Ok(Provider::Sdk(credential))
}

/// A service principal signs in with its secret, or with a certificate: the tool signs the
/// client assertion itself (certificate.rs), as the SDK's certificate credential needs OpenSSL.
fn service_principal(
    source: &Source,
    tenant: &str,
    client_id: &str,
    env: &Environment,
    settings: &AuthSettings,
) -> Result<Provider> {
    let failed = |e: azure_core::Error| sign_in_error(source, &e);
    let client_options = client_options(source, env, settings);
    if let Some(secret) = env.get("AZURE_CLIENT_SECRET") {
        return Ok(Provider::Sdk(
            azure_identity::ClientSecretCredential::new(
                tenant,
                client_id.to_string(),
                secret.into(),
                Some(azure_identity::ClientSecretCredentialOptions { client_options }),
            )
            .map_err(failed)?,
        ));
    }
    if env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD").is_some() {
        return Err(Error::Auth {
            message: "password-protected certificates (AZURE_CLIENT_CERTIFICATE_PASSWORD) are not supported".into(),
            hint: Some("use a PEM file with an unencrypted key (openssl pkcs12 -in cert.pfx -out cert.pem -nodes), kept private".into()),
        });
    }
    let path = PathBuf::from(env.get("AZURE_CLIENT_CERTIFICATE_PATH").unwrap_or_default());
    let authority = env
        .get("AZURE_AUTHORITY_HOST")
        .unwrap_or_else(|| settings.cloud.authority().to_string());
    let audience = format!(
        "{}/{tenant}/oauth2/v2.0/token",
        authority.trim_end_matches('/')
    );
    let assertion = certificate::CertificateAssertion::from_pem_file(&path, client_id, audience)?;
    Ok(Provider::Sdk(
        azure_identity::ClientAssertionCredential::new(
            tenant.to_string(),
            client_id.to_string(),
            assertion,
            Some(azure_identity::ClientAssertionCredentialOptions { client_options }),
        )
        .map_err(failed)?,
    ))
}

/// Where az's and azd's tokens are cached, and under which key: the credential, the tenant and
/// az's account (the scope asked for is appended per token). Other credentials are fast and not
/// cached.
fn cache_entry(
    source: &Source,
    env: &Environment,
    settings: &AuthSettings,
) -> Option<(DiskCache, String)> {
    let cache = settings.token_cache.as_ref()?;
    if !source.spawns_a_process() {
        return None;
    }
    let kind = if *source == Source::AzureCli {
        "az"
    } else {
        "azd"
    };
    let tenant = env
        .get("AZURE_TENANT_ID")
        .unwrap_or_else(|| "default".into());
    let key = format!("{kind}|{tenant}|{}", settings.az_identity);
    Some((cache.clone(), key))
}

/// The URLs a credential sends its secret to (for the proxy decision); empty for the ones that
/// spawn a process or hold a static token.
fn credential_endpoints(source: &Source, env: &Environment, cloud: Cloud) -> Vec<String> {
    let authority = || {
        env.get("AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| cloud.authority().to_string())
    };
    match source {
        Source::ManagedIdentity { .. } => vec![
            env.get("IDENTITY_ENDPOINT")
                .or_else(|| env.get("MSI_ENDPOINT"))
                .unwrap_or_else(|| "http://169.254.169.254/metadata/identity/oauth2/token".into()),
        ],
        Source::ServicePrincipal { .. } | Source::WorkloadIdentity => vec![authority()],
        Source::Pipelines => vec![
            authority(),
            env.get("SYSTEM_OIDCREQUESTURI").unwrap_or_default(),
        ],
        Source::AccessToken | Source::AzureCli | Source::AzureDeveloperCli => {
            vec!["https://unused.invalid".into()]
        }
    }
}

/// azure_identity's messages name the failing step (az not logged in, a rejected secret) and
/// carry no token; keep their first lines, drop the troubleshooting boilerplate.
fn sign_in_error(source: &Source, e: &azure_core::Error) -> Error {
    let text = e.to_string();
    let detail: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("To troubleshoot"))
        .take(3)
        .collect();
    Error::Auth {
        message: format!(
            "could not sign in with {}: {}",
            source.describe(),
            detail.join(" ")
        ),
        hint: Some(source.hint()),
    }
}
