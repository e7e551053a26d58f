//! Which credential to use: the one `--auth` names, or the first that applies here, in
//! `auto` order; and, when none applies, one error naming each and why.

use crate::error::{Error, Result};

use super::TOKEN_ENV;

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

/// The environment as the selection sees it (injectable for tests).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub on_path: &'a dyn Fn(&str) -> bool,
}

impl Environment<'_> {
    pub fn get(&self, name: &str) -> Option<String> {
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

    pub(super) fn hint(&self) -> String {
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
    pub(super) fn spawns_a_process(&self) -> bool {
        matches!(self, Source::AzureCli | Source::AzureDeveloperCli)
    }
}

/// A way to sign in, as `auto` tries them (in this order) and as `--auth` names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialKind {
    AccessToken,
    ServicePrincipal,
    WorkloadIdentity,
    Pipelines,
    ManagedIdentity,
    AzureCli,
    AzureDeveloperCli,
}

impl CredentialKind {
    /// `auto`'s order.
    const ORDER: [CredentialKind; 7] = [
        CredentialKind::AccessToken,
        CredentialKind::ServicePrincipal,
        CredentialKind::WorkloadIdentity,
        CredentialKind::Pipelines,
        CredentialKind::ManagedIdentity,
        CredentialKind::AzureCli,
        CredentialKind::AzureDeveloperCli,
    ];

    /// The one `--auth` names; `None` for `auto`.
    fn named_by(method: AuthMethod) -> Option<CredentialKind> {
        match method {
            AuthMethod::Auto => None,
            AuthMethod::Token => Some(CredentialKind::AccessToken),
            AuthMethod::ServicePrincipal => Some(CredentialKind::ServicePrincipal),
            AuthMethod::WorkloadIdentity => Some(CredentialKind::WorkloadIdentity),
            AuthMethod::Pipelines => Some(CredentialKind::Pipelines),
            AuthMethod::ManagedIdentity => Some(CredentialKind::ManagedIdentity),
            AuthMethod::Cli => Some(CredentialKind::AzureCli),
            AuthMethod::Azd => Some(CredentialKind::AzureDeveloperCli),
        }
    }

    /// Its name in the "nothing applies" error.
    fn name(self) -> &'static str {
        match self {
            CredentialKind::AccessToken => "access token",
            CredentialKind::ServicePrincipal => "service principal",
            CredentialKind::WorkloadIdentity => "workload identity",
            CredentialKind::Pipelines => "Azure Pipelines",
            CredentialKind::ManagedIdentity => "managed identity",
            CredentialKind::AzureCli => "Azure CLI",
            CredentialKind::AzureDeveloperCli => "Azure Developer CLI",
        }
    }

    /// The credential, if it applies here; else why not.
    fn applies(self, env: &Environment, method: AuthMethod) -> std::result::Result<Source, String> {
        match self {
            CredentialKind::AccessToken => match env.get(TOKEN_ENV) {
                Some(_) => Ok(Source::AccessToken),
                None => Err(format!("{TOKEN_ENV} is not set")),
            },
            CredentialKind::ServicePrincipal => service_principal(env),
            CredentialKind::WorkloadIdentity => workload_identity(env),
            CredentialKind::Pipelines => pipelines(env),
            CredentialKind::ManagedIdentity => {
                if env.get("IDENTITY_ENDPOINT").is_some() || method == AuthMethod::ManagedIdentity {
                    Ok(Source::ManagedIdentity {
                        client_id: env.get("AZURE_CLIENT_ID"),
                    })
                } else {
                    Err("IDENTITY_ENDPOINT is not set (IMDS is tried only with --auth managed-identity)".into())
                }
            }
            CredentialKind::AzureCli => on_path(env, "az", Source::AzureCli),
            CredentialKind::AzureDeveloperCli => on_path(env, "azd", Source::AzureDeveloperCli),
        }
    }
}

fn service_principal(env: &Environment) -> std::result::Result<Source, String> {
    let secret_or_certificate = env.get("AZURE_CLIENT_SECRET").is_some()
        || env.get("AZURE_CLIENT_CERTIFICATE_PATH").is_some();
    match (env.get("AZURE_TENANT_ID"), env.get("AZURE_CLIENT_ID")) {
        (Some(tenant), Some(client_id)) if secret_or_certificate => {
            Ok(Source::ServicePrincipal { tenant, client_id })
        }
        _ => Err("needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)".into()),
    }
}

fn workload_identity(env: &Environment) -> std::result::Result<Source, String> {
    let ids = env.get("AZURE_TENANT_ID").is_some() && env.get("AZURE_CLIENT_ID").is_some();
    match env.get("AZURE_FEDERATED_TOKEN_FILE") {
        Some(_) if ids => Ok(Source::WorkloadIdentity),
        Some(_) => Err(
            "AZURE_FEDERATED_TOKEN_FILE is set but AZURE_TENANT_ID or AZURE_CLIENT_ID is not"
                .into(),
        ),
        None => Err("AZURE_FEDERATED_TOKEN_FILE is not set".into()),
    }
}

fn pipelines(env: &Environment) -> std::result::Result<Source, String> {
    if env.get("SYSTEM_OIDCREQUESTURI").is_none() {
        return Err("SYSTEM_OIDCREQUESTURI is not set".into());
    }
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
        Err(format!(
            "SYSTEM_OIDCREQUESTURI is set but {} is not",
            missing.join(", ")
        ))
    }
}

fn on_path(
    env: &Environment,
    program: &str,
    source: Source,
) -> std::result::Result<Source, String> {
    if (env.on_path)(program) {
        Ok(source)
    } else {
        Err(format!("'{program}' is not on PATH"))
    }
}

/// Why a credential did or did not apply, for the "nothing applies" error.
struct Candidate {
    kind: CredentialKind,
    outcome: std::result::Result<Source, String>,
}

/// Each credential in `auto` order (or the one `--auth` names), with whether it applies here.
fn candidates(env: &Environment, method: AuthMethod) -> Vec<Candidate> {
    let wanted = CredentialKind::named_by(method);
    CredentialKind::ORDER
        .into_iter()
        .filter(|kind| wanted.is_none_or(|w| w == *kind))
        .map(|kind| Candidate {
            kind,
            outcome: kind.applies(env, method),
        })
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
                c.kind.name(),
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
