//! History events as Temporal's `temporal.api.history.v1.HistoryEvent`, every kind Endure
//! writes, field for field, so Temporal's SDKs replay them.
//!
//! Endure keeps one namespace name per run; Temporal's `namespace_id` fields carry that
//! name too. Fields Endure has no notion of (`control`, build ids, priorities, links) keep
//! their defaults.

use endure_core::history::{
    ChildWorkflowExecutionRef, WorkflowExecutionStartedEventAttributes as Started,
};
use endure_core::{EventAttributes as A, HistoryEvent, Namespace, TaskQueue, TaskQueueName};

use super::common::{
    cron, duration, duration_opt, event_id, event_id_opt, execution, header, memo, payloads,
    payloads_opt, retry_policy, run_id, run_id_opt, search_attributes, time, time_opt,
};
use super::enums::enum_out;
use super::failure::{failure, failure_opt};
use super::protocol::{update_outcome, update_request};
use super::sdk_metadata::sdk_metadata;
use crate::proto::{common as pbc, enums as pbe, history as pb, taskqueue, update as pbu};

/// A task queue by name, of the normal kind.
pub(crate) fn normal_queue(name: TaskQueueName) -> taskqueue::TaskQueue {
    taskqueue::TaskQueue {
        name: name.into(),
        kind: pbe::TaskQueueKind::Normal.into(),
        normal_name: String::new(),
    }
}

fn task_queue(queue: TaskQueue) -> taskqueue::TaskQueue {
    taskqueue::TaskQueue {
        name: queue.name.into(),
        kind: enum_out!(queue.kind, pbe::TaskQueueKind, "TASK_QUEUE_KIND_"),
        normal_name: queue.normal_name.map(String::from).unwrap_or_default(),
    }
}

fn ns(namespace: Namespace) -> String {
    namespace.as_str().to_owned()
}

fn workflow_type(name: endure_core::WorkflowType) -> Option<pbc::WorkflowType> {
    Some(pbc::WorkflowType { name: name.into() })
}

fn started(a: Started) -> pb::WorkflowExecutionStartedEventAttributes {
    let (parent_namespace, parent_execution, parent_initiated) = match a.parent {
        Some(parent) => (
            ns(parent.namespace.clone()),
            Some(execution(parent.workflow_execution)),
            event_id(parent.initiated_event_id),
        ),
        None => (String::new(), None, 0),
    };
    pb::WorkflowExecutionStartedEventAttributes {
        workflow_type: workflow_type(a.workflow_type),
        parent_workflow_namespace: parent_namespace.clone(),
        parent_workflow_namespace_id: parent_namespace,
        parent_workflow_execution: parent_execution,
        parent_initiated_event_id: parent_initiated,
        task_queue: Some(normal_queue(a.task_queue)),
        input: payloads(a.input),
        workflow_execution_timeout: duration_opt(a.workflow_execution_timeout),
        workflow_run_timeout: duration_opt(a.workflow_run_timeout),
        workflow_task_timeout: Some(duration(a.workflow_task_timeout)),
        continued_execution_run_id: run_id_opt(a.continued_execution_run_id),
        initiator: a.initiator.map_or(0, |i| {
            enum_out!(i, pbe::ContinueAsNewInitiator, "CONTINUE_AS_NEW_INITIATOR_")
        }),
        continued_failure: failure_opt(a.continued_failure),
        last_completion_result: payloads_opt(a.last_completion_result),
        original_execution_run_id: run_id(a.original_execution_run_id),
        identity: a.identity,
        first_execution_run_id: run_id(a.first_execution_run_id),
        retry_policy: a.retry_policy.map(retry_policy),
        attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
        workflow_execution_expiration_time: time_opt(a.workflow_execution_expiration_time),
        cron_schedule: cron(a.cron_schedule),
        first_workflow_task_backoff: duration_opt(a.first_workflow_task_backoff),
        memo: memo(a.memo),
        search_attributes: search_attributes(&a.search_attributes),
        header: header(a.header),
        ..pb::WorkflowExecutionStartedEventAttributes::default()
    }
}

macro_rules! child_ref {
    ($child:expr) => {{
        let child: ChildWorkflowExecutionRef = $child;
        (
            ns(child.namespace.clone()),
            ns(child.namespace),
            Some(execution(child.workflow_execution)),
            workflow_type(child.workflow_type),
            event_id(child.initiated_event_id),
            event_id(child.started_event_id),
        )
    }};
}

/// One event as Temporal's.
pub(crate) fn event(event: HistoryEvent) -> pb::HistoryEvent {
    use pb::history_event::Attributes as P;
    let event_type = i32::try_from(event.event_type().number()).unwrap_or(0);
    let retry = |state| enum_out!(state, pbe::RetryState, "RETRY_STATE_");
    let attributes = match event.attributes {
        A::WorkflowExecutionStarted(a) => P::WorkflowExecutionStartedEventAttributes(started(*a)),
        A::WorkflowExecutionCompleted(a) => P::WorkflowExecutionCompletedEventAttributes(
            pb::WorkflowExecutionCompletedEventAttributes {
                result: payloads_opt(a.result),
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                new_execution_run_id: run_id_opt(a.new_execution_run_id),
            },
        ),
        A::WorkflowExecutionFailed(a) => {
            P::WorkflowExecutionFailedEventAttributes(pb::WorkflowExecutionFailedEventAttributes {
                failure: Some(failure(a.failure)),
                retry_state: retry(a.retry_state),
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                new_execution_run_id: run_id_opt(a.new_execution_run_id),
            })
        }
        A::WorkflowExecutionTimedOut(a) => P::WorkflowExecutionTimedOutEventAttributes(
            pb::WorkflowExecutionTimedOutEventAttributes {
                retry_state: retry(a.retry_state),
                new_execution_run_id: run_id_opt(a.new_execution_run_id),
            },
        ),
        A::WorkflowTaskScheduled(a) => {
            P::WorkflowTaskScheduledEventAttributes(pb::WorkflowTaskScheduledEventAttributes {
                task_queue: Some(task_queue(a.task_queue)),
                start_to_close_timeout: Some(duration(a.start_to_close_timeout)),
                attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
            })
        }
        A::WorkflowTaskStarted(a) => {
            P::WorkflowTaskStartedEventAttributes(pb::WorkflowTaskStartedEventAttributes {
                scheduled_event_id: event_id(a.scheduled_event_id),
                identity: a.identity,
                request_id: a.request_id,
                suggest_continue_as_new: a.suggest_continue_as_new,
                history_size_bytes: i64::try_from(a.history_size_bytes).unwrap_or(i64::MAX),
                ..pb::WorkflowTaskStartedEventAttributes::default()
            })
        }
        A::WorkflowTaskCompleted(a) => {
            P::WorkflowTaskCompletedEventAttributes(pb::WorkflowTaskCompletedEventAttributes {
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id(a.started_event_id),
                identity: a.identity,
                sdk_metadata: sdk_metadata(a.sdk_metadata),
                versioning_behavior: super::deployment::behavior(a.versioning_behavior),
                worker_deployment_name: a
                    .worker_deployment_version
                    .as_ref()
                    .map(|version| version.deployment_name.clone())
                    .unwrap_or_default(),
                deployment_version: a.worker_deployment_version.map(super::deployment::version),
                ..pb::WorkflowTaskCompletedEventAttributes::default()
            })
        }
        A::WorkflowTaskTimedOut(a) => {
            P::WorkflowTaskTimedOutEventAttributes(pb::WorkflowTaskTimedOutEventAttributes {
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id_opt(a.started_event_id),
                timeout_type: enum_out!(a.timeout_type, pbe::TimeoutType, "TIMEOUT_TYPE_"),
            })
        }
        A::WorkflowTaskFailed(a) => {
            P::WorkflowTaskFailedEventAttributes(pb::WorkflowTaskFailedEventAttributes {
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id(a.started_event_id),
                cause: enum_out!(
                    a.cause,
                    pbe::WorkflowTaskFailedCause,
                    "WORKFLOW_TASK_FAILED_CAUSE_"
                ),
                failure: failure_opt(a.failure),
                identity: a.identity,
                base_run_id: run_id_opt(a.base_run_id),
                new_run_id: run_id_opt(a.new_run_id),
                ..pb::WorkflowTaskFailedEventAttributes::default()
            })
        }
        A::ActivityTaskScheduled(a) => {
            P::ActivityTaskScheduledEventAttributes(pb::ActivityTaskScheduledEventAttributes {
                activity_id: a.activity_id.into(),
                activity_type: Some(pbc::ActivityType {
                    name: a.activity_type.into(),
                }),
                task_queue: Some(normal_queue(a.task_queue)),
                header: header(a.header),
                input: payloads(a.input),
                schedule_to_close_timeout: duration_opt(a.schedule_to_close_timeout),
                schedule_to_start_timeout: duration_opt(a.schedule_to_start_timeout),
                start_to_close_timeout: Some(duration(a.start_to_close_timeout)),
                heartbeat_timeout: duration_opt(a.heartbeat_timeout),
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                retry_policy: Some(retry_policy(a.retry_policy)),
                ..pb::ActivityTaskScheduledEventAttributes::default()
            })
        }
        A::ActivityTaskStarted(a) => {
            P::ActivityTaskStartedEventAttributes(pb::ActivityTaskStartedEventAttributes {
                scheduled_event_id: event_id(a.scheduled_event_id),
                identity: a.identity,
                request_id: a.request_id,
                attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
                last_failure: failure_opt(a.last_failure),
                ..pb::ActivityTaskStartedEventAttributes::default()
            })
        }
        A::ActivityTaskCompleted(a) => {
            P::ActivityTaskCompletedEventAttributes(pb::ActivityTaskCompletedEventAttributes {
                result: payloads_opt(a.result),
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id(a.started_event_id),
                identity: a.identity,
                ..pb::ActivityTaskCompletedEventAttributes::default()
            })
        }
        A::ActivityTaskFailed(a) => {
            P::ActivityTaskFailedEventAttributes(pb::ActivityTaskFailedEventAttributes {
                failure: Some(failure(a.failure)),
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id(a.started_event_id),
                identity: a.identity,
                retry_state: retry(a.retry_state),
                ..pb::ActivityTaskFailedEventAttributes::default()
            })
        }
        A::ActivityTaskTimedOut(a) => {
            P::ActivityTaskTimedOutEventAttributes(pb::ActivityTaskTimedOutEventAttributes {
                failure: Some(failure(a.failure)),
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id_opt(a.started_event_id),
                retry_state: retry(a.retry_state),
            })
        }
        A::ActivityTaskCancelRequested(a) => P::ActivityTaskCancelRequestedEventAttributes(
            pb::ActivityTaskCancelRequestedEventAttributes {
                scheduled_event_id: event_id(a.scheduled_event_id),
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
            },
        ),
        A::ActivityTaskCanceled(a) => {
            P::ActivityTaskCanceledEventAttributes(pb::ActivityTaskCanceledEventAttributes {
                details: payloads_opt(a.details),
                latest_cancel_requested_event_id: event_id(a.latest_cancel_requested_event_id),
                scheduled_event_id: event_id(a.scheduled_event_id),
                started_event_id: event_id_opt(a.started_event_id),
                identity: a.identity,
                ..pb::ActivityTaskCanceledEventAttributes::default()
            })
        }
        A::TimerStarted(a) => P::TimerStartedEventAttributes(pb::TimerStartedEventAttributes {
            timer_id: a.timer_id.into(),
            start_to_fire_timeout: Some(duration(a.start_to_fire_timeout)),
            workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
        }),
        A::TimerFired(a) => P::TimerFiredEventAttributes(pb::TimerFiredEventAttributes {
            timer_id: a.timer_id.into(),
            started_event_id: event_id(a.started_event_id),
        }),
        A::TimerCanceled(a) => P::TimerCanceledEventAttributes(pb::TimerCanceledEventAttributes {
            timer_id: a.timer_id.into(),
            started_event_id: event_id(a.started_event_id),
            workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
            identity: a.identity,
        }),
        A::WorkflowExecutionCancelRequested(a) => {
            P::WorkflowExecutionCancelRequestedEventAttributes(
                pb::WorkflowExecutionCancelRequestedEventAttributes {
                    cause: a.cause,
                    external_initiated_event_id: event_id_opt(a.external_initiated_event_id),
                    external_workflow_execution: a.external_workflow_execution.map(execution),
                    identity: a.identity,
                },
            )
        }
        A::WorkflowExecutionCanceled(a) => P::WorkflowExecutionCanceledEventAttributes(
            pb::WorkflowExecutionCanceledEventAttributes {
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                details: payloads_opt(a.details),
            },
        ),
        A::RequestCancelExternalWorkflowExecutionInitiated(a) => {
            P::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
                pb::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_execution: Some(execution(a.workflow_execution)),
                    child_workflow_only: a.child_workflow_only,
                    reason: a.reason,
                    ..pb::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes::default()
                },
            )
        }
        A::RequestCancelExternalWorkflowExecutionFailed(a) => {
            P::RequestCancelExternalWorkflowExecutionFailedEventAttributes(
                pb::RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                    cause: enum_out!(
                        a.cause,
                        pbe::CancelExternalWorkflowExecutionFailedCause,
                        "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_"
                    ),
                    workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_execution: Some(execution(a.workflow_execution)),
                    initiated_event_id: event_id(a.initiated_event_id),
                    ..pb::RequestCancelExternalWorkflowExecutionFailedEventAttributes::default()
                },
            )
        }
        A::ExternalWorkflowExecutionCancelRequested(a) => {
            P::ExternalWorkflowExecutionCancelRequestedEventAttributes(
                pb::ExternalWorkflowExecutionCancelRequestedEventAttributes {
                    initiated_event_id: event_id(a.initiated_event_id),
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_execution: Some(execution(a.workflow_execution)),
                },
            )
        }
        A::MarkerRecorded(a) => {
            P::MarkerRecordedEventAttributes(pb::MarkerRecordedEventAttributes {
                marker_name: a.marker_name.into(),
                details: a
                    .details
                    .into_iter()
                    .filter_map(|(k, v)| payloads_opt(Some(v)).map(|v| (k, v)))
                    .collect(),
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                header: header(a.header),
                failure: failure_opt(a.failure),
            })
        }
        A::WorkflowExecutionSignaled(a) => P::WorkflowExecutionSignaledEventAttributes(
            pb::WorkflowExecutionSignaledEventAttributes {
                signal_name: a.signal_name.into(),
                input: payloads(a.input),
                identity: a.identity,
                header: header(a.header),
                external_workflow_execution: a.external_workflow_execution.map(execution),
                request_id: a.request_id.map(String::from).unwrap_or_default(),
                ..pb::WorkflowExecutionSignaledEventAttributes::default()
            },
        ),
        A::WorkflowExecutionTerminated(a) => P::WorkflowExecutionTerminatedEventAttributes(
            pb::WorkflowExecutionTerminatedEventAttributes {
                reason: a.reason,
                details: payloads_opt(a.details),
                identity: a.identity,
            },
        ),
        A::WorkflowExecutionContinuedAsNew(a) => P::WorkflowExecutionContinuedAsNewEventAttributes(
            pb::WorkflowExecutionContinuedAsNewEventAttributes {
                new_execution_run_id: run_id(a.new_execution_run_id),
                workflow_type: workflow_type(a.workflow_type),
                task_queue: Some(normal_queue(a.task_queue)),
                input: payloads(a.input),
                workflow_run_timeout: duration_opt(a.workflow_run_timeout),
                workflow_task_timeout: Some(duration(a.workflow_task_timeout)),
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                backoff_start_interval: duration_opt(a.backoff_start_interval),
                initiator: enum_out!(
                    a.initiator,
                    pbe::ContinueAsNewInitiator,
                    "CONTINUE_AS_NEW_INITIATOR_"
                ),
                #[allow(deprecated, reason = "SDKs still read a continued run's failure here")]
                failure: failure_opt(a.failure),
                last_completion_result: payloads_opt(a.last_completion_result),
                header: header(a.header),
                memo: memo(a.memo),
                search_attributes: search_attributes(&a.search_attributes),
                ..pb::WorkflowExecutionContinuedAsNewEventAttributes::default()
            },
        ),
        A::StartChildWorkflowExecutionInitiated(a) => {
            P::StartChildWorkflowExecutionInitiatedEventAttributes(
                pb::StartChildWorkflowExecutionInitiatedEventAttributes {
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_id: a.workflow_id.into(),
                    workflow_type: workflow_type(a.workflow_type),
                    task_queue: Some(normal_queue(a.task_queue)),
                    input: payloads(a.input),
                    workflow_execution_timeout: duration_opt(a.workflow_execution_timeout),
                    workflow_run_timeout: duration_opt(a.workflow_run_timeout),
                    workflow_task_timeout: duration_opt(a.workflow_task_timeout),
                    parent_close_policy: enum_out!(
                        a.parent_close_policy,
                        pbe::ParentClosePolicy,
                        "PARENT_CLOSE_POLICY_"
                    ),
                    workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                    workflow_id_reuse_policy: enum_out!(
                        a.workflow_id_reuse_policy,
                        pbe::WorkflowIdReusePolicy,
                        "WORKFLOW_ID_REUSE_POLICY_"
                    ),
                    retry_policy: a.retry_policy.map(retry_policy),
                    cron_schedule: cron(a.cron_schedule),
                    header: header(a.header),
                    memo: memo(a.memo),
                    search_attributes: search_attributes(&a.search_attributes),
                    ..pb::StartChildWorkflowExecutionInitiatedEventAttributes::default()
                },
            )
        }
        A::StartChildWorkflowExecutionFailed(a) => {
            P::StartChildWorkflowExecutionFailedEventAttributes(
                pb::StartChildWorkflowExecutionFailedEventAttributes {
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_id: a.workflow_id.into(),
                    workflow_type: workflow_type(a.workflow_type),
                    cause: enum_out!(
                        a.cause,
                        pbe::StartChildWorkflowExecutionFailedCause,
                        "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_"
                    ),
                    initiated_event_id: event_id(a.initiated_event_id),
                    workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                    ..pb::StartChildWorkflowExecutionFailedEventAttributes::default()
                },
            )
        }
        A::ChildWorkflowExecutionStarted(a) => P::ChildWorkflowExecutionStartedEventAttributes(
            pb::ChildWorkflowExecutionStartedEventAttributes {
                namespace: ns(a.namespace.clone()),
                namespace_id: ns(a.namespace),
                initiated_event_id: event_id(a.initiated_event_id),
                workflow_execution: Some(execution(a.workflow_execution)),
                workflow_type: workflow_type(a.workflow_type),
                header: header(a.header),
            },
        ),
        A::ChildWorkflowExecutionCompleted(a) => {
            let (namespace, namespace_id, workflow_execution, workflow_type, initiated, started) =
                child_ref!(a.child);
            P::ChildWorkflowExecutionCompletedEventAttributes(
                pb::ChildWorkflowExecutionCompletedEventAttributes {
                    result: payloads_opt(a.result),
                    namespace,
                    namespace_id,
                    workflow_execution,
                    workflow_type,
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            )
        }
        A::ChildWorkflowExecutionFailed(a) => {
            let (namespace, namespace_id, workflow_execution, workflow_type, initiated, started) =
                child_ref!(a.child);
            P::ChildWorkflowExecutionFailedEventAttributes(
                pb::ChildWorkflowExecutionFailedEventAttributes {
                    failure: Some(failure(a.failure)),
                    namespace,
                    namespace_id,
                    workflow_execution,
                    workflow_type,
                    initiated_event_id: initiated,
                    started_event_id: started,
                    retry_state: retry(a.retry_state),
                },
            )
        }
        A::ChildWorkflowExecutionCanceled(a) => {
            let (namespace, namespace_id, workflow_execution, workflow_type, initiated, started) =
                child_ref!(a.child);
            P::ChildWorkflowExecutionCanceledEventAttributes(
                pb::ChildWorkflowExecutionCanceledEventAttributes {
                    details: payloads_opt(a.details),
                    namespace,
                    namespace_id,
                    workflow_execution,
                    workflow_type,
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            )
        }
        A::ChildWorkflowExecutionTimedOut(a) => {
            let (namespace, namespace_id, workflow_execution, workflow_type, initiated, started) =
                child_ref!(a.child);
            P::ChildWorkflowExecutionTimedOutEventAttributes(
                pb::ChildWorkflowExecutionTimedOutEventAttributes {
                    namespace,
                    namespace_id,
                    workflow_execution,
                    workflow_type,
                    initiated_event_id: initiated,
                    started_event_id: started,
                    retry_state: retry(a.retry_state),
                },
            )
        }
        A::ChildWorkflowExecutionTerminated(a) => {
            let (namespace, namespace_id, workflow_execution, workflow_type, initiated, started) =
                child_ref!(a.child);
            P::ChildWorkflowExecutionTerminatedEventAttributes(
                pb::ChildWorkflowExecutionTerminatedEventAttributes {
                    namespace,
                    namespace_id,
                    workflow_execution,
                    workflow_type,
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            )
        }
        A::SignalExternalWorkflowExecutionInitiated(a) => {
            P::SignalExternalWorkflowExecutionInitiatedEventAttributes(
                pb::SignalExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_execution: Some(execution(a.workflow_execution)),
                    signal_name: a.signal_name.into(),
                    input: payloads(a.input),
                    child_workflow_only: a.child_workflow_only,
                    header: header(a.header),
                    ..pb::SignalExternalWorkflowExecutionInitiatedEventAttributes::default()
                },
            )
        }
        A::SignalExternalWorkflowExecutionFailed(a) => {
            P::SignalExternalWorkflowExecutionFailedEventAttributes(
                pb::SignalExternalWorkflowExecutionFailedEventAttributes {
                    cause: enum_out!(
                        a.cause,
                        pbe::SignalExternalWorkflowExecutionFailedCause,
                        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_"
                    ),
                    workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_execution: Some(execution(a.workflow_execution)),
                    initiated_event_id: event_id(a.initiated_event_id),
                    ..pb::SignalExternalWorkflowExecutionFailedEventAttributes::default()
                },
            )
        }
        A::ExternalWorkflowExecutionSignaled(a) => {
            P::ExternalWorkflowExecutionSignaledEventAttributes(
                pb::ExternalWorkflowExecutionSignaledEventAttributes {
                    initiated_event_id: event_id(a.initiated_event_id),
                    namespace: ns(a.namespace.clone()),
                    namespace_id: ns(a.namespace),
                    workflow_execution: Some(execution(a.workflow_execution)),
                    ..pb::ExternalWorkflowExecutionSignaledEventAttributes::default()
                },
            )
        }
        A::UpsertWorkflowSearchAttributes(a) => P::UpsertWorkflowSearchAttributesEventAttributes(
            pb::UpsertWorkflowSearchAttributesEventAttributes {
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                search_attributes: search_attributes(&a.search_attributes),
            },
        ),
        A::WorkflowExecutionUpdateAccepted(a) => P::WorkflowExecutionUpdateAcceptedEventAttributes(
            pb::WorkflowExecutionUpdateAcceptedEventAttributes {
                protocol_instance_id: a.protocol_instance_id,
                accepted_request_message_id: a.accepted_request_message_id,
                accepted_request_sequencing_event_id: event_id(
                    a.accepted_request_sequencing_event_id,
                ),
                accepted_request: Some(update_request(a.accepted_request)),
            },
        ),
        A::WorkflowExecutionUpdateCompleted(a) => {
            P::WorkflowExecutionUpdateCompletedEventAttributes(
                pb::WorkflowExecutionUpdateCompletedEventAttributes {
                    meta: Some(pbu::Meta {
                        update_id: a.update_id.into(),
                        identity: String::new(),
                    }),
                    accepted_event_id: event_id(a.accepted_event_id),
                    outcome: Some(update_outcome(a.outcome)),
                },
            )
        }
        A::WorkflowPropertiesModified(a) => P::WorkflowPropertiesModifiedEventAttributes(
            pb::WorkflowPropertiesModifiedEventAttributes {
                workflow_task_completed_event_id: event_id(a.workflow_task_completed_event_id),
                upserted_memo: memo(a.upserted_memo),
            },
        ),
        A::WorkflowExecutionUpdateAdmitted(a) => P::WorkflowExecutionUpdateAdmittedEventAttributes(
            pb::WorkflowExecutionUpdateAdmittedEventAttributes {
                request: Some(update_request(a.request)),
                origin: enum_out!(
                    a.origin,
                    pbe::UpdateAdmittedEventOrigin,
                    "UPDATE_ADMITTED_EVENT_ORIGIN_"
                ),
            },
        ),
        A::WorkflowExecutionOptionsUpdated(a) => P::WorkflowExecutionOptionsUpdatedEventAttributes(
            pb::WorkflowExecutionOptionsUpdatedEventAttributes {
                unset_versioning_override: a.unset_versioning_override,
                identity: a.identity,
                ..pb::WorkflowExecutionOptionsUpdatedEventAttributes::default()
            },
        ),
    };
    // Temporal's server marks an options change as one a worker may skip on replay (the
    // SDKs' replay refuses it otherwise); it is the only such event Endure writes.
    let worker_may_ignore = matches!(
        attributes,
        P::WorkflowExecutionOptionsUpdatedEventAttributes(_)
    );
    pb::HistoryEvent {
        event_id: event_id(event.event_id),
        event_time: Some(time(event.event_time)),
        event_type,
        attributes: Some(attributes),
        worker_may_ignore,
        ..pb::HistoryEvent::default()
    }
}

/// Events as Temporal's history.
pub(crate) fn history(events: Vec<HistoryEvent>) -> pb::History {
    pb::History {
        events: events.into_iter().map(event).collect(),
    }
}

#[cfg(test)]
mod tests {
    use endure_core::EventType;
    use endure_core::history::samples;

    use super::*;

    #[test]
    fn every_event_kind_has_temporals_number_and_attributes() {
        use proptest::strategy::{Strategy, ValueTree};
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2_000 {
            let attributes = proptest::arbitrary::any::<endure_core::EventAttributes>()
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let kind = attributes.event_type();
            let converted = event(HistoryEvent {
                event_id: endure_core::EventId::FIRST,
                event_time: endure_core::Timestamp::from_unix_seconds(1),
                attributes,
            });
            let number = pbe::EventType::try_from(converted.event_type).unwrap();
            assert_eq!(
                number.as_str_name(),
                format!("EVENT_TYPE_{}", upper(kind.name()))
            );
            seen.insert(kind);
        }
        assert_eq!(seen.len(), EventType::ALL.len(), "every kind generated");
    }

    fn upper(name: &str) -> String {
        let mut out = String::new();
        for (at, c) in name.char_indices() {
            if c.is_ascii_uppercase() && at > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn the_sample_history_keeps_its_back_references() {
        let events = samples::quickstart_history().events;
        let converted = history(events.clone());
        assert_eq!(converted.events.len(), events.len());
        for (ours, theirs) in events.iter().zip(&converted.events) {
            assert_eq!(theirs.event_id, event_id(ours.event_id));
            if let (
                A::TimerFired(fired),
                Some(pb::history_event::Attributes::TimerFiredEventAttributes(t)),
            ) = (&ours.attributes, &theirs.attributes)
            {
                assert_eq!(t.started_event_id, event_id(fired.started_event_id));
            }
        }
    }
}
