//! The Quick Start's activity and workflow (spec §2.1, §2.2), shared by the embedded
//! example (`quickstart`) and the two-process one (`quickstart_remote`).

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{ActivityContext, ActivityOptions, RetryPolicy};

/// §2.1: the activity, `SendEmail(userID, subject) -> "sent"`. Its type name would be
/// `send_email`, the function's; `name` keeps the Go worker's name.
#[endure::activity(name = "SendEmail")]
pub(crate) async fn send_email(
    _ctx: ActivityContext,
    user_id: String,
    subject: String,
) -> Result<String, ActivityError> {
    println!("Sending email to {user_id} with subject {subject}");
    Ok("sent".into())
}

/// §2.2: the workflow.
#[endure::workflow(name = "OrderWorkflow")]
pub(crate) async fn order_workflow(
    ctx: WorkflowContext,
    user_id: String,
) -> Result<String, WorkflowError> {
    // 1. Activity options: timeout and retry policy.
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy::with_maximum_attempts(3)),
        ..ActivityOptions::default()
    });
    // 2. Run the activity.
    let result = ctx
        .run_activity::<send_email>(&(user_id, "Order Created".to_owned()))
        .await?;
    // 3. A durable sleep (never std::thread::sleep or tokio::time::sleep).
    ctx.logger().info("sleeping for 5 seconds");
    let _ = ctx.sleep(Duration::from_secs(5)).await;
    Ok(format!("workflow_completed_{result}"))
}
