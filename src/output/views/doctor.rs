//! Printing a doctor report (`rolebinding check`, `token check`): a readable list on a terminal;
//! otherwise the chosen format: json/yaml the whole report, table/tsv one row per check.

use crate::error::Result;
use crate::output::OutputFormat;
use crate::output::{Printer, write_stdout};
use serde_json::{Value, json};

/// The order of a check's fields in a table or tsv row.
const COLUMNS: [&str; 4] = ["verdict", "check", "message", "hint"];

pub fn print(printer: &Printer, report: &Value, readable: bool) -> Result<()> {
    if readable {
        return write_stdout(&readable_list(report, printer.paint));
    }
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    match printer.format {
        // `id` is a column az's tables leave out, so the table names it `check`.
        OutputFormat::Table if printer.query.is_none() => {
            let rows: Vec<Value> = checks
                .iter()
                .map(|c| {
                    json!({"verdict": c["verdict"], "check": c["id"], "message": c["message"], "hint": c["hint"]})
                })
                .collect();
            printer.print_value(&Value::Array(rows), Some(&COLUMNS))
        }
        OutputFormat::Tsv if printer.query.is_none() => {
            let rows: Vec<Value> = checks
                .iter()
                .map(|c| {
                    json!([
                        c["verdict"],
                        c["id"],
                        c["message"],
                        c["hint"].as_str().unwrap_or("")
                    ])
                })
                .collect();
            printer.print_value(&Value::Array(rows), None)
        }
        _ => printer.print_value(report, None),
    }
}

/// One line per check (verdict, id, message), its hint below; the decoded claims of a token;
/// the summary last. Control characters from the server or the token are dropped.
pub fn readable_list(report: &Value, color: bool) -> String {
    let mut out = String::new();
    if let Some(claims) = report["claims"].as_object() {
        out.push_str("Token claims (decoded; the signature was NOT verified):\n");
        for (name, value) in claims {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("  {name:<10} {}\n", clean(&text)));
        }
        out.push('\n');
    }
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let width = checks
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::len))
        .max()
        .unwrap_or(0);
    for check in &checks {
        let verdict = check["verdict"].as_str().unwrap_or("unknown");
        let id = check["id"].as_str().unwrap_or("");
        out.push_str(&format!(
            "{}  {id:<width$}  {}\n",
            label(verdict, color),
            clean(check["message"].as_str().unwrap_or(""))
        ));
        if let Some(hint) = check["hint"].as_str() {
            out.push_str(&format!("{:7}  {:width$}  hint: {}\n", "", "", clean(hint)));
        }
    }
    let summary = &report["summary"];
    out.push_str(&format!(
        "\n{} passed, {} failed, {} warnings, {} not checked\n",
        summary["pass"], summary["fail"], summary["warn"], summary["unknown"]
    ));
    out
}

/// `PASS   `, `FAIL   `… seven wide, coloured when allowed.
fn label(verdict: &str, color: bool) -> String {
    let (text, code) = match verdict {
        "pass" => ("PASS", "32"),
        "warn" => ("WARN", "33"),
        "fail" => ("FAIL", "31"),
        _ => ("UNKNOWN", "35"),
    };
    if color {
        format!("\x1b[1;{code}m{text:<7}\x1b[0m")
    } else {
        format!("{text:<7}")
    }
}

/// Text from a server or a token, safe for a terminal: control characters dropped.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readable_list_aligns_and_drops_control_characters() {
        let report = json!({
            "checks": [
                {"id": "a", "verdict": "pass", "message": "fine", "hint": null},
                {"id": "longer", "verdict": "fail", "message": "bad\u{1b}[2J", "hint": "fix it"}
            ],
            "summary": {"pass": 1, "fail": 1, "warn": 0, "unknown": 0}
        });
        assert_eq!(
            readable_list(&report, false),
            format!(
                "PASS     a       fine\nFAIL     longer  bad[2J\n{}hint: fix it\n\n\
                 1 passed, 1 failed, 0 warnings, 0 not checked\n",
                " ".repeat(17)
            )
        );
        assert!(readable_list(&report, true).contains("\x1b[1;31mFAIL   \x1b[0m"));
    }
}
