//! jmespath.py's function signatures and its argument checks, with its messages: the top-level
//! type by JMESPath name, an `array-…` element by Python type name (`received: "str"`).

use super::RuntimeError;
use super::ast::Node;
use crate::output::pyvalue::PyValue;

/// An argument as a function receives it: a value, or an expression reference (`&expr`).
pub enum Arg<'a> {
    Value(PyValue),
    Expref(Expref<'a>),
}

/// An expression reference with the evaluator that applies it to an element. The interpreter
/// hands its own `visit` in, so the functions (`map`, `sort_by`, …) never call back into it.
#[derive(Clone, Copy)]
pub struct Expref<'a> {
    pub node: &'a Node,
    pub eval: fn(&Node, &PyValue) -> Result<PyValue, RuntimeError>,
}

impl Expref<'_> {
    pub fn apply(&self, value: &PyValue) -> Result<PyValue, RuntimeError> {
        (self.eval)(self.node, value)
    }
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

pub fn signature(name: &str) -> Option<(&'static [&'static [&'static str]], bool)> {
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

/// jmespath.py's argument check: the value's type, then (for `array-…`) its elements' types.
pub fn type_check(name: &str, arg: &Arg<'_>, types: &[&str]) -> Result<(), RuntimeError> {
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

pub fn type_error(name: &str, value: &PyValue, received: &str, expected: &[&str]) -> RuntimeError {
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
