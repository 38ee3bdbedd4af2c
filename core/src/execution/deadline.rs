//! Deadlines: the one instant the runtime must wake the run at, and firing what is due.

use super::{Effects, ExecutionMachine};
use crate::history::{EventAttributes, TimerFiredEventAttributes};
use crate::ids::{RunId, TimerId};
use crate::time::Timestamp;

impl ExecutionMachine {
    /// The earliest instant at which something happens to the run on its own: a timer, an
    /// activity timeout or retry, a workflow task timeout, the end of a start delay, the run
    /// or execution timeout. `None` for a closed run or one that waits only for input.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        if self.status.is_closed() {
            return None;
        }
        [
            self.execution_expiration_time,
            self.run_expiration_time,
            self.first_workflow_task_backoff_until,
            self.workflow_task.as_ref().and_then(|task| task.deadline()),
            self.timers.values().map(|timer| timer.expiry_time).min(),
            self.activities
                .values()
                .filter_map(|info| info.deadline())
                .min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires everything due at `now`. The run and execution timeouts come first: once the
    /// run is closed nothing else fires.
    pub(super) fn fire_deadlines(&mut self, fx: &mut Effects, now: Timestamp, next_run_id: RunId) {
        if self.status.is_closed() {
            return;
        }
        let due = |time: Option<Timestamp>| time.is_some_and(|time| time <= now);
        if due(self.execution_expiration_time) {
            self.time_out_execution(fx, now);
            return;
        }
        if due(self.run_expiration_time) {
            self.time_out_run(fx, now, next_run_id);
            return;
        }
        if due(self.first_workflow_task_backoff_until) {
            self.first_workflow_task_backoff_until = None;
            self.schedule_workflow_task_if_needed(fx, now);
        }
        self.fire_workflow_task_timeout(fx, now);
        self.fire_timers(fx, now);
        self.fire_activity_deadlines(fx, now);
    }

    /// Fires due timers in expiry order (ties by start order).
    fn fire_timers(&mut self, fx: &mut Effects, now: Timestamp) {
        let mut due: Vec<(Timestamp, crate::ids::EventId, TimerId)> = self
            .timers
            .iter()
            .filter(|(_, timer)| timer.expiry_time <= now)
            .map(|(timer_id, timer)| (timer.expiry_time, timer.started_event_id, timer_id.clone()))
            .collect();
        due.sort();
        let fired_any = !due.is_empty();
        for (expiry_time, started_event_id, timer_id) in due {
            debug_assert!(expiry_time <= now, "a timer never fires early");
            self.timers.remove(&timer_id);
            self.add_event(
                fx,
                now,
                EventAttributes::TimerFired(TimerFiredEventAttributes {
                    timer_id,
                    started_event_id,
                }),
            );
        }
        if fired_any {
            self.schedule_workflow_task_if_needed(fx, now);
        }
    }
}
