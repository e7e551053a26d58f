//! Tab-separated values, knack's `_TsvOutput` rules exactly: no header; a single result becomes
//! a one-item list; one line per item; object values in sorted-key order (or the query's order);
//! a nested list prints its length, a nested object an empty field, null `None`, booleans
//! `True`/`False` (a top-level boolean item `true`/`false`).

use serde_json::Value;

pub fn render(data: &Value, column_order: Option<&[String]>) -> String {
    let items: Vec<&Value> = match data {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for item in items {
        match item {
            Value::Object(map) => {
                let values: Vec<&Value> = match column_order {
                    Some(order) => order.iter().filter_map(|k| map.get(k)).collect(),
                    None => map.values().collect(),
                };
                out.push_str(
                    &values
                        .iter()
                        .map(|v| field(v))
                        .collect::<Vec<_>>()
                        .join("\t"),
                );
            }
            Value::Array(values) => {
                out.push_str(&values.iter().map(field).collect::<Vec<_>>().join("\t"))
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            scalar => out.push_str(&field(scalar)),
        }
        out.push('\n');
    }
    out
}

/// One field inside a row, as Python's `str()` prints it.
fn field(value: &Value) -> String {
    match value {
        Value::Array(items) => items.len().to_string(),
        Value::Object(_) => String::new(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => python_str_number(n),
    }
}

fn python_str_number(n: &serde_json::Number) -> String {
    match n.as_f64().filter(|_| n.is_f64()) {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
        Some(f) => format!("{f:?}"),
        None => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_follow_knacks_rules() {
        let data = json!([{"name": "mlworkload", "rules": [1], "sourceResourceType": "A/b"}]);
        assert_eq!(render(&data, None), "mlworkload\t1\tA/b\n");
        let data = json!({"b": null, "a": {"x": 1}, "c": true, "d": 2.0});
        assert_eq!(render(&data, None), "\tNone\tTrue\t2.0\n");
        assert_eq!(render(&json!(true), None), "true\n");
        assert_eq!(render(&json!([["a", 1], "s", 3]), None), "a\t1\ns\n3\n");
        assert_eq!(render(&json!([]), None), "");
    }

    #[test]
    fn a_query_multiselect_keeps_its_written_order() {
        let data = json!([{"a": 1, "z": 2}]);
        assert_eq!(render(&data, Some(&["z".into(), "a".into()])), "2\t1\n");
    }
}
