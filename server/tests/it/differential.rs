//! The differential test: one random sequence of operations on the in-memory model and on
//! the redb store must give identical answers, rejections included.

use std::time::Duration;

use endure_core::history::{EventAttributes, HistoryEvent, TimerFiredEventAttributes};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{
    EventId, Namespace, RequestId, RunId, TaskQueueName, TimerId, WorkflowExecutionStatus,
    WorkflowId, WorkflowType,
};
use endure_server::storage::{MemoryStorage, RedbStorage};
use proptest::prelude::*;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

#[derive(Clone, Debug)]
pub(crate) struct AbstractRun {
    run: u8,
    /// `None`: create; `Some(v)`: expect db version v.
    version: Option<u8>,
    first_event: u8,
    events: u8,
    deadline: Option<Option<u16>>,
    dispatch_insert: Option<u8>,
    dispatch_delete: Option<u8>,
    visible: Option<u8>,
}

/// A workflow write: workflow index, stale range?, runs, current-run change
/// (expected run, new run), request id.
type AbstractWrite = (
    u8,
    bool,
    Vec<AbstractRun>,
    Option<(Option<u8>, u8)>,
    Option<u8>,
);

#[derive(Clone, Debug)]
pub(crate) enum Operation {
    AcquireShard(u8),
    Commit(Vec<AbstractWrite>),
    LoadExecution(u8, u8),
    CurrentRun(u8),
    ReadHistory(u8, u8, u8),
    DueDeadlines(u8, u16, u8),
    DispatchRows(u8),
    FindRequest(u8, u8),
    List(u8, u8, u8),
    Count(u8),
}

fn abstract_run() -> impl Strategy<Value = AbstractRun> {
    (
        0u8..3,
        proptest::option::of(0u8..4),
        1u8..6,
        0u8..3,
        proptest::option::of(proptest::option::of(0u16..500)),
        proptest::option::of(0u8..6),
        proptest::option::of(0u8..6),
        proptest::option::of(0u8..3),
    )
        .prop_map(
            |(
                run,
                version,
                first_event,
                events,
                deadline,
                dispatch_insert,
                dispatch_delete,
                visible,
            )| AbstractRun {
                run,
                version,
                first_event,
                events,
                deadline,
                dispatch_insert,
                dispatch_delete,
                visible,
            },
        )
}

pub(crate) fn operation() -> impl Strategy<Value = Operation> {
    let write = (
        0u8..4,
        any::<bool>(),
        proptest::collection::vec(abstract_run(), 1..3),
        proptest::option::of((proptest::option::of(0u8..3), 0u8..3)),
        proptest::option::of(0u8..3),
    );
    prop_oneof![
        2 => (0u8..2).prop_map(Operation::AcquireShard),
        8 => proptest::collection::vec(write, 1..4).prop_map(Operation::Commit),
        2 => (0u8..4, 0u8..3).prop_map(|(w, r)| Operation::LoadExecution(w, r)),
        1 => (0u8..4).prop_map(Operation::CurrentRun),
        2 => (0u8..4, 0u8..3, 1u8..6).prop_map(|(w, r, f)| Operation::ReadHistory(w, r, f)),
        2 => (0u8..2, 0u16..600, 1u8..5).prop_map(|(s, t, l)| Operation::DueDeadlines(s, t, l)),
        1 => (1u8..5).prop_map(Operation::DispatchRows),
        1 => (0u8..4, 0u8..3).prop_map(|(w, r)| Operation::FindRequest(w, r)),
        1 => (0u8..4, 0u8..3, 1u8..4).prop_map(|(q, o, l)| Operation::List(q, o, l)),
        1 => (0u8..4).prop_map(Operation::Count),
    ]
}

fn workflow_id(index: u8) -> WorkflowId {
    WorkflowId::new(format!("wf-{index}")).unwrap()
}

fn shard_of_workflow(index: u8) -> ShardId {
    ShardId(u32::from(index % 2))
}

fn execution(workflow: u8, run: u8) -> ExecutionKey {
    ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: workflow_id(workflow),
        run_id: RunId::from_u128(u128::from(run) + 1),
    }
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("q").unwrap()
}

/// Event `id`: a fired timer whose id is 1, 201 or 401 bytes long, so a run's history
/// passes the redb store's tail limit within a few writes and spills into batches.
fn event(id: u64) -> HistoryEvent {
    HistoryEvent {
        event_id: EventId::new(id).unwrap(),
        event_time: T0,
        attributes: EventAttributes::TimerFired(TimerFiredEventAttributes {
            timer_id: TimerId::new("t".repeat(1 + 200 * (id % 3) as usize)).unwrap(),
            started_event_id: EventId::FIRST,
        }),
    }
}

fn concrete_run(workflow: u8, run: &AbstractRun) -> RunWrite {
    let key = execution(workflow, run.run);
    let first = u64::from(run.first_event);
    let count = u64::from(run.events);
    let status = if run.events == 2 {
        WorkflowExecutionStatus::Completed
    } else {
        WorkflowExecutionStatus::Running
    };
    RunWrite {
        condition: run.version.map_or(RunCondition::Create, |v| {
            RunCondition::DbVersion(u64::from(v))
        }),
        row: ExecutionRow {
            key: key.clone(),
            shard: shard_of_workflow(workflow),
            db_version: run.version.map_or(1, |v| u64::from(v) + 1),
            next_event_id: EventId::new(first + count).unwrap(),
            status,
            state: vec![run.first_event, run.events],
        },
        history: (first..first + count).map(event).collect(),
        deadline: match run.deadline {
            None => DeadlineUpdate::Keep,
            Some(None) => DeadlineUpdate::Clear,
            Some(Some(seconds)) => {
                DeadlineUpdate::Set(T0.saturating_add(Duration::from_secs(u64::from(seconds))))
            }
        },
        dispatch_inserts: run
            .dispatch_insert
            .map(|task_id| DispatchRow {
                namespace: Namespace::default(),
                task_queue: queue(),
                task_id: u64::from(task_id),
                execution: key.clone(),
                task: DispatchTask::WorkflowTask {
                    scheduled_event_id: EventId::FIRST,
                    attempt: 1,
                },
                directive: None,
            })
            .into_iter()
            .collect(),
        dispatch_deletes: run
            .dispatch_delete
            .map(|task_id| DispatchKey {
                namespace: Namespace::default(),
                task_queue: queue(),
                task_id: u64::from(task_id),
            })
            .into_iter()
            .collect(),
        visibility: run.visible.map(|type_index| VisibilityRow {
            execution: key.clone(),
            workflow_type: WorkflowType::new(format!("T{type_index}")).unwrap(),
            task_queue: queue(),
            status,
            start_time: T0.saturating_add(Duration::from_secs(u64::from(run.first_event))),
            close_time: None,
            memo: Default::default(),
            search_attributes: Default::default(),
        }),
    }
}

/// What one operation answered, comparable across adapters.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    Range(Result<RangeId, StorageError>),
    Commit(Result<Vec<Result<(), WriteRejection>>, StorageError>),
    Execution(Result<Option<ExecutionRow>, StorageError>),
    Current(Result<Option<CurrentRun>, StorageError>),
    History(Result<HistoryPage, StorageError>),
    Deadlines(Result<Vec<DeadlineRow>, StorageError>),
    Dispatch(Result<Vec<DispatchRow>, StorageError>),
    Request(Result<Option<RequestRecord>, StorageError>),
    List(Result<Vec<VisibilityRow>, StorageError>),
    Count(Result<u64, StorageError>),
}

fn query(index: u8) -> VisibilityQuery {
    match index % 4 {
        0 => VisibilityQuery::default(),
        1 => VisibilityQuery {
            status: Some(WorkflowExecutionStatus::Completed),
            ..Default::default()
        },
        2 => VisibilityQuery {
            workflow_type: Some(WorkflowType::new("T1").unwrap()),
            ..Default::default()
        },
        _ => VisibilityQuery {
            started_after: Some(T0.saturating_add(Duration::from_secs(3))),
            ..Default::default()
        },
    }
}

pub(crate) async fn perform<S: Storage>(
    store: &S,
    ranges: &mut [RangeId; 2],
    operation: &Operation,
) -> Answer {
    match operation {
        Operation::AcquireShard(shard) => {
            let result = store.acquire_shard(ShardId(u32::from(*shard))).await;
            if let Ok(range) = result {
                ranges[usize::from(*shard)] = range;
            }
            Answer::Range(result)
        }
        Operation::Commit(writes) => {
            let writes = writes
                .iter()
                .map(|(workflow, stale, runs, current, request)| {
                    let shard = shard_of_workflow(*workflow);
                    let range = ranges[shard.0 as usize];
                    WorkflowWrite {
                        shard,
                        range_id: if *stale {
                            RangeId(range.0.saturating_sub(1))
                        } else {
                            range
                        },
                        namespace: Namespace::default(),
                        workflow_id: workflow_id(*workflow),
                        runs: runs
                            .iter()
                            .map(|run| concrete_run(*workflow, run))
                            .collect(),
                        current_run: current.map(|(expected, new)| CurrentRunWrite {
                            expected: expected.map(|run| RunId::from_u128(u128::from(run) + 1)),
                            new: CurrentRun {
                                run_id: RunId::from_u128(u128::from(new) + 1),
                                status: WorkflowExecutionStatus::Running,
                                start_request_id: None,
                            },
                        }),
                        request_ids: request
                            .map(|request| RequestRecord {
                                namespace: Namespace::default(),
                                workflow_id: workflow_id(*workflow),
                                request_id: RequestId::new(format!("r{request}")).unwrap(),
                                run_id: RunId::from_u128(1),
                            })
                            .into_iter()
                            .collect(),
                        deletion: None,
                    }
                })
                .collect();
            Answer::Commit(store.commit(writes).await)
        }
        Operation::LoadExecution(workflow, run) => {
            Answer::Execution(store.load_execution(&execution(*workflow, *run)).await)
        }
        Operation::CurrentRun(workflow) => Answer::Current(
            store
                .current_run(&Namespace::default(), &workflow_id(*workflow))
                .await,
        ),
        Operation::ReadHistory(workflow, run, first) => Answer::History(
            store
                .read_history(
                    &execution(*workflow, *run),
                    EventId::new(u64::from(*first)).unwrap(),
                )
                .await,
        ),
        Operation::DueDeadlines(shard, seconds, limit) => Answer::Deadlines(
            store
                .due_deadlines(
                    ShardId(u32::from(*shard)),
                    T0.saturating_add(Duration::from_secs(u64::from(*seconds))),
                    usize::from(*limit),
                )
                .await,
        ),
        Operation::DispatchRows(limit) => Answer::Dispatch(
            store
                .dispatch_rows(&Namespace::default(), &queue(), usize::from(*limit))
                .await,
        ),
        Operation::FindRequest(workflow, request) => Answer::Request(
            store
                .find_request(
                    &Namespace::default(),
                    &workflow_id(*workflow),
                    &RequestId::new(format!("r{request}")).unwrap(),
                )
                .await,
        ),
        Operation::List(index, offset, limit) => Answer::List(
            store
                .list_visibility(
                    &Namespace::default(),
                    &query(*index),
                    usize::from(*offset),
                    usize::from(*limit),
                )
                .await,
        ),
        Operation::Count(index) => Answer::Count(
            store
                .count_visibility(&Namespace::default(), &query(*index))
                .await,
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn memory_and_redb_give_identical_answers(operations in proptest::collection::vec(operation(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let directory = tempfile::tempdir().unwrap();
            let memory = MemoryStorage::new();
            let redb = RedbStorage::open(directory.path().join("store.redb")).unwrap();
            let mut memory_ranges = [RangeId(0); 2];
            let mut redb_ranges = [RangeId(0); 2];
            for (index, operation) in operations.iter().enumerate() {
                let expected = perform(&memory, &mut memory_ranges, operation).await;
                let actual = perform(&redb, &mut redb_ranges, operation).await;
                assert_eq!(actual, expected, "operation {index}: {operation:?}");
            }
        });
    }
}
