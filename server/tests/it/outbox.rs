//! The outbox: signals and cancel requests between workflows survive a crash at either
//! step — after the Initiated event is committed but before delivery, and after delivery
//! but before the outcome is recorded — and are applied exactly once.
//!
//! A crash is played by a hooked store that holds the first engine's outbox forever at
//! the chosen step while a second engine takes the shards over (fencing the first).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use endure_core::execution::{Reply, WorkflowTaskCompletion};
use endure_core::history::{EventAttributes, EventType, HistoryEvent};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use endure_server::storage::MemoryStorage;

use crate::hooked::{Hooked, Hooks};

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

/// Where the wrapper stops the first engine.
const HOLD_NOTHING: u8 = 0;
/// Reads of history hang: the outbox cannot read the Initiated event, so it never delivers.
const HOLD_HISTORY_READS: u8 = 1;
/// Commits recording an outcome hang: the target has the signal, the sender never hears.
const HOLD_OUTCOMES: u8 = 2;
/// Loads of the sending run wait until the hold changes: the outbox waits to start.
const HOLD_SENDER_LOADS: u8 = 3;

/// Hooks that hang the store at the step `hold` names.
struct Hold {
    hold: AtomicU8,
}

/// The store the first engine runs on.
type Holding = Hooked<Hold>;

fn records_outcome(write: &WorkflowWrite) -> bool {
    write.runs.iter().any(|run| {
        run.history.iter().any(|event| {
            matches!(
                event.event_type(),
                EventType::ExternalWorkflowExecutionSignaled
                    | EventType::SignalExternalWorkflowExecutionFailed
                    | EventType::ExternalWorkflowExecutionCancelRequested
            )
        })
    })
}

impl Hooks for Hold {
    async fn before_commit(&self, writes: &[WorkflowWrite]) {
        if self.hold.load(Ordering::SeqCst) == HOLD_OUTCOMES && writes.iter().any(records_outcome) {
            std::future::pending::<()>().await;
        }
    }

    async fn before_load(&self, key: &ExecutionKey) {
        while self.hold.load(Ordering::SeqCst) == HOLD_SENDER_LOADS
            && key.workflow_id.as_str() == "sender"
        {
            tokio::task::yield_now().await;
        }
    }

    async fn before_read_history(&self, _key: &ExecutionKey) {
        if self.hold.load(Ordering::SeqCst) == HOLD_HISTORY_READS {
            std::future::pending::<()>().await;
        }
    }
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("outbox-test").unwrap()
}

fn start(id: &str) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: Namespace::default(),
        options: StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
        workflow_type: WorkflowType::new("W").unwrap(),
        input: Payloads::default(),
        header: Header::new(),
        identity: "client".into(),
    }
}

/// Polls the workflow task of `id` (other runs' tasks are completed empty), then — after
/// `before_completing` — completes it with `commands`.
async fn complete<S: Storage, C: endure_core::clock::Clock>(
    engine: &Engine<S, C>,
    id: &str,
    commands: Vec<Command>,
    before_completing: impl FnOnce(),
) {
    let mut before_completing = Some(before_completing);
    loop {
        let task = engine
            .poll_workflow_task(&Namespace::default(), &queue(), "worker")
            .await
            .unwrap()
            .expect("a workflow task");
        let mine = task.execution.workflow_id.as_str() == id;
        if mine && let Some(before) = before_completing.take() {
            before();
        }
        let reply = engine
            .complete_workflow_task(
                &task.execution,
                WorkflowTaskCompletion::new(
                    task.token,
                    if mine { commands.clone() } else { vec![] },
                    "worker",
                ),
            )
            .await
            .unwrap();
        assert!(matches!(reply, Reply::Accepted), "{reply:?}");
        if mine {
            return;
        }
    }
}

fn signal_receiver() -> Command {
    Command::SignalExternalWorkflowExecution(SignalExternalWorkflowExecutionCommandAttributes {
        namespace: None,
        workflow_execution: WorkflowExecution {
            workflow_id: WorkflowId::new("receiver").unwrap(),
            run_id: None,
        },
        signal_name: SignalName::new("ping").unwrap(),
        input: Payloads::default(),
        child_workflow_only: false,
        header: Header::new(),
    })
}

async fn history<S: Storage, C: endure_core::clock::Clock>(
    engine: &Engine<S, C>,
    id: &str,
) -> Vec<HistoryEvent> {
    let execution = engine
        .resolve_run(&Namespace::default(), &WorkflowId::new(id).unwrap(), None)
        .await
        .unwrap();
    engine.history(&execution).await.unwrap()
}

/// Waits (yielding) until `id`'s history has an event of type `wanted`.
async fn wait_for<S: Storage, C: endure_core::clock::Clock>(
    engine: &Engine<S, C>,
    id: &str,
    wanted: EventType,
) -> Vec<HistoryEvent> {
    for _ in 0..10_000 {
        let events = history(engine, id).await;
        if events.iter().any(|event| event.event_type() == wanted) {
            return events;
        }
        tokio::task::yield_now().await;
    }
    panic!("{id} never recorded {wanted:?}");
}

fn count(history: &[HistoryEvent], wanted: EventType) -> usize {
    history
        .iter()
        .filter(|event| event.event_type() == wanted)
        .count()
}

/// An engine on `memory` behind a store that holds at `hold` (changeable later).
async fn holding_engine(
    memory: &Arc<MemoryStorage>,
    clock: &Arc<ManualClock>,
    hold: u8,
) -> (Arc<Holding>, Engine<Holding, ManualClock>) {
    let holding = Arc::new(Hooked {
        inner: Arc::clone(memory),
        hooks: Hold {
            hold: AtomicU8::new(hold),
        },
    });
    let engine = Engine::with_ports(
        Arc::clone(&holding),
        Arc::clone(clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    (holding, engine)
}

/// Runs the crash at `hold` and checks the signal arrives once and is reported once.
async fn crash_and_recover(hold: u8) {
    let clock = Arc::new(ManualClock::new(T0));
    let memory = Arc::new(MemoryStorage::new());
    let (holding, first) = holding_engine(&memory, &clock, HOLD_NOTHING).await;
    first.start_workflow(start("receiver")).await.unwrap();
    first.start_workflow(start("sender")).await.unwrap();
    complete(&first, "receiver", vec![], || ()).await;
    complete(&first, "sender", vec![signal_receiver()], || {
        holding.hooks.hold.store(hold, Ordering::SeqCst);
    })
    .await;
    if hold == HOLD_OUTCOMES {
        // The first engine delivered, then hung recording the outcome.
        wait_for(&first, "receiver", EventType::WorkflowExecutionSignaled).await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let sender = first
        .resolve_run(
            &Namespace::default(),
            &WorkflowId::new("sender").unwrap(),
            None,
        )
        .await
        .unwrap();
    let page = memory.read_history(&sender, EventId::FIRST).await.unwrap();
    assert_eq!(
        count(&page.events, EventType::ExternalWorkflowExecutionSignaled),
        0,
        "the first engine never recorded the outcome"
    );

    // Later, a second engine takes the shards over and finds the outbox row.
    clock.advance(std::time::Duration::from_secs(1));
    let second = Engine::with_ports(
        Arc::clone(&memory),
        Arc::clone(&clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let sender = wait_for(
        &second,
        "sender",
        EventType::ExternalWorkflowExecutionSignaled,
    )
    .await;
    assert_eq!(
        count(&sender, EventType::ExternalWorkflowExecutionSignaled),
        1
    );
    let receiver = history(&second, "receiver").await;
    let signals: Vec<_> = receiver
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(signals.len(), 1, "delivered exactly once: {signals:?}");
    assert_eq!(
        signals[0]
            .external_workflow_execution
            .as_ref()
            .map(|sender| sender.workflow_id.as_str()),
        Some("sender")
    );
    let (namespace, outbox) = outbox_queue(ShardId(0));
    for shard in 0..EngineConfig::default().shard_count {
        let (_, outbox) = outbox_queue(ShardId(shard));
        assert!(
            memory
                .dispatch_rows(&namespace, &outbox, 10)
                .await
                .unwrap()
                .is_empty(),
            "the row is gone once the outcome is recorded"
        );
    }
    drop(outbox);
}

#[tokio::test]
async fn a_signal_committed_but_never_delivered_is_delivered_after_recovery() {
    crash_and_recover(HOLD_HISTORY_READS).await;
}

#[tokio::test]
async fn a_signal_delivered_but_never_reported_is_not_delivered_twice() {
    crash_and_recover(HOLD_OUTCOMES).await;
}

#[tokio::test]
async fn the_system_namespace_is_refused() {
    let engine = Engine::in_memory().await.unwrap();
    let mut request = start("x");
    request.namespace = Namespace::new(SYSTEM_NAMESPACE).unwrap();
    assert!(matches!(
        engine.start_workflow(request).await,
        Err(EngineError::BadRequest(_))
    ));
    let (namespace, outbox) = outbox_queue(ShardId(0));
    assert!(matches!(
        engine
            .poll_workflow_task(&namespace, &outbox, "intruder")
            .await,
        Err(EngineError::BadRequest(_))
    ));
}

#[tokio::test]
async fn a_cancel_redelivered_after_its_target_closed_is_not_reported_as_failed() {
    let clock = Arc::new(ManualClock::new(T0));
    let memory = Arc::new(MemoryStorage::new());
    let (holding, first) = holding_engine(&memory, &clock, HOLD_NOTHING).await;
    first.start_workflow(start("receiver")).await.unwrap();
    first.start_workflow(start("sender")).await.unwrap();
    complete(&first, "receiver", vec![], || ()).await;
    let cancel = Command::RequestCancelExternalWorkflowExecution(
        RequestCancelExternalWorkflowExecutionCommandAttributes {
            namespace: None,
            workflow_execution: WorkflowExecution {
                workflow_id: WorkflowId::new("receiver").unwrap(),
                run_id: None,
            },
            child_workflow_only: false,
            reason: "no longer needed".into(),
        },
    );
    // Delivered; the report hangs (the first engine "crashes" there).
    complete(&first, "sender", vec![cancel], || {
        holding.hooks.hold.store(HOLD_OUTCOMES, Ordering::SeqCst);
    })
    .await;
    wait_for(
        &first,
        "receiver",
        EventType::WorkflowExecutionCancelRequested,
    )
    .await;
    // A second engine takes over, its outbox held back while the target acknowledges the
    // cancel and closes; then the outbox redelivers to a closed run.
    clock.advance(std::time::Duration::from_secs(1));
    let (holding_second, second) = holding_engine(&memory, &clock, HOLD_SENDER_LOADS).await;
    complete(
        &second,
        "receiver",
        vec![Command::CancelWorkflowExecution(
            CancelWorkflowExecutionCommandAttributes { details: None },
        )],
        || (),
    )
    .await;
    wait_for(&second, "receiver", EventType::WorkflowExecutionCanceled).await;
    holding_second
        .hooks
        .hold
        .store(HOLD_NOTHING, Ordering::SeqCst);
    let sender = wait_for(
        &second,
        "sender",
        EventType::ExternalWorkflowExecutionCancelRequested,
    )
    .await;
    assert_eq!(
        count(
            &sender,
            EventType::RequestCancelExternalWorkflowExecutionFailed
        ),
        0
    );
    let receiver = history(&second, "receiver").await;
    assert_eq!(
        count(&receiver, EventType::WorkflowExecutionCancelRequested),
        1
    );
}
