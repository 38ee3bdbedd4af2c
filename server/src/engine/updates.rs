//! Updates through the engine: who waits for which update, and the client calls —
//! update and update-with-start — that admit an update and wait for a stage.
//!
//! An admitted update lives only in its run's cached machine (like Temporal's in-memory
//! registry). Shards report what happens to updates after each commit ([`UpdateWaiters::
//! notify`]); when a machine holding admitted updates leaves the cache, its waiters hear
//! the update was lost and send it again — safe, since its id deduplicates it.

use std::collections::BTreeMap;
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::execution::{Input, Rejected, Reply};
use endure_core::history::EventAttributes;
use endure_core::protocol::{UpdateWorkflowRequest, UpdateWorkflowResponse};
use endure_core::storage::{ExecutionKey, Storage};
use endure_core::{
    EventId, Failure, Namespace, UpdateAbort, UpdateId, UpdateNotice, UpdateOutcome, UpdateStage,
    WorkflowId,
};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::api::{EngineError, StartWorkflowRequest, StartWorkflowResponse};
use super::closings::CLOSING_WAIT_MAX;
use super::runtime::Engine;

type Waiter = mpsc::UnboundedSender<(ExecutionKey, UpdateNotice)>;

/// Waiters by workflow id, then update id.
type WaitersByWorkflow = BTreeMap<(Namespace, WorkflowId), BTreeMap<UpdateId, Vec<Waiter>>>;

/// Who waits for which update: by namespace and workflow id, then update id — not by run,
/// since an update may land on a run that did not exist when the client sent it.
#[derive(Default)]
pub(crate) struct UpdateWaiters {
    waiters: Mutex<WaitersByWorkflow>,
}

/// A registration; dropping it ends the wait.
pub(crate) struct Subscription {
    notices: mpsc::UnboundedReceiver<(ExecutionKey, UpdateNotice)>,
}

impl UpdateWaiters {
    fn subscribe(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        update_id: &UpdateId,
    ) -> Subscription {
        let (sender, notices) = mpsc::unbounded_channel();
        self.waiters
            .lock()
            .entry((namespace.clone(), workflow_id.clone()))
            .or_default()
            .entry(update_id.clone())
            .or_default()
            .push(sender);
        Subscription { notices }
    }

    /// Tells the waiters what happened to updates of `execution` (after the commit).
    pub(crate) fn notify(&self, execution: &ExecutionKey, notices: &[(UpdateId, UpdateNotice)]) {
        if notices.is_empty() {
            return;
        }
        let mut waiters = self.waiters.lock();
        let key = (execution.namespace.clone(), execution.workflow_id.clone());
        let Some(by_update) = waiters.get_mut(&key) else {
            return;
        };
        for (update_id, notice) in notices {
            if let Some(list) = by_update.get_mut(update_id) {
                list.retain(|waiter| waiter.send((execution.clone(), notice.clone())).is_ok());
                if list.is_empty() {
                    by_update.remove(update_id);
                }
            }
        }
        if by_update.is_empty() {
            waiters.remove(&key);
        }
    }

    /// The run's admitted updates are gone (its machine left the cache): every waiter of
    /// its workflow id sends its update again (and stays registered for the answer).
    pub(crate) fn lost(&self, execution: &ExecutionKey) {
        let key = (execution.namespace.clone(), execution.workflow_id.clone());
        let mut waiters = self.waiters.lock();
        let Some(by_update) = waiters.get_mut(&key) else {
            return;
        };
        for list in by_update.values_mut() {
            list.retain(|waiter| {
                waiter
                    .send((execution.clone(), UpdateNotice::Aborted(UpdateAbort::Lost)))
                    .is_ok()
            });
        }
    }

    /// Drops registrations whose waiter is gone.
    fn prune(&self, namespace: &Namespace, workflow_id: &WorkflowId) {
        let mut waiters = self.waiters.lock();
        let key = (namespace.clone(), workflow_id.clone());
        if let Some(by_update) = waiters.get_mut(&key) {
            by_update.retain(|_, list| {
                list.retain(|waiter| !waiter.is_closed());
                !list.is_empty()
            });
            if by_update.is_empty() {
                waiters.remove(&key);
            }
        }
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Sends an update to a run (the current one if no run id) and waits until it reaches
    /// `wait_for` or the long poll ends (then the response says how far it came; send it
    /// again to wait more). A rejected update completes with its validator's failure.
    pub async fn update_workflow(
        &self,
        request: UpdateWorkflowRequest,
    ) -> Result<UpdateWorkflowResponse, EngineError> {
        self.check_namespace(&request.namespace)?;
        let subscription = self.inner.updates.subscribe(
            &request.namespace,
            &request.workflow_id,
            &request.request.update_id,
        );
        let result = self.await_update(&request, subscription).await;
        self.inner
            .updates
            .prune(&request.namespace, &request.workflow_id);
        result
    }

    /// Update-with-start: updates the workflow id's running run (the id-conflict policy
    /// must allow using it), or starts one whose first task carries the update. Either way
    /// the run's start delay ends, and the start's request id deduplicates the start.
    pub async fn update_with_start_workflow(
        &self,
        start: StartWorkflowRequest,
        update: UpdateWorkflowRequest,
    ) -> Result<(StartWorkflowResponse, UpdateWorkflowResponse), EngineError> {
        self.check_namespace(&start.namespace)?;
        if start.namespace != update.namespace || start.options.id != update.workflow_id {
            return Err(EngineError::BadRequest(
                "an update-with-start's update must name the start's namespace and workflow id"
                    .into(),
            ));
        }
        let subscription = self.inner.updates.subscribe(
            &update.namespace,
            &update.workflow_id,
            &update.request.update_id,
        );
        let started = self
            .start_through_shard(start, None, Some(update.request.clone()))
            .await?;
        let update = UpdateWorkflowRequest {
            run_id: Some(started.run_id),
            ..update
        };
        let result = self.await_update(&update, subscription).await;
        self.inner
            .updates
            .prune(&update.namespace, &update.workflow_id);
        Ok((started, result?))
    }

    async fn await_update(
        &self,
        request: &UpdateWorkflowRequest,
        mut subscription: Subscription,
    ) -> Result<UpdateWorkflowResponse, EngineError> {
        let deadline = self
            .inner
            .clock
            .now()
            .saturating_add(self.inner.config.poll_wait);
        let mut execution = self
            .resolve_run(&request.namespace, &request.workflow_id, request.run_id)
            .await?;
        let mut closing_wait = Duration::from_millis(10);
        let mut stage = UpdateStage::Admitted;
        let mut resend = true;
        loop {
            if resend {
                let input = Input::Update {
                    request: request.request.clone(),
                    ends_start_delay: false,
                };
                let reply = match self.apply(&execution, input, None).await {
                    Ok(reply) => reply,
                    Err(EngineError::Rejected(Rejected::WorkflowClosing))
                        if closing_wait <= CLOSING_WAIT_MAX =>
                    {
                        let until = self.inner.clock.now().saturating_add(closing_wait);
                        self.inner.clock.sleep_until(until).await;
                        closing_wait *= 2;
                        continue;
                    }
                    Err(EngineError::Rejected(Rejected::WorkflowClosed))
                        if request.run_id.is_none() =>
                    {
                        let current = self
                            .resolve_run(&request.namespace, &request.workflow_id, None)
                            .await?;
                        if current.run_id == execution.run_id {
                            return Err(Rejected::WorkflowClosed.into());
                        }
                        execution = current;
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                resend = false;
                if let Some(response) = self.on_reply(&execution, request, reply).await? {
                    return Ok(response);
                }
            }
            let notice = tokio::select! {
                biased;
                notice = subscription.notices.recv() => notice,
                () = self.inner.clock.sleep_until(deadline) => {
                    return Ok(UpdateWorkflowResponse {
                        run_id: execution.run_id,
                        stage,
                        outcome: None,
                    });
                }
            };
            let Some((noticed_run, notice)) = notice else {
                return Err(EngineError::Shutdown);
            };
            match notice {
                UpdateNotice::Accepted => {
                    stage = UpdateStage::Accepted;
                    if request.wait_for <= UpdateStage::Accepted {
                        return Ok(UpdateWorkflowResponse {
                            run_id: noticed_run.run_id,
                            stage,
                            outcome: None,
                        });
                    }
                }
                UpdateNotice::Completed(outcome) => {
                    return Ok(completed(noticed_run.run_id, outcome));
                }
                UpdateNotice::Rejected(failure) => {
                    return Ok(completed(
                        noticed_run.run_id,
                        UpdateOutcome::Failure(failure),
                    ));
                }
                UpdateNotice::Aborted(UpdateAbort::AcceptedUpdateNotCompleted) => {
                    return Ok(completed(
                        noticed_run.run_id,
                        UpdateOutcome::Failure(
                            Failure::application(
                                UpdateAbort::AcceptedUpdateNotCompleted.to_string(),
                                "AcceptedUpdateCompletedWorkflow",
                            )
                            .non_retryable(),
                        ),
                    ));
                }
                UpdateNotice::Aborted(UpdateAbort::Lost) => resend = true,
                UpdateNotice::Aborted(UpdateAbort::RunContinued) if request.run_id.is_none() => {
                    resend = true;
                }
                UpdateNotice::Aborted(abort) => return Err(EngineError::UpdateAborted(abort)),
            }
        }
    }

    /// The answer for the caller, if the run's reply to the update is one; `None` to wait.
    async fn on_reply(
        &self,
        execution: &ExecutionKey,
        request: &UpdateWorkflowRequest,
        reply: Reply,
    ) -> Result<Option<UpdateWorkflowResponse>, EngineError> {
        let Reply::Update {
            stage,
            completed_event_id,
        } = reply
        else {
            return Err(EngineError::BadRequest(format!(
                "unexpected answer to an update: {reply:?}"
            )));
        };
        if let Some(event_id) = completed_event_id {
            let outcome = self.update_outcome(execution, event_id).await?;
            return Ok(Some(completed(execution.run_id, outcome)));
        }
        Ok(
            (stage >= request.wait_for).then_some(UpdateWorkflowResponse {
                run_id: execution.run_id,
                stage,
                outcome: None,
            }),
        )
    }

    /// Waits (a long poll) for update `update_id`, known only by its id (Temporal's
    /// `PollWorkflowExecutionUpdate`): its outcome once completed; its stage, accepted,
    /// when the wait ends first; `NotFound` when the run has not accepted it by then (it
    /// was never sent, or is still only admitted).
    pub async fn poll_update(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<endure_core::RunId>,
        update_id: &UpdateId,
    ) -> Result<UpdateWorkflowResponse, EngineError> {
        self.check_namespace(namespace)?;
        let subscription = self
            .inner
            .updates
            .subscribe(namespace, workflow_id, update_id);
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let polled = self
            .poll_update_of(&execution, update_id, subscription)
            .await;
        self.inner.updates.prune(namespace, workflow_id);
        polled
    }

    async fn poll_update_of(
        &self,
        execution: &ExecutionKey,
        update_id: &UpdateId,
        mut subscription: Subscription,
    ) -> Result<UpdateWorkflowResponse, EngineError> {
        let deadline = self
            .inner
            .clock
            .now()
            .saturating_add(self.inner.config.poll_wait);
        let mut accepted = false;
        let mut check_record = true;
        loop {
            if check_record {
                check_record = false;
                match self.recorded_update(execution, update_id).await? {
                    Some(Some(event_id)) => {
                        let outcome = self.update_outcome(execution, event_id).await?;
                        return Ok(completed(execution.run_id, outcome));
                    }
                    Some(None) => accepted = true,
                    None => {}
                }
            }
            let notice = tokio::select! {
                biased;
                notice = subscription.notices.recv() => notice,
                () = self.inner.clock.sleep_until(deadline) => {
                    return if accepted {
                        Ok(UpdateWorkflowResponse {
                            run_id: execution.run_id,
                            stage: UpdateStage::Accepted,
                            outcome: None,
                        })
                    } else {
                        Err(EngineError::NotFound(format!(
                            "update {update_id} of {execution:?}: the run has not accepted it"
                        )))
                    };
                }
            };
            let Some((_, notice)) = notice else {
                return Err(EngineError::Shutdown);
            };
            match notice {
                UpdateNotice::Accepted => accepted = true,
                UpdateNotice::Completed(outcome) => {
                    return Ok(completed(execution.run_id, outcome));
                }
                UpdateNotice::Rejected(failure) => {
                    return Ok(completed(execution.run_id, UpdateOutcome::Failure(failure)));
                }
                UpdateNotice::Aborted(UpdateAbort::Lost) => check_record = true,
                UpdateNotice::Aborted(abort) => return Err(EngineError::UpdateAborted(abort)),
            }
        }
    }

    /// What the run's stored state records of update `update_id`: `None` if nothing,
    /// `Some(None)` if accepted, `Some(Some(event))` with its UpdateCompleted event.
    async fn recorded_update(
        &self,
        execution: &ExecutionKey,
        update_id: &UpdateId,
    ) -> Result<Option<Option<EventId>>, EngineError> {
        let (_, machine) = self.load_stored(execution).await?;
        Ok(machine
            .update_record(update_id)
            .map(|record| record.completed_event_id))
    }

    /// The outcome recorded in the UpdateCompleted event `event_id`.
    async fn update_outcome(
        &self,
        execution: &ExecutionKey,
        event_id: EventId,
    ) -> Result<UpdateOutcome, EngineError> {
        let page = self.inner.storage.read_history(execution, event_id).await?;
        match page.events.first().map(|event| &event.attributes) {
            Some(EventAttributes::WorkflowExecutionUpdateCompleted(completed)) => {
                Ok(completed.outcome.clone())
            }
            _ => Err(EngineError::Storage(
                endure_core::storage::StorageError::Corrupt {
                    what: format!("event {event_id} of {execution}"),
                    reason: "the run records an update completed there".into(),
                },
            )),
        }
    }
}

fn completed(run_id: endure_core::RunId, outcome: UpdateOutcome) -> UpdateWorkflowResponse {
    UpdateWorkflowResponse {
        run_id,
        stage: UpdateStage::Completed,
        outcome: Some(outcome),
    }
}
