//! Filter text to AST: the tokenizer and the recursive-descent parser, nesting bounded.

use super::*;
use crate::enums::WorkflowExecutionStatus;

/// The syntax tree of `text`, which must be parsed whole.
pub(super) fn expr(text: &str) -> Result<FilterExpr, FilterError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: text.len(),
    };
    let expr = parser.or(0)?;
    if let Some(token) = parser.tokens.get(parser.next) {
        return Err(FilterError {
            position: token.position,
            message: format!(
                "unexpected {}; expected AND, OR or the end",
                token.kind.describe()
            ),
        });
    }
    Ok(expr)
}

/// A token of filter text.
#[derive(Clone, Debug, PartialEq)]
enum TokenKind {
    Word(String),
    String(String),
    Number(String),
    Operator(&'static str),
    Open,
    Close,
    Comma,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            Self::Word(word) => format!("`{word}`"),
            Self::String(text) => format!("the string '{text}'"),
            Self::Number(number) => format!("the number {number}"),
            Self::Operator(op) => format!("`{op}`"),
            Self::Open => "`(`".into(),
            Self::Close => "`)`".into(),
            Self::Comma => "`,`".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    position: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(position, c)) = chars.peek() {
        let kind = match c {
            c if c.is_whitespace() => {
                chars.next();
                continue;
            }
            '(' => {
                chars.next();
                TokenKind::Open
            }
            ')' => {
                chars.next();
                TokenKind::Close
            }
            ',' => {
                chars.next();
                TokenKind::Comma
            }
            '\'' | '"' | '`' => {
                chars.next();
                let quote = c;
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    if c == quote {
                        // A doubled quote stands for one.
                        if chars.peek().is_some_and(|&(_, next)| next == quote) {
                            chars.next();
                            value.push(quote);
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    value.push(c);
                }
                if !closed {
                    return Err(FilterError {
                        position,
                        message: format!("the string starting here has no closing {quote}"),
                    });
                }
                if quote == '`' {
                    TokenKind::Word(value)
                } else {
                    TokenKind::String(value)
                }
            }
            '=' => {
                chars.next();
                TokenKind::Operator("=")
            }
            '!' | '<' | '>' => {
                chars.next();
                let next = chars.peek().map(|&(_, next)| next);
                let op = match (c, next) {
                    ('!', Some('=')) => "!=",
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "<>",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    ('>', _) => ">",
                    _ => {
                        return Err(FilterError {
                            position,
                            message: "`!` must be followed by `=`".into(),
                        });
                    }
                };
                if op.len() == 2 {
                    chars.next();
                }
                TokenKind::Operator(op)
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut number = String::new();
                number.push(c);
                chars.next();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' {
                        number.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                TokenKind::Number(number)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                TokenKind::Word(word)
            }
            other => {
                return Err(FilterError {
                    position,
                    message: format!("unexpected character {other:?}"),
                });
            }
        };
        tokens.push(Token { kind, position });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn position(&self) -> usize {
        self.peek().map_or(self.end, |token| token.position)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            position: self.position(),
            message: message.into(),
        })
    }

    /// Takes the next token if it is keyword `word` (case-insensitive).
    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Word(found),
                ..
            }) if found.eq_ignore_ascii_case(word) => {
                self.next += 1;
                true
            }
            _ => false,
        }
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end".to_owned(), |token| token.kind.describe())
    }

    fn deeper(&self, depth: usize) -> Result<usize, FilterError> {
        if depth >= FILTER_DEPTH_MAX {
            return self.error(format!(
                "the filter nests deeper than {FILTER_DEPTH_MAX} levels"
            ));
        }
        Ok(depth + 1)
    }

    fn or(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let mut left = self.and(depth)?;
        while self.keyword("OR") {
            let right = self.and(depth)?;
            left = FilterExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let mut left = self.not(depth)?;
        while self.keyword("AND") {
            let right = self.not(depth)?;
            left = FilterExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        if self.keyword("NOT") {
            let depth = self.deeper(depth)?;
            return Ok(FilterExpr::Not(Box::new(self.not(depth)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        if matches!(self.peek().map(|token| &token.kind), Some(TokenKind::Open)) {
            self.next += 1;
            let depth = self.deeper(depth)?;
            let inner = self.or(depth)?;
            if !matches!(self.peek().map(|token| &token.kind), Some(TokenKind::Close)) {
                return self.error(format!("expected `)`, found {}", self.found()));
            }
            self.next += 1;
            return Ok(inner);
        }
        let field = self.field()?;
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            let values = self.list(&field)?;
            return Ok(negate(FilterExpr::In { field, values }, negated));
        }
        if self.keyword("BETWEEN") {
            check_ordered(&field).map_err(|message| FilterError {
                position: self.position(),
                message,
            })?;
            let low = self.literal(&field)?;
            if !self.keyword("AND") {
                return self.error(format!(
                    "expected AND between the ends of BETWEEN, found {}",
                    self.found()
                ));
            }
            let high = self.literal(&field)?;
            return Ok(negate(FilterExpr::Between { field, low, high }, negated));
        }
        if negated {
            return self.error(format!(
                "expected IN or BETWEEN after NOT, found {}",
                self.found()
            ));
        }
        if self.keyword("STARTS_WITH") {
            let position = self.position();
            return match self.literal(&Field::Custom(String::new()))? {
                Literal::String(prefix) => Ok(FilterExpr::StartsWith { field, prefix }),
                _ => Err(FilterError {
                    position,
                    message: "STARTS_WITH takes a quoted string".into(),
                }),
            };
        }
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            if !self.keyword("NULL") {
                return self.error(format!("expected NULL after IS, found {}", self.found()));
            }
            return Ok(negate(FilterExpr::IsNull(field), negated));
        }
        let op = match self.peek().map(|token| &token.kind) {
            Some(TokenKind::Operator(op)) => match *op {
                "=" => Comparison::Eq,
                "!=" | "<>" => Comparison::NotEq,
                "<" => Comparison::Lt,
                "<=" => Comparison::LtEq,
                ">" => Comparison::Gt,
                _ => Comparison::GtEq,
            },
            _ => {
                return self.error(format!(
                    "expected a comparison (=, !=, <, <=, >, >=, IN, BETWEEN, STARTS_WITH, IS NULL) after the field, found {}",
                    self.found()
                ));
            }
        };
        if !matches!(op, Comparison::Eq | Comparison::NotEq) {
            check_ordered(&field).map_err(|message| FilterError {
                position: self.position(),
                message,
            })?;
        }
        self.next += 1;
        let value = self.literal(&field)?;
        Ok(FilterExpr::Compare { field, op, value })
    }

    fn field(&mut self) -> Result<Field, FilterError> {
        let Some(Token {
            kind: TokenKind::Word(word),
            ..
        }) = self.peek().cloned()
        else {
            return self.error(format!("expected a field name, found {}", self.found()));
        };
        const RESERVED: &[&str] = &["AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL"];
        if RESERVED
            .iter()
            .any(|reserved| word.eq_ignore_ascii_case(reserved))
        {
            return self.error(format!("expected a field name, found `{word}`"));
        }
        self.next += 1;
        Ok(match word.as_str() {
            "WorkflowId" => Field::WorkflowId,
            "RunId" => Field::RunId,
            "WorkflowType" => Field::WorkflowType,
            "TaskQueue" => Field::TaskQueue,
            "ExecutionStatus" => Field::ExecutionStatus,
            "StartTime" => Field::StartTime,
            "CloseTime" => Field::CloseTime,
            _ => Field::Custom(word),
        })
    }

    fn list(&mut self, field: &Field) -> Result<Vec<Literal>, FilterError> {
        if !matches!(self.peek().map(|token| &token.kind), Some(TokenKind::Open)) {
            return self.error(format!("expected `(` after IN, found {}", self.found()));
        }
        self.next += 1;
        let mut values = vec![self.literal(field)?];
        loop {
            match self.peek().map(|token| &token.kind) {
                Some(TokenKind::Comma) => {
                    self.next += 1;
                    values.push(self.literal(field)?);
                }
                Some(TokenKind::Close) => {
                    self.next += 1;
                    return Ok(values);
                }
                _ => {
                    return self.error(format!(
                        "expected `,` or `)` in the IN list, found {}",
                        self.found()
                    ));
                }
            }
        }
    }

    /// A literal, typed for `field`.
    fn literal(&mut self, field: &Field) -> Result<Literal, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return self.error("expected a value, found the end");
        };
        let literal = match token.kind {
            TokenKind::String(text) => Literal::String(text),
            TokenKind::Number(number) => {
                if let Ok(value) = number.parse::<i64>() {
                    Literal::Int(value)
                } else {
                    match number.parse::<f64>() {
                        Ok(value) if value.is_finite() => Literal::Double(value),
                        _ => {
                            return self.error(format!("`{number}` is not a number"));
                        }
                    }
                }
            }
            TokenKind::Word(word) if word.eq_ignore_ascii_case("TRUE") => Literal::Bool(true),
            TokenKind::Word(word) if word.eq_ignore_ascii_case("FALSE") => Literal::Bool(false),
            other => {
                return self.error(format!("expected a value, found {}", other.describe()));
            }
        };
        let typed = type_for(field, literal).map_err(|message| FilterError {
            position: token.position,
            message,
        })?;
        self.next += 1;
        Ok(typed)
    }
}

fn negate(expr: FilterExpr, negated: bool) -> FilterExpr {
    if negated {
        FilterExpr::Not(Box::new(expr))
    } else {
        expr
    }
}

/// Refuses ordering comparisons on fields that have no order.
fn check_ordered(field: &Field) -> Result<(), String> {
    match field {
        Field::ExecutionStatus => {
            Err("ExecutionStatus has no order; compare it with =, != or IN".into())
        }
        _ => Ok(()),
    }
}

/// Checks `literal` suits built-in `field`, converting times and statuses.
fn type_for(field: &Field, literal: Literal) -> Result<Literal, String> {
    match (field, literal) {
        (
            Field::WorkflowId | Field::RunId | Field::WorkflowType | Field::TaskQueue,
            literal @ Literal::String(_),
        ) => Ok(literal),
        (Field::WorkflowId | Field::RunId | Field::WorkflowType | Field::TaskQueue, _) => {
            Err("this field is compared with a quoted string".into())
        }
        (Field::StartTime | Field::CloseTime, Literal::String(text)) => {
            parse_time(&text).map(Literal::Datetime).ok_or_else(|| {
                format!("'{text}' is not a time; write RFC 3339, such as '2026-11-28T10:00:00Z'")
            })
        }
        (Field::StartTime | Field::CloseTime, _) => {
            Err("times are quoted RFC 3339 strings, such as '2026-11-28T10:00:00Z'".into())
        }
        (Field::ExecutionStatus, Literal::String(text)) => WorkflowExecutionStatus::ALL
            .iter()
            .find(|status| format!("{status:?}").eq_ignore_ascii_case(&text))
            .map(|status| Literal::Status(*status))
            .ok_or_else(|| {
                let names: Vec<String> = WorkflowExecutionStatus::ALL
                    .iter()
                    .map(|status| format!("'{status:?}'"))
                    .collect();
                format!("'{text}' is not a status; use one of {}", names.join(", "))
            }),
        (Field::ExecutionStatus, _) => {
            Err("ExecutionStatus is compared with a quoted status name".into())
        }
        (Field::Custom(_), literal) => Ok(literal),
    }
}
