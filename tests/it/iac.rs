//! `export --format terraform|terraform-azapi|bicep|arm` against a generated fleet: golden files
//! (reviewed; `UPDATE_SNAPSHOTS=1` rewrites them), the Terraform parsed as HCL with every import
//! id re-parsed with azurerm's segment pattern and checked against its provider alias's
//! subscription, Bicep and ARM type strings and scopes, files refused rather than overwritten,
//! platform bindings left out unless asked, and export → plan of the manifest still clean.

use crate::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// azurerm's (go-azure-sdk's) TrustedAccessRoleBindingId, parsed case-sensitively:
/// subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/
/// Microsoft.ContainerService/managedClusters/{managedClusterName}/trustedAccessRoleBindings/
/// {trustedAccessRoleBindingName}.
fn parse_azurerm_id(id: &str) -> Option<[String; 4]> {
    let s: Vec<&str> = id.strip_prefix('/')?.split('/').collect();
    let fixed = [
        (0, "subscriptions"),
        (2, "resourceGroups"),
        (4, "providers"),
        (5, "Microsoft.ContainerService"),
        (6, "managedClusters"),
        (8, "trustedAccessRoleBindings"),
    ];
    (s.len() == 10
        && fixed.iter().all(|(i, v)| s[*i] == *v)
        && [1, 3, 7, 9].iter().all(|i| !s[*i].is_empty()))
    .then(|| [s[1], s[3], s[7], s[9]].map(String::from))
}

const SUB0: &str = "00000000-0000-4000-8000-000000000001";
const SUB1: &str = "00000001-0000-4000-8000-000000000002";
const DEFENDER_ROLE: &str = "Microsoft.Security/pricings/microsoft-defender-operator";

/// A 2 x 2 fleet, one binding per cluster, plus a Defender binding (a platform's) and a binding
/// whose roles are not in alphabetical order (the service's order must survive).
fn fleet() -> Emulator {
    let emu = Emulator::start_with(&["--fleet", "2x2x1"]);
    let defender =
        format!("/subscriptions/{SUB0}/providers/Microsoft.Security/pricings/containers");
    let created = run(emu.cli().args([
        "rolebinding",
        "create",
        "--subscription",
        SUB0,
        "-g",
        "rg-fleet-0",
        "--cluster-name",
        "aks-0-0",
        "-n",
        "defender-containers",
        "--source-resource-id",
        &defender,
        "--roles",
        DEFENDER_ROLE,
    ]));
    assert_eq!(created.code, 0, "{}", created.stderr);
    let updated = run(emu.cli().args([
        "rolebinding",
        "update",
        "--subscription",
        SUB1,
        "-g",
        "rg-fleet-1",
        "--cluster-name",
        "aks-1-1",
        "-n",
        "binding-0",
        "--roles",
        &format!("{ML_ROLE},{ML_ROLE_2}"),
    ]));
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    emu
}

fn export(emu: &Emulator, args: &[&str]) -> Run {
    run(emu
        .cli()
        .args(["export", "--subscription", SUB0, "--subscription", SUB1])
        .args(args))
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots/iac")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()))
        .replace("\r\n", "\n");
    assert_eq!(actual, expected, "{name} differs from its snapshot");
}

fn string_attr(body: &hcl::Body, key: &str) -> Option<String> {
    body.attributes()
        .find(|a| a.key() == key)
        .and_then(|a| match a.expr() {
            hcl::Expression::String(s) => Some(s.clone()),
            _ => None,
        })
}

fn expr_attr(body: &hcl::Body, key: &str) -> Option<String> {
    body.attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr().to_string())
}

#[test]
fn terraform_parses_as_hcl_and_every_import_belongs_to_its_alias() {
    let emu = fleet();
    let out = export(&emu, &["--format", "terraform"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshot("trustedaccess.tf", &out.stdout);
    assert!(
        out.stderr
            .contains("left out 1 bindings made by a platform"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("/defender-containers: made by Microsoft Defender for Cloud")
    );
    let body = hcl::parse(&out.stdout).expect("the export is HCL");
    let mut aliases: HashMap<String, String> = HashMap::new();
    for p in body.blocks().filter(|b| b.identifier() == "provider") {
        assert_eq!(p.labels()[0].as_str(), "azurerm");
        let alias = string_attr(p.body(), "alias").unwrap();
        let sub = string_attr(p.body(), "subscription_id").unwrap();
        assert!(
            aliases.insert(alias, sub).is_none(),
            "one alias per subscription"
        );
    }
    assert_eq!(aliases.len(), 2);
    let resources: HashMap<String, &hcl::Body> = body
        .blocks()
        .filter(|b| b.identifier() == "resource")
        .map(|b| {
            assert_eq!(
                b.labels()[0].as_str(),
                "azurerm_kubernetes_cluster_trusted_access_role_binding"
            );
            (
                format!("{}.{}", b.labels()[0].as_str(), b.labels()[1].as_str()),
                b.body(),
            )
        })
        .collect();
    assert_eq!(resources.len(), 4, "four bindings, the platform's left out");
    let imports: Vec<&hcl::Block> = body
        .blocks()
        .filter(|b| b.identifier() == "import")
        .collect();
    assert_eq!(imports.len(), 4);
    for import in imports {
        let to = expr_attr(import.body(), "to").unwrap();
        let id = string_attr(import.body(), "id").unwrap();
        let [sub, group, cluster, name] =
            parse_azurerm_id(&id).unwrap_or_else(|| panic!("azurerm cannot parse {id}"));
        let provider = expr_attr(import.body(), "provider").unwrap();
        let alias = provider.strip_prefix("azurerm.").unwrap();
        assert_eq!(aliases[alias], sub, "{id} imported through {provider}");
        let resource = resources[&to];
        assert_eq!(expr_attr(resource, "provider").unwrap(), provider);
        assert_eq!(string_attr(resource, "name").unwrap(), name);
        assert_eq!(
            string_attr(resource, "kubernetes_cluster_id").unwrap(),
            format!(
                "/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
            )
        );
    }
    // The service's order of roles, not the alphabet's.
    let updated = resources
        .values()
        .find(|r| {
            string_attr(r, "kubernetes_cluster_id")
                .unwrap()
                .ends_with("/aks-1-1")
        })
        .unwrap();
    assert_eq!(
        expr_attr(updated, "roles")
            .unwrap()
            .replace([' ', '\n'], ""),
        format!("[\"{ML_ROLE}\",\"{ML_ROLE_2}\"]")
    );
    // Deterministic: the same fleet, the same text.
    assert_eq!(export(&emu, &["--format", "terraform"]).stdout, out.stdout);
}

#[test]
fn include_platform_keeps_the_platform_binding_and_azapi_needs_no_alias() {
    let emu = fleet();
    let out = export(&emu, &["--format", "terraform-azapi", "--include-platform"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshot("azapi.tf", &out.stdout);
    assert!(!out.stderr.contains("left out"), "{}", out.stderr);
    let body = hcl::parse(&out.stdout).expect("the export is HCL");
    let resources: Vec<&hcl::Block> = body
        .blocks()
        .filter(|b| b.identifier() == "resource")
        .collect();
    assert_eq!(resources.len(), 5);
    for r in &resources {
        assert_eq!(r.labels()[0].as_str(), "azapi_resource");
        assert_eq!(
            string_attr(r.body(), "type").unwrap(),
            "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01"
        );
        let parent = string_attr(r.body(), "parent_id").unwrap();
        let name = string_attr(r.body(), "name").unwrap();
        let id = format!("{parent}/trustedAccessRoleBindings/{name}");
        let label = r.labels()[1].as_str();
        let import = body
            .blocks()
            .find(|b| {
                b.identifier() == "import"
                    && expr_attr(b.body(), "to").unwrap() == format!("azapi_resource.{label}")
            })
            .unwrap();
        assert_eq!(string_attr(import.body(), "id").unwrap(), id);
        assert!(parse_azurerm_id(&id).is_some(), "{id}");
    }
    assert_eq!(
        body.blocks()
            .filter(|b| b.identifier() == "provider")
            .count(),
        1
    );
}

#[test]
fn bicep_writes_one_module_per_group_and_never_overwrites() {
    let emu = fleet();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("infra");
    let out_arg = out_dir.to_str().unwrap();
    let no_dir = export(&emu, &["--format", "bicep"]);
    assert_eq!(no_dir.code, 2, "{}", no_dir.stderr);
    assert!(
        no_dir.stderr.contains("add --output-dir DIR"),
        "{}",
        no_dir.stderr
    );
    let requests = emu.requests().len();
    let out = export(&emu, &["--format", "bicep", "--output-dir", out_arg]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(emu.requests().len() > requests);
    let main = std::fs::read_to_string(out_dir.join("main.bicep")).unwrap();
    snapshot("main.bicep", &main);
    assert!(main.contains("targetScope = 'subscription'"));
    for (sub, group) in [(SUB0, "rg-fleet-0"), (SUB1, "rg-fleet-1")] {
        let module = format!("modules/{sub}_{group}.bicep");
        assert!(
            main.contains(&format!(
                "module sub_{}_rg_fleet_{} '{module}' = {{",
                sub.replace('-', "_"),
                &group[9..]
            )),
            "{main}"
        );
        assert!(
            main.contains(&format!("scope: resourceGroup('{sub}', '{group}')")),
            "{main}"
        );
        let text = std::fs::read_to_string(out_dir.join(&module)).unwrap();
        snapshot(&format!("{group}.bicep"), &text);
        assert_eq!(
            text.matches("'Microsoft.ContainerService/managedClusters@2026-08-01' existing = {")
                .count(),
            2
        );
        assert_eq!(text.matches("'Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01' = {").count(), 2);
    }
    // A second export refuses to replace the files (exit 2, nothing written), --force replaces.
    std::fs::write(out_dir.join("main.bicep"), "mine").unwrap();
    let again = export(&emu, &["--format", "bicep", "--output-dir", out_arg]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("3 files already exist, nothing was written"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("main.bicep")).unwrap(),
        "mine"
    );
    let forced = export(
        &emu,
        &["--format", "bicep", "--output-dir", out_arg, "--force"],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("main.bicep")).unwrap(),
        main
    );
}

#[test]
fn arm_template_nests_one_deployment_per_group() {
    let emu = fleet();
    let out = export(&emu, &["--format", "arm", "--api-version", "2024-05-01"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshot("azuredeploy.json", &out.stdout);
    let t: Value = json(&out.stdout);
    assert_eq!(
        t["$schema"],
        "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
    );
    assert_eq!(t["contentVersion"], "1.0.0.0");
    let deployments = t["resources"].as_array().unwrap();
    assert_eq!(deployments.len(), 2);
    let mut seen = 0;
    for d in deployments {
        assert_eq!(d["type"], "Microsoft.Resources/deployments");
        let sub = d["subscriptionId"].as_str().unwrap();
        let group = d["resourceGroup"].as_str().unwrap();
        assert!(d["name"].as_str().unwrap().len() <= 64);
        assert_eq!(d["properties"]["mode"], "Incremental");
        assert_eq!(
            d["properties"]["expressionEvaluationOptions"]["scope"],
            "inner"
        );
        let inner = &d["properties"]["template"];
        assert_eq!(
            inner["$schema"],
            "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
        );
        for r in inner["resources"].as_array().unwrap() {
            assert_eq!(
                r["type"],
                "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings"
            );
            assert_eq!(r["apiVersion"], "2024-05-01");
            let name = r["name"].as_str().unwrap();
            assert!(name.starts_with("[format('{0}/{1}', 'aks-"), "{name}");
            let source = r["properties"]["sourceResourceId"].as_str().unwrap();
            assert!(source.starts_with(&format!("/subscriptions/{sub}/resourceGroups/{group}/")));
            assert!(!r["properties"]["roles"].as_array().unwrap().is_empty());
            seen += 1;
        }
    }
    assert_eq!(seen, 4);
}

#[test]
fn formats_and_their_flags_are_checked_before_any_request() {
    let emu = Emulator::start();
    for (args, message) in [
        (
            vec!["--format", "terraform", "-o", "json"],
            "-o and --query do not apply to --format terraform",
        ),
        (
            vec!["--format", "yaml", "--include-platform"],
            "apply to code formats only",
        ),
        (
            vec!["--format", "arm", "--api-version", "latest"],
            "--api-version 'latest' is not YYYY-MM-DD",
        ),
        (
            vec!["--format", "json", "-o", "yaml"],
            "--format and -o ask for different formats",
        ),
    ] {
        let out = run(emu.cli().arg("export").args(&args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn the_manifest_as_json_then_plan_of_the_yaml_finds_nothing() {
    let emu = fleet();
    let as_json = export(&emu, &["--format", "json"]);
    assert_eq!(as_json.code, 0, "{}", as_json.stderr);
    let value = json(&as_json.stdout);
    assert_eq!(
        value["bindings"].as_array().unwrap().len(),
        5,
        "the manifest keeps every binding"
    );
    let yaml = export(&emu, &[]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(&file, &yaml.stdout).unwrap();
    let plan = run(emu.cli().args(["plan", "-f", file.to_str().unwrap()]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
}
