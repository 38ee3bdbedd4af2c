//! Schedules (spec §5.17.1–4): a schedule that starts a workflow every day at 10:00 — a
//! calendar spec and the same time as a cron string — then a backfill of two past ranges,
//! a pause and an unpause with notes, and five triggers under ALLOW_ALL. The engine keeps
//! each schedule durable and takes every due action exactly once, also after a restart.
//!
//! `cargo run -p endure --example schedules [STORE_FILE]`

use std::time::Duration;

use endure::schedule::{
    Backfill, CalendarSpec, ScheduleOverlapPolicy, ScheduleRange, ScheduleSpec,
};
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::{
    ScheduleOptions, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId,
    schedule_workflow_action,
};

/// The scheduled workflow: what it does matters less than when it runs.
async fn schedule_workflow(ctx: WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    Ok(format!("ran as {}", ctx.info().workflow_id()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-schedules.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;
    let queue = TaskQueueName::new("schedule")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("ScheduleWorkflow", schedule_workflow);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    // §5.17.1 Create: every day at 10:00 (UTC), as a calendar and as a cron string.
    let spec = ScheduleSpec {
        calendars: vec![CalendarSpec {
            hour: vec![ScheduleRange::value(10)],
            ..CalendarSpec::default()
        }],
        cron_expressions: vec!["0 10 * * *".into()],
        ..ScheduleSpec::default()
    };
    let action = schedule_workflow_action(
        StartWorkflowOptions::new(WorkflowId::new("schedule_workflow_id")?, queue),
        "ScheduleWorkflow",
        &(),
    )?;
    let handle = client
        .schedules()
        .create(ScheduleOptions::new("schedule_id", spec, action))
        .await?;
    let description = handle.describe().await?;
    println!("Created schedule {}; next runs:", handle.id());
    for time in description.future_action_times.iter().take(3) {
        println!("  {time}");
    }

    // §5.17.2 Backfill: the 10:00 runs of two past ranges, as if they were due now.
    let now = description
        .info
        .created_at
        .ok_or("a schedule knows when it was created")?;
    let day = Duration::from_secs(24 * 3600);
    handle
        .backfill(vec![
            Backfill {
                start: now.saturating_sub(4 * day),
                end: now.saturating_sub(2 * day),
                overlap: ScheduleOverlapPolicy::AllowAll,
            },
            Backfill {
                start: now.saturating_sub(2 * day),
                end: now,
                overlap: ScheduleOverlapPolicy::AllowAll,
            },
        ])
        .await?;
    let description = wait_for_actions(&handle, 4).await?;
    println!("Backfilled {} runs:", description.info.action_count);
    for action in &description.info.recent_actions {
        println!(
            "  {} (scheduled for {})",
            action.workflow_id, action.schedule_time
        );
    }

    // §5.17.3 Pause and unpause, with notes.
    handle.pause("The Schedule has been paused.").await?;
    let description = handle.describe().await?;
    println!(
        "Paused: {} ({:?})",
        description.schedule.state.paused, description.schedule.state.notes
    );
    handle.unpause("The Schedule has been unpaused.").await?;
    let description = handle.describe().await?;
    println!(
        "Paused: {} ({:?})",
        description.schedule.state.paused, description.schedule.state.notes
    );

    // §5.17.4 Trigger five times under ALLOW_ALL (a second apart: each start's id carries
    // its time to the second).
    for _ in 0..5 {
        handle.trigger(ScheduleOverlapPolicy::AllowAll).await?;
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    let description = wait_for_actions(&handle, 9).await?;
    println!(
        "After five triggers: {} actions in all; the last ones:",
        description.info.action_count
    );
    for action in description.info.recent_actions.iter().rev().take(5).rev() {
        let result: String = client
            .handle(action.workflow_id.clone(), Some(action.run_id))
            .result()
            .await?;
        println!("  {} -> {result}", action.workflow_id);
    }

    handle.delete().await?;
    println!("Deleted the schedule; the workflows it started are kept.");
    let _ = stop.send(());
    running.await?;
    Ok(())
}

/// Waits until the schedule has taken `count` actions.
async fn wait_for_actions(
    handle: &endure::ScheduleHandle,
    count: u64,
) -> Result<endure::schedule::ScheduleDescription, endure::ClientError> {
    loop {
        let description = handle.describe().await?;
        if description.info.action_count >= count {
            return Ok(description);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
