//! Printing roles: `role list`'s table gains a Risk column (everything else stays az's output),
//! and `role show` is a readable table of the role's rules with the reasons for its level.

use crate::error::Result;
use crate::output::OutputFormat;
use crate::output::{Printer, write_stdout};
use serde_json::{Value, json};

/// `role list`: as az prints it; a table without `--query` adds the Risk column last.
pub fn print_list(printer: &Printer, roles: &Value, risks: &[&str]) -> Result<()> {
    if printer.format != OutputFormat::Table || printer.query.is_some() {
        return printer.print_value(roles, None);
    }
    let rows: Vec<Value> = roles
        .as_array()
        .into_iter()
        .flatten()
        .zip(risks)
        .map(|(role, risk)| {
            json!({
                "name": role["name"],
                "sourceResourceType": role["sourceResourceType"],
                "risk": risk,
            })
        })
        .collect();
    printer.print_value(
        &Value::Array(rows),
        Some(&["name", "sourceResourceType", "risk"]),
    )
}

/// The columns of `role show`'s rules table.
const RULE_COLUMNS: [&str; 7] = [
    "risk",
    "verbs",
    "apiGroups",
    "resources",
    "resourceNames",
    "nonResourceURLs",
    "reasons",
];

/// `role show`: readable (a terminal and no format chosen, or `-o table` without `--query`):
/// the role, its level and reasons, then one row per rule; otherwise the chosen format.
pub fn print_show(printer: &Printer, role: &Value, readable: bool) -> Result<()> {
    let table = printer.format == OutputFormat::Table && printer.query.is_none();
    if !readable && !table {
        return printer.print_value(role, None);
    }
    let text =
        |v: &Value| crate::diagnostics::sanitize(v.as_str().unwrap_or_default()).into_owned();
    let mut out = format!(
        "{} ({}) in {}: risk {}\n",
        text(&role["name"]),
        text(&role["sourceResourceType"]),
        text(&role["location"]),
        text(&role["risk"]),
    );
    for reason in role["reasons"].as_array().into_iter().flatten() {
        out.push_str(&format!("  - {}\n", text(reason)));
    }
    out.push('\n');
    let rows: Vec<Value> = role["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| {
            json!({
                "risk": rule["risk"],
                "verbs": joined(&rule["verbs"]),
                "apiGroups": joined(&rule["apiGroups"]),
                "resources": joined(&rule["resources"]),
                "resourceNames": joined(&rule["resourceNames"]),
                "nonResourceURLs": joined(&rule["nonResourceUrLs"]),
                "reasons": joined_by(&rule["reasons"], "; "),
            })
        })
        .collect();
    let plain = Printer::plain(OutputFormat::Table);
    out.push_str(&plain.render_value(&Value::Array(rows), Some(&RULE_COLUMNS))?);
    write_stdout(&out)
}

/// A list as one cell: `get, list`; the core API group ("") as `""`.
fn joined(v: &Value) -> String {
    joined_by(v, ", ")
}

fn joined_by(v: &Value, separator: &str) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|item| match item.as_str() {
            Some("") => "\"\"".to_string(),
            Some(s) => crate::diagnostics::sanitize(s).into_owned(),
            None => item.to_string(),
        })
        .collect::<Vec<_>>()
        .join(separator)
}
