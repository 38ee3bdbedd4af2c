//! A deadline that comes due while the write closing its run is still in flight (the
//! simulation found it: swarm seed 777000000, random-workload seed 910000169). The run's
//! timer was due; once the closing write settled, the shard took the due timer for the end
//! of the closed run's retention and deleted a run that had closed a moment before. The
//! closing commit is held by a hooked store so the race is played every time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_core::execution::{Reply, SignalRequest, WorkflowTaskCompletion};
use endure_core::history::{EventAttributes, EventType};
use endure_core::namespace::RETENTION_DEFAULT;
use endure_core::storage::WorkflowWrite;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use tokio::sync::Notify;

use crate::hooked::{Hooked, Hooks};

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);
const TIMER: Duration = Duration::from_secs(10);

/// Holds a commit that closes a run, once armed, until released.
#[derive(Default)]
struct HoldClose {
    armed: AtomicBool,
    held: Notify,
    release: Notify,
}

fn closes_a_run(write: &WorkflowWrite) -> bool {
    write.runs.iter().any(|run| {
        run.history
            .iter()
            .any(|event| event.event_type().is_closing())
    })
}

impl Hooks for HoldClose {
    async fn before_commit(&self, writes: &[WorkflowWrite]) {
        if writes.iter().any(closes_a_run) && self.armed.swap(false, Ordering::SeqCst) {
            let release = self.release.notified();
            self.held.notify_one();
            release.await;
        }
    }
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

async fn poll<C: endure_core::clock::Clock>(
    engine: &Engine<Hooked<HoldClose>, C>,
) -> WorkflowTaskForWorker {
    engine
        .poll_workflow_task(&Namespace::default(), &queue(), "worker")
        .await
        .unwrap()
        .expect("a workflow task")
}

fn completion(task: &WorkflowTaskForWorker, commands: Vec<Command>) -> WorkflowTaskCompletion {
    WorkflowTaskCompletion::new(task.token, commands, "worker")
}

async fn yield_a_while() {
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_timer_due_while_its_run_closes_does_not_delete_the_run() {
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(Hooked::new(HoldClose::default()));
    let engine = Engine::with_ports(
        Arc::clone(&store),
        Arc::clone(&clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let id = WorkflowId::new("order-7").unwrap();
    let mut start = StartWorkflowRequest {
        namespace: Namespace::default(),
        options: StartWorkflowOptions::new(id.clone(), queue()),
        workflow_type: WorkflowType::new("Order").unwrap(),
        input: Payloads::default(),
        header: Header::new(),
        identity: "client".into(),
    };
    start.options.request_id = Some("start-7".parse().unwrap());
    engine.start_workflow(start).await.unwrap();

    // The first task starts a timer; a signal brings a second task.
    let first = poll(&engine).await;
    let timer = Command::StartTimer(StartTimerCommandAttributes {
        timer_id: TimerId::new("reminder").unwrap(),
        start_to_fire_timeout: TIMER,
    });
    let reply = engine
        .complete_workflow_task(&first.execution, completion(&first, vec![timer]))
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Accepted), "{reply:?}");
    engine
        .signal_workflow(
            &Namespace::default(),
            &id,
            None,
            SignalRequest::new(
                SignalName::new("pay").unwrap(),
                Payloads::default(),
                "client",
            ),
        )
        .await
        .unwrap();
    let second = poll(&engine).await;

    // The second completes the run with the timer still pending; its commit is held while
    // the timer comes due.
    store.hooks.armed.store(true, Ordering::SeqCst);
    let held = store.hooks.held.notified();
    let completing = tokio::spawn({
        let engine = engine.clone();
        let complete =
            Command::CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes {
                result: None,
            });
        let completion = completion(&second, vec![complete]);
        let execution = second.execution.clone();
        async move { engine.complete_workflow_task(&execution, completion).await }
    });
    held.await;
    clock.advance(TIMER + Duration::from_secs(1));
    yield_a_while().await;
    store.hooks.release.notify_one();
    let reply = completing.await.unwrap().unwrap();
    assert!(matches!(reply, Reply::Accepted), "{reply:?}");
    yield_a_while().await;

    // The run is kept, closed, with its whole history.
    let description = engine
        .describe_workflow(&Namespace::default(), &id, None)
        .await
        .expect("the run closed a moment ago is kept for its retention");
    assert_eq!(description.status, WorkflowExecutionStatus::Completed);
    let history = engine.history(&second.execution).await.unwrap();
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::TimerStarted,
            EventType::WorkflowExecutionSignaled,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::WorkflowExecutionCompleted(completed) = &history[9].attributes else {
        panic!("{:?}", history[9]);
    };
    assert_eq!(completed.workflow_task_completed_event_id.get(), 9);

    // Its retention still ends it: deleted once the namespace's retention has passed.
    clock.advance(RETENTION_DEFAULT);
    for _ in 0..100 {
        if engine
            .describe_workflow(&Namespace::default(), &id, None)
            .await
            .is_err()
        {
            return;
        }
        yield_a_while().await;
    }
    panic!("the run outlived its retention");
}
