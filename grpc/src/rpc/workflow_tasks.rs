//! Workflow tasks: polls (a task, or a query as Temporal's legacy query task), completions
//! with their commands and update messages, failures, query answers, stickiness.

use endure_core::execution::StickyAttributes;
use endure_core::protocol::{
    CompleteWorkflowTaskRequest, CompleteWorkflowTaskResponse, DescribeWorkflowRequest,
    FailWorkflowTaskRequest, PollWorkflowTaskRequest, PolledWorkflowTask, QueryTaskForWorker,
    ResetStickyTaskQueueRequest, RespondQueryTaskRequest, WorkflowTaskForWorker,
};
use endure_core::{HistoryEvent, TaskQueueName, Timestamp, WorkflowTaskFailedCause};
use tonic::Status;

use crate::convert::command::command_in;
use crate::convert::common::{
    duration_in, event_id, event_id_opt, execution_in, header, id_in, payloads, payloads_opt_in,
    run_id, time,
};
use crate::convert::deployment::{behavior_in, worker_version};
use crate::convert::enums::enum_in;
use crate::convert::failure::failure_opt_in;
use crate::convert::history::{history, normal_queue};
use crate::convert::protocol::{answer_in, delivery};
use crate::convert::sdk_metadata::sdk_metadata_in;
use crate::proto::{common as pbc, enums as pbe, query, service as pb, taskqueue};
use crate::service::{Call, closed_run_not_found, namespace};
use crate::token::{self, PageToken, TaskToken};

/// The queue a poll names, and for a sticky queue the normal queue it stands in for.
fn polled_queue(
    queue: Option<taskqueue::TaskQueue>,
) -> Result<(TaskQueueName, Option<TaskQueueName>), Status> {
    let queue =
        queue.ok_or_else(|| Status::invalid_argument("task_queue: the queue is required"))?;
    let name = id_in("task_queue", queue.name)?;
    let sticky = queue.kind == i32::from(pbe::TaskQueueKind::Sticky);
    let normal = (sticky && !queue.normal_name.is_empty())
        .then(|| id_in("task_queue.normal_name", queue.normal_name))
        .transpose()?;
    Ok((name, normal))
}

/// When the event `id` among `events` was written.
fn time_of(events: &[HistoryEvent], id: endure_core::EventId) -> Option<Timestamp> {
    events
        .iter()
        .find(|e| e.event_id == id)
        .map(|e| e.event_time)
}

fn task(task: WorkflowTaskForWorker, queue: TaskQueueName) -> pb::PollWorkflowTaskQueueResponse {
    let WorkflowTaskForWorker {
        execution,
        workflow_type,
        token: task_token,
        history: mut events,
        next_page,
        transient_events,
        previous_started_event_id,
        updates,
    } = task;
    let scheduled = time_of(&events, task_token.scheduled_event_id)
        .or_else(|| time_of(&transient_events, task_token.scheduled_event_id));
    let started = time_of(&events, task_token.started_event_id)
        .or_else(|| time_of(&transient_events, task_token.started_event_id));
    let workflow_execution = pbc::WorkflowExecution {
        workflow_id: execution.workflow_id.as_str().to_owned(),
        run_id: run_id(execution.run_id),
    };
    let next_page_token = match next_page {
        Some(next_event_id) => token::encode(&PageToken {
            execution: execution.clone(),
            next_event_id,
            transient: transient_events,
        }),
        None => {
            events.extend(transient_events);
            Vec::new()
        }
    };
    pb::PollWorkflowTaskQueueResponse {
        task_token: token::encode(&TaskToken::Workflow {
            execution,
            token: task_token,
        }),
        workflow_execution: Some(workflow_execution),
        workflow_type: Some(pbc::WorkflowType {
            name: workflow_type.into(),
        }),
        previous_started_event_id: event_id_opt(previous_started_event_id),
        started_event_id: event_id(task_token.started_event_id),
        attempt: i32::try_from(task_token.attempt).unwrap_or(i32::MAX),
        history: Some(history(events)),
        next_page_token,
        workflow_execution_task_queue: Some(normal_queue(queue)),
        scheduled_time: scheduled.map(time),
        started_time: started.map(time),
        messages: updates.into_iter().map(delivery).collect(),
        ..Default::default()
    }
}

fn query_task(task: QueryTaskForWorker, queue: TaskQueueName) -> pb::PollWorkflowTaskQueueResponse {
    let QueryTaskForWorker {
        execution,
        workflow_type,
        query_id,
        query_type,
        args,
        header: query_header,
        history: events,
        next_page,
        previous_started_event_id,
    } = task;
    let workflow_execution = pbc::WorkflowExecution {
        workflow_id: execution.workflow_id.as_str().to_owned(),
        run_id: run_id(execution.run_id),
    };
    let next_page_token = next_page
        .map(|next_event_id| {
            token::encode(&PageToken {
                execution: execution.clone(),
                next_event_id,
                transient: Vec::new(),
            })
        })
        .unwrap_or_default();
    pb::PollWorkflowTaskQueueResponse {
        task_token: token::encode(&TaskToken::Query {
            execution,
            query_id,
        }),
        workflow_execution: Some(workflow_execution),
        workflow_type: Some(pbc::WorkflowType {
            name: workflow_type.into(),
        }),
        previous_started_event_id: event_id(previous_started_event_id),
        started_event_id: event_id(previous_started_event_id),
        history: Some(history(events)),
        next_page_token,
        query: Some(query::WorkflowQuery {
            query_type,
            query_args: payloads(args),
            header: header(query_header),
        }),
        workflow_execution_task_queue: Some(normal_queue(queue)),
        ..Default::default()
    }
}

/// PollWorkflowTaskQueue: a task, a query, or (the poll expired) an empty response.
pub(crate) async fn poll(
    call: Call,
    request: pb::PollWorkflowTaskQueueRequest,
) -> Result<pb::PollWorkflowTaskQueueResponse, Status> {
    let (queue, normal) = polled_queue(request.task_queue)?;
    let polled = call
        .rpc(PollWorkflowTaskRequest {
            namespace: namespace(&request.namespace)?,
            task_queue: queue.clone(),
            identity: request.identity,
            deployment_version: worker_version("deployment_options", request.deployment_options)?,
            normal_queue: normal.clone(),
        })
        .await?;
    let queue = normal.unwrap_or(queue);
    Ok(match polled {
        None => pb::PollWorkflowTaskQueueResponse::default(),
        Some(PolledWorkflowTask::Task(polled)) => task(*polled, queue),
        Some(PolledWorkflowTask::Query(polled)) => query_task(*polled, queue),
    })
}

fn workflow_token(
    bytes: &[u8],
) -> Result<
    (
        endure_core::ExecutionKey,
        endure_core::execution::WorkflowTaskToken,
    ),
    Status,
> {
    match token::decode("task_token", bytes)? {
        TaskToken::Workflow { execution, token } => Ok((execution, token)),
        _ => Err(Status::invalid_argument(
            "task_token: not a workflow task's token",
        )),
    }
}

/// RespondWorkflowTaskCompleted.
pub(crate) async fn complete(
    call: Call,
    request: pb::RespondWorkflowTaskCompletedRequest,
) -> Result<pb::RespondWorkflowTaskCompletedResponse, Status> {
    let (execution, task_token) = workflow_token(&request.task_token)?;
    let commands = request
        .commands
        .into_iter()
        .map(command_in)
        .collect::<Result<Vec<_>, _>>()?;
    let messages = request
        .messages
        .into_iter()
        .map(answer_in)
        .collect::<Result<Vec<_>, _>>()?;
    let sticky = match request.sticky_attributes {
        Some(sticky) => match sticky.worker_task_queue {
            Some(queue) if !queue.name.is_empty() => Some(StickyAttributes {
                task_queue: id_in("sticky_attributes.worker_task_queue", queue.name)?,
                schedule_to_start_timeout: duration_in(
                    "sticky_attributes.schedule_to_start_timeout",
                    sticky.schedule_to_start_timeout,
                )?
                .unwrap_or(DEFAULT_STICKY_SCHEDULE_TO_START),
            }),
            _ => None,
        },
        None => None,
    };
    let run = execution.clone();
    let answer = call
        .rpc(CompleteWorkflowTaskRequest {
            execution,
            token: task_token,
            commands,
            identity: request.identity,
            sticky,
            force_create_workflow_task: request.force_create_new_workflow_task,
            sdk_metadata: sdk_metadata_in(request.sdk_metadata),
            messages,
            deployment_version: worker_version("deployment_options", request.deployment_options)?,
            versioning_behavior: behavior_in("versioning_behavior", request.versioning_behavior)?,
        })
        .await
        .map_err(closed_run_not_found)?;
    match answer {
        CompleteWorkflowTaskResponse::Accepted | CompleteWorkflowTaskResponse::Duplicate => {
            Ok(pb::RespondWorkflowTaskCompletedResponse::default())
        }
        CompleteWorkflowTaskResponse::CommandsRefused { cause, message } => Err(
            Status::invalid_argument(format!("the workflow task failed ({cause:?}): {message}")),
        ),
        CompleteWorkflowTaskResponse::Discarded {
            reset_history_event_id,
        } => Ok(pb::RespondWorkflowTaskCompletedResponse {
            reset_history_event_id: event_id_opt(reset_history_event_id),
            ..Default::default()
        }),
        CompleteWorkflowTaskResponse::AcceptedWithActivityTasks { activity_tasks } => {
            Ok(pb::RespondWorkflowTaskCompletedResponse {
                activity_tasks: activity_tasks
                    .into_iter()
                    .map(|task| super::activity_tasks::activity_task_out(&run, task))
                    .collect(),
                ..Default::default()
            })
        }
    }
}

/// How long a sticky task waits for its worker when the completion does not say
/// (Temporal's SDK default).
const DEFAULT_STICKY_SCHEDULE_TO_START: std::time::Duration = std::time::Duration::from_secs(5);

/// RespondWorkflowTaskFailed.
pub(crate) async fn fail(
    call: Call,
    request: pb::RespondWorkflowTaskFailedRequest,
) -> Result<pb::RespondWorkflowTaskFailedResponse, Status> {
    let (execution, task_token) = workflow_token(&request.task_token)?;
    let cause: Option<WorkflowTaskFailedCause> = enum_in!(
        "cause",
        pbe::WorkflowTaskFailedCause,
        "WORKFLOW_TASK_FAILED_CAUSE_",
        request.cause
    )?;
    call.rpc(FailWorkflowTaskRequest {
        execution,
        token: task_token,
        cause: cause.unwrap_or(WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure),
        failure: failure_opt_in(request.failure)?,
        identity: request.identity,
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(pb::RespondWorkflowTaskFailedResponse::default())
}

/// RespondQueryTaskCompleted: the answer to a query task.
pub(crate) async fn respond_query(
    call: Call,
    request: pb::RespondQueryTaskCompletedRequest,
) -> Result<pb::RespondQueryTaskCompletedResponse, Status> {
    let TaskToken::Query {
        execution,
        query_id,
    } = token::decode("task_token", &request.task_token)?
    else {
        return Err(Status::invalid_argument(
            "task_token: not a query task's token",
        ));
    };
    let answered = request.completed_type == i32::from(pbe::QueryResultType::Answered);
    let answer = if answered {
        Ok(payloads_opt_in(request.query_result))
    } else {
        let message = match (request.error_message.is_empty(), request.failure) {
            (false, _) => request.error_message,
            (true, Some(failure)) => failure.message,
            (true, None) => "the query failed".to_owned(),
        };
        Err(message)
    };
    call.rpc(RespondQueryTaskRequest {
        execution,
        query_id,
        answer,
    })
    .await?;
    Ok(pb::RespondQueryTaskCompletedResponse::default())
}

/// ResetStickyTaskQueue: the run's next tasks go to its normal queue.
pub(crate) async fn reset_sticky(
    call: Call,
    request: pb::ResetStickyTaskQueueRequest,
) -> Result<pb::ResetStickyTaskQueueResponse, Status> {
    let namespace = namespace(&request.namespace)?;
    let target = execution_in(request.execution)?;
    let execution = match target.run_id {
        Some(run_id) => endure_core::ExecutionKey {
            namespace,
            workflow_id: target.workflow_id,
            run_id,
        },
        None => {
            call.rpc(DescribeWorkflowRequest {
                namespace,
                workflow_id: target.workflow_id,
                run_id: None,
            })
            .await?
            .execution
        }
    };
    call.rpc(ResetStickyTaskQueueRequest { execution }).await?;
    Ok(pb::ResetStickyTaskQueueResponse::default())
}

/// ShutdownWorker: a worker says it is stopping. Endure needs nothing from it: a task sent
/// to its sticky queue goes back to the normal queue after the sticky schedule-to-start
/// timeout (5 s by default), as it would for a worker that vanished.
pub(crate) async fn shutdown_worker(
    _call: Call,
    request: pb::ShutdownWorkerRequest,
) -> Result<pb::ShutdownWorkerResponse, Status> {
    tracing::debug!(identity = %request.identity, sticky = %request.sticky_task_queue, "a worker is shutting down");
    Ok(pb::ShutdownWorkerResponse::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sticky_poll_names_its_normal_queue() {
        let (queue, normal) = polled_queue(Some(taskqueue::TaskQueue {
            name: "worker-1-sticky".into(),
            kind: pbe::TaskQueueKind::Sticky.into(),
            normal_name: "hello".into(),
        }))
        .unwrap();
        assert_eq!(queue.as_str(), "worker-1-sticky");
        assert_eq!(normal.unwrap().as_str(), "hello");
        let (_, normal) = polled_queue(Some(taskqueue::TaskQueue {
            name: "hello".into(),
            ..Default::default()
        }))
        .unwrap();
        assert!(normal.is_none());
        assert!(polled_queue(None).is_err());
    }
}
