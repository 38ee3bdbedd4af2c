//! The worker's metrics under Temporal's names, read the way a user reads them: a
//! Prometheus recorder installed in the process, its text parsed by a Prometheus parser.
//! The Quick Start with a failing first attempt, a failing workflow and a nondeterministic
//! one each leave their counts; the embedded engine's own metrics land in the same recorder.
//! (nextest runs each test in a process of its own, so the global recorder is this test's.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, HistoryEvent};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use prometheus_parse::{Sample, Scrape, Value};

use crate::quickstart::start_worker;
use crate::store_client;

/// Set once the drifting workflow's first task ran: its code "changes" under its history.
static DRIFTED: AtomicBool = AtomicBool::new(false);

/// Sleeps, then (after the drift) would rather not: a replay finds no StartTimer for the
/// recorded TimerStarted.
async fn drifting(ctx: WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    if !DRIFTED.load(Ordering::SeqCst) {
        let _ = ctx.sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Fails at once.
async fn failing(_ctx: WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    Err(Failure::application("out of stock", "Stock").into())
}

fn parse(handle: &PrometheusHandle) -> Scrape {
    Scrape::parse(handle.render().lines().map(|line| Ok(line.to_owned()))).unwrap()
}

/// The samples of `name` carrying every label of `labels`.
fn find<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    let matches = |sample: &&Sample| {
        sample.metric == name
            && labels
                .iter()
                .all(|(key, value)| sample.labels.get(key) == Some(*value))
    };
    scrape.samples.iter().filter(matches).collect()
}

/// The summed value of counter or gauge `name` over the series with `labels`.
fn total(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(scrape, name, labels);
    assert!(!found.is_empty(), "no {name} {labels:?}");
    found
        .iter()
        .map(|sample| match sample.value {
            Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => value,
            ref other => panic!("{name} is not a counter or gauge: {other:?}"),
        })
        .sum()
}

/// How many observations histogram `name` with `labels` holds.
fn count(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> u64 {
    find(scrape, name, labels)
        .iter()
        .map(|sample| match &sample.value {
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |bucket| bucket.count) as u64,
            other => panic!("{name} is not a histogram: {other:?}"),
        })
        .sum()
}

#[tokio::test]
async fn the_worker_records_temporals_sdk_metrics() {
    // Histograms with buckets (the exporter's default is summaries), as dashboards read.
    let handle = PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.01, 0.1, 1.0, 10.0])
        .unwrap()
        .install_recorder()
        .unwrap();
    endure::metrics::describe();
    let (client, _store) = store_client().await;

    // The Quick Start, its first activity attempt failing.
    let attempts = Arc::new(AtomicU32::new(0));
    let (stop, running) = start_worker(&client, Arc::clone(&attempts), true);
    let queue = TaskQueueName::new("my-task-queue").unwrap();
    let options = StartWorkflowOptions::new(WorkflowId::new("order_42").unwrap(), queue.clone());
    let result: String = client
        .execute_workflow(options, "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    assert_eq!(result, "workflow_completed_sent");

    // A failing workflow and a nondeterministic one, on a worker that caches nothing (so
    // every task replays from the start).
    let odd = TaskQueueName::new("odd").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        odd.clone(),
        WorkerOptions {
            max_cached_workflows: 0,
            ..WorkerOptions::default()
        },
    );
    worker.register_workflow("Failing", failing);
    worker.register_workflow("Drifting", drifting);
    let (stop_odd, running_odd) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("failing").unwrap(), odd.clone());
    assert!(
        client
            .execute_workflow::<_, ()>(options, "Failing", &())
            .await
            .is_err()
    );
    let options = StartWorkflowOptions::new(WorkflowId::new("drifting").unwrap(), odd);
    let drifting = client
        .start_workflow(options, "Drifting", &())
        .await
        .unwrap();
    let has = |types: &[EventType], wanted: EventType| types.contains(&wanted);
    let mut types = Vec::new();
    for _ in 0..200 {
        types = drifting
            .history()
            .await
            .unwrap()
            .iter()
            .map(HistoryEvent::event_type)
            .collect();
        if has(&types, EventType::TimerStarted) {
            DRIFTED.store(true, Ordering::SeqCst);
        }
        if has(&types, EventType::WorkflowTaskFailed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(has(&types, EventType::WorkflowTaskFailed), "{types:?}");
    drifting.terminate("drifted").await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();
    let _ = stop_odd.send(());
    running_odd.await.unwrap();

    let scrape = parse(&handle);
    let order = [("task_queue", "my-task-queue"), ("namespace", "default")];
    let with = |key: &'static str, value: &'static str| {
        let mut labels = order.to_vec();
        labels.push((key, value));
        labels
    };
    let typed = with("workflow_type", "OrderWorkflow");
    let activity = with("activity_type", "SendEmail");

    // The Quick Start: three workflow tasks (the start, the activity's result, the timer),
    // each waited for and timed; two activity attempts (retried by the engine, no task
    // between them), the first failed.
    assert_eq!(total(&scrape, "temporal_workflow_completed", &typed), 1.0);
    let tasks = count(&scrape, "temporal_workflow_task_execution_latency", &typed);
    assert_eq!(tasks, 3);
    assert_eq!(
        count(
            &scrape,
            "temporal_workflow_task_schedule_to_start_latency",
            &typed
        ),
        tasks
    );
    assert_eq!(
        count(&scrape, "temporal_activity_execution_latency", &activity),
        2
    );
    assert_eq!(
        count(
            &scrape,
            "temporal_activity_schedule_to_start_latency",
            &activity
        ),
        2
    );
    assert_eq!(
        total(&scrape, "temporal_activity_execution_failed", &activity),
        1.0
    );
    // The first task replayed (nothing cached yet); the later ones found the run cached.
    assert_eq!(total(&scrape, "temporal_sticky_cache_miss", &order), 1.0);
    assert_eq!(
        total(&scrape, "temporal_sticky_cache_hit", &order),
        (tasks - 1) as f64
    );
    assert_eq!(total(&scrape, "temporal_sticky_cache_size", &order), 0.0);
    assert!(total(&scrape, "temporal_workflow_task_queue_poll_succeed", &order) >= tasks as f64);
    // Idle again: every slot free.
    let slots = WorkerOptions::default();
    assert_eq!(
        total(
            &scrape,
            "temporal_worker_task_slots_available",
            &with("worker_type", "WorkflowWorker")
        ),
        slots.max_concurrent_workflow_tasks as f64
    );
    assert_eq!(
        total(
            &scrape,
            "temporal_worker_task_slots_used",
            &with("worker_type", "ActivityWorker")
        ),
        0.0
    );

    // The other queue: a failed run, and nondeterminism named as such.
    let odd = [("task_queue", "odd")];
    assert_eq!(
        total(
            &scrape,
            "temporal_workflow_failed",
            &[("task_queue", "odd"), ("workflow_type", "Failing")]
        ),
        1.0
    );
    assert!(
        total(
            &scrape,
            "temporal_workflow_task_execution_failed",
            &[
                ("task_queue", "odd"),
                ("workflow_type", "Drifting"),
                ("failure_reason", "NonDeterminismError")
            ]
        ) >= 1.0
    );
    assert!(find(&scrape, "temporal_sticky_cache_hit", &odd).is_empty());
    assert!(total(&scrape, "temporal_sticky_cache_miss", &odd) >= 3.0);

    // The embedded engine records into the same recorder.
    assert!(total(&scrape, "endure_workflows_started_total", &[]) >= 3.0);
}
