//! The scheduler's decisions, driven over simulated time: each overlap policy, the
//! catch-up window, pause, trigger, backfill, limited actions, pause-on-failure, updates.

use std::time::Duration;

use super::super::*;
use crate::enums::WorkflowExecutionStatus;
use crate::ids::{Namespace, RunId, TaskQueueName, WorkflowId, WorkflowType};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Payloads};
use crate::time::Timestamp;

const MINUTE: Duration = Duration::from_secs(60);

fn t(minutes: u64) -> Timestamp {
    // 2026-12-02T00:00:00Z plus `minutes`.
    Timestamp::from_unix_seconds(1_796_169_600 + minutes * 60)
}

/// An every-minute schedule starting `Report` as `report-<time>` on queue `q`.
pub(super) fn schedule(overlap: ScheduleOverlapPolicy) -> Schedule {
    Schedule {
        spec: ScheduleSpec {
            intervals: vec![IntervalSpec::every(MINUTE)],
            ..ScheduleSpec::default()
        },
        action: ScheduleAction::StartWorkflow(Box::new(ScheduleWorkflowAction {
            workflow_type: WorkflowType::new("Report").unwrap(),
            input: Payloads::default(),
            header: Header::default(),
            options: StartWorkflowOptions::new(
                WorkflowId::new("report").unwrap(),
                TaskQueueName::new("q").unwrap(),
            ),
        })),
        policies: SchedulePolicies {
            overlap,
            ..SchedulePolicies::default()
        },
        state: ScheduleRunState::default(),
    }
}

fn state(overlap: ScheduleOverlapPolicy) -> SchedulerState {
    SchedulerState::new(
        Namespace::default(),
        WorkflowId::new("s1").unwrap(),
        schedule(overlap),
        t(0),
    )
    .expect("valid")
}

/// A world where every started workflow runs for `runs_for`, then closes with `status`.
struct World {
    state: SchedulerState,
    runs_for: Duration,
    status: WorkflowExecutionStatus,
    /// (workflow id, started at, closed at) of every start.
    started: Vec<(String, Timestamp, Option<Timestamp>)>,
    cancelled: Vec<String>,
    terminated: Vec<String>,
    next_run: u128,
}

impl World {
    fn new(state: SchedulerState, runs_for: Duration) -> Self {
        Self {
            state,
            runs_for,
            status: WorkflowExecutionStatus::Completed,
            started: Vec::new(),
            cancelled: Vec::new(),
            terminated: Vec::new(),
            next_run: 1,
        }
    }

    /// Closes the workflows due by `now`, then runs one wake-up at `now`.
    fn wake(&mut self, now: Timestamp) {
        for (id, started, closed) in &mut self.started {
            let due = started.saturating_add(self.runs_for);
            if closed.is_none() && due <= now {
                *closed = Some(due);
                self.state.apply(
                    SchedulerInput::Closed {
                        workflow_id: WorkflowId::new(id.clone()).unwrap(),
                        status: self.status,
                        failure: Some("boom".into()),
                    },
                    now,
                );
            }
        }
        let plan = self.state.plan(now);
        for running in plan.cancel.iter().chain(&plan.terminate) {
            let id = running.workflow_id.as_str().to_owned();
            let list = if plan.cancel.is_empty() {
                &mut self.terminated
            } else {
                &mut self.cancelled
            };
            list.push(id.clone());
            // Cancel and terminate take effect at once here.
            for (started_id, _, closed) in &mut self.started {
                if *started_id == id && closed.is_none() {
                    *closed = Some(now);
                }
            }
            let status = if plan.cancel.is_empty() {
                WorkflowExecutionStatus::Terminated
            } else {
                WorkflowExecutionStatus::Canceled
            };
            self.state.apply(
                SchedulerInput::Closed {
                    workflow_id: running.workflow_id.clone(),
                    status,
                    failure: None,
                },
                now,
            );
        }
        for planned in &plan.starts {
            let run_id = RunId::from_u128(self.next_run);
            self.next_run += 1;
            self.state
                .record_start(planned, StartOutcome::Started { run_id, at: now });
            self.started
                .push((planned.workflow_id.as_str().to_owned(), now, None));
        }
        if !plan.cancel.is_empty() || !plan.terminate.is_empty() {
            // The buffered start waits for the close just reported: wake again.
            self.wake(now);
        }
    }

    /// Wakes at every minute from `from` to `to`.
    fn run(&mut self, from: u64, to: u64) {
        for minute in from..=to {
            self.wake(t(minute));
        }
    }

    fn ids(&self) -> Vec<String> {
        self.started.iter().map(|(id, ..)| id.clone()).collect()
    }
}

#[test]
fn every_minute_starts_one_workflow_named_by_its_time() {
    let mut world = World::new(state(ScheduleOverlapPolicy::Skip), Duration::from_secs(10));
    world.run(0, 3);
    assert_eq!(
        world.ids(),
        [
            "report-2026-12-02T00:01:00Z",
            "report-2026-12-02T00:02:00Z",
            "report-2026-12-02T00:03:00Z"
        ]
    );
    assert_eq!(world.state.info.action_count, 3);
    assert_eq!(world.state.next_wakeup(t(3)), Some(t(4)));
    assert_eq!(world.state.future_action_times(2), [t(4), t(5)]);
}

/// Seed 510000009 of the schedules scenario: a describe that came while the wake-up of a
/// due time was in flight saw no future times (they were filtered against the clock), no
/// buffer and nothing running, and took the schedule for finished one time early. As in
/// Temporal's describe, the times are counted from the last one taken.
#[test]
fn times_due_but_not_yet_taken_stay_among_the_future_ones() {
    let mut world = World::new(state(ScheduleOverlapPolicy::Skip), Duration::from_secs(10));
    world.run(0, 3);
    // The engine is down past 00:04 and 00:05: nothing has taken them yet.
    assert_eq!(world.state.future_action_times(3), [t(4), t(5), t(6)]);
    world.wake(t(5));
    assert_eq!(world.state.future_action_times(1), [t(6)]);
    assert_eq!(
        world.state.info.action_count + world.state.info.overlap_skipped,
        5
    );
}

#[test]
fn skip_drops_starts_while_one_runs() {
    let mut world = World::new(
        state(ScheduleOverlapPolicy::Skip),
        150 * Duration::from_secs(1),
    );
    world.run(0, 6);
    // Started at 1 (runs to 3:30), 4 (runs to 6:30): 2, 3, 5, 6 skipped.
    assert_eq!(world.ids().len(), 2);
    assert_eq!(world.state.info.overlap_skipped, 4);
}

#[test]
fn buffer_one_keeps_one_start_waiting() {
    let mut world = World::new(
        state(ScheduleOverlapPolicy::BufferOne),
        150 * Duration::from_secs(1),
    );
    world.run(0, 6);
    // 1 runs to 3:30; 2 waits, 3 is dropped; 2 starts at 4 (when 1 is seen closed), runs to
    // 6:30; 4 waits, 5 and 6 dropped.
    assert_eq!(
        world.ids(),
        ["report-2026-12-02T00:01:00Z", "report-2026-12-02T00:02:00Z"]
    );
    assert_eq!(world.state.buffer.len(), 1);
    assert_eq!(world.state.info.overlap_skipped, 3);
}

#[test]
fn buffer_all_takes_every_start_in_turn() {
    let mut world = World::new(
        state(ScheduleOverlapPolicy::BufferAll),
        90 * Duration::from_secs(1),
    );
    world.run(0, 10);
    // Each runs 1.5 minutes; none is dropped, they fall behind.
    let ids = world.ids();
    assert_eq!(ids.len(), 5);
    assert_eq!(world.state.info.overlap_skipped, 0);
    assert_eq!(world.state.buffer.len(), 5);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in order");
}

#[test]
fn cancel_other_and_terminate_other_stop_the_running_one() {
    for policy in [
        ScheduleOverlapPolicy::CancelOther,
        ScheduleOverlapPolicy::TerminateOther,
    ] {
        let mut world = World::new(state(policy), Duration::from_secs(3_600));
        world.run(0, 3);
        assert_eq!(world.ids().len(), 3, "{policy:?}");
        let stopped = if policy == ScheduleOverlapPolicy::CancelOther {
            &world.cancelled
        } else {
            &world.terminated
        };
        assert_eq!(
            stopped,
            &["report-2026-12-02T00:01:00Z", "report-2026-12-02T00:02:00Z"]
        );
        assert_eq!(world.state.info.running.len(), 1);
    }
}

#[test]
fn allow_all_starts_every_time_and_tracks_none() {
    let mut world = World::new(
        state(ScheduleOverlapPolicy::AllowAll),
        Duration::from_secs(3_600),
    );
    world.run(0, 5);
    assert_eq!(world.ids().len(), 5);
    assert!(world.state.info.running.is_empty());
}

#[test]
fn after_an_outage_times_inside_the_catchup_window_are_taken_once() {
    let mut state = state(ScheduleOverlapPolicy::AllowAll);
    state.schedule.policies.catchup_window = 10 * MINUTE;
    let mut world = World::new(state, Duration::from_secs(1));
    world.run(0, 2);
    // Down from 2 to 30: times 3..=30 are due; 20..=30 are within ten minutes.
    world.wake(t(30));
    world.wake(t(30));
    assert_eq!(world.ids().len(), 2 + 11);
    assert_eq!(world.state.info.missed_catchup_window, 17);
    let mut ids = world.ids();
    ids.dedup();
    assert_eq!(ids.len(), 13, "none twice");
}

#[test]
fn paused_takes_no_scheduled_time_but_triggers_still_run() {
    let mut world = World::new(state(ScheduleOverlapPolicy::Skip), Duration::from_secs(1));
    world.run(0, 1);
    world.state.apply(
        SchedulerInput::Patch(SchedulePatch {
            pause: Some("maintenance".into()),
            ..SchedulePatch::default()
        }),
        t(1),
    );
    assert_eq!(world.state.next_wakeup(t(1)), None);
    assert!(world.state.future_action_times(10).is_empty());
    world.run(2, 5);
    assert_eq!(world.ids().len(), 1);
    world.state.apply(
        SchedulerInput::Patch(SchedulePatch {
            trigger: Some(ScheduleOverlapPolicy::AllowAll),
            ..SchedulePatch::default()
        }),
        t(5),
    );
    world.wake(t(5));
    assert_eq!(world.ids().len(), 2, "a trigger runs while paused");
    world.state.apply(
        SchedulerInput::Patch(SchedulePatch {
            unpause: Some("done".into()),
            ..SchedulePatch::default()
        }),
        t(5),
    );
    assert_eq!(world.state.schedule.state.notes, "done");
    world.run(6, 7);
    // The paused times were not taken late, nor counted missed.
    assert_eq!(world.ids().len(), 4);
    assert_eq!(world.state.info.missed_catchup_window, 0);
}

#[test]
fn backfills_take_every_time_of_their_ranges_inclusive() {
    let mut world = World::new(state(ScheduleOverlapPolicy::Skip), Duration::from_secs(1));
    world.state.apply(
        SchedulerInput::Patch(SchedulePatch {
            backfills: vec![
                Backfill {
                    start: t(0).saturating_sub(Duration::from_secs(3_600)),
                    end: t(0).saturating_sub(Duration::from_secs(3_300)),
                    overlap: ScheduleOverlapPolicy::AllowAll,
                },
                Backfill {
                    start: t(0).saturating_sub(Duration::from_secs(600)),
                    end: t(0).saturating_sub(Duration::from_secs(480)),
                    overlap: ScheduleOverlapPolicy::AllowAll,
                },
            ],
            ..SchedulePatch::default()
        }),
        t(0),
    );
    world.wake(t(0));
    assert_eq!(world.ids().len(), 6 + 3);
    assert_eq!(world.ids()[0], "report-2026-12-01T23:00:00Z");
    assert!(world.state.backfills.is_empty());
}

#[test]
fn a_large_backfill_is_taken_in_batches() {
    let mut world = World::new(
        state(ScheduleOverlapPolicy::AllowAll),
        Duration::from_secs(1),
    );
    world.state.apply(
        SchedulerInput::Patch(SchedulePatch {
            backfills: vec![Backfill {
                start: t(0).saturating_sub(Duration::from_secs(60 * 250)),
                end: t(0).saturating_sub(Duration::from_secs(60)),
                overlap: ScheduleOverlapPolicy::Unspecified,
            }],
            ..SchedulePatch::default()
        }),
        t(0),
    );
    world.wake(t(0));
    assert_eq!(world.ids().len(), 100);
    assert_eq!(world.state.next_wakeup(t(0)), Some(t(0)), "more to do now");
    world.wake(t(0));
    world.wake(t(0));
    assert_eq!(world.ids().len(), 250);
    let mut ids = world.ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250);
}

#[test]
fn limited_actions_stop_at_zero() {
    let mut state = state(ScheduleOverlapPolicy::AllowAll);
    state.schedule.state.limited_actions = true;
    state.schedule.state.remaining_actions = 3;
    let mut world = World::new(state, Duration::from_secs(1));
    world.run(0, 10);
    assert_eq!(world.ids().len(), 3);
    assert_eq!(world.state.schedule.state.remaining_actions, 0);
    assert_eq!(world.state.next_wakeup(t(10)), None);
}

#[test]
fn pause_on_failure_pauses_with_a_note() {
    let mut state = state(ScheduleOverlapPolicy::Skip);
    state.schedule.policies.pause_on_failure = true;
    let mut world = World::new(state, Duration::from_secs(30));
    world.status = WorkflowExecutionStatus::Failed;
    world.run(0, 5);
    assert_eq!(world.ids().len(), 1);
    assert!(world.state.schedule.state.paused);
    assert_eq!(
        world.state.schedule.state.notes,
        "paused due to workflow failure: report-2026-12-02T00:01:00Z: boom"
    );
    assert_eq!(
        world.state.info.recent_actions[0].status,
        WorkflowExecutionStatus::Failed
    );
}

#[test]
fn an_update_with_a_stale_token_is_refused_and_a_current_one_applies() {
    let mut world = World::new(state(ScheduleOverlapPolicy::Skip), Duration::from_secs(1));
    let token = world.state.conflict_token;
    let mut hourly = schedule(ScheduleOverlapPolicy::Skip);
    hourly.spec.intervals = vec![IntervalSpec::every(60 * MINUTE)];
    assert!(world.state.apply(
        SchedulerInput::Update {
            schedule: Box::new(hourly.clone()),
            conflict_token: Some(token),
        },
        t(0),
    ));
    assert!(!world.state.apply(
        SchedulerInput::Update {
            schedule: Box::new(schedule(ScheduleOverlapPolicy::Skip)),
            conflict_token: Some(token),
        },
        t(0),
    ));
    assert_eq!(world.state.schedule, hourly);
    world.run(1, 61);
    assert_eq!(world.ids(), ["report-2026-12-02T01:00:00Z"]);
}

#[test]
fn jittered_times_are_all_taken_none_early() {
    let mut state = state(ScheduleOverlapPolicy::AllowAll);
    state.schedule.spec.jitter = Duration::from_secs(50);
    let mut world = World::new(state, Duration::from_secs(1));
    // Wake every 10 seconds for an hour.
    let mut taken = Vec::new();
    for step in 0..=366u64 {
        let now = t(0).saturating_add(Duration::from_secs(step * 10));
        let before = world.state.info.recent_actions.len();
        world.wake(now);
        for action in
            &world.state.info.recent_actions[before.min(world.state.info.recent_actions.len())..]
        {
            assert!(action.schedule_time <= now, "none early");
            taken.push(action.workflow_id.clone());
        }
    }
    // Every minute of the hour, once (the 61st may or may not be due yet).
    let ids = world.ids();
    for minute in 1..=60 {
        let nominal = t(minute).to_string();
        let count = ids.iter().filter(|id| id.ends_with(&nominal)).count();
        assert_eq!(count, 1, "minute {minute}: {ids:?}");
    }
    assert!(ids.len() <= 61);
}

#[test]
fn a_wake_up_at_a_later_time_may_decide_other_starts() {
    // Why a wake-up records the starts it decides and the next one takes them: the same
    // state planned later (a retried task) replaces the start an earlier attempt chose.
    let state = state(ScheduleOverlapPolicy::CancelOther);
    let mut early = state.clone();
    let early_starts = early.plan(t(1)).starts;
    let mut late = state;
    let late_starts = late.plan(t(2)).starts;
    let ids = |starts: &[PlannedStart]| -> Vec<String> {
        starts
            .iter()
            .map(|start| start.workflow_id.to_string())
            .collect()
    };
    assert_eq!(ids(&early_starts), ["report-2026-12-02T00:01:00Z"]);
    assert_eq!(ids(&late_starts), ["report-2026-12-02T00:02:00Z"]);
    assert_eq!(late.info.overlap_skipped, 1, "the first time, replaced");
}
