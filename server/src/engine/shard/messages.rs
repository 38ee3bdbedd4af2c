//! What a shard is sent, and the weak handles through which the engine's own workers
//! (the outbox) send it.

use endure_core::execution::{Input, Reply, ResetRequest, SignalRequest};
use endure_core::history::ParentExecutionInfo;
use endure_core::storage::{DispatchKey, ExecutionKey, ShardId, shard_of};
use endure_core::{RunId, UpdateRequest};
use std::sync::{Arc, OnceLock, Weak};

use endure_core::time::Timestamp;
use tokio::sync::{mpsc, oneshot};

use super::slots::ShardSlots;
use crate::engine::api::{EngineError, StartWorkflowRequest, StartWorkflowResponse};
use crate::engine::cluster::PeerRouter;

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
///
/// On a cluster node, an input to a run another node serves goes there ([`PeerRouter`]) —
/// unless it answers one of this node's own rows (`dispatched`): a row of a shard that
/// moved is the new holder's to deliver.
#[derive(Clone)]
pub(crate) struct Shards {
    slots: Weak<ShardSlots>,
    router: Arc<OnceLock<Arc<PeerRouter>>>,
}

impl Shards {
    /// A handle to `slots`, reaching other nodes through `router` once it is set.
    pub(crate) fn new(slots: &Arc<ShardSlots>, router: Arc<OnceLock<Arc<PeerRouter>>>) -> Self {
        Self {
            slots: Arc::downgrade(slots),
            router,
        }
    }

    /// Whether the engine still runs.
    pub(crate) fn alive(&self) -> bool {
        self.slots.upgrade().is_some_and(|slots| slots.open())
    }

    /// The inbox of the shard of `namespace`/`workflow_id`, if served here at `now`; else
    /// the shard, to reach it elsewhere.
    fn sender(
        &self,
        namespace: &endure_core::Namespace,
        workflow_id: &endure_core::WorkflowId,
        now: Timestamp,
    ) -> Result<Result<mpsc::Sender<ShardMessage>, ShardId>, EngineError> {
        let slots = self.slots.upgrade().ok_or(EngineError::Shutdown)?;
        if !slots.open() {
            return Err(EngineError::Shutdown);
        }
        let shard = shard_of(namespace, workflow_id, slots.count());
        Ok(slots.sender(shard, now).ok_or(shard))
    }

    /// Applies `input` to a run through its shard (see `Engine::apply`).
    pub(crate) async fn apply(
        &self,
        execution: &ExecutionKey,
        input: Input,
        dispatched: Option<DispatchKey>,
        now: Timestamp,
    ) -> Result<Reply, EngineError> {
        let shard = match self.sender(&execution.namespace, &execution.workflow_id, now)? {
            Ok(sender) => sender,
            Err(shard) => {
                return match (self.router.get(), dispatched) {
                    (Some(router), None) => router.apply(shard, execution, input).await,
                    _ => Err(EngineError::NotServed { shard: shard.0 }),
                };
            }
        };
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
        let shard = match self.sender(&request.namespace, &request.options.id, now)? {
            Ok(sender) => sender,
            Err(shard) => {
                return match self.router.get() {
                    Some(router) => router.start_child(shard, request, parent).await,
                    None => Err(EngineError::NotServed { shard: shard.0 }),
                };
            }
        };
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
