//! The overlap policies: which waiting starts to take now, which to keep waiting, which
//! to drop, and whether the running workflow must be cancelled or terminated first.

use super::model::{BufferedStart, ScheduleOverlapPolicy};

/// What to do with the buffer now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BufferDecision {
    /// Starts under allow-all: taken now, all of them.
    pub(crate) overlapping: Vec<BufferedStart>,
    /// The one start that does not overlap anything: taken now.
    pub(crate) next: Option<BufferedStart>,
    /// The starts that keep waiting.
    pub(crate) buffer: Vec<BufferedStart>,
    /// Cancel the running workflows (a start under cancel-other waits for it).
    pub(crate) cancel_running: bool,
    /// Terminate the running workflows (a start under terminate-other waits for it).
    pub(crate) terminate_running: bool,
    /// Starts dropped by skip or buffer-one.
    pub(crate) skipped: u64,
}

/// Decides the buffer, oldest start first, given whether a workflow the schedule started
/// is running and how an unspecified policy resolves.
pub(crate) fn decide(
    buffer: Vec<BufferedStart>,
    running: bool,
    resolve: impl Fn(ScheduleOverlapPolicy) -> ScheduleOverlapPolicy,
) -> BufferDecision {
    let mut decision = BufferDecision::default();
    for start in buffer {
        let policy = resolve(start.overlap);
        if policy == ScheduleOverlapPolicy::AllowAll {
            decision.overlapping.push(start);
            continue;
        }
        if !running && decision.next.is_none() {
            decision.next = Some(start);
            continue;
        }
        match policy {
            ScheduleOverlapPolicy::BufferOne if decision.buffer.is_empty() => {
                decision.buffer.push(start);
            }
            ScheduleOverlapPolicy::BufferAll => decision.buffer.push(start),
            ScheduleOverlapPolicy::CancelOther | ScheduleOverlapPolicy::TerminateOther => {
                if running {
                    // Wait in the buffer for the running one to close.
                    if policy == ScheduleOverlapPolicy::CancelOther {
                        decision.cancel_running = true;
                    } else {
                        decision.terminate_running = true;
                    }
                    decision.buffer.push(start);
                } else {
                    // Nothing runs yet: this one replaces the start chosen before it.
                    decision.skipped += 1;
                    decision.next = Some(start);
                }
            }
            // Skip, a second buffer-one, and (resolved away) unspecified.
            _ => decision.skipped += 1,
        }
    }
    if decision.cancel_running || decision.terminate_running {
        // They would be cancelled or terminated at once with the running one.
        decision.overlapping.clear();
    }
    decision
}
