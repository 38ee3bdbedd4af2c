//! Activities completed from outside their worker, under faults: each invoice's approval
//! activity hands its completion token to an approver on the client's node and returns
//! `result_pending`; the approver answers over the network while workers and the engine
//! are killed, connections dropped, partitioned and clogged, and requests delayed and
//! duplicated. Some invoices are answered by token, some by workflow and activity id, and
//! some have their first attempt failed by token so that a retry asks again. An answer
//! lost to a fault is sent again until the engine takes it or says the attempt is gone; an
//! attempt no one answers in time is timed out and retried. Every invoice ends with the
//! approver's amount, every completion is the approver's, and each failed-first invoice
//! completes on a later attempt. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_sim::driver::{result_when_reachable, start_until_taken};
use endure_sim::simulation::{Outcome, Simulation, check};
use endure_sim::swarm::Fault;
use tokio::sync::mpsc;

const QUEUE: &str = "invoices";
const INVOICES: u32 = 6;
const APPROVER: &str = "approver";

struct Approve;

impl endure::activity::ActivityDefinition for Approve {
    const NAME: &'static str = "Approve";
    type Input = u32;
    type Output = u32;
}

/// Waits for the approval of invoice `invoice` and returns the amount approved.
#[endure::workflow(name = "Invoice")]
async fn invoice(ctx: WorkflowContext, invoice: u32) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        activity_id: Some(ActivityId::new("approval").expect("a valid id")),
        start_to_close_timeout: Some(Duration::from_secs(3)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(300),
            maximum_interval: Some(Duration::from_secs(1)),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<Approve>(&invoice).await?)
}

/// The amount the approver grants invoice `invoice`.
fn amount(invoice: u32) -> u32 {
    invoice * 7 + 1
}

/// How the approver answers an invoice: 0 fails its first attempt by token, 1 answers by
/// ids, 2 by token.
fn way(invoice: u32) -> u32 {
    invoice % 3
}

fn workflow_id(invoice: u32) -> String {
    format!("invoice-{invoice}")
}

/// An attempt handed out: its invoice, attempt and token.
type Handed = (u32, u32, ActivityCompletionToken);

/// Sends `answer` until the engine takes it (`true`) or says the attempt is gone or the
/// run closed (`false`: a retry, if any, hands out a new token).
async fn until_taken<F, Fut>(answer: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>>,
{
    loop {
        match answer().await {
            Ok(()) => return true,
            Err(ClientError::Remote(error))
                if matches!(
                    error.kind,
                    ErrorKind::NotFound | ErrorKind::FailedPrecondition
                ) =>
            {
                return false;
            }
            // Unreachable, unavailable, timed out: the same answer again.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Answers every attempt handed out, as [`way`] says, until the channel closes.
async fn approve(client: Client, mut handed: mpsc::UnboundedReceiver<Handed>) {
    let client = client.with_identity(APPROVER);
    while let Some((invoice, attempt, token)) = handed.recv().await {
        let client = client.clone();
        // Each answer on its own, so one stuck behind a partition holds up no other.
        tokio::spawn(async move {
            let handle = match way(invoice) {
                1 => {
                    let (Ok(workflow), Ok(activity)) = (
                        WorkflowId::new(workflow_id(invoice)),
                        ActivityId::new("approval"),
                    ) else {
                        return;
                    };
                    client.async_activity_by_id(workflow, None, activity)
                }
                _ => client.async_activity(token),
            };
            if way(invoice) == 0 && attempt == 1 {
                until_taken(|| {
                    let handle = handle.clone();
                    async move {
                        handle
                            .fail(ActivityError::application("ask again", "AskAgain"))
                            .await
                    }
                })
                .await;
            } else {
                until_taken(|| {
                    let handle = handle.clone();
                    async move { handle.complete(&amount(invoice)).await }
                })
                .await;
            }
        });
    }
}

/// Every ActivityTaskCompleted is the approver's; a failed-first invoice's last attempt is
/// a later one.
fn completions_are_the_approvers(outcome: &Outcome) -> Result<(), String> {
    for (run, history) in &outcome.histories {
        // Runs are named `invoice-<n>/<run id>`.
        let invoice: Option<u32> = run
            .strip_prefix("invoice-")
            .and_then(|rest| rest.split('/').next())
            .and_then(|number| number.parse().ok());
        if invoice.is_none() {
            return Err(format!("{run}: not an invoice's run"));
        }
        for event in history {
            match &event.attributes {
                EventAttributes::ActivityTaskCompleted(completed)
                    if completed.identity != APPROVER =>
                {
                    return Err(format!(
                        "{run}: event {} completed by {}",
                        event.event_id, completed.identity
                    ));
                }
                EventAttributes::ActivityTaskStarted(started)
                    if invoice.is_some_and(|invoice| way(invoice) == 0) && started.attempt < 2 =>
                {
                    return Err(format!(
                        "{run}: completed on attempt {}, whose first the approver failed",
                        started.attempt
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn simulation(_seed: u64) -> Simulation {
    let (hand, handed) = mpsc::unbounded_channel::<Handed>();
    let handed = Arc::new(Mutex::new(Some(handed)));
    Simulation::new(QUEUE)
        .workers(2, move |worker| {
            let hand = hand.clone();
            worker.register::<invoice>();
            worker.register_activity::<Approve, _, _>(move |ctx: ActivityContext, invoice: u32| {
                let _ = hand.send((invoice, ctx.info().attempt, ctx.completion_token()));
                async { Err(ActivityError::result_pending()) }
            });
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
        .replay::<invoice>()
        .invariant(
            "every completion is the approver's; a failed first attempt is retried",
            completions_are_the_approvers,
        )
        .invariant("each invoice gets its amount", |outcome| {
            (0..INVOICES).try_for_each(|invoice| {
                let approved: u32 = outcome.result(&workflow_id(invoice)).ok_or("no result")??;
                if approved == amount(invoice) {
                    Ok(())
                } else {
                    Err(format!(
                        "invoice-{invoice} got {approved}, expected {}",
                        amount(invoice)
                    ))
                }
            })
        })
        .scenario(move |driver| {
            let handed = handed.lock().ok().and_then(|mut handed| handed.take());
            async move {
                let handed = handed.ok_or("the scenario ran twice")?;
                let approver = tokio::spawn(approve(driver.client.clone(), handed));
                let mut handles = Vec::new();
                for invoice in 0..INVOICES {
                    let mut options = StartWorkflowOptions::new(
                        WorkflowId::new(workflow_id(invoice)).map_err(|e| e.to_string())?,
                        TaskQueueName::new(QUEUE).map_err(|e| e.to_string())?,
                    );
                    options.request_id = Some(
                        format!("start-{invoice}")
                            .parse()
                            .map_err(|e: ValidationError| e.to_string())?,
                    );
                    handles.push(
                        start_until_taken::<invoice>(&driver.client, options, &invoice).await,
                    );
                }
                for (invoice, handle) in (0..INVOICES).zip(&handles) {
                    let approved = result_when_reachable::<u32>(handle)
                        .await
                        .map_err(|error| error.to_string())?;
                    if approved != amount(invoice) {
                        return Err(format!("invoice-{invoice} got {approved}"));
                    }
                }
                approver.abort();
                Ok(())
            }
        })
}

#[test]
fn async_activities_complete_once_from_outside_their_workers_under_faults() {
    let outcomes = check(
        "async_activities_complete_once_from_outside_their_workers_under_faults",
        0..8,
        simulation,
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    let faults: usize = outcomes.iter().map(|outcome| outcome.faults.len()).sum();
    let attempts: u32 = outcomes
        .iter()
        .flat_map(|outcome| outcome.histories.values())
        .flatten()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskStarted(started) => Some(started.attempt),
            _ => None,
        })
        .sum();
    let seeds = outcomes.len();
    println!("{seeds} seeds: {faults} faults; final attempts summed {attempts}");
    assert!(faults >= seeds, "faults were thrown: {faults}");
}
