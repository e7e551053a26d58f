//! Reports CI systems read, written beside the normal output (`--report FORMAT=PATH`): SARIF
//! 2.1.0 for code scanning, JUnit XML (a testcase per resource and rule), a Markdown summary
//! for `$GITHUB_STEP_SUMMARY`, GitLab Code Quality JSON; and GitHub Actions annotations. Reports are streamed: each
//! checked resource (a `Subject`) goes to every report as it is produced (`ReportStream::push`),
//! spooled to temporary files where the report needs another order, and the files are put
//! together at the end (`finish`), so memory stays bounded with the fleet's size.

mod codeclimate;
mod junit;
mod markdown;
mod sarif;
mod spool;

use crate::error::{Error, Result};
use crate::output::format::ReportFormat;
pub use sarif::MAX_RESULTS as SARIF_MAX_RESULTS;
use std::path::{Path, PathBuf};
/// A rule as reports describe it.
#[derive(Debug, Clone)]
pub struct ReportRule {
    pub id: String,
    pub name: String,
    /// error, warning or note.
    pub level: String,
    pub description: String,
    pub help: String,
}

#[derive(Debug, Clone)]
pub struct ReportFinding {
    pub rule: String,
    pub level: String,
    /// The ARM id the finding is about.
    pub resource: String,
    pub message: String,
    /// Already in the baseline.
    pub known: bool,
    /// A check that could not be made: the message says why.
    pub unknown: bool,
    /// Accepted by an ignore-file entry: the justification (reason, owner, expiry, where).
    pub suppressed: Option<String>,
    /// The finding is about a line of a file (`resource` is then the file's path): an ignore
    /// file's entry.
    pub line: Option<u64>,
}

/// One checked resource (a cluster): its findings, or why it could not be checked.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub resource: String,
    pub findings: Vec<ReportFinding>,
    pub error: Option<String>,
}

/// How severe an entry is, most severe first: the order SARIF results and the Markdown list
/// come out in. An unknown comes right after the errors: it keeps the exit code from 0 at any
/// `--fail-level`, and one must not be cut from a report while warnings are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error = 0,
    Unknown = 1,
    Warning = 2,
    Note = 3,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Error,
        Severity::Unknown,
        Severity::Warning,
        Severity::Note,
    ];

    pub fn of(f: &ReportFinding) -> Self {
        match f.level.as_str() {
            _ if f.unknown => Severity::Unknown,
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            _ => Severity::Note,
        }
    }
}

/// Where the full list of findings is, for the Markdown summary's cut line.
fn elsewhere(targets: &[(ReportFormat, PathBuf)]) -> String {
    let mut places: Vec<String> = targets
        .iter()
        .filter(|(f, _)| *f != ReportFormat::Markdown)
        .map(|(f, p)| {
            let name = match f {
                ReportFormat::Sarif => "SARIF",
                ReportFormat::CodeClimate => "Code Quality",
                _ => "JUnit",
            };
            format!("the {name} report ({})", p.display())
        })
        .collect();
    places.push("the audit's JSON output (-o json)".into());
    places.join(", ")
}

enum Writer {
    CodeClimate(codeclimate::CodeClimateWriter),
    Sarif(sarif::SarifWriter),
    Junit(junit::JunitWriter),
    Markdown(markdown::MarkdownWriter),
}

/// Every report asked for, filled as subjects are produced.
pub struct ReportStream {
    rules: Vec<ReportRule>,
    writers: Vec<(Writer, PathBuf)>,
}

impl ReportStream {
    pub fn new(rules: Vec<ReportRule>, targets: &[(ReportFormat, PathBuf)]) -> Result<Self> {
        // Before any request: a report that cannot be written is said now, not after the audit.
        for (_, path) in targets {
            crate::output::files::check_writable(path)?;
        }
        let writers = targets
            .iter()
            .map(|(format, path)| {
                let writer = match format {
                    ReportFormat::CodeClimate => Writer::CodeClimate(
                        codeclimate::CodeClimateWriter::new().map_err(spool_failed)?,
                    ),
                    ReportFormat::Sarif => {
                        Writer::Sarif(sarif::SarifWriter::new().map_err(spool_failed)?)
                    }
                    ReportFormat::Junit => {
                        Writer::Junit(junit::JunitWriter::new(&rules).map_err(spool_failed)?)
                    }
                    ReportFormat::Markdown => {
                        Writer::Markdown(markdown::MarkdownWriter::new(&rules, elsewhere(targets)))
                    }
                };
                Ok((writer, path.clone()))
            })
            .collect::<Result<_>>()?;
        Ok(ReportStream { rules, writers })
    }

    /// No report was asked for.
    pub fn is_empty(&self) -> bool {
        self.writers.is_empty()
    }

    pub fn push(&mut self, subject: &Subject) -> Result<()> {
        for (writer, _) in &mut self.writers {
            match writer {
                Writer::CodeClimate(w) => w.push(subject).map_err(spool_failed)?,
                Writer::Sarif(w) => w.push(&self.rules, subject).map_err(spool_failed)?,
                Writer::Junit(w) => w.push(&self.rules, subject).map_err(spool_failed)?,
                Writer::Markdown(w) => w.push(&self.rules, subject),
            }
        }
        Ok(())
    }

    /// Puts each report together and writes it to its path.
    pub fn finish(self) -> Result<()> {
        let rules = self.rules;
        for (writer, path) in self.writers {
            write_whole(&path, |out| match writer {
                Writer::CodeClimate(w) => w.finish(out),
                Writer::Sarif(w) => w.finish(&rules, out),
                Writer::Junit(w) => w.finish(&rules, out),
                Writer::Markdown(w) => out.write_all(w.finish(&rules).as_bytes()),
            })?;
        }
        Ok(())
    }
}

fn spool_failed(e: std::io::Error) -> Error {
    Error::Io(format!("cannot spool a report to a temporary file: {e}"))
}

/// Writes a report whole (the file-writing layer: `output::files`).
fn write_whole(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    crate::output::files::write_whole(path, fill)
}

/// Where a finding points: the resource's page in the Azure portal.
pub fn portal_uri(resource: &str) -> String {
    format!("https://portal.azure.com/#resource{resource}")
}

/// A GitHub Actions workflow command for a new finding (`::error`/`::warning`/`::notice`),
/// escaped as the runner expects.
pub fn annotation(f: &ReportFinding, rule_name: &str) -> String {
    annotation_at(f, rule_name, None)
}

/// An annotation, on a file's line when the finding is about one (an ignore file's entry).
pub fn annotation_at(f: &ReportFinding, rule_name: &str, file: Option<(&str, u64)>) -> String {
    let command = match f.level.as_str() {
        "error" => "error",
        "warning" => "warning",
        _ => "notice",
    };
    let title = format!("{} {rule_name}", f.rule);
    let at = file.map_or(String::new(), |(path, line)| {
        format!("file={},line={line},", escape_property(path))
    });
    format!(
        "::{command} {at}title={}::{}\n",
        escape_property(&title),
        escape_data(&format!("{} ({})", f.message, f.resource))
    )
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_escaped_so_a_message_cannot_start_another_command() {
        let f = ReportFinding {
            rule: "TA003".into(),
            level: "error".into(),
            resource: "/s".into(),
            message: "a\n::error::injected 100%".into(),
            known: false,
            unknown: false,
            suppressed: None,
            line: None,
        };
        assert_eq!(
            annotation(&f, "dangling-source"),
            "::error title=TA003 dangling-source::a%0A::error::injected 100%25 (/s)\n"
        );
    }

    fn finding(rule: &str, level: &str, n: usize, unknown: bool) -> ReportFinding {
        ReportFinding {
            rule: rule.into(),
            level: level.into(),
            resource: format!(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c{n}"
            ),
            message: format!("finding {n} {}", "x".repeat(400)),
            known: false,
            unknown,
            suppressed: None,
            line: None,
        }
    }

    fn rules() -> Vec<ReportRule> {
        ["TA003", "TA007", "TA008", "TA010"]
            .iter()
            .map(|id| ReportRule {
                id: id.to_string(),
                name: "r".into(),
                level: "error".into(),
                description: "d".into(),
                help: "h".into(),
            })
            .collect()
    }

    /// 30,000 subjects whose findings come least severe first: the SARIF log keeps 25,000
    /// results, most severe first, and says how many it left out; the Markdown summary stays
    /// under 1 MiB and says where the rest is.
    #[test]
    fn streamed_reports_put_the_most_severe_first_and_stay_within_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        let targets = [
            (ReportFormat::Sarif, dir.path().join("a.sarif")),
            (ReportFormat::Markdown, dir.path().join("a.md")),
            (ReportFormat::Junit, dir.path().join("a.xml")),
        ];
        let mut stream = ReportStream::new(rules(), &targets).unwrap();
        for n in 0..30_000 {
            let f = match n * 4 / 30_000 {
                0 => finding("TA008", "note", n, false),
                1 => finding("TA007", "warning", n, false),
                2 => finding("TA010", "note", n, true),
                _ => finding("TA003", "error", n, false),
            };
            stream
                .push(&Subject {
                    name: format!("c{n}"),
                    resource: f.resource.clone(),
                    findings: vec![f],
                    error: None,
                })
                .unwrap();
        }
        stream.finish().unwrap();
        let sarif: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&targets[0].1).unwrap()).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), SARIF_MAX_RESULTS);
        let order: Vec<(&str, &str)> = results
            .iter()
            .map(|r| (r["kind"].as_str().unwrap(), r["level"].as_str().unwrap()))
            .collect();
        assert_eq!(order[0], ("fail", "error"));
        assert_eq!(order[7_500], ("open", "none"));
        assert_eq!(order[15_000], ("fail", "warning"));
        assert_eq!(order[24_999], ("fail", "note"));
        let said =
            sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
                .as_str()
                .unwrap();
        assert!(
            said.starts_with("5000 of 30000 results are left out"),
            "{said}"
        );
        let md = std::fs::read_to_string(&targets[1].1).unwrap();
        assert!(md.len() < 1024 * 1024, "{}", md.len());
        assert!(
            md.contains("| TA010 r | error | 0 | 0 | 7500 |"),
            "{}",
            &md[..600]
        );
        let first = md.find("| error | TA003").unwrap();
        let unknown = md.find("| unknown | TA010").unwrap_or(usize::MAX);
        assert!(first < unknown);
        assert!(md.contains("more findings at warning level or above (or unknown) not shown here; the full list is in the SARIF report ("));
        let junit = std::fs::read_to_string(&targets[2].1).unwrap();
        assert_eq!(junit.matches("<testcase ").count(), 4 * 30_000);
        assert_eq!(junit.matches("<error type=\"unknown\"").count(), 7_500);
    }
}
