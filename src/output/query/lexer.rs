//! The `--query` tokenizer, a port of jmespath.py 1.1.0's `lexer.py` (what az runs), quirks
//! included: a backtick literal that is not JSON is read as a string, `'raw'` strings unescape
//! only `\'`, and positions count characters, as Python's do.

use super::SyntaxError;
use crate::output::pyvalue::PyValue;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Dot,
    Star,
    Rbracket,
    Comma,
    Colon,
    Current,
    Lparen,
    Rparen,
    Lbrace,
    Rbrace,
    UnquotedIdentifier(String),
    QuotedIdentifier(String),
    Flatten,
    Filter,
    Lbracket,
    Literal(PyValue),
    Pipe,
    Or,
    And,
    Expref,
    Number(i64),
    Lt,
    Lte,
    Gt,
    Gte,
    Eq,
    Ne,
    Not,
    Eof,
}

/// jmespath.py's token type names, for error messages.
impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Dot => "dot",
            Kind::Star => "star",
            Kind::Rbracket => "rbracket",
            Kind::Comma => "comma",
            Kind::Colon => "colon",
            Kind::Current => "current",
            Kind::Lparen => "lparen",
            Kind::Rparen => "rparen",
            Kind::Lbrace => "lbrace",
            Kind::Rbrace => "rbrace",
            Kind::UnquotedIdentifier(_) => "unquoted_identifier",
            Kind::QuotedIdentifier(_) => "quoted_identifier",
            Kind::Flatten => "flatten",
            Kind::Filter => "filter",
            Kind::Lbracket => "lbracket",
            Kind::Literal(_) => "literal",
            Kind::Pipe => "pipe",
            Kind::Or => "or",
            Kind::And => "and",
            Kind::Expref => "expref",
            Kind::Number(_) => "number",
            Kind::Lt => "lt",
            Kind::Lte => "lte",
            Kind::Gt => "gt",
            Kind::Gte => "gte",
            Kind::Eq => "eq",
            Kind::Ne => "ne",
            Kind::Not => "not",
            Kind::Eof => "eof",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: Kind,
    /// Character offset where the token starts.
    pub start: usize,
}

struct Lexer {
    chars: Vec<char>,
    position: usize,
    current: Option<char>,
}

pub fn tokenize(expression: &str) -> Result<Vec<Token>, SyntaxError> {
    if expression.is_empty() {
        return Err(SyntaxError::new(
            0,
            "Invalid JMESPath expression: cannot be empty.",
        ));
    }
    let chars: Vec<char> = expression.chars().collect();
    let mut lexer = Lexer {
        current: chars.first().copied(),
        chars,
        position: 0,
    };
    let mut tokens = Vec::new();
    while let Some(c) = lexer.current {
        let start = lexer.position;
        if let Some(kind) = lexer.token(c, start)? {
            tokens.push(Token { kind, start });
        }
    }
    tokens.push(Token {
        kind: Kind::Eof,
        start: lexer.chars.len(),
    });
    Ok(tokens)
}

impl Lexer {
    /// The token that starts with `c` at `start`, consumed; `None` for whitespace (skipped).
    fn token(&mut self, c: char, start: usize) -> Result<Option<Kind>, SyntaxError> {
        let kind = match c {
            '.' | '*' | ']' | ',' | ':' | '@' | '(' | ')' | '{' | '}' => {
                self.next();
                simple(c)
            }
            'a'..='z' | 'A'..='Z' | '_' => self.unquoted_identifier(c),
            ' ' | '\t' | '\n' | '\r' => {
                self.next();
                return Ok(None);
            }
            '[' => self.bracket(),
            '\'' => {
                let lexeme = self.consume_until('\'')?;
                Kind::Literal(PyValue::Str(lexeme.replace("\\'", "'")))
            }
            '|' => self.match_or_else('|', Kind::Or, Kind::Pipe),
            '&' => self.match_or_else('&', Kind::And, Kind::Expref),
            '`' => self.consume_literal()?,
            '0'..='9' => Kind::Number(parse_int(&self.consume_number())),
            '-' => {
                let buff = self.consume_number();
                if buff.chars().count() == 1 {
                    return Err(SyntaxError::new(start, format!("Unknown token '{buff}'")));
                }
                Kind::Number(parse_int(&buff))
            }
            '"' => self.consume_quoted_identifier()?,
            '<' => self.match_or_else('=', Kind::Lte, Kind::Lt),
            '>' => self.match_or_else('=', Kind::Gte, Kind::Gt),
            '!' => self.match_or_else('=', Kind::Ne, Kind::Not),
            '=' => self.equals()?,
            other => return Err(SyntaxError::new(start, format!("Unknown token {other}"))),
        };
        Ok(Some(kind))
    }

    fn unquoted_identifier(&mut self, first: char) -> Kind {
        let mut buff = String::from(first);
        while let Some(n) = self
            .next()
            .filter(|n| n.is_ascii_alphanumeric() || *n == '_')
        {
            buff.push(n);
        }
        Kind::UnquotedIdentifier(buff)
    }

    /// `[`, `[]` (flatten) or `[?` (filter).
    fn bracket(&mut self) -> Kind {
        match self.next() {
            Some(']') => {
                self.next();
                Kind::Flatten
            }
            Some('?') => {
                self.next();
                Kind::Filter
            }
            _ => Kind::Lbracket,
        }
    }

    /// `==`; a lone `=` is an error at jmespath.py's position.
    fn equals(&mut self) -> Result<Kind, SyntaxError> {
        if self.next() == Some('=') {
            self.next();
            return Ok(Kind::Eq);
        }
        let position = if self.current.is_none() {
            self.position
        } else {
            self.position - 1
        };
        Err(SyntaxError::new(position, "Unknown token '='"))
    }
}

fn simple(c: char) -> Kind {
    match c {
        '.' => Kind::Dot,
        '*' => Kind::Star,
        ']' => Kind::Rbracket,
        ',' => Kind::Comma,
        ':' => Kind::Colon,
        '@' => Kind::Current,
        '(' => Kind::Lparen,
        ')' => Kind::Rparen,
        '{' => Kind::Lbrace,
        _ => Kind::Rbrace,
    }
}

/// Python's `int()` of a run of digits; beyond 64 bits it saturates, which keeps an index out of
/// range and a slice bound clamped, as Python's unbounded ints do.
fn parse_int(digits: &str) -> i64 {
    digits.parse().unwrap_or(if digits.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

impl Lexer {
    /// Advances one character; at the end `current` becomes None and the position stays.
    fn next(&mut self) -> Option<char> {
        if self.position + 1 >= self.chars.len() {
            self.current = None;
        } else {
            self.position += 1;
            self.current = Some(self.chars[self.position]);
        }
        self.current
    }

    fn consume_number(&mut self) -> String {
        let mut buff = String::new();
        buff.extend(self.current);
        while let Some(c) = self.next().filter(char::is_ascii_digit) {
            buff.push(c);
        }
        buff
    }

    /// Everything up to the closing delimiter; a backslash keeps itself and the next character.
    fn consume_until(&mut self, delimiter: char) -> Result<String, SyntaxError> {
        let start = self.position;
        let mut buff = String::new();
        self.next();
        while self.current != Some(delimiter) {
            if self.current == Some('\\') {
                buff.push('\\');
                self.next();
            }
            let Some(c) = self.current else {
                return Err(SyntaxError::new(
                    start,
                    format!("Unclosed {delimiter} delimiter"),
                ));
            };
            buff.push(c);
            self.next();
        }
        self.next();
        Ok(buff)
    }

    fn consume_literal(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.position;
        let lexeme = self.consume_until('`')?.replace("\\`", "`");
        if let Some(value) = json_loads(&lexeme)? {
            return Ok(Kind::Literal(value));
        }
        // JEP-12's deprecation period: text that is not JSON is a string.
        let quoted = format!("\"{}\"", lstrip(&lexeme));
        match serde_json::from_str::<String>(&quoted) {
            Ok(s) => Ok(Kind::Literal(PyValue::Str(s))),
            Err(_) => Err(SyntaxError::new(start, format!("Bad token {lexeme}"))),
        }
    }

    fn consume_quoted_identifier(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.position;
        let lexeme = format!("\"{}\"", self.consume_until('"')?);
        serde_json::from_str::<String>(&lexeme)
            .map(Kind::QuotedIdentifier)
            .map_err(|e| SyntaxError::new(start, format!("invalid quoted identifier: {e}")))
    }

    fn match_or_else(&mut self, expected: char, matched: Kind, otherwise: Kind) -> Kind {
        if self.next() == Some(expected) {
            self.next();
            matched
        } else {
            otherwise
        }
    }
}

/// Python's `json.loads` of a literal: `Ok(None)` when it is not JSON (so it becomes a string),
/// an error when it nests deeper than this tool reads.
fn json_loads(text: &str) -> Result<Option<PyValue>, SyntaxError> {
    let trimmed = text.trim_matches([' ', '\t', '\n', '\r']);
    match trimmed {
        "NaN" => return Ok(Some(PyValue::Float(f64::NAN))),
        "Infinity" => return Ok(Some(PyValue::Float(f64::INFINITY))),
        "-Infinity" => return Ok(Some(PyValue::Float(f64::NEG_INFINITY))),
        _ => {}
    }
    if super::literal::has_wide_integer(trimmed) {
        return Ok(super::literal::parse(trimmed));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(Some(PyValue::from(&value))),
        Err(e) if e.to_string().contains("recursion limit") => Err(SyntaxError::new(
            0,
            "a JSON literal nests deeper than 128 levels",
        )),
        // A number too large for a double is infinite in Python.
        Err(e) if e.to_string().contains("number out of range") => Ok(trimmed
            .parse::<f64>()
            .ok()
            .filter(|_| {
                trimmed
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            })
            .map(PyValue::Float)),
        Err(_) => Ok(None),
    }
}

/// Python's `str.lstrip()`: Unicode whitespace and the ASCII separators \x1c-\x1f.
fn lstrip(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}
