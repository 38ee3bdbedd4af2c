//! Numbered writes for crash tests: write `index` creates one run with a few events, a
//! deadline, a backlog row and a request id, so a crash that leaves it in part shows.

use endure_core::history::{EventAttributes, HistoryEvent, TimerFiredEventAttributes};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{
    EventId, Namespace, RequestId, RunId, TaskQueueName, TimerId, WorkflowExecutionStatus,
    WorkflowId,
};

/// Events in each numbered run.
const EVENTS_PER_RUN: u64 = 3;

/// The key of numbered run `index`.
pub fn numbered_key(index: u64) -> ExecutionKey {
    ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new(format!("crash-{index}")).expect("valid id"),
        run_id: RunId::from_u128(u128::from(index)),
    }
}

/// The request id of numbered run `index`.
fn request(index: u64) -> RequestId {
    RequestId::new(format!("request-{index}")).expect("valid id")
}

/// Numbered write `index`: it creates run `index` under the lease `range`.
pub fn numbered_write(index: u64, range: RangeId) -> WorkflowWrite {
    let key = numbered_key(index);
    let history = (1..=EVENTS_PER_RUN)
        .map(|id| HistoryEvent {
            event_id: EventId::new(id).expect("positive"),
            event_time: Timestamp::from_unix_seconds(index),
            attributes: EventAttributes::TimerFired(TimerFiredEventAttributes {
                timer_id: TimerId::new("t").expect("valid id"),
                started_event_id: EventId::FIRST,
            }),
        })
        .collect();
    WorkflowWrite {
        shard: ShardId(0),
        range_id: range,
        namespace: key.namespace.clone(),
        workflow_id: key.workflow_id.clone(),
        runs: vec![RunWrite {
            condition: RunCondition::Create,
            row: ExecutionRow {
                key: key.clone(),
                shard: ShardId(0),
                db_version: 1,
                next_event_id: EventId::new(EVENTS_PER_RUN + 1).expect("positive"),
                status: WorkflowExecutionStatus::Running,
                state: index.to_be_bytes().to_vec(),
            },
            history,
            deadline: DeadlineUpdate::Set(Timestamp::from_unix_seconds(index)),
            dispatch_inserts: vec![DispatchRow {
                namespace: key.namespace.clone(),
                task_queue: TaskQueueName::new("crash").expect("valid queue"),
                task_id: index,
                execution: key.clone(),
                task: DispatchTask::WorkflowTask {
                    scheduled_event_id: EventId::FIRST,
                    attempt: 1,
                },
                directive: None,
            }],
            dispatch_deletes: Vec::new(),
            visibility: None,
        }],
        current_run: None,
        request_ids: vec![RequestRecord {
            namespace: key.namespace.clone(),
            workflow_id: key.workflow_id,
            request_id: request(index),
            run_id: key.run_id,
        }],
        deletion: None,
    }
}

/// Whether run `index` of [`numbered_write`] is fully present (`Some(true)`), fully absent
/// (`Some(false)`), or partly present (`None`).
pub async fn numbered_presence<S: Storage>(store: &S, index: u64) -> Option<bool> {
    let key = numbered_key(index);
    let row = store
        .load_execution(&key)
        .await
        .expect("the store reads")
        .is_some();
    let events = store
        .read_history(&key, EventId::FIRST)
        .await
        .expect("the store reads")
        .events
        .len() as u64;
    let request = store
        .find_request(&key.namespace, &key.workflow_id, &request(index))
        .await
        .expect("the store reads")
        .is_some();
    match (row, events, request) {
        (true, EVENTS_PER_RUN, true) => Some(true),
        (false, 0, false) => Some(false),
        _ => None,
    }
}
