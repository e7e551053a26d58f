//! The one integration-test crate: runs the built `aks-trustedaccess` against the built
//! `aks-trustedaccess-emulator` on 127.0.0.1, asserting stdout, stderr, exit codes and the exact
//! requests the emulator received.

mod audit;
mod audit_services;
mod auth;
mod az_flows;
mod ci_systems;
mod consistency;
mod conventions;
mod deletes;
mod desired;
mod docs;
mod doctor;
mod emulator;
mod emulator_arm;
mod emulator_exec;
mod emulator_services;
mod fleet_answers;
mod graph;
mod harness;
mod help;
mod history;
mod history_workspace;
mod hostile;
mod hostile_graph;
mod hostile_properties;
mod iac;
mod inputs;
#[cfg(unix)]
mod installer;
mod layout;
mod output;
mod prechecks;
mod properties;
mod proxies;
mod query;
mod query_differential;
mod races;
mod readme;
mod reliability;
mod report_files;
mod reports;
mod role;
mod rolebinding;
mod roundtrip;
mod sanitise;
mod service_reach;
mod session;
mod settings;
mod signals;
mod sources;
mod suppressions;
#[cfg(unix)]
mod terminal;
#[cfg(target_os = "linux")]
mod trust_store;
