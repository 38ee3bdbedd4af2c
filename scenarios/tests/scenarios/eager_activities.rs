//! Eager activities under faults: workers kill, partition, clog, pause and lose their
//! connections, and the engine restarts, while every workflow task's completion asks for
//! the activities it schedules to be started for its worker (SDK default). An eager start
//! is the completing worker's first attempt of an activity the task scheduled, at most
//! three per task; one whose reply is lost, or whose worker dies, is timed out and retried
//! through the queue; every workflow ends with the right result. Run with
//! `RUSTFLAGS="--cfg madsim"`.

use std::collections::BTreeMap;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::HistoryEvent;
use endure_sim::driver::{result_when_reachable, start_until_taken};
use endure_sim::simulation::{Outcome, Simulation, check};
use endure_sim::swarm::Fault;

const QUEUE: &str = "fulfilment";
const WORKFLOWS: u32 = 6;

#[endure::activity(name = "Pick")]
async fn pick(_ctx: ActivityContext, item: u32) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(item * 10)
}

/// Picks four items at once (one task schedules all four), then one more.
#[endure::workflow(name = "Fulfil")]
async fn fulfil(ctx: WorkflowContext, order: u32) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(3)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(500),
            maximum_interval: Some(Duration::from_secs(2)),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    let picks: Vec<_> = (1..=4)
        .map(|item| ctx.run_activity::<pick>(&(order * 100 + item)))
        .collect();
    let mut total = 0;
    for picked in picks {
        total += picked.await?;
    }
    Ok(total + ctx.run_activity::<pick>(&(order * 100 + 5)).await?)
}

fn expected(order: u32) -> u32 {
    (1..=5).map(|item| (order * 100 + item) * 10).sum()
}

/// The eager starts of a history: each ActivityTaskStarted whose request id is eager's.
fn eager_starts(history: &[HistoryEvent]) -> impl Iterator<Item = &HistoryEvent> {
    history.iter().filter(|event| {
        matches!(&event.attributes, EventAttributes::ActivityTaskStarted(started)
            if started.request_id.starts_with(endure_core::execution::EAGER_REQUEST_ID_PREFIX))
    })
}

/// Each eager start is attempt 1 of the activity its request id names, by the worker that
/// completed the task that scheduled it; at most three come from one task.
fn eager_starts_are_their_schedulers_first_attempts(outcome: &Outcome) -> Result<(), String> {
    for (run, history) in &outcome.histories {
        let event = |id: u64| {
            history
                .get(usize::try_from(id).unwrap_or(usize::MAX).wrapping_sub(1))
                .map(|event| &event.attributes)
        };
        let mut per_task = BTreeMap::<u64, u32>::new();
        for start in eager_starts(history) {
            let EventAttributes::ActivityTaskStarted(started) = &start.attributes else {
                unreachable!("filtered")
            };
            let scheduled_id = started.scheduled_event_id.get();
            let prefix = endure_core::execution::EAGER_REQUEST_ID_PREFIX;
            if started.request_id != format!("{prefix}{scheduled_id}") || started.attempt != 1 {
                return Err(format!("{run}: event {}: {started:?}", start.event_id));
            }
            let Some(EventAttributes::ActivityTaskScheduled(scheduled)) = event(scheduled_id)
            else {
                return Err(format!("{run}: event {scheduled_id} is not a schedule"));
            };
            let completed_id = scheduled.workflow_task_completed_event_id.get();
            let Some(EventAttributes::WorkflowTaskCompleted(completed)) = event(completed_id)
            else {
                return Err(format!("{run}: event {completed_id} is not a completion"));
            };
            if completed.identity != started.identity {
                return Err(format!(
                    "{run}: activity {scheduled_id} started eagerly for {}, but {} completed the task that scheduled it",
                    started.identity, completed.identity
                ));
            }
            *per_task.entry(completed_id).or_default() += 1;
        }
        if let Some((task, count)) = per_task.iter().find(|(_, count)| **count > 3) {
            return Err(format!("{run}: task {task} had {count} eager starts"));
        }
    }
    Ok(())
}

fn simulation(_seed: u64) -> Simulation {
    Simulation::new(QUEUE)
        .workers(2, |worker| {
            worker.register::<fulfil>().register::<pick>();
        })
        .faults(&[
            Fault::KillWorker,
            Fault::KillEngine,
            Fault::DropConnections,
            Fault::Partition,
            Fault::OneWayClog,
            Fault::PauseWorker,
        ])
        .faults_max(8)
        .request_delays(Duration::from_millis(50))
        .duplicate_requests(0.1)
        .replay::<fulfil>()
        .invariant(
            "an eager start is its scheduling worker's first attempt, three per task at most",
            eager_starts_are_their_schedulers_first_attempts,
        )
        .invariant("eager starts happened", |outcome| {
            let count: usize = outcome
                .histories
                .values()
                .map(|history| eager_starts(history).count())
                .sum();
            if count > 0 {
                Ok(())
            } else {
                Err("no activity started eagerly".into())
            }
        })
        .invariant("each order picks its five items", |outcome| {
            (0..WORKFLOWS).try_for_each(|order| {
                let total: u32 = outcome
                    .result(&format!("order-{order}"))
                    .ok_or("no result")??;
                if total == expected(order) {
                    Ok(())
                } else {
                    Err(format!(
                        "order-{order} = {total}, expected {}",
                        expected(order)
                    ))
                }
            })
        })
        .scenario(|driver| async move {
            let mut handles = Vec::new();
            for order in 0..WORKFLOWS {
                let mut options = StartWorkflowOptions::new(
                    WorkflowId::new(format!("order-{order}")).map_err(|e| e.to_string())?,
                    TaskQueueName::new(QUEUE).map_err(|e| e.to_string())?,
                );
                options.request_id = Some(
                    format!("start-{order}")
                        .parse()
                        .map_err(|e: ValidationError| e.to_string())?,
                );
                handles.push(start_until_taken::<fulfil>(&driver.client, options, &order).await);
            }
            for (order, handle) in (0..WORKFLOWS).zip(&handles) {
                let total = result_when_reachable::<u32>(handle)
                    .await
                    .map_err(|error| error.to_string())?;
                if total != expected(order) {
                    return Err(format!("order-{order} = {total}"));
                }
            }
            Ok(())
        })
}

#[test]
fn eager_activities_start_once_for_their_worker_under_faults() {
    let outcomes = check(
        "eager_activities_start_once_for_their_worker_under_faults",
        0..8,
        simulation,
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    let faults: usize = outcomes.iter().map(|outcome| outcome.faults.len()).sum();
    let (eager, polled) = outcomes
        .iter()
        .flat_map(|outcome| outcome.histories.values())
        .flatten()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskStarted(started) => Some(
                started
                    .request_id
                    .starts_with(endure_core::execution::EAGER_REQUEST_ID_PREFIX),
            ),
            _ => None,
        })
        .fold((0, 0), |(eager, polled), is_eager| {
            if is_eager {
                (eager + 1, polled)
            } else {
                (eager, polled + 1)
            }
        });
    let seeds = outcomes.len();
    println!(
        "{seeds} seeds: {faults} faults; final attempts started eagerly {eager}, by a poll {polled}"
    );
    assert!(faults >= seeds, "faults were thrown: {faults}");
    assert!(
        polled > 0,
        "some attempts went through the queue (retries, the fourth pick)"
    );
}
