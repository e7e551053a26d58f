//! Tables as az prints them (knack's `_TableOutput` through tabulate's "simple" format), laid out
//! with tabled: columns from the keys (sorted; with `--query`, each object's own order, as knack
//! stops sorting then) in order of first appearance, `id`/`type`/`etag`, nulls,
//! lists and objects dropped, header = key with an upper-case first letter, a dashes line, cells
//! left-aligned, columns at least two wider than their header, two spaces apart. One addition:
//! a `roles` list is shown as a Roles column (az hides it), and an audit's `findings` list as a
//! Findings column.

use crate::output::pyvalue::PyValue;
use tabled::builder::Builder;
use tabled::settings::object::{Columns as TableColumns, Segment};
use tabled::settings::{Alignment, Modify, Padding, Style};

const SKIP_KEYS: [&str; 3] = ["id", "type", "etag"];
/// Lists of strings shown as one cell (az drops lists): a binding's roles, an audit's findings.
const JOINED_LISTS: [(&str, &str); 2] = [("roles", ", "), ("findings", "; ")];

/// Which order a row's keys take.
#[derive(Debug, Clone, Copy)]
pub enum Columns<'a> {
    /// Sorted (knack without `--query`).
    Sorted,
    /// As each object holds them (knack with `--query`: the SDK's order, or the query's).
    AsBuilt,
    /// These keys in this order, others left out (this tool's own reports).
    Given(&'a [&'a str]),
}

pub fn render(data: &PyValue, columns: Columns<'_>) -> String {
    let rows: Vec<Vec<(String, String)>> = match data {
        PyValue::List(items) => items.iter().map(|item| row(item, columns)).collect(),
        other => vec![row(other, columns)],
    };
    let headers = headers_of(&rows, columns);
    if rows.is_empty() || headers.is_empty() {
        return "\n".to_string();
    }
    let multiline = shows_a_line_break(data);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .map(|h| {
                    r.iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        // tabulate lays a table with a line break anywhere out line by line, and a row whose
        // cells are all empty then has no lines at all.
        .filter(|r: &Vec<String>| !multiline || r.iter().any(|c| !c.is_empty()))
        .collect();
    lay_out(&headers, cells)
}

/// The columns: every key any row has, in first-seen order, or in the given order.
fn headers_of(rows: &[Vec<(String, String)>], columns: Columns<'_>) -> Vec<String> {
    let mut headers: Vec<String> = Vec::new();
    for (header, _) in rows.iter().flatten() {
        if !headers.contains(header) {
            headers.push(header.clone());
        }
    }
    // Rows may lack some columns (nulls are dropped); a known order still holds across rows.
    if let Columns::Given(order) = columns {
        let position = |h: &String| {
            order
                .iter()
                .position(|k| capitalize_first(k) == *h)
                .unwrap_or(usize::MAX)
        };
        headers.sort_by_key(position);
    }
    headers
}

/// tabulate's "simple" layout without its outer lines: headers, a dashed rule as wide as each
/// column, left-aligned cells two spaces apart, trailing spaces trimmed.
fn lay_out(headers: &[String], cells: Vec<Vec<String>>) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            cells
                .iter()
                .map(|r| display_width(&r[i]))
                .chain([display_width(h) + 2])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut builder = Builder::default();
    builder.push_record(headers.iter().cloned());
    builder.push_record(widths.iter().map(|w| "-".repeat(*w)));
    for r in cells {
        builder.push_record(r);
    }
    let mut table = builder.build();
    let last = headers.len() - 1;
    table
        .with(Style::empty())
        .with(Modify::new(Segment::all()).with(Alignment::left()))
        .with(Modify::new(TableColumns::new(..last)).with(Padding::new(0, 2, 0, 0)))
        .with(Modify::new(TableColumns::new(last..)).with(Padding::zero()));
    let mut out: String = table
        .to_string()
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect();
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// Whether a cell tabulate sees holds a line break (before it strips the cells).
fn shows_a_line_break(data: &PyValue) -> bool {
    let breaks = |v: &PyValue| matches!(v, PyValue::Str(s) if s.contains(['\n', '\r']));
    let items: Vec<&PyValue> = match data {
        PyValue::List(items) => items.iter().collect(),
        other => vec![other],
    };
    items.into_iter().any(|item| match item {
        PyValue::Dict(d) => d.entries.iter().any(|(k, v)| {
            !SKIP_KEYS.contains(&k.as_str())
                && (breaks(v)
                    || matches!(v, PyValue::List(l) if JOINED_LISTS.iter().any(|(key, _)| key == k) && l.iter().any(breaks)))
        }),
        PyValue::List(l) => l.iter().any(breaks),
        other => breaks(other),
    })
}

/// One table row: (header, cell) pairs in column order.
fn row(item: &PyValue, columns: Columns<'_>) -> Vec<(String, String)> {
    match item {
        PyValue::Dict(d) => {
            let map = &d.entries;
            let keys: Vec<&str> = match columns {
                Columns::Given(order) => order
                    .iter()
                    .copied()
                    .filter(|k| map.contains_key(*k))
                    .collect(),
                Columns::AsBuilt => map.keys().map(String::as_str).collect(),
                Columns::Sorted => d.sorted().into_iter().map(|(k, _)| k.as_str()).collect(),
            };
            // A key this tool's own report names is shown even if az would hide it (the rule id
            // of `audit --list-rules`).
            let given = |k: &str| matches!(columns, Columns::Given(c) if c.contains(&k));
            keys.into_iter()
                .filter(|k| !SKIP_KEYS.contains(k) || given(k))
                .filter_map(|k| {
                    let cell = match &map[k] {
                        PyValue::Null | PyValue::Dict(_) => return None,
                        PyValue::List(items) => {
                            let separator = JOINED_LISTS.iter().find(|(key, _)| *key == k)?.1;
                            let texts: Option<Vec<&str>> = items
                                .iter()
                                .map(|i| match i {
                                    PyValue::Str(s) => Some(s.as_str()),
                                    _ => None,
                                })
                                .collect();
                            let joined = texts?.join(separator);
                            crate::diagnostics::sanitize(python_strip(&joined)).into_owned()
                        }
                        scalar => cell_text(scalar),
                    };
                    Some((capitalize_first(k), cell))
                })
                .collect()
        }
        PyValue::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("Column{}", i + 1), cell_text(v)))
            .collect(),
        scalar => vec![("Result".to_string(), cell_text(scalar))],
    }
}

/// A cell as tabulate shows it: Python's `str()`, stripped of surrounding whitespace.
/// Control characters become U+FFFD: a server string must not drive the terminal.
fn cell_text(value: &PyValue) -> String {
    let text = match value {
        PyValue::Str(s) => python_strip(s).to_string(),
        PyValue::Null => String::new(),
        other => python_strip(&other.python_str()).to_string(),
    };
    crate::diagnostics::sanitize(&text).into_owned()
}

/// Columns on a terminal: wide characters (CJK, emoji) count two, as tabulate counts them when
/// wcwidth is installed, and as tabled lays them out.
fn display_width(text: &str) -> usize {
    tabled::grid::util::string::get_text_width(text)
}

/// Python's `str.strip()`: Unicode whitespace plus the ASCII separators \x1c-\x1f.
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

fn capitalize_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(v: serde_json::Value, columns: Option<&[&str]>) -> String {
        let columns = columns.map_or(Columns::Sorted, Columns::Given);
        super::render(&PyValue::from(&v), columns)
    }

    macro_rules! json {
        ($($t:tt)+) => {
            serde_json::json!($($t)+)
        };
    }

    #[test]
    fn columns_are_header_plus_two_wide_and_lines_are_trimmed() {
        let data = json!([
            {"name": "ab", "sourceResourceType": "Microsoft.Compute/virtualMachineScaleSets", "rules": [1], "id": "x"},
            {"name": "longer-name-here", "sourceResourceType": "A/b", "rules": []}
        ]);
        assert_eq!(
            render(data.clone(), None),
            "Name              SourceResourceType\n\
             ----------------  -----------------------------------------\n\
             ab                Microsoft.Compute/virtualMachineScaleSets\n\
             longer-name-here  A/b\n"
        );
    }

    #[test]
    fn scalars_lists_and_empty_results() {
        assert_eq!(render(json!(5), None), "Result\n--------\n5\n");
        assert_eq!(render(json!([]), None), "\n");
        assert_eq!(
            render(json!([["a", true]]), None),
            "Column1    Column2\n---------  ---------\na          True\n"
        );
    }

    #[test]
    fn roles_get_a_column_and_the_query_order_is_kept() {
        let data = json!([{"name": "b", "roles": ["r1", "r2"], "provisioningState": "Succeeded", "systemData": null}]);
        assert_eq!(
            render(data.clone(), None),
            "Name    ProvisioningState    Roles\n------  -------------------  -------\nb       Succeeded            r1, r2\n"
        );
        let order = ["roles", "name"];
        assert_eq!(
            render(data.clone(), Some(&order)),
            "Roles    Name\n-------  ------\nr1, r2   b\n"
        );
    }
}
