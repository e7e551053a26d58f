//! `--query`: JMESPath evaluated exactly as az evaluates it (Python's jmespath 1.1.0 with ordered
//! dicts), compiled before any request so a bad expression costs nothing (exit 2, with where the
//! error is); an error while evaluating is az's exit 1 with az's message.
//!
//! The engine is a port of jmespath.py rather than a crate: the Rust crates follow the JMESPath
//! specification, and az's scripts were written against Python's behaviour where the two part
//! (parse precedence, ints against floats, key order, legacy literals). See the README.

mod ast;
mod conversions;
mod functions;
mod interpreter;
mod lexer;
mod literal;
mod parser;
mod signatures;

use crate::error::{Error, Result};
use crate::output::pyvalue::PyValue;

pub use ast::MAX_DEPTH;
pub use conversions::json_float;

/// A refused expression: where, and why.
#[derive(Debug)]
pub struct SyntaxError {
    position: usize,
    message: String,
}

impl SyntaxError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        SyntaxError {
            position,
            message: message.into(),
        }
    }
}

/// A failure while evaluating, as Python raises it.
#[derive(Debug)]
pub enum RuntimeError {
    /// A `JMESPathError` (a function's type check): az names it an invalid query.
    Jmespath(String),
    /// Another Python exception (`'<' not supported between instances of 'str' and 'int'`):
    /// az reports an unexpected error.
    Python(String),
}

#[derive(Debug, Clone)]
pub struct Query {
    tree: ast::Node,
}

impl Query {
    /// Parses the expression and checks every function it calls exists and gets the right
    /// number of arguments, so a typo is refused before any request rather than after it.
    pub fn compile(text: &str) -> Result<Self> {
        let tree =
            on_engine_stack(|| lexer::tokenize(text).and_then(parser::parse)).map_err(|e| {
                Error::usage_with_hint(
                    format!("argument --query: invalid jmespath query supplied: '{text}'"),
                    format!("{} at column {}", e.message, e.position + 1),
                )
            })?;
        Ok(Query { tree })
    }

    /// Evaluates the query over az's data.
    pub fn search(&self, data: &PyValue) -> Result<PyValue> {
        on_engine_stack(|| interpreter::visit(&self.tree, data)).map_err(|e| match e {
            RuntimeError::Jmespath(message) => Error::QueryFailed {
                message: format!("Invalid jmespath query supplied for `--query`: {message}"),
                recommendation: Some(
                    "To learn more about --query, please visit: 'https://learn.microsoft.com/cli/azure/query-azure-cli'",
                ),
            },
            RuntimeError::Python(message) => Error::QueryFailed {
                message: format!(
                    "The command failed with an unexpected error. Here is the traceback:\nERROR: {message}"
                ),
                recommendation: None,
            },
        })
    }

    /// Evaluates the query over a serde_json document (its objects taken as plain dicts).
    pub fn apply(&self, data: &serde_json::Value) -> Result<PyValue> {
        self.search(&PyValue::from(data))
    }
}

/// The stack the parser and interpreter run on: their recursion follows the expression's
/// nesting, which `MAX_DEPTH` bounds; this makes that bound, not the calling thread's stack (2 MiB
/// for a test thread, and debug builds use far more per level), the limit.
const ENGINE_STACK: usize = 64 << 20;

fn on_engine_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("query".into())
            .stack_size(ENGINE_STACK)
            .spawn_scoped(scope, work);
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No thread to be had: the work was moved into the failed spawn, so fail clearly.
            Err(e) => panic!("cannot start the --query thread: {e}"),
        }
    })
}

/// `to_string()`'s JSON, for tests and other writers that need Python's compact form.
pub fn python_compact_json(value: &PyValue) -> String {
    conversions::compact_json(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(query: &str, data: serde_json::Value) -> String {
        let result = Query::compile(query).unwrap().apply(&data).unwrap();
        python_compact_json(&result)
    }

    #[test]
    fn bad_expressions_are_usage_errors() {
        for bad in ["[?name==", "foo(@)", "abs(@, @)", "[::0]", "a.", "{a}"] {
            let e = Query::compile(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn multiselect_key_order_survives_filters_pipes_and_sorts() {
        let data = json!([{"name": "b", "s": "x"}, {"name": "a", "s": "y"}]);
        assert_eq!(
            run("[].{z: name, a: s} | [?a] | sort_by(@, &z)", data.clone()),
            r#"[{"z":"a","a":"y"},{"z":"b","a":"x"}]"#
        );
        assert_eq!(
            run("[].{n: name, s: s}[?s!='x']", data.clone()),
            r#"[{"n":"a","s":"y"}]"#
        );
        assert_eq!(run("[].{n: name}[:1]", data), r#"[{"n":"b"}]"#);
    }

    #[test]
    fn integers_stay_integers_and_literals_may_be_bare_strings() {
        let data = json!({"a": [1, 2, 3], "f": [1.5, 2], "v": "pass"});
        assert_eq!(run("sum(a)", data.clone()), "6");
        assert_eq!(
            run(
                "[max(a), min(a), abs(`-4`), floor(`2.5`), length(a)]",
                data.clone()
            ),
            "[3,1,4,2,3]"
        );
        assert_eq!(run("[sum(f), avg(a)]", data.clone()), "[3.5,2.0]");
        assert_eq!(run("v == `pass`", data.clone()), "true");
        assert_eq!(run("`1e-5`", data), "1e-05");
    }

    #[test]
    fn type_errors_are_az_exit_1() {
        let e = Query::compile("abs(name)")
            .unwrap()
            .apply(&json!({"name": "x"}))
            .unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.render(),
            "ERROR: Invalid jmespath query supplied for `--query`: In function abs(), invalid type for value: x, expected one of: ['number'], received: \"string\"\n\
             To learn more about --query, please visit: 'https://learn.microsoft.com/cli/azure/query-azure-cli'\n"
        );
    }

    #[test]
    fn nesting_is_bounded_without_overflowing_the_stack() {
        for depth in [MAX_DEPTH + 1, 20_000] {
            for (open, close) in [
                ("(", ")"),
                ("[", "]"),
                ("!", ""),
                ("{a:", "}"),
                ("abs(", ")"),
            ] {
                let text = format!("{}a{}", open.repeat(depth), close.repeat(depth));
                let e = Query::compile(&text).unwrap_err();
                assert_eq!(e.exit_code(), 2);
            }
            let chain = vec!["a"; depth].join(" || ");
            assert_eq!(Query::compile(&chain).unwrap_err().exit_code(), 2);
        }
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(run(&deep, json!({"a": 1})), "1");
    }
}
