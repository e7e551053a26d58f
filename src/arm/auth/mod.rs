//! Sign-in: which credential to use (`--auth`, or the first that applies), getting tokens through
//! azure_identity, and the cross-invocation cache for process-spawning credentials. Tokens never
//! appear in output, logs or errors.

pub mod cache;
pub mod claims;

use crate::arm::cloud::Cloud;
use crate::error::{Error, Result};
use crate::output::diagnostics::Diagnostics;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use cache::{DiskCache, Lookup};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN_ENV: &str = "AKS_TRUSTEDACCESS_ACCESS_TOKEN";

/// `--auth`: how to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMethod {
    /// The first that applies, in the order of the other values.
    #[default]
    Auto,
    /// AKS_TRUSTEDACCESS_ACCESS_TOKEN.
    Token,
    /// A service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
    ServicePrincipal,
    /// Workload identity federation: AZURE_FEDERATED_TOKEN_FILE (AKS, GitHub Actions).
    WorkloadIdentity,
    /// An Azure Pipelines service connection (SYSTEM_OIDCREQUESTURI and AZURESUBSCRIPTION_*).
    Pipelines,
    /// A managed identity: IDENTITY_ENDPOINT, or IMDS (only when asked for).
    ManagedIdentity,
    /// The Azure CLI's login (az).
    Cli,
    /// The Azure Developer CLI's login (azd).
    Azd,
}

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

/// The environment as the selection sees it (injectable for tests).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub on_path: &'a dyn Fn(&str) -> bool,
}

impl Environment<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }
}

pub fn process_environment() -> Environment<'static> {
    Environment {
        var: &|name| std::env::var(name).ok(),
        on_path: &|program| which::which(program).is_ok(),
    }
}

/// The credential chosen, for messages and cache keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    AccessToken,
    ServicePrincipal { tenant: String, client_id: String },
    WorkloadIdentity,
    Pipelines,
    ManagedIdentity { client_id: Option<String> },
    AzureCli,
    AzureDeveloperCli,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::AccessToken => format!("the access token in {TOKEN_ENV}"),
            Source::ServicePrincipal { client_id, .. } => format!("service principal {client_id}"),
            Source::WorkloadIdentity => "workload identity (AZURE_FEDERATED_TOKEN_FILE)".into(),
            Source::Pipelines => "the Azure Pipelines service connection".into(),
            Source::ManagedIdentity {
                client_id: Some(id),
            } => format!("managed identity {id}"),
            Source::ManagedIdentity { client_id: None } => "the managed identity".into(),
            Source::AzureCli => "the Azure CLI (az)".into(),
            Source::AzureDeveloperCli => "the Azure Developer CLI (azd)".into(),
        }
    }

    fn hint(&self) -> String {
        match self {
            Source::AccessToken => format!("set {TOKEN_ENV} to a valid ARM access token"),
            Source::ServicePrincipal { .. } => {
                "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (az ad sp credential reset renews a secret)".into()
            }
            Source::WorkloadIdentity => {
                "check AZURE_TENANT_ID, AZURE_CLIENT_ID and that the federated credential trusts this token's issuer and subject".into()
            }
            Source::Pipelines => "check the service connection's workload identity federation settings".into(),
            Source::ManagedIdentity { .. } => {
                "check that this machine has a managed identity (and AZURE_CLIENT_ID for a user-assigned one)".into()
            }
            Source::AzureCli => "run 'az login' (or 'az login --tenant <id>')".into(),
            Source::AzureDeveloperCli => "run 'azd auth login'".into(),
        }
    }

    /// Process-spawning credentials are slow; their tokens are cached across invocations.
    fn spawns_a_process(&self) -> bool {
        matches!(self, Source::AzureCli | Source::AzureDeveloperCli)
    }
}

/// Why a credential did or did not apply, for the "nothing applies" error.
struct Candidate {
    name: &'static str,
    outcome: std::result::Result<Source, String>,
}

/// Each credential in `auto` order, with whether it applies here.
fn candidates(env: &Environment, method: AuthMethod) -> Vec<Candidate> {
    let tenant = env.get("AZURE_TENANT_ID");
    let client = env.get("AZURE_CLIENT_ID");
    let all = [
        Candidate {
            name: "access token",
            outcome: match env.get(TOKEN_ENV) {
                Some(_) => Ok(Source::AccessToken),
                None => Err(format!("{TOKEN_ENV} is not set")),
            },
        },
        Candidate {
            name: "service principal",
            outcome: match (&tenant, &client, env.get("AZURE_CLIENT_SECRET"), env.get("AZURE_CLIENT_CERTIFICATE_PATH")) {
                (Some(t), Some(c), Some(_), _) | (Some(t), Some(c), None, Some(_)) => Ok(Source::ServicePrincipal {
                    tenant: t.clone(),
                    client_id: c.clone(),
                }),
                _ => Err("needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)".into()),
            },
        },
        Candidate {
            name: "workload identity",
            outcome: match (env.get("AZURE_FEDERATED_TOKEN_FILE"), &tenant, &client) {
                (Some(_), Some(_), Some(_)) => Ok(Source::WorkloadIdentity),
                (Some(_), _, _) => Err("AZURE_FEDERATED_TOKEN_FILE is set but AZURE_TENANT_ID or AZURE_CLIENT_ID is not".into()),
                (None, _, _) => Err("AZURE_FEDERATED_TOKEN_FILE is not set".into()),
            },
        },
        Candidate {
            name: "Azure Pipelines",
            outcome: match env.get("SYSTEM_OIDCREQUESTURI") {
                Some(_) => {
                    let missing: Vec<&str> = [
                        "AZURESUBSCRIPTION_TENANT_ID",
                        "AZURESUBSCRIPTION_CLIENT_ID",
                        "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
                        "SYSTEM_ACCESSTOKEN",
                    ]
                    .into_iter()
                    .filter(|v| env.get(v).is_none())
                    .collect();
                    if missing.is_empty() {
                        Ok(Source::Pipelines)
                    } else {
                        Err(format!("SYSTEM_OIDCREQUESTURI is set but {} is not", missing.join(", ")))
                    }
                }
                None => Err("SYSTEM_OIDCREQUESTURI is not set".into()),
            },
        },
        Candidate {
            name: "managed identity",
            outcome: if env.get("IDENTITY_ENDPOINT").is_some() || method == AuthMethod::ManagedIdentity {
                Ok(Source::ManagedIdentity { client_id: client.clone() })
            } else {
                Err("IDENTITY_ENDPOINT is not set (IMDS is tried only with --auth managed-identity)".into())
            },
        },
        Candidate {
            name: "Azure CLI",
            outcome: if (env.on_path)("az") {
                Ok(Source::AzureCli)
            } else {
                Err("'az' is not on PATH".into())
            },
        },
        Candidate {
            name: "Azure Developer CLI",
            outcome: if (env.on_path)("azd") {
                Ok(Source::AzureDeveloperCli)
            } else {
                Err("'azd' is not on PATH".into())
            },
        },
    ];
    let wanted: Option<&str> = match method {
        AuthMethod::Auto => None,
        AuthMethod::Token => Some("access token"),
        AuthMethod::ServicePrincipal => Some("service principal"),
        AuthMethod::WorkloadIdentity => Some("workload identity"),
        AuthMethod::Pipelines => Some("Azure Pipelines"),
        AuthMethod::ManagedIdentity => Some("managed identity"),
        AuthMethod::Cli => Some("Azure CLI"),
        AuthMethod::Azd => Some("Azure Developer CLI"),
    };
    all.into_iter()
        .filter(|c| wanted.is_none_or(|w| w == c.name))
        .collect()
}

/// Picks the credential: the one `--auth` names, or the first that applies. Fetches nothing.
pub fn choose(env: &Environment, method: AuthMethod) -> Result<Source> {
    let candidates = candidates(env, method);
    if let Some(source) = candidates.iter().find_map(|c| c.outcome.clone().ok()) {
        return Ok(source);
    }
    let tried: Vec<String> = candidates
        .iter()
        .map(|c| {
            format!(
                "  - {}: {}",
                c.name,
                c.outcome.as_ref().err().map_or("", String::as_str)
            )
        })
        .collect();
    Err(Error::Auth {
        message: format!("no way to sign in was found. Tried:\n{}", tried.join("\n")),
        hint: Some(format!(
            "run 'az login', or set {TOKEN_ENV}, or the service principal variables \
             (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET); --auth picks one explicitly"
        )),
    })
}

/// What `Credential::new` needs besides the choice.
pub struct AuthSettings {
    pub cloud: Cloud,
    pub token_cache: Option<DiskCache>,
    pub http: reqwest::Client,
    pub diagnostics: Diagnostics,
    /// az's configuration directory and signed-in account, so a cached token follows `az login`.
    pub az_identity: String,
}

pub struct Credential {
    source: Source,
    provider: Provider,
    cache: Option<(DiskCache, String)>,
    diagnostics: Diagnostics,
}

enum Provider {
    Static(Token),
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
        let options = || {
            let mut options = ClientOptions {
                transport: Some(Transport::new(Arc::new(settings.http.clone()))),
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
        };
        let failed = |e: azure_core::Error| sign_in_error(&source, &e);
        let provider = match &source {
            Source::AccessToken => Provider::Static(Token(
                env.get(TOKEN_ENV).unwrap_or_default().trim().to_string(),
            )),
            Source::ServicePrincipal { tenant, client_id } => {
                match env.get("AZURE_CLIENT_SECRET") {
                    Some(secret) => Provider::Sdk(
                        azure_identity::ClientSecretCredential::new(
                            tenant,
                            client_id.clone(),
                            secret.into(),
                            Some(azure_identity::ClientSecretCredentialOptions {
                                client_options: options(),
                            }),
                        )
                        .map_err(failed)?,
                    ),
                    None => {
                        return Err(Error::Auth {
                        message: "AZURE_CLIENT_CERTIFICATE_PATH is set, but certificate sign-in is not supported by this build".into(),
                        hint: Some(
                            "use a client secret (AZURE_CLIENT_SECRET), workload identity federation, or hand a token in AKS_TRUSTEDACCESS_ACCESS_TOKEN".into(),
                        ),
                    });
                    }
                }
            }
            Source::WorkloadIdentity => Provider::Sdk(
                azure_identity::WorkloadIdentityCredential::new(Some(
                    azure_identity::WorkloadIdentityCredentialOptions {
                        credential_options: azure_identity::ClientAssertionCredentialOptions {
                            client_options: options(),
                        },
                        ..Default::default()
                    },
                ))
                .map_err(failed)?,
            ),
            Source::Pipelines => Provider::Sdk(
                azure_identity::AzurePipelinesCredential::new(
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
            ),
            Source::ManagedIdentity { client_id } => Provider::Sdk(
                azure_identity::ManagedIdentityCredential::new(Some(
                    azure_identity::ManagedIdentityCredentialOptions {
                        user_assigned_id: client_id
                            .clone()
                            .map(azure_identity::UserAssignedId::ClientId),
                        client_options: options(),
                    },
                ))
                .map_err(failed)?,
            ),
            Source::AzureCli => {
                Provider::Sdk(azure_identity::AzureCliCredential::new(None).map_err(failed)?)
            }
            Source::AzureDeveloperCli => Provider::Sdk(
                azure_identity::AzureDeveloperCliCredential::new(None).map_err(failed)?,
            ),
        };
        let cache = match (&settings.token_cache, source.spawns_a_process()) {
            (Some(cache), true) => {
                let kind = if source == Source::AzureCli {
                    "az"
                } else {
                    "azd"
                };
                let tenant = env
                    .get("AZURE_TENANT_ID")
                    .unwrap_or_else(|| "default".into());
                let key = format!(
                    "{kind}|{tenant}|{}|{}",
                    settings.az_identity,
                    settings.cloud.scope()
                );
                Some((cache.clone(), key))
            }
            _ => None,
        };
        Ok(Credential {
            source,
            provider,
            cache,
            diagnostics: settings.diagnostics,
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Whether asking again can give a different token (a 401 is then worth one retry).
    pub fn can_refresh(&self) -> bool {
        !matches!(self.provider, Provider::Static(_))
    }

    /// A token for `scope`: from the cache when it has a fresh one, else from the credential.
    /// `refresh` skips (and drops) the cached one, after a 401.
    pub async fn token(&self, scope: &str, refresh: bool) -> Result<Token> {
        let credential = match &self.provider {
            Provider::Static(token) => return Ok(token.clone()),
            Provider::Sdk(credential) => credential,
        };
        let now = unix_now();
        if let Some((cache, key)) = &self.cache {
            if refresh {
                let _ = cache.remove(key);
            } else {
                match cache.get(key, now) {
                    Lookup::Hit { token, expires_on } => {
                        self.diagnostics.verbose(&format!(
                            "using a cached token from {} (expires in {} min)",
                            self.source.describe(),
                            (expires_on - now) / 60
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
        if let Some((cache, key)) = &self.cache
            && let Err(why) = cache.put(key, &token, access.expires_on.unix_timestamp(), now)
        {
            self.diagnostics
                .verbose(&format!("token cache not written: {why}"));
        }
        Ok(Token(token))
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
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

/// The az account the cache key follows: the config directory and the default subscription's
/// user and tenant from `azureProfile.json`, so `az login` as someone else misses the cache.
pub fn az_identity(config_dir: Option<PathBuf>, config: &crate::azconfig::AzConfig) -> String {
    let account = config
        .default_subscription()
        .map(|s| {
            format!(
                "{}@{}",
                s.user.map(|u| u.name).unwrap_or_default(),
                s.tenant_id.unwrap_or_default()
            )
        })
        .unwrap_or_default();
    format!(
        "{}|{account}",
        config_dir
            .map(|d| d.display().to_string())
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn choose_with(vars: &[(&str, &str)], programs: &[&str], method: AuthMethod) -> Result<Source> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let programs: Vec<String> = programs.iter().map(|p| p.to_string()).collect();
        let var = move |name: &str| vars.get(name).cloned();
        let on_path = move |p: &str| programs.iter().any(|q| q == p);
        choose(
            &Environment {
                var: &var,
                on_path: &on_path,
            },
            method,
        )
    }

    #[test]
    fn auto_takes_the_first_that_applies_in_order() {
        let sp = [
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
        ];
        assert_eq!(
            choose_with(
                &[(TOKEN_ENV, "x"), sp[0], sp[1], sp[2]],
                &["az"],
                AuthMethod::Auto
            )
            .unwrap(),
            Source::AccessToken
        );
        assert_eq!(
            choose_with(&sp, &["az"], AuthMethod::Auto).unwrap(),
            Source::ServicePrincipal {
                tenant: "t".into(),
                client_id: "c".into()
            }
        );
        assert_eq!(
            choose_with(
                &[sp[0], sp[1], ("AZURE_FEDERATED_TOKEN_FILE", "/f")],
                &["az"],
                AuthMethod::Auto
            )
            .unwrap(),
            Source::WorkloadIdentity
        );
        assert_eq!(
            choose_with(
                &[("IDENTITY_ENDPOINT", "http://x")],
                &["az"],
                AuthMethod::Auto
            )
            .unwrap(),
            Source::ManagedIdentity { client_id: None }
        );
        assert_eq!(
            choose_with(&[], &["az", "azd"], AuthMethod::Auto).unwrap(),
            Source::AzureCli
        );
        assert_eq!(
            choose_with(&[], &["azd"], AuthMethod::Auto).unwrap(),
            Source::AzureDeveloperCli
        );
    }

    #[test]
    fn imds_is_only_used_when_asked_for() {
        assert!(choose_with(&[], &[], AuthMethod::Auto).is_err());
        assert_eq!(
            choose_with(
                &[("AZURE_CLIENT_ID", "uami")],
                &[],
                AuthMethod::ManagedIdentity
            )
            .unwrap(),
            Source::ManagedIdentity {
                client_id: Some("uami".into())
            }
        );
    }

    #[test]
    fn nothing_applies_lists_every_reason() {
        let Err(Error::Auth { message, hint }) = choose_with(
            &[("AZURE_FEDERATED_TOKEN_FILE", "/f")],
            &[],
            AuthMethod::Auto,
        ) else {
            panic!("must fail");
        };
        for expected in [
            "access token:",
            "service principal:",
            "AZURE_TENANT_ID or AZURE_CLIENT_ID is not",
            "SYSTEM_OIDCREQUESTURI is not set",
            "IMDS is tried only",
            "'az' is not on PATH",
            "'azd' is not on PATH",
        ] {
            assert!(message.contains(expected), "{expected}: {message}");
        }
        assert!(hint.unwrap().contains("az login"));
    }

    #[test]
    fn an_explicit_method_is_checked_alone() {
        let Err(Error::Auth { message, .. }) =
            choose_with(&[(TOKEN_ENV, "x")], &["az"], AuthMethod::ServicePrincipal)
        else {
            panic!("must fail");
        };
        assert!(
            message.contains("service principal:") && !message.contains("Azure CLI"),
            "{message}"
        );
        assert_eq!(
            choose_with(&[(TOKEN_ENV, "x")], &["azd"], AuthMethod::Azd).unwrap(),
            Source::AzureDeveloperCli
        );
    }
}
