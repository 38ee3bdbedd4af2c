//! Golden stores: redb files written by the builds of every format version so far (by
//! `examples/golden_store.rs`, kept gzipped in `tests/golden/stores/`), opened by this
//! build and run to completion. Each holds four runs of one workflow, left in four states:
//! closed, waiting for a signal after its activity, with a timer pending, and never picked
//! up by a worker. Each is opened on a clock an hour past the store's writing: the timer is
//! long past due, the closed run's retention is not.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use endure::embedded::{Engine, EngineConfig, InProcessTransport};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, check_well_formed};
use endure_server::clock::{ManualClock, TokioClock};
use endure_server::storage::RedbStorage;

#[path = "../../examples/shared/golden_order.rs"]
mod golden_workflow;

use golden_workflow::{charge, golden_order};

use EventType::*;

/// A workflow task: scheduled, started, completed.
const TASK: &[EventType] = &[
    WorkflowTaskScheduled,
    WorkflowTaskStarted,
    WorkflowTaskCompleted,
];

/// The pause and the close, from the task that started the timer on.
const SLEPT_AND_CLOSED: &[EventType] = &[
    TimerStarted,
    TimerFired,
    WorkflowTaskScheduled,
    WorkflowTaskStarted,
    WorkflowTaskCompleted,
    WorkflowExecutionCompleted,
];

/// golden-awaiting-signal: the activity done and seen by a task; then the signal, a task,
/// the pause and the close.
fn signaled_after_the_activity() -> Vec<EventType> {
    [
        &[WorkflowExecutionStarted][..],
        TASK,
        &[
            ActivityTaskScheduled,
            ActivityTaskStarted,
            ActivityTaskCompleted,
        ],
        TASK,
        &[WorkflowExecutionSignaled],
        TASK,
        SLEPT_AND_CLOSED,
    ]
    .concat()
}

/// golden-done and golden-timer (which the generator left after TimerStarted): the signal
/// arrived while the activity ran.
fn signaled_during_the_activity() -> Vec<EventType> {
    [
        &[WorkflowExecutionStarted][..],
        TASK,
        &[ActivityTaskScheduled, WorkflowExecutionSignaled],
        TASK,
        &[ActivityTaskStarted, ActivityTaskCompleted],
        TASK,
        SLEPT_AND_CLOSED,
    ]
    .concat()
}

/// golden-unstarted: its signal arrived before its first task was picked up, so the first
/// task saw it; then the activity, then the pause.
fn signaled_before_the_first_task() -> Vec<EventType> {
    [
        &[
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowExecutionSignaled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            ActivityTaskScheduled,
            ActivityTaskStarted,
            ActivityTaskCompleted,
        ][..],
        TASK,
        SLEPT_AND_CLOSED,
    ]
    .concat()
}

fn unpack(version: &str, into: &Path) {
    let packed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/stores")
        .join(format!("{version}.redb.gz"));
    let file = std::fs::File::open(&packed)
        .unwrap_or_else(|error| panic!("{}: {error}", packed.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(into, bytes).unwrap();
}

async fn types_of(handle: &WorkflowHandle) -> Vec<EventType> {
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    history.iter().map(|event| event.event_type()).collect()
}

/// Every timer fired answers the TimerStarted before it.
async fn assert_timer_links(handle: &WorkflowHandle) {
    let history = handle.history().await.unwrap();
    let started = history
        .iter()
        .find(|event| event.event_type() == TimerStarted)
        .expect("a timer started");
    let fired = history
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::TimerFired(fired) => Some(fired),
            _ => None,
        })
        .expect("the timer fired");
    assert_eq!(fired.started_event_id, started.event_id);
}

/// When the store's closed run closed, read on an engine whose clock stands at the epoch,
/// so that nothing in the store is due yet.
async fn closed_at(path: &Path) -> Timestamp {
    let engine = Engine::with_ports(
        Arc::new(RedbStorage::open(path).unwrap()),
        Arc::new(ManualClock::new(Timestamp::from_unix_seconds(0))),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let client = Client::new(
        Arc::new(InProcessTransport::new(engine.clone())),
        Namespace::default(),
    );
    let history = client
        .handle(WorkflowId::new("golden-done").unwrap(), None)
        .history()
        .await
        .unwrap();
    drop(client);
    assert!(engine.shutdown().await.is_ok(), "the engine's last handle");
    history.last().unwrap().event_time
}

async fn run_store(version: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    unpack(version, &path);
    // The store is opened as if an hour had passed since the generator wrote it: its timer
    // (60 s) and timeouts long past due, its closed run's retention (3 days) not. On the
    // wall clock that retention ran out three days after the files were made.
    let closed = closed_at(&path).await;
    let engine = Engine::with_ports(
        Arc::new(RedbStorage::open(&path).unwrap()),
        Arc::new(TokioClock::new(
            closed.saturating_add(Duration::from_secs(3600)),
        )),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let client = Client::new(
        Arc::new(InProcessTransport::new(engine)),
        Namespace::default(),
    );
    let handle = |id: &str| client.handle(WorkflowId::new(id).unwrap(), None);

    // Before any worker: the closed run reads back as it was written.
    let done = handle("golden-done");
    let result: String = done.result().await.unwrap();
    assert_eq!(result, "charged quick-1, shipped by dhl", "{version}");
    // Its signal arrived while the activity ran, like golden-timer's.
    assert_eq!(
        types_of(&done).await,
        signaled_during_the_activity(),
        "{version}: golden-done"
    );
    assert_timer_links(&done).await;

    // Signals before any worker polls, so each lands before the task that will see it.
    let awaiting = handle("golden-awaiting-signal");
    awaiting.signal("ship", &"fedex".to_owned()).await.unwrap();
    let unstarted = handle("golden-unstarted");
    unstarted.signal("ship", &"usps".to_owned()).await.unwrap();
    let timer = handle("golden-timer");

    let queue = TaskQueueName::new("golden").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue,
        WorkerOptions::default(),
    );
    worker.register::<golden_order>().register::<charge>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let result: String = awaiting.result().await.unwrap();
    assert_eq!(result, "charged order-2, shipped by fedex", "{version}");
    let result: String = timer.result().await.unwrap();
    assert_eq!(result, "charged order-3, shipped by ups", "{version}");
    let result: String = unstarted.result().await.unwrap();
    assert_eq!(result, "charged order-4, shipped by usps", "{version}");

    assert_eq!(
        types_of(&awaiting).await,
        signaled_after_the_activity(),
        "{version}: golden-awaiting-signal"
    );
    assert_timer_links(&awaiting).await;
    assert_eq!(
        types_of(&timer).await,
        signaled_during_the_activity(),
        "{version}: golden-timer"
    );
    assert_timer_links(&timer).await;
    assert_eq!(
        types_of(&unstarted).await,
        signaled_before_the_first_task(),
        "{version}: golden-unstarted"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_of_every_format_version_open_and_run_to_completion() {
    for version in ["v1", "v2", "v3", "v4", "v5"] {
        run_store(version).await;
    }
}
