//! The doctor commands' typed requests, resolved from raw argument values before any request:
//! names checked, the token read (stdin, a file, or an argument) and decoded, so bad input
//! exits 2 and costs nothing. The raw token is dropped here; only its decoded claims go on.

use crate::arm::ids::{BindingName, ClusterId, ClusterName, ResourceGroupName};
use crate::commands::doctor::jwt::{self, Jwt, MAX_TOKEN_BYTES};
use crate::context::Context;
use crate::error::{Error, Result};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

/// The audience of the AKS regional gateway's tokens (not a publicly documented app, so
/// `--audience` overrides it).
pub const TRUSTED_ACCESS_AUDIENCE: &str = "839858a7-cb51-4fcf-ad2f-222fe0d2d0d0";

/// The cluster a check looks at, its names already valid.
#[derive(Debug, Clone)]
pub struct ClusterTarget {
    pub group: ResourceGroupName,
    pub cluster: ClusterName,
}

impl ClusterTarget {
    /// `-g` (or az's default group) and `--cluster-name`.
    pub fn resolve(ctx: &Context, group: Option<&str>, cluster: &str) -> Result<Self> {
        Ok(ClusterTarget {
            group: crate::resolve::resource_group(group, &ctx.config)?,
            cluster: ClusterName::parse(cluster)?,
        })
    }

    /// The full id, once the subscription is known (it may need a request).
    pub async fn id(&self, ctx: &Context) -> Result<ClusterId> {
        Ok(ClusterId {
            subscription: ctx.subscription().await?.clone(),
            resource_group: self.group.clone(),
            name: self.cluster.clone(),
        })
    }
}

/// `rolebinding check`.
#[derive(Debug, Clone)]
pub struct BindingCheckRequest {
    pub target: ClusterTarget,
    pub name: BindingName,
    /// `--wait-effective`: wait until the binding takes effect instead of reporting "not yet".
    pub wait_effective: bool,
}

/// Where the token comes from.
#[derive(Debug)]
pub enum TokenInput {
    /// Standard input (the default; `--token-file -` too).
    Stdin,
    File(PathBuf),
    /// `--token`: works, but the shell may save it in its history.
    Argument(String),
}

/// `token check`.
#[derive(Debug)]
pub struct TokenCheckRequest {
    pub target: ClusterTarget,
    pub token: Jwt,
    pub audience: String,
}

impl TokenCheckRequest {
    pub fn resolve(target: ClusterTarget, input: TokenInput, audience: &str) -> Result<Self> {
        let audience = audience.trim();
        if audience.is_empty() {
            return Err(Error::usage("--audience is empty"));
        }
        let raw = read_token(input)?;
        let token = jwt::decode(&raw).map_err(|why| {
            Error::usage_with_hint(
                format!("the token is not a JWT: {why}"),
                "give the partner service's access token (header.payload.signature, as sent in \
                 'Authorization: Bearer …') on stdin, with --token-file, or with --token",
            )
        })?;
        Ok(TokenCheckRequest {
            target,
            token,
            audience: audience.to_string(),
        })
    }
}

/// The token's text: trimmed, a leading `Bearer ` (a copied header) removed.
fn read_token(input: TokenInput) -> Result<String> {
    let text = match input {
        TokenInput::Argument(text) => text,
        TokenInput::Stdin => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::usage_with_hint(
                    "no token: give it on stdin, with --token-file, or with --token",
                    "e.g. 'aks-trustedaccess token check -g RG --cluster-name C < token.txt'",
                ));
            }
            read_bounded(stdin.lock(), "stdin")?
        }
        TokenInput::File(path) => {
            let file = std::fs::File::open(&path).map_err(|e| {
                Error::usage(format!("cannot read --token-file {}: {e}", path.display()))
            })?;
            read_bounded(file, &format!("--token-file {}", path.display()))?
        }
    };
    let trimmed = text.trim();
    let token = match trimmed.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => trimmed,
    };
    if token.is_empty() {
        return Err(Error::usage("the token is empty"));
    }
    Ok(token.to_string())
}

fn read_bounded(reader: impl Read, what: &str) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_TOKEN_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::usage(format!("cannot read the token from {what}: {e}")))?;
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(Error::usage(format!(
            "the token from {what} is larger than {} KiB; that is not an access token",
            MAX_TOKEN_BYTES / 1024
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("the token from {what} is not UTF-8 text")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_authorization_header_and_whitespace_are_accepted() {
        let read = |s: &str| read_token(TokenInput::Argument(s.into())).unwrap();
        assert_eq!(read("  Bearer a.b.c\n"), "a.b.c");
        assert_eq!(read("a.b.c"), "a.b.c");
        assert!(read_token(TokenInput::Argument("  \n".into())).is_err());
    }
}
