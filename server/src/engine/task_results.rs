//! Workers' answers: workflow tasks completed or failed, sticky queues reset, activity
//! heartbeats, completions, failures and cancellations.

use endure_core::clock::Clock;
use endure_core::execution::{
    ActivityTaskToken, Input, Reply, WorkflowTaskCompletion, WorkflowTaskToken,
};
use endure_core::storage::{ExecutionKey, Storage};
use endure_core::{Failure, Payloads, WorkflowTaskFailedCause};

use super::api::EngineError;
use super::instruments;
use super::runtime::Engine;

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Sends a run's next workflow tasks to its normal queue (its sticky worker stopped).
    /// A closed or unknown run has nothing to reset.
    pub async fn reset_sticky_task_queue(
        &self,
        execution: &ExecutionKey,
    ) -> Result<(), EngineError> {
        match self
            .apply(execution, Input::ResetStickyTaskQueue, None)
            .await
        {
            Ok(_) | Err(EngineError::NotFound(_) | EngineError::Rejected(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Completes a started workflow task with the worker's commands.
    pub async fn complete_workflow_task(
        &self,
        execution: &ExecutionKey,
        completion: WorkflowTaskCompletion,
    ) -> Result<Reply, EngineError> {
        self.register_commanded(&execution.namespace, &completion.commands)
            .await?;
        let reply = self
            .apply(
                execution,
                Input::WorkflowTaskCompleted(Box::new(completion)),
                None,
            )
            .await?;
        if let Reply::EagerActivityTasks(started) = &reply {
            metrics::counter!(
                instruments::ACTIVITY_EAGER_STARTS,
                "namespace" => execution.namespace.as_str().to_owned()
            )
            .increment(started.len() as u64);
        }
        Ok(reply)
    }

    /// Fails a started workflow task (it is retried).
    pub async fn fail_workflow_task(
        &self,
        execution: &ExecutionKey,
        token: WorkflowTaskToken,
        cause: WorkflowTaskFailedCause,
        failure: Option<Failure>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::WorkflowTaskFailed {
                token,
                cause,
                failure,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// Records a heartbeat; returns whether cancellation of the activity was requested.
    pub async fn record_activity_heartbeat(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        details: Option<Payloads>,
    ) -> Result<bool, EngineError> {
        match self
            .apply(
                execution,
                Input::ActivityTaskHeartbeat { token, details },
                None,
            )
            .await?
        {
            Reply::Heartbeat { cancel_requested } => Ok(cancel_requested),
            _ => Ok(false),
        }
    }

    /// An activity attempt returned a result.
    pub async fn complete_activity_task(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        result: Option<Payloads>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::ActivityTaskCompleted {
                token,
                result,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// An activity attempt failed.
    pub async fn fail_activity_task(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        failure: Failure,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::ActivityTaskFailed {
                token,
                failure,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// An activity acknowledged cancellation.
    pub async fn cancel_activity_task(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        details: Option<Payloads>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::ActivityTaskCanceled {
                token,
                details,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }
}
