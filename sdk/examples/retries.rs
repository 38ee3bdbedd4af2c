//! Failure detection (spec §5.14): an activity retried by the engine, with the
//! application's own `next_retry_delay` overriding the policy's backoff (§5.14.5), and a
//! non-retryable error that reaches the workflow at once (§5.14.4).
//!
//! `cargo run -p endure --example retries [STORE_FILE]`

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, RetryPolicy, StartWorkflowOptions, TaskQueueName, Worker,
    WorkerOptions, WorkflowId,
};

/// Declined twice by a flaky card processor, then accepted.
struct ChargeCard;

impl ActivityDefinition for ChargeCard {
    const NAME: &'static str = "ChargeCard";
    type Input = u32;
    type Output = String;
}

async fn charge_card(ctx: ActivityContext, cents: u32) -> Result<String, ActivityError> {
    let attempt = ctx.info().attempt;
    if attempt < 3 {
        println!("ChargeCard attempt {attempt}: processor busy, retry in 200 ms");
        // The policy would wait 10 s; the processor says 200 ms is enough.
        return Err(
            ActivityError::application("processor busy", "ProcessorBusy")
                .with_next_retry_delay(Duration::from_millis(200)),
        );
    }
    println!("ChargeCard attempt {attempt}: charged {cents}");
    Ok(format!("charged {cents}"))
}

/// Rejects an address no retry can fix.
struct ValidateAddress;

impl ActivityDefinition for ValidateAddress {
    const NAME: &'static str = "ValidateAddress";
    type Input = String;
    type Output = ();
}

async fn validate_address(ctx: ActivityContext, address: String) -> Result<(), ActivityError> {
    println!(
        "ValidateAddress attempt {}: {address:?} is not an address",
        ctx.info().attempt
    );
    Err(ActivityError::application("no such street", "InvalidAddress").non_retryable())
}

async fn checkout_workflow(
    ctx: WorkflowContext,
    (cents, address): (u32, String),
) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_secs(10),
            ..RetryPolicy::with_maximum_attempts(5)
        }),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
    });
    let charged = ctx.run_activity::<ChargeCard>(&cents).await?;
    match ctx.run_activity::<ValidateAddress>(&address).await {
        Ok(()) => Ok(format!("{charged}, shipping to {address}")),
        Err(error) => Ok(format!("{charged}, not shipped: {error}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-retries.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;

    let queue = TaskQueueName::new("checkout")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("CheckoutWorkflow", checkout_workflow);
    worker.register_activity::<ChargeCard, _, _>(charge_card);
    worker.register_activity::<ValidateAddress, _, _>(validate_address);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let options = StartWorkflowOptions::new(WorkflowId::new("checkout-3")?, queue);
    let result: String = client
        .execute_workflow(options, "CheckoutWorkflow", &(4200u32, "nowhere"))
        .await?;
    println!("Workflow result: {result}");
    println!("History (retries leave one ActivityTaskStarted, of the last attempt):");
    let handle = client.handle(WorkflowId::new("checkout-3")?, None);
    for event in handle.history().await? {
        println!("  {:>3} {}", event.event_id, event.event_type());
    }
    let _ = stop.send(());
    running.await?;
    Ok(())
}
