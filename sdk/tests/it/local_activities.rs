//! Local activities end to end (spec §5.23) on the embedded engine over redb: run in the
//! workflow worker inside the task and recorded as markers (no activity events), retried
//! locally while the backoff is short and through a durable timer when it is long, a
//! workflow task heartbeat while they outlast 80 % of the task timeout, run again when the
//! task that ran them fails (at least once), and every history replays.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use endure::workflow::{ActivityError, LocalActivityOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};

use crate::store_client;

struct Counters {
    attempts: AtomicU32,
    crash_once: AtomicBool,
}

fn options() -> LocalActivityOptions {
    LocalActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(10),
            backoff_coefficient: 1.0,
            ..RetryPolicy::default()
        }),
        ..LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(5))
    }
}

/// Two local activities in sequence, then two in parallel.
#[endure::workflow(name = "Pipeline")]
async fn pipeline(ctx: WorkflowContext, n: u64) -> Result<u64, WorkflowError> {
    let doubled: u64 = ctx.execute_local_activity("Double", &n, options()).await?;
    let plus_one: u64 = ctx
        .execute_local_activity("AddOne", &doubled, options())
        .await?;
    let left = ctx.execute_local_activity::<_, u64>("Double", &plus_one, options());
    let right = ctx.execute_local_activity::<_, u64>("AddOne", &plus_one, options());
    Ok(left.await? + right.await?)
}

/// A local activity that fails twice before succeeding (short backoffs: local retries).
#[endure::workflow(name = "Flaky")]
async fn flaky(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    Ok(ctx.execute_local_activity("Flaky", &(), options()).await?)
}

/// The same, with backoffs longer than the local threshold: retried through a timer.
#[endure::workflow(name = "Patient")]
async fn patient(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    let options = LocalActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(300),
            backoff_coefficient: 1.0,
            ..RetryPolicy::default()
        }),
        local_retry_threshold: Some(Duration::from_millis(100)),
        ..LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(5))
    };
    Ok(ctx.execute_local_activity("Flaky", &(), options).await?)
}

/// A local activity slower than 80 % of the (one-second) task timeout.
#[endure::workflow(name = "Slow")]
async fn slow(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    Ok(ctx.execute_local_activity("Slow", &(), options()).await?)
}

/// Runs a local activity and returns how many times it ran.
async fn counted(ctx: WorkflowContext) -> Result<u32, WorkflowError> {
    Ok(ctx.execute_local_activity("Count", &(), options()).await?)
}

fn start_worker(
    client: &Client,
    counters: Arc<Counters>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new("local").unwrap(),
        WorkerOptions::default(),
    );
    worker.register::<pipeline>();
    worker.register::<flaky>();
    worker.register::<patient>();
    worker.register::<slow>();
    let crash = Arc::clone(&counters);
    worker.register_workflow("Crashy", move |ctx: WorkflowContext, (): ()| {
        let crash = Arc::clone(&crash);
        async move {
            let attempts = counted(ctx).await?;
            if crash.crash_once.swap(false, Ordering::SeqCst) {
                panic!("the worker crashes after the local activity ran");
            }
            Ok::<_, WorkflowError>(attempts)
        }
    });
    worker.register_activity::<Double, _, _>(|_ctx, n: u64| async move {
        Ok::<_, ActivityError>(n * 2)
    });
    worker.register_activity::<AddOne, _, _>(|ctx: ActivityContext, n: u64| async move {
        assert!(ctx.is_local());
        assert!(
            !ctx.heartbeat(&"ignored").await,
            "a local heartbeat goes nowhere"
        );
        Ok::<_, ActivityError>(n + 1)
    });
    let flaky_counters = Arc::clone(&counters);
    worker.register_activity::<FlakyActivity, _, _>(move |ctx: ActivityContext, (): ()| {
        let counters = Arc::clone(&flaky_counters);
        async move {
            counters.attempts.fetch_add(1, Ordering::SeqCst);
            let attempt = ctx.info().attempt;
            if attempt < 3 {
                return Err(ActivityError::application(
                    format!("attempt {attempt} failed"),
                    "Flaky",
                ));
            }
            Ok(attempt)
        }
    });
    worker.register_activity::<Slow, _, _>(|_ctx, (): ()| async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        Ok::<_, ActivityError>("finally".to_owned())
    });
    let count = Arc::clone(&counters);
    worker.register_activity::<Count, _, _>(move |_ctx, (): ()| {
        let count = Arc::clone(&count);
        async move { Ok::<_, ActivityError>(count.attempts.fetch_add(1, Ordering::SeqCst) + 1) }
    });
    crate::spawn_worker(worker)
}

macro_rules! activity {
    ($name:ident, $type_name:literal, $input:ty, $output:ty) => {
        struct $name;
        impl endure::activity::ActivityDefinition for $name {
            const NAME: &'static str = $type_name;
            type Input = $input;
            type Output = $output;
        }
    };
}
activity!(Double, "Double", u64, u64);
activity!(AddOne, "AddOne", u64, u64);
activity!(FlakyActivity, "Flaky", (), u32);
activity!(Slow, "Slow", (), String);
activity!(Count, "Count", (), u32);

fn counters() -> Arc<Counters> {
    Arc::new(Counters {
        attempts: AtomicU32::new(0),
        crash_once: AtomicBool::new(false),
    })
}

fn start_options(id: &str) -> StartWorkflowOptions {
    StartWorkflowOptions::new(
        WorkflowId::new(id).unwrap(),
        TaskQueueName::new("local").unwrap(),
    )
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

/// The attempts the local activity markers of `history` record.
fn marker_attempts(history: &[HistoryEvent]) -> Vec<u32> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::MarkerRecorded(marker) => {
                Some(endure::workflow::LocalActivityMarkerData::of(marker)?.attempt)
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn local_activities_run_inside_the_task_and_are_recorded_as_markers() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client, counters());
    let handle = client
        .start_workflow(start_options("pipeline"), "Pipeline", &5_u64)
        .await
        .unwrap();
    // 5 → 10 → 11 → 22 + 12.
    assert_eq!(handle.result::<u64>().await.unwrap(), 34);
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::MarkerRecorded,
            EventType::MarkerRecorded,
            EventType::MarkerRecorded,
            EventType::MarkerRecorded,
            EventType::WorkflowExecutionCompleted,
        ],
        "one workflow task, no activity events"
    );
    Replayer::for_workflow::<pipeline>()
        .replay_history(&history)
        .unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn short_backoffs_retry_in_the_worker_and_long_ones_through_a_timer() {
    let (client, _store) = store_client().await;
    let counters = counters();
    let (stop, running) = start_worker(&client, Arc::clone(&counters));
    // Short backoffs: three attempts inside one task, one marker.
    let handle = client
        .start_workflow(start_options("flaky"), "Flaky", &())
        .await
        .unwrap();
    assert_eq!(handle.result::<u32>().await.unwrap(), 3);
    let history = handle.history().await.unwrap();
    assert_eq!(marker_attempts(&history), [3]);
    assert!(!types(&history).contains(&EventType::TimerStarted));
    assert_eq!(counters.attempts.swap(0, Ordering::SeqCst), 3);
    Replayer::for_workflow::<flaky>()
        .replay_history(&history)
        .unwrap();

    // Long backoffs: each failed attempt is a marker, then a durable timer.
    let handle = client
        .start_workflow(start_options("patient"), "Patient", &())
        .await
        .unwrap();
    assert_eq!(handle.result::<u32>().await.unwrap(), 3);
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(marker_attempts(&history), [1, 2, 3]);
    let failed_markers = history
        .iter()
        .filter(|event| {
            matches!(&event.attributes, EventAttributes::MarkerRecorded(m) if m.failure.is_some())
        })
        .count();
    assert_eq!(failed_markers, 2);
    let fired = types(&history)
        .iter()
        .filter(|event_type| **event_type == EventType::TimerFired)
        .count();
    assert_eq!(fired, 2, "one timer per long backoff");
    assert_eq!(counters.attempts.load(Ordering::SeqCst), 3);
    Replayer::for_workflow::<patient>()
        .replay_history(&history)
        .unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_slow_local_activity_heartbeats_the_workflow_task() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client, counters());
    let options = StartWorkflowOptions {
        task_timeout: Some(Duration::from_secs(1)),
        ..start_options("slow")
    };
    let handle = client.start_workflow(options, "Slow", &()).await.unwrap();
    assert_eq!(handle.result::<String>().await.unwrap(), "finally");
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let completed = types(&history)
        .iter()
        .filter(|event_type| **event_type == EventType::WorkflowTaskCompleted)
        .count();
    assert!(
        completed >= 2,
        "the task heartbeated: {:?}",
        types(&history)
    );
    assert!(
        !types(&history).contains(&EventType::WorkflowTaskTimedOut),
        "no task timed out: {:?}",
        types(&history)
    );
    assert_eq!(marker_attempts(&history), [1]);
    Replayer::for_workflow::<slow>()
        .replay_history(&history)
        .unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_failed_task_runs_its_local_activities_again() {
    let (client, _store) = store_client().await;
    let counters = counters();
    counters.crash_once.store(true, Ordering::SeqCst);
    let (stop, running) = start_worker(&client, Arc::clone(&counters));
    let handle = client
        .start_workflow(start_options("crashy"), "Crashy", &())
        .await
        .unwrap();
    // The first task ran the activity, then failed: its marker was never recorded, so the
    // retried task runs it again (at least once).
    assert_eq!(handle.result::<u32>().await.unwrap(), 2);
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert!(types(&history).contains(&EventType::WorkflowTaskFailed));
    assert_eq!(marker_attempts(&history), [1]);
    let _ = stop.send(());
    running.await.unwrap();
}
