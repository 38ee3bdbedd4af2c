//! The engine behind the protocol: one [`Handler`] method per RPC, mapping the protocol's
//! messages onto the engine's calls and the machine's answers back onto messages.

use endure_core::RunId;
use endure_core::clock::Clock;
use endure_core::execution::{Reply, WorkflowTaskCompletion};
use endure_core::history::HistoryEvent;
use endure_core::namespace::NamespaceRecord;
use endure_core::protocol::*;
use endure_core::schedule::{ScheduleDescription, ScheduleListEntry};
use endure_core::storage::{HistoryPage, Storage, VisibilityRow};

use super::api::EngineError;
use super::transport::InProcessTransport;

impl<S: Storage, C: Clock> Handler for InProcessTransport<S, C> {
    type Error = EngineError;

    async fn start_workflow(
        &self,
        request: StartWorkflowRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.engine.start_workflow(request).await
    }

    async fn signal_with_start_workflow(
        &self,
        request: SignalWithStartWorkflowRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.engine
            .signal_with_start_workflow(request.start, request.signal)
            .await
    }

    async fn update_workflow(
        &self,
        request: UpdateWorkflowRequest,
    ) -> Result<Box<UpdateWorkflowResponse>, EngineError> {
        self.engine.update_workflow(request).await.map(Box::new)
    }

    async fn update_with_start_workflow(
        &self,
        request: UpdateWithStartWorkflowRequest,
    ) -> Result<Box<UpdateWithStartWorkflowResponse>, EngineError> {
        let (start, update) = self
            .engine
            .update_with_start_workflow(request.start, request.update)
            .await?;
        Ok(Box::new(UpdateWithStartWorkflowResponse { start, update }))
    }

    async fn signal_workflow(&self, request: SignalWorkflowRequest) -> Result<(), EngineError> {
        self.engine
            .signal_workflow(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.signal,
            )
            .await
    }

    async fn request_cancel_workflow(
        &self,
        request: RequestCancelWorkflowRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .request_cancel_workflow(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.reason,
                request.identity,
            )
            .await
    }

    async fn terminate_workflow(
        &self,
        request: TerminateWorkflowRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .terminate_workflow(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.reason,
                request.details,
                request.identity,
            )
            .await
    }

    async fn poll_workflow_task(
        &self,
        request: PollWorkflowTaskRequest,
    ) -> Result<Option<PolledWorkflowTask>, EngineError> {
        self.engine
            .poll_workflow_task_or_query_as(
                &request.namespace,
                &request.task_queue,
                &request.identity,
                request.deployment_version.as_ref(),
                request.normal_queue.as_ref(),
            )
            .await
    }

    async fn complete_workflow_task(
        &self,
        request: CompleteWorkflowTaskRequest,
    ) -> Result<CompleteWorkflowTaskResponse, EngineError> {
        let completion = WorkflowTaskCompletion {
            token: request.token,
            commands: request.commands,
            identity: request.identity,
            sticky: request.sticky,
            force_create_workflow_task: request.force_create_workflow_task,
            sdk_metadata: request.sdk_metadata,
            // Drawn by the run's shard when it applies the completion.
            next_run_id: RunId::from_u128(0),
            messages: request.messages,
            deployment_version: request.deployment_version,
            versioning_behavior: request.versioning_behavior,
        };
        let reply = self
            .engine
            .complete_workflow_task(&request.execution, completion)
            .await?;
        Ok(completion_response(reply))
    }

    async fn fail_workflow_task(
        &self,
        request: FailWorkflowTaskRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .fail_workflow_task(
                &request.execution,
                request.token,
                request.cause,
                request.failure,
                request.identity,
            )
            .await
    }

    async fn reset_sticky_task_queue(
        &self,
        request: ResetStickyTaskQueueRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .reset_sticky_task_queue(&request.execution)
            .await
    }

    async fn query_workflow(
        &self,
        request: QueryWorkflowRequest,
    ) -> Result<QueryAnswer, EngineError> {
        self.engine
            .query_workflow(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.query_type,
                request.args,
                request.header,
            )
            .await
    }

    async fn respond_query_task(
        &self,
        request: RespondQueryTaskRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .respond_query(&request.execution, request.query_id, request.answer)
    }

    async fn poll_activity_task(
        &self,
        request: PollActivityTaskRequest,
    ) -> Result<Option<Box<ActivityTaskForWorker>>, EngineError> {
        Ok(self
            .engine
            .poll_activity_task_as(
                &request.namespace,
                &request.task_queue,
                &request.identity,
                request.deployment_version.as_ref(),
            )
            .await?
            .map(Box::new))
    }

    async fn record_activity_heartbeat(
        &self,
        request: RecordActivityHeartbeatRequest,
    ) -> Result<HeartbeatResponse, EngineError> {
        let cancel_requested = self
            .engine
            .record_activity_heartbeat(&request.execution, request.token, request.details)
            .await?;
        Ok(HeartbeatResponse { cancel_requested })
    }

    async fn complete_activity_task(
        &self,
        request: CompleteActivityTaskRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .complete_activity_task(
                &request.execution,
                request.token,
                request.result,
                request.identity,
            )
            .await
    }

    async fn fail_activity_task(
        &self,
        request: FailActivityTaskRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .fail_activity_task(
                &request.execution,
                request.token,
                request.failure,
                request.identity,
            )
            .await
    }

    async fn cancel_activity_task(
        &self,
        request: CancelActivityTaskRequest,
    ) -> Result<(), EngineError> {
        self.engine
            .cancel_activity_task(
                &request.execution,
                request.token,
                request.details,
                request.identity,
            )
            .await
    }

    async fn get_history(
        &self,
        request: GetHistoryRequest,
    ) -> Result<Vec<HistoryEvent>, EngineError> {
        self.engine.history(&request.execution).await
    }

    async fn get_history_page(
        &self,
        request: GetHistoryPageRequest,
    ) -> Result<HistoryPageResponse, EngineError> {
        let HistoryPage {
            events,
            next_event_id,
        } = self
            .engine
            .history_page(&request.execution, request.first_event_id)
            .await?;
        Ok(HistoryPageResponse {
            events,
            next_event_id,
        })
    }

    async fn list_workflows(
        &self,
        request: ListWorkflowsRequest,
    ) -> Result<Vec<WorkflowExecutionInfo>, EngineError> {
        let query = super::schedules::without_schedules(request.query)?;
        self.engine.check_filter(&request.namespace, &query)?;
        let rows = self
            .engine
            .list_workflows(&request.namespace, &query, request.offset, request.limit)
            .await?;
        Ok(rows.into_iter().map(execution_info).collect())
    }

    async fn describe_task_queue(
        &self,
        request: DescribeTaskQueueRequest,
    ) -> Result<TaskQueueDescription, EngineError> {
        self.engine
            .describe_task_queue(&request.namespace, &request.task_queue)
    }

    async fn count_workflows(&self, request: CountWorkflowsRequest) -> Result<u64, EngineError> {
        let query = super::schedules::without_schedules(request.query)?;
        self.engine.check_filter(&request.namespace, &query)?;
        self.engine
            .count_workflows(&request.namespace, &query)
            .await
    }

    async fn await_workflow_close(
        &self,
        request: AwaitWorkflowCloseRequest,
    ) -> Result<Box<WorkflowCloseResponse>, EngineError> {
        self.engine
            .await_close(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.wait,
            )
            .await
            .map(Box::new)
    }

    async fn describe_workflow(
        &self,
        request: DescribeWorkflowRequest,
    ) -> Result<Box<WorkflowDescription>, EngineError> {
        self.engine
            .describe_workflow(&request.namespace, &request.workflow_id, request.run_id)
            .await
            .map(Box::new)
    }

    async fn create_namespace(
        &self,
        request: CreateNamespaceRequest,
    ) -> Result<Box<NamespaceRecord>, EngineError> {
        self.engine
            .create_namespace(request.name, request.config)
            .await
            .map(Box::new)
    }

    async fn describe_namespace(
        &self,
        request: DescribeNamespaceRequest,
    ) -> Result<Box<NamespaceRecord>, EngineError> {
        self.engine
            .describe_namespace(&request.name)
            .await
            .map(Box::new)
    }

    async fn list_namespaces(
        &self,
        _request: ListNamespacesRequest,
    ) -> Result<Vec<NamespaceRecord>, EngineError> {
        self.engine.list_namespaces().await
    }

    async fn update_namespace(
        &self,
        request: UpdateNamespaceRequest,
    ) -> Result<Box<NamespaceRecord>, EngineError> {
        self.engine
            .update_namespace(&request.name, request.update)
            .await
            .map(Box::new)
    }

    async fn reset_workflow(
        &self,
        request: ResetWorkflowRequest,
    ) -> Result<ResetWorkflowResponse, EngineError> {
        let run_id = self
            .engine
            .reset_workflow(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.request,
            )
            .await?;
        Ok(ResetWorkflowResponse { run_id })
    }

    async fn health(&self, _request: HealthRequest) -> Result<Health, EngineError> {
        Ok(self.engine.health())
    }

    async fn delete_workflow(&self, request: DeleteWorkflowRequest) -> Result<(), EngineError> {
        self.engine
            .delete_workflow(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                request.identity,
            )
            .await
    }

    async fn poll_update(
        &self,
        request: PollUpdateRequest,
    ) -> Result<Box<UpdateWorkflowResponse>, EngineError> {
        self.engine
            .poll_update(
                &request.namespace,
                &request.workflow_id,
                request.run_id,
                &request.update_id,
            )
            .await
            .map(Box::new)
    }

    async fn create_schedule(
        &self,
        request: CreateScheduleRequest,
    ) -> Result<CreateScheduleResponse, EngineError> {
        self.engine.create_schedule(request).await
    }

    async fn describe_schedule(
        &self,
        request: DescribeScheduleRequest,
    ) -> Result<Box<ScheduleDescription>, EngineError> {
        self.engine.describe_schedule(request).await.map(Box::new)
    }

    async fn update_schedule(&self, request: UpdateScheduleRequest) -> Result<(), EngineError> {
        self.engine.update_schedule(request).await
    }

    async fn patch_schedule(&self, request: PatchScheduleRequest) -> Result<(), EngineError> {
        self.engine.patch_schedule(request).await
    }

    async fn delete_schedule(&self, request: DeleteScheduleRequest) -> Result<(), EngineError> {
        self.engine.delete_schedule(request).await
    }

    async fn list_schedules(
        &self,
        request: ListSchedulesRequest,
    ) -> Result<Vec<ScheduleListEntry>, EngineError> {
        self.engine.list_schedules(request).await
    }

    async fn describe_worker_deployment(
        &self,
        request: DescribeWorkerDeploymentRequest,
    ) -> Result<Box<endure_core::versioning::WorkerDeploymentDescription>, EngineError> {
        self.engine
            .describe_worker_deployment(request)
            .await
            .map(Box::new)
    }

    async fn list_worker_deployments(
        &self,
        request: ListWorkerDeploymentsRequest,
    ) -> Result<Vec<endure_core::versioning::WorkerDeploymentDescription>, EngineError> {
        self.engine
            .list_worker_deployments(&request.namespace)
            .await
    }

    async fn set_worker_deployment_current_version(
        &self,
        request: SetWorkerDeploymentCurrentVersionRequest,
    ) -> Result<Box<SetWorkerDeploymentCurrentVersionResponse>, EngineError> {
        self.engine
            .set_worker_deployment_current_version(request)
            .await
            .map(Box::new)
    }

    async fn set_worker_deployment_ramping_version(
        &self,
        request: SetWorkerDeploymentRampingVersionRequest,
    ) -> Result<Box<SetWorkerDeploymentRampingVersionResponse>, EngineError> {
        self.engine
            .set_worker_deployment_ramping_version(request)
            .await
            .map(Box::new)
    }

    async fn delete_worker_deployment_version(
        &self,
        request: DeleteWorkerDeploymentVersionRequest,
    ) -> Result<(), EngineError> {
        self.engine.delete_worker_deployment_version(request).await
    }

    async fn update_workflow_execution_options(
        &self,
        request: UpdateWorkflowExecutionOptionsRequest,
    ) -> Result<endure_core::versioning::RunVersioning, EngineError> {
        self.engine.update_workflow_execution_options(request).await
    }

    async fn add_search_attributes(
        &self,
        request: AddSearchAttributesRequest,
    ) -> Result<SearchAttributesListing, EngineError> {
        self.engine
            .add_search_attributes(&request.namespace, &request.attributes)
            .await
    }

    async fn remove_search_attributes(
        &self,
        request: RemoveSearchAttributesRequest,
    ) -> Result<SearchAttributesListing, EngineError> {
        self.engine
            .remove_search_attributes(&request.namespace, &request.names)
            .await
    }

    async fn list_search_attributes(
        &self,
        request: ListSearchAttributesRequest,
    ) -> Result<SearchAttributesListing, EngineError> {
        self.engine.list_search_attributes(&request.namespace)
    }

    async fn describe_cluster(
        &self,
        _request: DescribeClusterRequest,
    ) -> Result<Box<ClusterDescription>, EngineError> {
        Ok(Box::new(self.engine.cluster_description()))
    }

    async fn apply_to_run(
        &self,
        request: ApplyToRunRequest,
    ) -> Result<ApplyToRunResponse, EngineError> {
        Ok(self
            .engine
            .apply_to_run_here(request)
            .await
            .map_err(PeerRefusal::from))
    }

    async fn start_child(
        &self,
        request: StartChildRequest,
    ) -> Result<StartChildResponse, EngineError> {
        Ok(self
            .engine
            .start_child_here(request)
            .await
            .map_err(PeerRefusal::from))
    }

    /// Served by [`InProcessTransport::call`] itself, which unwraps the request (the
    /// handler would have to name its own future's type).
    async fn forwarded(&self, _request: ForwardedRequest) -> Result<Box<Response>, EngineError> {
        Err(EngineError::BadRequest(
            "a forwarded request is served by the transport".into(),
        ))
    }
}

/// What the machine answered to a completion, as the worker sees it.
fn completion_response(reply: Reply) -> CompleteWorkflowTaskResponse {
    match reply {
        Reply::Duplicate => CompleteWorkflowTaskResponse::Duplicate,
        Reply::WorkflowTaskCommandsRefused { cause, message } => {
            CompleteWorkflowTaskResponse::CommandsRefused { cause, message }
        }
        Reply::WorkflowTaskDiscarded {
            reset_history_event_id,
        } => CompleteWorkflowTaskResponse::Discarded {
            reset_history_event_id,
        },
        Reply::Accepted => CompleteWorkflowTaskResponse::Accepted,
        Reply::EagerActivityTasks(started) => {
            CompleteWorkflowTaskResponse::AcceptedWithActivityTasks {
                activity_tasks: started.into_iter().map(ActivityTask::from).collect(),
            }
        }
        other => {
            debug_assert!(false, "a completion answered with {other:?}");
            CompleteWorkflowTaskResponse::Accepted
        }
    }
}

/// A visibility row as a listing shows it.
fn execution_info(row: VisibilityRow) -> WorkflowExecutionInfo {
    WorkflowExecutionInfo {
        execution: row.execution,
        workflow_type: row.workflow_type,
        task_queue: row.task_queue,
        status: row.status,
        start_time: row.start_time,
        close_time: row.close_time,
        memo: row.memo,
        search_attributes: row.search_attributes,
    }
}
