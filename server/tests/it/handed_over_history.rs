//! A workflow task sync-matched in a write is handed over with the events its worker lacks
//! when the shard has them at hand, instead of the poll reading back what was just written:
//! a new run's first task gets the write's events (the run's whole history); a sticky task
//! of a busy run gets its latest events after the worker's previous task. The handed-over
//! page must be exactly the page a read gives, event by event and cut for cut; a task whose
//! events are not all at hand (taken from the backlog, its run idle meanwhile, its events
//! too large to keep) still reads them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use endure_core::execution::{SignalRequest, StickyAttributes, WorkflowTaskCompletion};
use endure_core::history::{EventAttributes, EventType};
use endure_core::storage::{ExecutionKey, HISTORY_PAGE_BYTES_MAX, HistoryPage, Storage};
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;

use crate::hooked::{Hooked, Hooks};

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

/// Counts the history pages read from the store.
#[derive(Default)]
struct CountReads(AtomicUsize);

impl Hooks for CountReads {
    async fn before_read_history(&self, _: &ExecutionKey) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

type Store = Hooked<CountReads>;

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

async fn engine() -> (Arc<Store>, Engine<Store, ManualClock>) {
    let store = Arc::new(Hooked::new(CountReads::default()));
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Engine::with_ports(Arc::clone(&store), clock, EngineConfig::default())
        .await
        .unwrap();
    (store, engine)
}

fn start(id: &str, input: Payloads) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: Namespace::default(),
        options: StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
        workflow_type: WorkflowType::new("Order").unwrap(),
        input,
        header: Header::new(),
        identity: "client".into(),
    }
}

fn reads(store: &Store) -> usize {
    store.hooks.0.load(Ordering::SeqCst)
}

/// Polls while `id` starts, so the first task is sync-matched in the start's write.
async fn poll_while_starting(
    engine: &Engine<Store, ManualClock>,
    request: StartWorkflowRequest,
) -> WorkflowTaskForWorker {
    let (namespace, queue) = (Namespace::default(), queue());
    let polling = engine.poll_workflow_task(&namespace, &queue, "worker");
    let starting = async {
        // Let the poll reach matching first.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        engine.start_workflow(request).await.unwrap()
    };
    let (task, _) = tokio::join!(polling, starting);
    task.unwrap().expect("a workflow task")
}

/// The first page of the stored history, as a read gives it.
async fn stored_page(store: &Store, execution: &ExecutionKey) -> HistoryPage {
    store
        .inner
        .read_history(execution, EventId::FIRST)
        .await
        .unwrap()
}

/// Takes the queue's next workflow task (started now, from the backlog).
async fn poll_backlog(engine: &Engine<Store, ManualClock>) -> WorkflowTaskForWorker {
    engine
        .poll_workflow_task(&Namespace::default(), &queue(), "worker")
        .await
        .unwrap()
        .expect("a workflow task")
}

#[tokio::test]
async fn a_new_runs_first_task_comes_with_its_history_without_a_read() {
    let (store, engine) = engine().await;
    let input = Payloads::one(Payload::json("order-1").unwrap());
    let task = poll_while_starting(&engine, start("order-1", input.clone())).await;
    assert_eq!(
        reads(&store),
        0,
        "the handed-over history was not read back"
    );

    let types: Vec<EventType> = task
        .history
        .iter()
        .map(|event| event.event_type())
        .collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
        ]
    );
    let ids: Vec<u64> = task
        .history
        .iter()
        .map(|event| event.event_id.get())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    match &task.history[0].attributes {
        EventAttributes::WorkflowExecutionStarted(started) => assert_eq!(started.input, input),
        other => panic!("{other:?}"),
    }
    match &task.history[2].attributes {
        EventAttributes::WorkflowTaskStarted(started) => {
            assert_eq!(started.scheduled_event_id.get(), 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(task.next_page, None);
    // Exactly what the store holds, event for event.
    assert_eq!(
        task.history,
        stored_page(&store, &task.execution).await.events
    );
}

#[tokio::test]
async fn a_task_taken_from_the_backlog_reads_its_history() {
    let (store, engine) = engine().await;
    engine
        .start_workflow(start("order-2", Payloads::empty()))
        .await
        .unwrap();
    let task = poll_backlog(&engine).await;
    // Read for the page (and, loading the run into its shard, for its latest event).
    assert!(reads(&store) >= 1, "a backlog task's history is read");
    assert_eq!(
        task.history,
        stored_page(&store, &task.execution).await.events
    );
}

#[tokio::test]
async fn a_handed_over_history_is_cut_into_pages_as_a_read_is() {
    // An input of more than a page: the first page holds the started event alone.
    let big = Payloads::one(Payload::binary(vec![7u8; HISTORY_PAGE_BYTES_MAX + 1]));
    let (store, engine) = engine().await;
    let matched = poll_while_starting(&engine, start("order-3", big.clone())).await;
    assert_eq!(reads(&store), 0);
    let stored = stored_page(&store, &matched.execution).await;
    assert_eq!(matched.history, stored.events);
    assert_eq!(matched.next_page, stored.next_event_id);
    let types: Vec<EventType> = matched
        .history
        .iter()
        .map(|event| event.event_type())
        .collect();
    assert_eq!(types, [EventType::WorkflowExecutionStarted]);
    assert_eq!(matched.next_page, EventId::new(2));

    // The same cut when the task comes from the backlog.
    engine.start_workflow(start("order-4", big)).await.unwrap();
    let backlog = poll_backlog(&engine).await;
    assert_eq!(backlog.history.len(), 1);
    assert_eq!(backlog.next_page, EventId::new(2));
}

fn sticky_queue() -> TaskQueueName {
    TaskQueueName::new("worker-1:sticky").unwrap()
}

/// A completion of `task` by a worker that keeps the run cached on its sticky queue.
fn sticky_completion(
    task: &WorkflowTaskForWorker,
    commands: Vec<Command>,
) -> WorkflowTaskCompletion {
    WorkflowTaskCompletion {
        sticky: Some(StickyAttributes {
            task_queue: sticky_queue(),
            schedule_to_start_timeout: Duration::from_secs(5),
        }),
        ..WorkflowTaskCompletion::new(task.token, commands, "worker-1")
    }
}

fn charge(activity_id: &str, input: Payloads) -> Command {
    Command::ScheduleActivityTask(Box::new(ScheduleActivityTaskCommandAttributes {
        activity_id: ActivityId::new(activity_id).unwrap(),
        activity_type: ActivityType::new("Charge").unwrap(),
        task_queue: None,
        header: Header::new(),
        input,
        schedule_to_close_timeout: None,
        schedule_to_start_timeout: None,
        start_to_close_timeout: Some(Duration::from_secs(10)),
        heartbeat_timeout: None,
        retry_policy: None,
        request_eager_execution: false,
    }))
}

/// Runs `then` once `poll` has had the time to reach matching, and gives what `poll` got.
async fn poll_while<P, T>(poll: P, then: impl Future<Output = ()>) -> T
where
    P: Future<Output = Result<Option<T>, EngineError>>,
{
    let then = async {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        then.await;
    };
    let (polled, ()) = tokio::join!(poll, then);
    polled.unwrap().expect("a task")
}

/// A run whose first task, completed sticky, scheduled an activity with `input` that a
/// worker took in the same write (so the run stays busy), then the activity completing
/// with `result` while the workflow worker waits on its sticky queue: the sticky task it
/// gets.
async fn sticky_task_after_activity(
    engine: &Engine<Store, ManualClock>,
    id: &str,
    input: Payloads,
    result: Payloads,
) -> WorkflowTaskForWorker {
    let first = poll_while_starting(engine, start(id, Payloads::empty())).await;
    activity_round(engine, &first, "1", input, result).await
}

/// `task` completed sticky, scheduling activity `activity_id` with `input`, which a worker
/// takes in the same write (the run stays busy) and completes with `result` while the
/// workflow worker waits on its sticky queue: the sticky task it gets.
async fn activity_round(
    engine: &Engine<Store, ManualClock>,
    task: &WorkflowTaskForWorker,
    activity_id: &str,
    input: Payloads,
    result: Payloads,
) -> WorkflowTaskForWorker {
    let namespace = Namespace::default();
    let activity = poll_while(
        engine.poll_activity_task(&namespace, &queue(), "activity-worker"),
        async {
            engine
                .complete_workflow_task(
                    &task.execution,
                    sticky_completion(task, vec![charge(activity_id, input)]),
                )
                .await
                .unwrap();
        },
    )
    .await;
    poll_while(
        engine.poll_workflow_task(&namespace, &sticky_queue(), "worker-1"),
        async {
            engine
                .complete_activity_task(
                    &activity.execution,
                    activity.token(),
                    Some(result),
                    "activity-worker".into(),
                )
                .await
                .unwrap();
        },
    )
    .await
}

fn types_and_ids(task: &WorkflowTaskForWorker) -> Vec<(u64, EventType)> {
    task.history
        .iter()
        .map(|event| (event.event_id.get(), event.event_type()))
        .collect()
}

/// The stored page from `from`, as a read gives it.
async fn stored_page_from(store: &Store, execution: &ExecutionKey, from: u64) -> HistoryPage {
    store
        .inner
        .read_history(execution, EventId::new(from).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_busy_runs_sticky_task_comes_with_the_events_after_the_workers_last_task_without_a_read()
{
    let (store, engine) = engine().await;
    let result = Payloads::one(Payload::json("charged").unwrap());
    let sticky =
        sticky_task_after_activity(&engine, "order-5", Payloads::empty(), result.clone()).await;
    assert_eq!(reads(&store), 0, "nothing was read back");
    assert_eq!(sticky.previous_started_event_id, EventId::new(3));
    assert_eq!(
        types_and_ids(&sticky),
        [
            (4, EventType::WorkflowTaskCompleted),
            (5, EventType::ActivityTaskScheduled),
            (6, EventType::ActivityTaskStarted),
            (7, EventType::ActivityTaskCompleted),
            (8, EventType::WorkflowTaskScheduled),
            (9, EventType::WorkflowTaskStarted),
        ]
    );
    match &sticky.history[3].attributes {
        EventAttributes::ActivityTaskCompleted(completed) => {
            assert_eq!(completed.result, Some(result));
            assert_eq!(completed.scheduled_event_id.get(), 5);
            assert_eq!(completed.started_event_id.get(), 6);
        }
        other => panic!("{other:?}"),
    }
    match &sticky.history[5].attributes {
        EventAttributes::WorkflowTaskStarted(started) => {
            assert_eq!(started.scheduled_event_id.get(), 8);
        }
        other => panic!("{other:?}"),
    }
    let stored = stored_page_from(&store, &sticky.execution, 4).await;
    assert_eq!(
        sticky.history, stored.events,
        "exactly what the store holds"
    );
    assert_eq!(sticky.next_page, stored.next_event_id);
}

#[tokio::test]
async fn every_sticky_task_of_a_busy_run_comes_without_a_read() {
    let (store, engine) = engine().await;
    let mut task =
        sticky_task_after_activity(&engine, "order-9", Payloads::empty(), Payloads::empty()).await;
    for round in 2..=4u64 {
        task = activity_round(
            &engine,
            &task,
            &round.to_string(),
            Payloads::empty(),
            Payloads::empty(),
        )
        .await;
        // Each round adds six events: after the task started at 3 + 6 (round - 1).
        let previous = 3 + 6 * (round - 1);
        assert_eq!(task.previous_started_event_id, EventId::new(previous));
        assert_eq!(
            types_and_ids(&task),
            [
                (previous + 1, EventType::WorkflowTaskCompleted),
                (previous + 2, EventType::ActivityTaskScheduled),
                (previous + 3, EventType::ActivityTaskStarted),
                (previous + 4, EventType::ActivityTaskCompleted),
                (previous + 5, EventType::WorkflowTaskScheduled),
                (previous + 6, EventType::WorkflowTaskStarted),
            ],
            "round {round}"
        );
        let stored = stored_page_from(&store, &task.execution, previous + 1).await;
        assert_eq!(task.history, stored.events, "round {round}");
    }
    assert_eq!(reads(&store), 0, "no sticky task read its events");
}

#[tokio::test]
async fn a_sticky_task_whose_earlier_events_were_too_large_to_keep_reads_them() {
    let (store, engine) = engine().await;
    // An activity input larger than what a cached run keeps of its latest events: the
    // write that schedules it is not kept, so the sticky task after it reads.
    let input = Payloads::one(Payload::binary(vec![3u8; 64 * 1024]));
    let sticky = sticky_task_after_activity(&engine, "order-6", input, Payloads::empty()).await;
    assert!(reads(&store) >= 1, "the sticky task read its events");
    let stored = stored_page_from(&store, &sticky.execution, 4).await;
    assert_eq!(sticky.history, stored.events);
    assert_eq!(
        types_and_ids(&sticky).first(),
        Some(&(4, EventType::WorkflowTaskCompleted))
    );
}

#[tokio::test]
async fn a_large_event_of_the_write_itself_is_handed_over() {
    let (store, engine) = engine().await;
    // What a cached run keeps is bounded; what the write that starts the task holds is
    // handed over whatever its size.
    let result = Payloads::one(Payload::binary(vec![3u8; 64 * 1024]));
    let sticky = sticky_task_after_activity(&engine, "order-8", Payloads::empty(), result).await;
    assert_eq!(reads(&store), 0);
    let stored = stored_page_from(&store, &sticky.execution, 4).await;
    assert_eq!(sticky.history, stored.events);
}

#[tokio::test]
async fn a_sticky_task_of_a_run_idle_meanwhile_reads_its_events() {
    let (store, engine) = engine().await;
    let namespace = Namespace::default();
    let first = poll_while_starting(&engine, start("order-7", Payloads::empty())).await;
    // No command: the run waits, idle, and leaves the shard's cache.
    engine
        .complete_workflow_task(&first.execution, sticky_completion(&first, Vec::new()))
        .await
        .unwrap();
    let id = WorkflowId::new("order-7").unwrap();
    let sticky = poll_while(
        engine.poll_workflow_task(&namespace, &sticky_queue(), "worker-1"),
        async {
            engine
                .signal_workflow(
                    &namespace,
                    &id,
                    None,
                    SignalRequest::new(
                        SignalName::new("paid").unwrap(),
                        Payloads::empty(),
                        "client",
                    ),
                )
                .await
                .unwrap();
        },
    )
    .await;
    assert!(reads(&store) >= 1, "the sticky task read its events");
    assert_eq!(
        types_and_ids(&sticky),
        [
            (4, EventType::WorkflowTaskCompleted),
            (5, EventType::WorkflowExecutionSignaled),
            (6, EventType::WorkflowTaskScheduled),
            (7, EventType::WorkflowTaskStarted),
        ]
    );
    let stored = stored_page_from(&store, &sticky.execution, 4).await;
    assert_eq!(sticky.history, stored.events);
}
