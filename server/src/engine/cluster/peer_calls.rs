//! Node-to-node calls: how one node's outbox reaches a run whose shard another node
//! serves ([`PeerRouter`]), what the receiving node does with them (apply here, never
//! forward again), and the refusals carried between them ([`PeerRefusal`]) so the sender
//! takes the same path as for a run of its own.

use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::cluster::Member;
use endure_core::execution::{Input, Rejected, Reply};
use endure_core::history::ParentExecutionInfo;
use endure_core::protocol::{
    ApplyToRunRequest, PeerRefusal, Response, Rpc, StartChildRequest, StartWorkflowRequest,
    StartWorkflowResponse,
};
use endure_core::storage::{ExecutionKey, ShardId, Storage};
use parking_lot::RwLock;
use tokio::sync::oneshot;

use super::{ClusterView, Peers};
use crate::engine::api::EngineError;
use crate::engine::runtime::Engine;
use crate::engine::shard::ShardMessage;

/// The member serving `shard` as `view` last saw it, unless it is this node.
pub(super) fn remote_owner(view: &ClusterView, shard: ShardId) -> Option<Member> {
    let owner = view
        .leases
        .iter()
        .find(|lease| lease.shard == shard && !lease.remaining.is_zero())?
        .owner
        .as_ref()?;
    let record = view
        .members
        .iter()
        .find(|record| &record.member.node == owner)?;
    (Some(&record.member) != view.me.as_ref()).then(|| record.member.clone())
}

/// How a node's outbox reaches the runs other nodes serve.
pub(crate) struct PeerRouter {
    pub(super) view: Arc<RwLock<ClusterView>>,
    pub(super) peers: Peers,
}

impl PeerRouter {
    fn owner(&self, shard: ShardId) -> Result<Member, EngineError> {
        remote_owner(&self.view.read(), shard).ok_or(EngineError::NotServed { shard: shard.0 })
    }

    /// Sends `request` to the member serving `shard` and reads its answer.
    async fn call<R: Rpc>(&self, shard: ShardId, request: R) -> Result<R::Response, EngineError> {
        let member = self.owner(shard)?;
        let link = self.peers.link(&member.address);
        let response: Response = link.call(request.into_request()).await.map_err(|error| {
            // The peer is unreachable, or refused for now: the row is retried.
            EngineError::Overloaded(format!(
                "node {} at {}: {error}",
                member.node, member.address
            ))
        })?;
        R::from_response(response).map_err(|other| {
            EngineError::BadRequest(format!("node {} answered {other:?}", member.node))
        })
    }

    /// Applies `input` to run `execution` on the node serving `shard`.
    pub(crate) async fn apply(
        &self,
        shard: ShardId,
        execution: &ExecutionKey,
        input: Input,
    ) -> Result<Reply, EngineError> {
        let request = ApplyToRunRequest {
            execution: execution.clone(),
            input: Box::new(input),
        };
        self.call(shard, request).await?.map_err(EngineError::from)
    }

    /// Starts child `request` of `parent` on the node serving `shard`.
    pub(crate) async fn start_child(
        &self,
        shard: ShardId,
        request: StartWorkflowRequest,
        parent: ParentExecutionInfo,
    ) -> Result<StartWorkflowResponse, EngineError> {
        let request = StartChildRequest { request, parent };
        self.call(shard, request).await?.map_err(EngineError::from)
    }
}

impl From<EngineError> for PeerRefusal {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::AlreadyStarted {
                workflow_id,
                run_id,
            } => Self::AlreadyStarted {
                workflow_id,
                run_id,
            },
            EngineError::NotFound(what) => Self::NotFound(what),
            EngineError::NamespaceNotFound(namespace) => Self::NamespaceNotFound(namespace),
            EngineError::Rejected(Rejected::WorkflowClosed) => Self::WorkflowClosed,
            EngineError::Rejected(Rejected::WorkflowClosing) => Self::WorkflowClosing,
            EngineError::Rejected(Rejected::SignalLimitExceeded(count)) => {
                Self::SignalLimitExceeded(count)
            }
            EngineError::Rejected(other) => Self::Refused(other.to_string()),
            EngineError::Invalid(error) => Self::Invalid(error.to_string()),
            EngineError::BadRequest(message) => Self::Invalid(message),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<PeerRefusal> for EngineError {
    fn from(refusal: PeerRefusal) -> Self {
        match refusal {
            PeerRefusal::AlreadyStarted {
                workflow_id,
                run_id,
            } => Self::AlreadyStarted {
                workflow_id,
                run_id,
            },
            PeerRefusal::NotFound(what) => Self::NotFound(what),
            PeerRefusal::NamespaceNotFound(namespace) => Self::NamespaceNotFound(namespace),
            PeerRefusal::WorkflowClosed => Self::Rejected(Rejected::WorkflowClosed),
            PeerRefusal::WorkflowClosing => Self::Rejected(Rejected::WorkflowClosing),
            PeerRefusal::SignalLimitExceeded(count) => {
                Self::Rejected(Rejected::SignalLimitExceeded(count))
            }
            // Every outbox path treats any other refusal of a run alike (the request is
            // dropped as refused), so its kind is kept, its detail in the message.
            PeerRefusal::Refused(message) => Self::Rejected(Rejected::NotFound(message)),
            PeerRefusal::Invalid(message) => Self::BadRequest(message),
            other => Self::Overloaded(other.to_string()),
        }
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Node to node: applies `input` to a run this node serves (never forwarded again).
    pub(crate) async fn apply_to_run_here(
        &self,
        request: ApplyToRunRequest,
    ) -> Result<Reply, EngineError> {
        self.apply(&request.execution, *request.input, None).await
    }

    /// Node to node: starts a child whose shard this node serves.
    pub(crate) async fn start_child_here(
        &self,
        request: StartChildRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        let StartChildRequest { request, parent } = request;
        let (reply, result) = oneshot::channel();
        let (namespace, workflow_id) = (request.namespace.clone(), request.options.id.clone());
        self.send_to_shard(
            &namespace,
            &workflow_id,
            ShardMessage::Start {
                request: Box::new(request),
                signal: None,
                update: None,
                parent: Some(Box::new(parent)),
                reply,
            },
        )?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }
}
