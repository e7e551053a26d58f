//! The `--query` parser, a port of jmespath.py 1.1.0's Pratt parser (`parser.py`): the same
//! binding powers, so `[].{n:name}[?n]` filters the projected list as az does, and the same
//! tree shapes (`a[0][:2]` appends to one index expression and does not project). Nesting is
//! bounded, so a hostile expression is refused instead of overflowing the stack.

use super::SyntaxError;
use super::ast::{Ast, Comparator, MAX_DEPTH, Node, checked, too_deep};
use super::lexer::{Kind, Token};
use super::signatures;

fn binding_power(kind: &Kind) -> u8 {
    match kind {
        Kind::Pipe => 1,
        Kind::Or => 2,
        Kind::And => 3,
        Kind::Eq | Kind::Ne | Kind::Lt | Kind::Lte | Kind::Gt | Kind::Gte => 5,
        Kind::Flatten => 9,
        Kind::Star => 20,
        Kind::Filter => 21,
        Kind::Dot => 40,
        Kind::Not => 45,
        Kind::Lbrace => 50,
        Kind::Lbracket => 55,
        Kind::Lparen => 60,
        _ => 0,
    }
}

/// Tokens with a binding power below this end a projection.
const PROJECTION_STOP: u8 = 10;

pub fn parse(tokens: Vec<Token>) -> Result<Node, SyntaxError> {
    let mut parser = Parser {
        tokens,
        index: 0,
        nesting: 0,
    };
    let node = parser.expression(0)?;
    if parser.current() != &Kind::Eof {
        let token = parser.token(0);
        return Err(SyntaxError::new(
            token.start,
            format!("Unexpected token: {}", token.kind.type_name()),
        ));
    }
    Ok(node)
}

struct Parser {
    tokens: Vec<Token>,
    index: usize,
    /// Calls of `expression` under way: bounded so recursion cannot exhaust the stack.
    nesting: usize,
}

impl Parser {
    fn current(&self) -> &Kind {
        &self.token(0).kind
    }

    fn token(&self, offset: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.index + offset).min(last)]
    }

    fn advance(&mut self) {
        self.index = (self.index + 1).min(self.tokens.len() - 1);
    }

    fn expression(&mut self, binding: u8) -> Result<Node, SyntaxError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep());
        }
        let result = self.expression_inner(binding);
        self.nesting -= 1;
        result
    }

    fn expression_inner(&mut self, binding: u8) -> Result<Node, SyntaxError> {
        let token = self.token(0).clone();
        self.advance();
        let mut left = self.nud(token)?;
        while binding < binding_power(self.current()) {
            let token = self.token(0).clone();
            self.advance();
            left = self.led(token, left)?;
        }
        Ok(left)
    }

    fn nud(&mut self, token: Token) -> Result<Node, SyntaxError> {
        match token.kind {
            Kind::Literal(value) => Ok(Node::leaf(Ast::Literal(value))),
            Kind::UnquotedIdentifier(name) => Ok(Node::leaf(Ast::Field(name))),
            Kind::QuotedIdentifier(name) => {
                if self.current() == &Kind::Lparen {
                    return Err(SyntaxError::new(
                        0,
                        "Quoted identifier not allowed for function names.",
                    ));
                }
                Ok(Node::leaf(Ast::Field(name)))
            }
            Kind::Star => {
                let right = if self.current() == &Kind::Rbracket {
                    Node::leaf(Ast::Identity)
                } else {
                    self.projection_rhs(binding_power(&Kind::Star))?
                };
                binary(Node::leaf(Ast::Identity), right, Ast::ValueProjection)
            }
            Kind::Filter => self.led_filter(Node::leaf(Ast::Identity)),
            Kind::Lbrace => self.multi_select_hash(),
            Kind::Lparen => {
                let expression = self.expression(0)?;
                self.expect(&Kind::Rparen)?;
                Ok(expression)
            }
            Kind::Flatten => {
                let left = flatten(Node::leaf(Ast::Identity))?;
                let right = self.projection_rhs(binding_power(&Kind::Flatten))?;
                projection(left, right)
            }
            Kind::Not => {
                let expression = self.expression(binding_power(&Kind::Not))?;
                let depth = expression.depth + 1;
                checked(Ast::Not(Box::new(expression)), depth)
            }
            Kind::Lbracket => self.nud_lbracket(),
            Kind::Current => Ok(Node::leaf(Ast::Identity)),
            Kind::Expref => {
                let expression = self.expression(0)?;
                let depth = expression.depth + 1;
                checked(Ast::Expref(Box::new(expression)), depth)
            }
            Kind::Eof => Err(SyntaxError::new(token.start, "Incomplete expression")),
            other => Err(SyntaxError::new(
                token.start,
                format!("invalid token {}", other.type_name()),
            )),
        }
    }

    fn nud_lbracket(&mut self) -> Result<Node, SyntaxError> {
        match self.current() {
            Kind::Number(_) | Kind::Colon => {
                let right = self.index_expression()?;
                project_if_slice(self, Node::leaf(Ast::Identity), right)
            }
            Kind::Star if self.token(1).kind == Kind::Rbracket => {
                self.advance();
                self.advance();
                let right = self.projection_rhs(binding_power(&Kind::Star))?;
                projection(Node::leaf(Ast::Identity), right)
            }
            _ => self.multi_select_list(),
        }
    }

    fn led(&mut self, token: Token, left: Node) -> Result<Node, SyntaxError> {
        match token.kind {
            Kind::Dot => self.led_dot(left),
            Kind::Pipe => {
                let right = self.expression(binding_power(&Kind::Pipe))?;
                binary(left, right, Ast::Pipe)
            }
            Kind::Or => {
                let right = self.expression(binding_power(&Kind::Or))?;
                binary(left, right, Ast::Or)
            }
            Kind::And => {
                let right = self.expression(binding_power(&Kind::And))?;
                binary(left, right, Ast::And)
            }
            Kind::Lparen => self.led_lparen(left),
            Kind::Filter => self.led_filter(left),
            Kind::Eq => self.comparator(left, Comparator::Eq),
            Kind::Ne => self.comparator(left, Comparator::Ne),
            Kind::Gt => self.comparator(left, Comparator::Gt),
            Kind::Gte => self.comparator(left, Comparator::Gte),
            Kind::Lt => self.comparator(left, Comparator::Lt),
            Kind::Lte => self.comparator(left, Comparator::Lte),
            Kind::Flatten => {
                let left = flatten(left)?;
                let right = self.projection_rhs(binding_power(&Kind::Flatten))?;
                projection(left, right)
            }
            Kind::Lbracket => self.led_lbracket(left),
            other => Err(SyntaxError::new(
                token.start,
                format!("invalid token {}", other.type_name()),
            )),
        }
    }

    fn led_dot(&mut self, left: Node) -> Result<Node, SyntaxError> {
        if self.current() != &Kind::Star {
            let right = self.dot_rhs(binding_power(&Kind::Dot))?;
            return match left.ast {
                Ast::Subexpression(mut children) => {
                    let depth = left.depth.max(right.depth + 1);
                    children.push(right);
                    checked(Ast::Subexpression(children), depth)
                }
                ast => {
                    let left = Node {
                        ast,
                        depth: left.depth,
                    };
                    let depth = 1 + left.depth.max(right.depth);
                    checked(Ast::Subexpression(vec![left, right]), depth)
                }
            };
        }
        self.advance();
        let right = self.projection_rhs(binding_power(&Kind::Dot))?;
        let depth = 1 + left.depth.max(right.depth);
        checked(Ast::ValueProjection(Box::new(left), Box::new(right)), depth)
    }

    fn led_lparen(&mut self, left: Node) -> Result<Node, SyntaxError> {
        // The name token sits before the '(' just consumed.
        let name_start = self.tokens[self.index.saturating_sub(2)].start;
        let Ast::Field(name) = left.ast else {
            return Err(SyntaxError::new(name_start, "Invalid function name"));
        };
        let mut args = Vec::new();
        while self.current() != &Kind::Rparen {
            let expression = self.expression(0)?;
            if self.current() == &Kind::Comma {
                self.expect(&Kind::Comma)?;
            }
            args.push(expression);
        }
        self.expect(&Kind::Rparen)?;
        signatures::check_call(&name, args.len()).map_err(|m| SyntaxError::new(name_start, m))?;
        let depth = 1 + args.iter().map(|a| a.depth).max().unwrap_or(0);
        checked(Ast::Function { name, args }, depth)
    }

    fn led_filter(&mut self, left: Node) -> Result<Node, SyntaxError> {
        let condition = self.expression(0)?;
        self.expect(&Kind::Rbracket)?;
        let right = if self.current() == &Kind::Flatten {
            Node::leaf(Ast::Identity)
        } else {
            self.projection_rhs(binding_power(&Kind::Filter))?
        };
        let depth = 1 + left.depth.max(right.depth).max(condition.depth);
        checked(
            Ast::FilterProjection {
                left: Box::new(left),
                right: Box::new(right),
                condition: Box::new(condition),
            },
            depth,
        )
    }

    fn led_lbracket(&mut self, left: Node) -> Result<Node, SyntaxError> {
        if matches!(self.current(), Kind::Number(_) | Kind::Colon) {
            let right = self.index_expression()?;
            return match left.ast {
                Ast::IndexExpression(mut children) => {
                    let depth = left.depth.max(right.depth + 1);
                    children.push(right);
                    checked(Ast::IndexExpression(children), depth)
                }
                ast => project_if_slice(
                    self,
                    Node {
                        ast,
                        depth: left.depth,
                    },
                    right,
                ),
            };
        }
        self.expect(&Kind::Star)?;
        self.expect(&Kind::Rbracket)?;
        let right = self.projection_rhs(binding_power(&Kind::Star))?;
        projection(left, right)
    }

    fn comparator(&mut self, left: Node, comparator: Comparator) -> Result<Node, SyntaxError> {
        let right = self.expression(5)?;
        let depth = 1 + left.depth.max(right.depth);
        checked(
            Ast::Comparator(comparator, Box::new(left), Box::new(right)),
            depth,
        )
    }

    fn index_expression(&mut self) -> Result<Node, SyntaxError> {
        if self.token(0).kind == Kind::Colon || self.token(1).kind == Kind::Colon {
            return self.slice_expression();
        }
        let Kind::Number(index) = self.current().clone() else {
            return Err(self.unexpected("number"));
        };
        self.advance();
        self.expect(&Kind::Rbracket)?;
        Ok(Node::leaf(Ast::Index(index)))
    }

    fn slice_expression(&mut self) -> Result<Node, SyntaxError> {
        let mut parts = [None, None, None];
        let mut index = 0;
        while self.current() != &Kind::Rbracket && index < 3 {
            match self.current().clone() {
                Kind::Colon => {
                    index += 1;
                    if index == 3 {
                        return Err(SyntaxError::new(self.token(0).start, "syntax error"));
                    }
                    self.advance();
                }
                Kind::Number(n) => {
                    parts[index] = Some(n);
                    self.advance();
                }
                _ => return Err(SyntaxError::new(self.token(0).start, "syntax error")),
            }
        }
        self.expect(&Kind::Rbracket)?;
        // Python raises this when the slice runs; the step is a literal, so say it now.
        if parts[2] == Some(0) {
            return Err(SyntaxError::new(
                self.token(0).start,
                "slice step cannot be zero",
            ));
        }
        Ok(Node::leaf(Ast::Slice(parts)))
    }

    fn multi_select_list(&mut self) -> Result<Node, SyntaxError> {
        let mut expressions = Vec::new();
        loop {
            expressions.push(self.expression(0)?);
            if self.current() == &Kind::Rbracket {
                break;
            }
            self.expect(&Kind::Comma)?;
        }
        self.expect(&Kind::Rbracket)?;
        let depth = 1 + expressions.iter().map(|e| e.depth).max().unwrap_or(0);
        checked(Ast::MultiSelectList(expressions), depth)
    }

    fn multi_select_hash(&mut self) -> Result<Node, SyntaxError> {
        let mut pairs = Vec::new();
        loop {
            let key = match self.current().clone() {
                Kind::UnquotedIdentifier(k) | Kind::QuotedIdentifier(k) => k,
                _ => return Err(self.unexpected("['quoted_identifier', 'unquoted_identifier']")),
            };
            self.advance();
            self.expect(&Kind::Colon)?;
            let value = self.expression(0)?;
            pairs.push((key, value));
            if self.current() == &Kind::Comma {
                self.advance();
            } else if self.current() == &Kind::Rbrace {
                self.advance();
                break;
            }
        }
        let depth = 1 + pairs.iter().map(|(_, v)| v.depth).max().unwrap_or(0);
        checked(Ast::MultiSelectDict(pairs), depth)
    }

    fn projection_rhs(&mut self, binding: u8) -> Result<Node, SyntaxError> {
        let current = self.current().clone();
        if binding_power(&current) < PROJECTION_STOP {
            return Ok(Node::leaf(Ast::Identity));
        }
        match current {
            Kind::Lbracket | Kind::Filter => self.expression(binding),
            Kind::Dot => {
                self.advance();
                self.dot_rhs(binding)
            }
            _ => Err(SyntaxError::new(self.token(0).start, "syntax error")),
        }
    }

    fn dot_rhs(&mut self, binding: u8) -> Result<Node, SyntaxError> {
        match self.current() {
            Kind::QuotedIdentifier(_) | Kind::UnquotedIdentifier(_) | Kind::Star => {
                self.expression(binding)
            }
            Kind::Lbracket => {
                self.advance();
                self.multi_select_list()
            }
            Kind::Lbrace => {
                self.advance();
                self.multi_select_hash()
            }
            _ => Err(self
                .unexpected("['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace']")),
        }
    }

    fn expect(&mut self, kind: &Kind) -> Result<(), SyntaxError> {
        if self.current() == kind {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(kind.type_name()))
        }
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        let token = self.token(0);
        if token.kind == Kind::Eof {
            return SyntaxError::new(token.start, "Incomplete expression");
        }
        SyntaxError::new(
            token.start,
            format!("Expecting: {expected}, got: {}", token.kind.type_name()),
        )
    }
}

fn binary(
    left: Node,
    right: Node,
    make: fn(Box<Node>, Box<Node>) -> Ast,
) -> Result<Node, SyntaxError> {
    let depth = 1 + left.depth.max(right.depth);
    checked(make(Box::new(left), Box::new(right)), depth)
}

fn projection(left: Node, right: Node) -> Result<Node, SyntaxError> {
    binary(left, right, Ast::Projection)
}

fn flatten(node: Node) -> Result<Node, SyntaxError> {
    let depth = node.depth + 1;
    checked(Ast::Flatten(Box::new(node)), depth)
}

/// `x[0]` is an index expression; `x[1:2]` also projects what follows onto each element.
fn project_if_slice(parser: &mut Parser, left: Node, right: Node) -> Result<Node, SyntaxError> {
    let is_slice = matches!(right.ast, Ast::Slice(_));
    let depth = 1 + left.depth.max(right.depth);
    let index = checked(Ast::IndexExpression(vec![left, right]), depth)?;
    if !is_slice {
        return Ok(index);
    }
    let rhs = parser.projection_rhs(binding_power(&Kind::Star))?;
    projection(index, rhs)
}
