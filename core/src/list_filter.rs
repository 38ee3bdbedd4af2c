//! The list-filter language of visibility queries (Temporal's SQL-like `List` query):
//! `WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND StartTime > '2026-11-01'`.
//!
//! Text is parsed into an AST ([`FilterExpr`]) — never pasted into another query — and the
//! AST is evaluated against each run's [`VisibilityRow`]. A [`ListFilter`] travels as its
//! text and is parsed again on arrival, so bytes from the network can only ever become a
//! filter through the parser, whose nesting is bounded.
//!
//! Grammar (keywords case-insensitive):
//!
//! ```text
//! expr    := or
//! or      := and ("OR" and)*
//! and     := not ("AND" not)*
//! not     := "NOT" not | primary
//! primary := "(" expr ")"
//!          | field ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") literal
//!          | field ["NOT"] "IN" "(" literal ("," literal)* ")"
//!          | field ["NOT"] "BETWEEN" literal "AND" literal
//!          | field "STARTS_WITH" string
//!          | field "IS" ["NOT"] "NULL"
//! literal := 'text' | "text" | integer | decimal | TRUE | FALSE
//! ```
//!
//! Fields are the built-in `WorkflowId`, `RunId`, `WorkflowType`, `TaskQueue`,
//! `ExecutionStatus`, `StartTime` and `CloseTime`, or any custom search attribute name.
//! Built-in fields are type-checked when parsed (a time must be RFC 3339, a status one of
//! the statuses); a custom attribute compares with the run's value of whatever type it has
//! (a keyword list equals a value it contains), and a run without it matches only
//! `IS NULL`.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enums::WorkflowExecutionStatus;
use crate::search_attributes::SearchAttributeValue;
use crate::storage::VisibilityRow;
use crate::time::Timestamp;

/// Deepest nesting of parentheses and NOTs a filter may have.
pub const FILTER_DEPTH_MAX: usize = 32;

/// Longest filter text, in bytes.
pub const FILTER_BYTES_MAX: usize = 4_096;

/// A parsed list filter, kept with its text.
#[derive(Clone, Debug, PartialEq)]
pub struct ListFilter {
    text: String,
    expr: FilterExpr,
}

/// A filter's syntax tree.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterExpr {
    /// Both hold.
    And(Box<Self>, Box<Self>),
    /// Either holds.
    Or(Box<Self>, Box<Self>),
    /// It does not hold.
    Not(Box<Self>),
    /// `field op value`.
    Compare {
        /// The field.
        field: Field,
        /// The comparison.
        op: Comparison,
        /// The value.
        value: Literal,
    },
    /// `field IN (values)`.
    In {
        /// The field.
        field: Field,
        /// The values.
        values: Vec<Literal>,
    },
    /// `field BETWEEN low AND high` (both ends included).
    Between {
        /// The field.
        field: Field,
        /// The lower end.
        low: Literal,
        /// The upper end.
        high: Literal,
    },
    /// `field STARTS_WITH prefix`.
    StartsWith {
        /// The field.
        field: Field,
        /// The prefix.
        prefix: String,
    },
    /// `field IS NULL`: the run has no value for it.
    IsNull(Field),
}

/// What a filter compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// The workflow id.
    WorkflowId,
    /// The run id.
    RunId,
    /// The workflow type.
    WorkflowType,
    /// The task queue.
    TaskQueue,
    /// The run's status.
    ExecutionStatus,
    /// When the run started.
    StartTime,
    /// When the run closed (null while it runs).
    CloseTime,
    /// A custom search attribute.
    Custom(String),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `!=` or `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A value in a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A quoted string.
    String(String),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Double(f64),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// An instant (a string compared with a time field, parsed as RFC 3339).
    Datetime(Timestamp),
    /// A status (a string compared with `ExecutionStatus`).
    Status(WorkflowExecutionStatus),
}

/// Why a filter's text was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad list filter at byte {position}: {message}")]
pub struct FilterError {
    /// Where in the text.
    pub position: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl ListFilter {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        if text.len() > FILTER_BYTES_MAX {
            return Err(FilterError {
                position: FILTER_BYTES_MAX,
                message: format!(
                    "the filter is {} bytes; at most {FILTER_BYTES_MAX} are allowed",
                    text.len()
                ),
            });
        }
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
        Ok(Self {
            text: text.to_owned(),
            expr,
        })
    }

    /// The filter's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The filter's syntax tree.
    pub fn expr(&self) -> &FilterExpr {
        &self.expr
    }

    /// Whether `row` passes the filter.
    pub fn matches(&self, row: &VisibilityRow) -> bool {
        self.expr.matches(row)
    }
}

impl fmt::Display for ListFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for ListFilter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ListFilter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A run's value of a field, for comparing.
enum Value<'a> {
    Text(std::borrow::Cow<'a, str>),
    Status(WorkflowExecutionStatus),
    Time(Timestamp),
    Attribute(&'a SearchAttributeValue),
}

impl FilterExpr {
    /// Whether `row` passes.
    pub fn matches(&self, row: &VisibilityRow) -> bool {
        match self {
            Self::And(left, right) => left.matches(row) && right.matches(row),
            Self::Or(left, right) => left.matches(row) || right.matches(row),
            Self::Not(inner) => !inner.matches(row),
            Self::Compare { field, op, value } => field_value(field, row).is_some_and(|actual| {
                compare(&actual, value).is_some_and(|ordering| op.holds(ordering))
            }),
            Self::In { field, values } => field_value(field, row).is_some_and(|actual| {
                values
                    .iter()
                    .any(|value| compare(&actual, value) == Some(Ordering::Equal))
            }),
            Self::Between { field, low, high } => field_value(field, row).is_some_and(|actual| {
                compare(&actual, low).is_some_and(Ordering::is_ge)
                    && compare(&actual, high).is_some_and(Ordering::is_le)
            }),
            Self::StartsWith { field, prefix } => {
                field_value(field, row).is_some_and(|actual| match actual {
                    Value::Text(text) => text.starts_with(prefix.as_str()),
                    Value::Attribute(SearchAttributeValue::Keyword(text)) => {
                        text.starts_with(prefix.as_str())
                    }
                    _ => false,
                })
            }
            Self::IsNull(field) => field_value(field, row).is_none(),
        }
    }
}

impl Comparison {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering.is_eq(),
            Self::NotEq => ordering.is_ne(),
            Self::Lt => ordering.is_lt(),
            Self::LtEq => ordering.is_le(),
            Self::Gt => ordering.is_gt(),
            Self::GtEq => ordering.is_ge(),
        }
    }
}

fn field_value<'a>(field: &'a Field, row: &'a VisibilityRow) -> Option<Value<'a>> {
    Some(match field {
        Field::WorkflowId => Value::Text(row.execution.workflow_id.as_str().into()),
        Field::RunId => Value::Text(row.execution.run_id.to_string().into()),
        Field::WorkflowType => Value::Text(row.workflow_type.as_str().into()),
        Field::TaskQueue => Value::Text(row.task_queue.as_str().into()),
        Field::ExecutionStatus => Value::Status(row.status),
        Field::StartTime => Value::Time(row.start_time),
        Field::CloseTime => Value::Time(row.close_time?),
        Field::Custom(name) => Value::Attribute(row.search_attributes.0.get(name)?),
    })
}

/// How `actual` orders against `expected`, or `None` if they do not compare (another
/// type). A keyword list equals a value it contains and orders against nothing.
fn compare(actual: &Value<'_>, expected: &Literal) -> Option<Ordering> {
    match (actual, expected) {
        (Value::Text(text), Literal::String(value)) => Some(text.as_ref().cmp(value.as_str())),
        (Value::Status(status), Literal::Status(value)) => (status == value)
            .then_some(Ordering::Equal)
            .or(Some(Ordering::Less)),
        (Value::Time(time), Literal::Datetime(value)) => Some(time.cmp(value)),
        (Value::Attribute(attribute), _) => compare_attribute(attribute, expected),
        _ => None,
    }
}

fn compare_attribute(actual: &SearchAttributeValue, expected: &Literal) -> Option<Ordering> {
    match (actual, expected) {
        (
            SearchAttributeValue::Keyword(text) | SearchAttributeValue::Text(text),
            Literal::String(value),
        ) => Some(text.as_str().cmp(value.as_str())),
        (SearchAttributeValue::Int(number), Literal::Int(value)) => Some(number.cmp(value)),
        (SearchAttributeValue::Int(number), Literal::Double(value)) => {
            (*number as f64).partial_cmp(value)
        }
        (SearchAttributeValue::Double(number), Literal::Double(value)) => number.partial_cmp(value),
        (SearchAttributeValue::Double(number), Literal::Int(value)) => {
            number.partial_cmp(&(*value as f64))
        }
        (SearchAttributeValue::Bool(flag), Literal::Bool(value)) => Some(flag.cmp(value)),
        (SearchAttributeValue::Datetime(time), Literal::String(value)) => {
            Some(time.cmp(&parse_time(value)?))
        }
        (SearchAttributeValue::KeywordList(items), Literal::String(value)) => items
            .iter()
            .any(|item| item == value)
            .then_some(Ordering::Equal)
            .or(Some(Ordering::Less)),
        _ => None,
    }
}

/// Parses RFC 3339 (`2026-11-28T10:00:00Z`, fractional seconds and `±HH:MM` offsets
/// allowed) or a bare date (`2026-11-28`, midnight UTC).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = text.get(range)?;
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let mut civil = crate::time::CivilTime {
        year,
        month: u8::try_from(month).ok()?,
        day: u8::try_from(day).ok()?,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
    };
    if bytes.len() == 10 {
        return civil.to_timestamp();
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.len() < 19 || bytes[13] != b':' {
        return None;
    }
    if bytes[16] != b':' {
        return None;
    }
    civil.hour = u8::try_from(number(11..13)?).ok()?;
    civil.minute = u8::try_from(number(14..16)?).ok()?;
    civil.second = u8::try_from(number(17..19)?).ok()?;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let value: u32 = fraction[..digits].parse().ok()?;
        civil.nanosecond = value * 10_u32.pow(9 - digits as u32);
        rest = &fraction[digits..];
    }
    let instant = civil.to_timestamp()?;
    match rest {
        "Z" | "z" => Some(instant),
        offset
            if offset.len() == 6 && matches!(&offset[..1], "+" | "-") && &offset[3..4] == ":" =>
        {
            let hours: u64 = offset[1..3].parse().ok()?;
            let minutes: u64 = offset[4..6].parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let shift = std::time::Duration::from_secs(hours * 3600 + minutes * 60);
            // Local time minus a positive offset is UTC.
            if offset.starts_with('+') {
                instant
                    .unix_nanos()
                    .checked_sub(shift.as_nanos() as u64)
                    .map(Timestamp::from_unix_nanos)
            } else {
                instant.checked_add(shift)
            }
        }
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::{Namespace, RunId, TaskQueueName, WorkflowId, WorkflowType};
    use crate::payload::Memo;
    use crate::search_attributes::SearchAttributes;
    use crate::storage::ExecutionKey;

    fn row(
        id: &str,
        workflow_type: &str,
        status: WorkflowExecutionStatus,
        started: &str,
        attributes: &[(&str, SearchAttributeValue)],
    ) -> VisibilityRow {
        VisibilityRow {
            execution: ExecutionKey {
                namespace: Namespace::default(),
                workflow_id: WorkflowId::new(id).unwrap(),
                run_id: RunId::from_u128(7),
            },
            workflow_type: WorkflowType::new(workflow_type).unwrap(),
            task_queue: TaskQueueName::new("orders").unwrap(),
            status,
            start_time: parse_time(started).unwrap(),
            close_time: status
                .is_closed()
                .then(|| parse_time("2026-11-28T12:00:00Z").unwrap()),
            memo: Memo::default(),
            search_attributes: SearchAttributes(
                attributes
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), value.clone()))
                    .collect(),
            ),
        }
    }

    fn rows() -> Vec<VisibilityRow> {
        use SearchAttributeValue as V;
        vec![
            row(
                "order-1",
                "Order",
                WorkflowExecutionStatus::Running,
                "2026-11-28T10:00:00Z",
                &[
                    ("CustomerId", V::Keyword("ada".into())),
                    ("Amount", V::Int(120)),
                    ("Tags", V::KeywordList(vec!["vip".into(), "eu".into()])),
                ],
            ),
            row(
                "order-2",
                "Order",
                WorkflowExecutionStatus::Completed,
                "2026-11-27T09:00:00Z",
                &[
                    ("CustomerId", V::Keyword("bob".into())),
                    ("Amount", V::Int(40)),
                ],
            ),
            row(
                "refund-1",
                "Refund",
                WorkflowExecutionStatus::Failed,
                "2026-11-28T11:30:00Z",
                &[("Urgent", V::Bool(true)), ("Score", V::Double(0.75))],
            ),
        ]
    }

    /// The ids of the rows `text` selects.
    fn select(text: &str) -> Vec<String> {
        let filter = ListFilter::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        rows()
            .iter()
            .filter(|row| filter.matches(row))
            .map(|row| row.execution.workflow_id.to_string())
            .collect()
    }

    #[test]
    fn filters_select_the_runs_they_describe() {
        let cases: &[(&str, &[&str])] = &[
            ("WorkflowType = 'Order'", &["order-1", "order-2"]),
            (
                "WorkflowType = 'Order' AND ExecutionStatus = 'Running'",
                &["order-1"],
            ),
            (
                "WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND StartTime > '2026-11-28T09:00:00Z'",
                &["order-1"],
            ),
            ("StartTime >= '2026-11-28'", &["order-1", "refund-1"]),
            ("StartTime < '2026-11-28T11:00:00+02:00'", &["order-2"]),
            (
                "StartTime BETWEEN '2026-11-28T00:00:00Z' AND '2026-11-28T10:00:00Z'",
                &["order-1"],
            ),
            ("ExecutionStatus != 'running'", &["order-2", "refund-1"]),
            (
                "ExecutionStatus IN ('Completed', 'Failed')",
                &["order-2", "refund-1"],
            ),
            ("WorkflowId STARTS_WITH 'order-'", &["order-1", "order-2"]),
            ("NOT WorkflowId STARTS_WITH 'order-'", &["refund-1"]),
            ("WorkflowId NOT IN (\"order-1\", 'refund-1')", &["order-2"]),
            ("CloseTime IS NULL", &["order-1"]),
            ("CloseTime IS NOT NULL", &["order-2", "refund-1"]),
            (
                "CustomerId = 'ada' OR CustomerId = 'bob'",
                &["order-1", "order-2"],
            ),
            ("Amount > 100", &["order-1"]),
            ("Amount BETWEEN 10 AND 50", &["order-2"]),
            ("Amount >= 40.5", &["order-1"]),
            ("Tags = 'vip'", &["order-1"]),
            ("Urgent = true AND Score > 0.5", &["refund-1"]),
            ("Urgent IS NULL", &["order-1", "order-2"]),
            ("Amount = 'many'", &[]),
            (
                "(WorkflowType = 'Refund' OR Amount < 100) and not ExecutionStatus = 'Failed'",
                &["order-2"],
            ),
            ("`CustomerId` = 'it''s'", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(select(text), *expected, "{text}");
        }
    }

    #[test]
    fn bad_filters_say_where_and_what() {
        let cases: &[(&str, usize, &str)] = &[
            ("WorkflowType = ", 15, "expected a value, found the end"),
            ("WorkflowType == 'x'", 14, "expected a value, found `=`"),
            (
                "WorkflowType = 'x",
                15,
                "the string starting here has no closing '",
            ),
            ("StartTime > 'yesterday'", 12, "'yesterday' is not a time"),
            (
                "ExecutionStatus = 'Sleeping'",
                18,
                "'Sleeping' is not a status",
            ),
            (
                "ExecutionStatus > 'Running'",
                16,
                "ExecutionStatus has no order",
            ),
            ("WorkflowId = 42", 13, "compared with a quoted string"),
            (
                "WorkflowType = 'x' AND",
                22,
                "expected a field name, found the end",
            ),
            (
                "WorkflowType = 'x' 'y'",
                19,
                "unexpected the string 'y'; expected AND, OR",
            ),
            ("(WorkflowType = 'x'", 19, "expected `)`, found the end"),
            ("Amount IN 1, 2", 10, "expected `(` after IN"),
            ("Amount ~ 3", 7, "unexpected character '~'"),
            ("Amount NOT = 3", 11, "expected IN or BETWEEN after NOT"),
            (
                "WorkflowId STARTS_WITH 3",
                23,
                "STARTS_WITH takes a quoted string",
            ),
        ];
        for (text, position, message) in cases {
            let error = ListFilter::parse(text).expect_err(text);
            assert_eq!(error.position, *position, "{text}: {error}");
            assert!(error.message.contains(message), "{text}: {error}");
        }
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!(
            "{}WorkflowId = 'x'{}",
            "(".repeat(FILTER_DEPTH_MAX + 1),
            ")".repeat(FILTER_DEPTH_MAX + 1)
        );
        let error = ListFilter::parse(&deep).unwrap_err();
        assert!(error.message.contains("nests deeper"), "{error}");
        let nots = format!("{}WorkflowId = 'x'", "NOT ".repeat(10_000));
        assert!(ListFilter::parse(&nots).is_err());
        let long = format!("WorkflowId = '{}'", "x".repeat(FILTER_BYTES_MAX));
        assert!(
            ListFilter::parse(&long)
                .unwrap_err()
                .message
                .contains("bytes")
        );
        let ok = format!(
            "{}WorkflowId = 'x'{}",
            "(".repeat(FILTER_DEPTH_MAX - 1),
            ")".repeat(FILTER_DEPTH_MAX - 1)
        );
        ListFilter::parse(&ok).unwrap();
    }

    #[test]
    fn a_filter_travels_as_its_text_and_is_parsed_on_arrival() {
        let filter = ListFilter::parse("WorkflowType = 'Order' AND Amount > 3").unwrap();
        let bytes = postcard::to_allocvec(&filter).unwrap();
        let back: ListFilter = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, filter);
        let bad = postcard::to_allocvec(&"WorkflowType = ").unwrap();
        assert!(postcard::from_bytes::<ListFilter>(&bad).is_err());
    }

    #[test]
    fn times_parse_as_rfc_3339() {
        let t = |text: &str| parse_time(text).map(|time| time.to_string());
        assert_eq!(t("2026-11-28").as_deref(), Some("2026-11-28T00:00:00Z"));
        assert_eq!(
            t("2026-11-28T10:00:00.5Z").as_deref(),
            Some("2026-11-28T10:00:00.5Z")
        );
        assert_eq!(
            t("2026-11-28T10:00:00-05:30").as_deref(),
            Some("2026-11-28T15:30:00Z")
        );
        for bad in [
            "2026-13-01",
            "2026-11-28T25:00:00Z",
            "2026-11-28T10:00:00",
            "28/11/2026",
            "",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,80}") {
            if let Ok(filter) = ListFilter::parse(&text) {
                for row in rows() {
                    let _ = filter.matches(&row);
                }
            }
        }

        #[test]
        fn filter_like_text_never_panics(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "WorkflowId", "Amount", "Tags", "StartTime", "ExecutionStatus", "=", "!=", "<",
                    ">=", "AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "(", ")", ",", "'x'",
                    "'2026-11-28'", "'Running'", "3", "-1.5", "TRUE", "STARTS_WITH",
                ]),
                0..16,
            )
        ) {
            let text = parts.join(" ");
            if let Ok(filter) = ListFilter::parse(&text) {
                for row in rows() {
                    let _ = filter.matches(&row);
                }
            }
        }
    }
}
