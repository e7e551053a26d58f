//! Reports CI systems read, written beside the normal output (`--report FORMAT=PATH`): SARIF
//! 2.1.0 for code scanning, JUnit XML (a testcase per resource and rule), a Markdown summary
//! for `$GITHUB_STEP_SUMMARY`; and GitHub Actions annotations. Any command that checks rules
//! can fill a `Report` (rules, then one subject per checked resource).

use crate::error::{Error, Result};
pub use crate::resolve::ReportFormat;
use serde_json::{Value, json};
use std::fmt::Write as _;

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
}

/// One checked resource (a cluster): its findings, or why it could not be checked.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub resource: String,
    pub findings: Vec<ReportFinding>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rules: Vec<ReportRule>,
    pub subjects: Vec<Subject>,
}

/// Where a finding points: the resource's page in the Azure portal.
pub fn portal_uri(resource: &str) -> String {
    format!("https://portal.azure.com/#resource{resource}")
}

impl Report {
    pub fn render(&self, format: ReportFormat) -> String {
        match format {
            ReportFormat::Sarif => {
                serde_json::to_string_pretty(&self.sarif()).unwrap_or_default() + "\n"
            }
            ReportFormat::Junit => self.junit(),
            ReportFormat::Markdown => self.markdown(),
        }
    }

    /// Writes the report whole (a temporary file renamed into place, never half a report).
    pub fn write(&self, format: ReportFormat, path: &std::path::Path) -> Result<()> {
        let failed = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        std::io::Write::write_all(&mut file, self.render(format).as_bytes()).map_err(failed)?;
        file.persist(path).map_err(|e| failed(e.error))?;
        Ok(())
    }

    pub fn sarif(&self) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.name,
                    "shortDescription": {"text": r.description},
                    "fullDescription": {"text": r.description},
                    "help": {"text": r.help},
                    "defaultConfiguration": {"level": r.level},
                })
            })
            .collect();
        let results: Vec<Value> = self
            .subjects
            .iter()
            .flat_map(|s| s.findings.iter())
            .map(|f| {
                let index = self.rules.iter().position(|r| r.id == f.rule);
                let mut result = json!({
                    "ruleId": f.rule,
                    "level": f.level,
                    "message": {"text": f.message},
                    "locations": [{
                        "physicalLocation": {"artifactLocation": {"uri": portal_uri(&f.resource)}},
                        "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
                    }],
                    "partialFingerprints": {"resourceRule/v1": format!("{}|{}", f.rule, f.resource.to_ascii_lowercase())},
                    "baselineState": if f.known { "unchanged" } else { "new" },
                });
                if let Some(i) = index {
                    result["ruleIndex"] = json!(i);
                }
                result
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "aks-trustedaccess",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "results": results,
            }],
        })
    }

    /// A testsuite per rule, a testcase per subject and rule: `failure` for a finding at
    /// warning or error level (new or known), `error` when the subject could not be checked.
    pub fn junit(&self) -> String {
        let mut suites = String::new();
        let (mut total, mut total_failures, mut total_errors) = (0, 0, 0);
        for rule in &self.rules {
            let (mut failures, mut errors) = (0, 0);
            let mut cases = String::new();
            for s in &self.subjects {
                let _ = write!(
                    cases,
                    "    <testcase classname=\"{}\" name=\"{}\"",
                    xml(&rule.id),
                    xml(&s.name)
                );
                let failed: Vec<&ReportFinding> = s
                    .findings
                    .iter()
                    .filter(|f| f.rule == rule.id && f.level != "note")
                    .collect();
                if let Some(e) = &s.error {
                    errors += 1;
                    let _ = write!(
                        cases,
                        ">\n      <error message=\"{}\"/>\n    </testcase>\n",
                        xml(e)
                    );
                } else if failed.is_empty() {
                    cases.push_str("/>\n");
                } else {
                    failures += 1;
                    let text: Vec<String> = failed.iter().map(|f| f.message.clone()).collect();
                    let _ = write!(
                        cases,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                        xml(&text.join("; ")),
                        xml(&failed[0].level),
                        xml(&failed
                            .iter()
                            .map(|f| f.resource.clone())
                            .collect::<Vec<_>>()
                            .join("\n"))
                    );
                }
            }
            total += self.subjects.len();
            total_failures += failures;
            total_errors += errors;
            let _ = write!(
                suites,
                "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n{cases}  </testsuite>\n",
                xml(&rule.id),
                xml(&rule.name),
                self.subjects.len()
            );
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"aks-trustedaccess audit\" tests=\"{total}\" failures=\"{total_failures}\" errors=\"{total_errors}\">\n{suites}</testsuites>\n"
        )
    }

    /// A summary table (findings per rule) and the findings at warning level or above.
    pub fn markdown(&self) -> String {
        let mut out = String::from("## aks-trustedaccess audit\n\n");
        let errors = self.subjects.iter().filter(|s| s.error.is_some()).count();
        let _ = writeln!(
            out,
            "{} resources checked, {errors} could not be read.\n",
            self.subjects.len()
        );
        out.push_str("| Rule | Level | Findings | New |\n| --- | --- | ---: | ---: |\n");
        for rule in &self.rules {
            let all: Vec<&ReportFinding> = self
                .subjects
                .iter()
                .flat_map(|s| &s.findings)
                .filter(|f| f.rule == rule.id)
                .collect();
            let new = all.iter().filter(|f| !f.known).count();
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {new} |",
                rule.id,
                md(&rule.name),
                rule.level,
                all.len()
            );
        }
        let shown: Vec<&ReportFinding> = self
            .subjects
            .iter()
            .flat_map(|s| &s.findings)
            .filter(|f| f.level != "note")
            .collect();
        if !shown.is_empty() {
            out.push_str("\n| Level | Rule | Resource | Finding |\n| --- | --- | --- | --- |\n");
            for f in shown {
                let _ = writeln!(
                    out,
                    "| {}{} | {} | `{}` | {} |",
                    f.level,
                    if f.known { " (known)" } else { "" },
                    f.rule,
                    md(&f.resource),
                    md(&f.message)
                );
            }
        }
        out
    }
}

/// A GitHub Actions workflow command for a new finding (`::error`/`::warning`/`::notice`),
/// escaped as the runner expects.
pub fn annotation(f: &ReportFinding, rule_name: &str) -> String {
    let command = match f.level.as_str() {
        "error" => "error",
        "warning" => "warning",
        _ => "notice",
    };
    let title = format!("{} {rule_name}", f.rule);
    format!(
        "::{command} title={}::{}\n",
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
        };
        assert_eq!(
            annotation(&f, "dangling-source"),
            "::error title=TA003 dangling-source::a%0A::error::injected 100%25 (/s)\n"
        );
    }
}
