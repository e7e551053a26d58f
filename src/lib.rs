//! aks-trustedaccess: an az-compatible CLI for AKS Trusted Access, and the offline ARM emulator it
//! is tested against. The module tree is shared by both binaries and the tests.

pub mod app;
pub mod arm;
pub mod azconfig;
pub mod cli;
pub mod commands;
pub mod context;
pub mod diagnostics;
pub mod domain;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod output;
pub mod parse_errors;
pub mod resolve;
pub mod settings;
pub mod shell_integration;
pub mod signals;
pub mod subscription;
