//! `export --format arm`: what the Bicep export compiles to, as one JSON template
//! (`azuredeploy.json`): a subscription-scope template with one nested deployment
//! (`Microsoft.Resources/deployments`, `subscriptionId` and `resourceGroup` set) per
//! (subscription, resource group), each holding that group's bindings as
//! `Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings` named `cluster/binding`.

use super::bicep::{BINDING_TYPE, deployment_name, groups};
use super::{IacBinding, IacFile};
use serde_json::{Value, json};

pub const FILE_NAME: &str = "azuredeploy.json";
pub const SUBSCRIPTION_SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#";
pub const GROUP_SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";
pub const DEPLOYMENTS_API_VERSION: &str = "2022-09-01";

pub fn render(bindings: &[IacBinding], api_version: &str) -> Vec<IacFile> {
    let deployments: Vec<Value> = groups(bindings)
        .iter()
        .map(|g| {
            let resources: Vec<Value> = g
                .bindings
                .iter()
                .map(|b| {
                    json!({
                        "type": BINDING_TYPE,
                        "apiVersion": api_version,
                        "name": format!(
                            "[format('{{0}}/{{1}}', {}, {})]",
                            expression_string(b.cluster.name.as_str()),
                            expression_string(&b.name)
                        ),
                        "properties": {
                            "sourceResourceId": literal(&b.source_resource_id),
                            "roles": b.roles.iter().map(|r| literal(r)).collect::<Vec<_>>(),
                        },
                    })
                })
                .collect();
            json!({
                "type": "Microsoft.Resources/deployments",
                "apiVersion": DEPLOYMENTS_API_VERSION,
                "name": deployment_name(&g.stem),
                "subscriptionId": g.subscription,
                "resourceGroup": literal(&g.resource_group),
                "properties": {
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "mode": "Incremental",
                    "template": {
                        "$schema": GROUP_SCHEMA,
                        "contentVersion": "1.0.0.0",
                        "resources": resources,
                    },
                },
            })
        })
        .collect();
    let template = json!({
        "$schema": SUBSCRIPTION_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {
            "description": "Trusted Access role bindings, written by `aks-trustedaccess export --format arm`. Deploy: az deployment sub create --location <region> --template-file azuredeploy.json",
        },
        "resources": deployments,
    });
    let text = serde_json::to_string_pretty(&template).unwrap_or_default() + "\n";
    vec![IacFile {
        path: FILE_NAME.into(),
        text,
    }]
}

/// A string inside a template expression: single-quoted, `'` doubled.
fn expression_string(raw: &str) -> String {
    format!("'{}'", raw.replace('\'', "''"))
}

/// A literal value: one starting with `[` would be read as an expression, so it is escaped `[[`.
fn literal(raw: &str) -> String {
    if raw.starts_with('[') {
        format!("[{raw}")
    } else {
        raw.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{SUB_A, binding};
    use super::*;

    #[test]
    fn nested_deployment_per_group_with_cluster_slash_binding_names() {
        let files = render(&[binding(SUB_A, "rg", "c1", "b1")], "2026-08-01");
        let t: Value = serde_json::from_str(&files[0].text).unwrap();
        let d = &t["resources"][0];
        assert_eq!(d["subscriptionId"], SUB_A);
        assert_eq!(d["resourceGroup"], "rg");
        let r = &d["properties"]["template"]["resources"][0];
        assert_eq!(r["type"], BINDING_TYPE);
        assert_eq!(r["name"], "[format('{0}/{1}', 'c1', 'b1')]");
        assert_eq!(expression_string("a'b"), "'a''b'");
        assert_eq!(literal("[x]"), "[[x]");
    }
}
