//! What a shard is sent, and the weak handles through which the engine's own workers
//! (the outbox) send it.

use endure_core::execution::{Input, Reply, ResetRequest, SignalRequest};
use endure_core::history::ParentExecutionInfo;
use endure_core::storage::{DispatchKey, ExecutionKey, shard_of};
use endure_core::{RunId, UpdateRequest};
use tokio::sync::{mpsc, oneshot};

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

/// Weak handles to every shard: how the engine's own workers (the outbox) send inputs to
/// runs without keeping the shards alive once the engine is dropped.
#[derive(Clone)]
pub(crate) struct Shards(Vec<mpsc::WeakSender<ShardMessage>>);

impl Shards {
    /// Handles to `senders`, indexed by shard.
    pub(crate) fn new(senders: &[mpsc::Sender<ShardMessage>]) -> Self {
        Self(senders.iter().map(mpsc::Sender::downgrade).collect())
    }

    /// Whether any shard still runs (the engine has not been dropped).
    pub(crate) fn alive(&self) -> bool {
        self.0.iter().any(|shard| shard.strong_count() > 0)
    }

    /// Applies `input` to a run through its shard (see `Engine::apply`).
    pub(crate) async fn apply(
        &self,
        execution: &ExecutionKey,
        input: Input,
        dispatched: Option<DispatchKey>,
    ) -> Result<Reply, EngineError> {
        let index = shard_of(
            &execution.namespace,
            &execution.workflow_id,
            self.0.len() as u32,
        )
        .0 as usize;
        let shard = self
            .0
            .get(index)
            .and_then(mpsc::WeakSender::upgrade)
            .ok_or(EngineError::Shutdown)?;
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
    ) -> Result<StartWorkflowResponse, EngineError> {
        let index =
            shard_of(&request.namespace, &request.options.id, self.0.len() as u32).0 as usize;
        let shard = self
            .0
            .get(index)
            .and_then(mpsc::WeakSender::upgrade)
            .ok_or(EngineError::Shutdown)?;
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
