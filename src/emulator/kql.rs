//! A small KQL evaluator for the emulator's Resource Graph: a parser for the subset tools send
//! (`T | where … | extend … | project … | order by … | take n`, with `==`, `!=`, `=~`, `!~`,
//! `in`, `in~`, `!in`, `!in~`, `and`, `or`, `not()`, `tostring()`, `tolower()`, `isnull()`,
//! `isnotnull()`, `isempty()`, `isnotempty()`, column paths `a.b` and `a['b']`) and its evaluation
//! over rows. Anything else is an error naming the part it did not understand.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashSet;

/// A parsed query: the table it reads and the operators applied in order.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: String,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub enum Stage {
    Where(Expr),
    /// `project` keeps only these columns, in this order; `extend` adds them.
    Project(Vec<(String, Expr)>),
    Extend(Vec<(String, Expr)>),
    Order(Vec<(Expr, bool)>),
    Take(usize),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Literal(Value),
    Column(String, Vec<String>),
    Call(String, Vec<Expr>),
    Compare(Box<Expr>, Op, Box<Expr>),
    In(Box<Membership>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// `left in (items)`, `in~` (`insensitive`), `!in`, `!in~` (`negated`). When every item is a
/// string literal, `strings` holds them (lower-cased for `in~`), so a row is checked with one
/// lookup however long the list: an audit sends a thousand ids at a time.
#[derive(Debug, Clone)]
pub struct Membership {
    left: Expr,
    items: Vec<Expr>,
    insensitive: bool,
    negated: bool,
    strings: Option<HashSet<String>>,
}

impl Membership {
    fn new(left: Expr, items: Vec<Expr>, insensitive: bool, negated: bool) -> Self {
        let strings = items
            .iter()
            .map(|i| match i {
                Expr::Literal(Value::String(s)) if insensitive => Some(s.to_ascii_lowercase()),
                Expr::Literal(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect();
        Membership {
            left,
            items,
            insensitive,
            negated,
            strings,
        }
    }

    /// The ids a query's leading `where id in (…)` / `in~ (…)` of string literals keeps (lower-
    /// cased when `in~`), so the table can skip other resources before building their rows: an
    /// index on `id`, as Resource Graph has.
    pub fn leading_ids(query: &Query) -> Option<(&HashSet<String>, bool)> {
        let Some(Stage::Where(Expr::In(m))) = query.stages.first() else {
            return None;
        };
        match (&m.left, &m.strings, m.negated) {
            (Expr::Column(name, path), Some(set), false) if name == "id" && path.is_empty() => {
                Some((set, m.insensitive))
            }
            _ => None,
        }
    }

    fn contains(&self, row: &Map<String, Value>) -> bool {
        let a = eval(&self.left, row);
        let found = match (&self.strings, &a) {
            (Some(set), Value::String(s)) if self.insensitive => {
                set.contains(&s.to_ascii_lowercase())
            }
            (Some(set), Value::String(s)) => set.contains(s),
            // Only string items, and a value that is not a string: `same` matches none.
            (Some(_), _) => false,
            (None, _) => self
                .items
                .iter()
                .any(|i| same(&a, &eval(i, row), self.insensitive)),
        };
        found != self.negated
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    EqCi,
    NeCi,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
}

/// What the parser did not understand, and where (a character offset in the query).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub position: usize,
}

const SYMBOLS: &[&str] = &[
    "==", "!=", "=~", "!~", "|", "(", ")", ",", "=", "[", "]", ".", "~", "!", "<", ">",
];

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let start = i;
            let mut s = String::new();
            i += 1;
            loop {
                match text[i..].chars().next() {
                    None => {
                        return Err(ParseError {
                            message: "an unterminated string literal".into(),
                            position: start,
                        });
                    }
                    Some('\\') => {
                        let next = text[i + 1..].chars().next().unwrap_or('\\');
                        s.push(next);
                        i += 1 + next.len_utf8();
                    }
                    Some(ch) if ch == c => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            tokens.push((Token::Str(s), start));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let n = text[start..i].parse().map_err(|_| ParseError {
                message: format!("the number '{}'", &text[start..i]),
                position: start,
            })?;
            tokens.push((Token::Num(n), start));
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_$".contains(&bytes[i]))
            {
                i += 1;
            }
            tokens.push((Token::Ident(text[start..i].to_string()), start));
        } else if let Some(sym) = SYMBOLS.iter().find(|s| text[i..].starts_with(**s)) {
            tokens.push((Token::Sym(sym), i));
            i += sym.len();
        } else {
            return Err(ParseError {
                message: format!("the character '{c}'"),
                position: i,
            });
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end: usize,
}

pub fn parse(text: &str) -> Result<Query, ParseError> {
    let mut p = Parser {
        tokens: tokenize(text)?,
        at: 0,
        end: text.len(),
    };
    let table = p.ident("a table name")?;
    let mut stages = Vec::new();
    while p.peek().is_some() {
        p.expect("|")?;
        stages.push(p.stage()?);
    }
    Ok(Query { table, stages })
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }
    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(_, p)| *p)
    }
    fn fail<T>(&self, what: &str) -> Result<T, ParseError> {
        let found = match self.peek() {
            None => "the end of the query".to_string(),
            Some(Token::Ident(s)) => format!("'{s}'"),
            Some(Token::Str(s)) => format!("the string '{s}'"),
            Some(Token::Num(n)) => format!("the number {n}"),
            Some(Token::Sym(s)) => format!("'{s}'"),
        };
        Err(ParseError {
            message: format!("{found} where {what} was expected"),
            position: self.position(),
        })
    }
    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Some(Token::Sym(s)) if *s == sym)
    }
    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(s)) if s == word)
    }
    fn expect(&mut self, sym: &str) -> Result<(), ParseError> {
        if self.is_sym(sym) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(&format!("'{sym}'"))
        }
    }
    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Ident(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => self.fail(what),
        }
    }

    fn stage(&mut self) -> Result<Stage, ParseError> {
        let position = self.position();
        let word = self.ident("an operator")?;
        match word.as_str() {
            "where" => Ok(Stage::Where(self.expr()?)),
            "project" => Ok(Stage::Project(self.assignments()?)),
            "extend" => Ok(Stage::Extend(self.assignments()?)),
            "order" | "sort" => {
                if !self.is_word("by") {
                    return self.fail("'by'");
                }
                self.at += 1;
                let mut keys = Vec::new();
                loop {
                    let e = self.expr()?;
                    // KQL sorts descending unless told otherwise.
                    let ascending = if self.is_word("asc") {
                        self.at += 1;
                        true
                    } else {
                        if self.is_word("desc") {
                            self.at += 1;
                        }
                        false
                    };
                    keys.push((e, ascending));
                    if !self.is_sym(",") {
                        break;
                    }
                    self.at += 1;
                }
                Ok(Stage::Order(keys))
            }
            "take" | "limit" => match self.peek() {
                Some(Token::Num(n)) if *n >= 0.0 => {
                    let n = *n as usize;
                    self.at += 1;
                    Ok(Stage::Take(n))
                }
                _ => self.fail("a row count"),
            },
            other => Err(ParseError {
                message: format!(
                    "the operator '{other}' (this emulator understands where, project, extend, order by, take)"
                ),
                position,
            }),
        }
    }

    /// `name = expr` or a bare column, comma-separated.
    fn assignments(&mut self) -> Result<Vec<(String, Expr)>, ParseError> {
        let mut out = Vec::new();
        loop {
            let e = self.expr()?;
            if self.is_sym("=") {
                let Expr::Column(name, path) = e else {
                    return self.fail("a column name before '='");
                };
                if !path.is_empty() {
                    return self.fail("a plain column name before '='");
                }
                self.at += 1;
                out.push((name, self.expr()?));
            } else {
                let name = match &e {
                    Expr::Column(name, path) => path.last().unwrap_or(name).clone(),
                    _ => return self.fail("'=' after a computed column"),
                };
                out.push((name, e));
            }
            if !self.is_sym(",") {
                return Ok(out);
            }
            self.at += 1;
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.conjunction()?;
        while self.is_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.comparison()?;
        while self.is_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.term()?;
        let op = match self.peek() {
            Some(Token::Sym("==")) => Op::Eq,
            Some(Token::Sym("!=")) => Op::Ne,
            Some(Token::Sym("=~")) => Op::EqCi,
            Some(Token::Sym("!~")) => Op::NeCi,
            Some(Token::Sym("!")) | Some(Token::Ident(_)) => return self.membership(left),
            Some(Token::Sym(s @ ("<" | ">"))) => {
                return Err(ParseError {
                    message: format!(
                        "the operator '{s}' (this emulator compares with ==, !=, =~, !~, in, in~)"
                    ),
                    position: self.position(),
                });
            }
            _ => return Ok(left),
        };
        self.at += 1;
        Ok(Expr::Compare(Box::new(left), op, Box::new(self.term()?)))
    }

    /// `in`, `in~`, `!in`, `!in~` followed by a parenthesised list; or no operator at all.
    fn membership(&mut self, left: Expr) -> Result<Expr, ParseError> {
        let negated = self.is_sym("!");
        if negated {
            self.at += 1;
        }
        if !self.is_word("in") {
            if negated {
                return self.fail("'in' after '!'");
            }
            return match self.peek() {
                Some(Token::Ident(w)) if w != "and" && w != "or" && w != "asc" && w != "desc" => {
                    Err(ParseError {
                        message: format!(
                            "the operator '{w}' (this emulator compares with ==, !=, =~, !~, in, in~)"
                        ),
                        position: self.position(),
                    })
                }
                _ => Ok(left),
            };
        }
        self.at += 1;
        let insensitive = self.is_sym("~");
        if insensitive {
            self.at += 1;
        }
        self.expect("(")?;
        let mut items = Vec::new();
        if !self.is_sym(")") {
            loop {
                items.push(self.term()?);
                if !self.is_sym(",") {
                    break;
                }
                self.at += 1;
            }
        }
        self.expect(")")?;
        Ok(Expr::In(Box::new(Membership::new(
            left,
            items,
            insensitive,
            negated,
        ))))
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        match self.peek().cloned() {
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(Expr::Literal(Value::String(s)))
            }
            Some(Token::Num(n)) => {
                self.at += 1;
                Ok(Expr::Literal(serde_json::json!(n)))
            }
            Some(Token::Sym("(")) => {
                self.at += 1;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Token::Ident(name)) => {
                let position = self.position();
                self.at += 1;
                match name.as_str() {
                    "true" | "false" => return Ok(Expr::Literal(Value::Bool(name == "true"))),
                    _ => {}
                }
                if self.is_sym("(") {
                    return self.call(name, position);
                }
                let mut path = Vec::new();
                loop {
                    if self.is_sym(".") {
                        self.at += 1;
                        path.push(self.ident("a property name")?);
                    } else if self.is_sym("[") {
                        self.at += 1;
                        match self.peek().cloned() {
                            Some(Token::Str(key)) => {
                                self.at += 1;
                                path.push(key);
                            }
                            _ => return self.fail("a quoted property name"),
                        }
                        self.expect("]")?;
                    } else {
                        return Ok(Expr::Column(name, path));
                    }
                }
            }
            _ => self.fail("a value or a column"),
        }
    }

    fn call(&mut self, name: String, position: usize) -> Result<Expr, ParseError> {
        const FUNCTIONS: &[&str] = &[
            "tostring",
            "tolower",
            "toupper",
            "isnull",
            "isnotnull",
            "isempty",
            "isnotempty",
            "not",
        ];
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(ParseError {
                message: format!(
                    "the function '{name}' (this emulator knows {})",
                    FUNCTIONS.join(", ")
                ),
                position,
            });
        }
        self.expect("(")?;
        let arg = self.expr()?;
        self.expect(")")?;
        Ok(Expr::Call(name, vec![arg]))
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn same(a: &Value, b: &Value, insensitive: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if insensitive => x.eq_ignore_ascii_case(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The value of an expression for one row.
pub fn eval(e: &Expr, row: &Map<String, Value>) -> Value {
    match e {
        Expr::Literal(v) => v.clone(),
        Expr::Column(name, path) => {
            let mut v = row.get(name).cloned().unwrap_or(Value::Null);
            for key in path {
                // Property names in Resource Graph's dynamic columns compare case-insensitively.
                v = match &v {
                    Value::Object(m) => m
                        .get(key)
                        .or_else(|| {
                            m.iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                                .map(|(_, v)| v)
                        })
                        .cloned()
                        .unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            }
            v
        }
        Expr::Call(name, args) => {
            let v = args.first().map_or(Value::Null, |a| eval(a, row));
            let empty = v.is_null() || v.as_str() == Some("");
            match name.as_str() {
                "tostring" => Value::String(text(&v)),
                "tolower" => Value::String(text(&v).to_lowercase()),
                "toupper" => Value::String(text(&v).to_uppercase()),
                "isnull" => Value::Bool(v.is_null()),
                "isnotnull" => Value::Bool(!v.is_null()),
                "isempty" => Value::Bool(empty),
                "isnotempty" => Value::Bool(!empty),
                _ => Value::Bool(!truthy(&v)),
            }
        }
        Expr::Compare(a, op, b) => {
            let (a, b) = (eval(a, row), eval(b, row));
            Value::Bool(match op {
                Op::Eq => same(&a, &b, false),
                Op::Ne => !same(&a, &b, false),
                Op::EqCi => same(&a, &b, true),
                Op::NeCi => !same(&a, &b, true),
            })
        }
        Expr::In(membership) => Value::Bool(membership.contains(row)),
        Expr::And(a, b) => Value::Bool(truthy(&eval(a, row)) && truthy(&eval(b, row))),
        Expr::Or(a, b) => Value::Bool(truthy(&eval(a, row)) || truthy(&eval(b, row))),
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => text(a).cmp(&text(b)),
    }
}

/// Runs the stages over the rows of the query's table.
pub fn run(
    query: &Query,
    rows: impl Iterator<Item = Map<String, Value>>,
) -> Vec<Map<String, Value>> {
    // A leading `where` filters as the table is read, so the rows it drops are never held.
    let (mut rows, stages): (Vec<Map<String, Value>>, &[Stage]) = match query.stages.split_first() {
        Some((Stage::Where(e), rest)) => (rows.filter(|r| truthy(&eval(e, r))).collect(), rest),
        _ => (rows.collect(), &query.stages),
    };
    for stage in stages {
        match stage {
            Stage::Where(e) => rows.retain(|r| truthy(&eval(e, r))),
            Stage::Extend(columns) => {
                for row in &mut rows {
                    for (name, e) in columns {
                        let v = eval(e, row);
                        row.insert(name.clone(), v);
                    }
                }
            }
            Stage::Project(columns) => {
                rows = rows
                    .iter()
                    .map(|row| {
                        columns
                            .iter()
                            .map(|(name, e)| (name.clone(), eval(e, row)))
                            .collect()
                    })
                    .collect();
            }
            Stage::Order(keys) => rows.sort_by(|a, b| {
                keys.iter()
                    .map(|(e, ascending)| {
                        let o = compare(&eval(e, a), &eval(e, b));
                        if *ascending { o } else { o.reverse() }
                    })
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            }),
            Stage::Take(n) => rows.truncate(*n),
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Vec<Map<String, Value>> {
        [
            json!({"id": "/a", "type": "microsoft.containerservice/managedclusters", "name": "b", "identity": {"type": "SystemAssigned"}, "tags": {"env": "prod"}}),
            json!({"id": "/B", "type": "microsoft.web/sites", "name": "a", "identity": null, "tags": {}}),
            json!({"id": "/c", "type": "microsoft.containerservice/managedclusters", "name": "c", "identity": {"type": "UserAssigned"}, "tags": {"Env": "dev"}}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
    }

    fn ids(q: &str) -> Vec<Value> {
        let query = parse(q).unwrap();
        run(&query, rows().into_iter())
            .iter()
            .map(|r| r.get("id").cloned().unwrap_or(Value::Null))
            .collect()
    }

    #[test]
    fn membership_by_set_and_by_scan_agree() {
        // All string literals: a set lookup; `in` is case-sensitive, `in~` is not.
        assert_eq!(ids("resources | where id in ('/b', '/c')"), [json!("/c")]);
        assert_eq!(
            ids("resources | where id in~ ('/b', '/c', '/zz')"),
            [json!("/B"), json!("/c")]
        );
        // A value that is not a string is in no list of strings (`identity` is null for /B).
        assert_eq!(
            ids("resources | where identity !in~ ('x') | where isnull(identity)"),
            [json!("/B")]
        );
        // A column among the items: compared row by row.
        assert_eq!(ids("resources | where id in~ (name, '/c')"), [json!("/c")]);
        let many: Vec<String> = (0..5000).map(|i| format!("'/x{i}'")).collect();
        let q = format!("resources | where id in~ ({}, '/A')", many.join(", "));
        assert_eq!(ids(&q), [json!("/a")]);
    }

    #[test]
    fn where_filters_with_each_operator() {
        assert_eq!(
            ids("resources | where type =~ 'Microsoft.ContainerService/managedClusters'"),
            [json!("/a"), json!("/c")]
        );
        assert_eq!(
            ids("resources | where type == 'Microsoft.ContainerService/managedClusters'"),
            Vec::<Value>::new()
        );
        assert_eq!(
            ids("resources | where id in~ ('/b', '/C')"),
            [json!("/B"), json!("/c")]
        );
        assert_eq!(ids("resources | where id in ('/b', '/c')"), [json!("/c")]);
        assert_eq!(
            ids("resources | where id !in~ ('/b')"),
            [json!("/a"), json!("/c")]
        );
        assert_eq!(
            ids(
                "resources | where name == 'a' or (name == 'c' and tostring(identity.type) =~ 'userassigned')"
            ),
            [json!("/B"), json!("/c")]
        );
        assert_eq!(
            ids("resources | where tags['env'] == 'prod'"),
            [json!("/a")]
        );
        assert_eq!(ids("resources | where isnull(identity)"), [json!("/B")]);
        assert_eq!(
            ids("resources | where not(isnull(identity))"),
            [json!("/a"), json!("/c")]
        );
    }

    #[test]
    fn project_extend_order_and_take_shape_the_rows() {
        let query = parse("resources | extend identityType = tostring(identity.type) | project id, name, identityType | order by name asc | take 2").unwrap();
        let out = run(&query, rows().into_iter());
        assert_eq!(
            Value::Array(out.into_iter().map(Value::Object).collect()),
            json!([
                {"id": "/B", "name": "a", "identityType": ""},
                {"id": "/a", "name": "b", "identityType": "SystemAssigned"},
            ])
        );
        assert_eq!(
            ids("resources | order by name")[0],
            json!("/c"),
            "desc by default"
        );
    }

    #[test]
    fn what_it_does_not_understand_is_named() {
        let e = parse("resources | summarize count() by type").unwrap_err();
        assert!(e.message.starts_with("the operator 'summarize'"), "{e:?}");
        assert_eq!(e.position, 12);
        let e = parse("resources | where name contains 'x'").unwrap_err();
        assert!(e.message.starts_with("the operator 'contains'"), "{e:?}");
        let e = parse("resources | where strlen(name) == 1").unwrap_err();
        assert!(e.message.starts_with("the function 'strlen'"), "{e:?}");
        let e = parse("resources | where name == 'x").unwrap_err();
        assert_eq!(e.message, "an unterminated string literal");
    }
}
