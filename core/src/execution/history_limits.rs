//! History limits (Temporal's `limit.historyCount` and `limit.historySize`, §5.21.1): a run
//! whose history passes 10,240 events or 10 MiB is warned about once (the runtime logs
//! it; the workflow already sees the continue-as-new suggestion from 4,096 events or
//! 4 MiB), and one that passes 51,200 events or 50 MiB is terminated by the engine at the
//! end of that transition, as Temporal's `enforceHistorySizeCheck` does.

use super::io::Effects;
use super::{ENGINE_IDENTITY, ExecutionMachine};
use crate::limits::{
    HISTORY_BYTES_MAX, HISTORY_BYTES_WARN, HISTORY_EVENTS_MAX, HISTORY_EVENTS_WARN,
};
use crate::time::Timestamp;

/// The reason of the termination of a run whose history grew past the limit (Temporal's).
pub const HISTORY_LIMIT_TERMINATE_REASON: &str = "Workflow history size / count exceeds limit.";

/// A run's history crossed a warning threshold in a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryWarning {
    /// It now has this many events (at least [`HISTORY_EVENTS_WARN`]).
    Events(u64),
    /// It is now this many bytes (at least [`HISTORY_BYTES_WARN`]).
    Bytes(u64),
}

impl ExecutionMachine {
    /// Events written so far.
    pub fn history_length(&self) -> u64 {
        self.next_event_id.get() - 1
    }

    /// After a transition that found the history at `(events, bytes)`: reports a warning
    /// threshold crossed, and terminates the run if its history is over a limit.
    pub(super) fn enforce_history_limits(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        (events_before, bytes_before): (u64, u64),
    ) {
        let (events, bytes) = (self.history_length(), self.history_size_bytes);
        if events_before < HISTORY_EVENTS_WARN && events >= HISTORY_EVENTS_WARN {
            fx.warnings.push(HistoryWarning::Events(events));
        }
        if bytes_before < HISTORY_BYTES_WARN && bytes >= HISTORY_BYTES_WARN {
            fx.warnings.push(HistoryWarning::Bytes(bytes));
        }
        let over = events > HISTORY_EVENTS_MAX || bytes > HISTORY_BYTES_MAX;
        if over && !self.status.is_closed() {
            let terminated = self.terminate(
                fx,
                now,
                HISTORY_LIMIT_TERMINATE_REASON.to_owned(),
                None,
                ENGINE_IDENTITY.to_owned(),
            );
            debug_assert!(terminated.is_ok(), "an open run can be terminated");
        }
    }
}
