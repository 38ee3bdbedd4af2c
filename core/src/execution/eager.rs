//! Eager activity execution (Temporal's `request_eager_execution`): an activity a workflow
//! task's completion schedules, asking for it, is started in that same transition for the
//! completing worker, and handed to it in the completion's reply — no task on its queue,
//! no poll, no second commit.
//!
//! The worker asks only for activities it can run at once (its own queue, a free slot);
//! the engine starts each one it still can, as Temporal's history service does: not when
//! the same completion closed the run, nor when it canceled the activity it scheduled.
//! An eager attempt is an attempt like any other: its start-to-close and heartbeat
//! timeouts run from its start, and a worker that never answers is timed out and retried
//! through the queue.

use super::ExecutionMachine;
use super::io::{ActivityTaskStartedReply, ActivityTaskToken, Effects, Reply, Task};
use crate::command::Command;
use crate::time::Timestamp;

/// The request id an eager start records (in the attempt's ActivityTaskStarted event): the
/// activity's ScheduledEvent id after this prefix. A retried start of the same attempt
/// (the completion's transition applied again) is the same start.
pub const EAGER_REQUEST_ID_PREFIX: &str = "eager-";

impl ExecutionMachine {
    /// Starts, for `identity`, each activity `commands` scheduled with eager execution
    /// requested that is still waiting for its first attempt; their task leaves `fx.tasks`
    /// and their start goes in `fx.reply` ([`Reply::EagerActivityTasks`], only when at
    /// least one started).
    pub(super) fn start_eager_activities(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        commands: &[Command],
        identity: &str,
    ) {
        if self.status.is_closed() {
            return;
        }
        let mut started = Vec::new();
        for command in commands {
            let Command::ScheduleActivityTask(attributes) = command else {
                continue;
            };
            if !attributes.request_eager_execution {
                continue;
            }
            if let Some(reply) =
                self.start_eager_activity(fx, now, &attributes.activity_id, identity)
            {
                started.push(reply);
            }
        }
        if !started.is_empty() {
            debug_assert_eq!(
                fx.reply,
                Reply::Accepted,
                "a completion's reply is Accepted"
            );
            fx.reply = Reply::EagerActivityTasks(started);
        }
    }

    /// Starts activity `activity_id`'s first attempt if it waits for it with its task in
    /// `fx.tasks` (scheduled by this transition), removing that task.
    fn start_eager_activity(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        activity_id: &crate::ids::ActivityId,
        identity: &str,
    ) -> Option<ActivityTaskStartedReply> {
        let scheduled_event_id = *self.activity_ids.get(activity_id)?;
        let info = self.activities.get(&scheduled_event_id)?;
        if info.started.is_some() || info.retry_time.is_some() || info.attempt != 1 {
            return None;
        }
        let position = fx.tasks.iter().position(|task| {
            matches!(task, Task::ActivityTask { scheduled_event_id: id, attempt: 1, .. } if *id == scheduled_event_id)
        })?;
        let token = ActivityTaskToken {
            scheduled_event_id,
            attempt: 1,
        };
        let mut start = Effects::default();
        self.start_activity_task(
            &mut start,
            now,
            token,
            format!("{EAGER_REQUEST_ID_PREFIX}{}", scheduled_event_id.get()),
            identity.to_owned(),
        )
        .ok()?;
        debug_assert!(
            start.events.is_empty() && start.tasks.is_empty(),
            "an activity's start writes nothing and makes no task"
        );
        let Reply::ActivityTaskStarted(reply) = start.reply else {
            debug_assert!(false, "a start answers with the started task");
            return None;
        };
        fx.tasks.remove(position);
        Some(*reply)
    }
}
