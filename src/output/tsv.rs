//! Tab-separated values, knack's `_TsvOutput` rules exactly: no header; a single result becomes
//! a one-item list; one line per item; a plain object's values in sorted-key order, an object
//! built by a multiselect hash (an `OrderedDict`) in its own order; a nested list prints its
//! length, a nested object an empty field, null `None`, booleans `True`/`False` (a top-level
//! boolean item `true`/`false`), numbers as Python's `str()`.

use crate::output::pyvalue::PyValue;

pub fn render(data: &PyValue) -> String {
    let items: Vec<&PyValue> = match data {
        PyValue::List(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for item in items {
        match item {
            PyValue::Dict(d) => {
                let values: Vec<&PyValue> = if d.ordered {
                    d.entries.values().collect()
                } else {
                    d.sorted().into_iter().map(|(_, v)| v).collect()
                };
                push_fields(&mut out, values);
            }
            PyValue::List(values) => push_fields(&mut out, values.iter().collect()),
            PyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            scalar => out.push_str(&crate::diagnostics::sanitize(&field(scalar))),
        }
        out.push('\n');
    }
    out
}

fn push_fields(out: &mut String, values: Vec<&PyValue>) {
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(&crate::diagnostics::sanitize(&field(value)));
    }
}

/// One field inside a row, as Python's `str()` prints it.
fn field(value: &PyValue) -> String {
    match value {
        PyValue::List(items) => items.len().to_string(),
        PyValue::Dict(_) => String::new(),
        scalar => scalar.python_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::pyvalue::Dict;

    fn tsv(v: serde_json::Value) -> String {
        render(&PyValue::from(&v))
    }

    #[test]
    fn rows_follow_knacks_rules() {
        use serde_json::json;
        let data = json!([{"name": "mlworkload", "rules": [1], "sourceResourceType": "A/b"}]);
        assert_eq!(tsv(data), "mlworkload\t1\tA/b\n");
        let data = json!({"b": null, "a": {"x": 1}, "c": true, "d": 2.0, "e": 1e-5});
        assert_eq!(tsv(data), "\tNone\tTrue\t2.0\t1e-05\n");
        assert_eq!(tsv(json!(true)), "true\n");
        assert_eq!(tsv(json!([["a", 1], "s", 3])), "a\t1\ns\n3\n");
        assert_eq!(tsv(json!([])), "");
    }

    #[test]
    fn a_multiselect_hash_keeps_its_written_order() {
        let mut d = Dict {
            ordered: true,
            ..Dict::default()
        };
        d.entries.insert("z".into(), PyValue::Int(2));
        d.entries.insert("a".into(), PyValue::Int(1));
        assert_eq!(
            render(&PyValue::list(vec![PyValue::dict(d.clone())])),
            "2\t1\n"
        );
        d.ordered = false;
        assert_eq!(render(&PyValue::dict(d)), "1\t2\n");
    }
}
