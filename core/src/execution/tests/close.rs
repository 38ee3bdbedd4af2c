//! Closing: complete, fail with retry, cron, continue-as-new, run and execution timeouts.

use std::time::Duration;

use super::harness::*;
use crate::command::*;
use crate::enums::{ContinueAsNewInitiator, WorkflowExecutionStatus};
use crate::execution::*;
use crate::failure::Failure;
use crate::history::EventAttributes;
use crate::options::StartWorkflowOptions;
use crate::retry::RetryPolicy;

fn fail_workflow(message: &str) -> Command {
    Command::FailWorkflowExecution(FailWorkflowExecutionCommandAttributes {
        failure: Failure::application(message, "OrderError"),
    })
}

fn started_attributes(next: &NextRun) -> &crate::history::WorkflowExecutionStartedEventAttributes {
    match &next.effects.events[0].attributes {
        EventAttributes::WorkflowExecutionStarted(started) => started,
        other => panic!("first event is {other:?}"),
    }
}

#[test]
fn a_failure_without_retry_policy_closes_the_run() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![fail_workflow("boom")]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 WorkflowExecutionFailed wtc=4 RetryPolicyNotSet",
    );
    assert!(effects.next_run.is_none());
    assert_eq!(run.machine.status(), WorkflowExecutionStatus::Failed);
}

#[test]
fn a_failure_with_retry_policy_starts_the_next_attempt_in_the_same_effects() {
    let retrying = StartWorkflowOptions {
        retry_policy: Some(RetryPolicy {
            maximum_attempts: 2,
            ..RetryPolicy::default()
        }),
        ..options()
    };
    let (mut run, _) = Run::start(retrying);
    let effects = run.run_task(vec![fail_workflow("boom")]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 WorkflowExecutionFailed wtc=4 InProgress new_run",
    );
    let next = effects.next_run.expect("a retry run");
    assert_eq!(
        Some(next.machine.run_id()),
        run.machine.new_execution_run_id()
    );
    let started = started_attributes(&next);
    assert_eq!(started.attempt, 2);
    assert_eq!(started.initiator, Some(ContinueAsNewInitiator::Retry));
    assert_eq!(
        started.continued_execution_run_id,
        Some(run.machine.run_id())
    );
    assert_eq!(started.first_execution_run_id, run.machine.run_id());
    assert_eq!(
        started
            .continued_failure
            .as_ref()
            .map(|f| f.message.as_str()),
        Some("boom")
    );
    assert_eq!(
        started.first_workflow_task_backoff,
        Some(Duration::from_secs(1))
    );
    check(&next.effects.events, "1 WorkflowExecutionStarted");
    assert_eq!(
        next.machine.next_deadline(),
        Some(run.now.saturating_add(Duration::from_secs(1)))
    );
    // The second attempt fails too: attempts are exhausted.
    let (mut second, _) = Run::start_request(StartRequest {
        first_workflow_task_backoff: None,
        ..retry_request(&next)
    });
    let effects = second.run_task(vec![fail_workflow("again")]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 WorkflowExecutionFailed wtc=4 MaximumAttemptsReached",
    );
}

/// A start request equal to the one that created `next` (for continuing the chain in a test).
fn retry_request(next: &NextRun) -> StartRequest {
    let started = started_attributes(next);
    StartRequest {
        namespace: crate::ids::Namespace::default(),
        workflow_id: next.machine.workflow_id().clone(),
        run_id: next.machine.run_id(),
        workflow_type: started.workflow_type.clone(),
        task_queue: started.task_queue.clone(),
        input: started.input.clone(),
        execution_expiration_time: started.workflow_execution_expiration_time,
        execution_timeout: started.workflow_execution_timeout,
        run_timeout: started.workflow_run_timeout,
        task_timeout: started.workflow_task_timeout,
        retry_policy: started.retry_policy.clone(),
        cron_schedule: started.cron_schedule.clone(),
        first_workflow_task_backoff: started.first_workflow_task_backoff,
        memo: started.memo.clone(),
        search_attributes: started.search_attributes.clone(),
        header: started.header.clone(),
        identity: started.identity.clone(),
        request_id: None,
        parent: None,
        continued: None,
        first_execution_run_id: started.first_execution_run_id,
        attempt: started.attempt,
        signal: None,
    }
}

#[test]
fn cron_waits_for_its_first_fire_and_chains_with_the_last_result() {
    let cron = options().with_cron_schedule("0 * * * *").unwrap();
    let (mut run, effects) = Run::start(cron);
    check(&effects.events, "1 WorkflowExecutionStarted");
    // T0 is 10:00:00 exactly; the next fire is 11:00.
    assert_eq!(
        run.machine.next_deadline(),
        Some(T0.saturating_add(Duration::from_secs(3600)))
    );
    run.fire_next_deadline();
    run.advance(Duration::from_secs(600));
    let effects = run.run_task(vec![complete("hourly report")]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 WorkflowExecutionCompleted wtc=4 new_run",
    );
    let next = effects.next_run.expect("the next cron run");
    let started = started_attributes(&next);
    assert_eq!(
        started.initiator,
        Some(ContinueAsNewInitiator::CronSchedule)
    );
    assert_eq!(started.last_completion_result, Some(json("hourly report")));
    assert_eq!(
        started.first_workflow_task_backoff,
        Some(Duration::from_secs(3000)),
        "11:10 to 12:00"
    );
}

#[test]
fn continue_as_new_closes_and_starts_the_next_run_atomically() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![Command::ContinueAsNewWorkflowExecution(Box::new(
        ContinueAsNewWorkflowExecutionCommandAttributes {
            workflow_type: None,
            task_queue: None,
            input: json("page 2"),
            workflow_run_timeout: None,
            workflow_task_timeout: None,
            backoff_start_interval: None,
            retry_policy: None,
            cron_schedule: None,
            header: Default::default(),
            memo: None,
            search_attributes: None,
        },
    ))]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 WorkflowExecutionContinuedAsNew wtc=4",
    );
    let next = effects.next_run.expect("the new run");
    check(
        &next.effects.events,
        "1 WorkflowExecutionStarted\n2 WorkflowTaskScheduled",
    );
    let started = started_attributes(&next);
    assert_eq!(started.input, json("page 2"));
    assert_eq!(started.initiator, Some(ContinueAsNewInitiator::Workflow));
    assert_eq!(
        run.machine.status(),
        WorkflowExecutionStatus::ContinuedAsNew
    );
}

pub(super) fn continue_as_new(input: &str, memo: Option<crate::payload::Memo>) -> Command {
    Command::ContinueAsNewWorkflowExecution(Box::new(
        ContinueAsNewWorkflowExecutionCommandAttributes {
            workflow_type: None,
            task_queue: None,
            input: json(input),
            workflow_run_timeout: None,
            workflow_task_timeout: None,
            backoff_start_interval: None,
            retry_policy: None,
            cron_schedule: None,
            header: Default::default(),
            memo,
            search_attributes: None,
        },
    ))
}

#[test]
fn a_signal_during_the_closing_task_is_handled_by_the_old_run_and_the_memo_carries_over() {
    let mut with_memo = options();
    with_memo.memo =
        crate::payload::Memo::new().with("owner", crate::payload::Payload::json(&"ada").unwrap());
    let (mut run, _) = Run::start(with_memo);
    let token = run.start_task();
    run.signal("late", None).unwrap();
    let input = run.completion(token, vec![continue_as_new("page 2", None)]);
    let effects = run.apply(input);
    assert!(effects.next_run.is_none(), "no new run yet");
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 UnhandledCommand
         5 WorkflowExecutionSignaled late
         6 WorkflowTaskScheduled",
    );
    // The workflow saw the signal; now it continues.
    let effects = run.run_task(vec![continue_as_new("page 2", None)]);
    check(
        &effects.events,
        "8 WorkflowTaskCompleted scheduled=6 started=7
         9 WorkflowExecutionContinuedAsNew wtc=8",
    );
    let next = effects.next_run.expect("the new run");
    let started = started_attributes(&next);
    assert_eq!(
        started.memo.get("owner"),
        Some(&crate::payload::Payload::json(&"ada").unwrap()),
        "the memo is carried unless the command replaces it"
    );
    assert_eq!(started.first_execution_run_id, run.machine.run_id());
    assert_eq!(
        started.continued_execution_run_id,
        Some(run.machine.run_id())
    );
}

#[test]
fn run_timeout_force_closes_the_running_task_then_retries() {
    let timed = StartWorkflowOptions {
        run_timeout: Some(Duration::from_secs(60)),
        retry_policy: Some(RetryPolicy::default()),
        ..options()
    };
    let (mut run, _) = Run::start(timed);
    run.run_task(vec![start_timer("long", Duration::from_secs(3600))]);
    run.signal("s", None).unwrap();
    run.start_task();
    assert_eq!(
        run.machine.next_deadline(),
        Some(T0.saturating_add(Duration::from_secs(10)))
    );
    run.advance(Duration::from_secs(5));
    run.signal("buffered", None).unwrap();
    run.advance(Duration::from_secs(55));
    let effects = run.fire();
    check(
        &effects.events,
        "9 WorkflowTaskFailed scheduled=7 started=8 ForceCloseCommand
         10 WorkflowExecutionSignaled buffered
         11 WorkflowExecutionTimedOut InProgress new_run",
    );
    assert!(effects.next_run.is_some());
}

#[test]
fn execution_timeout_ends_the_chain() {
    let timed = StartWorkflowOptions {
        execution_timeout: Some(Duration::from_secs(30)),
        retry_policy: Some(RetryPolicy::default()),
        ..options()
    };
    let (mut run, _) = Run::start(timed);
    run.advance(Duration::from_secs(30));
    let effects = run.fire();
    check(&effects.events, "3 WorkflowExecutionTimedOut Timeout");
    assert!(effects.next_run.is_none());
}

#[test]
fn retry_does_not_outlive_the_execution_timeout() {
    let timed = StartWorkflowOptions {
        execution_timeout: Some(Duration::from_secs(30)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_secs(40),
            ..RetryPolicy::default()
        }),
        ..options()
    };
    let (mut run, _) = Run::start(timed);
    let effects = run.run_task(vec![fail_workflow("boom")]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3\n5 WorkflowExecutionFailed wtc=4 Timeout",
    );
}
