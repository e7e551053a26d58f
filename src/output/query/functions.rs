//! jmespath.py 1.1.0's built-in functions (`functions.py`), with its type checks and messages:
//! integers stay integers (`sum`, `abs`, `floor`, `max` of ints), `avg` is a float, `merge` makes
//! a plain dict, `sort_by` takes its key type from the first element.

use super::RuntimeError;
use super::conversions::{compact_json, python_order, to_number};
use super::signatures::{Arg, Expref, signature, type_check, type_error};
use crate::output::pyvalue::{Dict, PyValue, python_eq};
use std::cmp::Ordering;
use std::sync::Arc;

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
            ) => return by_expression(name, items, *expr),
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
        ("length", Str(s)) => Int(s.chars().count() as i128),
        ("length", List(l)) => Int(l.len() as i128),
        ("length", Dict(d)) => Int(d.entries.len() as i128),
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
            // Within 128 bits the cast is exact; beyond, Python's int has no equal here.
            Ok(if r.abs() < 1.7e38 {
                PyValue::Int(r as i128)
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
    let mut total: i128 = 0;
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
    expr: Expref<'_>,
) -> Result<PyValue, RuntimeError> {
    let items: &[PyValue] = list;
    if name == "map" {
        return items
            .iter()
            .map(|i| expr.apply(i))
            .collect::<Result<_, _>>()
            .map(PyValue::list);
    }
    if name == "sort_by" {
        let Some(first) = items.first() else {
            // Python hands back the very list it was given.
            return Ok(PyValue::List(Arc::clone(list)));
        };
        let required = expr.apply(first)?.jmespath_type();
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
    expr: Expref<'_>,
    item: &PyValue,
    allowed: &[&str],
) -> Result<PyValue, RuntimeError> {
    let key = expr.apply(item)?;
    let actual = key.jmespath_type();
    if !allowed.contains(&actual) {
        return Err(type_error(name, &key, actual, allowed));
    }
    Ok(key)
}
