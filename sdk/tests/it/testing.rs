//! The time-skipping test environment: long sleeps finish at once; activities are mocked by
//! registering another implementation.

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::testing::{TEST_START, TestEnvironment};
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;

struct ChargeCard;

impl ActivityDefinition for ChargeCard {
    const NAME: &'static str = "ChargeCard";
    type Input = u64;
    type Output = String;
}

/// Charges, waits 30 days, charges again.
async fn subscription(ctx: WorkflowContext, amount: u64) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(30),
    ));
    let first = ctx.run_activity::<ChargeCard>(&amount).await?;
    let _ = ctx.sleep(Duration::from_secs(30 * 24 * 3600)).await;
    let second = ctx.run_activity::<ChargeCard>(&amount).await?;
    Ok(vec![first, second])
}

#[tokio::test(start_paused = true)]
async fn a_thirty_day_sleep_is_skipped_and_activities_are_mocked() {
    let environment = TestEnvironment::new().await.unwrap();
    let client = environment.client().clone();
    let queue = TaskQueueName::new("billing").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Subscription", subscription);
    // The mock: no card is charged in this test.
    worker.register_activity::<ChargeCard, _, _>(|_ctx, amount: u64| async move {
        Ok::<_, ActivityError>(format!("mock-charge-{amount}"))
    });
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("subscription-1").unwrap(), queue);
    let charges: Vec<String> = client
        .execute_workflow(options, "Subscription", &42u64)
        .await
        .unwrap();
    assert_eq!(charges, ["mock-charge-42", "mock-charge-42"]);
    let elapsed = environment.now().saturating_duration_since(TEST_START);
    assert!(
        elapsed >= Duration::from_secs(30 * 24 * 3600),
        "thirty days passed in workflow time: {elapsed:?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
