//! Reset end to end (spec §5.12.5) on the embedded engine over redb: a run that failed on a
//! bug is reset to its first workflow task once the bug is fixed and completes, its signal
//! and update reapplied, its randomness reseeded; a running run is terminated by a reset;
//! a reset request id deduplicates; a bad point is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use parking_lot::Mutex;

use crate::store_client;

/// Waits for approval, charges the amount, and returns the receipt with the tips sent as
/// updates meanwhile; the charge carries the workflow's first random number, so a test sees
/// each run's seed.
async fn payment(ctx: WorkflowContext, amount: u32) -> Result<String, WorkflowError> {
    let seed = ctx.random_u64();
    let tips = Arc::new(Mutex::new(0_u32));
    let added = Arc::clone(&tips);
    ctx.set_update_handler("tip", move |_ctx: WorkflowContext, tip: u32| {
        let added = Arc::clone(&added);
        async move {
            let mut total = added.lock();
            *total += tip;
            Ok(*total)
        }
    });
    let approval: String = ctx.signal_channel("approve").recv_json().await?;
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy::with_maximum_attempts(1)),
        ..ActivityOptions::default()
    });
    let receipt: String = ctx.execute_activity("Charge", &(amount, seed)).await?;
    let tipped = *tips.lock();
    Ok(format!("{approval}:{receipt}:tips {tipped}"))
}

struct Bank {
    fixed: AtomicBool,
    seeds: Mutex<Vec<u64>>,
}

fn start_worker(
    client: &Client,
    bank: Arc<Bank>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new("payments").unwrap(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Payment", payment);
    worker.register_activity::<Charge, _, _>(move |_ctx: ActivityContext, (total, seed)| {
        let bank = Arc::clone(&bank);
        async move {
            bank.seeds.lock().push(seed);
            if bank.fixed.load(Ordering::SeqCst) {
                Ok(format!("charged {total}"))
            } else {
                Err(ActivityError::application("card service bug", "Bug").non_retryable())
            }
        }
    });
    crate::spawn_worker(worker)
}

struct Charge;

impl endure::activity::ActivityDefinition for Charge {
    const NAME: &'static str = "Charge";
    type Input = (u32, u64);
    type Output = String;
}

fn render(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .map(|event| {
            let detail = match &event.attributes {
                EventAttributes::WorkflowTaskFailed(a) => format!(" {:?}", a.cause),
                EventAttributes::WorkflowExecutionSignaled(a) => format!(" {}", a.signal_name),
                EventAttributes::WorkflowExecutionUpdateAdmitted(a) => {
                    format!(" {} {:?}", a.request.name, a.origin)
                }
                EventAttributes::WorkflowExecutionUpdateAccepted(a) => {
                    format!(" {}", a.accepted_request.name)
                }
                _ => String::new(),
            };
            format!("{} {}{detail}", event.event_id, event.event_type())
        })
        .collect()
}

/// Waits until the run's history holds `count` WorkflowTaskCompleted events.
async fn await_completed_tasks(handle: &WorkflowHandle, count: usize) {
    for _ in 0..500 {
        let history = handle.history().await.unwrap();
        let completed = history
            .iter()
            .filter(|event| event.event_type() == EventType::WorkflowTaskCompleted)
            .count();
        if completed >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the workflow did not complete {count} workflow tasks");
}

fn start_options(id: &str) -> StartWorkflowOptions {
    StartWorkflowOptions::new(
        WorkflowId::new(id).unwrap(),
        TaskQueueName::new("payments").unwrap(),
    )
}

#[tokio::test]
async fn a_failed_run_is_reset_to_its_first_task_and_completes() {
    let (client, _store) = store_client().await;
    let bank = Arc::new(Bank {
        fixed: AtomicBool::new(false),
        seeds: Mutex::new(Vec::new()),
    });
    let (stop, running) = start_worker(&client, Arc::clone(&bank));
    let handle = client
        .start_workflow(start_options("payment-1"), "Payment", &100_u32)
        .await
        .unwrap();
    await_completed_tasks(&handle, 1).await;
    let tip: u32 = handle.update("tip", &5_u32).await.unwrap();
    assert_eq!(tip, 5);
    handle.signal("approve", &"ok").await.unwrap();
    let failed = handle.result::<String>().await;
    assert!(
        matches!(failed, Err(ClientError::WorkflowFailed(_))),
        "{failed:?}"
    );
    let old_run = handle.describe().await.unwrap().execution.run_id;

    // The bug is fixed; the run starts over from its first task.
    bank.fixed.store(true, Ordering::SeqCst);
    let new_run = handle
        .reset(ResetOptions::new(
            ResetPoint::FirstWorkflowTask,
            "card bug fixed",
        ))
        .await
        .unwrap();
    assert_ne!(new_run, old_run);
    let reset = client.handle(handle.workflow_id().clone(), Some(new_run));
    assert_eq!(
        reset.result::<String>().await.unwrap(),
        "ok:charged 100:tips 5"
    );
    let current = client.handle(handle.workflow_id().clone(), None);
    assert_eq!(current.describe().await.unwrap().execution.run_id, new_run);

    let old = client.handle(handle.workflow_id().clone(), Some(old_run));
    let old_history = old.history().await.unwrap();
    assert_eq!(
        old_history.last().unwrap().event_type(),
        EventType::WorkflowExecutionFailed,
        "a closed run is left as it was"
    );
    let history = reset.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        history[..3],
        old_history[..3],
        "the prefix is the old run's"
    );
    assert_eq!(
        render(&history),
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted",
            "4 WorkflowTaskFailed ResetWorkflow",
            "5 WorkflowExecutionUpdateAdmitted tip Reapply",
            "6 WorkflowExecutionSignaled approve",
            "7 WorkflowTaskScheduled",
            "8 WorkflowTaskStarted",
            "9 WorkflowTaskCompleted",
            // The signal is handled first (the main routine schedules the charge), then
            // the update delivered with the task.
            "10 ActivityTaskScheduled",
            "11 WorkflowExecutionUpdateAccepted tip",
            "12 WorkflowExecutionUpdateCompleted",
            "13 ActivityTaskStarted",
            "14 ActivityTaskCompleted",
            "15 WorkflowTaskScheduled",
            "16 WorkflowTaskStarted",
            "17 WorkflowTaskCompleted",
            "18 WorkflowExecutionCompleted",
        ]
    );
    let EventAttributes::WorkflowTaskFailed(failed) = &history[3].attributes else {
        unreachable!()
    };
    assert_eq!(failed.base_run_id, Some(old_run));
    assert_eq!(failed.new_run_id, Some(new_run));
    assert_eq!(failed.failure.as_ref().unwrap().message, "card bug fixed");
    let seeds = bank.seeds.lock().clone();
    assert_eq!(seeds.len(), 2, "one charge per run");
    assert_ne!(seeds[0], seeds[1], "the reset run's randomness is reseeded");
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_reset_terminates_the_running_run_once_per_request_id() {
    let (client, _store) = store_client().await;
    let bank = Arc::new(Bank {
        fixed: AtomicBool::new(true),
        seeds: Mutex::new(Vec::new()),
    });
    let (stop, running) = start_worker(&client, Arc::clone(&bank));
    let handle = client
        .start_workflow(start_options("payment-2"), "Payment", &7_u32)
        .await
        .unwrap();
    await_completed_tasks(&handle, 1).await;
    let old_run = handle.describe().await.unwrap().execution.run_id;

    // A point that is not a workflow task's end is refused, and changes nothing.
    let refused = handle
        .reset(ResetOptions::new(
            ResetPoint::Event(endure_core::EventId::new(1).unwrap()),
            "wrong point",
        ))
        .await;
    let error = refused.unwrap_err().to_string();
    assert!(
        error.contains("not the end of a started workflow task"),
        "{error}"
    );

    let options = ResetOptions {
        request_id: Some("reset-payment-2".into()),
        ..ResetOptions::new(ResetPoint::LastWorkflowTask, "stuck")
    };
    let new_run = handle.reset(options.clone()).await.unwrap();
    let again = client
        .handle(handle.workflow_id().clone(), Some(old_run))
        .reset(options)
        .await
        .unwrap();
    assert_eq!(again, new_run, "the same request id is the same reset");

    let old = client.handle(handle.workflow_id().clone(), Some(old_run));
    let old_history = old.history().await.unwrap();
    let last = old_history.last().unwrap();
    let EventAttributes::WorkflowExecutionTerminated(terminated) = &last.attributes else {
        panic!("the old run ends terminated: {:?}", render(&old_history))
    };
    assert_eq!(terminated.reason, "reset: stuck");

    // The workflow id's current run is the new one: a signal reaches it.
    let current = client.handle(handle.workflow_id().clone(), None);
    current.signal("approve", &"yes").await.unwrap();
    assert_eq!(
        current.result::<String>().await.unwrap(),
        "yes:charged 7:tips 0"
    );
    let history = current.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        render(&history)[..7],
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted",
            "4 WorkflowTaskFailed ResetWorkflow",
            "5 WorkflowTaskScheduled",
            "6 WorkflowTaskStarted",
            "7 WorkflowTaskCompleted",
        ]
    );
    let _ = stop.send(());
    running.await.unwrap();
}
