//! A small KQL evaluator for the emulator's Resource Graph: a parser for the subset tools send
//! (`T | where … | extend … | project … | mv-expand … | order by … | take n`, with `==`, `!=`,
//! `=~`, `!~`, `<`, `<=`, `>`, `>=`, `in`, `in~`, `!in`, `!in~`, `startswith`, `endswith`,
//! `contains`, `has` (and their `!` forms), `and`, `or`, `not()`, `tostring()`, `tolower()`,
//! `toupper()`, `tobool()`, `tolong()`, `isnull()`, `isnotnull()`, `isempty()`, `isnotempty()`,
//! `strcat()`, `split()`, `array_length()`, `indexof()`, `substring()`, `iff()`, `coalesce()`,
//! column paths `a.b`, `a['b']`, `a[0]`) and its
//! evaluation over rows. Anything else is an error naming the part it did not understand.

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
    /// `mv-expand name = expr, …`: a row per element of the (parallel) arrays.
    Expand(Vec<(String, Expr)>),
    Order(Vec<(Expr, bool)>),
    Take(usize),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Literal(Value),
    Column(String, Vec<String>),
    Call(String, Vec<Expr>),
    /// A path into a computed value: `split(id, '/')[2]`.
    Path(Box<Expr>, Vec<String>),
    Compare(Box<Expr>, Op, Box<Expr>),
    /// `startswith`, `endswith`, `contains`, `has` (case-insensitive, as KQL's are); `true`
    /// when negated (`!startswith`…).
    Text(Box<Expr>, TextOp, bool, Box<Expr>),
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
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    StartsWith,
    EndsWith,
    Contains,
    Has,
}

impl TextOp {
    fn of(word: &str) -> Option<TextOp> {
        Some(match word {
            "startswith" => TextOp::StartsWith,
            "endswith" => TextOp::EndsWith,
            "contains" => TextOp::Contains,
            "has" => TextOp::Has,
            _ => return None,
        })
    }

    fn holds(self, a: &str, b: &str) -> bool {
        let (a, b) = (a.to_lowercase(), b.to_lowercase());
        match self {
            TextOp::StartsWith => a.starts_with(&b),
            TextOp::EndsWith => a.ends_with(&b),
            TextOp::Contains => a.contains(&b),
            // `has` looks for a whole term: bounded by non-alphanumeric characters.
            TextOp::Has => a.match_indices(&b).any(|(i, m)| {
                let before = a[..i].chars().next_back();
                let after = a[i + m.len()..].chars().next();
                !b.is_empty()
                    && before.is_none_or(|c| !c.is_alphanumeric())
                    && after.is_none_or(|c| !c.is_alphanumeric())
            }),
        }
    }
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
    "==", "!=", "=~", "!~", "<=", ">=", "|", "(", ")", ",", "=", "[", "]", ".", "~", "!", "<", ">",
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
            // The one operator with a dash in its name.
            if &text[start..i] == "mv" && text[i..].starts_with("-expand") {
                i += "-expand".len();
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
            "mv-expand" => self.expansion(),
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
                    "the operator '{other}' (this emulator understands where, project, extend, mv-expand, order by, take)"
                ),
                position,
            }),
        }
    }

    /// `name = expr` or a bare column, comma-separated.
    fn assignments(&mut self) -> Result<Vec<(String, Expr)>, ParseError> {
        Ok(self
            .named_assignments()?
            .into_iter()
            .map(|(name, e, _)| (name, e))
            .collect())
    }

    /// `assignments`, each saying whether it was named (`name = expr`).
    fn named_assignments(&mut self) -> Result<Vec<(String, Expr, bool)>, ParseError> {
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
                out.push((name, self.expr()?, true));
            } else {
                let name = match &e {
                    Expr::Column(name, path) => path.last().unwrap_or(name).clone(),
                    _ => return self.fail("'=' after a computed column"),
                };
                out.push((name, e, false));
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
            Some(Token::Sym("<")) => Op::Lt,
            Some(Token::Sym("<=")) => Op::Le,
            Some(Token::Sym(">")) => Op::Gt,
            Some(Token::Sym(">=")) => Op::Ge,
            Some(Token::Sym("!")) | Some(Token::Ident(_)) => return self.membership(left),
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
        if let Some(Token::Ident(w)) = self.peek()
            && let Some(op) = TextOp::of(w)
        {
            self.at += 1;
            let right = self.term()?;
            return Ok(Expr::Text(Box::new(left), op, negated, Box::new(right)));
        }
        if !self.is_word("in") {
            if negated {
                return self.fail("'in', 'startswith', 'endswith', 'contains' or 'has' after '!'");
            }
            return match self.peek() {
                Some(Token::Ident(w))
                    if !["and", "or", "asc", "desc", "to", "limit"].contains(&w.as_str()) =>
                {
                    Err(ParseError {
                        message: format!(
                            "the operator '{w}' (this emulator compares with ==, !=, =~, !~, <, <=, >, >=, in, in~, startswith, endswith, contains, has)"
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
                // A whole number is a long, as KQL reads `1`; anything else a real.
                Ok(Expr::Literal(if n.fract() == 0.0 && n.abs() < 9e15 {
                    serde_json::json!(n as i64)
                } else {
                    serde_json::json!(n)
                }))
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
                    let call = self.call(name, position)?;
                    let path = self.path()?;
                    return Ok(if path.is_empty() {
                        call
                    } else {
                        Expr::Path(Box::new(call), path)
                    });
                }
                Ok(Expr::Column(name, self.path()?))
            }
            _ => self.fail("a value or a column"),
        }
    }

    /// `.name`, `['name']` and `[0]` steps after a column or a call.
    fn path(&mut self) -> Result<Vec<String>, ParseError> {
        let mut path = Vec::new();
        loop {
            if self.is_sym(".") {
                self.at += 1;
                path.push(self.ident("a property name")?);
            } else if self.is_sym("[") {
                self.at += 1;
                match self.peek().cloned() {
                    Some(Token::Str(key)) => path.push(key),
                    Some(Token::Num(n)) if n >= 0.0 && n.fract() == 0.0 => {
                        path.push(format!("{}", n as usize));
                    }
                    _ => return self.fail("a quoted property name or an index"),
                }
                self.at += 1;
                self.expect("]")?;
            } else {
                return Ok(path);
            }
        }
    }

    /// `mv-expand name = expr` or `mv-expand column`, comma-separated.
    fn expansion(&mut self) -> Result<Stage, ParseError> {
        let position = self.position();
        let columns = self.named_assignments()?;
        for (name, e, named) in &columns {
            if let Expr::Column(_, path) = e
                && !path.is_empty()
                && !named
            {
                return Err(ParseError {
                    message: format!("mv-expand of a path without a name (write `{name} = …`)"),
                    position,
                });
            }
        }
        if self.is_word("to") || self.is_word("limit") {
            return self
                .fail("the next '|' (this emulator's mv-expand takes no 'to typeof' or 'limit')");
        }
        Ok(Stage::Expand(
            columns.into_iter().map(|(name, e, _)| (name, e)).collect(),
        ))
    }

    fn call(&mut self, name: String, position: usize) -> Result<Expr, ParseError> {
        // Each function with its fewest and most arguments.
        const FUNCTIONS: &[(&str, usize, usize)] = &[
            ("tostring", 1, 1),
            ("tolower", 1, 1),
            ("toupper", 1, 1),
            ("tobool", 1, 1),
            ("tolong", 1, 1),
            ("toint", 1, 1),
            ("isnull", 1, 1),
            ("isnotnull", 1, 1),
            ("isempty", 1, 1),
            ("isnotempty", 1, 1),
            ("not", 1, 1),
            ("strcat", 1, 64),
            ("split", 2, 2),
            ("array_length", 1, 1),
            ("indexof", 2, 2),
            ("substring", 2, 3),
            ("iff", 3, 3),
            ("iif", 3, 3),
            ("coalesce", 1, 64),
        ];
        let Some(&(_, fewest, most)) = FUNCTIONS.iter().find(|f| f.0 == name) else {
            let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.0).collect();
            return Err(ParseError {
                message: format!(
                    "the function '{name}' (this emulator knows {})",
                    names.join(", ")
                ),
                position,
            });
        };
        self.expect("(")?;
        let mut args = vec![self.expr()?];
        while self.is_sym(",") {
            self.at += 1;
            args.push(self.expr()?);
        }
        self.expect(")")?;
        if !(fewest..=most).contains(&args.len()) {
            return Err(ParseError {
                message: format!("{} arguments to '{name}'", args.len()),
                position,
            });
        }
        Ok(Expr::Call(name, args))
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
        Expr::Column(name, path) => walk(row.get(name).cloned().unwrap_or(Value::Null), path),
        Expr::Path(e, path) => walk(eval(e, row), path),
        Expr::Call(name, args) => {
            let values: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
            call(name, &values)
        }
        Expr::Compare(a, op, b) => {
            let (a, b) = (eval(a, row), eval(b, row));
            // An order between values of different kinds, or with null, holds for none.
            let ordered = |want: &[Ordering]| {
                let comparable = matches!(
                    (&a, &b),
                    (Value::Number(_), Value::Number(_)) | (Value::String(_), Value::String(_))
                );
                comparable && want.contains(&compare(&a, &b))
            };
            Value::Bool(match op {
                Op::Eq => same(&a, &b, false),
                Op::Ne => !same(&a, &b, false),
                Op::EqCi => same(&a, &b, true),
                Op::NeCi => !same(&a, &b, true),
                Op::Lt => ordered(&[Ordering::Less]),
                Op::Le => ordered(&[Ordering::Less, Ordering::Equal]),
                Op::Gt => ordered(&[Ordering::Greater]),
                Op::Ge => ordered(&[Ordering::Greater, Ordering::Equal]),
            })
        }
        Expr::Text(a, op, negated, b) => {
            let (a, b) = (eval(a, row), eval(b, row));
            Value::Bool(op.holds(&text(&a), &text(&b)) != *negated)
        }
        Expr::In(membership) => Value::Bool(membership.contains(row)),
        Expr::And(a, b) => Value::Bool(truthy(&eval(a, row)) && truthy(&eval(b, row))),
        Expr::Or(a, b) => Value::Bool(truthy(&eval(a, row)) || truthy(&eval(b, row))),
    }
}

/// Steps into a dynamic value: object keys compare case-insensitively (as in Resource Graph's
/// dynamic columns), a number indexes an array; anything missing is null.
fn walk(mut v: Value, path: &[String]) -> Value {
    for key in path {
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
            Value::Array(items) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
    }
    v
}

/// A function's value for its arguments' values (the parser checked the names and counts).
fn call(name: &str, args: &[Value]) -> Value {
    let v = args.first().cloned().unwrap_or(Value::Null);
    let empty = v.is_null() || v.as_str() == Some("");
    match name {
        "tostring" => Value::String(text(&v)),
        "tolower" => Value::String(text(&v).to_lowercase()),
        "toupper" => Value::String(text(&v).to_uppercase()),
        "tobool" => match &v {
            Value::Bool(_) => v.clone(),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            Value::Number(n) => Value::Bool(n.as_f64() != Some(0.0)),
            _ => Value::Null,
        },
        "tolong" | "toint" => match &v {
            Value::Number(n) => n
                .as_f64()
                .map_or(Value::Null, |f| Value::from(f.trunc() as i64)),
            Value::String(s) => s.trim().parse::<i64>().map_or(Value::Null, Value::from),
            Value::Bool(b) => Value::from(i64::from(*b)),
            _ => Value::Null,
        },
        "isnull" => Value::Bool(v.is_null()),
        "isnotnull" => Value::Bool(!v.is_null()),
        "isempty" => Value::Bool(empty),
        "isnotempty" => Value::Bool(!empty),
        "strcat" => Value::String(args.iter().map(text).collect()),
        "split" => {
            let separator = args.get(1).map(text).unwrap_or_default();
            let whole = text(&v);
            if separator.is_empty() {
                return Value::Array(vec![Value::String(whole)]);
            }
            Value::Array(
                whole
                    .split(separator.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            )
        }
        "array_length" => match &v {
            Value::Array(items) => Value::from(items.len()),
            _ => Value::Null,
        },
        // Positions count characters, as KQL's do; -1 when not found.
        "indexof" => {
            let (whole, part) = (text(&v), args.get(1).map(text).unwrap_or_default());
            whole.find(&part).map_or(Value::from(-1), |at| {
                Value::from(whole[..at].chars().count())
            })
        }
        "substring" => {
            let whole: Vec<char> = text(&v).chars().collect();
            let number = |i: usize| {
                args.get(i)
                    .and_then(Value::as_f64)
                    .map(|n| n.max(0.0) as usize)
            };
            let start = number(1).unwrap_or(0).min(whole.len());
            let end = number(2).map_or(whole.len(), |n| (start + n).min(whole.len()));
            Value::String(whole[start..end].iter().collect())
        }
        "iff" | "iif" => {
            let pick = if truthy(&v) { 1 } else { 2 };
            args.get(pick).cloned().unwrap_or(Value::Null)
        }
        "coalesce" => args
            .iter()
            .find(|a| !a.is_null() && a.as_str() != Some(""))
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Bool(!truthy(&v)),
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

/// `mv-expand` of one row: the arrays (or property bags, one `{key: value}` per entry) expanded
/// in parallel, shorter ones padded with null; a null value gives one row, an empty array none.
fn expand(row: Map<String, Value>, columns: &[(String, Expr)]) -> Vec<Map<String, Value>> {
    let values: Vec<Vec<Value>> = columns
        .iter()
        .map(|(_, e)| match eval(e, &row) {
            Value::Array(items) => items,
            Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| Value::Object(Map::from_iter([(k, v)])))
                .collect(),
            other => vec![other],
        })
        .collect();
    let count = values.iter().map(Vec::len).max().unwrap_or(0);
    (0..count)
        .map(|i| {
            let mut out = row.clone();
            for ((name, _), items) in columns.iter().zip(&values) {
                out.insert(name.clone(), items.get(i).cloned().unwrap_or(Value::Null));
            }
            out
        })
        .collect()
}

/// The type a query's leading `where type =~ '…'` (or `==`, alone or in a chain
/// of `and`) keeps, so the table can skip other types before building rows.
pub fn leading_type(query: &Query) -> Option<&str> {
    fn find(e: &Expr) -> Option<&str> {
        match e {
            Expr::Compare(left, Op::Eq | Op::EqCi, right) => match (&**left, &**right) {
                (Expr::Column(name, path), Expr::Literal(Value::String(kind)))
                    if name == "type" && path.is_empty() =>
                {
                    Some(kind)
                }
                _ => None,
            },
            Expr::And(a, b) => find(a).or_else(|| find(b)),
            _ => None,
        }
    }
    match query.stages.first() {
        Some(Stage::Where(e)) => find(e),
        _ => None,
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
            Stage::Expand(columns) => {
                rows = rows.into_iter().flat_map(|r| expand(r, columns)).collect()
            }
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
    fn text_operators_and_orderings_filter() {
        assert_eq!(ids("resources | where id startswith '/b'"), [json!("/B")]);
        assert_eq!(
            ids("resources | where type !startswith 'microsoft.web'"),
            [json!("/a"), json!("/c")]
        );
        assert_eq!(
            ids("resources | where type endswith '/SITES'"),
            [json!("/B")]
        );
        assert_eq!(ids("resources | where type contains 'WEB'"), [json!("/B")]);
        assert_eq!(
            ids("resources | where type has 'microsoft' and type !has 'micro'"),
            [json!("/a"), json!("/B"), json!("/c")]
        );
        assert_eq!(
            ids("resources | where type has 'micro'"),
            Vec::<Value>::new()
        );
        assert_eq!(
            ids("resources | where name > 'a'"),
            [json!("/a"), json!("/c")]
        );
        assert_eq!(
            ids("resources | where name <= 'b'"),
            [json!("/a"), json!("/B")]
        );
        // Values of different kinds are not ordered: a number and a string compare to nothing.
        assert_eq!(ids("resources | where name < 5"), Vec::<Value>::new());
    }

    #[test]
    fn mv_expand_split_and_indexing_reach_inside_values() {
        let plan = json!({"id": "/p", "properties": {"extensions": [
            {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
            {"name": "ContainerSensor", "isEnabled": "False"}
        ]}});
        let empty = json!({"id": "/q", "properties": {"extensions": []}});
        let none = json!({"id": "/r", "properties": {}});
        let table = || {
            [plan.clone(), empty.clone(), none.clone()]
                .into_iter()
                .map(|v| v.as_object().unwrap().clone())
        };
        let query = parse(
            "securityresources | mv-expand ext = properties.extensions \
             | project id, name = tostring(ext.name), on = tobool(ext.isEnabled)",
        )
        .unwrap();
        let out: Vec<Value> = run(&query, table())
            .into_iter()
            .map(Value::Object)
            .collect();
        assert_eq!(
            out,
            [
                json!({"id": "/p", "name": "AgentlessDiscoveryForKubernetes", "on": true}),
                json!({"id": "/p", "name": "ContainerSensor", "on": false}),
                // A null expands to one row, an empty array to none.
                json!({"id": "/r", "name": "", "on": null}),
            ]
        );
        let query = parse(
            "t | extend parts = split(id, '/'), first = properties.extensions[0].name \
             | project id, last = parts[1], first, n = array_length(properties.extensions), \
             s = strcat(id, '-', 1)",
        )
        .unwrap();
        let out: Vec<Value> = run(&query, table())
            .into_iter()
            .map(Value::Object)
            .collect();
        assert_eq!(
            out[0],
            json!({"id": "/p", "last": "p", "first": "AgentlessDiscoveryForKubernetes", "n": 2, "s": "/p-1"})
        );
        assert_eq!(out[2]["n"], Value::Null);
        let query = parse("t | where split(id, '/')[1] == 'q'").unwrap();
        assert_eq!(run(&query, table()).len(), 1);
        let query = parse(
            "t | project at = indexof(id, 'p'), none = indexof(id, 'zz'), head = substring('abcdef', 1, 3), \
             tail = substring('abc', 1), pick = iff(id == '/p', 'yes', 'no'), first = coalesce(properties.x, '', 'c')",
        )
        .unwrap();
        let out: Vec<Value> = run(&query, table())
            .into_iter()
            .map(Value::Object)
            .collect();
        assert_eq!(
            out[0],
            json!({"at": 1, "none": -1, "head": "bcd", "tail": "bc", "pick": "yes", "first": "c"})
        );
        assert_eq!(out[1]["pick"], "no");
    }

    #[test]
    fn a_leading_type_filter_is_found_for_the_index() {
        let q =
            parse("resources | where type =~ 'A/b' and name == 'x' | where type == 'c'").unwrap();
        assert_eq!(leading_type(&q), Some("A/b"));
        let q = parse("resources | where name == 'x' and type == 'c'").unwrap();
        assert_eq!(leading_type(&q), Some("c"));
        for text in [
            "resources | where type =~ 'a' or name == 'x'",
            "resources | where type !~ 'a'",
            "resources | extend x = 1 | where type =~ 'a'",
        ] {
            assert_eq!(leading_type(&parse(text).unwrap()), None, "{text}");
        }
    }

    #[test]
    fn what_it_does_not_understand_is_named() {
        let e = parse("resources | summarize count() by type").unwrap_err();
        assert!(e.message.starts_with("the operator 'summarize'"), "{e:?}");
        assert_eq!(e.position, 12);
        let e = parse("resources | where name matches regex 'x'").unwrap_err();
        assert!(e.message.starts_with("the operator 'matches'"), "{e:?}");
        let e = parse("resources | mv-expand properties.extensions").unwrap_err();
        assert!(
            e.message.starts_with("mv-expand of a path without a name"),
            "{e:?}"
        );
        let e = parse("resources | where split(id)[0] == 'x'").unwrap_err();
        assert_eq!(e.message, "1 arguments to 'split'");
        let e = parse("resources | join (resources) on id").unwrap_err();
        assert!(e.message.starts_with("the operator 'join'"), "{e:?}");
        let e = parse("resources | where strlen(name) == 1").unwrap_err();
        assert!(e.message.starts_with("the function 'strlen'"), "{e:?}");
        let e = parse("resources | where name == 'x").unwrap_err();
        assert_eq!(e.message, "an unterminated string literal");
    }
}
