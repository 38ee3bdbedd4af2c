//! The outbox's child-workflow rows: starting a child a run initiated, telling a parent
//! how its child's chain ended, and applying a closed parent's close policy.
//!
//! Like signals, each is at least once and applied once: a child's start carries a request
//! id made of the parent's run and Initiated event (a redelivery finds the run it
//! created); the parent refuses an outcome it already has; terminating or cancelling a
//! closed child is refused. A row whose work is moot (the parent closed, the child gone)
//! is acknowledged: deleted by a no-op transition of its run.

use endure_core::clock::Clock;
use endure_core::execution::{ChildOutcome, ENGINE_IDENTITY, ExecutionMachine, Input, Rejected};
use endure_core::history::{EventAttributes, HistoryEvent, ParentExecutionInfo};
use endure_core::protocol::StartWorkflowRequest;
use endure_core::storage::{DispatchRow, ExecutionKey, Storage};
use endure_core::{
    EventId, ParentClosePolicy, RequestId, RunId, StartChildWorkflowExecutionFailedCause,
    StartWorkflowOptions, WorkflowExecution, WorkflowIdConflictPolicy,
};

use super::{Outbox, Retry};
use crate::engine::api::EngineError;

/// The reason a parent close policy gives its child.
const PARENT_CLOSE_REASON: &str = "by parent close policy";

impl<S: Storage, C: Clock> Outbox<S, C> {
    /// Starts the child a run initiated and reports the start (or why it failed) to the
    /// run, deleting the row in that write.
    pub(super) async fn start_child(
        &self,
        row: &DispatchRow,
        parent: &ExecutionMachine,
        initiated_event_id: EventId,
    ) -> Result<(), Retry> {
        let source = &row.execution;
        let waiting = parent
            .children()
            .get(&initiated_event_id)
            .is_some_and(|child| child.run_id.is_none());
        if parent.status().is_closed() || !waiting {
            // A closed parent starts nothing; a child already reported needs nothing.
            return self.acknowledge(row).await;
        }
        let event = self.read_event(source, initiated_event_id).await?;
        let EventAttributes::StartChildWorkflowExecutionInitiated(initiated) = event.attributes
        else {
            return Err(Retry::Broken(format!(
                "event {initiated_event_id} does not initiate a child workflow"
            )));
        };
        let initiated = *initiated;
        let request_id = RequestId::new(format!("{}/{}", source.run_id, initiated_event_id))
            .map_err(|error| Retry::Broken(error.to_string()))?;
        let options = StartWorkflowOptions {
            id_reuse_policy: initiated.workflow_id_reuse_policy,
            id_conflict_policy: WorkflowIdConflictPolicy::Fail,
            request_id: Some(request_id),
            execution_timeout: initiated.workflow_execution_timeout,
            run_timeout: initiated.workflow_run_timeout,
            task_timeout: initiated.workflow_task_timeout,
            retry_policy: initiated.retry_policy,
            cron_schedule: initiated.cron_schedule,
            memo: initiated.memo,
            search_attributes: initiated.search_attributes,
            ..StartWorkflowOptions::new(initiated.workflow_id, initiated.task_queue)
        };
        let request = StartWorkflowRequest {
            namespace: initiated.namespace,
            options,
            workflow_type: initiated.workflow_type,
            input: initiated.input,
            header: initiated.header.clone(),
            identity: ENGINE_IDENTITY.to_owned(),
        };
        let parent_info = ParentExecutionInfo {
            namespace: source.namespace.clone(),
            workflow_execution: WorkflowExecution {
                workflow_id: source.workflow_id.clone(),
                run_id: Some(source.run_id),
            },
            initiated_event_id,
        };
        let input = match self
            .shards
            .start_child(request, parent_info, self.clock.now())
            .await
        {
            Ok(started) => Input::ChildWorkflowStarted {
                initiated_event_id,
                run_id: started.run_id,
                header: initiated.header,
            },
            Err(EngineError::AlreadyStarted { .. }) => Input::StartChildWorkflowFailed {
                initiated_event_id,
                cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists,
            },
            Err(EngineError::NamespaceNotFound(_)) => Input::StartChildWorkflowFailed {
                initiated_event_id,
                cause: StartChildWorkflowExecutionFailedCause::NamespaceNotFound,
            },
            Err(error @ (EngineError::Invalid(_) | EngineError::BadRequest(_))) => {
                return Err(Retry::Broken(format!(
                    "the child cannot be started: {error}"
                )));
            }
            Err(error) => return Err(Retry::Transient(error)),
        };
        self.report_to_source(row, input).await
    }

    /// Tells the parent of a child whose chain ended how it ended.
    pub(super) async fn record_child_completion(
        &self,
        row: &DispatchRow,
        child: &ExecutionMachine,
    ) -> Result<(), Retry> {
        let Some(parent) = child.parent() else {
            return self.acknowledge(row).await;
        };
        let last = EventId::new(child.history_length())
            .ok_or_else(|| Retry::Broken("the child run has no history".into()))?;
        let event = self.read_event(&row.execution, last).await?;
        let Some(outcome) = ChildOutcome::from_closing_event(&event.attributes) else {
            return Err(Retry::Broken(format!(
                "the child's last event {last} does not end its chain"
            )));
        };
        let Some(parent_run) = parent.workflow_execution.run_id else {
            return Err(Retry::Broken("the child's parent has no run id".into()));
        };
        let parent_key = ExecutionKey {
            namespace: parent.namespace.clone(),
            workflow_id: parent.workflow_execution.workflow_id.clone(),
            run_id: parent_run,
        };
        let input = Input::ChildWorkflowClosed {
            initiated_event_id: parent.initiated_event_id,
            run_id: first_run(child),
            outcome,
        };
        match self
            .shards
            .apply(&parent_key, input, None, self.clock.now())
            .await
        {
            // Refused: the parent closed, or already knows.
            Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotFound(_)) => {}
            Err(error) => return Err(Retry::Transient(error)),
        }
        self.acknowledge(row).await
    }

    /// Terminates a closed parent's child, or asks it to cancel, as the child's parent close
    /// policy says — whichever run of the child's chain is current.
    pub(super) async fn apply_parent_close_policy(
        &self,
        row: &DispatchRow,
        parent: &ExecutionMachine,
        initiated_event_id: EventId,
    ) -> Result<(), Retry> {
        let source = &row.execution;
        let Some(child) = parent.children().get(&initiated_event_id) else {
            return self.acknowledge(row).await;
        };
        let input = match child.parent_close_policy {
            ParentClosePolicy::Terminate => Input::Terminate {
                reason: PARENT_CLOSE_REASON.into(),
                details: None,
                identity: ENGINE_IDENTITY.to_owned(),
            },
            ParentClosePolicy::RequestCancel => Input::RequestCancel {
                reason: PARENT_CLOSE_REASON.into(),
                identity: ENGINE_IDENTITY.to_owned(),
                request_id: RequestId::new(format!(
                    "parent-close/{}/{initiated_event_id}",
                    source.run_id
                ))
                .ok(),
            },
            ParentClosePolicy::Abandon => return self.acknowledge(row).await,
        };
        // A few rounds, in case the child continues as new meanwhile.
        for _ in 0..8 {
            let Some(current) = self
                .storage
                .current_run(&child.namespace, &child.workflow_id)
                .await?
            else {
                break;
            };
            let key = ExecutionKey {
                namespace: child.namespace.clone(),
                workflow_id: child.workflow_id.clone(),
                run_id: current.run_id,
            };
            if current.status.is_closed() || !self.is_child_of(&key, source).await? {
                break;
            }
            match self
                .shards
                .apply(&key, input.clone(), None, self.clock.now())
                .await
            {
                Err(EngineError::Rejected(Rejected::WorkflowClosed)) => continue,
                Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotFound(_)) => break,
                Err(error) => return Err(Retry::Transient(error)),
            }
        }
        self.acknowledge(row).await
    }

    /// Applies the outcome of a row to its own run, deleting the row in the same write; a
    /// refusal (the run closed, or knows already) deletes it too.
    async fn report_to_source(&self, row: &DispatchRow, input: Input) -> Result<(), Retry> {
        match self
            .shards
            .apply(&row.execution, input, Some(row.key()), self.clock.now())
            .await
        {
            // The row's own shard moved to another node, which reloads the row from
            // storage as it opens the shard and delivers it from there.
            Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotServed { .. }) => Ok(()),
            Err(error) => Err(Retry::Transient(error)),
        }
    }

    /// Deletes a row whose work is done or moot, by a transition of its run that changes
    /// nothing else (a deadline with nothing due).
    async fn acknowledge(&self, row: &DispatchRow) -> Result<(), Retry> {
        let nothing = Input::Deadline {
            next_run_id: RunId::from_u128(0),
        };
        self.report_to_source(row, nothing).await
    }

    /// One event of a run's history.
    pub(super) async fn read_event(
        &self,
        key: &ExecutionKey,
        event_id: EventId,
    ) -> Result<HistoryEvent, Retry> {
        self.storage
            .read_history(key, event_id)
            .await?
            .events
            .into_iter()
            .next()
            .filter(|event| event.event_id == event_id)
            .ok_or_else(|| Retry::Broken(format!("event {event_id} is missing")))
    }
}

/// The first run of a run's chain: the run its parent started.
fn first_run(machine: &ExecutionMachine) -> RunId {
    machine.first_execution_run_id()
}
