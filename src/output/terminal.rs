//! The terminal: whether stdout/stdin are terminals, and the delete prompt (text is made safe
//! to show by `diagnostics::sanitize`, the one sanitiser).

use crate::error::Result;
use std::io::{BufRead, IsTerminal, Write};

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks a yes/no question on the terminal. `None` when stdin is not a terminal (az's rule:
/// no prompt without a tty).
pub fn confirm(question: &str) -> Result<Option<bool>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    loop {
        {
            let mut err = std::io::stderr().lock();
            write!(err, "{question} (y/n): ")?;
            err.flush()?;
        }
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            // Ctrl-D: end the prompt's line, so the shell prompt (or the error) starts on its own.
            let mut err = std::io::stderr().lock();
            writeln!(err)?;
            err.flush()?;
            return Ok(Some(false));
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Some(true)),
            "n" | "no" => return Ok(Some(false)),
            _ => continue,
        }
    }
}
