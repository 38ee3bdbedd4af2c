//! The table of RPCs: each line names one call — its handler method, its variant in
//! [`Request`] and [`Response`], its request message and its response — and the macro turns
//! it into the two enums, the [`Rpc`] impl that ties request to response, the [`Handler`]
//! method the engine must provide, and the routing between them.
//!
//! Adding an RPC (ARCHITECTURE.md, "Adding an RPC"): define its request (and response)
//! message in this module's siblings with its `CheckText` and `VisitPayloads` impls, add
//! its line here, implement the new `Handler` method in the engine (the compiler asks for
//! it), and call it from the client with `Client::rpc` (or a named method wrapping it).

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::*;
use crate::ValidationError;
use crate::history::HistoryEvent;
use crate::namespace::NamespaceRecord;
use crate::payload_codec::{CodecError, PayloadVisitor, VisitPayloads};
use crate::schedule::{ScheduleDescription, ScheduleListEntry};
use crate::versioning::WorkerDeploymentDescription;

/// A request message and the response it gets.
pub trait Rpc: Sized + Send + 'static {
    /// What the engine answers.
    type Response: Send + 'static;
    /// The call's name, for logs and errors.
    const NAME: &'static str;
    /// The request as the enum the transports carry.
    fn into_request(self) -> Request;
    /// This call's answer out of a response, or the response if it is another call's.
    fn from_response(response: Response) -> Result<Self::Response, Box<Response>>;
}

/// The free-form strings a request carries (identities, reasons, query types), bounded
/// before the engine takes it (`protocol/text.rs`).
pub trait CheckText {
    /// Checks them; the default is a message that carries none.
    fn check_text(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

macro_rules! rpcs {
    ($($(#[$doc:meta])* $method:ident / $name:ident : $request:ty => $response:ty;)*) => {
        /// A call to the engine: one variant per RPC, holding its request message.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[allow(clippy::large_enum_variant)]
        pub enum Request {
            $($(#[$doc])* $name($request),)*
        }

        /// The engine's answer to a [`Request`]: the variant of the same name, holding that
        /// call's response.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[allow(clippy::large_enum_variant)]
        pub enum Response {
            $($(#[$doc])* $name($response),)*
        }

        $(impl Rpc for $request {
            type Response = $response;
            const NAME: &'static str = stringify!($name);
            fn into_request(self) -> Request {
                Request::$name(self)
            }
            fn from_response(response: Response) -> Result<$response, Box<Response>> {
                match response {
                    Response::$name(answer) => Ok(answer),
                    #[allow(unreachable_patterns)]
                    other => Err(Box::new(other)),
                }
            }
        })*

        /// What serves the RPCs: one method per call. The engine implements it; a front end
        /// (the in-process transport, the TCP server) routes a [`Request`] to it with
        /// [`Request::dispatch`].
        pub trait Handler: Sync {
            /// Why a call failed.
            type Error: Send;
            $(
                $(#[$doc])*
                fn $method(
                    &self,
                    request: $request,
                ) -> impl Future<Output = Result<$response, Self::Error>> + Send;
            )*
        }

        impl Request {
            /// Every call's name, in the table's order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// The call's name, for logs and errors.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => stringify!($name),)*
                }
            }

            /// Runs the call on `handler` and wraps its answer. Each call's future is boxed:
            /// inline, this future would be as large as the largest handler's (about 8 KB on
            /// the engine), copied whole at every move for every call however small.
            pub async fn dispatch<H: Handler>(self, handler: &H) -> Result<Response, H::Error> {
                Ok(match self {
                    $(Self::$name(request) => {
                        Response::$name(Box::pin(handler.$method(request)).await?)
                    })*
                })
            }

            /// Checks the request's free-form strings ([`CheckText`]).
            pub fn check_text(&self) -> Result<(), ValidationError> {
                match self {
                    $(Self::$name(request) => request.check_text(),)*
                }
            }
        }

        impl VisitPayloads for Request {
            fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
                match self {
                    $(Self::$name(request) => request.visit_payloads(visit),)*
                }
            }
        }

        impl VisitPayloads for Response {
            fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
                match self {
                    $(Self::$name(response) => response.visit_payloads(visit),)*
                }
            }
        }
    };
}

rpcs! {
    /// Start a workflow.
    start_workflow / StartWorkflow: StartWorkflowRequest => StartWorkflowResponse;
    /// Signal the workflow id's running run, or start one carrying the signal.
    signal_with_start_workflow / SignalWithStartWorkflow:
        SignalWithStartWorkflowRequest => StartWorkflowResponse;
    /// Update a run and wait for a stage.
    update_workflow / UpdateWorkflow: UpdateWorkflowRequest => Box<UpdateWorkflowResponse>;
    /// Update the workflow id's running run, or start one that takes the update with its
    /// first task.
    update_with_start_workflow / UpdateWithStartWorkflow:
        UpdateWithStartWorkflowRequest => Box<UpdateWithStartWorkflowResponse>;
    /// Signal a run.
    signal_workflow / SignalWorkflow: SignalWorkflowRequest => ();
    /// Ask a run to cancel.
    request_cancel_workflow / RequestCancelWorkflow: RequestCancelWorkflowRequest => ();
    /// Terminate a run.
    terminate_workflow / TerminateWorkflow: TerminateWorkflowRequest => ();
    /// Long-poll a workflow task: a task, a query to answer, or nothing.
    poll_workflow_task / PollWorkflowTask:
        PollWorkflowTaskRequest => Option<PolledWorkflowTask>;
    /// Complete a workflow task.
    complete_workflow_task / CompleteWorkflowTask:
        CompleteWorkflowTaskRequest => CompleteWorkflowTaskResponse;
    /// Fail a workflow task.
    fail_workflow_task / FailWorkflowTask: FailWorkflowTaskRequest => ();
    /// Send a run's next tasks to its normal queue (its sticky worker is stopping).
    reset_sticky_task_queue / ResetStickyTaskQueue: ResetStickyTaskQueueRequest => ();
    /// Ask a run's workflow code a question; answered by a worker.
    query_workflow / QueryWorkflow: QueryWorkflowRequest => QueryAnswer;
    /// A worker's answer to a query task.
    respond_query_task / RespondQueryTask: RespondQueryTaskRequest => ();
    /// Long-poll an activity task.
    poll_activity_task / PollActivityTask:
        PollActivityTaskRequest => Option<Box<ActivityTaskForWorker>>;
    /// Record an activity heartbeat.
    record_activity_heartbeat / RecordActivityHeartbeat:
        RecordActivityHeartbeatRequest => HeartbeatResponse;
    /// An activity attempt returned a result.
    complete_activity_task / CompleteActivityTask: CompleteActivityTaskRequest => ();
    /// An activity attempt failed.
    fail_activity_task / FailActivityTask: FailActivityTaskRequest => ();
    /// An activity acknowledged cancellation.
    cancel_activity_task / CancelActivityTask: CancelActivityTaskRequest => ();
    /// Read a run's whole history.
    get_history / GetHistory: GetHistoryRequest => Vec<HistoryEvent>;
    /// Read one page (about 1 MiB) of a run's history.
    get_history_page / GetHistoryPage: GetHistoryPageRequest => HistoryPageResponse;
    /// List runs of a namespace, latest start first.
    list_workflows / ListWorkflows: ListWorkflowsRequest => Vec<WorkflowExecutionInfo>;
    /// Wait until a run closes, at most a while; its description either way, and its
    /// closing event once it closed.
    await_workflow_close / AwaitWorkflowClose:
        AwaitWorkflowCloseRequest => Box<WorkflowCloseResponse>;
    /// Describe a run.
    describe_workflow / DescribeWorkflow: DescribeWorkflowRequest => Box<WorkflowDescription>;
    /// Register a namespace.
    create_namespace / CreateNamespace: CreateNamespaceRequest => Box<NamespaceRecord>;
    /// Describe a namespace.
    describe_namespace / DescribeNamespace: DescribeNamespaceRequest => Box<NamespaceRecord>;
    /// List every namespace, by name.
    list_namespaces / ListNamespaces: ListNamespacesRequest => Vec<NamespaceRecord>;
    /// Change a namespace's configuration.
    update_namespace / UpdateNamespace: UpdateNamespaceRequest => Box<NamespaceRecord>;
    /// Reset a run: a new run forked from a point of its history.
    reset_workflow / ResetWorkflow: ResetWorkflowRequest => ResetWorkflowResponse;
    /// Whether the engine serves (its store running).
    health / Health: HealthRequest => Health;
    /// Delete a run: terminated first if open, then its history and listing gone.
    delete_workflow / DeleteWorkflow: DeleteWorkflowRequest => ();
    /// Wait for an update known only by its id.
    poll_update / PollUpdate: PollUpdateRequest => Box<UpdateWorkflowResponse>;
    /// Create a schedule.
    create_schedule / CreateSchedule: CreateScheduleRequest => CreateScheduleResponse;
    /// Describe a schedule.
    describe_schedule / DescribeSchedule: DescribeScheduleRequest => Box<ScheduleDescription>;
    /// Replace a schedule's spec, action, policies and state.
    update_schedule / UpdateSchedule: UpdateScheduleRequest => ();
    /// Trigger, backfill, pause or unpause a schedule.
    patch_schedule / PatchSchedule: PatchScheduleRequest => ();
    /// Delete a schedule.
    delete_schedule / DeleteSchedule: DeleteScheduleRequest => ();
    /// List a namespace's schedules.
    list_schedules / ListSchedules: ListSchedulesRequest => Vec<ScheduleListEntry>;
    /// Describe a worker deployment: its routing and versions.
    describe_worker_deployment / DescribeWorkerDeployment:
        DescribeWorkerDeploymentRequest => Box<WorkerDeploymentDescription>;
    /// List a namespace's worker deployments.
    list_worker_deployments / ListWorkerDeployments:
        ListWorkerDeploymentsRequest => Vec<WorkerDeploymentDescription>;
    /// Make a version current (or none: unversioned workers).
    set_worker_deployment_current_version / SetWorkerDeploymentCurrentVersion:
        SetWorkerDeploymentCurrentVersionRequest => Box<SetWorkerDeploymentCurrentVersionResponse>;
    /// Ramp a share of runs to a version (or end the ramp).
    set_worker_deployment_ramping_version / SetWorkerDeploymentRampingVersion:
        SetWorkerDeploymentRampingVersionRequest => Box<SetWorkerDeploymentRampingVersionResponse>;
    /// Retire a drained version.
    delete_worker_deployment_version / DeleteWorkerDeploymentVersion:
        DeleteWorkerDeploymentVersionRequest => ();
    /// Count runs of a namespace matching a filter.
    count_workflows / CountWorkflows: CountWorkflowsRequest => u64;
    /// Describe a task queue: its recent pollers.
    describe_task_queue / DescribeTaskQueue: DescribeTaskQueueRequest => TaskQueueDescription;
    /// Set or remove a run's versioning override; its versioning after.
    update_workflow_execution_options / UpdateWorkflowExecutionOptions:
        UpdateWorkflowExecutionOptionsRequest => crate::versioning::RunVersioning;
    /// Register custom search attributes; the namespace's attributes after.
    add_search_attributes / AddSearchAttributes:
        AddSearchAttributesRequest => SearchAttributesListing;
    /// Unregister custom search attributes; the namespace's attributes after.
    remove_search_attributes / RemoveSearchAttributes:
        RemoveSearchAttributesRequest => SearchAttributesListing;
    /// List a namespace's search attributes, system and custom.
    list_search_attributes / ListSearchAttributes:
        ListSearchAttributesRequest => SearchAttributesListing;
    /// Which nodes serve the cluster and which shards each holds.
    describe_cluster / DescribeCluster: DescribeClusterRequest => Box<ClusterDescription>;
    /// A request another node forwarded to the node serving its workflow.
    forwarded / Forwarded: ForwardedRequest => Box<Response>;
    /// Node to node: apply an input to a run whose shard the receiver serves.
    apply_to_run / ApplyToRun: ApplyToRunRequest => ApplyToRunResponse;
    /// Node to node: start a child workflow on the node serving its shard.
    start_child / StartChild: StartChildRequest => StartChildResponse;
}
