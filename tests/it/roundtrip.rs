//! `export` → `plan` round-trips on every state the service allows, over generated fleets
//! (a property test, fixed seed): one source under two names, platform bindings (a Defender
//! source, Backup's vault, Backup's application-made binding on an ordinary source), and
//! bindings left `Failed`, `Canceled` or being `Deleting` (left out of the manifest with a
//! warning, and kept by `plan`): `plan -f <(export)` exits 0 with nothing to do.

use crate::harness::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

/// A fixed seed, so every run tries the same fleets (PROPTEST_RNG_SEED explores others).
#[expect(
    clippy::print_stderr,
    reason = "shown by the test harness only when a case fails"
)]
fn config() -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_206);
    eprintln!("proptest seed {seed} (PROPTEST_RNG_SEED={seed} replays these cases)");
    ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A source and a role that fits it: three workspaces, Defender's pricing, a backup vault.
fn source_and_role(k: usize) -> (String, &'static str) {
    match k {
        0..=2 => (
            format!(
                "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws{k}"
            ),
            "Microsoft.MachineLearningServices/workspaces/mlworkload",
        ),
        3 => (
            format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers"),
            "Microsoft.Security/pricings/microsoft-defender-operator",
        ),
        _ => (
            format!(
                "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/vault"
            ),
            "Microsoft.DataProtection/backupVaults/backup-operator",
        ),
    }
}

/// One binding: (source 0..5, state 0..6, made by 0..3) → its seed, named `b{i}`.
fn binding(i: usize, (k, state, maker): (usize, usize, usize)) -> Value {
    let (source, role) = source_and_role(k);
    let state = [
        "Succeeded",
        "Succeeded",
        "Succeeded",
        "Failed",
        "Canceled",
        "Deleting",
    ][state];
    let mut b = json!({"name": format!("b{i}"), "sourceResourceId": source, "roles": [role],
                       "provisioningState": state});
    match maker {
        1 => b["systemData"] = json!({"createdBy": "Azure Backup", "createdByType": "Application"}),
        2 => b["systemData"] = json!({"createdBy": "me@contoso.com", "createdByType": "User"}),
        _ => {}
    }
    b
}

fn fleet() -> impl Strategy<Value = Vec<Vec<(usize, usize, usize)>>> {
    prop::collection::vec(
        prop::collection::vec((0..5usize, 0..6usize, 0..3usize), 0..=8),
        1..=3,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn export_then_plan_finds_nothing_to_do(clusters in fleet()) {
        let seed = json!({
            "subscriptions": [{"subscriptionId": SUB, "displayName": "Sub"}],
            "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
            "clusters": clusters.iter().enumerate().map(|(c, bindings)| json!({
                "subscriptionId": SUB, "resourceGroup": "rg1", "name": format!("c{c}"),
                "location": "eastus", "identityType": "SystemAssigned",
                "bindings": bindings.iter().enumerate().map(|(i, b)| binding(i, *b)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let emu = Emulator::start_with_state(&seed, &[]);
        let export = run(emu.cli().args(["export", "-o", "json"]));
        prop_assert_eq!(export.code, 0, "{}", export.stderr);
        let unsettled = clusters.iter().flatten().filter(|b| b.1 >= 3).count();
        prop_assert_eq!(
            export.stderr.matches("WARNING: left out of the manifest: binding ").count(),
            unsettled,
            "{}", export.stderr
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.json");
        std::fs::write(&file, &export.stdout).unwrap();
        let plan = run(emu.cli().args(["plan", "-f", file.to_str().unwrap(), "-o", "json"]));
        prop_assert_eq!(plan.code, 0, "{}\n{}", export.stdout, plan.stderr);
        let actions = json(&plan.stdout);
        prop_assert!(
            actions.as_array().unwrap().iter().all(|a| a["action"] == "noop"),
            "{}", plan.stdout
        );
    }
}
