//! The tutorial's shop: an order workflow that reserves stock, charges the customer and
//! ships, and a fake payment provider that — like a real one — charges every request it is
//! sent unless the request carries an idempotency key it has seen before.
//!
//! The charge activity comes in two versions ([`ChargeStyle`]): the first sends no key, so
//! an attempt whose result is lost (a worker crash after the provider charged) charges the
//! customer again on retry; the second sends a key made from the activity's identity in its
//! workflow, the same for every attempt. See `README.md` for the tutorial and `tests/` for
//! the simulations that tell them apart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{ActivityContext, ActivityOptions, RetryPolicy, Worker};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The task queue of the shop's workers.
pub const TASK_QUEUE: &str = "orders";

/// How long the provider takes to answer a charge: a crash in this window loses an answer
/// after the money moved.
pub const PROVIDER_LATENCY: Duration = Duration::from_secs(2);

/// An order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order's id (its workflow id too).
    pub id: String,
    /// What it costs, in cents.
    pub cents: u64,
}

/// The payment provider, shared by every worker (it is outside them, as a real one is).
#[derive(Clone, Debug, Default)]
pub struct PaymentProvider {
    state: Arc<Mutex<Provider>>,
}

#[derive(Debug, Default)]
struct Provider {
    /// Every charge made: the order and the amount.
    charges: Vec<(String, u64)>,
    /// The idempotency keys seen, and the charge id each got.
    keys: BTreeMap<String, usize>,
}

impl PaymentProvider {
    /// Charges `cents` for `order`: a new charge each call, unless `key` was seen before,
    /// when the first charge's id is returned and nothing is charged. Answers after
    /// [`PROVIDER_LATENCY`].
    pub async fn charge(&self, order: &str, cents: u64, key: Option<String>) -> usize {
        let id = {
            let mut state = self.state.lock();
            match key.as_ref().and_then(|key| state.keys.get(key)) {
                Some(id) => *id,
                None => {
                    state.charges.push((order.to_owned(), cents));
                    let id = state.charges.len();
                    if let Some(key) = key {
                        state.keys.insert(key, id);
                    }
                    id
                }
            }
        };
        tokio::time::sleep(PROVIDER_LATENCY).await;
        id
    }

    /// How many times each order was charged.
    pub fn charges_per_order(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (order, _) in &self.state.lock().charges {
            *counts.entry(order.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The invariant: every order of `orders` charged exactly once.
    pub fn each_charged_once(&self, orders: &[String]) -> Result<(), String> {
        let counts = self.charges_per_order();
        for order in orders {
            match counts.get(order).copied().unwrap_or(0) {
                1 => {}
                times => return Err(format!("{order} was charged {times} times")),
            }
        }
        Ok(())
    }
}

/// Which charge activity the workers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargeStyle {
    /// The first version: no idempotency key.
    Naive,
    /// The fix: a key from the activity's workflow and activity id, the same on every
    /// attempt.
    Idempotent,
}

/// Reserves stock (always succeeds here).
#[endure::activity(name = "Reserve")]
pub async fn reserve(_ctx: ActivityContext, order: Order) -> Result<(), ActivityError> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = order;
    Ok(())
}

/// Charges the order through the provider (registered with [`register`], which picks the
/// version).
pub struct Charge;

impl endure::activity::ActivityDefinition for Charge {
    const NAME: &'static str = "Charge";
    type Input = Order;
    type Output = usize;
}

/// Ships the order.
#[endure::activity(name = "Ship")]
pub async fn ship(_ctx: ActivityContext, order: Order) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(format!("{} shipped", order.id))
}

/// The order workflow: reserve, charge, ship; returns the shipping note.
#[endure::workflow(name = "Order")]
pub async fn order(ctx: WorkflowContext, order: Order) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_secs(1),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    ctx.run_activity::<reserve>(&order).await?;
    ctx.run_activity::<Charge>(&order).await?;
    Ok(ctx.run_activity::<ship>(&order).await?)
}

/// Registers the shop on `worker`, its charge activity in `style`, charging through
/// `provider`.
pub fn register(worker: &mut Worker, provider: &PaymentProvider, style: ChargeStyle) {
    let provider = provider.clone();
    worker
        .register::<order>()
        .register::<reserve>()
        .register::<ship>()
        .register_activity::<Charge, _, _>(move |ctx: ActivityContext, order: Order| {
            let provider = provider.clone();
            async move {
                let key = match style {
                    ChargeStyle::Naive => None,
                    // The same for every attempt of this activity, unique across runs.
                    ChargeStyle::Idempotent => {
                        let info = ctx.info();
                        Some(format!(
                            "{}/{}/{}",
                            info.execution.workflow_id, info.execution.run_id, info.activity_id
                        ))
                    }
                };
                Ok(provider.charge(&order.id, order.cents, key).await)
            }
        });
}
