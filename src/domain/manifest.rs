//! The desired-state manifest of `plan`, `apply` and `export`: YAML or JSON (one parser: JSON is
//! YAML's flow syntax) read into typed, validated entries. Every refusal names the file, the line
//! and what is wrong, before any request (exit 2).

use crate::domain::ids::{BindingName, ClusterId, ResourceGroupName, SourceResourceId};
use crate::domain::roles::{RoleName, role_type_fits_source};
use crate::domain::yaml_schema::{self, Reader};
use crate::error::{Error, Result};
use libyaml_safer::{Node, NodeData};

/// The only `apiVersion` this tool reads and writes.
pub const MANIFEST_API_VERSION: &str = "aks-trustedaccess/v1";

#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: String,
    pub entries: Vec<Entry>,
}

/// One binding that must exist, with the same name, source and roles, on every selected cluster.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: BindingName,
    pub source: SourceResourceId,
    pub roles: Vec<RoleName>,
    pub clusters: Vec<ClusterRef>,
    /// Line of the entry in the file (1-based), for messages.
    pub line: u64,
    /// Set on an entry `plan --require` made for this service: it is wanted only while no
    /// binding of the cluster serves the service by the audit's rule (`Need::satisfied_by`), so
    /// the plan and the next audit agree. `None` for the file's entries: exactly this binding.
    pub service: Option<crate::domain::services::Service>,
}

/// Where an entry applies: a cluster by id, or every cluster a selector matches.
#[derive(Debug, Clone)]
pub enum ClusterRef {
    Id(ClusterId),
    Selector(Selector),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// A subscription id or display name.
    pub subscription: String,
    pub resource_group: Option<ResourceGroupName>,
    /// Every tag must be present with this value (names compared case-insensitively, as ARM does).
    pub tags: Vec<(String, String)>,
    pub line: u64,
}

/// Parses manifest text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Manifest> {
    let document = yaml_schema::document(text, file, "the manifest", HINT)?;
    let reader = Reader::new(&document, file, HINT)?;
    reader.manifest(reader.root)
}

/// Where a refusal points the reader.
const HINT: &str = "see 'Desired state' in the README for the manifest's format";

impl<'a> Reader<'a> {
    fn manifest(&self, root: &'a Node) -> Result<Manifest> {
        let fields = self.fields(
            root,
            "the manifest",
            &["apiVersion", "bindings"],
            &["apiVersion", "bindings"],
        )?;
        let mut entries = Vec::new();
        for (key, value) in fields {
            match key {
                "apiVersion" => {
                    let version = self.required_scalar(value, "apiVersion")?;
                    if version != MANIFEST_API_VERSION {
                        return Err(self.error(
                            value,
                            format!(
                                "apiVersion '{version}' is not supported (expected {MANIFEST_API_VERSION})"
                            ),
                        ));
                    }
                }
                _ => {
                    for (i, item) in self.items(value, "bindings")?.into_iter().enumerate() {
                        entries.push(self.entry(item, i)?);
                    }
                }
            }
        }
        Ok(Manifest {
            file: self.file.to_string(),
            entries,
        })
    }

    fn entry(&self, node: &'a Node, index: usize) -> Result<Entry> {
        let what = format!("bindings[{index}]");
        let fields = self.fields(
            node,
            &what,
            &["name", "sourceResourceId", "roles", "clusters"],
            &["name", "sourceResourceId", "roles", "clusters"],
        )?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .unwrap_or(node)
        };
        let at = |n: &Node, e: Error| self.error(n, format!("{what}: {}", message_of(&e)));
        let name_node = field("name");
        let name = BindingName::parse(self.required_scalar(name_node, "name")?)
            .map_err(|e| at(name_node, e))?;
        let source_node = field("sourceResourceId");
        let source =
            SourceResourceId::parse(self.required_scalar(source_node, "sourceResourceId")?)
                .map_err(|e| at(source_node, e))?;
        let roles = self.roles(field("roles"), &source, &what)?;
        let clusters_node = field("clusters");
        let clusters = self
            .items(clusters_node, "clusters")?
            .into_iter()
            .map(|c| self.cluster_ref(c, &what))
            .collect::<Result<Vec<_>>>()?;
        if clusters.is_empty() {
            return Err(self.error(clusters_node, format!("{what}: clusters is empty")));
        }
        Ok(Entry {
            name,
            source,
            roles,
            clusters,
            line: node.start_mark.line + 1,
            service: None,
        })
    }

    /// An entry's roles (duplicates dropped): valid names that fit the source's type, at least one.
    fn roles(
        &self,
        node: &'a Node,
        source: &SourceResourceId,
        what: &str,
    ) -> Result<Vec<RoleName>> {
        let mut roles: Vec<RoleName> = Vec::new();
        for role_node in self.items(node, "roles")? {
            let role = RoleName::parse(self.required_scalar(role_node, "a role")?)
                .map_err(|e| self.error(role_node, format!("{what}: {}", message_of(&e))))?;
            if !role_type_fits_source(role.source_type(), source.resource_type()) {
                return Err(self.error(
                    role_node,
                    format!(
                        "{what}: role '{}' is for sources of type {}, but the source is a {}",
                        role.as_str(),
                        role.source_type(),
                        source.resource_type()
                    ),
                ));
            }
            if !roles
                .iter()
                .any(|r| r.as_str().eq_ignore_ascii_case(role.as_str()))
            {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            return Err(self.error(node, format!("{what}: roles is empty")));
        }
        Ok(roles)
    }

    fn cluster_ref(&self, node: &'a Node, what: &str) -> Result<ClusterRef> {
        if let NodeData::Scalar { .. } = node.data {
            let id = self.required_scalar(node, "a cluster id")?;
            return ClusterId::parse_id(id)
                .map(ClusterRef::Id)
                .map_err(|e| self.error(node, format!("{what}: {}", message_of(&e))));
        }
        let fields = self.fields(
            node,
            &format!("{what}: a cluster selector"),
            &["subscription", "resourceGroup", "tags"],
            &["subscription"],
        )?;
        let mut selector = Selector {
            subscription: String::new(),
            resource_group: None,
            tags: Vec::new(),
            line: node.start_mark.line + 1,
        };
        for (key, value) in fields {
            match key {
                "subscription" => {
                    selector.subscription = self
                        .required_scalar(value, "subscription")?
                        .trim()
                        .to_string();
                }
                "resourceGroup" => {
                    let group = self.required_scalar(value, "resourceGroup")?;
                    selector.resource_group = Some(
                        ResourceGroupName::parse(group)
                            .map_err(|e| self.error(value, message_of(&e)))?,
                    );
                }
                _ => {
                    let NodeData::Mapping { pairs, .. } = &value.data else {
                        return Err(self.error(value, "tags must be a mapping of name: value"));
                    };
                    for pair in pairs {
                        let name = self.required_scalar(self.node(pair.key), "a tag name")?;
                        let tag_value = self.scalar(self.node(pair.value), "a tag value")?;
                        selector
                            .tags
                            .push((name.to_string(), tag_value.unwrap_or_default().to_string()));
                    }
                }
            }
        }
        Ok(ClusterRef::Selector(selector))
    }
}

fn message_of(e: &Error) -> String {
    match e {
        Error::Usage {
            message,
            hint: Some(hint),
        } => format!("{message} ({hint})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "apiVersion: aks-trustedaccess/v1
bindings:
  - name: ml-access
    sourceResourceId: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws1
    roles:
      - Microsoft.MachineLearningServices/workspaces/mlworkload
    clusters:
      - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks-1
      - subscription: Production
        resourceGroup: rg-aks
        tags: {env: prod}
";

    fn refusal(text: &str) -> String {
        match parse(text, "m.yaml") {
            Err(Error::Usage { message, .. }) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_manifest_reads_into_typed_entries() {
        let m = parse(GOOD, "m.yaml").unwrap();
        assert_eq!(m.entries.len(), 1);
        let e = &m.entries[0];
        assert_eq!(e.name.as_str(), "ml-access");
        assert_eq!(e.line, 3);
        assert_eq!(e.clusters.len(), 2);
        let ClusterRef::Selector(s) = &e.clusters[1] else {
            panic!("a selector")
        };
        assert_eq!(s.subscription, "Production");
        assert_eq!(s.tags, [("env".to_string(), "prod".to_string())]);
        assert_eq!(s.line, 9);
    }

    #[test]
    fn json_is_read_by_the_same_parser_with_lines() {
        let json = r#"{
  "apiVersion": "aks-trustedaccess/v1",
  "bindings": [
    {"name": "a_b", "sourceResourceId": "/x", "roles": [], "clusters": []}
  ]
}"#;
        assert!(refusal(json).starts_with("m.yaml:4: bindings[0]: invalid role binding name"));
    }

    #[test]
    fn refusals_name_the_line_and_the_problem() {
        let unknown = GOOD.replace("    roles:\n", "    role:\n");
        assert!(refusal(&unknown).starts_with("m.yaml:5: unknown key 'role' in bindings[0]"));
        let missing = GOOD.replace("  - name: ml-access\n", "  - \n");
        assert_eq!(refusal(&missing), "m.yaml:4: bindings[0] has no 'name'");
        let bad_role = GOOD.replace("workspaces/mlworkload", "vaults/x");
        assert!(
            refusal(&bad_role).starts_with(
                "m.yaml:6: bindings[0]: role 'Microsoft.MachineLearningServices/vaults/x' is for sources"
            ),
            "{}",
            refusal(&bad_role)
        );
        let bad_id = GOOD.replace("managedClusters/aks-1", "managedClusters/-x");
        assert!(refusal(&bad_id).starts_with("m.yaml:8: bindings[0]: invalid cluster name"));
        let version = GOOD.replace("aks-trustedaccess/v1", "v2");
        assert!(refusal(&version).starts_with("m.yaml:1: apiVersion 'v2' is not supported"));
        assert!(refusal("a: [").starts_with("m.yaml:2: not valid YAML or JSON"));
        assert!(refusal("").starts_with("m.yaml:1: the manifest is empty"));
        let twice = GOOD.replace("    roles:\n", "    name: b\n    roles:\n");
        assert!(refusal(&twice).starts_with("m.yaml:5: 'name' is given twice"));
    }
}
