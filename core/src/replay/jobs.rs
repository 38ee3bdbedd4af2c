//! What history gives the workflow besides its commands' results: the job each
//! non-command event becomes (a signal, a timer fired, an activity or child resolved, an
//! update, cancellation, a reset's reseed), with the failures as the workflow sees them.

use super::*;

impl ReplayMachine {
    /// The job a non-command event gives the workflow, if any.
    pub(super) fn job_for(&self, event: &HistoryEvent) -> Result<Option<Job>, ReplayError> {
        let unknown = |what: &str, id: EventId| ReplayError::MalformedHistory {
            event_id: event.event_id,
            reason: format!(
                "{what} refers to event {id}, which started nothing this workflow issued"
            ),
        };
        let activity = |scheduled: EventId| {
            self.activities
                .get(&scheduled)
                .copied()
                .ok_or_else(|| unknown("activity result", scheduled))
        };
        let child = |initiated: EventId| {
            self.children
                .get(&initiated)
                .copied()
                .ok_or_else(|| unknown("child workflow event", initiated))
        };
        Ok(Some(match &event.attributes {
            EventAttributes::WorkflowExecutionStarted(start) => Job::InitializeWorkflow {
                randomness_seed: randomness_seed(start.original_execution_run_id),
                start: start.clone(),
            },
            EventAttributes::WorkflowExecutionSignaled(a) => Job::Signal {
                signal_name: a.signal_name.clone(),
                input: a.input.clone(),
                identity: a.identity.clone(),
                header: a.header.clone(),
            },
            EventAttributes::WorkflowExecutionCancelRequested(a) => Job::CancelWorkflow {
                reason: a.cause.clone(),
            },
            EventAttributes::TimerFired(a) => Job::FireTimer {
                seq: self
                    .timers
                    .get(&a.started_event_id)
                    .copied()
                    .ok_or_else(|| unknown("TimerFired", a.started_event_id))?,
            },
            EventAttributes::ActivityTaskCompleted(a) => Job::ResolveActivity {
                seq: activity(a.scheduled_event_id)?,
                resolution: ActivityResolution::Completed(a.result.clone()),
            },
            EventAttributes::ActivityTaskFailed(a) => Job::ResolveActivity {
                seq: activity(a.scheduled_event_id)?,
                resolution: ActivityResolution::Failed(self.activity_failure(
                    a.scheduled_event_id,
                    Some(a.started_event_id),
                    a.retry_state,
                    a.failure.clone(),
                )),
            },
            EventAttributes::ActivityTaskTimedOut(a) => Job::ResolveActivity {
                seq: activity(a.scheduled_event_id)?,
                resolution: ActivityResolution::Failed(self.activity_failure(
                    a.scheduled_event_id,
                    a.started_event_id,
                    a.retry_state,
                    a.failure.clone(),
                )),
            },
            EventAttributes::ActivityTaskCanceled(a) => Job::ResolveActivity {
                seq: activity(a.scheduled_event_id)?,
                resolution: ActivityResolution::Canceled(self.activity_failure(
                    a.scheduled_event_id,
                    a.started_event_id,
                    crate::enums::RetryState::CancelRequested,
                    Failure::canceled(a.details.clone()),
                )),
            },
            EventAttributes::ExternalWorkflowExecutionSignaled(a) => {
                Job::ResolveSignalExternalWorkflow {
                    seq: self
                        .external_signals
                        .get(&a.initiated_event_id)
                        .copied()
                        .ok_or_else(|| unknown("signal delivery", a.initiated_event_id))?,
                    failure: None,
                }
            }
            EventAttributes::SignalExternalWorkflowExecutionFailed(a) => {
                Job::ResolveSignalExternalWorkflow {
                    seq: self
                        .external_signals
                        .get(&a.initiated_event_id)
                        .copied()
                        .ok_or_else(|| unknown("signal failure", a.initiated_event_id))?,
                    failure: Some(
                        Failure::application(
                            format!("signal failed: {:?}", a.cause),
                            "SignalExternalWorkflowExecutionFailed",
                        )
                        .non_retryable(),
                    ),
                }
            }
            EventAttributes::ExternalWorkflowExecutionCancelRequested(a) => {
                Job::ResolveRequestCancelExternalWorkflow {
                    seq: self
                        .external_cancels
                        .get(&a.initiated_event_id)
                        .copied()
                        .ok_or_else(|| unknown("cancel delivery", a.initiated_event_id))?,
                    failure: None,
                }
            }
            EventAttributes::ChildWorkflowExecutionStarted(a) => Job::ResolveChildWorkflowStart {
                seq: child(a.initiated_event_id)?,
                outcome: Ok(a.workflow_execution.run_id.ok_or_else(|| {
                    ReplayError::MalformedHistory {
                        event_id: event.event_id,
                        reason: "a started child has no run id".into(),
                    }
                })?),
            },
            EventAttributes::StartChildWorkflowExecutionFailed(a) => {
                Job::ResolveChildWorkflowStart {
                    seq: child(a.initiated_event_id)?,
                    outcome: Err(Failure::application(
                        format!(
                            "child workflow {} could not start: {:?}",
                            a.workflow_id, a.cause
                        ),
                        "ChildWorkflowExecutionAlreadyStarted",
                    )
                    .non_retryable()),
                }
            }
            EventAttributes::ChildWorkflowExecutionCompleted(a) => Job::ResolveChildWorkflow {
                seq: child(a.child.initiated_event_id)?,
                resolution: ChildResolution::Completed(a.result.clone()),
            },
            EventAttributes::ChildWorkflowExecutionFailed(a) => Job::ResolveChildWorkflow {
                seq: child(a.child.initiated_event_id)?,
                resolution: child_failure(&a.child, a.retry_state, a.failure.clone()),
            },
            EventAttributes::ChildWorkflowExecutionCanceled(a) => Job::ResolveChildWorkflow {
                seq: child(a.child.initiated_event_id)?,
                resolution: child_failure(
                    &a.child,
                    crate::enums::RetryState::NonRetryableFailure,
                    Failure::canceled(a.details.clone()),
                ),
            },
            EventAttributes::ChildWorkflowExecutionTimedOut(a) => Job::ResolveChildWorkflow {
                seq: child(a.child.initiated_event_id)?,
                resolution: child_failure(
                    &a.child,
                    a.retry_state,
                    Failure::timeout(crate::enums::TimeoutType::StartToClose),
                ),
            },
            EventAttributes::ChildWorkflowExecutionTerminated(a) => Job::ResolveChildWorkflow {
                seq: child(a.child.initiated_event_id)?,
                resolution: child_failure(
                    &a.child,
                    crate::enums::RetryState::NonRetryableFailure,
                    Failure::terminated("terminated"),
                ),
            },
            EventAttributes::RequestCancelExternalWorkflowExecutionFailed(a) => {
                Job::ResolveRequestCancelExternalWorkflow {
                    seq: self
                        .external_cancels
                        .get(&a.initiated_event_id)
                        .copied()
                        .ok_or_else(|| unknown("cancel failure", a.initiated_event_id))?,
                    failure: Some(
                        Failure::application(
                            format!("cancel request failed: {:?}", a.cause),
                            "RequestCancelExternalWorkflowExecutionFailed",
                        )
                        .non_retryable(),
                    ),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// An activity's failure as the workflow sees it: an activity failure caused by `cause`.
    fn activity_failure(
        &self,
        scheduled: EventId,
        started: Option<EventId>,
        retry_state: crate::enums::RetryState,
        cause: Failure,
    ) -> Failure {
        let scheduled_event = self.history.get((scheduled.get() - 1) as usize);
        let (activity_id, activity_type) = match scheduled_event.map(|event| &event.attributes) {
            Some(EventAttributes::ActivityTaskScheduled(a)) => {
                (a.activity_id.clone(), a.activity_type.clone())
            }
            _ => (fallback_activity_id(), fallback_activity_type()),
        };
        Failure::new(
            "activity error",
            FailureInfo::Activity {
                scheduled_event_id: scheduled,
                started_event_id: started,
                identity: String::new(),
                activity_type,
                activity_id,
                retry_state,
            },
        )
        .caused_by(cause)
    }

    /// The reseed job of a reset (WorkflowTaskFailed with RESET_WORKFLOW) at `index`.
    pub(super) fn reset_job(&self, index: usize) -> Option<Job> {
        match &self.history.get(index)?.attributes {
            EventAttributes::WorkflowTaskFailed(a)
                if a.cause == WorkflowTaskFailedCause::ResetWorkflow =>
            {
                a.new_run_id.map(|run_id| Job::UpdateRandomSeed {
                    randomness_seed: randomness_seed(run_id),
                })
            }
            _ => None,
        }
    }
}

/// A child's end as its parent sees it: a child workflow failure caused by `cause`.
fn child_failure(
    child: &crate::history::ChildWorkflowExecutionRef,
    retry_state: crate::enums::RetryState,
    cause: Failure,
) -> ChildResolution {
    ChildResolution::Failed(
        Failure::new(
            "child workflow execution error",
            FailureInfo::ChildWorkflowExecution {
                namespace: child.namespace.clone(),
                workflow_execution: child.workflow_execution.clone(),
                workflow_type: child.workflow_type.clone(),
                initiated_event_id: child.initiated_event_id,
                started_event_id: Some(child.started_event_id),
                retry_state,
            },
        )
        .caused_by(cause),
    )
}
