//! The terminal: whether stdout/stdin are terminals, colour choice, and the delete prompt.

use crate::error::Result;
use std::io::{BufRead, IsTerminal, Write};

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Colour only on a terminal, and never when `NO_COLOR` is set (to anything non-empty).
pub fn color_allowed() -> bool {
    stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
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
            return Ok(Some(false));
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Some(true)),
            "n" | "no" => return Ok(Some(false)),
            _ => continue,
        }
    }
}
