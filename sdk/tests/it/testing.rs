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

/// Sleeps a year, in twelve steps.
async fn yearly(ctx: WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    for _ in 0..12 {
        let _ = ctx.sleep(Duration::from_secs(365 * 24 * 3600 / 12)).await;
    }
    Ok(12)
}

/// A year of virtual time costs its timers, not its hours: the engine's shards do not wake
/// every few minutes to look for deadlines they already know are months away.
#[tokio::test(start_paused = true)]
async fn a_year_of_sleeps_is_skipped() {
    let environment = TestEnvironment::new().await.unwrap();
    let client = environment.client().clone();
    let queue = TaskQueueName::new("calendar").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Yearly", yearly);
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("yearly-1").unwrap(), queue);
    let months: u32 = client
        .execute_workflow(options, "Yearly", &())
        .await
        .unwrap();
    assert_eq!(months, 12);
    let history = client
        .handle(WorkflowId::new("yearly-1").unwrap(), None)
        .history()
        .await
        .unwrap();
    let fired = history
        .iter()
        .filter(|event| event.event_type() == endure_core::history::EventType::TimerFired)
        .count();
    assert_eq!(fired, 12);
    let elapsed = environment.now().saturating_duration_since(TEST_START);
    assert!(
        elapsed >= Duration::from_secs(365 * 24 * 3600),
        "{elapsed:?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

async fn scheduled_report(_ctx: WorkflowContext, _day: String) -> Result<(), WorkflowError> {
    Ok(())
}

/// A year of an hourly schedule in workflow time: every hour taken once, none missed.
#[tokio::test(start_paused = true)]
async fn a_year_of_an_hourly_schedule_is_skipped_through() {
    use endure::schedule::{ScheduleSpec, history::SCHEDULER_ID_PREFIX};

    let environment = TestEnvironment::new().await.unwrap();
    let client = environment.client().clone();
    // Closed runs are kept a month, so the last one is still there to look at.
    client
        .update_namespace(
            client.namespace(),
            NamespaceUpdate {
                retention: Some(Duration::from_secs(30 * 24 * 3600)),
                ..NamespaceUpdate::default()
            },
        )
        .await
        .unwrap();
    let queue = TaskQueueName::new("reports").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Report", scheduled_report);
    let (stop, running) = crate::spawn_worker(worker);
    let year = Duration::from_secs(365 * 24 * 3600);
    let spec = ScheduleSpec {
        cron_expressions: vec!["@hourly".into()],
        end_at: Some(TEST_START.saturating_add(year)),
        ..ScheduleSpec::default()
    };
    let action = schedule_workflow_action(
        StartWorkflowOptions::new(WorkflowId::new("report").unwrap(), queue),
        "Report",
        &"daily",
    )
    .unwrap();
    let handle = client
        .schedules()
        .create(ScheduleOptions::new("hourly", spec, action))
        .await
        .unwrap();
    let mut weeks = 0;
    let description = loop {
        tokio::time::sleep(Duration::from_secs(7 * 24 * 3600)).await;
        let description = handle.describe().await.unwrap();
        if description.future_action_times.is_empty() && description.info.running.is_empty() {
            break description;
        }
        weeks += 1;
        assert!(weeks < 60, "still going after 60 weeks: {description:#?}");
    };
    assert_eq!(description.info.action_count, 365 * 24);
    assert_eq!(description.info.missed_catchup_window, 0);
    assert_eq!(description.info.overlap_skipped, 0);
    let last = description.info.recent_actions.last().unwrap();
    assert_eq!(last.workflow_id.as_str(), "report-2027-01-01T00:00:00Z");
    assert_eq!(last.schedule_time, TEST_START.saturating_add(year));
    // The last one ran.
    let started = client.handle(last.workflow_id.clone(), Some(last.run_id));
    assert_eq!(
        started.describe().await.unwrap().status,
        WorkflowExecutionStatus::Completed
    );
    // The schedule's history stayed short: it continued as new along the way.
    let schedule_run = client.handle(
        WorkflowId::new(format!("{SCHEDULER_ID_PREFIX}hourly")).unwrap(),
        None,
    );
    let length = schedule_run.describe().await.unwrap().history_length;
    assert!(length <= 1_100, "{length} events");
    let _ = stop.send(());
    running.await.unwrap();
}
