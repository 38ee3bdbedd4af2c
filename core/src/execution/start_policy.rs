//! What a start of a workflow id does, given what the store holds for that id: the id
//! reuse and conflict policies, signal-with-start and update-with-start, and starts sent
//! again (Temporal's `StartWorkflowExecution`, `SignalWithStartWorkflowExecution` and
//! `ExecuteMultiOperation` semantics). A pure decision: the engine reads the facts, asks
//! [`decide_start`], then writes what it says.

use crate::enums::{WorkflowExecutionStatus, WorkflowIdConflictPolicy, WorkflowIdReusePolicy};
use crate::ids::RunId;

/// Which kind of start this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartKind {
    /// A plain start.
    Plain,
    /// Signal-with-start: signal the running run, or start one with the signal.
    WithSignal,
    /// Update-with-start: update the running run (if the conflict policy lets it), or
    /// start one with the update.
    WithUpdate,
}

/// What the store holds for the workflow id, as far as a start needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StartFacts {
    /// The run this start's request id created or reached before (a start sent again).
    pub recorded_start: Option<RunId>,
    /// The run a signal-with-start's signal reached before (its signal's request id).
    pub recorded_signal: Option<RunId>,
    /// The id's current run and its status.
    pub current: Option<(RunId, WorkflowExecutionStatus)>,
    /// For update-with-start: whether the current run, closed, took this update already.
    pub closed_current_took_update: bool,
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartDecision {
    /// Answer with this run, writing nothing (a repeat, or use-existing).
    Existing(RunId),
    /// Signal this running run (and end its start delay); answer with it.
    SignalRunning(RunId),
    /// Deliver the update to this running run (and end its start delay); answer with it.
    UpdateRunning(RunId),
    /// Refuse: the id is taken by this run (`AlreadyStarted`).
    AlreadyStarted(RunId),
    /// Terminate this running run, then start a new one once that is durable.
    TerminateThenStart(RunId),
    /// Start a new run.
    Start,
}

/// Decides a start of `kind` under `conflict` and `reuse` policies, given `facts`.
///
/// In order: a start or a signal seen before answers with the run it reached; an
/// update-with-start whose update a closed current run took answers with that run; a
/// signal-with-start signals a running run whatever the conflict policy; an
/// update-with-start updates a running run under use-existing; then a running run meets
/// the conflict policy and a closed one the reuse policy.
pub fn decide_start(
    kind: StartKind,
    conflict: WorkflowIdConflictPolicy,
    reuse: WorkflowIdReusePolicy,
    facts: &StartFacts,
) -> StartDecision {
    if let Some(run_id) = facts.recorded_start {
        return StartDecision::Existing(run_id);
    }
    if kind == StartKind::WithSignal
        && let Some(run_id) = facts.recorded_signal
    {
        return StartDecision::Existing(run_id);
    }
    let Some((run_id, status)) = facts.current else {
        return StartDecision::Start;
    };
    let running = status == WorkflowExecutionStatus::Running;
    match kind {
        StartKind::WithUpdate if !running && facts.closed_current_took_update => {
            return StartDecision::Existing(run_id);
        }
        StartKind::WithSignal if running => return StartDecision::SignalRunning(run_id),
        StartKind::WithUpdate if running && conflict == WorkflowIdConflictPolicy::UseExisting => {
            return StartDecision::UpdateRunning(run_id);
        }
        _ => {}
    }
    if running {
        return match conflict {
            WorkflowIdConflictPolicy::Fail => StartDecision::AlreadyStarted(run_id),
            WorkflowIdConflictPolicy::UseExisting => StartDecision::Existing(run_id),
            WorkflowIdConflictPolicy::TerminateExisting => {
                StartDecision::TerminateThenStart(run_id)
            }
        };
    }
    let reusable = match reuse {
        WorkflowIdReusePolicy::AllowDuplicate | WorkflowIdReusePolicy::TerminateIfRunning => true,
        WorkflowIdReusePolicy::AllowDuplicateFailedOnly => matches!(
            status,
            WorkflowExecutionStatus::Failed
                | WorkflowExecutionStatus::Canceled
                | WorkflowExecutionStatus::Terminated
                | WorkflowExecutionStatus::TimedOut
        ),
        WorkflowIdReusePolicy::RejectDuplicate => false,
    };
    if reusable {
        StartDecision::Start
    } else {
        StartDecision::AlreadyStarted(run_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkflowExecutionStatus as Status;
    use WorkflowIdConflictPolicy as Conflict;
    use WorkflowIdReusePolicy as Reuse;

    fn run(n: u8) -> RunId {
        RunId::from_u128(u128::from(n))
    }

    fn current(status: Status) -> StartFacts {
        StartFacts {
            current: Some((run(1), status)),
            ..StartFacts::default()
        }
    }

    #[test]
    fn a_start_of_an_unused_id_starts() {
        for kind in [
            StartKind::Plain,
            StartKind::WithSignal,
            StartKind::WithUpdate,
        ] {
            for conflict in [
                Conflict::Fail,
                Conflict::UseExisting,
                Conflict::TerminateExisting,
            ] {
                assert_eq!(
                    decide_start(
                        kind,
                        conflict,
                        Reuse::RejectDuplicate,
                        &StartFacts::default()
                    ),
                    StartDecision::Start
                );
            }
        }
    }

    #[test]
    fn a_start_sent_again_answers_with_the_run_it_reached_whatever_the_state() {
        let facts = StartFacts {
            recorded_start: Some(run(7)),
            current: Some((run(9), Status::Running)),
            ..StartFacts::default()
        };
        for kind in [
            StartKind::Plain,
            StartKind::WithSignal,
            StartKind::WithUpdate,
        ] {
            assert_eq!(
                decide_start(kind, Conflict::Fail, Reuse::RejectDuplicate, &facts),
                StartDecision::Existing(run(7))
            );
        }
        // A signal-with-start whose signal was applied: the run it reached, even closed.
        let facts = StartFacts {
            recorded_signal: Some(run(7)),
            current: Some((run(7), Status::Completed)),
            ..StartFacts::default()
        };
        assert_eq!(
            decide_start(
                StartKind::WithSignal,
                Conflict::Fail,
                Reuse::AllowDuplicate,
                &facts
            ),
            StartDecision::Existing(run(7))
        );
        // Only a signal-with-start looks at the signal's record.
        assert_eq!(
            decide_start(
                StartKind::Plain,
                Conflict::Fail,
                Reuse::AllowDuplicate,
                &facts
            ),
            StartDecision::Start
        );
    }

    /// The conflict policy against a running run, per kind (Temporal's table).
    #[test]
    fn a_running_run_meets_the_conflict_policy() {
        let facts = current(Status::Running);
        let table = [
            (
                StartKind::Plain,
                Conflict::Fail,
                StartDecision::AlreadyStarted(run(1)),
            ),
            (
                StartKind::Plain,
                Conflict::UseExisting,
                StartDecision::Existing(run(1)),
            ),
            (
                StartKind::Plain,
                Conflict::TerminateExisting,
                StartDecision::TerminateThenStart(run(1)),
            ),
            (
                StartKind::WithSignal,
                Conflict::Fail,
                StartDecision::SignalRunning(run(1)),
            ),
            (
                StartKind::WithSignal,
                Conflict::UseExisting,
                StartDecision::SignalRunning(run(1)),
            ),
            (
                StartKind::WithSignal,
                Conflict::TerminateExisting,
                StartDecision::SignalRunning(run(1)),
            ),
            (
                StartKind::WithUpdate,
                Conflict::Fail,
                StartDecision::AlreadyStarted(run(1)),
            ),
            (
                StartKind::WithUpdate,
                Conflict::UseExisting,
                StartDecision::UpdateRunning(run(1)),
            ),
            (
                StartKind::WithUpdate,
                Conflict::TerminateExisting,
                StartDecision::TerminateThenStart(run(1)),
            ),
        ];
        for (kind, conflict, expected) in table {
            for reuse in [Reuse::AllowDuplicate, Reuse::RejectDuplicate] {
                assert_eq!(
                    decide_start(kind, conflict, reuse, &facts),
                    expected,
                    "{kind:?} {conflict:?} {reuse:?}"
                );
            }
        }
    }

    /// The reuse policy against a closed run, per closing status.
    #[test]
    fn a_closed_run_meets_the_reuse_policy() {
        let closed = [
            Status::Completed,
            Status::Failed,
            Status::Canceled,
            Status::Terminated,
            Status::TimedOut,
            Status::ContinuedAsNew,
        ];
        for status in closed {
            let facts = current(status);
            let failed_only = matches!(
                status,
                Status::Failed | Status::Canceled | Status::Terminated | Status::TimedOut
            );
            for kind in [
                StartKind::Plain,
                StartKind::WithSignal,
                StartKind::WithUpdate,
            ] {
                let decide = |reuse| decide_start(kind, Conflict::Fail, reuse, &facts);
                assert_eq!(decide(Reuse::AllowDuplicate), StartDecision::Start);
                assert_eq!(decide(Reuse::TerminateIfRunning), StartDecision::Start);
                assert_eq!(
                    decide(Reuse::RejectDuplicate),
                    StartDecision::AlreadyStarted(run(1))
                );
                assert_eq!(
                    decide(Reuse::AllowDuplicateFailedOnly),
                    if failed_only {
                        StartDecision::Start
                    } else {
                        StartDecision::AlreadyStarted(run(1))
                    },
                    "{status:?}"
                );
            }
        }
    }

    #[test]
    fn an_update_a_closed_run_took_is_answered_by_that_run() {
        let facts = StartFacts {
            closed_current_took_update: true,
            ..current(Status::Completed)
        };
        assert_eq!(
            decide_start(
                StartKind::WithUpdate,
                Conflict::UseExisting,
                Reuse::AllowDuplicate,
                &facts
            ),
            StartDecision::Existing(run(1))
        );
        // A plain start is not about the update.
        assert_eq!(
            decide_start(
                StartKind::Plain,
                Conflict::UseExisting,
                Reuse::AllowDuplicate,
                &facts
            ),
            StartDecision::Start
        );
    }
}
