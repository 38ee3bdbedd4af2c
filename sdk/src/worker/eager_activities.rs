//! Eager activities (Go's eager activity executor): a workflow task's completion asks the
//! engine to hand this worker, in its reply, the activities it schedules on the worker's
//! own queue — started already, so they run at once, without a poll.
//!
//! The worker asks only for what it can run now: at most
//! [`EAGER_ACTIVITIES_PER_TASK_MAX`] per task, each holding an activity slot taken before
//! the completion is sent, of a type this worker runs, unless the workflow turned it off
//! (`ActivityOptions::disable_eager_execution`) or the worker did
//! ([`WorkerOptions::disable_eager_activities`](super::WorkerOptions::disable_eager_activities)).
//! Every other request is cleared, so the activity goes to its queue as usual.

use std::sync::Arc;

use endure_core::Command;
use endure_core::protocol::{ActivityTask, ActivityTaskForWorker};
use endure_core::storage::ExecutionKey;

use super::Shared;
use super::sessions::SessionSlot;
use super::spans;
use crate::activity_context::StopPhase;
use crate::task_slots::Slot;

/// Most activities one workflow task asks to run eagerly (Go's SDK asks for at most three).
pub(super) const EAGER_ACTIVITIES_PER_TASK_MAX: usize = 3;

impl Shared {
    /// Keeps the eager request of each activity in `commands` this worker can run now, and
    /// clears the others'; returns the slots taken for those kept, in command order.
    pub(super) fn reserve_eager_activities(&self, commands: &mut [Command]) -> Vec<Slot> {
        let mut slots = Vec::new();
        let running = *self.stop.borrow() == StopPhase::Running;
        for command in commands {
            let Command::ScheduleActivityTask(attributes) = command else {
                continue;
            };
            if !attributes.request_eager_execution {
                continue;
            }
            let own_queue = attributes
                .task_queue
                .as_ref()
                .is_none_or(|queue| *queue == self.task_queue);
            let runs_here = self
                .activities
                .contains_key(attributes.activity_type.as_str())
                || self.dynamic_activity.is_some();
            let slot = (running
                && !self.options.disable_eager_activities
                && own_queue
                && runs_here
                && slots.len() < EAGER_ACTIVITIES_PER_TASK_MAX)
                .then(|| self.activity_slots.try_take())
                .flatten();
            match slot {
                Some(slot) => slots.push(slot),
                None => attributes.request_eager_execution = false,
            }
        }
        slots
    }

    /// Runs the activities the engine started for this worker with a completion of
    /// `execution`'s task, each in a slot reserved for it; slots left over are freed.
    pub(super) fn run_eager_activities(
        self: &Arc<Self>,
        execution: &ExecutionKey,
        tasks: Vec<ActivityTask>,
        reserved: Vec<Slot>,
    ) {
        debug_assert!(
            tasks.len() <= reserved.len(),
            "the engine starts only activities the worker asked for"
        );
        let mut reserved = reserved.into_iter();
        for task in tasks {
            // Started for this worker without a slot asked for (the engine starts only what
            // was asked): not run here, so it times out and is retried through its queue.
            let Some(slot) = reserved.next() else {
                tracing::warn!(
                    activity_id = %task.scheduled.activity_id,
                    "an eager activity came without a slot asked for; left to its timeout"
                );
                continue;
            };
            let task = ActivityTaskForWorker {
                execution: execution.clone(),
                task,
            };
            let worker = Arc::clone(self);
            let span = spans::activity_task(&worker, &task);
            let run = async move {
                worker.run_activity_task(task, SessionSlot::Take).await;
            };
            self.activity_slots.spawn_in(slot, span, run);
        }
    }
}
