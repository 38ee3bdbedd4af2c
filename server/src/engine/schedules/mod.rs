//! Schedules through the engine (spec §5.17.1–4): each schedule is a workflow run of the
//! engine's own (`temporal-sys-scheduler:<id>`, as Temporal keeps them), whose history
//! holds the scheduler's state (`endure_core::schedule::history`) and whose timers are its
//! wake-ups — so a schedule is as durable as any run, is sharded, and survives crashes
//! and outages with no table of its own. The engine is also the worker of those runs
//! (`worker.rs`): it polls their queue in each namespace, decides with core's pure
//! scheduler, takes the starts, and completes the task with the new state.
//!
//! This file holds the client calls: create, describe, update, patch, delete, list.

mod update_locks;
mod worker;

use endure_core::clock::Clock;
use endure_core::execution::{ExecutionMachine, SignalRequest};
use endure_core::protocol::WorkflowDescription;
use endure_core::protocol::{
    CreateScheduleRequest, CreateScheduleResponse, DeleteScheduleRequest, DescribeScheduleRequest,
    ListSchedulesRequest, PatchScheduleRequest, StartWorkflowRequest, UpdateScheduleRequest,
};
use endure_core::schedule::history::{
    self as schedule_history, Folded, LIST_INFO_MEMO, SCHEDULER_TASK_QUEUE, SCHEDULER_WORKFLOW_TYPE,
};
use endure_core::schedule::{
    CompiledSpec, ScheduleAction, ScheduleDescription, ScheduleListEntry, ScheduleListInfo,
    SchedulerInput, SchedulerState,
};
use endure_core::storage::{Storage, VisibilityQuery};
use endure_core::{
    Header, Namespace, RequestId, StartWorkflowOptions, TaskQueueName, WorkflowExecutionStatus,
    WorkflowId, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowType,
};

use super::api::EngineError;
use super::runtime::Engine;

pub(super) use update_locks::UpdateLocks;
pub(super) use worker::SchedulerWorkers;

pub use endure_core::schedule::SCHEDULES_LIST_MAX;

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Creates a schedule: its workflow started with the initial state (a trigger and
    /// backfills asked for already applied). `AlreadyStarted` if the id is taken; a retry
    /// with the same request id finds the schedule it created.
    pub async fn create_schedule(
        &self,
        request: CreateScheduleRequest,
    ) -> Result<CreateScheduleResponse, EngineError> {
        self.check_namespace(&request.namespace)?;
        check_action(&request.schedule.action)?;
        let now = self.inner.clock.now();
        let mut state = SchedulerState::new(
            request.namespace.clone(),
            request.schedule_id.clone(),
            request.schedule,
            now,
        )
        .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        check_backfills(&request.backfills)?;
        if request.trigger_immediately || !request.backfills.is_empty() {
            let trigger = request
                .trigger_immediately
                .then_some(endure_core::schedule::ScheduleOverlapPolicy::Unspecified);
            state.apply(
                SchedulerInput::Patch(endure_core::schedule::SchedulePatch {
                    trigger,
                    backfills: request.backfills,
                    ..Default::default()
                }),
                now,
            );
        }
        let workflow_id = schedule_history::workflow_id_of(&request.schedule_id)?;
        let mut options = StartWorkflowOptions::new(workflow_id, scheduler_queue());
        options.id_reuse_policy = WorkflowIdReusePolicy::AllowDuplicate;
        options.id_conflict_policy = WorkflowIdConflictPolicy::Fail;
        options.request_id = (!request.request_id.is_empty())
            .then(|| RequestId::new(request.request_id.clone()))
            .transpose()?;
        let mut memo = request.memo;
        memo.0
            .insert(LIST_INFO_MEMO.into(), list_info_payload(&state.list_info()));
        options.memo = memo;
        options.search_attributes = request.search_attributes;
        let namespace = request.namespace.clone();
        let started = self
            .start_workflow(StartWorkflowRequest {
                namespace: request.namespace,
                options,
                workflow_type: scheduler_type(),
                input: schedule_history::encode(&state),
                header: Header::default(),
                identity: request.identity,
            })
            .await?;
        self.inner.schedulers.serve(self, &namespace);
        Ok(CreateScheduleResponse {
            created: started.started,
        })
    }

    /// The running schedule workflow of `schedule_id` as describe shows it, and its machine
    /// as last committed; `NotFound` if there is none.
    async fn schedule_run(
        &self,
        namespace: &Namespace,
        schedule_id: &WorkflowId,
    ) -> Result<(WorkflowDescription, ExecutionMachine), EngineError> {
        self.check_namespace(namespace)?;
        let workflow_id = schedule_history::workflow_id_of(schedule_id)?;
        let not_found =
            || EngineError::NotFound(format!("schedule {schedule_id} in namespace {namespace}"));
        let stored = match self.resolve_run(namespace, &workflow_id, None).await {
            Ok(execution) => self
                .load_stored(&execution)
                .await
                .map(|(_, machine)| (execution, machine)),
            Err(error) => Err(error),
        };
        let (execution, machine) = match stored {
            Ok(stored) => stored,
            Err(EngineError::NotFound(_)) => return Err(not_found()),
            Err(error) => return Err(error),
        };
        if machine.status() != WorkflowExecutionStatus::Running {
            return Err(not_found());
        }
        Ok((super::reads::describe(execution, &machine, None), machine))
    }

    /// The schedule's state as its run holds it: its history up to the machine's last
    /// commit, then the inputs signalled while a wake-up was in flight — acknowledged to
    /// their senders, so a describe or an update's conflict check must see them, though
    /// the history gets them only when the wake-up completes.
    async fn schedule_state(
        &self,
        namespace: &Namespace,
        schedule_id: &WorkflowId,
    ) -> Result<(Folded, WorkflowDescription), EngineError> {
        let (run, machine) = self.schedule_run(namespace, schedule_id).await?;
        let mut history = self.history(&run.execution).await?;
        // The history may have grown since the machine was read; what it holds past the
        // machine's last event may include the signals the machine still has buffered.
        let written = usize::try_from(machine.next_event_id().get() - 1).unwrap_or(usize::MAX);
        history.truncate(written);
        let mut folded = schedule_history::fold(&history)
            .map_err(|error| EngineError::BadRequest(format!("schedule {schedule_id}: {error}")))?;
        folded.apply_buffered(machine.buffered_signals());
        Ok((folded, run))
    }

    /// Describes a schedule: its spec, action, policies and state, what it did, its next
    /// ten times, and the conflict token an update may name.
    pub async fn describe_schedule(
        &self,
        request: DescribeScheduleRequest,
    ) -> Result<ScheduleDescription, EngineError> {
        let (mut folded, run) = self
            .schedule_state(&request.namespace, &request.schedule_id)
            .await?;
        // Which started workflows are still running, as of now (the schedule itself learns
        // it at its next wake-up).
        let now = self.inner.clock.now();
        self.refresh_running(&mut folded.state, now).await?;
        Ok(folded.describe(schedule_history::own_memo(&run.memo), run.search_attributes))
    }

    /// Replaces a schedule's spec, action, policies and state; refused with `Conflict`
    /// advice when the conflict token is not the schedule's any more.
    pub async fn update_schedule(&self, request: UpdateScheduleRequest) -> Result<(), EngineError> {
        CompiledSpec::new(&request.schedule.spec)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        check_action(&request.schedule.action)?;
        // The check and the signal, with no other update of this schedule in between.
        let _one_at_a_time = self
            .inner
            .schedule_updates
            .lock(&request.namespace, &request.schedule_id)
            .await;
        let (Folded { state, .. }, _) = self
            .schedule_state(&request.namespace, &request.schedule_id)
            .await?;
        if let Some(token) = request.conflict_token
            && token != state.conflict_token
        {
            return Err(EngineError::BadRequest(format!(
                "schedule {} changed since it was described (conflict token {token}, now {}); describe it again and retry",
                request.schedule_id, state.conflict_token
            )));
        }
        let input = SchedulerInput::Update {
            schedule: Box::new(request.schedule),
            conflict_token: request.conflict_token,
        };
        self.send_schedule_input(
            &request.namespace,
            &request.schedule_id,
            input,
            request.identity,
        )
        .await
    }

    /// Triggers, backfills, pauses or unpauses a schedule.
    pub async fn patch_schedule(&self, request: PatchScheduleRequest) -> Result<(), EngineError> {
        check_backfills(&request.patch.backfills)?;
        self.schedule_run(&request.namespace, &request.schedule_id)
            .await?;
        let input = SchedulerInput::Patch(request.patch);
        self.send_schedule_input(
            &request.namespace,
            &request.schedule_id,
            input,
            request.identity,
        )
        .await
    }

    async fn send_schedule_input(
        &self,
        namespace: &Namespace,
        schedule_id: &WorkflowId,
        input: SchedulerInput,
        identity: String,
    ) -> Result<(), EngineError> {
        let workflow_id = schedule_history::workflow_id_of(schedule_id)?;
        self.signal_workflow(
            namespace,
            &workflow_id,
            None,
            SignalRequest {
                signal_name: schedule_history::input_signal(),
                input: schedule_history::encode(&input),
                identity,
                header: Header::default(),
                request_id: None,
            },
        )
        .await
    }

    /// Deletes a schedule: its workflow terminated; the workflows it started keep running.
    pub async fn delete_schedule(&self, request: DeleteScheduleRequest) -> Result<(), EngineError> {
        let run = self
            .schedule_run(&request.namespace, &request.schedule_id)
            .await?
            .0
            .execution;
        self.terminate_workflow(
            &request.namespace,
            &run.workflow_id,
            Some(run.run_id),
            "schedule deleted".into(),
            None,
            request.identity,
        )
        .await
    }

    /// The namespace's schedules whose search attributes the filter passes, by latest
    /// creation first (read from their workflows' listings, no history).
    pub async fn list_schedules(
        &self,
        request: ListSchedulesRequest,
    ) -> Result<Vec<ScheduleListEntry>, EngineError> {
        let query = VisibilityQuery {
            status: Some(WorkflowExecutionStatus::Running),
            workflow_type: Some(scheduler_type()),
            filter: request.filter,
            ..VisibilityQuery::default()
        };
        let limit = request.limit.clamp(1, SCHEDULES_LIST_MAX);
        let rows = self
            .list_workflows(&request.namespace, &query, 0, limit)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let schedule_id = schedule_history::schedule_id_of(&row.execution.workflow_id)?;
                let payload = row.memo.get(LIST_INFO_MEMO)?;
                let info = ScheduleListInfo::from_memo_bytes(&payload.data)?;
                Some(ScheduleListEntry { schedule_id, info })
            })
            .collect())
    }
}

/// A listing of workflows as users ask for it: the schedules' own workflows left out (as
/// Temporal hides them), unless the query names their type.
pub(super) fn without_schedules(
    mut query: VisibilityQuery,
) -> Result<VisibilityQuery, EngineError> {
    let names_schedules = query.workflow_type.as_ref().map(WorkflowType::as_str)
        == Some(SCHEDULER_WORKFLOW_TYPE)
        || query
            .filter
            .as_ref()
            .is_some_and(|filter| filter.text().contains(SCHEDULER_WORKFLOW_TYPE));
    if names_schedules {
        return Ok(query);
    }
    let hide = format!("WorkflowType != '{SCHEDULER_WORKFLOW_TYPE}'");
    let text = match &query.filter {
        Some(filter) if !filter.text().trim().is_empty() => {
            format!("({}) AND {hide}", filter.text())
        }
        _ => hide,
    };
    query.filter = Some(
        endure_core::list_filter::ListFilter::parse(&text)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?,
    );
    Ok(query)
}

/// The list info as the memo holds it.
fn list_info_payload(info: &ScheduleListInfo) -> endure_core::Payload {
    schedule_history::encode(info)
        .0
        .into_iter()
        .next()
        .unwrap_or_else(endure_core::Payload::null)
}

fn scheduler_type() -> WorkflowType {
    WorkflowType::new(SCHEDULER_WORKFLOW_TYPE).expect("a valid workflow type")
}

fn scheduler_queue() -> TaskQueueName {
    TaskQueueName::new(SCHEDULER_TASK_QUEUE).expect("a valid task queue")
}

/// The action's start options must be valid on their own; its id gets a time appended.
fn check_action(action: &ScheduleAction) -> Result<(), EngineError> {
    let ScheduleAction::StartWorkflow(action) = action;
    action.options.validate()?;
    WorkflowId::new(format!("{}-2000-01-01T00:00:00Z", action.options.id))?;
    if action.options.cron_schedule.is_some() {
        return Err(EngineError::BadRequest(
            "a scheduled workflow cannot have a cron schedule of its own; put the times in the schedule's spec".into(),
        ));
    }
    Ok(())
}

fn check_backfills(backfills: &[endure_core::schedule::Backfill]) -> Result<(), EngineError> {
    for backfill in backfills {
        if backfill.start > backfill.end {
            return Err(EngineError::BadRequest(format!(
                "a backfill from {} to {} runs backwards; give the earlier time first",
                backfill.start, backfill.end
            )));
        }
    }
    if backfills.len() > endure_core::schedule::BACKFILLS_MAX {
        return Err(EngineError::BadRequest(format!(
            "{} backfills in one request; at most {}",
            backfills.len(),
            endure_core::schedule::BACKFILLS_MAX
        )));
    }
    Ok(())
}
