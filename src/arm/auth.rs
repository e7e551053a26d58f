//! Where the bearer token comes from: `AKS_TRUSTEDACCESS_ACCESS_TOKEN`, else the Azure CLI's login
//! through azure_identity. Tokens live only in memory here and are never logged or displayed.

use crate::error::{Error, Result};
use azure_core::credentials::TokenCredential;
use std::fmt;
use std::sync::Arc;

pub const TOKEN_ENV: &str = "AKS_TRUSTEDACCESS_ACCESS_TOKEN";

/// A bearer token. `Debug` and `Display` never show it.
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

pub enum Credential {
    /// A token handed over by the environment (CI that already holds one, tests).
    Static(Token),
    /// `az account get-access-token`, run by azure_identity.
    AzureCli,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

impl Credential {
    pub fn from_env() -> Self {
        match std::env::var(TOKEN_ENV) {
            Ok(token) if !token.trim().is_empty() => {
                Credential::Static(Token(token.trim().to_string()))
            }
            _ => Credential::AzureCli,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Static(_) => "access token from AKS_TRUSTEDACCESS_ACCESS_TOKEN",
            Credential::AzureCli => "Azure CLI",
        }
    }

    /// Whether asking again can give a different token (a 401 is then worth one retry).
    pub fn can_refresh(&self) -> bool {
        !matches!(self, Credential::Static(_))
    }

    pub async fn token(&self, scope: &str) -> Result<Token> {
        match self {
            Credential::Static(token) => Ok(token.clone()),
            Credential::AzureCli => {
                let credential =
                    azure_identity::AzureCliCredential::new(None).map_err(sign_in_error)?;
                let access = credential
                    .get_token(&[scope], None)
                    .await
                    .map_err(sign_in_error)?;
                Ok(Token(access.token.secret().to_string()))
            }
        }
    }
}

fn sign_in_error(e: azure_core::Error) -> Error {
    // azure_identity's messages name the failing step (az not found, not logged in) and carry no token.
    let detail = e.to_string();
    let first_line = detail
        .lines()
        .next()
        .unwrap_or("sign-in failed")
        .to_string();
    Error::Auth {
        message: format!("could not get an access token from the Azure CLI: {first_line}"),
        hint: Some(format!(
            "run 'az login', or set {TOKEN_ENV} to an ARM access token (az account get-access-token --query accessToken -o tsv)"
        )),
    }
}

/// Shared handle so the client and commands can hold the same credential.
pub type SharedCredential = Arc<Credential>;
