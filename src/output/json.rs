//! JSON as az prints it: `json.dumps(indent=2, sort_keys=True, ensure_ascii=False)`, plus az's
//! `jsonc` colours on a terminal.

use serde_json::Value;

/// serde_json's map is ordered by key (no `preserve_order`), which gives az's sorted keys.
pub fn render(data: &Value, color: bool) -> String {
    let mut text = if color {
        let mut out = String::new();
        colorize(data, 0, &mut out);
        out
    } else {
        serde_json::to_string_pretty(data).unwrap_or_default()
    };
    text.push('\n');
    text
}

/// One element of a JSON array being written item by item: the same bytes `render` gives for
/// the whole array.
pub fn render_array_item(item: &Value, first: bool, color: bool) -> String {
    let body = if color {
        let mut out = String::new();
        colorize(item, 1, &mut out);
        out
    } else {
        serde_json::to_string_pretty(item)
            .unwrap_or_default()
            .replace('\n', "\n  ")
    };
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

fn colorize(value: &Value, indent: usize, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in map.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                out.push_str(KEY);
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(RESET);
                out.push_str(": ");
                colorize(v, indent + 1, out);
                if i + 1 < map.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                colorize(v, indent + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        Value::String(_) => {
            out.push_str(STRING);
            out.push_str(&value.to_string());
            out.push_str(RESET);
        }
        Value::Number(_) => {
            out.push_str(NUMBER);
            out.push_str(&value.to_string());
            out.push_str(RESET);
        }
        Value::Bool(_) | Value::Null => {
            out.push_str(LITERAL);
            out.push_str(&value.to_string());
            out.push_str(RESET);
        }
        _ => out.push_str(&value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_keys_two_space_indent_and_unescaped_unicode() {
        let v = json!({"b": [], "a": {"é": "ü"}, "c": [1]});
        assert_eq!(
            render(&v, false),
            "{\n  \"a\": {\n    \"é\": \"ü\"\n  },\n  \"b\": [],\n  \"c\": [\n    1\n  ]\n}\n"
        );
    }

    #[test]
    fn an_array_written_item_by_item_is_the_same_bytes() {
        let items = [json!({"a": [1, {"b": "x\ny"}]}), json!({}), json!([])];
        let mut streamed = String::new();
        for (i, item) in items.iter().enumerate() {
            streamed.push_str(&render_array_item(item, i == 0, false));
        }
        streamed.push_str(render_array_end(true));
        assert_eq!(streamed, render(&json!(items), false));
        assert_eq!(render_array_end(false), render(&json!([]), false));
    }

    #[test]
    fn colour_keeps_the_same_text() {
        let v = json!({"b": [true, null, 1, "x"], "a": {}});
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
