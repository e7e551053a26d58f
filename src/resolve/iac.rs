//! `export --format …` resolved: the manifest (yaml, json) stays `ExportRequest`; a code format
//! becomes an `IacRequest`, with where the files go checked before any request (a bicep export
//! needs a directory; an existing file is refused unless --force).

use super::desired::{self, ExportRequest};
use crate::cli::desired::{ExportCodeArgs, ExportFormat};
use crate::cli::global::GlobalArgs;
use crate::error::{Error, Result};
use crate::output::OutputFormat;
use crate::settings::Settings;
use std::path::PathBuf;

/// The formats `export --format` writes as infrastructure as code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IacFormat {
    Terraform,
    TerraformAzapi,
    Bicep,
    Arm,
}

impl IacFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            IacFormat::Terraform => "terraform",
            IacFormat::TerraformAzapi => "terraform-azapi",
            IacFormat::Bicep => "bicep",
            IacFormat::Arm => "arm",
        }
    }
}

/// `export --format terraform|terraform-azapi|bicep|arm`.
#[derive(Debug, Clone)]
pub struct IacRequest {
    pub export: ExportRequest,
    pub format: IacFormat,
    pub include_platform: bool,
    pub api_version: String,
    /// `--output-dir`: files written there; `None`: the one file on stdout.
    pub output_dir: Option<PathBuf>,
    pub force: bool,
}

/// What `export` is asked for: the manifest, or code.
pub enum ExportKind {
    Manifest(ExportRequest),
    Code(IacRequest),
}

pub fn export(
    resource_group: Option<&str>,
    parallel: u16,
    code: &ExportCodeArgs,
    global: &GlobalArgs,
    settings: &Settings,
) -> Result<ExportKind> {
    let mut request = desired::export(resource_group, parallel, settings)?;
    let format = match code.format {
        None => None,
        Some(ExportFormat::Yaml) => Some(OutputFormat::Yaml),
        Some(ExportFormat::Json) => Some(OutputFormat::Json),
        Some(ExportFormat::Terraform) => {
            return code_request(request, IacFormat::Terraform, code, global);
        }
        Some(ExportFormat::TerraformAzapi) => {
            return code_request(request, IacFormat::TerraformAzapi, code, global);
        }
        Some(ExportFormat::Bicep) => return code_request(request, IacFormat::Bicep, code, global),
        Some(ExportFormat::Arm) => return code_request(request, IacFormat::Arm, code, global),
    };
    if code.output_dir.is_some() || code.include_platform || code.api_version.is_some() {
        return Err(Error::usage_with_hint(
            "--output-dir, --include-platform and --api-version apply to code formats only",
            "the manifest goes to stdout and always lists every binding; use --format terraform, terraform-azapi, bicep or arm",
        ));
    }
    if let (Some(wanted), Some(given)) = (format, global.output) {
        let same = matches!(
            (wanted, given),
            (OutputFormat::Yaml, OutputFormat::Yaml | OutputFormat::Yamlc)
                | (OutputFormat::Json, OutputFormat::Json | OutputFormat::Jsonc)
        );
        if !same {
            return Err(Error::usage("--format and -o ask for different formats"));
        }
    }
    // Without -o, `--format json` prints the manifest as JSON; YAML otherwise, as before.
    if format == Some(OutputFormat::Json) {
        request.plain = OutputFormat::Json;
    }
    Ok(ExportKind::Manifest(request))
}

fn code_request(
    export: ExportRequest,
    format: IacFormat,
    code: &ExportCodeArgs,
    global: &GlobalArgs,
) -> Result<ExportKind> {
    if global.output.is_some() || global.query.is_some() {
        return Err(Error::usage(format!(
            "-o and --query do not apply to --format {}: it writes code",
            format.as_str()
        )));
    }
    if format == IacFormat::Bicep && code.output_dir.is_none() {
        return Err(Error::usage_with_hint(
            "--format bicep writes several files (main.bicep and one module per resource group)",
            "add --output-dir DIR",
        ));
    }
    let api_version = code
        .api_version
        .clone()
        .unwrap_or_else(|| crate::arm::client::API_VERSION.to_string());
    if !is_api_version(&api_version) {
        return Err(Error::usage(format!(
            "--api-version '{api_version}' is not YYYY-MM-DD or YYYY-MM-DD-preview"
        )));
    }
    Ok(ExportKind::Code(IacRequest {
        export,
        format,
        include_platform: code.include_platform,
        api_version,
        output_dir: code.output_dir.clone(),
        force: code.force,
    }))
}

fn is_api_version(raw: &str) -> bool {
    let date = raw.strip_suffix("-preview").unwrap_or(raw);
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_versions() {
        assert!(super::is_api_version("2026-08-01"));
        assert!(super::is_api_version("2024-02-02-preview"));
        assert!(!super::is_api_version("2026-8-01"));
        assert!(!super::is_api_version("latest"));
    }
}
