//! The engine as the worker of its schedule workflows: a poller per namespace on the
//! schedules' queue, each task decided by core's pure scheduler (state folded from the
//! history, `plan` at the task's start time). A task takes the starts the previous task
//! decided and recorded, with the request ids drawn then (a retried task finds the runs
//! it started), decides the starts due now, and completes recording the new state, the
//! starts it decided (for the next task, asked for at once) and the next wake-up. A
//! watcher per awaited workflow wakes the schedule when that workflow closes, so a
//! buffered start goes at once rather than at the next wake-up.
//!
//! The pollers hold the engine weakly (so they never keep it open) and are stopped by
//! [`Engine::shutdown`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::execution::{SignalRequest, WorkflowTaskCompletion};
use endure_core::history::EventAttributes;
use endure_core::protocol::{PolledWorkflowTask, StartWorkflowRequest, WorkflowTaskForWorker};
use endure_core::schedule::history as schedule_history;
use endure_core::schedule::{
    PlannedStart, ScheduleAction, SchedulerInput, SchedulerState, StartOutcome,
};
use endure_core::storage::Storage;
use endure_core::{
    EventId, Header, Namespace, Payloads, RequestId, SearchAttributeValue, Timestamp,
    WorkflowExecutionStatus, WorkflowId, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
};
use tokio::task::JoinHandle;

use super::{list_info_payload, scheduler_queue};
use crate::engine::api::EngineError;
use crate::engine::matching::TaskKind;
use crate::engine::runtime::{Engine, Inner};

/// The identity the engine polls and starts workflows with.
const IDENTITY: &str = "endure-scheduler";

/// How long after a failed poll the poller tries again.
const POLL_RETRY: Duration = Duration::from_secs(1);

/// The pollers and watchers of schedule workflows.
#[derive(Default)]
pub(crate) struct SchedulerWorkers {
    pollers: parking_lot::Mutex<BTreeMap<Namespace, JoinHandle<()>>>,
    watched: Arc<parking_lot::Mutex<BTreeSet<(Namespace, WorkflowId)>>>,
    watchers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

impl SchedulerWorkers {
    /// Starts polling `namespace`'s schedules queue, unless already polling it.
    pub(crate) fn serve<S: Storage, C: Clock>(&self, engine: &Engine<S, C>, namespace: &Namespace) {
        let mut pollers = self.pollers.lock();
        if pollers.contains_key(namespace) {
            return;
        }
        let inner = &engine.inner;
        let poller = poll_loop(
            Arc::downgrade(inner),
            Arc::clone(&inner.matching),
            Arc::clone(&inner.storage),
            Arc::clone(&inner.clock),
            namespace.clone(),
            inner.config.poll_wait,
        );
        pollers.insert(namespace.clone(), tokio::spawn(poller));
    }

    /// Stops every poller and watcher (a task a poller held goes back to its queue or
    /// times out; schedules resume from their histories at the next open).
    pub(crate) async fn stop(&self) {
        let pollers: Vec<JoinHandle<()>> = std::mem::take(&mut *self.pollers.lock())
            .into_values()
            .collect();
        let watchers: Vec<JoinHandle<()>> = std::mem::take(&mut *self.watchers.lock());
        for task in pollers.into_iter().chain(watchers) {
            task.abort();
            let _ = task.await;
        }
    }

    fn watch<S: Storage, C: Clock>(
        &self,
        engine: &Engine<S, C>,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        schedule_workflow_id: &WorkflowId,
    ) {
        let key = (namespace.clone(), workflow_id.clone());
        if !self.watched.lock().insert(key.clone()) {
            return;
        }
        let watcher = watch_loop(
            Arc::downgrade(&engine.inner),
            Arc::clone(&self.watched),
            key,
            schedule_workflow_id.clone(),
        );
        let mut watchers = self.watchers.lock();
        watchers.retain(|task| !task.is_finished());
        watchers.push(tokio::spawn(watcher));
    }
}

impl Drop for SchedulerWorkers {
    /// An engine dropped without [`Engine::shutdown`] still stops its pollers, so they
    /// release the store.
    fn drop(&mut self) {
        for task in self.pollers.get_mut().values() {
            task.abort();
        }
        for task in self.watchers.get_mut().iter() {
            task.abort();
        }
    }
}

async fn poll_loop<S: Storage, C: Clock>(
    inner: Weak<Inner<S, C>>,
    matching: Arc<crate::engine::matching::Matching>,
    storage: Arc<S>,
    clock: Arc<C>,
    namespace: Namespace,
    wait: Duration,
) {
    let queue = scheduler_queue();
    loop {
        let handoff = match matching
            .poll(
                &storage,
                &clock,
                &namespace,
                &queue,
                TaskKind::Workflow,
                IDENTITY,
                false,
                None,
                wait,
            )
            .await
        {
            Ok(Some(handoff)) => handoff,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%namespace, %error, "schedules: polling failed; retrying");
                clock
                    .sleep_until(clock.now().saturating_add(POLL_RETRY))
                    .await;
                continue;
            }
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let engine = Engine { inner };
        match engine.take_workflow_handoff(handoff, IDENTITY).await {
            Ok(Some(PolledWorkflowTask::Task(task))) => {
                let execution = task.execution.clone();
                if let Err(error) = engine.run_schedule_task(*task).await {
                    // The task is not completed: it times out and is tried again.
                    tracing::warn!(%error, workflow_id = %execution.workflow_id, "schedules: a wake-up failed; it will be retried");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%namespace, %error, "schedules: a task did not start"),
        }
    }
}

/// Waits for the current run of `key`'s workflow to close, then wakes the schedule.
async fn watch_loop<S: Storage, C: Clock>(
    inner: Weak<Inner<S, C>>,
    watched: Arc<parking_lot::Mutex<BTreeSet<(Namespace, WorkflowId)>>>,
    key: (Namespace, WorkflowId),
    schedule_workflow_id: WorkflowId,
) {
    let (namespace, workflow_id) = &key;
    let closed_run = async {
        let engine = Engine {
            inner: inner.upgrade()?,
        };
        let execution = engine
            .resolve_run(namespace, workflow_id, None)
            .await
            .ok()?;
        let closed = engine.inner.closings.register(&execution);
        let description = engine
            .describe_workflow(namespace, workflow_id, Some(execution.run_id))
            .await
            .ok()?;
        drop(engine);
        if !description.status.is_closed() {
            let _ = closed.await;
        }
        Some(execution.run_id)
    }
    .await;
    watched.lock().remove(&key);
    let (Some(run_id), Some(inner)) = (closed_run, inner.upgrade()) else {
        return;
    };
    let engine = Engine { inner };
    let signal = SignalRequest {
        signal_name: schedule_history::refresh_signal(),
        input: Payloads::default(),
        identity: IDENTITY.into(),
        header: Header::default(),
        request_id: RequestId::new(format!("refresh-{run_id}")).ok(),
    };
    if let Err(error) = engine
        .signal_workflow(namespace, &schedule_workflow_id, None, signal)
        .await
    {
        tracing::debug!(%error, %schedule_workflow_id, "schedules: could not wake the schedule");
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// One wake-up of a schedule: fold, take the starts recorded before, decide what is
    /// due now, record it.
    async fn run_schedule_task(&self, task: WorkflowTaskForWorker) -> Result<(), EngineError> {
        let execution = task.execution.clone();
        let mut history = if task.next_page.is_some() {
            self.history(&execution).await?
        } else {
            task.history
        };
        history.extend(task.transient_events);
        let folded = schedule_history::fold(&history)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        // The task's start time — or the engine's clock if it reads earlier (restarted
        // with a slower clock), so nothing is started before its time by the clock that
        // records the start.
        let now = folded.now.min(self.inner.clock.now());
        let mut state = folded.state.clone();
        // The starts the previous wake-up decided and recorded; their request ids make a
        // retried take find the runs an earlier attempt started.
        for planned in &folded.taking {
            // A start decided before the engine restarted with a slower clock waits until
            // that clock reaches its time: no run starts before its time by the clock
            // that records its start.
            let due = planned.start.actual;
            if self.inner.clock.now() < due {
                self.inner.clock.sleep_until(due).await;
            }
            let outcome = self
                .take_scheduled_start(&state, planned, now.max(due))
                .await?;
            state.record_start(planned, outcome);
        }
        // A run about to continue as new decides nothing: its successor does, at once.
        let taking = if folded.continues_as_new() {
            Vec::new()
        } else {
            self.decide_starts(&mut state, now).await?
        };
        let wakeup = state.next_wakeup(now);
        let list_info = Payloads::one(list_info_payload(&state.list_info()));
        let commands =
            schedule_history::commands(&folded, &state, &taking, &list_info, wakeup, now);
        let mut completion = WorkflowTaskCompletion::new(task.token, commands, IDENTITY);
        // The starts just decided are taken by the next wake-up, which comes at once.
        completion.force_create_workflow_task = !taking.is_empty();
        self.complete_workflow_task(&execution, completion).await?;
        if state.waits_on_running()
            && let Some(first) = state.info.running.first()
        {
            self.inner.schedulers.watch(
                self,
                &state.namespace,
                &first.workflow_id,
                &execution.workflow_id,
            );
        }
        Ok(())
    }

    /// What is due at `now`: the running workflows refreshed, the plan made, the running
    /// ones cancelled or terminated as it says; the starts it decided, to be recorded and
    /// taken by the next wake-up. Terminating is synchronous: once the running workflow
    /// is seen closed, the start waiting for it is decided in the same wake-up.
    async fn decide_starts(
        &self,
        state: &mut SchedulerState,
        now: Timestamp,
    ) -> Result<Vec<PlannedStart>, EngineError> {
        self.refresh_running(state, now).await?;
        let mut plan = state.plan(now);
        let mut taking = Vec::new();
        for round in 0..2 {
            taking.append(&mut plan.starts);
            for running in &plan.cancel {
                let reason = format!(
                    "cancelled by schedule {} (overlap policy)",
                    state.schedule_id
                );
                let _ = self
                    .request_cancel_workflow(
                        &state.namespace,
                        &running.workflow_id,
                        None,
                        reason,
                        IDENTITY.into(),
                    )
                    .await;
            }
            for running in &plan.terminate {
                let reason = format!(
                    "terminated by schedule {} (overlap policy)",
                    state.schedule_id
                );
                let _ = self
                    .terminate_workflow(
                        &state.namespace,
                        &running.workflow_id,
                        None,
                        reason,
                        None,
                        IDENTITY.into(),
                    )
                    .await;
            }
            if round == 1 || plan.terminate.is_empty() {
                break;
            }
            self.refresh_running(state, now).await?;
            plan = state.plan(now);
        }
        Ok(taking)
    }

    /// Tells the state which of its running workflows have closed.
    pub(super) async fn refresh_running(
        &self,
        state: &mut SchedulerState,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        for running in state.info.running.clone() {
            let (status, failure) = match self
                .describe_workflow(&state.namespace, &running.workflow_id, None)
                .await
            {
                Ok(description) if description.status.is_closed() => {
                    let failure = if description.status == WorkflowExecutionStatus::Failed {
                        self.failure_message(&description.execution, description.history_length)
                            .await
                    } else {
                        None
                    };
                    (description.status, failure)
                }
                Ok(_) => continue,
                // Deleted (its retention passed): closed.
                Err(EngineError::NotFound(_)) => (WorkflowExecutionStatus::Terminated, None),
                Err(error) => return Err(error),
            };
            state.apply(
                SchedulerInput::Closed {
                    workflow_id: running.workflow_id,
                    status,
                    failure,
                },
                now,
            );
        }
        Ok(())
    }

    /// The message of the failure that closed a failed run.
    async fn failure_message(
        &self,
        execution: &endure_core::storage::ExecutionKey,
        history_length: u64,
    ) -> Option<String> {
        let last = EventId::new(history_length)?;
        let page = self
            .inner
            .storage
            .read_history(execution, last)
            .await
            .ok()?;
        match &page.events.first()?.attributes {
            EventAttributes::WorkflowExecutionFailed(failed) => {
                Some(failed.failure.message.clone())
            }
            _ => None,
        }
    }

    /// Starts one scheduled workflow; a refusal that retrying cannot help is an outcome,
    /// any other error fails the wake-up (it is retried, and the request id makes the
    /// starts already taken repeats). The action is the schedule's as it is now: an
    /// update between the decision and the take changes what is started, not its id.
    async fn take_scheduled_start(
        &self,
        state: &SchedulerState,
        planned: &PlannedStart,
        now: Timestamp,
    ) -> Result<StartOutcome, EngineError> {
        let ScheduleAction::StartWorkflow(action) = &state.schedule.action;
        let mut options = action.options.clone();
        options.id = planned.workflow_id.clone();
        options.request_id = Some(RequestId::new(planned.request_id.clone())?);
        options.id_reuse_policy = if planned.start.manual {
            WorkflowIdReusePolicy::AllowDuplicate
        } else {
            WorkflowIdReusePolicy::RejectDuplicate
        };
        options.id_conflict_policy = WorkflowIdConflictPolicy::Fail;
        options.search_attributes.insert(
            "TemporalScheduledById",
            SearchAttributeValue::Keyword(state.schedule_id.as_str().into()),
        );
        options.search_attributes.insert(
            "TemporalScheduledStartTime",
            SearchAttributeValue::Datetime(planned.start.nominal),
        );
        let request = StartWorkflowRequest {
            namespace: state.namespace.clone(),
            options,
            workflow_type: action.workflow_type.clone(),
            input: action.input.clone(),
            header: action.header.clone(),
            identity: IDENTITY.into(),
        };
        match self.start_workflow(request).await {
            Ok(response) => Ok(StartOutcome::Started {
                run_id: response.run_id,
                at: now,
            }),
            Err(
                error @ (EngineError::AlreadyStarted { .. }
                | EngineError::BadRequest(_)
                | EngineError::Invalid(_)
                | EngineError::NamespaceNotFound(_)),
            ) => {
                tracing::warn!(schedule_id = %state.schedule_id, workflow_id = %planned.workflow_id, %error, "schedules: a start was refused");
                Ok(StartOutcome::Refused)
            }
            Err(error) => Err(error),
        }
    }
}
