//! Azure DevOps logging commands (`##vso[task.logissue …]`) for audit findings under Azure
//! Pipelines (`TF_BUILD=True`): what GitHub Actions annotations are under `GITHUB_ACTIONS`,
//! written the same way (stderr, which the agent reads for commands too, so stdout stays data).

use crate::output::report::ReportFinding;

/// The command for a finding: `type=error` or `warning` (Azure DevOps has no lower kind),
/// the rule as `code`, and a file and line when the finding is about one (an ignore file's entry).
pub fn logissue(f: &ReportFinding, rule_name: &str, file: Option<(&str, u64)>) -> String {
    let kind = if f.level == "error" {
        "error"
    } else {
        "warning"
    };
    let mut properties = format!("type={kind};code={}", escape_property(&f.rule));
    if let Some((path, line)) = file {
        properties.push_str(&format!(
            ";sourcepath={};linenumber={line}",
            escape_property(path)
        ));
    }
    format!(
        "##vso[task.logissue {properties}]{}\n",
        escape_message(&format!(
            "{} {rule_name}: {} ({})",
            f.rule, f.message, f.resource
        ))
    )
}

/// A message: server text made safe for a log (control characters replaced), then the agent's
/// escapes, so a message can neither end the command nor start another on a new line.
fn escape_message(s: &str) -> String {
    crate::diagnostics::sanitize(s)
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: a message's escapes, and `;` and `]` that would end it.
fn escape_property(s: &str) -> String {
    escape_message(s).replace(';', "%3B").replace(']', "%5D")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_cannot_end_the_command_or_start_another() {
        let f = ReportFinding {
            rule: "TA003".into(),
            level: "error".into(),
            resource: "/s".into(),
            message: "gone]\n##vso[task.complete result=Succeeded]100%\u{1b}[2J".into(),
            known: false,
            unknown: false,
            suppressed: None,
            line: None,
        };
        assert_eq!(
            logissue(&f, "dangling-source", None),
            "##vso[task.logissue type=error;code=TA003]TA003 dangling-source: gone]%0A##vso[task.complete result=Succeeded]100%AZP25\u{fffd}[2J (/s)\n"
        );
        let w = ReportFinding {
            level: "warning".into(),
            ..f
        };
        assert!(logissue(&w, "x", Some(("a;b].yaml", 7))).starts_with(
            "##vso[task.logissue type=warning;code=TA003;sourcepath=a%3Bb%5D.yaml;linenumber=7]"
        ));
    }
}
