//! `export --format bicep`: a deployment targets one resource group, so a fleet becomes one module
//! per (subscription, resource group), `modules/<subscription>_<group>.bicep`, with each cluster
//! as an `existing` parent of its bindings, and `main.bicep` (`targetScope = 'subscription'`)
//! deploying every module with `scope: resourceGroup('<subscription>', '<group>')`.

use super::names::{file_part, identifier, unique_labels};
use super::terraform::alias;
use super::{IacBinding, IacFile};
use std::fmt::Write;

pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
pub const BINDING_TYPE: &str =
    "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings";

/// The bindings of one (subscription, resource group), in the order given.
pub struct Group<'a> {
    pub subscription: String,
    pub resource_group: String,
    /// `<subscription>_<group>`, unique among the groups (file names and deployment names).
    pub stem: String,
    pub bindings: Vec<&'a IacBinding>,
}

/// Bindings grouped by subscription and resource group (compared ignoring case), in order.
pub fn groups(bindings: &[IacBinding]) -> Vec<Group<'_>> {
    let mut out: Vec<Group<'_>> = Vec::new();
    for b in bindings {
        let sub = b.cluster.subscription.as_str().to_ascii_lowercase();
        let rg = b.cluster.resource_group.as_str();
        match out
            .iter_mut()
            .find(|g| g.subscription == sub && g.resource_group.eq_ignore_ascii_case(rg))
        {
            Some(g) => g.bindings.push(b),
            None => out.push(Group {
                subscription: sub,
                resource_group: rg.to_string(),
                stem: String::new(),
                bindings: vec![b],
            }),
        }
    }
    let stems: Vec<String> = out
        .iter()
        .map(|g| format!("{}_{}", g.subscription, file_part(&g.resource_group)))
        .collect();
    let items: Vec<Vec<&str>> = stems.iter().map(|s| vec![s.as_str()]).collect();
    // unique_labels keeps distinct stems as they are (an identifier of them is only for
    // telling duplicates apart); duplicates get `_2`, `_3`, … in order.
    let unique = unique_labels(&items);
    for ((g, stem), label) in out.iter_mut().zip(stems).zip(unique) {
        let suffix = label
            .strip_prefix(&identifier(&[stem.as_str()]))
            .unwrap_or("");
        g.stem = format!("{stem}{suffix}");
    }
    out
}

/// A deployment's name: at most 64 characters of `[-\w._()]`.
pub fn deployment_name(stem: &str) -> String {
    format!("trustedaccess-{stem}").chars().take(64).collect()
}

pub fn render(bindings: &[IacBinding], api_version: &str) -> Vec<IacFile> {
    let groups = groups(bindings);
    let mut main = String::from(
        "// Trusted Access role bindings, written by `aks-trustedaccess export --format bicep`.\n// Deploy: az deployment sub create --location <region> --template-file main.bicep\n\ntargetScope = 'subscription'\n",
    );
    let symbols = unique_labels(
        &groups
            .iter()
            .map(|g| vec![g.resource_group.as_str()])
            .collect::<Vec<_>>(),
    );
    let mut files = Vec::new();
    for (g, symbol) in groups.iter().zip(symbols) {
        let path = format!("modules/{}.bicep", g.stem);
        let _ = write!(
            main,
            "\nmodule {} {} = {{\n  name: {}\n  scope: resourceGroup({}, {})\n}}\n",
            identifier(&[&alias(&g.subscription), &symbol]),
            string(&path),
            string(&deployment_name(&g.stem)),
            string(&g.subscription),
            string(&g.resource_group)
        );
        files.push(IacFile {
            path,
            text: module(g, api_version),
        });
    }
    files.insert(
        0,
        IacFile {
            path: "main.bicep".into(),
            text: main,
        },
    );
    files
}

/// One resource group's module: its clusters as `existing` resources, each binding a child.
fn module(group: &Group<'_>, api_version: &str) -> String {
    let mut out = format!(
        "// Subscription {}, resource group {}.\n",
        group.subscription,
        group.resource_group.replace(['\n', '\r'], " ")
    );
    let mut clusters: Vec<&str> = Vec::new();
    for b in &group.bindings {
        if !clusters
            .iter()
            .any(|c| c.eq_ignore_ascii_case(b.cluster.name.as_str()))
        {
            clusters.push(b.cluster.name.as_str());
        }
    }
    let cluster_symbols = unique_labels(&clusters.iter().map(|c| vec![*c]).collect::<Vec<_>>());
    for (name, symbol) in clusters.iter().zip(&cluster_symbols) {
        let _ = write!(
            out,
            "\nresource cluster_{symbol} '{CLUSTER_TYPE}@{api_version}' existing = {{\n  name: {}\n}}\n",
            string(name)
        );
    }
    let binding_symbols = unique_labels(
        &group
            .bindings
            .iter()
            .map(|b| vec![b.cluster.name.as_str(), b.name.as_str()])
            .collect::<Vec<_>>(),
    );
    for (b, symbol) in group.bindings.iter().zip(binding_symbols) {
        let parent = clusters
            .iter()
            .position(|c| c.eq_ignore_ascii_case(b.cluster.name.as_str()))
            .map(|i| cluster_symbols[i].as_str())
            .unwrap_or_default();
        let _ = write!(
            out,
            "\nresource binding_{symbol} '{BINDING_TYPE}@{api_version}' = {{\n  parent: cluster_{parent}\n  name: {}\n  properties: {{\n    sourceResourceId: {}\n    roles: [\n{}    ]\n  }}\n}}\n",
            string(&b.name),
            string(&b.source_resource_id),
            b.roles
                .iter()
                .map(|r| format!("      {}\n", string(r)))
                .collect::<String>()
        );
    }
    out
}

/// A Bicep string literal: `\`, `'` and `${` escaped, control characters as `\u{…}`.
pub fn string(raw: &str) -> String {
    let mut out = String::from("'");
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{SUB_A, SUB_B, binding};
    use super::*;

    #[test]
    fn strings_stay_literal() {
        assert_eq!(string(r"it's ${x} \"), r"'it\'s \${x} \\'");
    }

    #[test]
    fn one_module_per_subscription_and_group() {
        let files = render(
            &[
                binding(SUB_A, "rg", "c1", "b1"),
                binding(SUB_A, "RG", "c2", "b1"),
                binding(SUB_B, "rg", "c1", "b1"),
            ],
            "2026-08-01",
        );
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "main.bicep".to_string(),
                format!("modules/{SUB_A}_rg.bicep"),
                format!("modules/{SUB_B}_rg.bicep")
            ]
        );
        assert!(
            files[0]
                .text
                .contains(&format!("scope: resourceGroup('{SUB_B}', 'rg')"))
        );
        assert_eq!(files[1].text.matches("existing = {").count(), 2);
        assert!(files[1].text.contains("parent: cluster_c2\n"));
    }
}
