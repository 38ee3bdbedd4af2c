//! Sticky execution (DESIGN §6): a worker caches the runs it ran and gets their next tasks on
//! its own queue with only the new events; eviction forces a full replay; shutdown hands the
//! runs back to the normal queue; a worker that vanishes loses its tasks to the normal queue
//! after the sticky timeout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::protocol::{ErrorKind, RemoteError, Request, Transport, TransportFuture};
use endure_core::{EventAttributes, TaskQueueKind};
use parking_lot::Mutex;

use crate::store_client;

/// How many times each workflow's code was entered (once, plus once per full replay).
type Entries = Arc<Mutex<BTreeMap<String, u32>>>;

/// A worker for `steps`: a workflow waiting for two `next` signals and returning them joined.
fn steps_worker(
    transport: Arc<dyn Transport>,
    client: &Client,
    options: WorkerOptions,
) -> (Worker, Entries) {
    let entries = Entries::default();
    let mut worker = Worker::new(transport, client.namespace().clone(), queue(), options);
    let counted = Arc::clone(&entries);
    worker.register_workflow("Steps", move |ctx: WorkflowContext, name: String| {
        *counted.lock().entry(name).or_default() += 1;
        async move {
            let next = ctx.signal_channel("next");
            let first: String = next.recv_json().await?;
            let second: String = next.recv_json().await?;
            Ok::<_, WorkflowError>(format!("{first}+{second}"))
        }
    });
    (worker, entries)
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("steps").unwrap()
}

async fn start(client: &Client, name: &str) -> WorkflowHandle {
    client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new(name).unwrap(), queue()),
            "Steps",
            &name,
        )
        .await
        .unwrap()
}

/// Waits until the run's history holds `count` completed workflow tasks.
async fn completed_tasks(handle: &WorkflowHandle, count: usize) -> Vec<HistoryEvent> {
    loop {
        let history = handle.history().await.unwrap();
        let completed = history
            .iter()
            .filter(|event| event.event_type() == EventType::WorkflowTaskCompleted)
            .count();
        if completed >= count {
            return history;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The queue kind of each WorkflowTaskScheduled, in order.
fn scheduled_kinds(history: &[HistoryEvent]) -> Vec<TaskQueueKind> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskScheduled(scheduled) => Some(scheduled.task_queue.kind),
            _ => None,
        })
        .collect()
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

/// Signals `next` once and waits for the task it causes to complete.
async fn step(handle: &WorkflowHandle, value: &str, completed: usize) -> Vec<HistoryEvent> {
    handle.signal("next", &value).await.unwrap();
    completed_tasks(handle, completed).await
}

#[tokio::test]
async fn later_tasks_go_to_the_workers_sticky_queue_and_run_without_replaying() {
    let (client, _store) = store_client().await;
    let (worker, entries) = steps_worker(client.transport(), &client, WorkerOptions::default());
    let (stop, running) = crate::spawn_worker(worker);
    let handle = start(&client, "sticky-1").await;
    completed_tasks(&handle, 1).await;
    step(&handle, "a", 2).await;
    handle.signal("next", &"b").await.unwrap();
    let result: String = handle.result().await.unwrap();
    assert_eq!(result, "a+b");
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    use EventType::*;
    assert_eq!(
        types(&history),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted,
        ]
    );
    assert_eq!(
        scheduled_kinds(&history),
        [
            TaskQueueKind::Normal,
            TaskQueueKind::Sticky,
            TaskQueueKind::Sticky
        ]
    );
    let EventAttributes::WorkflowTaskScheduled(sticky) = &history[5].attributes else {
        panic!("{:?}", history[5]);
    };
    assert_eq!(sticky.task_queue.normal_name.as_ref(), Some(&queue()));
    // The workflow code ran once: the sticky tasks fed the cached run, nothing replayed.
    assert_eq!(entries.lock()["sticky-1"], 1);
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn an_evicted_run_is_rebuilt_from_the_full_history_on_its_sticky_task() {
    let (client, _store) = store_client().await;
    let options = WorkerOptions {
        max_cached_workflows: 1,
        ..WorkerOptions::default()
    };
    let (worker, entries) = steps_worker(client.transport(), &client, options);
    let (stop, running) = crate::spawn_worker(worker);
    let first = start(&client, "evicted").await;
    completed_tasks(&first, 1).await;
    let second = start(&client, "evictor").await;
    completed_tasks(&second, 1).await;
    // The second run pushed the first out of the one-run cache; the first's next task still
    // comes to the sticky queue with only the new events, and the worker fetches the rest.
    let history = step(&first, "a", 2).await;
    assert_eq!(scheduled_kinds(&history)[1], TaskQueueKind::Sticky);
    assert_eq!(entries.lock()["evicted"], 2);
    first.signal("next", &"b").await.unwrap();
    assert_eq!(first.result::<String>().await.unwrap(), "a+b");
    // Cached again after its rebuild: the last task did not replay.
    assert_eq!(entries.lock()["evicted"], 2);
    step(&second, "c", 2).await;
    second.signal("next", &"d").await.unwrap();
    assert_eq!(second.result::<String>().await.unwrap(), "c+d");
    assert_eq!(entries.lock()["evictor"], 2);
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_stopping_worker_hands_its_runs_back_to_the_normal_queue() {
    let (client, _store) = store_client().await;
    // A sticky timeout far longer than the test: only the hand-back can move the run.
    let options = WorkerOptions {
        sticky_schedule_to_start_timeout: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let (first_worker, first_entries) = steps_worker(client.transport(), &client, options.clone());
    let (stop, running) = crate::spawn_worker(first_worker);
    let handle = start(&client, "handed-back").await;
    completed_tasks(&handle, 1).await;
    let _ = stop.send(());
    running.await.unwrap();
    let (second_worker, second_entries) = steps_worker(client.transport(), &client, options);
    let (stop, running) = crate::spawn_worker(second_worker);
    let history = tokio::time::timeout(Duration::from_secs(30), step(&handle, "a", 2))
        .await
        .expect("the task went to the normal queue");
    assert_eq!(
        scheduled_kinds(&history),
        [TaskQueueKind::Normal, TaskQueueKind::Normal]
    );
    assert_eq!(first_entries.lock()["handed-back"], 1);
    assert_eq!(second_entries.lock()["handed-back"], 1);
    let _ = stop.send(());
    running.await.unwrap();
}

/// A transport that can be cut, as if its worker's host vanished: calls in flight are
/// dropped (as a closed connection ends its long polls) and every later call fails.
struct Cuttable {
    inner: Arc<dyn Transport>,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Transport for Cuttable {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        let mut cut = self.cut.subscribe();
        Box::pin(async move {
            let unavailable = || RemoteError {
                kind: ErrorKind::Unavailable,
                message: "connection cut".into(),
                run_id: None,
            };
            tokio::select! {
                biased;
                _ = cut.wait_for(|cut| *cut) => Err(unavailable()),
                response = self.inner.call(request) => response,
            }
        })
    }
}

#[tokio::test]
async fn a_vanished_workers_sticky_task_falls_back_to_the_normal_queue() {
    let (client, _store) = store_client().await;
    let options = WorkerOptions {
        sticky_schedule_to_start_timeout: Duration::from_millis(200),
        ..WorkerOptions::default()
    };
    let cuttable = Arc::new(Cuttable {
        inner: client.transport(),
        cut: tokio::sync::watch::Sender::new(false),
    });
    let (vanishing, _) = steps_worker(
        cuttable.clone(),
        &client,
        WorkerOptions {
            identity: "vanishing".into(),
            ..options.clone()
        },
    );
    let (stop_vanishing, vanishing) = crate::spawn_worker(vanishing);
    let handle = start(&client, "fallback").await;
    completed_tasks(&handle, 1).await;
    cuttable.cut.send_replace(true);
    // Let the vanished worker's pollers see the cut before the task comes (a task handed to
    // a poll already on its way back would be lost until its start-to-close timeout).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (survivor, entries) = steps_worker(client.transport(), &client, options);
    let (stop, running) = crate::spawn_worker(survivor);
    let history = step(&handle, "a", 2).await;
    use EventType::*;
    assert_eq!(
        types(&history)[4..],
        [
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskTimedOut,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
        ]
    );
    let EventAttributes::WorkflowTaskTimedOut(timed_out) = &history[6].attributes else {
        panic!("{:?}", history[6]);
    };
    assert_eq!(
        timed_out.timeout_type,
        endure_core::TimeoutType::ScheduleToStart
    );
    assert_eq!(timed_out.scheduled_event_id, history[5].event_id);
    assert_eq!(
        scheduled_kinds(&history),
        [
            TaskQueueKind::Normal,
            TaskQueueKind::Sticky,
            TaskQueueKind::Normal
        ]
    );
    assert_eq!(entries.lock()["fallback"], 1);
    let _ = stop.send(());
    running.await.unwrap();
    let _ = stop_vanishing.send(());
    vanishing.await.unwrap();
}

/// Drops counted: a workflow's future holds one while it runs.
struct Held(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_evicted_run_frees_its_workflow_code() {
    let (client, _store) = store_client().await;
    let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let options = WorkerOptions {
        max_cached_workflows: 2,
        ..WorkerOptions::default()
    };
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        options,
    );
    let counter = Arc::clone(&dropped);
    worker.register_workflow("Sleeper", move |ctx: WorkflowContext, (): ()| {
        let held = Held(Arc::clone(&counter));
        async move {
            let _held = held;
            ctx.sleep(Duration::from_secs(86_400)).await?;
            Ok::<_, WorkflowError>(())
        }
    });
    let (stop, running) = crate::spawn_worker(worker);
    let mut handles = Vec::new();
    for index in 0..12 {
        let options = StartWorkflowOptions::new(
            WorkflowId::new(format!("sleeper-{index}")).unwrap(),
            queue(),
        );
        handles.push(
            client
                .start_workflow(options, "Sleeper", &())
                .await
                .unwrap(),
        );
    }
    for handle in &handles {
        loop {
            let history = handle.history().await.unwrap();
            if history
                .iter()
                .any(|event| event.event_type() == EventType::TimerStarted)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let freed = dropped.load(std::sync::atomic::Ordering::SeqCst);
    assert!(freed >= 10, "12 runs, 2 cached: {freed} freed");
    stop.send(()).unwrap();
    running.await.unwrap();
}
