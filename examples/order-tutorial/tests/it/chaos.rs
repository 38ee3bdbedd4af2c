//! The tutorial without the simulator: `check_seeds` runs the workflow on the in-process
//! test environment whose worker runs some activity attempts twice — what a crash after the
//! provider charged does in production. The first charge activity is caught; the fix
//! passes.

use endure::chaos::Chaos;
use endure::testing::{ScenarioError, TestEnvironment, check_seeds};
use endure::{StartWorkflowOptions, TaskQueueName, WorkflowId};
use order_tutorial::{ChargeStyle, Order, PaymentProvider, TASK_QUEUE, order, register};

/// Places three orders and checks each was charged once.
async fn three_orders(
    environment: TestEnvironment,
    style: ChargeStyle,
) -> Result<(), ScenarioError> {
    let provider = PaymentProvider::default();
    let queue = TaskQueueName::new(TASK_QUEUE)?;
    let mut worker = environment.worker(queue.clone());
    register(&mut worker, &provider, style);
    environment.spawn_worker(worker);
    let mut ids = Vec::new();
    for number in 1..=3u64 {
        let id = format!("order-{number}");
        let options = StartWorkflowOptions::new(WorkflowId::new(id.as_str())?, queue.clone());
        let input = Order {
            id: id.clone(),
            cents: 1_000 * number,
        };
        let handle = environment.client().start::<order>(options, &input).await?;
        handle.result::<String>().await?;
        ids.push(id);
    }
    provider.each_charged_once(&ids)?;
    Ok(())
}

/// Every fault chaos has, and attempts run twice one time in three.
fn chaos(seed: u64) -> Chaos {
    Chaos::new(seed).activity_twice(0.3)
}

#[test]
fn chaos_finds_the_double_charge() {
    let failure = check_seeds(
        "chaos_finds_the_double_charge",
        0..10,
        chaos,
        |environment| three_orders(environment, ChargeStyle::Naive),
    )
    .expect_err("an attempt run twice charges twice");
    assert!(failure.error.contains("charged 2 times"), "{failure}");
    assert!(
        failure
            .faults
            .iter()
            .any(|fault| fault.contains("ActivityTwice")),
        "{failure}"
    );
}

#[test]
fn chaos_passes_the_idempotent_charge() {
    check_seeds(
        "chaos_passes_the_idempotent_charge",
        0..20,
        chaos,
        |environment| three_orders(environment, ChargeStyle::Idempotent),
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
}
