//! JUnit XML, streamed: a testsuite per rule, a testcase per subject and rule, each spooled to
//! its rule's file as the audit produces it (a suite's counts head it, so the suites are put
//! together at the end). `failure` for a new finding at warning or error level, `skipped` (with
//! the reason) for one the baseline knows or an ignore-file entry accepted, as the run's exit
//! code treats them; `error` when the subject could not be checked, or the rule's check could not
//! be made (unknown).

use super::spool::Spool;
use super::{ReportFinding, ReportRule, Subject, xml};
use std::io::Write;

struct Suite {
    cases: Spool,
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

pub struct JunitWriter {
    /// One per rule, in the rules' order.
    suites: Vec<Suite>,
}

impl JunitWriter {
    pub fn new(rules: &[ReportRule]) -> std::io::Result<Self> {
        let suites = rules
            .iter()
            .map(|_| {
                Ok(Suite {
                    cases: Spool::new()?,
                    tests: 0,
                    failures: 0,
                    errors: 0,
                    skipped: 0,
                })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(JunitWriter { suites })
    }

    pub fn push(&mut self, rules: &[ReportRule], subject: &Subject) -> std::io::Result<()> {
        for (rule, suite) in rules.iter().zip(&mut self.suites) {
            let mut case = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&rule.id),
                xml(&subject.name)
            );
            let mine = |f: &&ReportFinding| f.rule == rule.id;
            let unknown: Vec<&ReportFinding> = subject
                .findings
                .iter()
                .filter(mine)
                .filter(|f| f.unknown)
                .collect();
            let (failed, accepted): (Vec<&ReportFinding>, Vec<&ReportFinding>) = subject
                .findings
                .iter()
                .filter(mine)
                .filter(|f| !f.unknown && f.level != "note")
                .partition(|f| !f.known && f.suppressed.is_none());
            suite.tests += 1;
            if let Some(e) = &subject.error {
                suite.errors += 1;
                case += &format!("><error message=\"{}\"/></testcase>", xml(e));
            } else if !unknown.is_empty() {
                suite.errors += 1;
                let why: Vec<&str> = unknown.iter().map(|f| f.message.as_str()).collect();
                case += &format!(
                    "><error type=\"unknown\" message=\"unknown: {}\"/></testcase>",
                    xml(&why.join("; "))
                );
            } else if failed.is_empty() && !accepted.is_empty() {
                suite.skipped += 1;
                let why: Vec<String> = accepted.iter().map(|f| skip_reason(f)).collect();
                case += &format!(
                    "><skipped message=\"{}\"/></testcase>",
                    xml(&why.join("; "))
                );
            } else if failed.is_empty() {
                case += "/>";
            } else {
                suite.failures += 1;
                let text: Vec<&str> = failed.iter().map(|f| f.message.as_str()).collect();
                let resources: Vec<&str> = failed.iter().map(|f| f.resource.as_str()).collect();
                case += &format!(
                    "><failure message=\"{}\" type=\"{}\">{}</failure></testcase>",
                    xml(&text.join("; ")),
                    xml(&failed[0].level),
                    xml(&resources.join("\n"))
                );
            }
            // One line per case in the spool: the XML's own newlines are escaped above.
            suite.cases.push(&case.replace('\n', "&#10;"))?;
        }
        Ok(())
    }

    pub fn finish(mut self, rules: &[ReportRule], out: &mut dyn Write) -> std::io::Result<()> {
        let tests: usize = self.suites.iter().map(|s| s.tests).sum();
        let failures: usize = self.suites.iter().map(|s| s.failures).sum();
        let errors: usize = self.suites.iter().map(|s| s.errors).sum();
        let skipped: usize = self.suites.iter().map(|s| s.skipped).sum();
        write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"aks-trustedaccess audit\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n"
        )?;
        for (rule, suite) in rules.iter().zip(&mut self.suites) {
            writeln!(
                out,
                "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
                xml(&rule.id),
                xml(&rule.name),
                suite.tests,
                suite.failures,
                suite.errors,
                suite.skipped
            )?;
            let mut first = true;
            if suite.cases.copy_to(out, usize::MAX, "\n", &mut first)? > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(b"  </testsuite>\n")?;
        }
        out.write_all(b"</testsuites>\n")
    }
}

/// Why a finding does not fail the run: the ignore-file entry's justification, or the baseline.
fn skip_reason(f: &ReportFinding) -> String {
    match &f.suppressed {
        Some(why) => format!("suppressed: {why}: {}", f.message),
        None => format!("known (in the baseline): {}", f.message),
    }
}
