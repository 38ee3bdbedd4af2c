//! What a shard is sent, and the weak handles through which the engine's own workers
//! (the outbox) send it.

use endure_core::execution::{Input, Reply, ResetRequest, SignalRequest};
use endure_core::history::ParentExecutionInfo;
use endure_core::storage::{DispatchKey, ExecutionKey, shard_of};
use endure_core::{RunId, UpdateRequest};
use std::sync::{Arc, Weak};

use endure_core::time::Timestamp;
use tokio::sync::{mpsc, oneshot};

use super::slots::ShardSlots;
use crate::engine::api::{EngineError, StartWorkflowRequest, StartWorkflowResponse};

/// A message to a shard.
pub(crate) enum ShardMessage {
    /// Start a workflow.
    Start {
        request: Box<StartWorkflowRequest>,
        /// Signal-with-start: signal the running run, or start one with this signal.
        signal: Option<Box<SignalRequest>>,
        /// Update-with-start: update the running run, or start one that takes it.
        update: Option<Box<UpdateRequest>>,
        /// For a child workflow: its parent.
        parent: Option<Box<ParentExecutionInfo>>,
        reply: oneshot::Sender<Result<StartWorkflowResponse, EngineError>>,
    },
    /// Apply an input to a run; `dispatched` is the backlog row of a task being started.
    Apply {
        execution: ExecutionKey,
        input: Box<Input>,
        dispatched: Option<DispatchKey>,
        reply: oneshot::Sender<Result<Reply, EngineError>>,
    },
    /// Reset a run: a new run forked from its history; the current run, if open, ends.
    Reset {
        execution: ExecutionKey,
        request: Box<ResetRequest>,
        reply: oneshot::Sender<Result<RunId, EngineError>>,
    },
    /// Delete a closed run.
    Delete {
        execution: ExecutionKey,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
}

/// A weak handle to the engine's shards: how its own workers (the outbox) send inputs to
/// runs without keeping the shards alive once the engine is dropped.
#[derive(Clone)]
pub(crate) struct Shards(Weak<ShardSlots>);

impl Shards {
    /// A handle to `slots`.
    pub(crate) fn new(slots: &Arc<ShardSlots>) -> Self {
        Self(Arc::downgrade(slots))
    }

    /// Whether the engine still runs.
    pub(crate) fn alive(&self) -> bool {
        self.0.upgrade().is_some_and(|slots| slots.open())
    }

    /// The inbox of the shard of `namespace`/`workflow_id`, if served here at `now`.
    fn sender(
        &self,
        namespace: &endure_core::Namespace,
        workflow_id: &endure_core::WorkflowId,
        now: Timestamp,
    ) -> Result<mpsc::Sender<ShardMessage>, EngineError> {
        let slots = self.0.upgrade().ok_or(EngineError::Shutdown)?;
        if !slots.open() {
            return Err(EngineError::Shutdown);
        }
        let shard = shard_of(namespace, workflow_id, slots.count());
        slots
            .sender(shard, now)
            .ok_or(EngineError::NotServed { shard: shard.0 })
    }

    /// Applies `input` to a run through its shard (see `Engine::apply`).
    pub(crate) async fn apply(
        &self,
        execution: &ExecutionKey,
        input: Input,
        dispatched: Option<DispatchKey>,
        now: Timestamp,
    ) -> Result<Reply, EngineError> {
        let shard = self.sender(&execution.namespace, &execution.workflow_id, now)?;
        let (reply, result) = oneshot::channel();
        shard
            .send(ShardMessage::Apply {
                execution: execution.clone(),
                input: Box::new(input),
                dispatched,
                reply,
            })
            .await
            .map_err(|_| EngineError::Shutdown)?;
        drop(shard);
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    /// Starts a child workflow of `parent` through its shard (see `Shard::start`).
    pub(crate) async fn start_child(
        &self,
        request: StartWorkflowRequest,
        parent: ParentExecutionInfo,
        now: Timestamp,
    ) -> Result<StartWorkflowResponse, EngineError> {
        let shard = self.sender(&request.namespace, &request.options.id, now)?;
        let (reply, result) = oneshot::channel();
        shard
            .send(ShardMessage::Start {
                request: Box::new(request),
                signal: None,
                update: None,
                parent: Some(Box::new(parent)),
                reply,
            })
            .await
            .map_err(|_| EngineError::Shutdown)?;
        drop(shard);
        result.await.map_err(|_| EngineError::Shutdown)?
    }
}
