//! `export --format terraform|terraform-azapi|bicep|arm`: the bindings that exist as code a
//! platform team already runs. The fleet is read once (export's reader), checked, and handed to
//! one pure formatter per format; each returns the files it would write, so nothing is written
//! until every name has been checked and every file rendered.

pub mod arm;
pub mod azapi;
pub mod bicep;
pub mod names;
pub mod terraform;

use crate::arm::models::RoleBinding;
use crate::context::Context;
use crate::domain::ids::{ClusterId, SourceResourceId, binding_name_is_valid};
use crate::domain::provenance::Maker;
use crate::error::{Error, Result};
use crate::resolve::{ExportRequest, IacFormat};

/// One binding to write as code: checked, with the roles in the order the service returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IacBinding {
    pub cluster: ClusterId,
    pub name: String,
    pub source_resource_id: String,
    pub roles: Vec<String>,
}

impl IacBinding {
    /// The binding's ARM id in the casing azurerm parses (fixed segments re-cased, names kept).
    pub fn id(&self) -> String {
        format!("{}/{}", self.cluster.bindings_path(), self.name)
    }
}

/// A file a formatter produced: a path relative to the output directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IacFile {
    pub path: String,
    pub text: String,
}

/// What `export --format <iac>` produced.
pub struct IacExport {
    pub files: Vec<IacFile>,
    /// Clusters or subscriptions that could not be read (left out).
    pub unreadable: Vec<String>,
    /// Platform bindings left out, and why (`--include-platform` keeps them).
    pub platform: Vec<String>,
}

/// Reads the fleet, keeps the bindings to write, checks them, and renders the files.
pub async fn export(
    ctx: &Context,
    options: &ExportRequest,
    format: IacFormat,
    include_platform: bool,
    api_version: &str,
) -> Result<IacExport> {
    let (read, mut unreadable) = super::export::read(ctx, options).await?;
    let mut found = Vec::new();
    for (cluster, bindings) in read {
        match bindings {
            Ok(list) => found.extend(list.into_iter().map(|b| (cluster.clone(), b))),
            Err(e) => unreadable.push(format!("cluster {}: {e}", cluster.path())),
        }
    }
    let (bindings, platform) = select(found, include_platform)?;
    Ok(IacExport {
        files: render(format, &bindings, api_version),
        unreadable,
        platform,
    })
}

/// The formatter of `format` over checked bindings.
pub fn render(format: IacFormat, bindings: &[IacBinding], api_version: &str) -> Vec<IacFile> {
    match format {
        IacFormat::Terraform => terraform::render(bindings),
        IacFormat::TerraformAzapi => azapi::render(bindings, api_version),
        IacFormat::Bicep => bicep::render(bindings, api_version),
        IacFormat::Arm => arm::render(bindings, api_version),
    }
}

/// The bindings to write, sorted (subscription, group, cluster, name, all ignoring case), and the
/// platform bindings left out with their reason. A binding the service returned with a name,
/// source or roles the service itself would refuse stops the export before anything is written.
pub fn select(
    found: Vec<(ClusterId, RoleBinding)>,
    include_platform: bool,
) -> Result<(Vec<IacBinding>, Vec<String>)> {
    let mut kept = Vec::new();
    let mut platform = Vec::new();
    let mut invalid = Vec::new();
    for (cluster, binding) in found {
        let name = binding.name.clone().unwrap_or_default();
        if let (Maker::Platform(by, why), false) = (binding.maker(), include_platform) {
            platform.push(format!(
                "{}/{name}: made by {} ({why})",
                cluster.bindings_path(),
                by.label()
            ));
            continue;
        }
        let source = binding
            .properties
            .source_resource_id
            .clone()
            .unwrap_or_default();
        let roles = binding.properties.roles.clone().unwrap_or_default();
        let problem = if !binding_name_is_valid(&name) {
            Some("the name is not 1-24 letters, digits or dashes")
        } else if SourceResourceId::parse(&source).is_err() {
            Some("the sourceResourceId is not a resource id")
        } else if roles.is_empty() || roles.iter().any(|r| !valid_role(r)) {
            Some("the roles are missing or not '<Namespace>/<type>/<role>'")
        } else {
            None
        };
        if let Some(why) = problem {
            invalid.push(format!("{}/{name}: {why}", cluster.bindings_path()));
            continue;
        }
        kept.push(IacBinding {
            cluster,
            name,
            source_resource_id: source,
            roles,
        });
    }
    if !invalid.is_empty() {
        return Err(Error::Config {
            message: format!(
                "{} bindings cannot be written as code, nothing was written:\n  {}",
                invalid.len(),
                invalid.join("\n  ")
            ),
            hint: Some("fix or delete these bindings, or export the others with -g".into()),
        });
    }
    kept.sort_by_key(sort_key);
    Ok((kept, platform))
}

fn sort_key(b: &IacBinding) -> (String, String) {
    (b.cluster.key(), b.name.to_ascii_lowercase())
}

/// A role as the service names them: printable, no quotes or backslashes, with a namespace.
fn valid_role(role: &str) -> bool {
    role.contains('/')
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'))
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::IacBinding;
    use crate::domain::ids::ClusterId;

    pub const SUB_A: &str = "00000000-0000-0000-0000-00000000000a";
    pub const SUB_B: &str = "00000000-0000-0000-0000-00000000000b";

    pub fn binding(sub: &str, group: &str, cluster: &str, name: &str) -> IacBinding {
        IacBinding {
            cluster: ClusterId::parse_id(&format!(
                "/subscriptions/{sub}/resourcegroups/{group}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
            ))
            .unwrap(),
            name: name.into(),
            source_resource_id: format!(
                "/subscriptions/{sub}/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/{name}"
            ),
            roles: vec![
                "Microsoft.MachineLearningServices/workspaces/mlworkload".into(),
                "Microsoft.MachineLearningServices/workspaces/inference-v1".into(),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::models::RoleBindingProperties;

    fn found(name: &str, source: &str) -> (ClusterId, RoleBinding) {
        let b = fixture::binding(fixture::SUB_A, "rg", "c1", "x");
        (
            b.cluster,
            RoleBinding {
                name: Some(name.into()),
                properties: RoleBindingProperties {
                    source_resource_id: Some(source.into()),
                    roles: Some(b.roles),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
    }

    #[test]
    fn platform_bindings_are_left_out_unless_asked_and_bad_names_stop_everything() {
        let good = fixture::binding(fixture::SUB_A, "rg", "c1", "b").source_resource_id;
        let defender = format!(
            "/subscriptions/{}/providers/Microsoft.Security/pricings/containers",
            fixture::SUB_A
        );
        let (kept, platform) =
            select(vec![found("b", &good), found("d", &defender)], false).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(platform.len(), 1);
        assert!(
            platform[0].contains("/d: made by Microsoft Defender for Cloud ("),
            "{}",
            platform[0]
        );
        let (kept, _) = select(vec![found("b", &good), found("d", &defender)], true).unwrap();
        assert_eq!(kept.len(), 2);
        let err = select(
            vec![
                found("b", &good),
                found("this-name-is-longer-than-24", &good),
            ],
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("nothing was written"), "{err}");
    }
}
