//! Schedules end to end on the embedded engine over redb (spec §5.17.1–4): a schedule
//! starts workflows named by their scheduled time and tagged with the schedule, pauses and
//! unpauses with notes, triggers, backfills, updates under a conflict token, lists and
//! deletes; the schedule's own history is checked event by event. A time-skipping test
//! runs a year of an hourly schedule.

use std::time::Duration;

use endure::schedule::{Backfill, IntervalSpec, ScheduleOverlapPolicy, ScheduleSpec};
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::EventType;
use endure_core::schedule::history::{SCHEDULER_ID_PREFIX, STATE_MARKER, TAKING_DETAIL, decode};
use endure_core::schedule::{PlannedStart, SchedulerState};

use crate::store_client;

async fn report(_ctx: WorkflowContext, day: String) -> Result<String, WorkflowError> {
    Ok(format!("report for {day}"))
}

fn action(queue: &TaskQueueName) -> endure::schedule::ScheduleWorkflowAction {
    schedule_workflow_action(
        StartWorkflowOptions::new(WorkflowId::new("report").unwrap(), queue.clone()),
        "Report",
        &"today",
    )
    .unwrap()
}

fn worker(client: &Client, queue: &TaskQueueName) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Report", report);
    worker
}

/// Waits (real time) until `check` holds on the schedule's description.
async fn wait_for(
    handle: &ScheduleHandle,
    what: &str,
    check: impl Fn(&endure::schedule::ScheduleDescription) -> bool,
) -> endure::schedule::ScheduleDescription {
    for _ in 0..200 {
        let description = handle.describe().await.unwrap();
        if check(&description) {
            return description;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {:#?}", handle.describe().await.unwrap());
}

#[tokio::test]
async fn an_interval_schedule_starts_tagged_workflows_named_by_their_time() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("schedules").unwrap();
    let (stop, running) = crate::spawn_worker(worker(&client, &queue));
    let spec = ScheduleSpec {
        intervals: vec![IntervalSpec::every(Duration::from_secs(1))],
        ..ScheduleSpec::default()
    };
    let handle = client
        .schedules()
        .create(ScheduleOptions::new("every-second", spec, action(&queue)))
        .await
        .unwrap();
    let description = wait_for(&handle, "three actions", |d| d.info.action_count >= 3).await;
    let first = &description.info.recent_actions[0];
    // `<id>-<scheduled time, RFC 3339>`, the time a whole second.
    let id = first.workflow_id.as_str();
    let time = id.strip_prefix("report-").unwrap();
    assert_eq!(time.len(), "2026-12-02T19:00:00Z".len(), "{id}");
    assert_eq!(
        first.schedule_time.to_string(),
        time,
        "no jitter: the scheduled time"
    );
    assert!(first.actual_time >= first.schedule_time, "never early");
    // The started run carries the schedule's id and its scheduled time.
    let started = client.handle(first.workflow_id.clone(), Some(first.run_id));
    let result: String = started.result().await.unwrap();
    assert_eq!(result, "report for today");
    let started = started.describe().await.unwrap();
    assert_eq!(
        started.search_attributes.0.get("TemporalScheduledById"),
        Some(&SearchAttributeValue::Keyword("every-second".into()))
    );
    assert_eq!(
        started
            .search_attributes
            .0
            .get("TemporalScheduledStartTime"),
        Some(&SearchAttributeValue::Datetime(first.schedule_time))
    );
    let by_schedule = client
        .list_workflows_matching("TemporalScheduledById = 'every-second'", 100)
        .await
        .unwrap();
    assert!(by_schedule.len() >= 3, "{by_schedule:?}");
    // The next times are the coming seconds.
    assert_eq!(description.future_action_times.len(), 10);
    assert!(
        description
            .future_action_times
            .windows(2)
            .all(|w| w[1].saturating_duration_since(w[0]) == Duration::from_secs(1))
    );

    // The schedule's own run: started with its state, then per wake-up a task whose
    // completion records the state, the listing memo and the next wake-up's timer. A
    // wake-up that decides starts records them beside the state and asks for the next
    // task at once; that task takes them.
    let schedule_run = client.handle(
        WorkflowId::new(format!("{SCHEDULER_ID_PREFIX}every-second")).unwrap(),
        None,
    );
    let history = schedule_run.history().await.unwrap();
    let types: Vec<EventType> = history.iter().map(|e| e.event_type()).collect();
    let markers: Vec<(usize, SchedulerState, Vec<PlannedStart>)> = history
        .iter()
        .enumerate()
        .filter_map(|(at, event)| match &event.attributes {
            EventAttributes::MarkerRecorded(marker) => {
                assert_eq!(marker.marker_name.as_str(), STATE_MARKER);
                let state = decode(&marker.details["state"]).unwrap();
                let taking = marker
                    .details
                    .get(TAKING_DETAIL)
                    .map(|taking| decode(taking).unwrap())
                    .unwrap_or_default();
                Some((at, state, taking))
            }
            _ => None,
        })
        .collect();
    let mut decided = Vec::new();
    for pair in markers.windows(2) {
        let [(at, before, taking), (next, after, _)] = pair else {
            unreachable!()
        };
        assert_eq!(types[at - 1], EventType::WorkflowTaskCompleted, "{types:?}");
        if taking.is_empty() {
            continue;
        }
        decided.extend(taking.iter().map(|start| start.workflow_id.clone()));
        // The next task comes at once (no timer between) and takes exactly those.
        let between = &types[at + 1..*next];
        assert!(!between.contains(&EventType::TimerFired), "{types:?}");
        assert_eq!(
            between
                .iter()
                .filter(|kind| **kind == EventType::WorkflowTaskCompleted)
                .count(),
            1,
            "{types:?}"
        );
        assert_eq!(
            after.info.action_count,
            before.info.action_count + taking.len() as u64,
            "{types:?}"
        );
        let started: Vec<&WorkflowId> = after.info.recent_actions
            [after.info.recent_actions.len() - taking.len()..]
            .iter()
            .map(|action| &action.workflow_id)
            .collect();
        let planned: Vec<&WorkflowId> = taking.iter().map(|start| &start.workflow_id).collect();
        assert_eq!(started, planned);
    }
    assert!(decided.len() >= 2, "{types:?}");
    assert!(
        decided.contains(&first.workflow_id),
        "the first action was decided before it was taken"
    );
    let timeline: Vec<EventType> = types
        .iter()
        .copied()
        .filter(|kind| {
            !matches!(
                kind,
                EventType::MarkerRecorded | EventType::WorkflowPropertiesModified
            )
        })
        .collect();
    assert_eq!(
        timeline[..8],
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::TimerStarted,
            EventType::TimerFired,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
        ],
        "{types:?}"
    );
    assert!(types.contains(&EventType::MarkerRecorded));
    // Each timer fired back-references its start.
    for event in &history {
        if let EventAttributes::TimerFired(fired) = &event.attributes {
            let started = &history[fired.started_event_id.get() as usize - 1];
            assert_eq!(started.event_type(), EventType::TimerStarted);
        }
    }
    // Workflow listings leave the schedule's own run out unless asked for by its type.
    let all = client.list_workflows_matching("", 1_000).await.unwrap();
    assert!(all.iter().all(|row| {
        !row.execution
            .workflow_id
            .as_str()
            .starts_with(SCHEDULER_ID_PREFIX)
    }));
    let own = client
        .list_workflows_matching("WorkflowType = 'temporal-sys-scheduler-workflow'", 10)
        .await
        .unwrap();
    assert_eq!(own.len(), 1);
    // Listing schedules finds it.
    let schedules = client.schedules().list("").await.unwrap();
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0].schedule_id.as_str(), "every-second");
    assert_eq!(schedules[0].info.workflow_type.as_str(), "Report");

    handle.delete().await.unwrap();
    let error = handle.describe().await.unwrap_err();
    assert!(error.to_string().contains("not found"), "{error}");
    assert!(client.schedules().list("").await.unwrap().is_empty());
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[tokio::test]
async fn pause_trigger_backfill_update_and_list() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("schedules").unwrap();
    let (stop, running) = crate::spawn_worker(worker(&client, &queue));
    let spec = ScheduleSpec {
        cron_expressions: vec!["0 12 * * *".into()],
        ..ScheduleSpec::default()
    };
    let mut options = ScheduleOptions::new("daily", spec, action(&queue));
    options.paused = true;
    options.note = "created paused".into();
    options
        .search_attributes
        .insert("Team", SearchAttributeValue::Keyword("billing".into()));
    let owner = endure_core::Payload::encode(&"ann").unwrap();
    options.memo.0.insert("owner".into(), owner.clone());
    let handle = client.schedules().create(options).await.unwrap();
    let description = handle.describe().await.unwrap();
    // The schedule's own memo and search attributes, as given (the listing's field apart).
    assert_eq!(
        description.memo.0,
        std::collections::BTreeMap::from([("owner".to_owned(), owner)])
    );
    assert_eq!(
        description.search_attributes.0.get("Team"),
        Some(&SearchAttributeValue::Keyword("billing".into()))
    );
    assert!(description.schedule.state.paused);
    assert_eq!(description.schedule.state.notes, "created paused");
    assert!(description.future_action_times.is_empty(), "paused");
    // A second create of the same id is refused.
    let again = ScheduleOptions::new("daily", ScheduleSpec::default(), action(&queue));
    assert!(client.schedules().create(again).await.is_err());

    // Five triggers under allow-all, a second apart (ids are to the second).
    for _ in 0..3 {
        handle
            .trigger(ScheduleOverlapPolicy::AllowAll)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1_050)).await;
    }
    wait_for(&handle, "three triggered", |d| d.info.action_count == 3).await;

    // A backfill of two ranges: noon of three days, then of two.
    let day = Duration::from_secs(86_400);
    let base = Timestamp::from_unix_seconds(1_767_225_600); // 2026-01-01T00:00:00Z
    handle
        .backfill(vec![
            Backfill {
                start: base,
                end: base.saturating_add(3 * day),
                overlap: ScheduleOverlapPolicy::AllowAll,
            },
            Backfill {
                start: base.saturating_add(10 * day),
                end: base.saturating_add(12 * day),
                overlap: ScheduleOverlapPolicy::AllowAll,
            },
        ])
        .await
        .unwrap();
    let description = wait_for(&handle, "five backfilled", |d| d.info.action_count == 8).await;
    let ids: Vec<&str> = description
        .info
        .recent_actions
        .iter()
        .map(|a| a.workflow_id.as_str())
        .collect();
    for expected in [
        "report-2026-01-01T12:00:00Z",
        "report-2026-01-03T12:00:00Z",
        "report-2026-01-11T12:00:00Z",
        "report-2026-01-12T12:00:00Z",
    ] {
        assert!(ids.contains(&expected), "{expected} in {ids:?}");
    }

    // Unpause with a note; the next times appear.
    handle.unpause("back to work").await.unwrap();
    let description = handle.describe().await.unwrap();
    assert!(!description.schedule.state.paused);
    assert_eq!(description.schedule.state.notes, "back to work");
    assert_eq!(description.future_action_times.len(), 10);

    // Update: hourly instead of daily; an update from a stale description is refused.
    let stale = handle.describe().await.unwrap();
    handle
        .update(|mut description| {
            description.schedule.spec.cron_expressions = vec!["@hourly".into()];
            Some(description.schedule)
        })
        .await
        .unwrap();
    let description = handle.describe().await.unwrap();
    assert_eq!(description.schedule.spec.cron_expressions, ["@hourly"]);
    let gap = description.future_action_times[1]
        .saturating_duration_since(description.future_action_times[0]);
    assert_eq!(gap, Duration::from_secs(3_600));
    let refused = client
        .rpc(endure_core::protocol::UpdateScheduleRequest {
            namespace: client.namespace().clone(),
            schedule_id: WorkflowId::new("daily").unwrap(),
            schedule: stale.schedule,
            conflict_token: Some(stale.conflict_token),
            identity: "test".into(),
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("changed since"), "{refused}");

    // Listed by its search attributes.
    assert_eq!(
        client
            .schedules()
            .list("Team = 'billing'")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        client
            .schedules()
            .list("Team = 'ops'")
            .await
            .unwrap()
            .is_empty()
    );
    handle.delete().await.unwrap();
    stop.send(()).unwrap();
    running.await.unwrap();
}
