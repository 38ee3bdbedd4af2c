//! The contract of the Storage port, as `pub` checks every adapter runs (aesthetics
//! convention 11). An adapter is done when [`run_all`] passes against it.
//!
//! Each check takes a fresh, empty store and panics with a message naming the broken rule.

mod deletion;
mod history_growth;
mod leases;
mod namespaces;
mod numbered;
mod visibility;

use std::time::Duration;

use endure_core::history::{
    EventAttributes, HistoryEvent, WorkflowExecutionSignaledEventAttributes,
};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{
    EventId, Header, Namespace, Payload, Payloads, RequestId, RunId, SearchAttributeValue,
    SearchAttributes, SignalName, TaskQueueName, WorkflowExecutionStatus, WorkflowId, WorkflowType,
};

pub use deletion::deleting_a_run_removes_what_names_it;
pub use history_growth::history_reads_whole_across_its_writes;
pub use leases::run_cluster;
pub use namespaces::namespaces_are_versioned;
pub use numbered::{numbered_key, numbered_presence, numbered_write};
pub use visibility::visibility_filters;

/// Runs every check, each on a new store from `make`.
pub async fn run_all<S: Storage, F: Fn() -> S>(make: F) {
    stale_versions_and_ranges_write_nothing(&make()).await;
    current_run_conditions(&make()).await;
    two_runs_in_one_write(&make()).await;
    request_ids_deduplicate(&make()).await;
    history_pages(&make()).await;
    history_reads_whole_across_its_writes(&make()).await;
    due_deadline_scans(&make()).await;
    dispatch_rows_in_order(&make()).await;
    visibility_filters(&make()).await;
    writes_of_one_commit_are_independent(&make()).await;
    writes_of_one_run_in_one_commit_build_on_each_other(&make()).await;
    namespaces_are_versioned(&make()).await;
    shard_count_is_fixed_by_the_first_call(&make()).await;
    shard_count_of_a_store_from_before_it_was_kept(&make()).await;
    deleting_a_run_removes_what_names_it(&make()).await;
}

/// 2026-11-28T10:00:00Z.
const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

fn namespace() -> Namespace {
    Namespace::default()
}

fn workflow_id(name: &str) -> WorkflowId {
    WorkflowId::new(name).expect("valid id")
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").expect("valid queue")
}

/// Run `run` of workflow `name` in the default namespace.
pub fn key(name: &str, run: u128) -> ExecutionKey {
    ExecutionKey {
        namespace: namespace(),
        workflow_id: workflow_id(name),
        run_id: RunId::from_u128(run),
    }
}

/// Signal events `first..first+count`, each carrying `payload_bytes` bytes.
pub fn events(first: u64, count: u64, payload_bytes: usize) -> Vec<HistoryEvent> {
    (first..first + count)
        .map(|id| HistoryEvent {
            event_id: EventId::new(id).expect("positive"),
            event_time: T0,
            attributes: EventAttributes::WorkflowExecutionSignaled(
                WorkflowExecutionSignaledEventAttributes {
                    signal_name: SignalName::new("s").expect("valid"),
                    input: Payloads::one(Payload::binary(vec![7; payload_bytes])),
                    identity: String::new(),
                    header: Header::new(),
                    request_id: None,
                    external_workflow_execution: None,
                },
            ),
        })
        .collect()
}

fn row(key: &ExecutionKey, shard: ShardId, db_version: u64, next_event_id: u64) -> ExecutionRow {
    ExecutionRow {
        key: key.clone(),
        shard,
        db_version,
        next_event_id: EventId::new(next_event_id).expect("positive"),
        status: WorkflowExecutionStatus::Running,
        state: vec![db_version as u8; 3],
    }
}

/// A run write appending `count` events after a stored `next_event_id - 1` events.
pub fn run_write(
    key: &ExecutionKey,
    shard: ShardId,
    condition: RunCondition,
    first: u64,
    count: u64,
) -> RunWrite {
    let db_version = match condition {
        RunCondition::Create => 1,
        RunCondition::DbVersion(version) => version + 1,
    };
    RunWrite {
        condition,
        row: row(key, shard, db_version, first + count),
        history: events(first, count, 8),
        deadline: DeadlineUpdate::Keep,
        dispatch_inserts: Vec::new(),
        dispatch_deletes: Vec::new(),
        visibility: None,
    }
}

/// A write of `runs` of workflow `name` under shard `shard`'s lease `range_id`.
pub fn write(shard: ShardId, range_id: RangeId, name: &str, runs: Vec<RunWrite>) -> WorkflowWrite {
    WorkflowWrite {
        shard,
        range_id,
        namespace: namespace(),
        workflow_id: workflow_id(name),
        runs,
        current_run: None,
        request_ids: Vec::new(),
        deletion: None,
    }
}

async fn commit_one<S: Storage>(store: &S, write: WorkflowWrite) -> Result<(), WriteRejection> {
    let mut results = store.commit(vec![write]).await.expect("commit succeeds");
    assert_eq!(results.len(), 1, "one result per write");
    results.remove(0)
}

/// A write with a stale db version or a stale range id writes nothing at all.
pub async fn stale_versions_and_ranges_write_nothing<S: Storage>(store: &S) {
    let shard = ShardId(0);
    let first_range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("wf", 1);
    commit_one(
        store,
        write(
            shard,
            first_range,
            "wf",
            vec![run_write(&run, shard, RunCondition::Create, 1, 3)],
        ),
    )
    .await
    .expect("create");
    let stored = store
        .load_execution(&run)
        .await
        .expect("load")
        .expect("present");
    assert_eq!(stored.db_version, 1);
    assert_eq!(stored.next_event_id.get(), 4);

    let stale = commit_one(
        store,
        write(
            shard,
            first_range,
            "wf",
            vec![run_write(&run, shard, RunCondition::DbVersion(0), 4, 1)],
        ),
    )
    .await;
    assert!(
        matches!(
            stale,
            Err(WriteRejection::ExecutionConditionFailed {
                actual: Some(1),
                ..
            })
        ),
        "{stale:?}"
    );
    let duplicate_create = commit_one(
        store,
        write(
            shard,
            first_range,
            "wf",
            vec![run_write(&run, shard, RunCondition::Create, 1, 1)],
        ),
    )
    .await;
    assert!(matches!(
        duplicate_create,
        Err(WriteRejection::ExecutionConditionFailed { expected: None, .. })
    ));

    let second_range = store.acquire_shard(shard).await.expect("acquire again");
    assert!(
        second_range > first_range,
        "a new lease has a larger range id"
    );
    let fenced = commit_one(
        store,
        write(
            shard,
            first_range,
            "wf",
            vec![run_write(&run, shard, RunCondition::DbVersion(1), 4, 1)],
        ),
    )
    .await;
    assert!(
        matches!(fenced, Err(WriteRejection::ShardOwnershipLost { .. })),
        "{fenced:?}"
    );
    let page = store
        .read_history(&run, EventId::FIRST)
        .await
        .expect("read");
    assert_eq!(page.events.len(), 3, "rejected writes appended nothing");
    assert_eq!(
        store
            .load_execution(&run)
            .await
            .expect("load")
            .expect("present")
            .db_version,
        1
    );

    let gap = commit_one(
        store,
        write(
            shard,
            second_range,
            "wf",
            vec![run_write(&run, shard, RunCondition::DbVersion(1), 5, 1)],
        ),
    )
    .await;
    assert!(
        matches!(gap, Err(WriteRejection::Malformed(_))),
        "history must continue at next_event_id: {gap:?}"
    );
    commit_one(
        store,
        write(
            shard,
            second_range,
            "wf",
            vec![run_write(&run, shard, RunCondition::DbVersion(1), 4, 1)],
        ),
    )
    .await
    .expect("the new owner writes");
    let page = store
        .read_history(&run, EventId::FIRST)
        .await
        .expect("read");
    let ids: Vec<u64> = page
        .events
        .iter()
        .map(|event| event.event_id.get())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}

/// The current-run row changes only from the value the write expects.
pub async fn current_run_conditions<S: Storage>(store: &S) {
    let shard = ShardId(1);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let first = key("order", 1);
    let current = |run_id: u128, expected: Option<u128>| CurrentRunWrite {
        expected: expected.map(RunId::from_u128),
        new: CurrentRun {
            run_id: RunId::from_u128(run_id),
            status: WorkflowExecutionStatus::Running,
            start_request_id: None,
        },
    };
    let mut create = write(
        shard,
        range,
        "order",
        vec![run_write(&first, shard, RunCondition::Create, 1, 1)],
    );
    create.current_run = Some(current(1, None));
    commit_one(store, create).await.expect("first run");
    let mut conflicting = write(
        shard,
        range,
        "order",
        vec![run_write(
            &key("order", 2),
            shard,
            RunCondition::Create,
            1,
            1,
        )],
    );
    conflicting.current_run = Some(current(2, None));
    let result = commit_one(store, conflicting).await;
    assert_eq!(
        result,
        Err(WriteRejection::CurrentRunConditionFailed {
            expected: None,
            actual: Some(RunId::from_u128(1))
        })
    );
    assert!(
        store
            .load_execution(&key("order", 2))
            .await
            .expect("load")
            .is_none(),
        "the rejected run was not created"
    );
    let current_run = store
        .current_run(&namespace(), &workflow_id("order"))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(current_run.run_id, RunId::from_u128(1));
    assert!(
        store
            .current_run(&namespace(), &workflow_id("never"))
            .await
            .expect("read")
            .is_none()
    );
}

/// Closing one run and creating the next happen in one write, with the current run moved.
pub async fn two_runs_in_one_write<S: Storage>(store: &S) {
    let shard = ShardId(2);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let old = key("chain", 1);
    let new = key("chain", 2);
    let mut create = write(
        shard,
        range,
        "chain",
        vec![run_write(&old, shard, RunCondition::Create, 1, 2)],
    );
    create.current_run = Some(CurrentRunWrite {
        expected: None,
        new: CurrentRun {
            run_id: old.run_id,
            status: WorkflowExecutionStatus::Running,
            start_request_id: None,
        },
    });
    commit_one(store, create).await.expect("first run");
    let mut close = run_write(&old, shard, RunCondition::DbVersion(1), 3, 1);
    close.row.status = WorkflowExecutionStatus::ContinuedAsNew;
    let mut both = write(
        shard,
        range,
        "chain",
        vec![close, run_write(&new, shard, RunCondition::Create, 1, 2)],
    );
    both.current_run = Some(CurrentRunWrite {
        expected: Some(old.run_id),
        new: CurrentRun {
            run_id: new.run_id,
            status: WorkflowExecutionStatus::Running,
            start_request_id: None,
        },
    });
    commit_one(store, both).await.expect("close and continue");
    let closed = store
        .load_execution(&old)
        .await
        .expect("load")
        .expect("present");
    assert_eq!(closed.status, WorkflowExecutionStatus::ContinuedAsNew);
    assert!(store.load_execution(&new).await.expect("load").is_some());
    let current = store
        .current_run(&namespace(), &workflow_id("chain"))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(current.run_id, new.run_id);
    let three = write(
        shard,
        range,
        "chain",
        vec![
            run_write(&key("chain", 3), shard, RunCondition::Create, 1, 1),
            run_write(&key("chain", 4), shard, RunCondition::Create, 1, 1),
            run_write(&key("chain", 5), shard, RunCondition::Create, 1, 1),
        ],
    );
    assert!(
        matches!(
            commit_one(store, three).await,
            Err(WriteRejection::Malformed(_))
        ),
        "at most two runs per write"
    );
}

/// A recorded request id is found again, and recording it twice rejects the second write.
pub async fn request_ids_deduplicate<S: Storage>(store: &S) {
    let shard = ShardId(3);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("signalled", 1);
    let record = RequestRecord {
        namespace: namespace(),
        workflow_id: workflow_id("signalled"),
        request_id: RequestId::new("signal-1").expect("valid"),
        run_id: run.run_id,
    };
    let mut first = write(
        shard,
        range,
        "signalled",
        vec![run_write(&run, shard, RunCondition::Create, 1, 1)],
    );
    first.request_ids.push(record.clone());
    commit_one(store, first).await.expect("recorded");
    let found = store
        .find_request(&namespace(), &workflow_id("signalled"), &record.request_id)
        .await
        .expect("read");
    assert_eq!(found, Some(record.clone()));
    let mut again = write(
        shard,
        range,
        "signalled",
        vec![run_write(&run, shard, RunCondition::DbVersion(1), 2, 1)],
    );
    again.request_ids.push(record.clone());
    assert_eq!(
        commit_one(store, again).await,
        Err(WriteRejection::DuplicateRequestId(record))
    );
    assert_eq!(
        store
            .load_execution(&run)
            .await
            .expect("load")
            .expect("present")
            .db_version,
        1
    );
}

/// History reads page at about 1 MiB and continue where they stopped.
pub async fn history_pages<S: Storage>(store: &S) {
    let shard = ShardId(4);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("long", 1);
    // Three batches of 40 events of ~64 KiB: about 7.5 MiB in all.
    let mut next = 1;
    for (index, condition) in [
        RunCondition::Create,
        RunCondition::DbVersion(1),
        RunCondition::DbVersion(2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut run_write = run_write(&run, shard, condition, next, 40);
        run_write.history = events(next, 40, 64 * 1024);
        commit_one(store, write(shard, range, "long", vec![run_write]))
            .await
            .unwrap_or_else(|e| panic!("batch {index}: {e}"));
        next += 40;
    }
    let mut all = Vec::new();
    let mut from = EventId::FIRST;
    let mut pages = 0;
    loop {
        let page = store.read_history(&run, from).await.expect("read");
        pages += 1;
        assert!(!page.events.is_empty(), "every page makes progress");
        let page_bytes: usize = page
            .events
            .iter()
            .map(endure_core::codec::encoded_size)
            .sum();
        assert!(
            page_bytes <= HISTORY_PAGE_BYTES_MAX + 70 * 1024,
            "a page is about 1 MiB, not {page_bytes}"
        );
        assert_eq!(page.events[0].event_id, from, "a page starts where asked");
        all.extend(page.events.iter().map(|event| event.event_id.get()));
        match page.next_event_id {
            Some(next_event_id) => from = next_event_id,
            None => break,
        }
        assert!(pages < 100, "paging does not end");
    }
    assert_eq!(all, (1..=120).collect::<Vec<_>>());
    assert!(pages >= 7, "{pages} pages for 7.5 MiB");
    let middle = store
        .read_history(&run, EventId::new(55).expect("positive"))
        .await
        .expect("read");
    assert_eq!(
        middle.events[0].event_id.get(),
        55,
        "reading can start inside a batch"
    );
}

/// A shard's due deadlines come earliest first; moving or clearing a deadline removes the
/// old one, setting it to the time it has leaves one row, and a write that keeps it keeps
/// the row a later move then moves.
pub async fn due_deadline_scans<S: Storage>(store: &S) {
    let shard = ShardId(5);
    let other_shard = ShardId(6);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let other_range = store.acquire_shard(other_shard).await.expect("acquire");
    let at = |seconds: u64| T0.saturating_add(Duration::from_secs(seconds));
    for (name, seconds) in [("late", 300), ("early", 10), ("middle", 60)] {
        let mut run = run_write(&key(name, 1), shard, RunCondition::Create, 1, 1);
        run.deadline = DeadlineUpdate::Set(at(seconds));
        commit_one(store, write(shard, range, name, vec![run]))
            .await
            .expect("write");
    }
    let mut elsewhere = run_write(
        &key("elsewhere", 1),
        other_shard,
        RunCondition::Create,
        1,
        1,
    );
    elsewhere.deadline = DeadlineUpdate::Set(at(1));
    commit_one(
        store,
        write(other_shard, other_range, "elsewhere", vec![elsewhere]),
    )
    .await
    .expect("write");

    let due = store.due_deadlines(shard, at(100), 10).await.expect("scan");
    let names: Vec<&str> = due
        .iter()
        .map(|row| row.execution.workflow_id.as_str())
        .collect();
    assert_eq!(
        names,
        ["early", "middle"],
        "due rows of this shard only, earliest first"
    );
    assert_eq!(
        store
            .due_deadlines(shard, at(1000), 1)
            .await
            .expect("scan")
            .len(),
        1,
        "the limit holds"
    );

    let mut moved = run_write(&key("early", 1), shard, RunCondition::DbVersion(1), 2, 0);
    moved.deadline = DeadlineUpdate::Set(at(500));
    commit_one(store, write(shard, range, "early", vec![moved]))
        .await
        .expect("move");
    // Set again to the time it has: still one row, at that time.
    let mut same = run_write(&key("early", 1), shard, RunCondition::DbVersion(2), 2, 0);
    same.deadline = DeadlineUpdate::Set(at(500));
    commit_one(store, write(shard, range, "early", vec![same]))
        .await
        .expect("same time");
    let mut cleared = run_write(&key("middle", 1), shard, RunCondition::DbVersion(1), 2, 0);
    cleared.deadline = DeadlineUpdate::Clear;
    commit_one(store, write(shard, range, "middle", vec![cleared]))
        .await
        .expect("clear");
    let rows = due_rows(store, shard, at(1000)).await;
    assert_eq!(rows, [("late".into(), at(300)), ("early".into(), at(500))]);

    // A write that keeps the deadline leaves it where it is; moving it afterwards moves
    // that one row (nothing of the first time is left behind).
    let kept = run_write(&key("late", 1), shard, RunCondition::DbVersion(1), 2, 0);
    assert_eq!(kept.deadline, DeadlineUpdate::Keep);
    commit_one(store, write(shard, range, "late", vec![kept]))
        .await
        .expect("keep");
    let mut moved = run_write(&key("late", 1), shard, RunCondition::DbVersion(2), 2, 0);
    moved.deadline = DeadlineUpdate::Set(at(700));
    commit_one(store, write(shard, range, "late", vec![moved]))
        .await
        .expect("move after keep");
    let rows = due_rows(store, shard, at(1000)).await;
    assert_eq!(rows, [("early".into(), at(500)), ("late".into(), at(700))]);
}

/// The due deadline rows of `shard` up to `until`: workflow id and time, earliest first.
async fn due_rows<S: Storage>(
    store: &S,
    shard: ShardId,
    until: Timestamp,
) -> Vec<(String, Timestamp)> {
    store
        .due_deadlines(shard, until, 10)
        .await
        .expect("scan")
        .into_iter()
        .map(|row| (row.execution.workflow_id.as_str().to_owned(), row.time))
        .collect()
}

/// Backlog rows come back per queue in task-id order and go when deleted.
pub async fn dispatch_rows_in_order<S: Storage>(store: &S) {
    let shard = ShardId(7);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("queued", 1);
    let dispatch = |task_id: u64, queue: &str| DispatchRow {
        namespace: namespace(),
        task_queue: TaskQueueName::new(queue).expect("valid"),
        task_id,
        execution: run.clone(),
        task: DispatchTask::ActivityTask {
            scheduled_event_id: EventId::FIRST,
            attempt: 1,
        },
        directive: None,
    };
    let mut first = run_write(&run, shard, RunCondition::Create, 1, 1);
    first.dispatch_inserts = vec![
        dispatch(30, "orders"),
        dispatch(10, "orders"),
        dispatch(20, "other"),
    ];
    commit_one(store, write(shard, range, "queued", vec![first]))
        .await
        .expect("insert");
    let rows = store
        .dispatch_rows(&namespace(), &queue(), 10)
        .await
        .expect("read");
    assert_eq!(
        rows.iter().map(|row| row.task_id).collect::<Vec<_>>(),
        [10, 30]
    );
    let mut taken = run_write(&run, shard, RunCondition::DbVersion(1), 2, 0);
    taken.dispatch_deletes = vec![dispatch(10, "orders").key()];
    commit_one(store, write(shard, range, "queued", vec![taken]))
        .await
        .expect("delete");
    let rows = store
        .dispatch_rows(&namespace(), &queue(), 10)
        .await
        .expect("read");
    assert_eq!(rows, [dispatch(30, "orders")]);
}

/// In one commit, a rejected write does not affect the others, and later writes see earlier ones.
pub async fn writes_of_one_commit_are_independent<S: Storage>(store: &S) {
    let shard = ShardId(9);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("batched", 1);
    let results = store
        .commit(vec![
            write(
                shard,
                range,
                "batched",
                vec![run_write(&run, shard, RunCondition::Create, 1, 1)],
            ),
            write(
                shard,
                range,
                "batched",
                vec![run_write(&run, shard, RunCondition::Create, 1, 1)],
            ),
            write(
                shard,
                range,
                "batched",
                vec![run_write(&run, shard, RunCondition::DbVersion(1), 2, 1)],
            ),
            write(
                shard,
                RangeId(range.0 + 1),
                "other",
                vec![run_write(
                    &key("other", 1),
                    shard,
                    RunCondition::Create,
                    1,
                    1,
                )],
            ),
        ])
        .await
        .expect("commit");
    assert!(results[0].is_ok());
    assert!(
        matches!(
            results[1],
            Err(WriteRejection::ExecutionConditionFailed { .. })
        ),
        "{:?}",
        results[1]
    );
    assert!(
        results[2].is_ok(),
        "a later write sees an earlier one: {:?}",
        results[2]
    );
    assert!(matches!(
        results[3],
        Err(WriteRejection::ShardOwnershipLost { .. })
    ));
    assert_eq!(
        store
            .load_execution(&run)
            .await
            .expect("load")
            .expect("present")
            .db_version,
        2
    );
    assert!(
        store
            .load_execution(&key("other", 1))
            .await
            .expect("load")
            .is_none()
    );
}

/// Writes of one run in one commit each start from the one before: its row's version, its
/// history's tail and its deadline (a store may keep what a write's check read for its put;
/// the put before must not leave that stale).
pub async fn writes_of_one_run_in_one_commit_build_on_each_other<S: Storage>(store: &S) {
    let shard = ShardId(10);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("chained", 1);
    let at = |seconds: u64| T0.saturating_add(Duration::from_secs(seconds));
    let step = |version: u64, deadline: DeadlineUpdate| {
        let mut step = run_write(
            &run,
            shard,
            RunCondition::DbVersion(version),
            version + 1,
            1,
        );
        step.deadline = deadline;
        write(shard, range, "chained", vec![step])
    };
    let mut first = run_write(&run, shard, RunCondition::Create, 1, 1);
    first.deadline = DeadlineUpdate::Set(at(30));
    let results = store
        .commit(vec![
            write(shard, range, "chained", vec![first]),
            step(1, DeadlineUpdate::Set(at(20))),
            // Stale: checked against version 2 (read after the put before), rejected.
            step(1, DeadlineUpdate::Clear),
            step(2, DeadlineUpdate::Keep),
            step(3, DeadlineUpdate::Set(at(10))),
        ])
        .await
        .expect("commit");
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    assert!(
        matches!(
            results[2],
            Err(WriteRejection::ExecutionConditionFailed { .. })
        ),
        "{:?}",
        results[2]
    );
    assert!(results[3].is_ok() && results[4].is_ok(), "{results:?}");
    let stored = store
        .load_execution(&run)
        .await
        .expect("load")
        .expect("present");
    assert_eq!(stored.db_version, 4);
    let history = store
        .read_history(&run, EventId::FIRST)
        .await
        .expect("history");
    assert_eq!(
        history
            .events
            .iter()
            .map(|event| event.event_id.get())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "each write's event follows the one before"
    );
    assert_eq!(
        due_rows(store, shard, at(100)).await,
        [("chained".into(), at(10))],
        "one deadline row, the last write's"
    );
}

/// The first call fixes a new store's shard count; later proposals change nothing.
pub async fn shard_count_is_fixed_by_the_first_call<S: Storage>(store: &S) {
    assert_eq!(store.shard_count(32).await.expect("count"), 32);
    assert_eq!(
        store.shard_count(4).await.expect("count"),
        32,
        "a store keeps the count it was created with"
    );
    store.acquire_shard(ShardId(0)).await.expect("acquire");
    assert_eq!(store.shard_count(1).await.expect("count"), 32);
}

/// A store whose shards were leased before any count was recorded reports the shards it
/// holds, so its workflow ids keep mapping where they were written.
pub async fn shard_count_of_a_store_from_before_it_was_kept<S: Storage>(store: &S) {
    for shard in 0..4 {
        store.acquire_shard(ShardId(shard)).await.expect("acquire");
    }
    assert_eq!(store.shard_count(32).await.expect("count"), 4);
    assert_eq!(store.shard_count(16).await.expect("count"), 4);
}
