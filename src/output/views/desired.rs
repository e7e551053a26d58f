//! The readable forms of `plan` and `apply`: a diff per cluster (`+` create, `~` update, `-/+`
//! replace, `-` delete, `=` adopt), coloured on a terminal. Reads the same action objects that
//! `-o json` prints, so both views always agree.

use serde_json::Value;
use std::fmt::Write as _;

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// A field of an action, made safe for the terminal (names, sources, reasons come from the
/// server or the manifest).
fn text(v: &Value, key: &str) -> String {
    crate::diagnostics::sanitize(v[key].as_str().unwrap_or_default()).into_owned()
}

fn roles(state: &Value) -> String {
    let joined = state["roles"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    crate::diagnostics::sanitize(&joined).into_owned()
}

/// The plan as a diff, grouped by cluster; unchanged bindings are counted, not listed, except
/// the platform bindings no entry describes: each is listed (`.`) with why it is kept.
pub fn render_plan(actions: &[Value], color: bool) -> String {
    let mut out = String::new();
    let mut current = String::new();
    for action in actions {
        let kind = text(action, "action");
        if kind == "noop" && !action["platform"].is_string() {
            continue;
        }
        let cluster = text(action, "cluster");
        if cluster != current {
            let _ = writeln!(out, "{}", paint(color, CYAN, &format!("cluster {cluster}")));
            current = cluster;
        }
        out.push_str(&describe(action, color));
    }
    out
}

fn describe(action: &Value, color: bool) -> String {
    let (kind, name) = (text(action, "action"), text(action, "name"));
    let (before, after) = (&action["before"], &action["after"]);
    let reason = text(action, "reason");
    let line = |sign: &str, paint_with: &str, detail: String| {
        format!(
            "  {} {name}: {detail}\n      ({reason})\n",
            paint(color, paint_with, sign)
        )
    };
    match kind.as_str() {
        "create" => line(
            "+",
            GREEN,
            format!(
                "{} roles [{}]",
                text(after, "sourceResourceId"),
                roles(after)
            ),
        ),
        "update" => line(
            "~",
            YELLOW,
            format!("roles [{}] -> [{}]", roles(before), roles(after)),
        ),
        "replace" => line(
            "-/+",
            MAGENTA,
            format!(
                "source {} -> {} roles [{}]",
                text(before, "sourceResourceId"),
                text(after, "sourceResourceId"),
                roles(after)
            ),
        ),
        "delete" => line(
            "-",
            RED,
            format!(
                "{} roles [{}]",
                text(before, "sourceResourceId"),
                roles(before)
            ),
        ),
        "adopt" => line("=", CYAN, text(after, "sourceResourceId").to_string()),
        "noop" => line(
            ".",
            "",
            format!(
                "{} roles [{}], kept",
                text(before, "sourceResourceId"),
                roles(before)
            ),
        ),
        _ => format!("  ! {reason}\n"),
    }
}

/// One line per write `apply` made (or could not make).
pub fn render_applied(results: &[Value], color: bool) -> String {
    let mut out = String::new();
    for r in results {
        let result = text(r, "result");
        if result == "unchanged" {
            continue;
        }
        let target = if r["name"].is_string() {
            format!(
                "{}/trustedAccessRoleBindings/{}",
                text(r, "cluster"),
                text(r, "name")
            )
        } else {
            text(r, "cluster").to_string()
        };
        let (mark, paint_with) = match result.as_str() {
            "done" => ("done", GREEN),
            "failed" => ("FAILED", RED),
            "changed" => ("KEPT", YELLOW),
            _ => ("skipped", YELLOW),
        };
        let _ = write!(
            out,
            "{} {} {target}",
            paint(color, paint_with, mark),
            text(r, "action")
        );
        if r["error"].is_string() {
            let _ = write!(out, ": {}", text(r, "error"));
        }
        out.push('\n');
    }
    out
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color && !code.is_empty() {
        format!("{code}{s}{RESET}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_marks_each_kind_and_hides_noops() {
        let state = |s: &str, r: &str| json!({"sourceResourceId": s, "roles": [r]});
        let actions = [
            json!({"cluster": "/c1", "name": "a", "action": "create", "before": null, "after": state("/s", "r1"), "reason": "why"}),
            json!({"cluster": "/c1", "name": "b", "action": "noop", "before": state("/s", "r1"), "after": state("/s", "r1"), "reason": "x"}),
            json!({"cluster": "/c2", "name": "c", "action": "replace", "before": state("/s1", "r1"), "after": state("/s2", "r1"), "reason": "lost"}),
        ];
        assert_eq!(
            render_plan(&actions, false),
            "cluster /c1\n  + a: /s roles [r1]\n      (why)\ncluster /c2\n  -/+ c: source /s1 -> /s2 roles [r1]\n      (lost)\n"
        );
    }
}
