//! `export --format terraform-azapi`: `azapi_resource` blocks of type
//! `Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@<api-version>` with
//! `parent_id` (the cluster), `body` as an HCL object (azapi >= 2.0), and an `import` block beside
//! each. One provider writes across subscriptions: the id comes from `parent_id`.

use super::terraform::{labels, list_items, string};
use super::{IacBinding, IacFile};
use std::fmt::Write;

pub const TYPE: &str = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings";

pub fn render(bindings: &[IacBinding], api_version: &str) -> Vec<IacFile> {
    let mut out = String::from(super::terraform::HEADER);
    out.push_str(
        "terraform {\n  required_version = \">= 1.5.0\"\n  required_providers {\n    azapi = {\n      source  = \"Azure/azapi\"\n      version = \">= 2.0\"\n    }\n  }\n}\n\nprovider \"azapi\" {}\n",
    );
    let type_version = string(&format!("{TYPE}@{api_version}"));
    for (b, label) in bindings.iter().zip(labels(bindings)) {
        let _ = write!(
            out,
            "\nresource \"azapi_resource\" \"{label}\" {{\n  type      = {type_version}\n  parent_id = {}\n  name      = {}\n  body = {{\n    properties = {{\n      sourceResourceId = {}\n      roles = [\n{}      ]\n    }}\n  }}\n}}\n",
            string(&b.cluster.path()),
            string(&b.name),
            string(&b.source_resource_id),
            list_items(&b.roles, "        "),
        );
        let _ = write!(
            out,
            "\nimport {{\n  to = azapi_resource.{label}\n  id = {}\n}}\n",
            string(&b.id())
        );
    }
    vec![IacFile {
        path: super::terraform::FILE_NAME.into(),
        text: out,
    }]
}
