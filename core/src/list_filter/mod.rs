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

mod eval;
mod parse;
pub mod time;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enums::WorkflowExecutionStatus;
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
        let expr = parse::expr(text)?;
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

pub use time::parse_time;
