//! A filter evaluated against a run's visibility row.

use std::cmp::Ordering;

use super::*;
use crate::enums::WorkflowExecutionStatus;
use crate::search_attributes::SearchAttributeValue;
use crate::storage::VisibilityRow;
use crate::time::Timestamp;

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
