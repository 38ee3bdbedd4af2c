//! Activities completed from outside their worker (Go's `ErrResultPending` with
//! `CompleteActivity` / `CompleteActivityByID`): the activity hands out its completion
//! token and returns `ActivityError::result_pending`; whoever holds the token — or the
//! workflow and activity ids — completes, fails, heartbeats or cancels the attempt through
//! an `AsyncActivityHandle`. The histories are those of an activity its worker answered,
//! with the answering client's identity.

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::ActivityTaskStartedEventAttributes;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::{EventAttributes, FailureInfo, RetryPolicy};
use tokio::sync::mpsc;

use crate::{ONE_ACTIVITY_HISTORY, spawn_worker, store_client};

struct Approve;

impl endure::activity::ActivityDefinition for Approve {
    const NAME: &'static str = "Approve";
    type Input = String;
    type Output = String;
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("approvals").unwrap()
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

/// Each attempt's number and token, as the activity handed them out.
type Tokens = mpsc::UnboundedReceiver<(u32, ActivityCompletionToken)>;

/// A running worker: fire the sender to stop it, then await the task.
type RunningWorker = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// A worker whose `Approve` activity sends each attempt's token (with its attempt number)
/// to the returned receiver and completes asynchronously; its workflow runs one `Approve`
/// with `options` and returns its result, or `failed: <message>` / `canceled`.
fn approvals_worker(client: &Client, options: ActivityOptions) -> (Tokens, RunningWorker) {
    let (tokens, received) = mpsc::unbounded_channel();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        WorkerOptions {
            identity: "approvals-worker".into(),
            ..WorkerOptions::default()
        },
    );
    worker.register_workflow("Payment", move |ctx: WorkflowContext, order: String| {
        let options = options.clone();
        async move {
            let (scoped, cancel) = ctx.with_cancel();
            let approval = scoped
                .with_activity_options(options)
                .run_activity::<Approve>(&order);
            let canceling = order.starts_with("cancel");
            if canceling {
                ctx.sleep(Duration::from_millis(300)).await.ok();
                cancel.cancel();
            }
            Ok::<_, WorkflowError>(match approval.await {
                Ok(answer) => answer,
                Err(error) if error.is_canceled() => "canceled".to_owned(),
                Err(error) => format!("failed: {error}"),
            })
        }
    });
    worker.register_activity::<Approve, _, _>(move |ctx: ActivityContext, _order: String| {
        let tokens = tokens.clone();
        async move {
            let _ = tokens.send((ctx.info().attempt, ctx.completion_token()));
            Err(ActivityError::result_pending())
        }
    });
    (received, spawn_worker(worker))
}

/// A one-activity run's history once it closed with `result`, checked well formed and of
/// that shape, with its attempt's ActivityTaskStarted (event 6).
async fn one_activity_run(
    handle: &WorkflowHandle,
    result: &str,
) -> (Vec<HistoryEvent>, ActivityTaskStartedEventAttributes) {
    assert_eq!(handle.result::<String>().await.unwrap(), result);
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(types(&history), ONE_ACTIVITY_HISTORY);
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        panic!("event 6 is not ActivityTaskStarted")
    };
    let started = started.clone();
    (history, started)
}

fn timeouts() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
}

async fn start(client: &Client, id: &str) -> WorkflowHandle {
    client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
            "Payment",
            &id,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn an_activity_completed_with_its_token_gives_the_workflow_that_result() {
    let (client, _store) = store_client().await;
    let (mut tokens, (stop, running)) = approvals_worker(&client, timeouts());
    let handle = start(&client, "order-1").await;
    let (attempt, token) = tokens.recv().await.unwrap();
    assert_eq!(attempt, 1);
    assert_eq!(token.execution.workflow_id.as_str(), "order-1");
    // The worker reported nothing: the attempt stays started, waiting.
    let described = handle.describe().await.unwrap();
    assert_eq!(described.status, WorkflowExecutionStatus::Running);
    let pending = &described.pending_activity_details[0];
    assert_eq!(pending.state, PendingActivityState::Started);
    assert_eq!(pending.scheduled_event_id.get(), 5);
    assert_eq!(
        pending.last_worker_identity.as_deref(),
        Some("approvals-worker")
    );

    // Elsewhere, later: the token travels as text.
    let text = token.to_string();
    let approver = client.clone().with_identity("approver@back-office");
    approver
        .async_activity(text.parse().unwrap())
        .complete(&"approved")
        .await
        .unwrap();
    let (history, started) = one_activity_run(&handle, "approved").await;
    assert_eq!(
        (
            started.scheduled_event_id.get(),
            started.identity.as_str(),
            started.attempt
        ),
        (5, "approvals-worker", 1)
    );
    let EventAttributes::ActivityTaskCompleted(completed) = &history[6].attributes else {
        panic!("event 7 is not ActivityTaskCompleted")
    };
    assert_eq!(
        (
            completed.scheduled_event_id.get(),
            completed.started_event_id.get(),
            completed.identity.as_str()
        ),
        (5, 6, "approver@back-office")
    );
    assert_eq!(
        completed
            .result
            .as_ref()
            .unwrap()
            .decode_first::<String>()
            .unwrap(),
        "approved"
    );

    // The attempt is over: its token completes nothing more.
    let again = approver
        .async_activity(token)
        .complete(&"approved twice")
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ClientError::Remote(error) if error.kind == ErrorKind::FailedPrecondition),
        "the run is closed: {again}"
    );
    assert_eq!(handle.history().await.unwrap().len(), history.len());
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_failure_through_the_token_is_retried_and_the_next_attempt_completed_by_id() {
    let (client, _store) = store_client().await;
    let options = ActivityOptions {
        activity_id: Some(ActivityId::new("approval").unwrap()),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(100),
            maximum_attempts: 3,
            ..RetryPolicy::default()
        }),
        ..timeouts()
    };
    let (mut tokens, (stop, running)) = approvals_worker(&client, options);
    let handle = start(&client, "order-2").await;
    let (attempt, token) = tokens.recv().await.unwrap();
    assert_eq!(attempt, 1);
    client
        .async_activity(token.clone())
        .fail(ActivityError::application(
            "the card issuer is down",
            "IssuerDown",
        ))
        .await
        .unwrap();
    // The retry runs on the worker, which hands out the second attempt's token.
    let (attempt, second) = tokens.recv().await.unwrap();
    assert_eq!(attempt, 2);
    assert_eq!(
        second.token.scheduled_event_id,
        token.token.scheduled_event_id
    );
    assert_eq!(second.token.attempt, 2);
    // The first attempt's token answers nothing now.
    let stale = client
        .async_activity(token)
        .complete(&"too late")
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, ClientError::Remote(error) if error.kind == ErrorKind::NotFound),
        "{stale}"
    );
    // By id, the answer goes to whatever attempt is current.
    let by_id = client
        .clone()
        .with_identity("webhook")
        .async_activity_by_id(
            WorkflowId::new("order-2").unwrap(),
            None,
            ActivityId::new("approval").unwrap(),
        );
    assert_eq!(by_id.token().await.unwrap(), second);
    by_id.complete(&"approved on retry").await.unwrap();
    // Temporal records only the last attempt: one Started, carrying the last failure.
    let (history, started) = one_activity_run(&handle, "approved on retry").await;
    assert_eq!((started.scheduled_event_id.get(), started.attempt), (5, 2));
    let last_failure = started.last_failure.as_ref().unwrap();
    assert_eq!(last_failure.message, "the card issuer is down");
    assert!(matches!(
        &last_failure.info,
        FailureInfo::Application { error_type, .. } if error_type == "IssuerDown"
    ));
    let EventAttributes::ActivityTaskCompleted(completed) = &history[6].attributes else {
        panic!("event 7 is not ActivityTaskCompleted")
    };
    assert_eq!(
        (
            completed.scheduled_event_id.get(),
            completed.started_event_id.get(),
            completed.identity.as_str()
        ),
        (5, 6, "webhook")
    );
    // The activity is done: by id there is nothing left to answer.
    let gone = by_id.complete(&"again").await.unwrap_err();
    assert!(
        matches!(&gone, ClientError::Remote(error) if error.kind == ErrorKind::NotFound),
        "{gone}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn heartbeats_through_the_handle_learn_of_cancellation_which_it_then_reports() {
    let (client, _store) = store_client().await;
    let options = ActivityOptions {
        heartbeat_timeout: Some(Duration::from_secs(30)),
        ..timeouts().wait_for_cancellation(true)
    };
    let (mut tokens, (stop, running)) = approvals_worker(&client, options);
    let handle = start(&client, "cancel-order-3").await;
    let (_, token) = tokens.recv().await.unwrap();
    let approver = client.async_activity(token);
    // The workflow cancels the activity 300 ms in; heartbeats learn of it.
    let mut beats = 0u32;
    while !approver.heartbeat(&beats).await.unwrap() {
        beats += 1;
        assert!(beats < 500, "no cancellation after {beats} heartbeats");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let described = handle.describe().await.unwrap();
    let pending = &described.pending_activity_details[0];
    assert_eq!(pending.state, PendingActivityState::CancelRequested);
    assert_eq!(
        pending
            .heartbeat_details
            .as_ref()
            .unwrap()
            .decode_first::<u32>()
            .unwrap(),
        beats,
        "the last heartbeat's details are kept"
    );
    approver.report_cancellation(None).await.unwrap();
    assert_eq!(handle.result::<String>().await.unwrap(), "canceled");

    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    // The attempt's Started is written when it closes, as Temporal writes it: after the
    // cancel request the timer's workflow task made.
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::TimerStarted,
            EventType::TimerFired,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskCancelRequested,
            EventType::ActivityTaskStarted,
            EventType::ActivityTaskCanceled,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::ActivityTaskCancelRequested(requested) = &history[10].attributes else {
        unreachable!()
    };
    assert_eq!(
        (
            requested.scheduled_event_id.get(),
            requested.workflow_task_completed_event_id.get()
        ),
        (5, 10)
    );
    let EventAttributes::ActivityTaskCanceled(canceled) = &history[12].attributes else {
        unreachable!()
    };
    assert_eq!(
        (
            canceled.scheduled_event_id.get(),
            canceled.started_event_id.map(EventId::get),
            canceled.latest_cancel_requested_event_id.get(),
            canceled.identity.as_str()
        ),
        (5, Some(12), 11, "endure-client")
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn an_attempt_left_pending_times_out_and_is_retried() {
    let (client, _store) = store_client().await;
    let options = ActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(50),
            maximum_attempts: 2,
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_millis(500))
    };
    let (mut tokens, (stop, running)) = approvals_worker(&client, options);
    let handle = start(&client, "order-4").await;
    // No one answers the first attempt: its start-to-close timeout fires.
    let (first, _) = tokens.recv().await.unwrap();
    let (second, token) = tokens.recv().await.unwrap();
    assert_eq!((first, second), (1, 2));
    client
        .async_activity(token)
        .complete(&"approved late")
        .await
        .unwrap();
    let (_, started) = one_activity_run(&handle, "approved late").await;
    assert_eq!(started.attempt, 2);
    assert!(matches!(
        started.last_failure.as_ref().map(|failure| &failure.info),
        Some(FailureInfo::Timeout { .. })
    ));
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_local_activity_cannot_complete_asynchronously() {
    let (client, _store) = store_client().await;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Local", |ctx: WorkflowContext, (): ()| async move {
        let outcome: Result<String, _> = ctx
            .execute_local_activity(
                "Approve",
                &"local",
                LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(5)),
            )
            .await;
        Ok::<_, WorkflowError>(match outcome {
            Ok(answer) => answer,
            Err(error) => format!("failed: {error}"),
        })
    });
    worker.register_activity::<Approve, _, _>(|_ctx: ActivityContext, _order: String| async {
        Err(ActivityError::result_pending())
    });
    let (stop, running) = spawn_worker(worker);
    let result: String = client
        .execute_workflow(
            StartWorkflowOptions::new(WorkflowId::new("local-5").unwrap(), queue()),
            "Local",
            &(),
        )
        .await
        .unwrap();
    assert!(
        result.starts_with("failed:") && result.contains("cannot complete asynchronously"),
        "{result}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
