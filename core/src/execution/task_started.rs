//! How a dispatched task becomes started: the one place a worker's poll, a sync match and
//! a backlog row turn into the machine's `*TaskStarted` input.

use super::{ActivityTaskToken, Input};
use crate::storage::DispatchTask;

impl Input {
    /// The input that starts dispatched `task` for a worker (`identity`), under
    /// `request_id` (which makes a repeat of the same start harmless): a workflow or an
    /// activity task; `None` for the outbox's tasks, which no worker starts.
    pub fn task_started(task: &DispatchTask, request_id: String, identity: String) -> Option<Self> {
        match *task {
            DispatchTask::WorkflowTask {
                scheduled_event_id, ..
            } => Some(Self::WorkflowTaskStarted {
                scheduled_event_id,
                request_id,
                identity,
            }),
            DispatchTask::ActivityTask {
                scheduled_event_id,
                attempt,
            } => Some(Self::ActivityTaskStarted {
                token: ActivityTaskToken {
                    scheduled_event_id,
                    attempt,
                },
                request_id,
                identity,
            }),
            DispatchTask::SignalExternalWorkflow { .. }
            | DispatchTask::RequestCancelExternalWorkflow { .. }
            | DispatchTask::StartChildWorkflow { .. }
            | DispatchTask::ApplyParentClosePolicy { .. }
            | DispatchTask::RecordChildCompletion => None,
        }
    }
}
