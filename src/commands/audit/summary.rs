//! An audit's summary: how many clusters passed, warned, failed or could not be judged, and how
//! its findings count against `--fail-level`, the baseline and the ignore file.

use crate::commands::audit::row::{self, Row};
use crate::domain::rules::Level;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub subscriptions: usize,
    pub skipped: usize,
    pub clusters: usize,
    pub passing: usize,
    pub warning: usize,
    pub failing: usize,
    pub errors: usize,
    /// Clusters whose verdict is unknown.
    pub unknown: usize,
    /// Checks that could not be made, in any cluster (a failing cluster may have some too).
    pub unknown_checks: usize,
    /// Findings at or above `--fail-level` that are not in the baseline.
    pub new_findings: usize,
    /// Findings the baseline already had.
    pub known_findings: usize,
    /// Findings a live `--ignore-file` entry accepted.
    pub suppressed: usize,
    /// Ignore-file entries (by index) past their expiry date: each fails the run.
    pub expired: Vec<usize>,
    /// Live ignore-file entries (by index) that matched no finding.
    pub stale: Vec<usize>,
}

impl Summary {
    pub(super) fn count(&mut self, row: &Row, fail_level: Level) {
        match row.verdict {
            row::Verdict::Pass => self.passing += 1,
            row::Verdict::Warn => self.warning += 1,
            row::Verdict::Fail => self.failing += 1,
            row::Verdict::Skipped => self.skipped += 1,
            row::Verdict::Unknown => self.unknown += 1,
            row::Verdict::Error => self.errors += 1,
        }
        if row.cluster.is_some() {
            self.clusters += 1;
        }
        for f in &row.results {
            if !f.counts() {
                self.suppressed += 1;
            } else if f.unknown {
                self.unknown_checks += 1;
            } else if f.known {
                self.known_findings += 1;
            } else if f.level >= fail_level {
                self.new_findings += 1;
            }
        }
    }
}
