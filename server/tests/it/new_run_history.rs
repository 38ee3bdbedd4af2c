//! A new run's first workflow task, sync-matched in the write that creates the run, is
//! handed over with that write's events — the run's whole history — instead of the poll
//! reading back what was just written. The handed-over page must be exactly the page a
//! read gives, event by event and cut for cut; a task taken from the backlog still reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
