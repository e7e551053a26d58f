//! The terminal: whether stdout/stdin are terminals, the delete prompt, and
//! making server text safe to show (no escape sequences that retitle or rewrite the terminal).

use crate::error::Result;
use std::io::{BufRead, IsTerminal, Write};

pub use crate::diagnostics::sanitize;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_neutralised() {
        assert_eq!(sanitize("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            sanitize("a\x1b]0;pwned\x07b\x1b[2Jc\rd\u{9b}e\x7f"),
            "a\u{fffd}]0;pwned\u{fffd}b\u{fffd}[2Jc\u{fffd}d\u{fffd}e\u{fffd}"
        );
        assert_eq!(
            sanitize("a\u{202e}b\u{2066}c\u{fffe}d\u{ffff}e\u{1fffe}"),
            "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}e\u{1fffe}"
        );
    }
}
