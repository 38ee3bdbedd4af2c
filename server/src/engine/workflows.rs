//! Clients' calls on workflows: start, signal-with-start, signal, cancel, terminate, reset.

use endure_core::clock::Clock;
use endure_core::execution::{Input, ResetRequest, SignalRequest};
use endure_core::storage::Storage;
use endure_core::{Namespace, Payloads, RunId, UpdateRequest, WorkflowId};
use tokio::sync::oneshot;

use super::api::{EngineError, StartWorkflowRequest, StartWorkflowResponse};
use super::runtime::Engine;
use super::shard::ShardMessage;

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Starts a workflow.
    pub async fn start_workflow(
        &self,
        request: StartWorkflowRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.start_through_shard(request, None, None).await
    }

    /// Signal-with-start (Go's `SignalWithStartWorkflow`): signals the workflow id's
    /// running run — ending its start delay, if any (spec §5.17.5) — or, if none is
    /// running, starts one (under the reuse policy) with the signal as its second event.
    /// The request id deduplicates the whole call.
    pub async fn signal_with_start_workflow(
        &self,
        request: StartWorkflowRequest,
        signal: SignalRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.start_through_shard(request, Some(signal), None).await
    }

    /// A start — plain, with a signal or with an update — decided and written by the
    /// workflow id's shard.
    pub(super) async fn start_through_shard(
        &self,
        request: StartWorkflowRequest,
        signal: Option<SignalRequest>,
        update: Option<UpdateRequest>,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.check_namespace(&request.namespace)?;
        self.register_used(&request.namespace, &request.options.search_attributes)
            .await?;
        let (reply, result) = oneshot::channel();
        let (namespace, workflow_id) = (request.namespace.clone(), request.options.id.clone());
        self.send_to_shard(
            &namespace,
            &workflow_id,
            ShardMessage::Start {
                request: Box::new(request),
                signal: signal.map(Box::new),
                update: update.map(Box::new),
                parent: None,
                reply,
            },
        )?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    /// Sends a signal to the run (the current one if `run_id` is `None`).
    pub async fn signal_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        signal: SignalRequest,
    ) -> Result<(), EngineError> {
        self.apply_to_run(namespace, workflow_id, run_id, Input::Signal(signal))
            .await
            .map(drop)
    }

    /// Requests cancellation of the run.
    pub async fn request_cancel_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        reason: String,
        identity: String,
    ) -> Result<(), EngineError> {
        let input = Input::RequestCancel {
            reason,
            identity,
            request_id: None,
        };
        self.apply_to_run(namespace, workflow_id, run_id, input)
            .await
            .map(drop)
    }

    /// Terminates the run.
    pub async fn terminate_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        reason: String,
        details: Option<Payloads>,
        identity: String,
    ) -> Result<(), EngineError> {
        let input = Input::Terminate {
            reason,
            details,
            identity,
        };
        self.apply_to_run(namespace, workflow_id, run_id, input)
            .await
            .map(drop)
    }

    /// Resets run `run_id` (or the current run) as `request` says (spec §5.12.5): a new
    /// run forked from its history at a workflow task's end, the current run terminated if
    /// open. Returns the new run's id.
    pub async fn reset_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        request: ResetRequest,
    ) -> Result<RunId, EngineError> {
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let (reply, result) = oneshot::channel();
        self.send_to_shard(
            namespace,
            workflow_id,
            ShardMessage::Reset {
                execution,
                request: Box::new(request),
                reply,
            },
        )?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }
}
