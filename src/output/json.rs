//! JSON as az prints it: `json.dumps(indent=2, sort_keys=True, ensure_ascii=False)`, plus az's
//! `jsonc` colours on a terminal.

use crate::output::pyvalue::PyValue;
use crate::output::query::json_float;

/// `json.dumps(indent=2, sort_keys=True, ensure_ascii=False)`: every object's keys sorted
/// (whatever order the query built), floats as Python writes them.
pub fn render(data: &PyValue, color: bool) -> String {
    let mut text = String::new();
    write(data, 0, color, &mut text);
    text.push('\n');
    text
}

/// One element of a JSON array being written item by item: the same bytes `render` gives for
/// the whole array.
pub fn render_array_item(item: &PyValue, first: bool, color: bool) -> String {
    let mut body = String::new();
    write(item, 1, color, &mut body);
    format!("{}  {body}", if first { "[\n" } else { ",\n" })
}

/// Closes an array written with `render_array_item` (`[]` when it had no items).
pub fn render_array_end(had_items: bool) -> &'static str {
    if had_items { "\n]\n" } else { "[]\n" }
}

const KEY: &str = "\x1b[94m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[33m";
const LITERAL: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

fn painted(out: &mut String, color: bool, paint: &str, text: &str) {
    if color {
        out.push_str(paint);
        out.push_str(text);
        out.push_str(RESET);
    } else {
        out.push_str(text);
    }
}

/// A JSON string with only `"`, `\\` and control characters escaped (`ensure_ascii=False`).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn write(value: &PyValue, indent: usize, color: bool, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match value {
        PyValue::Dict(d) if !d.entries.is_empty() => {
            out.push_str("{\n");
            let entries = d.sorted();
            for (i, (k, v)) in entries.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                painted(out, color, KEY, &quoted(k));
                out.push_str(": ");
                write(v, indent + 1, color, out);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
        PyValue::Dict(_) => out.push_str("{}"),
        PyValue::List(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write(v, indent + 1, color, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        PyValue::List(_) => out.push_str("[]"),
        PyValue::Str(s) => painted(out, color, STRING, &quoted(s)),
        PyValue::Int(i) => painted(out, color, NUMBER, &i.to_string()),
        PyValue::Float(f) => painted(out, color, NUMBER, &json_float(*f)),
        PyValue::Bool(b) => painted(out, color, LITERAL, if *b { "true" } else { "false" }),
        PyValue::Null => painted(out, color, LITERAL, "null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! py {
        ($($t:tt)+) => {
            PyValue::from(&serde_json::json!($($t)+))
        };
    }

    #[test]
    fn sorted_keys_two_space_indent_and_unescaped_unicode() {
        let v = py!({"b": [], "a": {"é": "ü"}, "c": [1]});
        assert_eq!(
            render(&v, false),
            "{\n  \"a\": {\n    \"é\": \"ü\"\n  },\n  \"b\": [],\n  \"c\": [\n    1\n  ]\n}\n"
        );
        assert_eq!(
            render(&py!([1e-5, 1e16, 0.5, 41]), false),
            "[\n  1e-05,\n  1e+16,\n  0.5,\n  41\n]\n"
        );
    }

    #[test]
    fn an_array_written_item_by_item_is_the_same_bytes() {
        let items = [py!({"a": [1, {"b": "x\ny"}]}), py!({}), py!([])];
        let mut streamed = String::new();
        for (i, item) in items.iter().enumerate() {
            streamed.push_str(&render_array_item(item, i == 0, false));
        }
        streamed.push_str(render_array_end(true));
        assert_eq!(streamed, render(&PyValue::list(items.to_vec()), false));
        assert_eq!(render_array_end(false), render(&py!([]), false));
    }

    #[test]
    fn colour_keeps_the_same_text() {
        let v = py!({"b": [true, null, 1, "x"], "a": {}});
        let coloured = render(&v, true);
        let stripped: String = strip_ansi(&coloured);
        assert_eq!(stripped, render(&v, false));
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
