//! The tutorial under the simulator: a deployment of two workers and an engine on a
//! simulated disk; workers and the engine are killed and the disk loses power while three
//! orders run. The first charge activity charges some order twice on some seed; the fix
//! passes every seed (`ENDURE_SIM_SEEDS=0..500` for the tutorial's 500).

use std::time::Duration;

use endure::{StartWorkflowOptions, TaskQueueName, WorkflowId};
use endure_sim::driver::{result_when_reachable, start_until_taken};
use endure_sim::simulation::{Simulation, check};
use endure_sim::swarm::Fault;
use order_tutorial::{ChargeStyle, Order, PaymentProvider, TASK_QUEUE, order, register};

/// The orders each seed places.
const ORDERS: u32 = 3;

/// The seed's deployment with the charge activity in `style`.
fn simulation(style: ChargeStyle) -> Simulation {
    let provider = PaymentProvider::default();
    let audited = provider.clone();
    let ids: Vec<String> = (1..=ORDERS).map(|n| format!("order-{n}")).collect();
    let placed = ids.clone();
    Simulation::new(TASK_QUEUE)
        .workers(2, move |worker| register(worker, &provider, style))
        .faults(&[Fault::KillWorker, Fault::KillEngine, Fault::PowerLoss])
        .replay::<order>()
        .invariant("every order is charged exactly once", move |_outcome| {
            audited.each_charged_once(&ids)
        })
        .scenario(move |driver| {
            let placed = placed.clone();
            async move {
                let mut handles = Vec::new();
                for (number, id) in placed.iter().enumerate() {
                    let mut options = StartWorkflowOptions::new(
                        WorkflowId::new(id.as_str()).map_err(|e| e.to_string())?,
                        TaskQueueName::new(TASK_QUEUE).map_err(|e| e.to_string())?,
                    );
                    // So a start whose answer was lost is found again, not refused.
                    options.request_id = Some(
                        format!("place-{id}")
                            .parse()
                            .map_err(|e: endure::ValidationError| e.to_string())?,
                    );
                    let cents = 1_000 + 250 * u64::try_from(number).unwrap_or(0);
                    let input = Order {
                        id: id.clone(),
                        cents,
                    };
                    handles.push(start_until_taken::<order>(&driver.client, options, &input).await);
                    tokio::time::sleep(Duration::from_millis(700)).await;
                }
                for handle in &handles {
                    result_when_reachable::<String>(handle)
                        .await
                        .map_err(|error| error.to_string())?;
                }
                Ok(())
            }
        })
}

#[test]
fn the_simulation_finds_the_double_charge() {
    let failure = check("the_simulation_finds_the_double_charge", 0..50, |_seed| {
        simulation(ChargeStyle::Naive)
    })
    .expect_err("some seed charges an order twice");
    assert!(failure.error.contains("charged 2 times"), "{failure}");
    assert!(
        failure
            .faults
            .iter()
            .any(|fault| fault.contains("Kill worker-")),
        "a worker was killed: {failure}"
    );
    assert!(
        failure
            .rerun
            .contains(&format!("ENDURE_SIM_SEED={}", failure.seed))
    );
    assert_eq!(failure.histories.len(), ORDERS as usize, "{failure}");
}

#[test]
fn idempotency_keys_charge_every_order_once() {
    let outcomes = check("idempotency_keys_charge_every_order_once", 0..5, |_seed| {
        simulation(ChargeStyle::Idempotent)
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert!(outcomes.iter().any(|outcome| !outcome.faults.is_empty()));
}
