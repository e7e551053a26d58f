//! Shell completion scripts (clap_complete) and the man page (clap_mangen), generated from the
//! same clap tree as the help.

use crate::cli::Cli;
use crate::error::{Error, Result};
use clap::CommandFactory;

pub fn completion(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "aks-trustedaccess", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn man_page() -> Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::Io(format!("cannot render the man page: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
