//! The filter language: parsing, refusals and evaluation.

use proptest::prelude::*;

use super::*;
use crate::ids::{Namespace, RunId, TaskQueueName, WorkflowId, WorkflowType};
use crate::payload::Memo;
use crate::search_attributes::{SearchAttributeValue, SearchAttributes};
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
