//! List filters on PostgreSQL answer exactly as the model does: random visibility rows
//! (ids in mixed case and beyond ASCII, so byte order matters; open and closed runs; custom
//! attributes of several types) and random filters over built-in fields and attributes,
//! listed with offsets and limits and counted on both stores.

use std::time::Duration;

use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{
    EventId, Namespace, RunId, SearchAttributeValue, SearchAttributes, TaskQueueName,
    WorkflowExecutionStatus, WorkflowId, WorkflowType,
};
use endure_server::storage::{MemoryStorage, PostgresOptions, PostgresStorage};
use proptest::prelude::*;

use crate::postgres::{admin_url, fresh_store_at};

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);
const IDS: [&str; 6] = ["a", "B", "b", "é", "order-10", "order-9"];
const TYPES: [&str; 3] = ["Order", "Refund", "order"];

#[derive(Clone, Debug)]
struct AbstractRow {
    id: u8,
    run: u8,
    workflow_type: u8,
    status: u8,
    start: u8,
    close: Option<u8>,
    tier: Option<u8>,
    score: Option<i8>,
    since: Option<u8>,
    tags: Option<u8>,
}

fn abstract_row() -> impl Strategy<Value = AbstractRow> {
    (
        0u8..6,
        0u8..2,
        0u8..3,
        0u8..7,
        0u8..10,
        proptest::option::of(0u8..10),
        proptest::option::of(0u8..3),
        proptest::option::of(-2i8..3),
        (proptest::option::of(0u8..4), proptest::option::of(0u8..3)),
    )
        .prop_map(
            |(id, run, workflow_type, status, start, close, tier, score, (since, tags))| {
                AbstractRow {
                    id,
                    run,
                    workflow_type,
                    status,
                    start,
                    close,
                    tier,
                    score,
                    since,
                    tags,
                }
            },
        )
}

fn time(seconds: u8) -> String {
    format!("2026-11-28T10:00:{seconds:02}Z")
}

/// A filter of the list-filter language, as text.
fn filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0usize..6, 0usize..6).prop_map(|(op, id)| {
            let ops = ["=", "!=", "<", "<=", ">", ">="];
            format!("WorkflowId {} '{}'", ops[op], IDS[id])
        }),
        (0usize..3).prop_map(|t| format!("WorkflowType = '{}'", TYPES[t])),
        (0usize..7)
            .prop_map(|s| format!("ExecutionStatus = '{:?}'", WorkflowExecutionStatus::ALL[s])),
        (0usize..6, 0u8..10).prop_map(|(op, s)| {
            let ops = ["=", "!=", "<", "<=", ">", ">="];
            format!("StartTime {} '{}'", ops[op], time(s))
        }),
        (0u8..10, 0u8..10).prop_map(|(a, b)| format!(
            "CloseTime BETWEEN '{}' AND '{}'",
            time(a.min(b)),
            time(a.max(b))
        )),
        Just("CloseTime IS NULL".to_owned()),
        (0usize..6, 0usize..6)
            .prop_map(|(a, b)| format!("WorkflowId IN ('{}', '{}')", IDS[a], IDS[b])),
        (0u8..3).prop_map(|t| format!("Tier = 't{t}'")),
        (-2i8..3).prop_map(|s| format!("Score >= {s}")),
        Just("Tier IS NULL".to_owned()),
        (0u8..3, 0u8..3).prop_map(|(a, b)| format!("Tier IN ('t{a}', 't{b}')")),
        (0u8..4).prop_map(|s| format!("Since = '{}'", time(s))),
        (0u8..4).prop_map(|s| format!("Since = '2026-11-28T10:00:{s:02}.000Z'")),
        (0u8..3).prop_map(|t| format!("Tags = 'x{t}'")),
        Just("Tags = 'y'".to_owned()),
        Just("WorkflowId STARTS_WITH 'order'".to_owned()),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

fn concrete(row: &AbstractRow) -> VisibilityRow {
    let status = WorkflowExecutionStatus::ALL[usize::from(row.status)];
    let mut search_attributes = SearchAttributes::new();
    if let Some(tier) = row.tier {
        search_attributes.insert("Tier", SearchAttributeValue::Keyword(format!("t{tier}")));
    }
    if let Some(score) = row.score {
        search_attributes.insert("Score", SearchAttributeValue::Int(i64::from(score)));
    }
    if let Some(since) = row.since {
        search_attributes.insert(
            "Since",
            SearchAttributeValue::Datetime(
                T0.saturating_add(Duration::from_secs(u64::from(since))),
            ),
        );
    }
    if let Some(tag) = row.tags {
        search_attributes.insert(
            "Tags",
            SearchAttributeValue::KeywordList(vec![format!("x{tag}"), "y".into()]),
        );
    }
    VisibilityRow {
        execution: ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new(IDS[usize::from(row.id)]).unwrap(),
            run_id: RunId::from_u128(u128::from(row.run) + 1),
        },
        workflow_type: WorkflowType::new(TYPES[usize::from(row.workflow_type)]).unwrap(),
        task_queue: TaskQueueName::new("q").unwrap(),
        status,
        start_time: T0.saturating_add(Duration::from_secs(u64::from(row.start))),
        close_time: row
            .close
            .filter(|_| status.is_closed())
            .map(|close| T0.saturating_add(Duration::from_secs(u64::from(close)))),
        memo: Default::default(),
        search_attributes,
    }
}

/// Writes `rows` (later ones of the same run replace earlier ones) through commits.
async fn load<S: Storage>(store: &S, rows: &[VisibilityRow]) {
    let range = store.acquire_shard(ShardId(0)).await.unwrap();
    let mut versions = std::collections::BTreeMap::new();
    for row in rows {
        let version: &mut u64 = versions.entry(row.execution.clone()).or_default();
        let condition = match *version {
            0 => RunCondition::Create,
            stored => RunCondition::DbVersion(stored),
        };
        *version += 1;
        let write = WorkflowWrite {
            shard: ShardId(0),
            range_id: range,
            namespace: Namespace::default(),
            workflow_id: row.execution.workflow_id.clone(),
            runs: vec![RunWrite {
                condition,
                row: ExecutionRow {
                    key: row.execution.clone(),
                    shard: ShardId(0),
                    db_version: *version,
                    next_event_id: EventId::FIRST,
                    status: row.status,
                    state: Vec::new(),
                },
                history: Vec::new(),
                deadline: DeadlineUpdate::Keep,
                dispatch_inserts: Vec::new(),
                dispatch_deletes: Vec::new(),
                visibility: Some(row.clone()),
            }],
            current_run: None,
            request_ids: Vec::new(),
            deletion: None,
        };
        assert_eq!(store.commit(vec![write]).await.unwrap(), vec![Ok(())]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn filters_on_postgres_answer_as_the_model(
        rows in proptest::collection::vec(abstract_row(), 0..25),
        filters in proptest::collection::vec((filter(), 0usize..4, 1usize..8), 1..20),
    ) {
        let Some(admin) = admin_url() else { return Ok(()) };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let rows: Vec<VisibilityRow> = rows.iter().map(concrete).collect();
            let memory = MemoryStorage::new();
            let postgres: PostgresStorage = fresh_store_at(&admin, PostgresOptions::default()).await;
            load(&memory, &rows).await;
            load(&postgres, &rows).await;
            for (text, offset, limit) in &filters {
                let query = VisibilityQuery::parse(text).unwrap();
                let namespace = Namespace::default();
                let expected = memory.list_visibility(&namespace, &query, *offset, *limit).await;
                let actual = postgres.list_visibility(&namespace, &query, *offset, *limit).await;
                assert_eq!(actual, expected, "list {text:?} offset {offset} limit {limit}");
                let expected = memory.count_visibility(&namespace, &query).await;
                let actual = postgres.count_visibility(&namespace, &query).await;
                assert_eq!(actual, expected, "count {text:?}");
            }
        });
    }
}
