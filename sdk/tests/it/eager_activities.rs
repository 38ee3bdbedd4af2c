//! Eager activities: a workflow task's completion asks the engine to start the activities
//! it schedules on the worker's own queue for that worker, which runs them at once from the
//! completion's reply. The history shows which attempts started so: their
//! ActivityTaskStarted carries the request id `eager-<scheduled event id>` and the
//! completing worker's identity; attempts taken by a poll carry the poll's.

use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};

use crate::store_client;

struct Echo;

impl endure::activity::ActivityDefinition for Echo {
    const NAME: &'static str = "Echo";
    type Input = String;
    type Output = String;
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("eager").unwrap()
}

fn elsewhere() -> TaskQueueName {
    TaskQueueName::new("eager-elsewhere").unwrap()
}

fn timeouts() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
}

/// Three activities in turn: one asking for eager execution (the default), one that turns
/// it off, one on another queue.
async fn in_turn(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let first: String = ctx
        .with_activity_options(timeouts())
        .execute_activity("Echo", &format!("{name}-1"))
        .await?;
    let second: String = ctx
        .with_activity_options(ActivityOptions {
            disable_eager_execution: true,
            ..timeouts()
        })
        .execute_activity("Echo", &format!("{name}-2"))
        .await?;
    let third: String = ctx
        .with_activity_options(ActivityOptions {
            task_queue: Some(elsewhere()),
            ..timeouts()
        })
        .execute_activity("Echo", &format!("{name}-3"))
        .await?;
    Ok(format!("{first} {second} {third}"))
}

/// Four activities scheduled by one task, then awaited.
async fn four_at_once(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(timeouts());
    let futures: Vec<_> = (1..=4)
        .map(|index| ctx.execute_activity::<_, String>("Echo", &format!("{name}-{index}")))
        .collect();
    let mut results = Vec::new();
    for future in futures {
        results.push(future.await?);
    }
    Ok(results.join(" "))
}

/// Runs workers of both queues with `options` until the returned sender fires.
fn start_workers(
    client: &Client,
    options: WorkerOptions,
) -> Vec<(
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)> {
    [queue(), elsewhere()]
        .into_iter()
        .map(|task_queue| {
            let mut worker = Worker::new(
                client.transport(),
                client.namespace().clone(),
                task_queue,
                WorkerOptions {
                    identity: "eager-worker".into(),
                    ..options.clone()
                },
            );
            worker.register_workflow("InTurn", in_turn);
            worker.register_workflow("FourAtOnce", four_at_once);
            worker.register_activity::<Echo, _, _>(
                |_ctx: ActivityContext, text: String| async move { Ok(format!("echo {text}")) },
            );
            crate::spawn_worker(worker)
        })
        .collect()
}

async fn stop(
    workers: Vec<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
) {
    for (stop, running) in workers {
        let _ = stop.send(());
        running.await.unwrap();
    }
}

async fn run(client: &Client, workflow: &str, id: &str) -> (String, Vec<HistoryEvent>) {
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
            workflow,
            &id,
        )
        .await
        .unwrap();
    let result: String = handle.result().await.unwrap();
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    (result, history)
}

/// Each ActivityTaskStarted as (its ScheduledEvent's id, request id, identity), in order.
fn starts(history: &[HistoryEvent]) -> Vec<(u64, String, String)> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskStarted(started) => Some((
                started.scheduled_event_id.get(),
                started.request_id.clone(),
                started.identity.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

#[tokio::test]
async fn the_worker_runs_its_own_queues_activity_from_the_completion_reply() {
    let (client, _store) = store_client().await;
    let workers = start_workers(&client, WorkerOptions::default());
    let (result, history) = run(&client, "InTurn", "in-turn").await;
    assert_eq!(result, "echo in-turn-1 echo in-turn-2 echo in-turn-3");
    // A one-activity history with two more activity steps (scheduled, started, completed,
    // then a workflow task) before its close.
    let one_activity = crate::ONE_ACTIVITY_HISTORY;
    let mut expected = one_activity[..4].to_vec();
    for _ in 0..3 {
        expected.extend_from_slice(&one_activity[4..10]);
    }
    expected.push(EventType::WorkflowExecutionCompleted);
    assert_eq!(types(&history), expected);
    // Each step's events back-reference its own: scheduled by the task completed just
    // before, started and completed for that schedule.
    for step in 0..3 {
        let scheduled = 5 + 6 * step;
        let EventAttributes::ActivityTaskScheduled(attributes) =
            &history[scheduled as usize - 1].attributes
        else {
            panic!("event {scheduled} is not ActivityTaskScheduled")
        };
        assert_eq!(
            attributes.workflow_task_completed_event_id.get(),
            scheduled - 1
        );
        let EventAttributes::ActivityTaskCompleted(completed) =
            &history[scheduled as usize + 1].attributes
        else {
            panic!("event {} is not ActivityTaskCompleted", scheduled + 2)
        };
        assert_eq!(
            (
                completed.scheduled_event_id.get(),
                completed.started_event_id.get()
            ),
            (scheduled, scheduled + 1)
        );
    }
    let starts = starts(&history);
    assert_eq!(
        starts[0],
        (5, "eager-5".to_owned(), "eager-worker".to_owned()),
        "the first activity started with its workflow task's completion"
    );
    for (scheduled, request_id, _) in &starts[1..] {
        assert!(
            !request_id.starts_with("eager-"),
            "activity {scheduled} asked for no eager start (turned off, or another queue): {request_id}"
        );
    }
    stop(workers).await;
}

#[tokio::test]
async fn at_most_three_activities_of_one_task_start_eagerly_in_command_order() {
    let (client, _store) = store_client().await;
    let workers = start_workers(&client, WorkerOptions::default());
    let (result, history) = run(&client, "FourAtOnce", "four").await;
    assert_eq!(result, "echo four-1 echo four-2 echo four-3 echo four-4");
    let scheduled: Vec<u64> = history
        .iter()
        .filter(|event| event.event_type() == EventType::ActivityTaskScheduled)
        .map(|event| event.event_id.get())
        .collect();
    assert_eq!(scheduled, [5, 6, 7, 8], "one task scheduled all four");
    let mut eager: Vec<u64> = starts(&history)
        .into_iter()
        .filter(|(_, request_id, _)| request_id.starts_with("eager-"))
        .map(|(scheduled, request_id, identity)| {
            assert_eq!(request_id, format!("eager-{scheduled}"));
            assert_eq!(identity, "eager-worker");
            scheduled
        })
        .collect();
    eager.sort_unstable();
    assert_eq!(
        eager,
        [5, 6, 7],
        "the first three, the fourth through its queue"
    );
    stop(workers).await;
}

#[tokio::test]
async fn a_worker_that_turns_eager_activities_off_polls_every_one() {
    let (client, _store) = store_client().await;
    let workers = start_workers(
        &client,
        WorkerOptions {
            disable_eager_activities: true,
            ..WorkerOptions::default()
        },
    );
    let (_, history) = run(&client, "FourAtOnce", "polled").await;
    let starts = starts(&history);
    assert_eq!(starts.len(), 4);
    assert!(
        starts
            .iter()
            .all(|(_, request_id, _)| !request_id.starts_with("eager-")),
        "{starts:?}"
    );
    stop(workers).await;
}

#[tokio::test]
async fn an_eager_task_reaches_its_activity_through_the_workers_codec() {
    let (client, _store) = store_client().await;
    let plain = client.clone();
    let client = client.with_codec(crate::codec::Xor(0x5a));
    let workers = start_workers(&client, WorkerOptions::default());
    let (result, history) = run(&client, "InTurn", "sealed").await;
    // The first attempt ran from the completion's reply, its input decoded by the codec (an
    // undecoded one would have failed that attempt and been retried through the queue).
    assert_eq!(result, "echo sealed-1 echo sealed-2 echo sealed-3");
    assert_eq!(
        starts(&history)[0],
        (5, "eager-5".to_owned(), "eager-worker".to_owned())
    );
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        panic!("{:?}", history[5])
    };
    assert_eq!(started.attempt, 1);
    let stored = plain
        .handle(WorkflowId::new("sealed").unwrap(), None)
        .history()
        .await
        .unwrap();
    let EventAttributes::ActivityTaskScheduled(scheduled) = &stored[4].attributes else {
        panic!("{:?}", stored[4])
    };
    assert_eq!(
        scheduled.input.0.first().and_then(Payload::encoding),
        Some("binary/encrypted"),
        "the engine holds the input encoded"
    );
    stop(workers).await;
}
