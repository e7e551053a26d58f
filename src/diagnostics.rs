//! Everything the tool writes to stderr besides errors: warnings, `--verbose` request lines and
//! `--debug` request/response dumps, with credentials redacted. Outside `output/` (which owns
//! stdout) so the ARM layer can log without depending on the output layer.

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
    /// Colour the level prefixes as az does (stderr is a terminal, colour not turned off).
    pub color: bool,
}

/// A log level with az's colour (knack's: ERROR light red, WARNING yellow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// Wraps a whole message (all its lines, as knack colours one log record) in its level's colour;
/// the trailing newline stays outside, so the reset lands on the same line.
pub fn paint(level: Level, text: &str, color: bool) -> String {
    if !color || text.is_empty() {
        return text.to_string();
    }
    let start = match level {
        Level::Error => "\x1b[91m",
        Level::Warning => "\x1b[33m",
    };
    let (body, newline) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    format!("{start}{body}\x1b[0m{newline}")
}

impl Diagnostics {
    pub fn new(verbosity: Verbosity) -> Self {
        Diagnostics {
            verbosity,
            color: false,
        }
    }

    pub fn with_color(self, color: bool) -> Self {
        Diagnostics { color, ..self }
    }

    /// A progress line on stderr drawn from `template` (indicatif's; `len` for `{len}`): hidden
    /// under --only-show-errors, and indicatif draws only on a terminal. The one progress bar.
    pub fn progress(&self, template: &str, len: Option<u64>) -> indicatif::ProgressBar {
        let bar =
            indicatif::ProgressBar::with_draw_target(len, indicatif::ProgressDrawTarget::stderr());
        if self.verbosity == Verbosity::ErrorsOnly {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    pub fn warn(&self, message: &str) {
        let message = &*sanitize(message);
        if self.verbosity >= Verbosity::Normal {
            write_stderr(&paint(
                Level::Warning,
                &format!("WARNING: {message}\n"),
                self.color,
            ));
        }
    }

    /// A closing summary (audit); hidden by --only-show-errors.
    pub fn summary(&self, message: &str) {
        let message = &*sanitize(message);
        if self.verbosity >= Verbosity::Normal {
            write_stderr(&format!("{message}\n"));
        }
    }

    pub fn verbose(&self, message: &str) {
        if self.verbosity >= Verbosity::Verbose {
            write_stderr(&format!("INFO: {}\n", sanitize(message)));
        }
    }

    pub fn debug(&self, message: &str) {
        if self.verbosity >= Verbosity::Debug {
            write_stderr(&format!("DEBUG: {}\n", sanitize(&redact(message))));
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

/// Server text made safe for a terminal, a log or a report (the one sanitiser: tables, TSV,
/// plan and apply lines, reports, annotations, errors): control characters other than newline
/// and tab (ESC starting ANSI/OSC sequences, BEL, carriage return, backspace, DEL, the C1
/// range), the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, which reorder
/// what is shown) and the non-characters U+FFFE and U+FFFF (not allowed in XML: a JUnit report
/// holding one is not well-formed) become U+FFFD, so a hostile string can neither hide text nor
/// retitle or rewrite the terminal, nor break a report.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// "4m 12s", "2h 3m", "45s".
pub fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
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

    #[test]
    fn tokens_are_redacted() {
        let line = r#"Authorization: Bearer eyJ0eXAi.eyJhdWQi.sig and {"access_token":"abc"}"#;
        let red = redact(line);
        assert!(!red.contains("eyJ0eXAi"));
        assert!(!red.contains("abc"));
        assert!(red.contains("<redacted>"));
    }
}
