//! Evaluates a parsed `--query` the way jmespath.py 1.1.0's `TreeInterpreter` does with
//! `Options(dict_cls=OrderedDict)` (az's call): a multiselect hash builds an ordered dict,
//! projections drop nulls, equality is Python's, ordering compares numbers or strings only.

use super::RuntimeError;
use super::ast::{Ast, Comparator, Node};
use super::conversions::python_order;
use super::functions;
use super::signatures::{Arg, Expref};
use crate::output::pyvalue::{Dict, PyValue, python_eq};
use std::cmp::Ordering;

pub fn visit(node: &Node, value: &PyValue) -> Result<PyValue, RuntimeError> {
    match &node.ast {
        Ast::Identity => Ok(value.clone()),
        Ast::Field(name) => Ok(match value {
            PyValue::Dict(d) => d.entries.get(name).cloned().unwrap_or(PyValue::Null),
            _ => PyValue::Null,
        }),
        Ast::Literal(literal) => Ok(literal.clone()),
        Ast::Index(index) => Ok(match value {
            PyValue::List(items) => index_of(items, *index).cloned().unwrap_or(PyValue::Null),
            _ => PyValue::Null,
        }),
        Ast::Slice(parts) => Ok(match value {
            PyValue::List(items) => PyValue::list(slice(items, parts)),
            _ => PyValue::Null,
        }),
        Ast::Subexpression(children) | Ast::IndexExpression(children) => {
            let mut result = value.clone();
            for child in children {
                result = visit(child, &result)?;
            }
            Ok(result)
        }
        Ast::Pipe(left, right) => visit(right, &visit(left, value)?),
        Ast::Projection(left, right) => match visit(left, value)? {
            PyValue::List(items) => project(&items, right),
            _ => Ok(PyValue::Null),
        },
        Ast::ValueProjection(left, right) => match visit(left, value)? {
            PyValue::Dict(d) => project(&d.entries.values().cloned().collect::<Vec<_>>(), right),
            _ => Ok(PyValue::Null),
        },
        Ast::FilterProjection {
            left,
            right,
            condition,
        } => match visit(left, value)? {
            PyValue::List(items) => filter_project(&items, condition, right),
            _ => Ok(PyValue::Null),
        },
        Ast::Flatten(inner) => match visit(inner, value)? {
            PyValue::List(items) => Ok(flatten(&items)),
            _ => Ok(PyValue::Null),
        },
        Ast::Comparator(comparator, left, right) => {
            compare(*comparator, &visit(left, value)?, &visit(right, value)?)
        }
        Ast::Or(left, right) => {
            let matched = visit(left, value)?;
            if matched.is_false() {
                visit(right, value)
            } else {
                Ok(matched)
            }
        }
        Ast::And(left, right) => {
            let matched = visit(left, value)?;
            if matched.is_false() {
                Ok(matched)
            } else {
                visit(right, value)
            }
        }
        Ast::Not(inner) => Ok(PyValue::Bool(not(&visit(inner, value)?))),
        // A multiselect of nothing is nothing (jmespath.py returns None for a None value).
        Ast::MultiSelectList(_) | Ast::MultiSelectDict(_) if *value == PyValue::Null => {
            Ok(PyValue::Null)
        }
        Ast::MultiSelectList(children) => children
            .iter()
            .map(|c| visit(c, value))
            .collect::<Result<_, _>>()
            .map(PyValue::list),
        Ast::MultiSelectDict(pairs) => multi_select_dict(pairs, value),
        Ast::Function { name, args } => call_function(name, args, value),
        Ast::Expref(_) => Err(RuntimeError::Python(
            "an expression reference (&expr) is only usable as an argument of map(), sort_by(), min_by() or max_by()".into(),
        )),
    }
}

/// `[?condition].right` over a list: the elements the condition keeps, projected, nulls dropped.
fn filter_project(
    items: &[PyValue],
    condition: &Node,
    right: &Node,
) -> Result<PyValue, RuntimeError> {
    let mut collected = Vec::new();
    for item in items {
        if !visit(condition, item)?.is_false() {
            let current = visit(right, item)?;
            if current != PyValue::Null {
                collected.push(current);
            }
        }
    }
    Ok(PyValue::list(collected))
}

/// `[]`: one level of nested lists merged into the list.
fn flatten(items: &[PyValue]) -> PyValue {
    let mut merged = Vec::with_capacity(items.len());
    for item in items {
        match item {
            PyValue::List(inner) => merged.extend(inner.iter().cloned()),
            other => merged.push(other.clone()),
        }
    }
    PyValue::list(merged)
}

/// `{a: x, b: y}`: an ordered dict, keys in the query's order (az's `OrderedDict`).
fn multi_select_dict(pairs: &[(String, Node)], value: &PyValue) -> Result<PyValue, RuntimeError> {
    let mut dict = Dict {
        ordered: true,
        ..Dict::default()
    };
    for (key, child) in pairs {
        dict.entries.insert(key.clone(), visit(child, value)?);
    }
    Ok(PyValue::dict(dict))
}

/// A function call: its arguments evaluated, an expression reference handed over unevaluated
/// with this interpreter's `visit` to apply it.
fn call_function(name: &str, args: &[Node], value: &PyValue) -> Result<PyValue, RuntimeError> {
    let mut resolved = Vec::with_capacity(args.len());
    for arg in args {
        resolved.push(match &arg.ast {
            Ast::Expref(inner) => Arg::Expref(Expref {
                node: inner,
                eval: visit,
            }),
            _ => Arg::Value(visit(arg, value)?),
        });
    }
    functions::call(name, resolved)
}

/// `value[index]` with Python's negative indexes; out of range is None.
fn index_of(items: &[PyValue], index: i64) -> Option<&PyValue> {
    let len = items.len() as i128;
    let i = if index < 0 {
        len + i128::from(index)
    } else {
        i128::from(index)
    };
    if (0..len).contains(&i) {
        items.get(i as usize)
    } else {
        None
    }
}

/// Python's `list[start:stop:step]` (`slice.indices`); a zero step is refused when parsing.
fn slice(items: &[PyValue], parts: &[Option<i64>; 3]) -> Vec<PyValue> {
    let len = items.len() as i128;
    let step = i128::from(parts[2].unwrap_or(1));
    if step == 0 {
        return Vec::new();
    }
    let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
    let clamp = |bound: Option<i64>, default: i128| match bound {
        None => default,
        Some(b) => {
            let b = i128::from(b);
            let b = if b < 0 { b + len } else { b };
            b.clamp(lower, upper)
        }
    };
    let start = clamp(parts[0], if step < 0 { upper } else { lower });
    let stop = clamp(parts[1], if step < 0 { lower } else { upper });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(items[i as usize].clone());
        i += step;
    }
    out
}

fn project(items: &[PyValue], right: &Node) -> Result<PyValue, RuntimeError> {
    let mut collected = Vec::with_capacity(items.len());
    for item in items {
        let current = visit(right, item)?;
        if current != PyValue::Null {
            collected.push(current);
        }
    }
    Ok(PyValue::list(collected))
}

/// `not x` in Python, except that jmespath makes `!0` false.
fn not(value: &PyValue) -> bool {
    match value {
        PyValue::Int(_) | PyValue::Float(_) => false,
        other => other.is_false(),
    }
}

fn compare(
    comparator: Comparator,
    left: &PyValue,
    right: &PyValue,
) -> Result<PyValue, RuntimeError> {
    let (symbol, wanted): (&str, &[Ordering]) = match comparator {
        Comparator::Eq => return Ok(PyValue::Bool(jmespath_equals(left, right))),
        Comparator::Ne => return Ok(PyValue::Bool(!jmespath_equals(left, right))),
        Comparator::Lt => ("<", &[Ordering::Less]),
        Comparator::Lte => ("<=", &[Ordering::Less, Ordering::Equal]),
        Comparator::Gt => (">", &[Ordering::Greater]),
        Comparator::Gte => (">=", &[Ordering::Greater, Ordering::Equal]),
    };
    let comparable =
        |v: &PyValue| matches!(v, PyValue::Int(_) | PyValue::Float(_) | PyValue::Str(_));
    if !comparable(left) || !comparable(right) {
        return Ok(PyValue::Null);
    }
    let ordering = python_order(symbol, left, right)?;
    Ok(PyValue::Bool(ordering.is_some_and(|o| wanted.contains(&o))))
}

/// jmespath's `_equals`: Python's `==`, except that 0 and 1 never equal a boolean at the top.
fn jmespath_equals(x: &PyValue, y: &PyValue) -> bool {
    let zero_or_one = |v: &PyValue| matches!(v.actual_number(), Some(n) if n == 0.0 || n == 1.0);
    if zero_or_one(x) {
        if matches!(y, PyValue::Bool(_)) {
            return false;
        }
    } else if zero_or_one(y) && matches!(x, PyValue::Bool(_)) {
        return false;
    }
    python_eq(x, y)
}
