//! The workloads, one function each, returning their figures (BENCHMARKS.md names them).

#![allow(
    clippy::disallowed_methods,
    reason = "benchmarks measure the wall clock; nothing here is workflow code"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use endure::{
    Client, ClientError, Replayer, StartWorkflowOptions, TaskQueueName, WorkflowHandle, WorkflowId,
};
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::time::Timestamp;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::workflows::{self, QUEUE};
use super::{Setup, quantile_ms, round};
use crate::args::BenchArgs;
use crate::error::CliError;

/// A workload's figures, in print order.
pub(crate) type Figures = Vec<(&'static str, Value)>;

fn options(id: String) -> StartWorkflowOptions {
    StartWorkflowOptions::new(
        WorkflowId::new(id).expect("a valid id"),
        TaskQueueName::new(QUEUE).expect("a valid queue name"),
    )
}

fn progress(message: impl std::fmt::Display) {
    eprintln!("bench: {message}");
}

/// Starts `count` workflows with at most `concurrency` in flight; each is started by
/// `start` and awaited; returns each one's start-to-result time and the whole span.
async fn run_many<F, Fut>(
    count: usize,
    concurrency: usize,
    start: F,
) -> Result<(Vec<Duration>, Duration), CliError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let began = Instant::now();
    // Each task reports on a channel and is detached, so a finished one frees its memory at
    // once (a join handle would keep it until joined: ~4 KB per workflow, 400 MB at 100k).
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel();
    for index in 0..count {
        let permit = Arc::clone(&gate)
            .acquire_owned()
            .await
            .map_err(|error| CliError::Server(error.to_string()))?;
        let work = start(index);
        let report = report.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = work.await;
            drop(permit);
            let _ = report.send(result.map(|()| started.elapsed()));
        });
    }
    drop(report);
    let mut latencies = Vec::with_capacity(count);
    while let Some(latency) = reports.recv().await {
        latencies.push(latency?);
    }
    if latencies.len() != count {
        return Err(CliError::Server(format!(
            "{} of {count} workflows never reported",
            count - latencies.len()
        )));
    }
    Ok((latencies, began.elapsed()))
}

/// Runs `count` one-activity workflows `concurrency` at a time, each started and awaited.
async fn hellos(
    client: &Client,
    prefix: &'static str,
    count: usize,
    concurrency: usize,
) -> Result<(Vec<Duration>, Duration), CliError> {
    run_many(count, concurrency, |index| {
        let client = client.clone();
        async move {
            let handle = client
                .start::<workflows::hello>(options(format!("{prefix}-{index}")), &"world".into())
                .await?;
            handle.result::<String>().await.map(drop)
        }
    })
    .await
}

/// `hello`: N workflows of one activity, C at a time.
pub(crate) async fn hello(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let count = args.count.unwrap_or(2_000);
    progress(format!(
        "hello: {count} workflows, concurrency {}",
        args.concurrency
    ));
    let (mut latencies, span) = hellos(&setup.client, "hello", count, args.concurrency).await?;
    Ok(vec![
        ("workflows", count.into()),
        ("wf_per_s", round(count as f64 / span.as_secs_f64())),
        ("latency_p50_ms", round(quantile_ms(&mut latencies, 0.5))),
        ("latency_p99_ms", round(quantile_ms(&mut latencies, 0.99))),
    ])
}

/// `latency`: one workflow of one activity, R times in a row.
pub(crate) async fn latency(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let repeats = args.count.unwrap_or(200);
    progress(format!("latency: {repeats} workflows, one at a time"));
    let (mut latencies, _) = hellos(&setup.client, "latency", repeats, 1).await?;
    let p50 = quantile_ms(&mut latencies, 0.5);
    // A one-activity workflow is four sequential durable commits (start, the first task's
    // completion with the activity scheduled, the activity's completion, the closing task):
    // its floor is four 4 KiB writes each followed by fdatasync, on the same disk, now —
    // appended, and (what the log's records do) over bytes already written.
    let floor_of = |writes| {
        super::floor::fdatasync_floor_ms(setup.directory(), COMMITS_PER_HELLO, writes)
            .map_err(|error| CliError::Server(format!("cannot measure the disk's floor: {error}")))
    };
    let floor = floor_of(super::floor::Writes::Appended)?;
    let overwrite_floor = floor_of(super::floor::Writes::Overwritten)?;
    Ok(vec![
        ("repeats", repeats.into()),
        ("p50_ms", round(p50)),
        ("p99_ms", round(quantile_ms(&mut latencies, 0.99))),
        ("floor_ms", round(floor)),
        ("p50_over_floor", round(p50 / floor)),
        ("overwrite_floor_ms", round(overwrite_floor)),
        ("p50_over_overwrite_floor", round(p50 / overwrite_floor)),
    ])
}

/// The sequential durable commits of a one-activity workflow.
const COMMITS_PER_HELLO: usize = 4;

/// `steps`: S sequential activities, then S sequential local activities.
pub(crate) async fn steps(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let count = args.count.unwrap_or(500);
    progress(format!(
        "steps: {count} activities, then {count} local activities"
    ));
    let steps = u32::try_from(count).unwrap_or(u32::MAX);
    let began = Instant::now();
    setup
        .client
        .execute::<workflows::steps>(options("steps".into()), &steps)
        .await?;
    let remote = began.elapsed();
    let began = Instant::now();
    setup
        .client
        .execute::<workflows::local_steps>(options("local-steps".into()), &steps)
        .await?;
    let local = began.elapsed();
    let per_step = |span: Duration| round(span.as_secs_f64() * 1000.0 / f64::from(steps.max(1)));
    Ok(vec![
        ("steps", count.into()),
        ("ms_per_step", per_step(remote)),
        ("ms_per_local_step", per_step(local)),
    ])
}

/// When a `timers` run's timer was started, when it was due and fired, and when the run
/// closed, from its history.
struct TimerRun {
    timer_started: Timestamp,
    due: Timestamp,
    fired: Timestamp,
    closed: Timestamp,
}

impl TimerRun {
    fn of(history: &[HistoryEvent]) -> Option<Self> {
        let (timer_started, due) = history.iter().find_map(|event| match &event.attributes {
            EventAttributes::TimerStarted(a) => Some((
                event.event_time,
                event.event_time.saturating_add(a.start_to_fire_timeout),
            )),
            _ => None,
        })?;
        let fired = history.iter().find_map(|event| match &event.attributes {
            EventAttributes::TimerFired(_) => Some(event.event_time),
            _ => None,
        })?;
        let closed = history.last()?.event_time;
        Some(Self {
            timer_started,
            due,
            fired,
            closed,
        })
    }

    /// How long after its due time the timer fired.
    fn lateness(&self) -> Duration {
        self.fired.saturating_duration_since(self.due)
    }
}

/// The wall clock now, as the engine stamps its events.
fn wall_clock_now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_nanos(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
}

/// Seconds from `began` to the latest of `times`, or 0 when there are none.
fn latest_s(began: Timestamp, times: impl Iterator<Item = Timestamp>) -> Value {
    let latest = times.max().unwrap_or(began);
    round(latest.saturating_duration_since(began).as_secs_f64())
}

/// `timers`: N workflows each sleeping 5 s.
pub(crate) async fn timers(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let count = args.count.unwrap_or(5_000);
    progress(format!("timers: {count} workflows sleeping 5 s"));
    let client = setup.client.clone();
    let began = Instant::now();
    let began_at = wall_clock_now();
    // Started C at a time; the runs then all sleep at once.
    run_many(count, args.concurrency, |index| {
        let client = client.clone();
        async move {
            client
                .start::<workflows::sleep>(options(format!("timer-{index}")), &5_000)
                .await
                .map(drop)
        }
    })
    .await?;
    progress(format!(
        "timers: started in {:.1} s",
        began.elapsed().as_secs_f64()
    ));
    let handle = |index: usize| {
        client.handle(
            WorkflowId::new(format!("timer-{index}")).expect("a valid id"),
            None,
        )
    };
    for index in 0..count {
        handle(index).result::<()>().await?;
    }
    let total = began.elapsed();
    let mut runs = Vec::with_capacity(count);
    for index in 0..count {
        runs.extend(TimerRun::of(&handle(index).history().await?));
    }
    let mut late: Vec<Duration> = runs.iter().map(TimerRun::lateness).collect();
    // Where the time past 5 s goes: starting the timers, their firing, and the runs'
    // last workflow tasks after it (the engine's clock, from the first start).
    Ok(vec![
        ("workflows", count.into()),
        ("total_s", round(total.as_secs_f64())),
        (
            "last_timer_started_s",
            latest_s(began_at, runs.iter().map(|run| run.timer_started)),
        ),
        (
            "last_due_s",
            latest_s(began_at, runs.iter().map(|run| run.due)),
        ),
        (
            "last_fired_s",
            latest_s(began_at, runs.iter().map(|run| run.fired)),
        ),
        (
            "last_closed_s",
            latest_s(began_at, runs.iter().map(|run| run.closed)),
        ),
        ("lateness_p50_ms", round(quantile_ms(&mut late, 0.5))),
        ("lateness_p99_ms", round(quantile_ms(&mut late, 0.99))),
        ("peak_rss_mb", round(setup.engine_peak_rss_mb())),
        ("worker_peak_rss_mb", round(super::rss_mb("self", "VmHWM"))),
    ])
}

/// `signals`: M signals to one workflow, sent as fast as the client can.
pub(crate) async fn signals(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let count = args.count.unwrap_or(1_000);
    progress(format!("signals: {count} signals to one workflow"));
    let handle = setup
        .client
        .start::<workflows::signals>(
            options("signals".into()),
            &u32::try_from(count).unwrap_or(u32::MAX),
        )
        .await?;
    let began = Instant::now();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut sending = Vec::with_capacity(count);
    for index in 0..count {
        let permit = Arc::clone(&gate)
            .acquire_owned()
            .await
            .map_err(|error| CliError::Server(error.to_string()))?;
        let handle: WorkflowHandle = handle.clone();
        sending.push(tokio::spawn(async move {
            let result = handle.signal("tick", &index).await;
            drop(permit);
            result
        }));
    }
    for send in sending {
        send.await
            .map_err(|error| CliError::Server(error.to_string()))??;
    }
    handle.result::<u32>().await?;
    let span = began.elapsed();
    Ok(vec![
        ("signals", count.into()),
        ("signals_per_s", round(count as f64 / span.as_secs_f64())),
    ])
}

/// `replay`: a history of about 10,000 events (2,500 activities) replayed by the Replayer.
/// How many times `replay` replays the recorded history; it reports the median round.
const REPLAY_ROUNDS: usize = 21;

pub(crate) async fn replay(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let activities = u32::try_from(args.count.unwrap_or(2_500)).unwrap_or(u32::MAX);
    progress(format!(
        "replay: recording a run of {activities} activities"
    ));
    let handle = record(&setup.client, activities).await?;
    let history = handle.history().await?;
    let replayer = Replayer::for_workflow::<workflows::steps>();
    progress(format!("replay: replaying {} events", history.len()));
    // One replay takes milliseconds: the median of many rounds, so a stall of the machine
    // in one round (or the engine still writing what the recording left) does not make
    // the figure.
    let mut spans = Vec::with_capacity(REPLAY_ROUNDS);
    for _ in 0..REPLAY_ROUNDS {
        let began = Instant::now();
        replayer
            .replay_history(&history)
            .map_err(|failure| CliError::Server(failure.to_string()))?;
        spans.push(began.elapsed());
    }
    spans.sort_unstable();
    let median = spans[spans.len() / 2].as_secs_f64().max(f64::MIN_POSITIVE);
    Ok(vec![
        ("events", history.len().into()),
        ("rounds", REPLAY_ROUNDS.into()),
        ("events_per_s", round(history.len() as f64 / median)),
    ])
}

async fn record(client: &Client, activities: u32) -> Result<WorkflowHandle, CliError> {
    let handle = client
        .start::<workflows::steps>(options("replay".into()), &activities)
        .await?;
    handle.result::<u32>().await?;
    Ok(handle)
}

/// `idle`: N workflows started and left sleeping for a day.
pub(crate) async fn idle(setup: &Setup, args: &BenchArgs) -> Result<Figures, CliError> {
    let count = args.count.unwrap_or(100_000);
    progress(format!("idle: {count} workflows sleeping a day"));
    let client = setup.client.clone();
    let day = 24 * 3600 * 1000;
    let (_, span) = run_many(count, args.concurrency, |index| {
        let client = client.clone();
        async move {
            client
                .start::<workflows::sleep>(options(format!("idle-{index}")), &day)
                .await
                .map(drop)
        }
    })
    .await?;
    progress(format!(
        "idle: started in {:.1} s; waiting for every timer",
        span.as_secs_f64()
    ));
    // The last started run's timer is among the last; once it is, the rest are too.
    let last = client.handle(
        WorkflowId::new(format!("idle-{}", count.saturating_sub(1))).expect("a valid id"),
        None,
    );
    loop {
        let history = last.history().await?;
        if history
            .iter()
            .any(|event| matches!(event.attributes, EventAttributes::TimerStarted(_)))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(vec![
        ("workflows", count.into()),
        ("start_wf_per_s", round(count as f64 / span.as_secs_f64())),
        ("rss_mb", round(setup.engine_rss_mb())),
        (
            "bytes_per_workflow",
            round(setup.db_bytes() as f64 / count.max(1) as f64),
        ),
        (
            "allocated_bytes_per_workflow",
            round(setup.db_allocated_bytes() as f64 / count.max(1) as f64),
        ),
    ])
}
