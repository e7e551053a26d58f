//! The Markdown summary for `$GITHUB_STEP_SUMMARY`, which GitHub cuts at 1 MiB: counts per rule
//! and level, then the worst findings (errors, unknowns, warnings; notes only counted), cut with
//! a line saying how many more there are and where the full list is. Memory is bounded: only the
//! entries that can still be shown are kept.

use super::{ReportFinding, ReportRule, Severity, Subject, md};
use std::fmt::Write as _;

/// GitHub's limit for a step summary.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The summary stays this far under the limit (the counts table, the cut line, and margin for
/// a summary other steps append to).
const BUDGET: usize = SUMMARY_LIMIT - 64 * 1024;

/// Findings listed at most: each line is at most `MAX_LINE` bytes, so the list fits the budget.
const SHOWN: usize = 1_500;

/// A listed finding's line is cut to this many bytes.
const MAX_LINE: usize = 600;

#[derive(Default, Clone, Copy)]
struct Counts {
    all: usize,
    new: usize,
    unknown: usize,
}

pub struct MarkdownWriter {
    counts: Vec<Counts>,
    subjects: usize,
    unreadable: usize,
    unknown_subjects: usize,
    /// The worst lines so far, per severity (error, unknown, warning), each at most `SHOWN`.
    worst: [Vec<String>; 3],
    /// Listable findings (error, unknown, warning) seen in all.
    listable: usize,
    /// Where the full list is, said on the cut line.
    elsewhere: String,
}

impl MarkdownWriter {
    pub fn new(rules: &[ReportRule], elsewhere: String) -> Self {
        MarkdownWriter {
            counts: vec![Counts::default(); rules.len()],
            subjects: 0,
            unreadable: 0,
            unknown_subjects: 0,
            worst: Default::default(),
            listable: 0,
            elsewhere,
        }
    }

    pub fn push(&mut self, rules: &[ReportRule], subject: &Subject) {
        self.subjects += 1;
        self.unreadable += usize::from(subject.error.is_some());
        self.unknown_subjects += usize::from(subject.findings.iter().any(|f| f.unknown));
        for f in &subject.findings {
            if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
                let c = &mut self.counts[i];
                if f.unknown {
                    c.unknown += 1;
                } else {
                    c.all += 1;
                    c.new += usize::from(!f.known && f.suppressed.is_none());
                }
            }
            let at = match Severity::of(f) {
                Severity::Note => continue,
                s => s as usize,
            };
            self.listable += 1;
            // A less severe list is not kept once the more severe ones fill the page.
            let room = SHOWN.saturating_sub(self.worst[..at].iter().map(Vec::len).sum::<usize>());
            if self.worst[at].len() < room {
                self.worst[at].push(line(f));
            }
            self.trim();
        }
    }

    /// Drops what can no longer be shown: the lists are shown in order, `SHOWN` lines in all.
    fn trim(&mut self) {
        let mut room = SHOWN;
        for list in &mut self.worst {
            list.truncate(room);
            room -= list.len();
        }
    }

    pub fn finish(self, rules: &[ReportRule]) -> String {
        let mut out = String::from("## aks-trustedaccess audit\n\n");
        let _ = writeln!(
            out,
            "{} resources checked, {} with checks that could not be made (unknown), {} could not be read.\n",
            self.subjects, self.unknown_subjects, self.unreadable
        );
        out.push_str(
            "| Rule | Level | Findings | New | Unknown |\n| --- | --- | ---: | ---: | ---: |\n",
        );
        for (rule, c) in rules.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} | {} |",
                rule.id,
                md(&rule.name),
                rule.level,
                c.all,
                c.new,
                c.unknown
            );
        }
        let mut shown = 0;
        let lines = self.worst.iter().flatten();
        if self.listable > 0 {
            out.push_str("\n### Worst findings\n\n| Level | Rule | Resource | Finding |\n| --- | --- | --- | --- |\n");
        }
        for l in lines {
            if out.len() + l.len() > BUDGET {
                break;
            }
            out.push_str(l);
            shown += 1;
        }
        if shown < self.listable {
            let _ = writeln!(
                out,
                "\n… and {} more findings at warning level or above (or unknown) not shown here; the full list is in {}.",
                self.listable - shown,
                md(&self.elsewhere)
            );
        }
        out
    }
}

fn line(f: &ReportFinding) -> String {
    let level = if f.unknown {
        "unknown"
    } else {
        f.level.as_str()
    };
    let mut line = format!(
        "| {level}{} | {} | `{}` | {} |",
        match (&f.suppressed, f.known) {
            (Some(_), _) => " (suppressed)",
            (None, true) => " (known)",
            (None, false) => "",
        },
        f.rule,
        md(&f.resource).replace('`', "'"),
        md(&f.message)
    );
    if line.len() > MAX_LINE {
        let mut cut = MAX_LINE - 6;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("… |");
    }
    line.push('\n');
    line
}
