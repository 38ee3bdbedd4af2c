//! The Quick Start (spec §2) through client, worker and the embedded redb engine, asserting
//! the history event by event; plus the worker's handling of failures it cannot run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;

use crate::store_client;
use endure_core::EventAttributes;
use endure_core::history::{EventType, check_well_formed};

pub(crate) struct SendEmail;

impl ActivityDefinition for SendEmail {
    const NAME: &'static str = "SendEmail";
    type Input = (String, String);
    type Output = String;
}

pub(crate) async fn order_workflow(
    ctx: WorkflowContext,
    user_id: String,
) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(50),
            ..RetryPolicy::with_maximum_attempts(3)
        }),
        ..ActivityOptions::default()
    });
    let sent = ctx
        .run_activity::<SendEmail>(&(user_id, "Order Created".to_owned()))
        .await?;
    let _ = ctx.sleep(Duration::from_millis(50)).await;
    Ok(format!("workflow_completed_{sent}"))
}

/// Runs a worker with the Quick Start registered until the returned sender fires.
pub(crate) fn start_worker(
    client: &Client,
    attempts: Arc<AtomicU32>,
    fail_first: bool,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let queue = TaskQueueName::new("my-task-queue").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue,
        WorkerOptions::default(),
    );
    worker.register_workflow("OrderWorkflow", order_workflow);
    worker.register_activity::<SendEmail, _, _>(
        move |ctx: ActivityContext, (user, subject): (String, String)| {
            let attempts = Arc::clone(&attempts);
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                assert_eq!(
                    (user.as_str(), subject.as_str()),
                    ("user_123", "Order Created")
                );
                if fail_first && ctx.info().attempt == 1 {
                    return Err(ActivityError::application("smtp busy", "SmtpError"));
                }
                Ok("sent".to_owned())
            }
        },
    );
    let (stop, running) = crate::spawn_worker(worker);
    (stop, running)
}

#[tokio::test]
async fn quickstart_runs_on_the_embedded_redb_engine() {
    let (client, _store) = store_client().await;
    let attempts = Arc::new(AtomicU32::new(0));
    let (stop, running) = start_worker(&client, Arc::clone(&attempts), false);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("order_42").unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    );
    let handle = client
        .start_workflow(options, "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    let result: String = handle.result().await.unwrap();
    assert_eq!(result, "workflow_completed_sent");
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types,
        endure_core::history::samples::quickstart_history()
            .events
            .iter()
            .map(|e| e.event_type())
            .collect::<Vec<_>>()
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let EventAttributes::ActivityTaskScheduled(scheduled) = &history[4].attributes else {
        panic!()
    };
    assert_eq!(scheduled.activity_type.as_str(), "SendEmail");
    assert_eq!(scheduled.retry_policy.maximum_attempts, 3);
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_failed_attempt_is_retried_and_the_final_attempt_recorded() {
    let (client, _store) = store_client().await;
    let attempts = Arc::new(AtomicU32::new(0));
    let (stop, running) = start_worker(&client, Arc::clone(&attempts), true);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("order_retry").unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    );
    let result: String = client
        .execute_workflow(options, "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    assert_eq!(result, "workflow_completed_sent");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let history = client
        .handle(WorkflowId::new("order_retry").unwrap(), None)
        .history()
        .await
        .unwrap();
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        panic!("{:?}", history[5])
    };
    assert_eq!(started.attempt, 2);
    assert_eq!(
        started
            .last_failure
            .as_ref()
            .map(|failure| failure.message.as_str()),
        Some("smtp busy")
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn an_unregistered_workflow_type_fails_the_task_not_the_workflow() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client, Arc::new(AtomicU32::new(0)), false);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("unknown").unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    );
    let handle = client
        .start_workflow(options, "NoSuchWorkflow", &())
        .await
        .unwrap();
    let mut failed = false;
    for _ in 0..200 {
        let history = handle.history().await.unwrap();
        if let Some(EventAttributes::WorkflowTaskFailed(failure)) =
            history.last().map(|event| &event.attributes)
        {
            assert_eq!(
                failure.cause,
                endure_core::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure
            );
            assert!(
                failure
                    .failure
                    .as_ref()
                    .unwrap()
                    .message
                    .contains("NoSuchWorkflow is not registered")
            );
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(failed, "the workflow task failed");
    assert_eq!(
        handle.describe().await.unwrap().status,
        WorkflowExecutionStatus::Running,
        "the workflow did not fail"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

/// Sequential workflows on a multi-threaded runtime, as `endure bench latency` runs them:
/// each commit of a write alone runs in place on the caller's thread, and the commits are
/// held in one open redb transaction between the reads that publish them
/// (`redb_store/publication.rs`). Every history reads back event by event, before and after
/// the engine is shut down and its store reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_workflows_read_back_whole_before_and_after_a_reopen() {
    use endure::embedded::{Engine, EngineConfig, InProcessTransport};
    use endure_server::clock::SystemClock;
    use endure_server::storage::RedbStorage;

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    let open = || async {
        let storage = Arc::new(RedbStorage::open(&path).unwrap());
        let engine = Engine::with_ports(storage, Arc::new(SystemClock), EngineConfig::default())
            .await
            .unwrap();
        let client = Client::new(
            Arc::new(InProcessTransport::new(engine.clone())),
            endure_core::Namespace::default(),
        );
        (engine, client)
    };
    let expected: Vec<EventType> = endure_core::history::samples::quickstart_history()
        .events
        .iter()
        .map(|event| event.event_type())
        .collect();
    let ids: Vec<WorkflowId> = (0..5)
        .map(|n| WorkflowId::new(format!("order_{n}")).unwrap())
        .collect();

    let (engine, client) = open().await;
    let (stop, running) = start_worker(&client, Arc::new(AtomicU32::new(0)), false);
    let mut histories = Vec::new();
    for id in &ids {
        let options =
            StartWorkflowOptions::new(id.clone(), TaskQueueName::new("my-task-queue").unwrap());
        let result: String = client
            .execute_workflow(options, "OrderWorkflow", &"user_123")
            .await
            .unwrap();
        assert_eq!(result, "workflow_completed_sent");
        let history = client.handle(id.clone(), None).history().await.unwrap();
        check_well_formed(&history).unwrap();
        let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
        assert_eq!(types, expected, "{id:?}");
        let EventAttributes::ActivityTaskCompleted(completed) = &history[6].attributes else {
            panic!("{:?}", history[6])
        };
        assert_eq!(
            (
                completed.scheduled_event_id.get(),
                completed.started_event_id.get()
            ),
            (5, 6),
            "{id:?}"
        );
        histories.push(history);
    }
    let _ = stop.send(());
    running.await.unwrap();
    drop(client);
    engine.shutdown().await.ok().expect("the last handle");

    let (engine, client) = open().await;
    for (id, history) in ids.iter().zip(&histories) {
        let again = client.handle(id.clone(), None).history().await.unwrap();
        assert_eq!(&again, history, "{id:?} after the reopen");
    }
    drop(client);
    engine.shutdown().await.ok().expect("the last handle");
}
