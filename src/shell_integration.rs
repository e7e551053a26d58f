//! Shell completion scripts (clap_complete) and the man pages (clap_mangen), generated from the
//! same clap tree as the help.

use crate::cli::Cli;
use crate::error::{Error, Result};
use clap::CommandFactory;
use std::path::{Path, PathBuf};

const BIN: &str = "aks-trustedaccess";

pub fn completion(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    match shell {
        clap_complete::Shell::Bash => fix_bash_case_labels(&script),
        _ => script,
    }
}

/// clap_complete's bash script names each subcommand state twice: where it walks the words it
/// writes `aks__trustedaccess__subcmd__role`, where it completes it writes
/// `aks__subcmd__trustedaccess__subcmd__role` (it turns the binary name's `-` into a subcommand
/// separator there), so nothing below the top level ever completes. Use the walk's spelling.
fn fix_bash_case_labels(script: &str) -> String {
    let walked = BIN.replace('-', "__");
    let mangled = BIN.replace('-', "__subcmd__");
    script.replace(&mangled, &walked)
}

/// Writes one page per command (`aks-trustedaccess.1`, `aks-trustedaccess-role-list.1`, …) into
/// `dir`, so every page the top page refers to exists; returns the files written.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    let failed = |e: std::io::Error| {
        Error::Io(format!(
            "cannot write man pages into {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(failed)?;
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(failed)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(BIN) && n.ends_with(".1"))
        })
        .collect();
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap_complete offers hidden options too (its bash script lists every long name), so an
    /// option hidden from `--help` would still be completed: every option is documented instead.
    #[test]
    fn no_option_is_hidden_from_help_while_completion_offers_it() {
        fn walk(cmd: &clap::Command, path: &str, hidden: &mut Vec<String>) {
            for arg in cmd.get_arguments().filter(|a| a.is_hide_set()) {
                hidden.push(format!("{path} {}", arg.get_id()));
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), hidden);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut hidden = Vec::new();
        walk(&cmd, BIN, &mut hidden);
        hidden.retain(|h| !h.ends_with(" help") && !h.ends_with(" version"));
        assert!(hidden.is_empty(), "hidden options: {hidden:?}");
    }
}
