//! Cancellation scopes reaching what was started in them, at once (Go's `WithCancel`
//! context): cancelling a scope cancels its pending timers (CancelTimer), asks its pending
//! activities and child workflows to cancel per their cancellation type — in the workflow
//! task where the scope was cancelled, whether or not their futures are ever polled again
//! (a future moved into a selector, or dropped, is cancelled too).
//!
//! Each timer, activity and child started in a scope is registered with it in the
//! workflow's state; [`WorkflowState::cancel_canceled_scopes`] runs right after a scope is
//! cancelled and cancels every registered operation whose scope now is, in the order they
//! were started, dropping the ones already resolved. The futures' own cancellation (when
//! polled in a cancelled scope) goes through the same functions, each of which acts once.

use endure_core::replay::{ActivityResolution, ChildResolution, WorkflowCommand};
use endure_core::{
    ActivityCancellationType, ChildWorkflowCancellationType, Failure,
    RequestCancelExternalWorkflowExecutionCommandAttributes, WorkflowExecution, WorkflowId,
};

use super::state::{CancelToken, Slot, TimerOutcome, WorkflowState};

/// An operation started in a scope, cancelled with it.
pub(crate) struct Scoped {
    /// The scope it was started in.
    pub(crate) scope: CancelToken,
    /// What to cancel.
    pub(crate) operation: Operation,
}

/// What a scope's cancellation reaches.
pub(crate) enum Operation {
    /// A timer, by sequence number.
    Timer(u32),
    /// An activity, by sequence number, with its cancellation type.
    Activity(u32, ActivityCancellationType),
    /// A child workflow, by sequence number, with its id and cancellation type.
    Child(u32, Option<WorkflowId>, ChildWorkflowCancellationType),
}

impl WorkflowState {
    /// Cancels every registered operation whose scope is cancelled (see the module docs).
    pub(crate) fn cancel_canceled_scopes(&mut self) {
        let scoped = std::mem::take(&mut self.scoped);
        for entry in scoped {
            if !self.is_pending(&entry.operation) {
                continue;
            }
            if !entry.scope.is_canceled() {
                self.scoped.push(entry);
                continue;
            }
            match entry.operation {
                Operation::Timer(seq) => self.cancel_timer(seq),
                Operation::Activity(seq, cancellation_type) => {
                    self.cancel_activity(seq, cancellation_type);
                }
                Operation::Child(seq, workflow_id, cancellation_type) => {
                    self.cancel_child(seq, workflow_id, cancellation_type);
                }
            }
        }
    }

    fn is_pending(&self, operation: &Operation) -> bool {
        match operation {
            Operation::Timer(seq) => matches!(self.timers.get(seq), Some(Slot::Pending(_))),
            Operation::Activity(seq, _) => {
                matches!(self.activities.get(seq), Some(Slot::Pending(_)))
            }
            Operation::Child(seq, _, _) => self
                .children
                .get(seq)
                .is_some_and(|slots| matches!(slots.end, Slot::Pending(_))),
        }
    }

    /// Cancels timer `seq` if it has not fired: CancelTimer, and the timer resolves as
    /// cancelled.
    pub(crate) fn cancel_timer(&mut self, seq: u32) {
        if let Some(slot @ Slot::Pending(_)) = self.timers.get_mut(&seq) {
            slot.resolve(TimerOutcome::Canceled);
            self.commands.push(WorkflowCommand::CancelTimer { seq });
        }
    }

    /// Asks activity `seq` to cancel, once, per `cancellation_type`: a cancel request
    /// unless abandoned; resolved as cancelled now unless it waits for the activity.
    pub(crate) fn cancel_activity(
        &mut self,
        seq: u32,
        cancellation_type: ActivityCancellationType,
    ) {
        if !matches!(self.activities.get(&seq), Some(Slot::Pending(_)))
            || !self.activity_cancels.insert(seq)
        {
            return;
        }
        if cancellation_type != ActivityCancellationType::Abandon {
            self.commands
                .push(WorkflowCommand::RequestCancelActivity { seq });
        }
        if cancellation_type != ActivityCancellationType::WaitCancellationCompleted
            && let Some(slot) = self.activities.get_mut(&seq)
        {
            slot.resolve(ActivityResolution::Canceled(Failure::canceled(None)));
        }
    }

    /// Asks child `seq` to cancel, once, per `cancellation_type`: a cancel request to the
    /// child (its run once started) unless abandoned, remembered in its slots; resolved as
    /// cancelled now when abandoned or only tried.
    pub(crate) fn cancel_child(
        &mut self,
        seq: u32,
        workflow_id: Option<WorkflowId>,
        cancellation_type: ChildWorkflowCancellationType,
    ) {
        let Some(slots) = self.children.get(&seq) else {
            return;
        };
        if slots.cancel.is_some() || matches!(slots.end, Slot::Ready(_)) {
            return;
        }
        let run_id = match &slots.start {
            Slot::Ready(Ok(run_id)) => Some(*run_id),
            _ => None,
        };
        let cancel = match workflow_id {
            Some(workflow_id) if cancellation_type != ChildWorkflowCancellationType::Abandon => {
                self.next_external_cancel_seq += 1;
                let cancel = self.next_external_cancel_seq;
                self.external_cancels.insert(cancel, Slot::default());
                self.commands.push(WorkflowCommand::RequestCancelExternal {
                    seq: cancel,
                    attributes: RequestCancelExternalWorkflowExecutionCommandAttributes {
                        namespace: None,
                        workflow_execution: WorkflowExecution {
                            workflow_id,
                            run_id,
                        },
                        child_workflow_only: true,
                        reason: "the parent's scope was cancelled".into(),
                    },
                });
                cancel
            }
            _ => 0,
        };
        let resolve_now = matches!(
            cancellation_type,
            ChildWorkflowCancellationType::Abandon | ChildWorkflowCancellationType::TryCancel
        );
        if let Some(slots) = self.children.get_mut(&seq) {
            slots.cancel = Some(cancel);
            if resolve_now {
                slots
                    .end
                    .resolve(ChildResolution::Failed(Failure::canceled(None)));
            }
        }
    }
}
