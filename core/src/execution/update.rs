//! Updates (spec §5.19.3, Temporal's update registry): admission, delivery with a workflow
//! task, the worker's answers in a completion, and aborts.
//!
//! An admitted update lives only in memory — like Temporal's registry — until the workflow
//! answers: a rejection leaves no history, an acceptance writes UpdateAccepted (with the
//! request, so replay can deliver it again) and a response UpdateCompleted. Accepted
//! updates are recorded in the persisted state ([`UpdateRecord`]) so a retried request with
//! the same id finds them. If the process loses an admitted update the client's retry
//! admits it again; nothing was written for it.

use serde::{Deserialize, Serialize};

use super::ExecutionMachine;
use super::io::{Effects, Rejected, Reply};
use super::workflow_task::Refusal;
use crate::enums::WorkflowTaskFailedCause;
use crate::history::{
    EventAttributes, WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
};
use crate::ids::{EventId, UpdateId};
use crate::limits::{UPDATES_IN_FLIGHT_MAX, UPDATES_PER_EXECUTION_MAX};
use crate::time::Timestamp;
use crate::update::{
    UpdateAbort, UpdateDelivery, UpdateMessage, UpdateMessageBody, UpdateNotice, UpdateRequest,
    UpdateStage,
};

/// An update this run accepted: where history has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// The UpdateAccepted event.
    pub accepted_event_id: EventId,
    /// The UpdateCompleted event, once the handler finished.
    pub completed_event_id: Option<EventId>,
}

/// An update admitted and not yet answered (in memory only).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct AdmittedUpdate {
    pub(super) request: UpdateRequest,
    /// The started workflow task's Started event it was delivered after, if delivered.
    pub(super) delivered_after: Option<EventId>,
}

impl ExecutionMachine {
    /// Admits a client's update, or reports how far an update with its id has come — even
    /// once the run closed, so a client retrying an update whose answer it lost gets it.
    pub(super) fn admit_update(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        request: UpdateRequest,
        ends_start_delay: bool,
    ) -> Result<(), Rejected> {
        if let Some(record) = self.updates.get(&request.update_id) {
            fx.reply = Reply::Update {
                stage: if record.completed_event_id.is_some() {
                    UpdateStage::Completed
                } else {
                    UpdateStage::Accepted
                },
                completed_event_id: record.completed_event_id,
            };
            return Ok(());
        }
        self.require_open()?;
        let admitted = self
            .admitted_updates
            .iter()
            .any(|admitted| admitted.request.update_id == request.update_id);
        if !admitted {
            if self.close_attempted && self.workflow_task_in_flight() {
                return Err(Rejected::WorkflowClosing);
            }
            let in_flight = self.admitted_updates.len()
                + self
                    .updates
                    .values()
                    .filter(|record| record.completed_event_id.is_none())
                    .count();
            if in_flight >= UPDATES_IN_FLIGHT_MAX {
                return Err(Rejected::UpdateLimitExceeded(format!(
                    "{in_flight} updates in flight, the maximum; retry when some complete"
                )));
            }
            if self.updates.len() + self.admitted_updates.len() >= UPDATES_PER_EXECUTION_MAX {
                return Err(Rejected::UpdateLimitExceeded(format!(
                    "received {UPDATES_PER_EXECUTION_MAX} updates, the maximum; continue as new"
                )));
            }
            request.args.check_size("update arguments")?;
            request.header.check_size("update header")?;
            self.admitted_updates.push(AdmittedUpdate {
                request,
                delivered_after: None,
            });
        }
        if ends_start_delay && self.first_workflow_task_backoff_until.take().is_some() {
            self.schedule_workflow_task_if_needed(fx, now);
        }
        if !self.schedule_speculative_workflow_task(fx, now) {
            self.reoffer_speculative_workflow_task(fx);
        }
        fx.reply = Reply::Update {
            stage: UpdateStage::Admitted,
            completed_event_id: None,
        };
        Ok(())
    }

    /// The admitted updates a task started now delivers, all of them, sequenced after the
    /// event before its WorkflowTaskStarted (`started_event_id` − 1), as Temporal sequences
    /// them — the `accepted_request_sequencing_event_id` of their acceptance.
    pub(super) fn deliver_updates(&mut self, started_event_id: EventId) -> Vec<UpdateDelivery> {
        debug_assert!(
            started_event_id.get() > 1,
            "a task starts after its run did"
        );
        let sequencing = EventId::new(started_event_id.get() - 1).unwrap_or(EventId::FIRST);
        self.admitted_updates
            .iter_mut()
            .map(|admitted| {
                admitted.delivered_after = Some(sequencing);
                UpdateDelivery {
                    message_id: UpdateDelivery::request_message_id(&admitted.request.update_id),
                    sequencing_event_id: sequencing,
                    request: admitted.request.clone(),
                }
            })
            .collect()
    }

    /// The updates the pending task delivers (for a repeated start reply).
    pub(super) fn delivered_updates(&self) -> Vec<UpdateDelivery> {
        self.admitted_updates
            .iter()
            .filter_map(|admitted| {
                Some(UpdateDelivery {
                    message_id: UpdateDelivery::request_message_id(&admitted.request.update_id),
                    sequencing_event_id: admitted.delivered_after?,
                    request: admitted.request.clone(),
                })
            })
            .collect()
    }

    /// Processes one of a completion's update messages: an acceptance writes UpdateAccepted,
    /// a response UpdateCompleted, a rejection nothing.
    pub(super) fn handle_update_message(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        message: &UpdateMessage,
    ) -> Result<(), Refusal> {
        let bad = |reason: String| {
            Refusal::new(
                WorkflowTaskFailedCause::BadUpdateWorkflowExecutionMessage,
                format!("update message {}: {reason}", message.id),
            )
        };
        match &message.body {
            UpdateMessageBody::Acceptance | UpdateMessageBody::Rejection(_) => {
                let (position, delivered_after) = self
                    .admitted_updates
                    .iter()
                    .enumerate()
                    .find_map(|(position, admitted)| {
                        (admitted.request.update_id == message.update_id)
                            .then_some(admitted.delivered_after)
                            .flatten()
                            .map(|delivered_after| (position, delivered_after))
                    })
                    .ok_or_else(|| {
                        bad(format!(
                            "update {} was not delivered with this task",
                            message.update_id
                        ))
                    })?;
                let admitted = self.admitted_updates.remove(position);
                if let UpdateMessageBody::Rejection(failure) = &message.body {
                    fx.updates.push((
                        message.update_id.clone(),
                        UpdateNotice::Rejected(failure.clone()),
                    ));
                    return Ok(());
                }
                let update_id = admitted.request.update_id.clone();
                let accepted_event_id = self.write(
                    fx,
                    now,
                    EventAttributes::WorkflowExecutionUpdateAccepted(
                        WorkflowExecutionUpdateAcceptedEventAttributes {
                            protocol_instance_id: update_id.as_str().to_owned(),
                            accepted_request_message_id: UpdateDelivery::request_message_id(
                                &update_id,
                            ),
                            accepted_request_sequencing_event_id: delivered_after,
                            accepted_request: admitted.request,
                        },
                    ),
                );
                self.updates.insert(
                    update_id.clone(),
                    UpdateRecord {
                        accepted_event_id,
                        completed_event_id: None,
                    },
                );
                fx.updates.push((update_id, UpdateNotice::Accepted));
            }
            UpdateMessageBody::Response(outcome) => {
                let record = self
                    .updates
                    .get(&message.update_id)
                    .filter(|record| record.completed_event_id.is_none())
                    .ok_or_else(|| {
                        bad(format!(
                            "update {} is not accepted and open",
                            message.update_id
                        ))
                    })?;
                let accepted_event_id = record.accepted_event_id;
                let completed_event_id = self.write(
                    fx,
                    now,
                    EventAttributes::WorkflowExecutionUpdateCompleted(
                        WorkflowExecutionUpdateCompletedEventAttributes {
                            update_id: message.update_id.clone(),
                            accepted_event_id,
                            outcome: outcome.clone(),
                        },
                    ),
                );
                if let Some(record) = self.updates.get_mut(&message.update_id) {
                    record.completed_event_id = Some(completed_event_id);
                }
                fx.updates.push((
                    message.update_id.clone(),
                    UpdateNotice::Completed(outcome.clone()),
                ));
            }
        }
        Ok(())
    }

    /// After a completion: updates delivered and left unanswered are delivered again with
    /// the next task; returns whether any admitted update waits for one.
    pub(super) fn redeliver_unanswered_updates(&mut self) -> bool {
        for admitted in &mut self.admitted_updates {
            admitted.delivered_after = None;
        }
        !self.admitted_updates.is_empty()
    }

    /// The delivered updates of a task that failed or timed out are aborted (Temporal's
    /// abort matrix: the client learns the task failed; updates not yet delivered stay, and
    /// so do updates a reset reapplied, which are durable and delivered again).
    pub(super) fn abort_delivered_updates(&mut self, fx: &mut Effects) {
        let (delivered, mut waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.admitted_updates)
            .into_iter()
            .partition(|admitted| {
                admitted.delivered_after.is_some()
                    && !self.is_reapplied_update(&admitted.request.update_id)
            });
        // Reapplied updates have no client to retry them: they wait for the next task.
        for admitted in &mut waiting {
            admitted.delivered_after = None;
        }
        self.admitted_updates = waiting;
        for admitted in delivered {
            fx.updates.push((
                admitted.request.update_id,
                UpdateNotice::Aborted(UpdateAbort::WorkflowTaskFailed),
            ));
        }
    }

    /// The run closes: admitted updates go to the successor (retryable) or fail; accepted
    /// ones whose handler did not finish fail.
    pub(super) fn abort_updates_on_close(&mut self, fx: &mut Effects, has_successor: bool) {
        let reason = if has_successor {
            UpdateAbort::RunContinued
        } else {
            UpdateAbort::WorkflowClosed
        };
        for admitted in std::mem::take(&mut self.admitted_updates) {
            fx.updates
                .push((admitted.request.update_id, UpdateNotice::Aborted(reason)));
        }
        for (update_id, record) in &self.updates {
            if record.completed_event_id.is_none() {
                fx.updates.push((
                    update_id.clone(),
                    UpdateNotice::Aborted(UpdateAbort::AcceptedUpdateNotCompleted),
                ));
            }
        }
    }

    /// Whether any update is admitted and unanswered (kept only in memory).
    pub fn has_admitted_updates(&self) -> bool {
        !self.admitted_updates.is_empty()
    }

    /// The update this run accepted under `update_id`, if any.
    pub fn update_record(&self, update_id: &UpdateId) -> Option<&UpdateRecord> {
        self.updates.get(update_id)
    }

    /// Whether `self` and `other` have the same durable state: equal but for the updates
    /// admitted in memory.
    pub fn durable_state_eq(&self, other: &Self) -> bool {
        if self.admitted_updates == other.admitted_updates {
            return self == other;
        }
        let (mut left, mut right) = (self.clone(), other.clone());
        left.admitted_updates.clear();
        right.admitted_updates.clear();
        left == right
    }
}
