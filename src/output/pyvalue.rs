//! The data az's formatters see: Python's JSON values after `--query`, with what a serde_json
//! value cannot say. An `int` is not a `float` (`41` against `41.0`), and an object built by a
//! multiselect hash (jmespath's `OrderedDict`) is not a plain `dict`: knack's TSV keeps the first's
//! key order and sorts the second's, and Python compares two `OrderedDict`s in order.

use indexmap::IndexMap;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    Null,
    Bool(bool),
    /// Python's int, within 128 bits (wider integers become floats: a documented difference).
    Int(i128),
    Float(f64),
    Str(String),
    /// Lists and dicts are shared, as Python's objects are: a value reached twice (`[roles,
    /// roles]`, a literal in a projection) is one object, which PyYAML writes with an anchor.
    List(Arc<Vec<PyValue>>),
    Dict(Arc<Dict>),
}

/// A Python dict: its keys in insertion order (the SDK model's order for service objects).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict {
    pub entries: IndexMap<String, PyValue>,
    /// Built by a multiselect hash (an `OrderedDict` in az), not a plain `dict`.
    pub ordered: bool,
}

impl Dict {
    pub fn plain(entries: IndexMap<String, PyValue>) -> Self {
        Dict {
            entries,
            ordered: false,
        }
    }

    /// The entries sorted by key, as `json.dumps(sort_keys=True)` and PyYAML write them.
    pub fn sorted(&self) -> Vec<(&String, &PyValue)> {
        let mut entries: Vec<_> = self.entries.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries
    }
}

impl From<&serde_json::Value> for PyValue {
    /// As Python's `json.loads` gives it: plain dicts in document order, ints and floats apart.
    fn from(value: &serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => PyValue::Null,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => PyValue::Int(i.into()),
                (None, Some(u)) => PyValue::Int(u.into()),
                _ => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::list(items.iter().map(PyValue::from).collect()),
            Value::Object(map) => PyValue::dict(Dict::plain(
                map.iter()
                    .map(|(k, v)| (k.clone(), PyValue::from(v)))
                    .collect(),
            )),
        }
    }
}

impl PyValue {
    pub fn list(items: Vec<PyValue>) -> PyValue {
        PyValue::List(Arc::new(items))
    }

    pub fn dict(dict: Dict) -> PyValue {
        PyValue::Dict(Arc::new(dict))
    }

    /// Python's `type(x).__name__`, which jmespath's error messages quote.
    pub fn python_type(&self) -> &'static str {
        match self {
            PyValue::Null => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Dict(d) if d.ordered => "OrderedDict",
            PyValue::Dict(_) => "dict",
        }
    }

    /// The JMESPath type name (`type()`, and the `received:` of type errors).
    pub fn jmespath_type(&self) -> &'static str {
        match self {
            PyValue::Null => "null",
            PyValue::Bool(_) => "boolean",
            PyValue::Int(_) | PyValue::Float(_) => "number",
            PyValue::Str(_) => "string",
            PyValue::List(_) => "array",
            PyValue::Dict(_) => "object",
        }
    }

    /// jmespath's `_is_false`: empty string, list, dict, None and False.
    pub fn is_false(&self) -> bool {
        match self {
            PyValue::Null | PyValue::Bool(false) => true,
            PyValue::Str(s) => s.is_empty(),
            PyValue::List(l) => l.is_empty(),
            PyValue::Dict(d) => d.entries.is_empty(),
            _ => false,
        }
    }

    /// A number that is not a bool (jmespath's `_is_actual_number`), as f64 for range checks.
    pub fn actual_number(&self) -> Option<f64> {
        match self {
            PyValue::Int(i) => Some(*i as f64),
            PyValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Python's `str(x)`: what TSV fields and table cells show.
    pub fn python_str(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            other => other.python_repr(),
        }
    }

    /// Python's `repr(x)` (3.12 and later, as az ships), used in jmespath's error messages.
    pub fn python_repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            PyValue::Null => out.push_str("None"),
            PyValue::Bool(true) => out.push_str("True"),
            PyValue::Bool(false) => out.push_str("False"),
            PyValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            PyValue::Float(f) => out.push_str(&float_repr(*f)),
            PyValue::Str(s) => out.push_str(&str_repr(s)),
            PyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_repr(out);
                }
                out.push(']');
            }
            PyValue::Dict(d) => {
                if d.ordered {
                    if d.entries.is_empty() {
                        out.push_str("OrderedDict()");
                        return;
                    }
                    out.push_str("OrderedDict(");
                }
                out.push('{');
                for (i, (k, v)) in d.entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&str_repr(k));
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
                if d.ordered {
                    out.push(')');
                }
            }
        }
    }
}

/// Python's `==` between JSON values: `1 == 1.0 == True`, lists element-wise, a dict against
/// a dict as sets of pairs, and two `OrderedDict`s in order as well.
pub fn python_eq(a: &PyValue, b: &PyValue) -> bool {
    use PyValue::*;
    match (a, b) {
        (Null, Null) => true,
        (Str(x), Str(y)) => x == y,
        (List(x), List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| python_eq(p, q))
        }
        (Dict(x), Dict(y)) => {
            if x.entries.len() != y.entries.len() {
                return false;
            }
            if x.ordered && y.ordered {
                x.entries
                    .iter()
                    .zip(&y.entries)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && python_eq(v1, v2))
            } else {
                x.entries
                    .iter()
                    .all(|(k, v)| y.entries.get(k).is_some_and(|w| python_eq(v, w)))
            }
        }
        _ => numeric_cmp(a, b) == Some(Ordering::Equal),
    }
}

/// Compares two numbers (bools count as 0 and 1, as in Python) exactly, even an int against a
/// float beyond 2^53. `None` for NaN or when either is not a number.
pub fn numeric_cmp(a: &PyValue, b: &PyValue) -> Option<Ordering> {
    let as_int = |v: &PyValue| match v {
        PyValue::Int(i) => Some(*i),
        PyValue::Bool(b) => Some(i128::from(*b)),
        _ => None,
    };
    match (a, b) {
        (PyValue::Float(x), PyValue::Float(y)) => x.partial_cmp(y),
        (PyValue::Float(x), other) => {
            as_int(other).and_then(|i| int_float_cmp(i, *x).map(Ordering::reverse))
        }
        (other, PyValue::Float(y)) => as_int(other).and_then(|i| int_float_cmp(i, *y)),
        _ => Some(as_int(a)?.cmp(&as_int(b)?)),
    }
}

fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    const TWO_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= TWO_127 {
        return Some(Ordering::Less);
    }
    if f < -TWO_127 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    // In range, so the cast is exact.
    match i.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole)),
        other => Some(other),
    }
}

/// Python's `repr(float)`: the shortest text that reads back the same, in fixed notation when
/// the decimal exponent is in -4..16 (`0.0001`, `1e+16`, `1e-05`, `1.0`), else scientific.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the same shortest digits, as `d.ddde±x`.
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            let zeros = "0".repeat((-exponent - 1) as usize);
            return format!("{sign}0.{zeros}{digits}");
        }
        let point = exponent as usize + 1;
        if digits.len() <= point {
            let zeros = "0".repeat(point - digits.len());
            return format!("{sign}{digits}{zeros}.0");
        }
        return format!("{sign}{}.{}", &digits[..point], &digits[point..]);
    }
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    let mantissa = if digits.len() > 1 {
        format!("{}.{}", &digits[..1], &digits[1..])
    } else {
        digits
    };
    format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
}

/// Python's `repr(str)`: single quotes unless the text has one and no double quote;
/// backslash escapes for the quote, backslash, controls and characters Python finds unprintable.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !python_printable(c) => {
                let n = c as u32;
                let _ = match n {
                    0..=0xff => write!(out, "\\x{n:02x}"),
                    0x100..=0xffff => write!(out, "\\u{n:04x}"),
                    _ => write!(out, "\\U{n:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` for one character: not a control, format, separator (other than the
/// ASCII space) or private/unassigned code point. Approximated with the common ranges.
fn python_printable(c: char) -> bool {
    let n = c as u32;
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(n, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
            | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
            | 0xe000..=0xf8ff | 0xf0000.. ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        for (f, text) in [
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (0.5, "0.5"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (123456789012345.6, "123456789012345.6"),
            (1.5e16, "1.5e+16"),
            (1e100, "1e+100"),
            (2.5e-7, "2.5e-07"),
            (41.0, "41.0"),
            (f64::INFINITY, "inf"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e15, "1000000000000000.0"),
        ] {
            assert_eq!(float_repr(f), text, "{f:?}");
        }
    }

    #[test]
    fn equality_follows_python() {
        use PyValue::*;
        assert!(python_eq(&Int(1), &Float(1.0)));
        assert!(python_eq(
            &PyValue::list(vec![Int(1)]),
            &PyValue::list(vec![Bool(true)])
        ));
        assert!(!python_eq(&Str("1".into()), &Int(1)));
        assert!(python_eq(&Int(i128::MAX), &Int(i128::MAX)));
        assert!(python_eq(&Int(10i128.pow(22)), &Float(1e22)));
        assert!(!python_eq(
            &Int(9_007_199_254_740_993),
            &Float(9_007_199_254_740_992.0)
        ));
        let d = |ordered, keys: &[&str]| {
            PyValue::dict(super::Dict {
                entries: keys.iter().map(|k| (k.to_string(), Null)).collect(),
                ordered,
            })
        };
        assert!(python_eq(&d(true, &["a", "b"]), &d(false, &["b", "a"])));
        assert!(!python_eq(&d(true, &["a", "b"]), &d(true, &["b", "a"])));
    }

    #[test]
    fn reprs_match_python() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'\"b\n"), "'a\\'\"b\\n'");
        assert_eq!(str_repr("é\u{7f}"), "'é\\x7f'");
        let v = PyValue::list(vec![
            PyValue::Null,
            PyValue::Float(0.5),
            PyValue::Str("x".into()),
        ]);
        assert_eq!(v.python_repr(), "[None, 0.5, 'x']");
    }
}
