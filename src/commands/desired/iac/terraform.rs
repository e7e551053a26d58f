//! `export --format terraform`: azurerm's `azurerm_kubernetes_cluster_trusted_access_role_binding`
//! with an `import` block beside each (Terraform >= 1.5). azurerm builds a new binding's id from
//! its provider's subscription, so each subscription gets its own provider alias, used by both
//! the resource and its import. Ids carry the fixed segments in the casing azurerm's parser
//! requires (`resourceGroups`, `managedClusters`, `trustedAccessRoleBindings`).

use super::names::{identifier, unique_labels};
use super::{IacBinding, IacFile};
use std::fmt::Write;

pub const RESOURCE_TYPE: &str = "azurerm_kubernetes_cluster_trusted_access_role_binding";
pub const FILE_NAME: &str = "trustedaccess.tf";

/// The provider alias of a subscription: `sub_` and its id.
pub fn alias(subscription: &str) -> String {
    identifier(&["sub", subscription])
}

pub fn render(bindings: &[IacBinding]) -> Vec<IacFile> {
    let mut out = String::from(HEADER);
    out.push_str(
        "terraform {\n  required_version = \">= 1.5.0\"\n  required_providers {\n    azurerm = {\n      source = \"hashicorp/azurerm\"\n    }\n  }\n}\n",
    );
    let mut subscriptions: Vec<String> = bindings
        .iter()
        .map(|b| b.cluster.subscription.as_str().to_ascii_lowercase())
        .collect();
    subscriptions.sort();
    subscriptions.dedup();
    for sub in &subscriptions {
        let _ = write!(
            out,
            "\nprovider \"azurerm\" {{\n  alias           = {}\n  subscription_id = {}\n  features {{}}\n}}\n",
            string(&alias(sub)),
            string(sub)
        );
    }
    for (b, label) in bindings.iter().zip(labels(bindings)) {
        let provider = format!(
            "azurerm.{}",
            alias(&b.cluster.subscription.as_str().to_ascii_lowercase())
        );
        let _ = write!(
            out,
            "\nresource \"{RESOURCE_TYPE}\" \"{label}\" {{\n  provider              = {provider}\n  kubernetes_cluster_id = {}\n  name                  = {}\n  source_resource_id    = {}\n  roles = [\n{}  ]\n}}\n",
            string(&b.cluster.path()),
            string(&b.name),
            string(&b.source_resource_id),
            list_items(&b.roles, "    "),
        );
        let _ = write!(
            out,
            "\nimport {{\n  provider = {provider}\n  to       = {RESOURCE_TYPE}.{label}\n  id       = {}\n}}\n",
            string(&b.id())
        );
    }
    vec![IacFile {
        path: FILE_NAME.into(),
        text: out,
    }]
}

pub const HEADER: &str = "# Trusted Access role bindings, written by `aks-trustedaccess export`.\n# `terraform plan` imports each binding (import blocks); roles keep the service's order.\n\n";

/// Resource labels: cluster and binding name, qualified by resource group and subscription
/// where two bindings would share one.
pub fn labels(bindings: &[IacBinding]) -> Vec<String> {
    let aliases: Vec<String> = bindings
        .iter()
        .map(|b| alias(b.cluster.subscription.as_str()))
        .collect();
    let items: Vec<Vec<&str>> = bindings
        .iter()
        .zip(&aliases)
        .map(|(b, alias)| {
            vec![
                alias.as_str(),
                b.cluster.resource_group.as_str(),
                b.cluster.name.as_str(),
                b.name.as_str(),
            ]
        })
        .collect();
    unique_labels(&items)
}

/// The items of an HCL list, one per line at `indent`, each quoted, each with a trailing comma.
pub fn list_items(items: &[String], indent: &str) -> String {
    items
        .iter()
        .map(|item| format!("{indent}{},\n", string(item)))
        .collect()
}

/// A quoted HCL string: `\`, `"` and control characters escaped, and template sequences (`${`,
/// `%{`) doubled so they stay literal.
pub fn string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{SUB_A, SUB_B, binding};
    use super::*;

    #[test]
    fn strings_stay_literal() {
        assert_eq!(string(r#"a"b\c${x}%{y}$z"#), r#""a\"b\\c$${x}%%{y}$z""#);
        assert_eq!(string("a\nb\u{1}"), "\"a\\nb\\u0001\"");
    }

    #[test]
    fn one_alias_per_subscription_on_resource_and_import() {
        let text = &render(&[
            binding(SUB_A, "rg", "c1", "b1"),
            binding(SUB_B, "rg", "c1", "b1"),
        ])[0]
            .text;
        assert_eq!(text.matches("provider \"azurerm\" {").count(), 2);
        let alias_b = alias(SUB_B);
        assert_eq!(
            text.matches(&format!("provider = azurerm.{alias_b}"))
                .count(),
            1
        );
        assert_eq!(
            text.matches(&format!("provider              = azurerm.{alias_b}"))
                .count(),
            1
        );
        assert!(text.contains(&format!(
            "id       = \"/subscriptions/{SUB_B}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1/trustedAccessRoleBindings/b1\""
        )));
        assert!(text.contains(&format!("{RESOURCE_TYPE}.{}_rg_c1_b1", alias(SUB_A))));
    }
}
