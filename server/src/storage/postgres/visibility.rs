//! Visibility queries as SQL over real columns. The fixed fields of a [`VisibilityQuery`]
//! and the top-level conjuncts of its list filter that compare a built-in column become
//! `WHERE` clauses with parameters — never text pasted from the filter; what SQL cannot
//! say exactly as the list-filter language means it (custom search attributes, `OR`,
//! `NOT`, `STARTS_WITH`) is left to the filter's own evaluation on each row the SQL
//! returns. The SQL part only ever narrows to a superset of the answer, so the rows that
//! pass both are exactly the rows the filter passes.
//!
//! Custom search attributes are indexed as *terms* ([`search_terms`], a GIN-indexed
//! `TEXT[]`): `Name=value` for each keyword, text and keyword-list value short enough to
//! index, and a marker per name for what a string cannot be matched against by equality
//! of text (a datetime, which several spellings of a time equal; a value too long or with
//! a character a term cannot hold). `Name = 'v'` and `Name IN (…)` become "has one of the
//! terms, or one of the markers" — every row that can match, and the filter decides.

use endure_core::Namespace;
use endure_core::list_filter::{Comparison, Field, FilterExpr, Literal};
use endure_core::storage::VisibilityQuery;
use tokio_postgres::types::ToSql;

use super::columns::status_code;

/// Longest keyword or text value indexed as a term, in bytes (a B-tree entry of the GIN
/// index has a size limit; longer values are found through their name's marker).
pub(super) const TERM_VALUE_BYTES_MAX: usize = 256;

/// The separator of terms when a batch of rows' terms travels as one string per row.
pub(super) const TERM_SEPARATOR: char = '\u{1f}';

/// The term of a string value, if it can be one.
fn term(name: &str, value: &str) -> Option<String> {
    let representable = |text: &str| !text.contains(['\0', TERM_SEPARATOR, '\u{1}']);
    (value.len() <= TERM_VALUE_BYTES_MAX && representable(name) && representable(value))
        .then(|| format!("{name}={value}"))
}

/// The marker of a name's values that equality of terms cannot match.
fn unmatched_marker(name: &str) -> String {
    format!("{name}\u{1}")
}

/// A run's terms: what list filters on its custom attributes look up.
pub(super) fn search_terms(attributes: &endure_core::SearchAttributes) -> Vec<String> {
    use endure_core::SearchAttributeValue as Value;
    let mut terms = Vec::new();
    for (name, value) in &attributes.0 {
        let texts: &[String] = match value {
            Value::Keyword(text) | Value::Text(text) => std::slice::from_ref(text),
            Value::KeywordList(items) => items,
            Value::Datetime(_) => {
                terms.push(unmatched_marker(name));
                continue;
            }
            _ => continue,
        };
        for text in texts {
            terms.push(term(name, text).unwrap_or_else(|| unmatched_marker(name)));
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

/// A parameter of a query.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// The SQL part of a visibility query.
pub(super) struct Pushdown {
    /// `WHERE` clauses, joined by `AND`; parameters are `$1…` in order.
    pub(super) clauses: Vec<String>,
    /// The parameters.
    pub(super) params: Vec<Param>,
    /// Whether the clauses alone select exactly the query's rows (nothing is left for the
    /// filter to check row by row).
    pub(super) exact: bool,
}

impl Pushdown {
    fn param(&mut self, value: Param) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    fn clause(&mut self, column: &str, op: &str, value: Param) {
        let placeholder = self.param(value);
        self.clauses.push(format!("{column} {op} {placeholder}"));
    }

    /// An ordering comparison of a text column: in byte order, as the filter compares.
    fn text_clause(&mut self, column: &str, op: Comparison, value: Param) {
        let placeholder = self.param(value);
        let collated = match op {
            Comparison::Eq | Comparison::NotEq => String::new(),
            _ => " COLLATE \"C\"".to_owned(),
        };
        self.clauses
            .push(format!("{column}{collated} {} {placeholder}", operator(op)));
    }

    /// The `WHERE` text.
    pub(super) fn where_sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

/// The SQL part of `query` over a namespace's visibility rows.
pub(super) fn pushdown(namespace: &Namespace, query: &VisibilityQuery) -> Pushdown {
    let mut sql = Pushdown {
        clauses: Vec::new(),
        params: Vec::new(),
        exact: true,
    };
    sql.clause("namespace", "=", Box::new(namespace.as_str().to_owned()));
    if let Some(status) = query.status {
        sql.clause("status", "=", Box::new(status_code(status)));
    }
    if let Some(workflow_type) = &query.workflow_type {
        sql.clause(
            "workflow_type",
            "=",
            Box::new(workflow_type.as_str().to_owned()),
        );
    }
    if let Some(workflow_id) = &query.workflow_id {
        sql.clause(
            "workflow_id",
            "=",
            Box::new(workflow_id.as_str().to_owned()),
        );
    }
    if let Some(after) = query.started_after {
        sql.clause("start_time", ">=", Box::new(nanos(after.unix_nanos())));
    }
    if let Some(before) = query.started_before {
        sql.clause("start_time", "<", Box::new(nanos(before.unix_nanos())));
    }
    if query.search_attribute.is_some() {
        sql.exact = false;
    }
    if let Some(filter) = &query.filter {
        let mut conjuncts = Vec::new();
        flatten_and(filter.expr(), &mut conjuncts);
        for conjunct in conjuncts {
            if !push_conjunct(&mut sql, conjunct) {
                sql.exact = false;
            }
        }
    }
    sql
}

/// Nanoseconds as a `BIGINT`; beyond `i64::MAX` (the year 2262) clamps, which orders the
/// same against every stored time.
fn nanos(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn flatten_and<'a>(expr: &'a FilterExpr, out: &mut Vec<&'a FilterExpr>) {
    match expr {
        FilterExpr::And(left, right) => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

/// The column of a built-in text field.
fn text_column(field: &Field) -> Option<&'static str> {
    match field {
        Field::WorkflowId => Some("workflow_id"),
        Field::WorkflowType => Some("workflow_type"),
        Field::TaskQueue => Some("task_queue"),
        _ => None,
    }
}

/// The column of a built-in time field.
fn time_column(field: &Field) -> Option<&'static str> {
    match field {
        Field::StartTime => Some("start_time"),
        Field::CloseTime => Some("close_time"),
        _ => None,
    }
}

fn operator(op: Comparison) -> &'static str {
    match op {
        Comparison::Eq => "=",
        Comparison::NotEq => "<>",
        Comparison::Lt => "<",
        Comparison::LtEq => "<=",
        Comparison::Gt => ">",
        Comparison::GtEq => ">=",
    }
}

/// Adds `conjunct` as SQL if SQL says exactly what it means (a comparison of a text column
/// with a string is byte order under `COLLATE "C"`, as in the filter; a comparison with a
/// null close time is false in both). Returns whether it did.
fn push_conjunct(sql: &mut Pushdown, conjunct: &FilterExpr) -> bool {
    match conjunct {
        FilterExpr::Compare {
            field,
            op,
            value: Literal::String(text),
        } => match (text_column(field), field, op) {
            (Some(column), _, _) => {
                sql.text_clause(column, *op, Box::new(text.clone()));
                true
            }
            (None, Field::Custom(name), Comparison::Eq) => {
                push_terms(sql, name, std::slice::from_ref(text));
                // The filter still decides: the terms find every row that can match.
                false
            }
            _ => false,
        },
        FilterExpr::Compare {
            field,
            op,
            value: Literal::Datetime(time),
        } => match time_column(field) {
            Some(column) => {
                sql.clause(column, operator(*op), Box::new(nanos(time.unix_nanos())));
                true
            }
            None => false,
        },
        FilterExpr::Compare {
            field: Field::ExecutionStatus,
            op: op @ (Comparison::Eq | Comparison::NotEq),
            value: Literal::Status(status),
        } => {
            sql.clause("status", operator(*op), Box::new(status_code(*status)));
            true
        }
        FilterExpr::In { field, values } => {
            if let Some(column) = text_column(field) {
                let texts: Option<Vec<String>> = values
                    .iter()
                    .map(|value| match value {
                        Literal::String(text) => Some(text.clone()),
                        _ => None,
                    })
                    .collect();
                let Some(texts) = texts else { return false };
                let placeholder = sql.param(Box::new(texts));
                sql.clauses.push(format!("{column} = ANY({placeholder})"));
                return true;
            }
            if *field == Field::ExecutionStatus {
                let codes: Option<Vec<i16>> = values
                    .iter()
                    .map(|value| match value {
                        Literal::Status(status) => Some(status_code(*status)),
                        _ => None,
                    })
                    .collect();
                let Some(codes) = codes else { return false };
                let placeholder = sql.param(Box::new(codes));
                sql.clauses.push(format!("status = ANY({placeholder})"));
                return true;
            }
            if let Field::Custom(name) = field {
                let texts: Option<Vec<String>> = values
                    .iter()
                    .map(|value| match value {
                        Literal::String(text) => Some(text.clone()),
                        _ => None,
                    })
                    .collect();
                if let Some(texts) = texts {
                    push_terms(sql, name, &texts);
                }
            }
            false
        }
        FilterExpr::Between {
            field,
            low: Literal::Datetime(low),
            high: Literal::Datetime(high),
        } => match time_column(field) {
            Some(column) => {
                sql.clause(column, ">=", Box::new(nanos(low.unix_nanos())));
                sql.clause(column, "<=", Box::new(nanos(high.unix_nanos())));
                true
            }
            None => false,
        },
        FilterExpr::IsNull(Field::CloseTime) => {
            sql.clauses.push("close_time IS NULL".into());
            true
        }
        _ => false,
    }
}

/// Narrows to rows holding one of the terms of `name` equal to one of `texts`, or the
/// name's marker.
fn push_terms(sql: &mut Pushdown, name: &str, texts: &[String]) {
    if name.contains(['\0', TERM_SEPARATOR, '\u{1}']) {
        return;
    }
    let mut terms: Vec<String> = texts.iter().filter_map(|text| term(name, text)).collect();
    terms.push(unmatched_marker(name));
    let placeholder = sql.param(Box::new(terms));
    sql.clauses
        .push(format!("search_terms && {placeholder}::text[]"));
}

#[cfg(test)]
mod tests {
    use endure_core::WorkflowExecutionStatus;

    use super::*;

    fn sql(text: &str) -> (String, usize, bool) {
        let query = VisibilityQuery::parse(text).unwrap();
        let pushed = pushdown(&Namespace::default(), &query);
        (pushed.where_sql(), pushed.params.len(), pushed.exact)
    }

    #[test]
    fn built_in_comparisons_become_parameterised_clauses() {
        assert_eq!(
            sql("WorkflowType = 'Order' AND ExecutionStatus = 'Running'"),
            (
                "namespace = $1 AND workflow_type = $2 AND status = $3".into(),
                3,
                true
            )
        );
        assert_eq!(
            sql("StartTime >= '2026-11-01T00:00:00Z' AND CloseTime IS NULL"),
            (
                "namespace = $1 AND start_time >= $2 AND close_time IS NULL".into(),
                2,
                true
            )
        );
        assert_eq!(
            sql("WorkflowId IN ('a', 'b')"),
            ("namespace = $1 AND workflow_id = ANY($2)".into(), 2, true)
        );
    }

    #[test]
    fn what_sql_cannot_say_exactly_is_left_to_the_filter() {
        // Quotes in the text never reach the SQL: they are a parameter's value.
        assert_eq!(
            sql("WorkflowId = 'x'' OR 1=1 --'"),
            ("namespace = $1 AND workflow_id = $2".into(), 2, true)
        );
        assert_eq!(
            sql("WorkflowType = 'Order' OR WorkflowType = 'Refund'"),
            ("namespace = $1".into(), 1, false)
        );
        assert_eq!(
            sql("NOT (ExecutionStatus = 'Running')"),
            ("namespace = $1".into(), 1, false)
        );
    }

    #[test]
    fn custom_attributes_narrow_by_terms_and_markers() {
        assert_eq!(
            sql("CustomerId = 'c1' AND WorkflowType = 'Order'"),
            (
                "namespace = $1 AND search_terms && $2::text[] AND workflow_type = $3".into(),
                3,
                false
            )
        );
        let mut attributes = endure_core::SearchAttributes::new();
        attributes.insert(
            "Tags",
            endure_core::SearchAttributeValue::KeywordList(vec!["a".into(), "b".into()]),
        );
        attributes.insert(
            "Note",
            endure_core::SearchAttributeValue::Text("x".repeat(TERM_VALUE_BYTES_MAX + 1)),
        );
        attributes.insert(
            "Since",
            endure_core::SearchAttributeValue::Datetime(
                endure_core::time::Timestamp::from_unix_seconds(5),
            ),
        );
        attributes.insert("Count", endure_core::SearchAttributeValue::Int(3));
        assert_eq!(
            search_terms(&attributes),
            ["Note\u{1}", "Since\u{1}", "Tags=a", "Tags=b"]
        );
    }

    #[test]
    fn the_fixed_fields_are_clauses_too() {
        let query = VisibilityQuery {
            status: Some(WorkflowExecutionStatus::Completed),
            ..VisibilityQuery::default()
        };
        let pushed = pushdown(&Namespace::default(), &query);
        assert_eq!(pushed.where_sql(), "namespace = $1 AND status = $2");
        assert!(pushed.exact);
    }
}
