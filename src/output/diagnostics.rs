//! Everything the tool writes to stderr besides errors: warnings, `--verbose` request lines and
//! `--debug` request/response dumps, with credentials redacted.

use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// `--only-show-errors`: no warnings.
    ErrorsOnly,
    #[default]
    Normal,
    /// `--verbose`: one line per request.
    Verbose,
    /// `--debug`: headers and bodies too.
    Debug,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Diagnostics {
    pub verbosity: Verbosity,
}

impl Diagnostics {
    pub fn new(verbosity: Verbosity) -> Self {
        Diagnostics { verbosity }
    }

    pub fn warn(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_stderr(&format!("WARNING: {message}\n"));
        }
    }

    /// A closing summary (audit); hidden by --only-show-errors.
    pub fn summary(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_stderr(&format!("{message}\n"));
        }
    }

    pub fn verbose(&self, message: &str) {
        if self.verbosity >= Verbosity::Verbose {
            write_stderr(&format!("INFO: {message}\n"));
        }
    }

    pub fn debug(&self, message: &str) {
        if self.verbosity >= Verbosity::Debug {
            write_stderr(&format!("DEBUG: {}\n", redact(message)));
        }
    }

    pub fn is_debug(&self) -> bool {
        self.verbosity >= Verbosity::Debug
    }
}

/// Writes to stderr, ignoring a closed stderr (nothing useful can be done about it).
pub fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Removes anything that looks like a credential from a log line: bearer tokens, JWTs and
/// `access_token` values.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&redact_word(word));
    }
    out
}

fn redact_word(word: &str) -> String {
    // A JWT: three base64url parts, the first starting with `eyJ` (`{"`).
    let trimmed = word.trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | ';'));
    if trimmed.starts_with("eyJ") && trimmed.matches('.').count() >= 2 {
        return word.replace(trimmed, "<redacted>");
    }
    if let Some(pos) = word.find("access_token") {
        return format!("{}access_token<redacted>", &word[..pos]);
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        let line = r#"Authorization: Bearer eyJ0eXAi.eyJhdWQi.sig and {"access_token":"abc"}"#;
        let red = redact(line);
        assert!(!red.contains("eyJ0eXAi"));
        assert!(!red.contains("abc"));
        assert!(red.contains("<redacted>"));
    }
}
