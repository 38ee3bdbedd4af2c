//! The cluster's messages: what `endure cluster describe` and cluster-aware clients ask
//! (which nodes serve, which shards each holds), the wrapper a node forwards a request to
//! the node serving its workflow in, and which workflow's shard a request is served by.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rpc::{CheckText, Request};
use crate::ValidationError;
use crate::cluster::{Member, NodeName};
use crate::execution::{Input, Reply};
use crate::history::ParentExecutionInfo;
use crate::ids::{ExecutionKey, Namespace, RunId, WorkflowId};
use crate::payload_codec::{CodecError, PayloadVisitor, VisitPayloads};
use crate::protocol::{StartWorkflowRequest, StartWorkflowResponse};

/// Ask which nodes serve the cluster and which shards each holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeClusterRequest;

/// The cluster as the answering node last read it from the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterDescription {
    /// The answering node; `None` for a single-node engine (it serves every shard).
    pub node: Option<Member>,
    /// The store's shard count.
    pub shard_count: u32,
    /// The live members, by name.
    pub members: Vec<ClusterMember>,
    /// Every shard's lease, by shard (a single-node engine lists none).
    pub shards: Vec<ShardOwnership>,
}

/// One live member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMember {
    /// The node and its address.
    pub member: Member,
    /// How long ago its last heartbeat landed.
    #[serde(with = "crate::duration_text::readable")]
    pub heartbeat_age: Duration,
    /// How many shards it holds.
    pub shards: u32,
}

/// One shard's lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOwnership {
    /// The shard.
    pub shard: u32,
    /// Its holder; `None` while it moves.
    pub owner: Option<NodeName>,
    /// Its range (bumped by every take-over).
    pub range: u64,
    /// How long the holder's lease still runs.
    #[serde(with = "crate::duration_text::readable")]
    pub lease_remaining: Duration,
}

/// A request another node of the cluster forwarded here because this node serves its
/// workflow's shard: served here and never forwarded again (a node that no longer serves
/// the shard answers `Unavailable`, and the caller retries).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardedRequest {
    /// The caller's request, as it came.
    pub request: Box<Request>,
}

/// Node to node: apply `input` to a run whose shard the receiving node serves (what one
/// node's outbox delivers to a run on another node: a signal or cancellation from a
/// workflow, a child's close to its parent, a parent's close policy to a child). Needs
/// `system:admin`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplyToRunRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// What to apply.
    pub input: Box<Input>,
}

/// Node to node: start a child workflow of `parent` on the node serving the child's
/// shard. Needs `system:admin`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartChildRequest {
    /// The child's start.
    pub request: StartWorkflowRequest,
    /// Its parent, as the child's started event records it.
    pub parent: ParentExecutionInfo,
}

/// Why the receiving node refused a node-to-node call, precisely enough for the sender's
/// outbox to take the same path it takes when the run is its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum PeerRefusal {
    /// The child's workflow id is taken.
    #[error("workflow {workflow_id} already started as run {run_id}")]
    AlreadyStarted {
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run that blocks the start.
        run_id: RunId,
    },
    /// No such workflow or run.
    #[error("not found: {0}")]
    NotFound(String),
    /// No such namespace.
    #[error("namespace {0} not found")]
    NamespaceNotFound(Namespace),
    /// The run is closed.
    #[error("workflow execution already completed")]
    WorkflowClosed,
    /// The run is closing; retry.
    #[error("workflow is closing")]
    WorkflowClosing,
    /// The run has received its maximum number of signals.
    #[error("the run has received {0} signals, the maximum")]
    SignalLimitExceeded(u64),
    /// The run refused the input for another reason.
    #[error("refused: {0}")]
    Refused(String),
    /// The request is invalid.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Retry later (the shard moved, the store is unavailable, the node is overloaded).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The answer to [`ApplyToRunRequest`].
pub type ApplyToRunResponse = Result<Reply, PeerRefusal>;

/// The answer to [`StartChildRequest`].
pub type StartChildResponse = Result<StartWorkflowResponse, PeerRefusal>;

impl CheckText for ApplyToRunRequest {}
impl CheckText for StartChildRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        self.request.check_text()
    }
}

// Node-to-node messages carry payloads as the client sent them (a client's codec already
// encoded them); no node runs a codec over them.
crate::payload_codec::no_payloads!(
    ApplyToRunRequest,
    StartChildRequest,
    ApplyToRunResponse,
    StartChildResponse,
);

impl CheckText for DescribeClusterRequest {}

impl CheckText for ForwardedRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        self.request.check_text()
    }
}

impl VisitPayloads for ForwardedRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.request.visit_payloads(visit)
    }
}

crate::payload_codec::no_payloads!(DescribeClusterRequest, ClusterDescription);

impl Request {
    /// The workflow whose shard serves this request, for a cluster node to forward it to
    /// the node that holds the shard: calls on a run, starts (their workflow id), task
    /// answers (their run), schedules (their schedule workflow). `None` for calls any node
    /// serves (lists, polls, namespaces, deployments) and for a forwarded request.
    pub fn routed_workflow(&self) -> Option<(&Namespace, Cow<'_, WorkflowId>)> {
        let id = |namespace, workflow_id| Some((namespace, Cow::Borrowed(workflow_id)));
        let schedule = |namespace, schedule_id| {
            crate::schedule::history::workflow_id_of(schedule_id)
                .ok()
                .map(|workflow_id| (namespace, Cow::Owned(workflow_id)))
        };
        match self {
            Self::StartWorkflow(r) => id(&r.namespace, &r.options.id),
            Self::SignalWithStartWorkflow(r) => id(&r.start.namespace, &r.start.options.id),
            Self::UpdateWithStartWorkflow(r) => id(&r.start.namespace, &r.start.options.id),
            Self::UpdateWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::PollUpdate(r) => id(&r.namespace, &r.workflow_id),
            Self::SignalWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::RequestCancelWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::TerminateWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::QueryWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::AwaitWorkflowClose(r) => id(&r.namespace, &r.workflow_id),
            Self::DescribeWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::ResetWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::DeleteWorkflow(r) => id(&r.namespace, &r.workflow_id),
            Self::UpdateWorkflowExecutionOptions(r) => id(&r.namespace, &r.workflow_id),
            Self::CompleteWorkflowTask(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::FailWorkflowTask(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::ResetStickyTaskQueue(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::RespondQueryTask(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::RecordActivityHeartbeat(r) => {
                id(&r.execution.namespace, &r.execution.workflow_id)
            }
            Self::CompleteActivityTask(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::FailActivityTask(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::CancelActivityTask(r) => id(&r.execution.namespace, &r.execution.workflow_id),
            Self::CreateSchedule(r) => schedule(&r.namespace, &r.schedule_id),
            Self::DescribeSchedule(r) => schedule(&r.namespace, &r.schedule_id),
            Self::UpdateSchedule(r) => schedule(&r.namespace, &r.schedule_id),
            Self::PatchSchedule(r) => schedule(&r.namespace, &r.schedule_id),
            Self::DeleteSchedule(r) => schedule(&r.namespace, &r.schedule_id),
            Self::GetHistory(_)
            | Self::GetHistoryPage(_)
            | Self::PollWorkflowTask(_)
            | Self::PollActivityTask(_)
            | Self::ListWorkflows(_)
            | Self::CountWorkflows(_)
            | Self::DescribeTaskQueue(_)
            | Self::ListSchedules(_)
            | Self::CreateNamespace(_)
            | Self::DescribeNamespace(_)
            | Self::ListNamespaces(_)
            | Self::UpdateNamespace(_)
            | Self::Health(_)
            | Self::DescribeWorkerDeployment(_)
            | Self::ListWorkerDeployments(_)
            | Self::SetWorkerDeploymentCurrentVersion(_)
            | Self::SetWorkerDeploymentRampingVersion(_)
            | Self::DeleteWorkerDeploymentVersion(_)
            | Self::AddSearchAttributes(_)
            | Self::RemoveSearchAttributes(_)
            | Self::ListSearchAttributes(_)
            | Self::DescribeCluster(_)
            | Self::Forwarded(_)
            | Self::ApplyToRun(_)
            | Self::StartChild(_) => None,
        }
    }
}
