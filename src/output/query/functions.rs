//! jmespath.py 1.1.0's built-in functions (`functions.py`), with its type checks and messages:
//! integers stay integers (`sum`, `abs`, `floor`, `max` of ints), `avg` is a float, `merge` makes
//! a plain dict, `sort_by` takes its key type from the first element.

use super::RuntimeError;
use super::interpreter::{python_order, visit};
use super::parser::Node;
use crate::output::pyvalue::{Dict, PyValue, float_repr, python_eq};
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

pub enum Arg<'a> {
    Value(PyValue),
    Expref(&'a Node),
}

/// Each function's parameters: the JMESPath types each accepts (empty: any), and whether the
/// last one repeats.
const SIGNATURES: &[(&str, &[&[&str]], bool)] = &[
    ("abs", &[&["number"]], false),
    ("avg", &[&["array-number"]], false),
    ("ceil", &[&["number"]], false),
    ("contains", &[&["array", "string"], &[]], false),
    ("ends_with", &[&["string"], &["string"]], false),
    ("floor", &[&["number"]], false),
    ("join", &[&["string"], &["array-string"]], false),
    ("keys", &[&["object"]], false),
    ("length", &[&["string", "array", "object"]], false),
    ("map", &[&["expref"], &["array"]], false),
    ("max", &[&["array-number", "array-string"]], false),
    ("max_by", &[&["array"], &["expref"]], false),
    ("merge", &[&["object"]], true),
    ("min", &[&["array-number", "array-string"]], false),
    ("min_by", &[&["array"], &["expref"]], false),
    ("not_null", &[&[]], true),
    ("reverse", &[&["array", "string"]], false),
    ("sort", &[&["array-string", "array-number"]], false),
    ("sort_by", &[&["array"], &["expref"]], false),
    ("starts_with", &[&["string"], &["string"]], false),
    ("sum", &[&["array-number"]], false),
    ("to_array", &[&[]], false),
    ("to_number", &[&[]], false),
    ("to_string", &[&[]], false),
    ("type", &[&[]], false),
    ("values", &[&["object"]], false),
];

fn signature(name: &str) -> Option<(&'static [&'static [&'static str]], bool)> {
    SIGNATURES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, params, variadic)| (*params, *variadic))
}

/// Whether `name` exists and takes `count` arguments: checked when parsing, so a typo or a wrong
/// count is refused before any request (jmespath.py finds them only when the call runs).
pub fn check_call(name: &str, count: usize) -> Result<(), String> {
    let Some((params, variadic)) = signature(name) else {
        return Err(format!("unknown function {name}()"));
    };
    let expected = params.len();
    let plural = if expected == 1 {
        "argument"
    } else {
        "arguments"
    };
    if variadic && count < expected {
        return Err(format!(
            "Expected at least {expected} {plural} for function {name}(), received {count}"
        ));
    }
    if !variadic && count != expected {
        return Err(format!(
            "Expected {expected} {plural} for function {name}(), received {count}"
        ));
    }
    Ok(())
}

pub fn call(name: &str, args: Vec<Arg<'_>>) -> Result<PyValue, RuntimeError> {
    let (params, _) = signature(name)
        .ok_or_else(|| RuntimeError::Jmespath(format!("Unknown function: {name}()")))?;
    for (arg, types) in args.iter().zip(params) {
        type_check(name, arg, types)?;
    }
    if let [first, second] = &args[..] {
        match (name, first, second) {
            ("map", Arg::Expref(expr), Arg::Value(PyValue::List(items)))
            | (
                "sort_by" | "min_by" | "max_by",
                Arg::Value(PyValue::List(items)),
                Arg::Expref(expr),
            ) => return by_expression(name, items, expr),
            _ => {}
        }
    }
    let values = args
        .into_iter()
        .map(|a| match a {
            Arg::Value(v) => Ok(v),
            Arg::Expref(_) => Err(expref_misused()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    match name {
        "not_null" => Ok(values
            .into_iter()
            .find(|v| *v != PyValue::Null)
            .unwrap_or(PyValue::Null)),
        "merge" => merge(values),
        _ => {
            let mut values = values.into_iter();
            let first = values.next().unwrap_or(PyValue::Null);
            one_value(name, first, values.next())
        }
    }
}

fn expref_misused() -> RuntimeError {
    RuntimeError::Python(
        "an expression reference (&expr) is only usable as an argument of map(), sort_by(), min_by() or max_by()".into(),
    )
}

/// `merge`: a new plain dict, updated with each argument in turn (a repeated key keeps its first
/// position and takes the last value, as `dict.update` does). jmespath.py type-checks only the
/// first argument; Python's `update` then takes any sequence of key/value pairs.
fn merge(values: Vec<PyValue>) -> Result<PyValue, RuntimeError> {
    let mut merged = Dict::default();
    for value in values {
        match value {
            PyValue::Dict(d) => merged
                .entries
                .extend(d.entries.iter().map(|(k, v)| (k.clone(), v.clone()))),
            // Each character is a sequence of one.
            PyValue::Str(s) if !s.is_empty() => return Err(pair_length(0, 1)),
            PyValue::Str(_) => {}
            PyValue::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    let (key, value) = update_pair(i, item)?;
                    merged.entries.insert(key, value);
                }
            }
            other => {
                return Err(RuntimeError::Python(format!(
                    "'{}' object is not iterable",
                    other.python_type()
                )));
            }
        }
    }
    Ok(PyValue::dict(merged))
}

/// One element of a sequence given to `dict.update`: a pair whose key is a string.
fn update_pair(i: usize, item: &PyValue) -> Result<(String, PyValue), RuntimeError> {
    let parts: Vec<PyValue> = match item {
        PyValue::Str(s) => s.chars().map(|c| PyValue::Str(c.to_string())).collect(),
        PyValue::List(l) => l.to_vec(),
        PyValue::Dict(d) => d.entries.keys().cloned().map(PyValue::Str).collect(),
        _ => {
            return Err(RuntimeError::Python(format!(
                "cannot convert dictionary update sequence element #{i} to a sequence"
            )));
        }
    };
    match <[PyValue; 2]>::try_from(parts) {
        Ok([PyValue::Str(key), value]) => Ok((key, value)),
        Ok([key, _]) => Err(RuntimeError::Python(match key {
            PyValue::List(_) | PyValue::Dict(_) => {
                format!("unhashable type: '{}'", key.python_type())
            }
            // A non-string key has no JSON form here (Python's output would turn it into one).
            _ => format!("a merge() key must be a string, not {}", key.python_type()),
        })),
        Err(parts) => Err(pair_length(i, parts.len())),
    }
}

fn pair_length(i: usize, length: usize) -> RuntimeError {
    RuntimeError::Python(format!(
        "dictionary update sequence element #{i} has length {length}; 2 is required"
    ))
}

/// The functions of plain values.
fn one_value(name: &str, arg: PyValue, second: Option<PyValue>) -> Result<PyValue, RuntimeError> {
    use PyValue::*;
    let second = second.unwrap_or(Null);
    Ok(match (name, arg) {
        ("abs", Int(i)) => i.checked_abs().map_or(Float((i as f64).abs()), Int),
        ("abs", Float(f)) => Float(f.abs()),
        ("avg", List(items)) if items.is_empty() => Null,
        ("avg", List(items)) => {
            let count = items.len() as f64;
            match sum(&items) {
                Int(i) => Float(i as f64 / count),
                Float(f) => Float(f / count),
                other => other,
            }
        }
        ("ceil", v) => round(v, f64::ceil)?,
        ("floor", v) => round(v, f64::floor)?,
        ("contains", List(items)) => Bool(items.iter().any(|i| python_eq(i, &second))),
        ("contains", Str(s)) => match &second {
            Str(search) => Bool(s.contains(search.as_str())),
            other => {
                return Err(RuntimeError::Python(format!(
                    "'in <string>' requires string as left operand, not {}",
                    other.python_type()
                )));
            }
        },
        ("ends_with", Str(s)) => Bool(matches!(&second, Str(x) if s.ends_with(x.as_str()))),
        ("starts_with", Str(s)) => Bool(matches!(&second, Str(x) if s.starts_with(x.as_str()))),
        ("join", Str(separator)) => match second {
            List(items) => Str(items
                .iter()
                .map(|i| match i {
                    Str(s) => s.as_str(),
                    _ => "",
                })
                .collect::<Vec<_>>()
                .join(&separator)),
            _ => Null,
        },
        ("keys", Dict(d)) => PyValue::list(d.entries.keys().cloned().map(Str).collect()),
        ("values", Dict(d)) => PyValue::list(d.entries.values().cloned().collect()),
        ("length", Str(s)) => Int(s.chars().count() as i64),
        ("length", List(l)) => Int(l.len() as i64),
        ("length", Dict(d)) => Int(d.entries.len() as i64),
        ("max", List(items)) => extreme(&items, Ordering::Greater)?,
        ("min", List(items)) => extreme(&items, Ordering::Less)?,
        ("reverse", Str(s)) => Str(s.chars().rev().collect()),
        ("reverse", List(l)) => {
            let mut l = Arc::unwrap_or_clone(l);
            l.reverse();
            PyValue::list(l)
        }
        ("sort", List(items)) => {
            let mut items = Arc::unwrap_or_clone(items);
            let mut failure = None;
            items.sort_by(|a, b| match python_order("<", a, b) {
                Ok(o) => o.unwrap_or(Ordering::Equal),
                Err(e) => {
                    failure.get_or_insert(e);
                    Ordering::Equal
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            PyValue::list(items)
        }
        ("sum", List(items)) => sum(&items),
        ("to_array", List(l)) => List(l),
        ("to_array", other) => PyValue::list(vec![other]),
        ("to_string", Str(s)) => Str(s),
        ("to_string", other) => Str(compact_json(&other)),
        ("to_number", Str(s)) => to_number(&s),
        ("to_number", v @ (Int(_) | Float(_))) => v,
        ("to_number", _) => Null,
        ("type", v) => Str(v.jmespath_type().to_string()),
        _ => Null,
    })
}

/// `math.floor`/`math.ceil`: an int from any number.
fn round(value: PyValue, f: fn(f64) -> f64) -> Result<PyValue, RuntimeError> {
    match value {
        PyValue::Float(x) if x.is_nan() => Err(RuntimeError::Python(
            "cannot convert float NaN to integer".into(),
        )),
        PyValue::Float(x) if x.is_infinite() => Err(RuntimeError::Python(
            "cannot convert float infinity to integer".into(),
        )),
        PyValue::Float(x) => {
            let r = f(x);
            // Within 64 bits the cast is exact; beyond, Python's int has no equal here.
            Ok(if r.abs() < 9.2e18 {
                PyValue::Int(r as i64)
            } else {
                PyValue::Float(r)
            })
        }
        other => Ok(other),
    }
}

/// Python's `sum()` (3.12 and later, as az ships): ints exactly, then floats with Neumaier's
/// compensated summation once the first float is met.
fn sum(items: &[PyValue]) -> PyValue {
    let mut total: i64 = 0;
    let mut rest = items.iter();
    let first_float = loop {
        match rest.next() {
            None => return PyValue::Int(total),
            Some(PyValue::Int(i)) => match total.checked_add(*i) {
                Some(t) => total = t,
                None => break total as f64 + *i as f64,
            },
            Some(PyValue::Float(f)) => break total as f64 + f,
            Some(_) => {}
        }
    };
    let mut f_result = first_float;
    let mut c = 0.0f64;
    for item in rest {
        match item {
            PyValue::Float(x) => {
                let x = *x;
                let t = f_result + x;
                if f_result.abs() >= x.abs() {
                    c += (f_result - t) + x;
                } else {
                    c += (x - t) + f_result;
                }
                f_result = t;
            }
            PyValue::Int(i) => f_result += *i as f64,
            _ => {}
        }
    }
    if c != 0.0 && c.is_finite() {
        f_result += c;
    }
    PyValue::Float(f_result)
}

/// `max()`/`min()`: the first element no other beats.
fn extreme(items: &[PyValue], wanted: Ordering) -> Result<PyValue, RuntimeError> {
    let symbol = if wanted == Ordering::Greater {
        ">"
    } else {
        "<"
    };
    let mut items = items.iter();
    let Some(mut best) = items.next() else {
        return Ok(PyValue::Null);
    };
    for item in items {
        if python_order(symbol, item, best)? == Some(wanted) {
            best = item;
        }
    }
    Ok(best.clone())
}

/// `map`, `sort_by`, `min_by`, `max_by`: an expression applied to each element.
fn by_expression(
    name: &str,
    list: &Arc<Vec<PyValue>>,
    expr: &Node,
) -> Result<PyValue, RuntimeError> {
    let items: &[PyValue] = list;
    if name == "map" {
        return items
            .iter()
            .map(|i| visit(expr, i))
            .collect::<Result<_, _>>()
            .map(PyValue::list);
    }
    if name == "sort_by" {
        let Some(first) = items.first() else {
            // Python hands back the very list it was given.
            return Ok(PyValue::List(Arc::clone(list)));
        };
        let required = visit(expr, first)?.jmespath_type();
        if required != "number" && required != "string" {
            return Err(type_error(name, first, required, &["string", "number"]));
        }
        let keys = items
            .iter()
            .map(|i| key_of(name, expr, i, &[required]))
            .collect::<Result<Vec<_>, _>>()?;
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|a, b| {
            python_order("<", &keys[*a], &keys[*b])
                .ok()
                .flatten()
                .unwrap_or(Ordering::Equal)
        });
        return Ok(PyValue::list(
            order.into_iter().map(|i| items[i].clone()).collect(),
        ));
    }
    let (symbol, wanted) = if name == "max_by" {
        (">", Ordering::Greater)
    } else {
        ("<", Ordering::Less)
    };
    let mut best: Option<(usize, PyValue)> = None;
    for (i, item) in items.iter().enumerate() {
        let key = key_of(name, expr, item, &["number", "string"])?;
        match &best {
            Some((_, best_key)) if python_order(symbol, &key, best_key)? != Some(wanted) => {}
            _ => best = Some((i, key)),
        }
    }
    Ok(best.map_or(PyValue::Null, |(i, _)| items[i].clone()))
}

fn key_of(
    name: &str,
    expr: &Node,
    item: &PyValue,
    allowed: &[&str],
) -> Result<PyValue, RuntimeError> {
    let key = visit(expr, item)?;
    let actual = key.jmespath_type();
    if !allowed.contains(&actual) {
        return Err(type_error(name, &key, actual, allowed));
    }
    Ok(key)
}

/// jmespath.py's argument check: the value's type, then (for `array-…`) its elements' types.
fn type_check(name: &str, arg: &Arg<'_>, types: &[&str]) -> Result<(), RuntimeError> {
    if types.is_empty() {
        return Ok(());
    }
    let value = match arg {
        Arg::Expref(_) if types.contains(&"expref") => return Ok(()),
        Arg::Expref(_) => {
            return Err(RuntimeError::Jmespath(format!(
                "In function {name}(), invalid type for value: <jmespath.visitor._Expression object>, expected one of: {}, received: \"expref\"",
                list_repr(types)
            )));
        }
        Arg::Value(v) => v,
    };
    let base = |t: &str| t.split_once('-').map_or(t, |(b, _)| b).to_string();
    let actual = value.jmespath_type();
    if !types.iter().any(|t| base(t) == actual) {
        return Err(type_error(name, value, actual, types));
    }
    let subtypes: Vec<&str> = types
        .iter()
        .filter_map(|t| t.split_once('-').map(|(_, s)| s))
        .collect();
    let PyValue::List(items) = value else {
        return Ok(());
    };
    let allowed = match subtypes[..] {
        [] => return Ok(()),
        [only] => only,
        _ => match items.first() {
            None => return Ok(()),
            Some(first) => match subtypes
                .iter()
                .find(|s| **s == first.jmespath_type() && !matches!(first, PyValue::Bool(_)))
            {
                Some(s) => s,
                None => return Err(type_error(name, first, first.python_type(), types)),
            },
        },
    };
    for item in items.iter() {
        if item.jmespath_type() != allowed {
            return Err(type_error(name, item, item.python_type(), types));
        }
    }
    Ok(())
}

fn type_error(name: &str, value: &PyValue, received: &str, expected: &[&str]) -> RuntimeError {
    RuntimeError::Jmespath(format!(
        "In function {name}(), invalid type for value: {}, expected one of: {}, received: \"{received}\"",
        value.python_str(),
        list_repr(expected)
    ))
}

/// Python's repr of a list of strings: `['number', 'string']`.
fn list_repr(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// `to_number` of a string: Python's `int()`, else `float()`, else null.
fn to_number(text: &str) -> PyValue {
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    if let Some(digits) = python_digits(trimmed, false) {
        if let Ok(i) = digits.parse::<i64>() {
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
