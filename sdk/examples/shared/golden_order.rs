//! The golden stores' workflow (`examples/golden_store.rs` writes the stores, the SDK's
//! `golden_stores` test runs them to completion). Never change it: what the stores recorded
//! must replay against it.

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{ActivityContext, ActivityOptions};

/// Charges an order.
#[endure::activity(name = "Charge")]
pub(crate) async fn charge(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    Ok(format!("charged {order}"))
}

/// Charges the order, waits for the carrier's "ship" signal, pauses, and reports.
#[endure::workflow(name = "GoldenOrder")]
pub(crate) async fn golden_order(
    ctx: WorkflowContext,
    order: String,
) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    let charged = ctx.run_activity::<charge>(&order).await?;
    let carrier: String = ctx.signal_channel("ship").recv_json::<String>().await?;
    // "ups" orders pause long enough for the generator to stop with the timer pending.
    let pause = if carrier == "ups" { 60 } else { 1 };
    let _ = ctx.sleep(Duration::from_secs(pause)).await;
    Ok(format!("{charged}, shipped by {carrier}"))
}
