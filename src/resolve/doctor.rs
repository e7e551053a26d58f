//! `rolebinding check` and `token check` resolved: the binding or the cluster, and the token
//! read (stdin, a file, or `--token`) and decoded, so what is not a JWT is refused (exit 2)
//! before any request. The token is the command's input, so this is the one place the resolve
//! step reads one; the raw text is dropped here and only its decoded claims go on.

use super::binding::{BindingRef, ClusterRef, binding_ref, cluster_ref};
use crate::azconfig::AzConfig;
use crate::cli::az::{ClusterArgs, TokenCommand};
use crate::domain::jwt::{self, Jwt, MAX_TOKEN_BYTES};
use crate::error::{Error, Result};
use std::io::{IsTerminal, Read};
use std::path::Path;

/// `rolebinding check`.
#[derive(Debug, Clone)]
pub struct BindingCheck {
    pub binding: BindingRef,
    /// `--wait-effective`: wait until the binding takes effect instead of reporting "not yet".
    pub wait_effective: bool,
}

/// `token check`.
#[derive(Debug)]
pub struct TokenCheck {
    pub cluster: ClusterRef,
    pub token: Jwt,
    pub audience: String,
}

pub(super) fn binding_check(
    cluster: &ClusterArgs,
    name: &str,
    wait_effective: bool,
    config: &AzConfig,
) -> Result<BindingCheck> {
    Ok(BindingCheck {
        binding: binding_ref(cluster, name, config)?,
        wait_effective,
    })
}

pub(super) fn token_check(command: &TokenCommand, config: &AzConfig) -> Result<TokenCheck> {
    let TokenCommand::Check {
        cluster,
        token_file,
        token,
        audience,
    } = command;
    let cluster = cluster_ref(cluster, config)?;
    let audience = audience.trim();
    if audience.is_empty() {
        return Err(Error::usage("--audience is empty"));
    }
    let raw = match (token_file.as_deref(), token) {
        (Some(path), _) if path.as_os_str() != "-" => read_file(path)?,
        (None, Some(token)) => token.clone(),
        _ => read_stdin()?,
    };
    let token = jwt::decode(bare(&raw)?).map_err(|why| {
        Error::usage_with_hint(
            format!("the token is not a JWT: {why}"),
            "give the partner service's access token (header.payload.signature, as sent in \
             'Authorization: Bearer …') on stdin, with --token-file, or with --token",
        )
    })?;
    Ok(TokenCheck {
        cluster,
        token,
        audience: audience.to_string(),
    })
}

/// The token without whitespace or a leading `Bearer ` (a copied header).
fn bare(text: &str) -> Result<&str> {
    let trimmed = text.trim();
    let token = match trimmed.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => trimmed,
    };
    if token.is_empty() {
        return Err(Error::usage("the token is empty"));
    }
    Ok(token)
}

fn read_stdin() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::usage_with_hint(
            "no token: give it on stdin, with --token-file, or with --token",
            "e.g. 'aks-trustedaccess token check -g RG --cluster-name C < token.txt'",
        ));
    }
    read_bounded(stdin.lock(), "stdin")
}

fn read_file(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::usage(format!("cannot read --token-file {}: {e}", path.display())))?;
    read_bounded(file, &format!("--token-file {}", path.display()))
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
    use crate::resolve::Request;

    fn resolve(args: &[&str]) -> Result<Request> {
        crate::resolve::resolve_args(args)
    }

    #[test]
    fn checks_resolve_to_typed_requests_and_refuse_bad_input() {
        let Ok(Request::BindingCheck(check)) = resolve(&[
            "rolebinding",
            "check",
            "-g",
            "rg",
            "--cluster-name",
            "c",
            "-n",
            "b",
            "--wait-effective",
        ]) else {
            panic!("rolebinding check resolves");
        };
        assert!(check.wait_effective);
        assert_eq!(check.binding.name.as_str(), "b");
        assert!(
            resolve(&[
                "rolebinding",
                "check",
                "-g",
                "rg",
                "--cluster-name",
                "c",
                "-n",
                "b_"
            ])
            .is_err()
        );
        // header {"alg":"none"}, payload {"aud":"x"}, empty signature
        let Ok(Request::TokenCheck(check)) = resolve(&[
            "token",
            "check",
            "-g",
            "rg",
            "--cluster-name",
            "c",
            "--token",
            "Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.",
        ]) else {
            panic!("token check resolves");
        };
        assert_eq!(check.token.audiences(), ["x"]);
        assert_eq!(
            check.audience,
            crate::arm::auth::claims::TRUSTED_ACCESS_AUDIENCE
        );
        let Err(Error::Usage { message, .. }) = resolve(&[
            "token",
            "check",
            "-g",
            "rg",
            "--cluster-name",
            "c",
            "--token",
            "abc",
        ]) else {
            panic!("not a JWT is a usage error");
        };
        assert!(message.starts_with("the token is not a JWT") && !message.contains("abc"));
    }

    #[test]
    fn a_copied_authorization_header_and_whitespace_are_accepted() {
        assert_eq!(bare("  Bearer a.b.c\n").unwrap(), "a.b.c");
        assert_eq!(bare("a.b.c").unwrap(), "a.b.c");
        assert!(bare("  \n").is_err());
    }
}
