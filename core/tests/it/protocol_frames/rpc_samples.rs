//! The samples behind the golden frames: a request of every RPC with a response of its
//! own, built from fixed values so the frames they encode never drift.

use std::time::Duration;

use endure_core::execution::*;
use endure_core::history::SdkMetadata;
use endure_core::history::samples::quickstart_history;
use endure_core::namespace::{NamespaceConfig, NamespaceUpdate};
use endure_core::protocol::*;
use endure_core::storage::VisibilityQuery;
use endure_core::*;

use crate::samples::{self, header, id, json, namespace, queue, workflow_type};

use super::fixtures::*;

/// One request and one response per RPC, in the table's order.
/// A sample of every RPC's request with a response of its own, in the table's order.
pub(crate) fn samples() -> Vec<(Request, Response)> {
    let history = quickstart_history().events;
    vec![
        (
            Request::StartWorkflow(start()),
            Response::StartWorkflow(StartWorkflowResponse {
                run_id: run(),
                started: true,
            }),
        ),
        (
            Request::SignalWithStartWorkflow(SignalWithStartWorkflowRequest {
                start: start(),
                signal: signal(),
            }),
            Response::SignalWithStartWorkflow(StartWorkflowResponse {
                run_id: run(),
                started: false,
            }),
        ),
        (
            Request::UpdateWorkflow(update()),
            Response::UpdateWorkflow(update_response()),
        ),
        (
            Request::UpdateWithStartWorkflow(UpdateWithStartWorkflowRequest {
                start: start(),
                update: update(),
            }),
            Response::UpdateWithStartWorkflow(Box::new(UpdateWithStartWorkflowResponse {
                start: StartWorkflowResponse {
                    run_id: run(),
                    started: true,
                },
                update: *update_response(),
            })),
        ),
        (
            Request::SignalWorkflow(SignalWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: None,
                signal: signal(),
            }),
            Response::SignalWorkflow(()),
        ),
        (
            Request::RequestCancelWorkflow(RequestCancelWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: Some(run()),
                reason: "customer asked".into(),
                identity: "cli".into(),
            }),
            Response::RequestCancelWorkflow(()),
        ),
        (
            Request::TerminateWorkflow(TerminateWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: None,
                reason: "stuck".into(),
                details: Some(json("ticket 42")),
                identity: "cli".into(),
            }),
            Response::TerminateWorkflow(()),
        ),
        (
            Request::PollWorkflowTask(PollWorkflowTaskRequest {
                namespace: namespace(),
                task_queue: queue(),
                identity: "worker-1".into(),
                deployment_version: Some(
                    endure_core::versioning::WorkerDeploymentVersion::new("orders", "2026.12.1")
                        .unwrap(),
                ),
                normal_queue: None,
            }),
            Response::PollWorkflowTask(Some(PolledWorkflowTask::Task(Box::new(
                WorkflowTaskForWorker {
                    execution: execution(),
                    workflow_type: workflow_type("OrderWorkflow"),
                    token: workflow_token(),
                    history: history[..3].to_vec(),
                    next_page: Some(id(4)),
                    transient_events: Vec::new(),
                    previous_started_event_id: None,
                    updates: Vec::new(),
                },
            )))),
        ),
        (
            Request::CompleteWorkflowTask(CompleteWorkflowTaskRequest {
                execution: execution(),
                token: workflow_token(),
                commands: samples::commands(),
                identity: "worker-1".into(),
                sticky: Some(StickyAttributes {
                    task_queue: TaskQueueName::new("worker-1-sticky").unwrap(),
                    schedule_to_start_timeout: Duration::from_secs(10),
                }),
                force_create_workflow_task: false,
                sdk_metadata: SdkMetadata {
                    flags: vec![1],
                    sdk_name: "endure".into(),
                    sdk_version: "0.1.0".into(),
                },
                messages: Vec::new(),
                deployment_version: Some(
                    endure_core::versioning::WorkerDeploymentVersion::new("orders", "2026.12.1")
                        .unwrap(),
                ),
                versioning_behavior: endure_core::VersioningBehavior::Pinned,
            }),
            Response::CompleteWorkflowTask(CompleteWorkflowTaskResponse::CommandsRefused {
                cause: WorkflowTaskFailedCause::BadScheduleActivityAttributes,
                message: "activity type is empty".into(),
            }),
        ),
        (
            Request::FailWorkflowTask(FailWorkflowTaskRequest {
                execution: execution(),
                token: workflow_token(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                failure: Some(samples::failure()),
                identity: "worker-1".into(),
            }),
            Response::FailWorkflowTask(()),
        ),
        (
            Request::ResetStickyTaskQueue(ResetStickyTaskQueueRequest {
                execution: execution(),
            }),
            Response::ResetStickyTaskQueue(()),
        ),
        (
            Request::QueryWorkflow(QueryWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: None,
                query_type: "status".into(),
                args: json("verbose"),
                header: header(),
            }),
            Response::QueryWorkflow(Ok(Some(json("shipped")))),
        ),
        (
            Request::RespondQueryTask(RespondQueryTaskRequest {
                execution: execution(),
                query_id: 7,
                answer: Err("unknown query type".into()),
            }),
            Response::RespondQueryTask(()),
        ),
        (
            Request::PollActivityTask(PollActivityTaskRequest {
                namespace: namespace(),
                task_queue: queue(),
                identity: "worker-1".into(),
                deployment_version: Some(
                    endure_core::versioning::WorkerDeploymentVersion::new("orders", "2026.12.1")
                        .unwrap(),
                ),
            }),
            Response::PollActivityTask(Some(Box::new(ActivityTaskForWorker {
                execution: execution(),
                task: activity_task(),
            }))),
        ),
        (
            Request::RecordActivityHeartbeat(RecordActivityHeartbeatRequest {
                execution: execution(),
                token: activity_token(),
                details: Some(json("60%")),
            }),
            Response::RecordActivityHeartbeat(HeartbeatResponse {
                cancel_requested: true,
            }),
        ),
        (
            Request::CompleteActivityTask(CompleteActivityTaskRequest {
                execution: execution(),
                token: activity_token(),
                result: Some(json("sent")),
                identity: "worker-1".into(),
            }),
            Response::CompleteActivityTask(()),
        ),
        (
            Request::FailActivityTask(FailActivityTaskRequest {
                execution: execution(),
                token: activity_token(),
                failure: samples::failure(),
                identity: "worker-1".into(),
            }),
            Response::FailActivityTask(()),
        ),
        (
            Request::CancelActivityTask(CancelActivityTaskRequest {
                execution: execution(),
                token: activity_token(),
                details: None,
                identity: "worker-1".into(),
            }),
            Response::CancelActivityTask(()),
        ),
        (
            Request::GetHistory(GetHistoryRequest {
                execution: execution(),
            }),
            Response::GetHistory(history.clone()),
        ),
        (
            Request::GetHistoryPage(GetHistoryPageRequest {
                execution: execution(),
                first_event_id: id(4),
            }),
            Response::GetHistoryPage(HistoryPageResponse {
                events: history[3..6].to_vec(),
                next_event_id: Some(id(7)),
            }),
        ),
        (
            Request::ListWorkflows(ListWorkflowsRequest {
                namespace: namespace(),
                query: VisibilityQuery::parse("WorkflowType = 'OrderWorkflow'").unwrap(),
                offset: 10,
                limit: 10,
            }),
            Response::ListWorkflows(vec![WorkflowExecutionInfo {
                execution: execution(),
                workflow_type: workflow_type("OrderWorkflow"),
                task_queue: queue(),
                status: WorkflowExecutionStatus::Completed,
                start_time: Timestamp::from_unix_seconds(1_795_860_000),
                close_time: Some(Timestamp::from_unix_seconds(1_795_860_005)),
                memo: samples::memo(),
                search_attributes: samples::search_attributes(),
            }]),
        ),
        (
            Request::AwaitWorkflowClose(AwaitWorkflowCloseRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: None,
                wait: Duration::from_secs(60),
            }),
            Response::AwaitWorkflowClose(Box::new(WorkflowCloseResponse {
                description: *description(),
                closing_event: quickstart_history().events.last().cloned(),
            })),
        ),
        (
            Request::DescribeWorkflow(DescribeWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: Some(run()),
            }),
            Response::DescribeWorkflow(description()),
        ),
        (
            Request::CreateNamespace(CreateNamespaceRequest {
                name: Namespace::new("orders").unwrap(),
                config: NamespaceConfig {
                    description: "order intake".into(),
                    owner_email: "orders@example.com".into(),
                    retention: Duration::from_secs(7 * 86_400),
                },
            }),
            Response::CreateNamespace(namespace_record()),
        ),
        (
            Request::DescribeNamespace(DescribeNamespaceRequest {
                name: Namespace::new("orders").unwrap(),
            }),
            Response::DescribeNamespace(namespace_record()),
        ),
        (
            Request::ListNamespaces(ListNamespacesRequest),
            Response::ListNamespaces(vec![*namespace_record()]),
        ),
        (
            Request::UpdateNamespace(UpdateNamespaceRequest {
                name: Namespace::new("orders").unwrap(),
                update: NamespaceUpdate {
                    description: Some("orders, all regions".into()),
                    owner_email: None,
                    retention: Some(Duration::from_secs(30 * 86_400)),
                },
            }),
            Response::UpdateNamespace(namespace_record()),
        ),
        (
            Request::ResetWorkflow(ResetWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: None,
                request: ResetRequest {
                    point: ResetPoint::Event(id(4)),
                    reason: "bad deploy".into(),
                    reapply: ResetReapply::Signals,
                    identity: "cli".into(),
                    request_id: Some(RequestId::new("reset-1").unwrap()),
                },
            }),
            Response::ResetWorkflow(ResetWorkflowResponse { run_id: run() }),
        ),
        (
            Request::Health(HealthRequest),
            Response::Health(Health {
                store_stopped: Some("the disk is full".into()),
            }),
        ),
        (
            Request::DeleteWorkflow(DeleteWorkflowRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: Some(run()),
                identity: "cli".into(),
            }),
            Response::DeleteWorkflow(()),
        ),
        (
            Request::PollUpdate(PollUpdateRequest {
                namespace: namespace(),
                workflow_id: workflow_id(),
                run_id: None,
                update_id: UpdateId::new("update-1").unwrap(),
            }),
            Response::PollUpdate(update_response()),
        ),
        (
            Request::CreateSchedule(CreateScheduleRequest {
                namespace: namespace(),
                schedule_id: WorkflowId::new("nightly").unwrap(),
                schedule: schedule(),
                trigger_immediately: true,
                backfills: vec![backfill()],
                memo: header(),
                search_attributes: SearchAttributes::default(),
                request_id: "create-1".into(),
                identity: "client-1".into(),
            }),
            Response::CreateSchedule(CreateScheduleResponse { created: true }),
        ),
        (
            Request::DescribeSchedule(DescribeScheduleRequest {
                namespace: namespace(),
                schedule_id: WorkflowId::new("nightly").unwrap(),
            }),
            Response::DescribeSchedule(Box::new(schedule::ScheduleDescription {
                schedule_id: WorkflowId::new("nightly").unwrap(),
                schedule: schedule(),
                info: schedule::ScheduleInfo {
                    action_count: 1,
                    recent_actions: vec![action_result()],
                    created_at: Some(Timestamp::from_unix_seconds(1_700_000_000)),
                    ..schedule::ScheduleInfo::default()
                },
                future_action_times: vec![Timestamp::from_unix_seconds(1_700_086_400)],
                buffered_starts: 0,
                conflict_token: 3,
                memo: samples::memo(),
                search_attributes: samples::search_attributes(),
            })),
        ),
        (
            Request::UpdateSchedule(UpdateScheduleRequest {
                namespace: namespace(),
                schedule_id: WorkflowId::new("nightly").unwrap(),
                schedule: schedule(),
                conflict_token: Some(3),
                identity: "client-1".into(),
            }),
            Response::UpdateSchedule(()),
        ),
        (
            Request::PatchSchedule(PatchScheduleRequest {
                namespace: namespace(),
                schedule_id: WorkflowId::new("nightly").unwrap(),
                patch: schedule::SchedulePatch {
                    trigger: Some(schedule::ScheduleOverlapPolicy::AllowAll),
                    backfills: vec![backfill()],
                    pause: Some("maintenance".into()),
                    unpause: None,
                },
                identity: "client-1".into(),
            }),
            Response::PatchSchedule(()),
        ),
        (
            Request::DeleteSchedule(DeleteScheduleRequest {
                namespace: namespace(),
                schedule_id: WorkflowId::new("nightly").unwrap(),
                identity: "client-1".into(),
            }),
            Response::DeleteSchedule(()),
        ),
        (
            Request::ListSchedules(ListSchedulesRequest {
                namespace: namespace(),
                filter: Some(list_filter::ListFilter::parse("Team = 'billing'").unwrap()),
                limit: 100,
            }),
            Response::ListSchedules(vec![schedule::ScheduleListEntry {
                schedule_id: WorkflowId::new("nightly").unwrap(),
                info: schedule::ScheduleListInfo {
                    workflow_type: workflow_type("Report"),
                    paused: false,
                    notes: String::new(),
                    recent_actions: vec![action_result()],
                    future_action_times: vec![Timestamp::from_unix_seconds(1_700_086_400)],
                    spec: Some(schedule().spec),
                },
            }]),
        ),
        (
            Request::DescribeWorkerDeployment(DescribeWorkerDeploymentRequest {
                namespace: namespace(),
                deployment_name: "orders".into(),
            }),
            Response::DescribeWorkerDeployment(Box::new(deployment())),
        ),
        (
            Request::ListWorkerDeployments(ListWorkerDeploymentsRequest {
                namespace: namespace(),
            }),
            Response::ListWorkerDeployments(vec![deployment()]),
        ),
        (
            Request::SetWorkerDeploymentCurrentVersion(SetWorkerDeploymentCurrentVersionRequest {
                namespace: namespace(),
                deployment_name: "orders".into(),
                build_id: Some("2026.12.2".into()),
                identity: "operator".into(),
                expected_routing: Some(endure_core::versioning::RoutingConfig::default()),
            }),
            Response::SetWorkerDeploymentCurrentVersion(Box::new(
                SetWorkerDeploymentCurrentVersionResponse {
                    previous: Some(version("2026.12.1")),
                    previous_routing: endure_core::versioning::RoutingConfig::default(),
                    routing: deployment().routing,
                },
            )),
        ),
        (
            Request::SetWorkerDeploymentRampingVersion(SetWorkerDeploymentRampingVersionRequest {
                namespace: namespace(),
                deployment_name: "orders".into(),
                build_id: Some("2026.12.3".into()),
                percentage: 30.0,
                identity: "operator".into(),
                expected_routing: None,
            }),
            Response::SetWorkerDeploymentRampingVersion(Box::new(
                SetWorkerDeploymentRampingVersionResponse {
                    previous_routing: endure_core::versioning::RoutingConfig::default(),
                    routing: deployment().routing,
                },
            )),
        ),
        (
            Request::DeleteWorkerDeploymentVersion(DeleteWorkerDeploymentVersionRequest {
                namespace: namespace(),
                version: version("2026.12.1"),
                identity: "operator".into(),
            }),
            Response::DeleteWorkerDeploymentVersion(()),
        ),
        (
            Request::CountWorkflows(CountWorkflowsRequest {
                namespace: namespace(),
                query: VisibilityQuery::parse("ExecutionStatus = 'Running'").unwrap(),
            }),
            Response::CountWorkflows(42),
        ),
        (
            Request::DescribeTaskQueue(DescribeTaskQueueRequest {
                namespace: namespace(),
                task_queue: queue(),
            }),
            Response::DescribeTaskQueue(TaskQueueDescription {
                workflow_pollers: vec![PollerInfo {
                    identity: "worker-1@host".into(),
                    last_access_time: Timestamp::from_unix_seconds(1_795_860_000),
                    deployment_version: Some(version("2026.12.1")),
                }],
                activity_pollers: Vec::new(),
            }),
        ),
        (
            Request::UpdateWorkflowExecutionOptions(UpdateWorkflowExecutionOptionsRequest {
                namespace: namespace(),
                workflow_id: WorkflowId::new("order-1").unwrap(),
                run_id: None,
                versioning_override: Some(endure_core::versioning::VersioningOverride::Pinned(
                    version("2026.12.2"),
                )),
                unset_versioning_override: false,
                identity: "operator".into(),
            }),
            Response::UpdateWorkflowExecutionOptions(endure_core::versioning::RunVersioning {
                behavior: endure_core::VersioningBehavior::Pinned,
                version: Some(version("2026.12.1")),
                override_: Some(endure_core::versioning::VersioningOverride::Pinned(
                    version("2026.12.2"),
                )),
            }),
        ),
        (
            Request::AddSearchAttributes(AddSearchAttributesRequest {
                namespace: namespace(),
                attributes: custom_attributes(),
            }),
            Response::AddSearchAttributes(SearchAttributesListing::of(custom_attributes())),
        ),
        (
            Request::RemoveSearchAttributes(RemoveSearchAttributesRequest {
                namespace: namespace(),
                names: vec!["Amount".into()],
            }),
            Response::RemoveSearchAttributes(SearchAttributesListing::of(
                endure_core::attribute_registry::Registered::new(),
            )),
        ),
        (
            Request::ListSearchAttributes(ListSearchAttributesRequest {
                namespace: namespace(),
            }),
            Response::ListSearchAttributes(SearchAttributesListing::of(custom_attributes())),
        ),
        (
            Request::DescribeCluster(DescribeClusterRequest),
            Response::DescribeCluster(Box::new(ClusterDescription {
                node: Some(member("node-b", "10.0.0.2:7233")),
                shard_count: 4,
                members: vec![
                    ClusterMember {
                        member: member("node-a", "10.0.0.1:7233"),
                        heartbeat_age: Duration::from_millis(800),
                        shards: 1,
                    },
                    ClusterMember {
                        member: member("node-b", "10.0.0.2:7233"),
                        heartbeat_age: Duration::from_millis(1_200),
                        shards: 2,
                    },
                ],
                shards: vec![
                    ShardOwnership {
                        shard: 0,
                        owner: Some(endure_core::cluster::NodeName::new("node-a").unwrap()),
                        range: 3,
                        lease_remaining: Duration::from_millis(9_100),
                    },
                    ShardOwnership {
                        shard: 1,
                        owner: None,
                        range: 5,
                        lease_remaining: Duration::ZERO,
                    },
                ],
            })),
        ),
        (
            Request::Forwarded(ForwardedRequest {
                request: Box::new(Request::SignalWorkflow(SignalWorkflowRequest {
                    namespace: namespace(),
                    workflow_id: workflow_id(),
                    run_id: None,
                    signal: signal(),
                })),
            }),
            Response::Forwarded(Box::new(Response::SignalWorkflow(()))),
        ),
        (
            Request::ApplyToRun(ApplyToRunRequest {
                execution: execution(),
                input: Box::new(Input::Signal(signal())),
            }),
            Response::ApplyToRun(Err(PeerRefusal::SignalLimitExceeded(10_000))),
        ),
        (
            Request::StartChild(StartChildRequest {
                request: start(),
                parent: endure_core::history::ParentExecutionInfo {
                    namespace: namespace(),
                    workflow_execution: WorkflowExecution {
                        workflow_id: WorkflowId::new("parent_7").unwrap(),
                        run_id: Some(run()),
                    },
                    initiated_event_id: EventId::new(5).unwrap(),
                },
            }),
            Response::StartChild(Ok(StartWorkflowResponse {
                run_id: run(),
                started: true,
            })),
        ),
    ]
}

/// The sample activity attempt: a poll's answer, and a completion's eager task.
pub(crate) fn activity_task() -> ActivityTask {
    ActivityTask {
        token: activity_token(),
        scheduled: scheduled_activity(),
        workflow_type: workflow_type("OrderWorkflow"),
        heartbeat_details: Some(json("50%")),
        scheduled_time: Timestamp::from_unix_seconds(1_795_860_001),
        current_attempt_scheduled_time: Timestamp::from_unix_seconds(1_795_860_002),
        started_time: Timestamp::from_unix_seconds(1_795_860_003),
    }
}
