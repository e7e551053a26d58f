//! How serious each audit rule is and how to fix what it finds: a severity (with GitHub's
//! `security-severity` score), tags, the README anchor reports link to, and the remediation as the
//! command to run, the desired-state manifest entry and the Terraform change. Data beside the
//! rule catalog (what is checked); reports, the README and `--list-rules` read both.

/// How serious a finding of a rule is, as code scanning ranks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// GitLab Code Quality's word for it.
    pub fn code_quality(self) -> &'static str {
        match self {
            Severity::Low => "info",
            Severity::Medium => "minor",
            Severity::High => "major",
            Severity::Critical => "critical",
        }
    }
}

/// A rule's guidance.
#[derive(Debug)]
pub struct Guidance {
    pub id: &'static str,
    pub severity: Severity,
    /// GitHub's `security-severity` (0–10: ≥ 9 critical, ≥ 7 high, ≥ 4 medium, > 0 low); a
    /// string, as SARIF producers write it.
    pub score: &'static str,
    /// Reports' tags (`security` first: GitHub shows severities only for it).
    pub tags: &'static [&'static str],
    /// Why the finding matters.
    pub why: &'static str,
    /// The command to run (placeholders in capitals).
    pub command: &'static str,
    /// The desired-state manifest's side (`plan`/`apply`), or what it has to do with it.
    pub manifest: &'static str,
    /// The Terraform (azurerm) side.
    pub terraform: &'static str,
}

const TA_BINDING_TF: &str = "resource \"azurerm_kubernetes_cluster_trusted_access_role_binding\" \"NAME\" {\n  kubernetes_cluster_id = azurerm_kubernetes_cluster.CLUSTER.id\n  name                  = \"NAME\"\n  roles                 = [\"ROLE\"]\n  source_resource_id    = SOURCE_ID\n}";

const BINDING_ENTRY: &str = "apiVersion: aks-trustedaccess/v1\nbindings:\n  - name: NAME\n    sourceResourceId: SOURCE_ID\n    roles: [ROLE]\n    clusters: [CLUSTER_ID]";

pub const GUIDANCE: &[Guidance] = &[
    Guidance {
        id: "TA001",
        severity: Severity::Low,
        score: "2.0",
        tags: &["security", "trusted-access", "conformity"],
        why: "The Conformity procedure expects each cluster to use Trusted Access for the Azure services that reach it, instead of cluster credentials handed to them.",
        command: "aks-trustedaccess rolebinding create -g RG --cluster-name CLUSTER -n NAME --source-resource-id SOURCE_ID --roles ROLE",
        manifest: BINDING_ENTRY,
        terraform: TA_BINDING_TF,
    },
    Guidance {
        id: "TA002",
        severity: Severity::Medium,
        score: "5.0",
        tags: &["security", "trusted-access", "identity"],
        why: "Trusted Access needs the cluster's system-assigned managed identity; without it bindings cannot work.",
        command: "az aks update -g RG -n CLUSTER --enable-managed-identity",
        manifest: "(not a binding: the cluster's identity is set on the cluster)",
        terraform: "resource \"azurerm_kubernetes_cluster\" \"CLUSTER\" {\n  identity {\n    type = \"SystemAssigned\"\n  }\n}",
    },
    Guidance {
        id: "TA003",
        severity: Severity::High,
        score: "8.1",
        tags: &["security", "trusted-access", "dangling-reference"],
        why: "A binding trusts its source by id: a resource created later under the same id (by anyone who may create it there) would get the binding's access to the cluster.",
        command: "aks-trustedaccess rolebinding delete -g RG --cluster-name CLUSTER -n NAME --yes",
        manifest: "remove the entry (or the cluster from its clusters), then: aks-trustedaccess apply -f bindings.yaml --prune --yes",
        terraform: "remove the azurerm_kubernetes_cluster_trusted_access_role_binding whose source_resource_id is the deleted resource, then: terraform apply",
    },
    Guidance {
        id: "TA004",
        severity: Severity::Medium,
        score: "4.5",
        tags: &["security", "trusted-access", "identity"],
        why: "The service authenticates with its source's system-assigned identity; a source without one cannot use the binding, and one added later is trusted at once.",
        command: "az resource update --ids SOURCE_ID --set identity.type=SystemAssigned",
        manifest: "(the manifest's entry stays; the source's identity is set on the source)",
        terraform: "on the source resource:\n  identity {\n    type = \"SystemAssigned\"\n  }",
    },
    Guidance {
        id: "TA005",
        severity: Severity::Medium,
        score: "4.0",
        tags: &["security", "trusted-access", "catalog"],
        why: "A role removed from the location's catalog no longer grants what the service expects.",
        command: "aks-trustedaccess role list -l LOCATION -o table && aks-trustedaccess rolebinding update -g RG --cluster-name CLUSTER -n NAME --roles ROLE",
        manifest: "roles: [ROLE]   # a role 'aks-trustedaccess role list -l LOCATION' lists",
        terraform: "roles = [\"ROLE\"]   # in the azurerm_kubernetes_cluster_trusted_access_role_binding",
    },
    Guidance {
        id: "TA006",
        severity: Severity::Medium,
        score: "4.0",
        tags: &["security", "trusted-access", "reliability"],
        why: "A binding that did not provision may grant nothing, or not what its definition says.",
        command: "aks-trustedaccess rolebinding show -g RG --cluster-name CLUSTER -n NAME",
        manifest: "aks-trustedaccess apply -f bindings.yaml   # updates the binding to the entry",
        terraform: "terraform apply -replace=azurerm_kubernetes_cluster_trusted_access_role_binding.NAME",
    },
    Guidance {
        id: "TA007",
        severity: Severity::Low,
        score: "3.0",
        tags: &["security", "trusted-access", "limits"],
        why: "At 8 bindings no other service can be bound, so a needed one (Defender, Backup) cannot be added.",
        command: "aks-trustedaccess rolebinding list -g RG --cluster-name CLUSTER -o table",
        manifest: "aks-trustedaccess apply -f bindings.yaml --prune   # deletes the bindings no entry describes",
        terraform: "remove the azurerm_kubernetes_cluster_trusted_access_role_binding resources no longer needed",
    },
    Guidance {
        id: "TA008",
        severity: Severity::High,
        score: "7.5",
        tags: &["security", "trusted-access", "privilege"],
        why: "A powerful role (reading secrets, exec into pods, writing RBAC) gives whoever controls the source that power in the cluster; Trusted Access has been a path of privilege escalation.",
        command: "aks-trustedaccess role show -l LOCATION ROLE && aks-trustedaccess rolebinding update -g RG --cluster-name CLUSTER -n NAME --roles ROLE",
        manifest: "roles: [ROLE]   # the least powerful role the service needs",
        terraform: "roles = [\"ROLE\"]   # the least powerful role the service needs",
    },
    Guidance {
        id: "TA009",
        severity: Severity::Medium,
        score: "6.0",
        tags: &["security", "trusted-access", "policy"],
        why: "A service every cluster must bind (Defender, Backup) cannot reach this one.",
        command: "aks-trustedaccess rolebinding create -g RG --cluster-name CLUSTER -n NAME --source-resource-id SOURCE_ID --roles ROLE",
        manifest: BINDING_ENTRY,
        terraform: TA_BINDING_TF,
    },
    Guidance {
        id: "TA010",
        severity: Severity::Low,
        score: "1.0",
        tags: &["security", "trusted-access", "visibility"],
        why: "Whether the source still exists is unknown, so a dangling binding could be hidden here.",
        command: "az role assignment create --assignee PRINCIPAL_ID --role Reader --scope SOURCE_ID",
        manifest: "(not a binding: the auditing identity needs Reader on the source)",
        terraform: "resource \"azurerm_role_assignment\" \"audit_reader\" {\n  principal_id         = PRINCIPAL_ID\n  role_definition_name = \"Reader\"\n  scope                = SOURCE_ID\n}",
    },
    Guidance {
        id: "TA011",
        severity: Severity::Medium,
        score: "5.0",
        tags: &["security", "suppression"],
        why: "An accepted finding's acceptance ran out: the decision has to be made again.",
        command: "fix the finding, or set a new expires: date on the entry (with its owner's agreement)",
        manifest: "(the ignore file's entry, at the line the finding names)",
        terraform: "(none)",
    },
    Guidance {
        id: "TA012",
        severity: Severity::Low,
        score: "1.0",
        tags: &["security", "suppression"],
        why: "An entry that matches nothing hides nothing today but would hide a future finding unseen.",
        command: "remove the entry, or correct its rule or resource",
        manifest: "(the ignore file's entry, at the line the finding names)",
        terraform: "(none)",
    },
    Guidance {
        id: "TA013",
        severity: Severity::High,
        score: "7.0",
        tags: &["security", "trusted-access", "services", "reliability"],
        why: "The service (Backup, Azure ML, Defender) is set up on the cluster but cannot reach it: backups fail, computes do not work, agentless findings are missing. Azure Policy's built-ins check the extension and the backup instance, never the binding.",
        command: "aks-trustedaccess rolebinding create -g RG --cluster-name CLUSTER -n NAME --source-resource-id SOURCE_ID --roles ROLE   # every missing one: aks-trustedaccess apply --require backup,ml,defender --yes",
        manifest: BINDING_ENTRY,
        terraform: TA_BINDING_TF,
    },
    Guidance {
        id: "TA014",
        severity: Severity::Medium,
        score: "4.0",
        tags: &["security", "trusted-access", "services", "least-privilege"],
        why: "Rights no service uses are rights an attacker who controls the source can use (see source-access).",
        command: "aks-trustedaccess rolebinding delete -g RG --cluster-name CLUSTER -n NAME --yes",
        manifest: "remove the entry (or the cluster from its clusters), then: aks-trustedaccess apply -f bindings.yaml --prune --yes",
        terraform: "remove the azurerm_kubernetes_cluster_trusted_access_role_binding, then: terraform apply",
    },
    Guidance {
        id: "TA015",
        severity: Severity::Low,
        score: "3.0",
        tags: &["security", "trusted-access", "services", "reliability"],
        why: "Azure ML computes attached before their workspace's binding \"will not work\" (Azure ML's AKS Trusted Access guide).",
        command: "az ml compute detach -n COMPUTE -w WORKSPACE -g RG && az ml compute attach -n COMPUTE -w WORKSPACE -g RG --type Kubernetes --resource-id CLUSTER_ID",
        manifest: "(the binding's entry stays; the compute is attached again on the workspace)",
        terraform: "terraform apply -replace=azurerm_machine_learning_inference_cluster.COMPUTE",
    },
    Guidance {
        id: "TA016",
        severity: Severity::Low,
        score: "2.0",
        tags: &["security", "trusted-access", "services", "prerequisite"],
        why: "AKS documents the same subscription as a prerequisite of Trusted Access; cross-subscription bindings exist and some services refuse them (Backup: the vault must be in the cluster's subscription).",
        command: "aks-trustedaccess rolebinding show -g RG --cluster-name CLUSTER -n NAME",
        manifest: "sourceResourceId: SOURCE_ID   # a source in the cluster's subscription",
        terraform: "source_resource_id = SOURCE_ID   # a source in the cluster's subscription",
    },
    Guidance {
        id: "TA017",
        severity: Severity::High,
        score: "7.5",
        tags: &["security", "trusted-access", "privilege", "escalation"],
        why: "Whoever can drive the source acts in the cluster with the binding's Kubernetes rights: Backup Contributor on a vault reached cluster-admin-level rights through its binding (CERT/CC VU#284781; Microsoft: expected behaviour).",
        command: "az role assignment list --scope SOURCE_ID --include-inherited -o table && az role assignment delete --assignee PRINCIPAL_ID --role ROLE --scope SCOPE",
        manifest: "(not a binding: the role assignments are on the source's scopes)",
        terraform: "remove the azurerm_role_assignment that grants ROLE at SCOPE",
    },
];

/// A rule's guidance; every rule of the catalog has one (a unit test checks).
pub fn guidance(id: &str) -> Option<&'static Guidance> {
    GUIDANCE.iter().find(|g| g.id == id)
}

/// The rule's section in the README (`#ta003-dangling-source`), as GitHub writes heading
/// anchors for `#### TA003 dangling-source`.
pub fn anchor(id: &str, name: &str) -> String {
    format!("{}-{}", id.to_ascii_lowercase(), name)
}

/// Where reports link for a rule: the README of this version in the repository, or of the
/// crate's page until Cargo.toml names the repository (every release does: its workflow
/// refuses a tag otherwise).
pub fn help_uri(id: &str, name: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match env!("CARGO_PKG_REPOSITORY") {
        "" => format!(
            "https://crates.io/crates/aks-trustedaccess/{version}#{}",
            anchor(id, name)
        ),
        repo => format!(
            "{}/blob/v{version}/README.md#{}",
            repo.trim_end_matches('/'),
            anchor(id, name)
        ),
    }
}

/// `help.markdown`: why it matters and the three ways to fix it.
pub fn markdown(g: &Guidance, description: &str) -> String {
    format!(
        "{description}\n\n**Severity:** {} ({})\n\n{}\n\n**Fix it**\n\n- command:\n\n  ```sh\n  {}\n  ```\n\n- desired-state manifest:\n\n  ```yaml\n{}\n  ```\n\n- Terraform:\n\n  ```hcl\n{}\n  ```\n",
        g.severity.as_str(),
        g.score,
        g.why,
        g.command,
        indent(g.manifest),
        indent(g.terraform),
    )
}

/// `help.text`: the same, plain.
pub fn text(g: &Guidance, description: &str) -> String {
    format!(
        "{description} Severity: {} ({}). {}\nCommand: {}\nManifest: {}\nTerraform: {}",
        g.severity.as_str(),
        g.score,
        g.why,
        g.command,
        g.manifest.replace('\n', " "),
        g.terraform.replace('\n', " "),
    )
}

fn indent(block: &str) -> String {
    block
        .lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_guidance_whose_score_matches_its_severity() {
        for rule in crate::domain::rules::RULES {
            let g = guidance(rule.id).unwrap_or_else(|| panic!("{} has no guidance", rule.id));
            let score: f64 = g.score.parse().unwrap();
            let banded = match score {
                s if s >= 9.0 => Severity::Critical,
                s if s >= 7.0 => Severity::High,
                s if s >= 4.0 => Severity::Medium,
                s if s > 0.0 => Severity::Low,
                _ => panic!("{}: score {score} out of range", rule.id),
            };
            assert_eq!(banded, g.severity, "{}", rule.id);
            assert!(score <= 10.0);
            assert_eq!(g.tags.first(), Some(&"security"), "{}", rule.id);
            assert!(g.tags.len() <= 20);
        }
        assert_eq!(GUIDANCE.len(), crate::domain::rules::RULES.len());
    }
}
