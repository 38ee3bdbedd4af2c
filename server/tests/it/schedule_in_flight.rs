//! A schedule's updates against its conflict token. An update taken while the schedule's
//! own wake-up is in flight waits in its run (buffered) until the wake-up completes, yet
//! the client was told it was taken: describe must show it and the next update's check
//! must count it (CI once saw a describe right after an update show the old schedule). The
//! wake-up is held where it reads the workflow it started, by a hooked store, so the race
//! is played every time. And two updates naming one token at once: one taken, one refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_core::history::EventType;
use endure_core::protocol::{
    CreateScheduleRequest, DescribeScheduleRequest, PatchScheduleRequest, UpdateScheduleRequest,
};
use endure_core::schedule::{
    IntervalSpec, Schedule, ScheduleAction, ScheduleDescription, SchedulePatch, SchedulePolicies,
    ScheduleRunState, ScheduleSpec, ScheduleWorkflowAction,
};
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use tokio::sync::Notify;

use crate::hooked::{Hooked, Hooks};

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

tokio::task_local! {
    /// Set around the test's own calls, which the store never holds.
    static THE_TEST: ();
}

/// Holds, while armed, every read of a workflow the schedule started — but the test's own:
/// a wake-up of the schedule reads them to learn whether they still run.
#[derive(Default)]
struct HoldReadsOfStarted {
    armed: AtomicBool,
    held: AtomicBool,
    release: Notify,
}

impl Hooks for HoldReadsOfStarted {
    async fn before_load(&self, key: &ExecutionKey) {
        if key.workflow_id.as_str().starts_with("report")
            && THE_TEST.try_with(|_| ()).is_err()
            && self.armed.load(Ordering::SeqCst)
        {
            let release = self.release.notified();
            self.held.store(true, Ordering::SeqCst);
            if self.armed.load(Ordering::SeqCst) {
                release.await;
            }
        }
    }
}

fn schedule_id() -> WorkflowId {
    WorkflowId::new("nightly").unwrap()
}

fn schedule() -> Schedule {
    Schedule {
        spec: ScheduleSpec {
            intervals: vec![IntervalSpec::every(Duration::from_secs(3600))],
            ..ScheduleSpec::default()
        },
        action: ScheduleAction::StartWorkflow(Box::new(ScheduleWorkflowAction {
            workflow_type: WorkflowType::new("Report").unwrap(),
            input: Payloads::default(),
            header: Header::default(),
            options: StartWorkflowOptions::new(
                WorkflowId::new("report").unwrap(),
                TaskQueueName::new("reports").unwrap(),
            ),
        })),
        policies: SchedulePolicies::default(),
        state: ScheduleRunState::default(),
    }
}

async fn describe<C: endure_core::clock::Clock>(
    engine: &Engine<Hooked<HoldReadsOfStarted>, C>,
) -> ScheduleDescription {
    THE_TEST
        .scope(
            (),
            engine.describe_schedule(DescribeScheduleRequest {
                namespace: Namespace::default(),
                schedule_id: schedule_id(),
            }),
        )
        .await
        .unwrap()
}

fn update(schedule: Schedule, conflict_token: u64) -> UpdateScheduleRequest {
    UpdateScheduleRequest {
        namespace: Namespace::default(),
        schedule_id: schedule_id(),
        schedule,
        conflict_token: Some(conflict_token),
        identity: "client".into(),
    }
}

async fn history_of<C: endure_core::clock::Clock>(
    engine: &Engine<Hooked<HoldReadsOfStarted>, C>,
) -> Vec<endure_core::history::HistoryEvent> {
    let run = engine
        .describe_workflow(
            &Namespace::default(),
            &WorkflowId::new("temporal-sys-scheduler:nightly").unwrap(),
            None,
        )
        .await
        .unwrap();
    engine.history(&run.execution).await.unwrap()
}

fn types(history: &[endure_core::history::HistoryEvent]) -> Vec<EventType> {
    history.iter().map(|event| event.event_type()).collect()
}

/// Waits, at most ten seconds, until `done` holds.
async fn eventually<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An engine on a hooked store with the schedule created (`trigger`: taking its action
/// at once).
async fn engine_with_schedule(
    trigger: bool,
) -> (
    Arc<Hooked<HoldReadsOfStarted>>,
    Engine<Hooked<HoldReadsOfStarted>, ManualClock>,
) {
    let store = Arc::new(Hooked::new(HoldReadsOfStarted::default()));
    let engine = Engine::with_ports(
        Arc::clone(&store),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    engine
        .create_schedule(CreateScheduleRequest {
            namespace: Namespace::default(),
            schedule_id: schedule_id(),
            schedule: schedule(),
            trigger_immediately: trigger,
            backfills: Vec::new(),
            memo: Memo::default(),
            search_attributes: SearchAttributes::default(),
            request_id: "create-1".into(),
            identity: "client".into(),
        })
        .await
        .unwrap();
    (store, engine)
}

#[tokio::test]
async fn an_update_taken_while_the_schedules_wake_up_runs_is_described_and_counted() {
    // Created with a trigger: its first wake-up starts a workflow, which keeps running.
    let (store, engine) = engine_with_schedule(true).await;
    eventually("the first wake-up takes its start", || async {
        describe(&engine).await.info.action_count == 1
    })
    .await;

    // A pause wakes the schedule again; that wake-up is held reading the started workflow.
    store.hooks.armed.store(true, Ordering::SeqCst);
    engine
        .patch_schedule(PatchScheduleRequest {
            namespace: Namespace::default(),
            schedule_id: schedule_id(),
            patch: SchedulePatch {
                pause: Some("quiet week".into()),
                ..SchedulePatch::default()
            },
            identity: "client".into(),
        })
        .await
        .unwrap();
    eventually("the second wake-up is held in flight", || async {
        store.hooks.held.load(Ordering::SeqCst)
            && types(&history_of(&engine).await).last() == Some(&EventType::WorkflowTaskStarted)
    })
    .await;

    let held = types(&history_of(&engine).await);
    let before = describe(&engine).await;
    assert!(before.schedule.state.paused, "the pause is in the history");
    let mut limited = before.schedule.clone();
    limited.state.limited_actions = true;
    limited.state.remaining_actions = 5;
    engine
        .update_schedule(update(limited.clone(), before.conflict_token))
        .await
        .unwrap();

    // The update is buffered in the run, not in its history, and described all the same.
    assert_eq!(
        types(&history_of(&engine).await),
        held,
        "the update is not written while the wake-up runs"
    );
    let during = describe(&engine).await;
    assert_eq!(
        during.schedule.state, limited.state,
        "describe shows the update"
    );
    assert_ne!(
        during.conflict_token, before.conflict_token,
        "the update moved the conflict token"
    );
    let stale = THE_TEST
        .scope(
            (),
            engine.update_schedule(update(before.schedule.clone(), before.conflict_token)),
        )
        .await;
    assert!(
        matches!(&stale, Err(EngineError::BadRequest(message)) if message.contains("changed since it was described")),
        "an update naming the token from before is refused: {stale:?}"
    );

    // The wake-up completes; the update is written after its commands, and counted once.
    store.hooks.armed.store(false, Ordering::SeqCst);
    store.hooks.release.notify_waiters();
    eventually("the buffered update reaches the history", || async {
        types(&history_of(&engine).await)[held.len()..]
            .contains(&EventType::WorkflowExecutionSignaled)
    })
    .await;
    let written = types(&history_of(&engine).await);
    assert_eq!(
        written[held.len()],
        EventType::WorkflowTaskCompleted,
        "{written:?}"
    );
    let signaled = written[held.len()..]
        .iter()
        .position(|kind| *kind == EventType::WorkflowExecutionSignaled)
        .map(|at| at + held.len())
        .unwrap();
    assert!(
        written[held.len()..signaled]
            .iter()
            .all(|kind| *kind != EventType::WorkflowTaskScheduled),
        "the update follows the wake-up's commands: {written:?}"
    );
    let after = describe(&engine).await;
    assert_eq!(after.schedule.state, limited.state);
    assert_eq!(after.conflict_token, during.conflict_token);
    assert_eq!(after.info.action_count, 1, "paused: nothing more was taken");
}

/// Two updates naming the same conflict token, sent at once: one is taken, the other is
/// refused — never both answered "taken" with the second dropped by the schedule as stale.
#[tokio::test]
async fn of_two_updates_naming_one_token_one_is_taken_and_one_refused() {
    let (_store, engine) = engine_with_schedule(false).await;
    for round in 0..20 {
        let before = describe(&engine).await;
        let edit = |notes: String| {
            let mut schedule = before.schedule.clone();
            schedule.state.notes = notes;
            update(schedule, before.conflict_token)
        };
        let (first, second) = tokio::join!(
            engine.update_schedule(edit(format!("first {round}"))),
            engine.update_schedule(edit(format!("second {round}"))),
        );
        let notes = describe(&engine).await.schedule.state.notes;
        match (first, second) {
            (Ok(()), Err(EngineError::BadRequest(_))) => {
                assert_eq!(notes, format!("first {round}"))
            }
            (Err(EngineError::BadRequest(_)), Ok(())) => {
                assert_eq!(notes, format!("second {round}"))
            }
            other => panic!("round {round}: one taken, one refused; got {other:?}"),
        }
    }
}
