//! Python's conversions and comparisons that jmespath leans on: the ordering of `<`, `>`,
//! `min`/`max`/`sort` (`python_order`), `int()`/`float()` of a string
//! (`to_number`) and `json.dumps(x, separators=(',', ':'))` (`to_string`).

use super::RuntimeError;
use crate::output::pyvalue::{PyValue, float_repr, numeric_cmp};
use std::cmp::Ordering;
use std::fmt::Write as _;

/// `to_number` of a string: Python's `int()`, else `float()`, else null.
pub fn to_number(text: &str) -> PyValue {
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    if let Some(digits) = python_digits(trimmed, false) {
        if let Ok(i) = digits.parse::<i128>() {
            return PyValue::Int(i);
        }
        if let Ok(f) = digits.parse::<f64>() {
            return PyValue::Float(f);
        }
    }
    let lower = trimmed.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if lower.len() - unsigned.len() <= 1 && matches!(unsigned, "inf" | "infinity" | "nan") {
        let negative = lower.starts_with('-');
        let value = if unsigned == "nan" {
            f64::NAN
        } else {
            f64::INFINITY
        };
        return PyValue::Float(if negative { -value } else { value });
    }
    match python_digits(trimmed, true).and_then(|t| t.parse::<f64>().ok()) {
        Some(f) => PyValue::Float(f),
        None => PyValue::Null,
    }
}

/// The text of a Python int (or, with `float`, float) literal with `_` separators removed:
/// digits only, a sign in front, `_` only between digits.
fn python_digits(text: &str, float: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut previous = b' ';
    let mut seen_digit = false;
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match b {
            b'0'..=b'9' => {
                seen_digit = true;
                true
            }
            b'_' => previous.is_ascii_digit() && bytes.get(i + 1).is_some_and(u8::is_ascii_digit),
            b'+' | b'-' => i == 0 || (float && matches!(previous, b'e' | b'E')),
            b'.' | b'e' | b'E' => float,
            _ => false,
        };
        if !ok {
            return None;
        }
        if b != b'_' {
            out.push(b as char);
        }
        previous = b;
    }
    seen_digit.then_some(out)
}

/// `json.dumps(x, separators=(',', ':'))`: keys in their order, non-ASCII escaped.
pub fn compact_json(value: &PyValue) -> String {
    let mut out = String::new();
    write_compact(value, &mut out);
    out
}

fn write_compact(value: &PyValue, out: &mut String) {
    match value {
        PyValue::Null => out.push_str("null"),
        PyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) => out.push_str(&json_float(*f)),
        PyValue::Str(s) => ascii_json_string(s, out),
        PyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        PyValue::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ascii_json_string(k, out);
                out.push(':');
                write_compact(v, out);
            }
            out.push('}');
        }
    }
}

/// A float as Python's json module writes it.
pub fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        float_repr(f)
    }
}

fn ascii_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's ordering of two numbers or two strings; a string against a number is Python's
/// TypeError. `None` when a NaN makes every comparison false.
pub fn python_order(
    symbol: &str,
    left: &PyValue,
    right: &PyValue,
) -> Result<Option<Ordering>, RuntimeError> {
    match (left, right) {
        (PyValue::Str(a), PyValue::Str(b)) => Ok(Some(a.cmp(b))),
        (PyValue::Str(_), _) | (_, PyValue::Str(_)) => Err(RuntimeError::Python(format!(
            "'{symbol}' not supported between instances of '{}' and '{}'",
            left.python_type(),
            right.python_type()
        ))),
        _ => Ok(numeric_cmp(left, right)),
    }
}
