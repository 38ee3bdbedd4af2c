//! Workflow-level failure handling end to end (§5.14.1–2) on the embedded engine over redb:
//! a workflow retry policy starting new runs until an attempt succeeds, a run timeout
//! ending a run that the retry policy then retries, an execution timeout ending the whole
//! chain, and cron runs chaining their results, a failed cron run retried first.

use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::storage::VisibilityQuery;
use endure_core::{ContinueAsNewInitiator, EventAttributes, RetryState};

use crate::store_client;

/// The run's attempt and the previous cron run's result, from its start event.
fn started(ctx: &WorkflowContext) -> (u32, Option<u32>) {
    let info = ctx.info();
    let previous = info
        .started
        .last_completion_result
        .as_ref()
        .and_then(|result| result.0.first())
        .and_then(|payload| payload.decode::<u32>().ok());
    (info.started.attempt, previous)
}

/// Fails its first two attempts; the third returns its attempt.
async fn flaky(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    let (attempt, _) = started(&ctx);
    if attempt < 3 {
        return Err(Failure::application(format!("attempt {attempt} failed"), "Flaky").into());
    }
    Ok(format!("attempt {attempt}"))
}

/// Hangs on its first attempt (a run timeout ends it); later attempts return at once.
async fn hangs_once(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    let (attempt, _) = started(&ctx);
    if attempt == 1 {
        ctx.sleep(Duration::from_secs(3600)).await?;
    }
    Ok(attempt)
}

/// Always hangs.
async fn hangs(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    ctx.sleep(Duration::from_secs(3600)).await?;
    Ok(())
}

/// Counts its cron runs through the last completion result; the first attempt of the
/// first run fails.
async fn counter(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    let (attempt, previous) = started(&ctx);
    if previous.is_none() && attempt == 1 {
        return Err(Failure::application("cold start", "Cold").into());
    }
    Ok(previous.unwrap_or(0) + 1)
}

fn start_worker(
    client: &Client,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new("retries").unwrap(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Flaky", flaky);
    worker.register_workflow("HangsOnce", hangs_once);
    worker.register_workflow("Hangs", hangs);
    worker.register_workflow("Counter", counter);
    crate::spawn_worker(worker)
}

fn options(id: &str) -> StartWorkflowOptions {
    StartWorkflowOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(20),
            backoff_coefficient: 1.0,
            ..RetryPolicy::default()
        }),
        ..StartWorkflowOptions::new(
            WorkflowId::new(id).unwrap(),
            TaskQueueName::new("retries").unwrap(),
        )
    }
}

/// The run ids and histories of every run of `workflow_id`, oldest first.
async fn runs(client: &Client, workflow_id: &str) -> Vec<(RunId, Vec<HistoryEvent>)> {
    let mut rows = client
        .list_workflows(VisibilityQuery::default(), 0, 1_000)
        .await
        .unwrap();
    rows.retain(|row| row.execution.workflow_id.as_str() == workflow_id);
    rows.sort_by_key(|row| row.start_time);
    let mut runs = Vec::new();
    for row in rows {
        let run_id = row.execution.run_id;
        let handle = client.handle(row.execution.workflow_id, Some(run_id));
        let history = handle.history().await.unwrap();
        check_well_formed(&history).unwrap();
        runs.push((run_id, history));
    }
    runs
}

fn start_attributes(
    history: &[HistoryEvent],
) -> &endure_core::history::WorkflowExecutionStartedEventAttributes {
    let EventAttributes::WorkflowExecutionStarted(started) = &history[0].attributes else {
        panic!("a run starts with WorkflowExecutionStarted")
    };
    started
}

/// Checks that `next` continues `previous` as `initiator`.
fn check_chained(
    previous: &(RunId, Vec<HistoryEvent>),
    next: &(RunId, Vec<HistoryEvent>),
    initiator: ContinueAsNewInitiator,
) {
    let started = start_attributes(&next.1);
    assert_eq!(started.continued_execution_run_id, Some(previous.0));
    assert_eq!(started.initiator, Some(initiator));
    assert_eq!(
        start_attributes(&previous.1).first_execution_run_id,
        started.first_execution_run_id,
        "one chain"
    );
}

#[tokio::test]
async fn a_failed_workflow_is_retried_as_new_runs_until_an_attempt_succeeds() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let handle = client
        .start_workflow(options("flaky-1"), "Flaky", &())
        .await
        .unwrap();
    assert_eq!(handle.result::<String>().await.unwrap(), "attempt 3");
    let runs = runs(&client, "flaky-1").await;
    assert_eq!(runs.len(), 3);
    for (index, (_, history)) in runs.iter().enumerate() {
        assert_eq!(start_attributes(history).attempt, index as u32 + 1);
        let last = &history.last().unwrap().attributes;
        if index == 2 {
            assert!(matches!(
                last,
                EventAttributes::WorkflowExecutionCompleted(_)
            ));
            continue;
        }
        let EventAttributes::WorkflowExecutionFailed(failed) = last else {
            panic!("attempt {} fails: {last:?}", index + 1)
        };
        assert_eq!(failed.retry_state, RetryState::InProgress);
        assert_eq!(failed.new_execution_run_id, Some(runs[index + 1].0));
        check_chained(
            &runs[index],
            &runs[index + 1],
            ContinueAsNewInitiator::Retry,
        );
        let next = start_attributes(&runs[index + 1].1);
        assert_eq!(
            next.first_workflow_task_backoff,
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            next.continued_failure
                .as_ref()
                .map(|failure| failure.message.as_str()),
            Some(format!("attempt {} failed", index + 1).as_str())
        );
    }
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_run_timeout_ends_the_run_and_the_retry_policy_starts_another() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let options = StartWorkflowOptions {
        run_timeout: Some(Duration::from_millis(300)),
        ..options("hangs-once")
    };
    let handle = client
        .start_workflow(options, "HangsOnce", &())
        .await
        .unwrap();
    assert_eq!(handle.result::<u32>().await.unwrap(), 2);
    let runs = runs(&client, "hangs-once").await;
    assert_eq!(runs.len(), 2);
    let EventAttributes::WorkflowExecutionTimedOut(timed_out) =
        &runs[0].1.last().unwrap().attributes
    else {
        panic!("the first run times out")
    };
    assert_eq!(timed_out.retry_state, RetryState::InProgress);
    assert_eq!(timed_out.new_execution_run_id, Some(runs[1].0));
    check_chained(&runs[0], &runs[1], ContinueAsNewInitiator::Retry);
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn an_execution_timeout_ends_the_whole_chain() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let options = StartWorkflowOptions {
        run_timeout: Some(Duration::from_millis(100)),
        execution_timeout: Some(Duration::from_millis(1_000)),
        ..options("hangs")
    };
    let handle = client.start_workflow(options, "Hangs", &()).await.unwrap();
    let result = handle.result::<()>().await;
    assert!(
        matches!(&result, Err(ClientError::WorkflowClosed(why)) if why.contains("TimedOut")),
        "{result:?}"
    );
    let runs = runs(&client, "hangs").await;
    assert!(runs.len() >= 2, "the runs time out and are retried");
    let (last, earlier) = runs.split_last().unwrap();
    for (index, (_, history)) in earlier.iter().enumerate() {
        let EventAttributes::WorkflowExecutionTimedOut(timed_out) =
            &history.last().unwrap().attributes
        else {
            panic!("run {index} times out")
        };
        assert_eq!(timed_out.retry_state, RetryState::InProgress);
    }
    let EventAttributes::WorkflowExecutionTimedOut(timed_out) = &last.1.last().unwrap().attributes
    else {
        panic!("the last run times out")
    };
    assert_eq!(
        timed_out.retry_state,
        RetryState::Timeout,
        "no retry past the execution timeout"
    );
    assert_eq!(timed_out.new_execution_run_id, None);
    let expiration = start_attributes(&runs[0].1).workflow_execution_expiration_time;
    assert!(expiration.is_some());
    for (_, history) in &runs {
        assert_eq!(
            start_attributes(history).workflow_execution_expiration_time,
            expiration,
            "every run shares the chain's deadline"
        );
    }
    // The chain ends at its deadline, or earlier only when the next attempt could not
    // start before it: a run timing out less than one backoff (20 ms) before the deadline
    // is not retried (Temporal's rule, whatever the load on the machine).
    assert!(
        last.1
            .last()
            .unwrap()
            .event_time
            .saturating_add(Duration::from_millis(20))
            >= expiration.unwrap(),
        "the chain times out at its deadline, or within one backoff of it, never sooner"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn cron_runs_chain_their_results_and_a_failed_one_is_retried_first() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let options = StartWorkflowOptions {
        cron_schedule: Some(CronSchedule::parse("@every 1s").unwrap()),
        ..options("counter")
    };
    let handle = client
        .start_workflow(options, "Counter", &())
        .await
        .unwrap();
    // Wait for three completed cron runs.
    let mut completed = 0;
    for _ in 0..300 {
        completed = runs(&client, "counter")
            .await
            .iter()
            .filter(|(_, history)| {
                history.last().unwrap().event_type() == EventType::WorkflowExecutionCompleted
            })
            .count();
        if completed >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(completed >= 3, "three cron runs completed");
    // The handle names the first run, long closed; the current run is the schedule's.
    let current = client.handle(handle.workflow_id().clone(), None);
    current.terminate("enough").await.unwrap();
    let runs = runs(&client, "counter").await;
    // Run 1 (attempt 1) fails and is retried at once (retry before cron): run 2 is attempt
    // 2 of the first cron run and returns 1; runs 3 and 4 follow the schedule: 2, 3.
    let first = start_attributes(&runs[0].1);
    assert_eq!(
        first
            .cron_schedule
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("@every 1s")
    );
    assert!(
        first.first_workflow_task_backoff.is_some(),
        "the first run waits for its fire time"
    );
    let EventAttributes::WorkflowExecutionFailed(failed) = &runs[0].1.last().unwrap().attributes
    else {
        panic!("the first attempt fails")
    };
    assert_eq!(failed.new_execution_run_id, Some(runs[1].0));
    check_chained(&runs[0], &runs[1], ContinueAsNewInitiator::Retry);
    assert_eq!(start_attributes(&runs[1].1).attempt, 2);
    for (index, expected) in [(1, 1_u32), (2, 2), (3, 3)] {
        let history = &runs[index].1;
        let EventAttributes::WorkflowExecutionCompleted(done) = &history.last().unwrap().attributes
        else {
            panic!("run {index} completes")
        };
        let result: u32 = done.result.as_ref().unwrap().0[0].decode().unwrap();
        assert_eq!(result, expected);
        assert_eq!(done.new_execution_run_id, Some(runs[index + 1].0));
        check_chained(
            &runs[index],
            &runs[index + 1],
            ContinueAsNewInitiator::CronSchedule,
        );
        let next = start_attributes(&runs[index + 1].1);
        assert_eq!(next.attempt, 1, "a cron run starts at attempt 1");
        assert!(
            next.first_workflow_task_backoff.is_some(),
            "it waits for the next fire"
        );
    }
    assert_eq!(
        runs.last().unwrap().1.last().unwrap().event_type(),
        EventType::WorkflowExecutionTerminated,
        "terminating the current run ends the schedule"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
