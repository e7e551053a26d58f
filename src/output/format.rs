//! The output formats (`-o`, named as az names them) and the audit's report formats (`--report`):
//! defined here, not in the clap tree, so the output layer does not depend on the command line.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// JSON (the default, whatever the terminal).
    Json,
    /// Coloured JSON on a terminal.
    Jsonc,
    /// YAML, as az prints it.
    Yaml,
    /// Coloured YAML on a terminal.
    Yamlc,
    /// A human-readable table.
    Table,
    /// Tab-separated values, no header.
    Tsv,
    /// Nothing.
    None,
}

impl OutputFormat {
    /// `jsonc` and `yamlc`, the formats that colour a terminal.
    pub fn colours(self) -> bool {
        matches!(self, OutputFormat::Jsonc | OutputFormat::Yamlc)
    }
}

/// `--report FORMAT=PATH` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Sarif,
    Junit,
    Markdown,
    /// GitLab Code Quality (Code Climate's JSON subset).
    CodeClimate,
}

impl ReportFormat {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "sarif" => Some(ReportFormat::Sarif),
            "junit" => Some(ReportFormat::Junit),
            "markdown" | "md" => Some(ReportFormat::Markdown),
            "codeclimate" => Some(ReportFormat::CodeClimate),
            _ => None,
        }
    }
}
