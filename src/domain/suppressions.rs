//! `audit --ignore-file PATH`: findings accepted for a while. Each entry names a rule, a
//! resource (a glob over ARM ids), why, who owns the decision and when it expires. Parsed before
//! any request (a malformed entry is a usage error naming its line; the resolve step reads the
//! file); matching is pure, so the audit asks it per finding and counts what each entry matched.

use crate::domain::yaml_schema::{self, Reader};
use crate::error::Result;
use libyaml_safer::Node;
use time::Date;

pub const HINT: &str = "each entry: rule, resource (a glob), reason, owner, expires (YYYY-MM-DD); see 'Suppressions' in the README";

#[derive(Debug, Clone)]
pub struct IgnoreFile {
    /// The path as given, for messages and report locations.
    pub file: String,
    pub entries: Vec<Suppression>,
}

/// One accepted finding (or family of findings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The rule's id (TA001…), whether the file named it by id or name.
    pub rule: &'static str,
    /// The resource glob as written: `*` any run of characters (`/` too), `?` one; compared
    /// case-insensitively, as ARM compares ids.
    pub resource: String,
    pub reason: String,
    pub owner: String,
    /// The last day (UTC) the entry applies.
    pub expires: Date,
    /// The entry's line in the file (1-based).
    pub line: u64,
}

impl Suppression {
    /// Whether the entry still applies on `today` (it does through its `expires` day).
    pub fn is_live(&self, today: Date) -> bool {
        today <= self.expires
    }

    pub fn matches(&self, rule: &str, resource: &str) -> bool {
        self.rule == rule && glob_matches(&self.resource, resource)
    }
}

impl IgnoreFile {
    /// The first live entry that covers a finding, by index.
    pub fn live_match(&self, rule: &str, resource: &str, today: Date) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.is_live(today) && e.matches(rule, resource))
    }
}

/// Today's date in UTC: the day `expires` is compared with.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Parses ignore-file text: a list of entries (`file` names it in messages).
pub fn parse(text: &str, file: &str) -> Result<IgnoreFile> {
    let document = yaml_schema::document(text, file, "the ignore file", HINT)?;
    let reader = Reader::new(&document, file, HINT)?;
    let entries = reader
        .items(reader.root, "the ignore file")?
        .into_iter()
        .enumerate()
        .map(|(i, node)| reader.suppression(node, i + 1))
        .collect::<Result<Vec<_>>>()?;
    Ok(IgnoreFile {
        file: file.to_string(),
        entries,
    })
}

const FIELDS: &[&str] = &["rule", "resource", "reason", "owner", "expires"];

impl<'a> Reader<'a> {
    fn suppression(&self, node: &'a Node, index: usize) -> Result<Suppression> {
        let what = format!("entry {index}");
        let fields = self.fields(node, &what, FIELDS, FIELDS)?;
        let text = |key: &str| -> Result<(&'a str, &'a Node)> {
            let node = fields
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, n)| *n)
                .unwrap_or(node);
            let value = self.required_scalar(node, &format!("{what}: {key}"))?;
            if value.trim().is_empty() {
                return Err(self.error(node, format!("{what}: {key} is empty")));
            }
            Ok((value.trim(), node))
        };
        let (rule_raw, rule_node) = text("rule")?;
        let rule = crate::domain::rules::rule(rule_raw)
            .ok_or_else(|| {
                self.error(
                    rule_node,
                    format!(
                        "{what}: no rule '{rule_raw}' (see 'aks-trustedaccess audit --list-rules')"
                    ),
                )
            })?
            .id;
        let (resource, _) = text("resource")?;
        let (expires_raw, expires_node) = text("expires")?;
        let expires = parse_date(expires_raw).ok_or_else(|| {
            self.error(
                expires_node,
                format!("{what}: expires '{expires_raw}' is not a date such as 2026-12-31"),
            )
        })?;
        Ok(Suppression {
            rule,
            resource: resource.to_string(),
            reason: text("reason")?.0.to_string(),
            owner: text("owner")?.0.to_string(),
            expires,
            line: node.start_mark.line + 1,
        })
    }
}

/// A date written YYYY-MM-DD.
pub fn parse_date(raw: &str) -> Option<Date> {
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = raw[..4].parse().ok()?;
    let month: u8 = raw[5..7].parse().ok()?;
    let day: u8 = raw[8..].parse().ok()?;
    Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// `*` matches any run of characters (`/` included), `?` exactly one; everything else itself,
/// ASCII case-insensitively. Linear backtracking on the last `*`, so no input is slow.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        parse(text, "ig.yaml").unwrap_err().to_string()
    }

    const GOOD: &str = "\
# accepted findings
- rule: TA003
  resource: /subscriptions/*/resourceGroups/legacy/*
  reason: being decommissioned (OPS-12)
  owner: platform-team
  expires: 2026-12-31
- rule: no-binding
  resource: '*'
  reason: not used yet
  owner: alice
  expires: 2027-01-15
";

    #[test]
    fn entries_read_with_their_lines_and_rule_ids() {
        let file = parse(GOOD, "ig.yaml").unwrap();
        assert_eq!(file.entries.len(), 2);
        let first = &file.entries[0];
        assert_eq!(first.rule, "TA003");
        assert_eq!(first.line, 2);
        assert_eq!(first.owner, "platform-team");
        assert_eq!(first.expires.to_string(), "2026-12-31");
        assert_eq!(file.entries[1].rule, "TA001");
        assert_eq!(file.entries[1].line, 7);
    }

    #[test]
    fn an_entry_applies_through_its_expiry_day_and_not_after() {
        let file = parse(GOOD, "ig.yaml").unwrap();
        let day = |s: &str| parse_date(s).unwrap();
        let id = "/subscriptions/S/resourcegroups/LEGACY/providers/x/y";
        assert_eq!(file.live_match("TA003", id, day("2026-12-31")), Some(0));
        assert_eq!(file.live_match("TA003", id, day("2027-01-01")), None);
        assert_eq!(file.live_match("TA001", id, day("2027-01-15")), Some(1));
        assert_eq!(file.live_match("TA002", id, day("2026-01-01")), None);
    }

    #[test]
    fn malformed_entries_name_their_line() {
        for (text, want) in [
            (
                "- rule: TA003\n  resource: x\n  reason: r\n  owner: o\n",
                "ig.yaml:1: entry 1 has no 'expires'",
            ),
            (
                "- rule: TA999\n  resource: x\n  reason: r\n  owner: o\n  expires: 2026-01-01\n",
                "ig.yaml:1: entry 1: no rule 'TA999'",
            ),
            (
                "- rule: TA003\n  resource: x\n  reason: r\n  owner: o\n  expires: 31/12/2026\n",
                "ig.yaml:5: entry 1: expires '31/12/2026' is not a date",
            ),
            (
                "- rule: TA003\n  resource: x\n  reason: ''\n  owner: o\n  expires: 2026-01-01\n",
                "ig.yaml:3: entry 1: reason is empty",
            ),
            (
                "- rule: TA003\n  resource: x\n  reason: r\n  owner: o\n  expires: 2026-01-01\n  id: 3\n",
                "ig.yaml:6: unknown key 'id' in entry 1",
            ),
            ("rule: TA003\n", "ig.yaml:1: the ignore file must be a list"),
            ("- [\n", "ig.yaml:2: not valid YAML or JSON"),
            ("", "ig.yaml:1: the ignore file is empty"),
        ] {
            let got = refusal(text);
            assert!(got.starts_with(want), "{text:?}: {got}");
        }
    }

    #[test]
    fn globs_match_whole_ids_case_insensitively() {
        assert!(glob_matches("*", "/subscriptions/a/b"));
        assert!(glob_matches(
            "/Subscriptions/*/rg1/*",
            "/subscriptions/x/RG1/y/z"
        ));
        assert!(glob_matches("/s/?/c", "/s/b/c"));
        assert!(!glob_matches("/s/?/c", "/s/bb/c"));
        assert!(!glob_matches("/s/a", "/s/a/b"));
        assert!(!glob_matches("*a*a*a*b", &"a".repeat(60)));
        assert!(parse_date("2026-02-30").is_none() && parse_date("2026-2-3").is_none());
    }
}
