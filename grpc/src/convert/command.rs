//! Temporal's commands (`temporal.api.command.v1.Command`) as Endure's, each field checked.
//! Unset enums take Temporal's defaults (parent close policy Terminate, id reuse
//! AllowDuplicate); a command Endure does not run (Nexus operations) is refused by name.

use endure_core::*;

use super::BadField;
use super::common::{
    cron_in, duration_in, event_id_in, header_in, id_in, memo_in, payloads_in, payloads_opt_in,
    retry_policy_in, run_id_in, search_attributes_in,
};
use super::enums::enum_in;
use super::failure::failure_in;
use crate::proto::{command as pb, enums as pbe, taskqueue};

fn queue_in(queue: Option<taskqueue::TaskQueue>) -> Result<Option<TaskQueueName>, BadField> {
    match queue {
        Some(queue) if !queue.name.is_empty() => id_in("task_queue", queue.name).map(Some),
        _ => Ok(None),
    }
}

fn namespace_in(text: String) -> Result<Option<Namespace>, BadField> {
    if text.is_empty() {
        return Ok(None);
    }
    Namespace::new(text)
        .map(Some)
        .map_err(|error| BadField::new("namespace", error.to_string()))
}

fn name_of<T>(field: &'static str, name: Option<String>) -> Result<T, BadField>
where
    T: TryFrom<String, Error = endure_core::ValidationError>,
{
    id_in(field, name.unwrap_or_default())
}

/// One of Temporal's commands as Endure's.
#[allow(
    deprecated,
    reason = "Temporal deprecated a command's target namespace; Endure still honours one"
)]
pub(crate) fn command_in(command: pb::Command) -> Result<Command, BadField> {
    use pb::command::Attributes as P;
    let attributes = command
        .attributes
        .ok_or_else(|| BadField::new("commands", "a command without attributes"))?;
    Ok(match attributes {
        P::ScheduleActivityTaskCommandAttributes(a) => {
            Command::ScheduleActivityTask(Box::new(ScheduleActivityTaskCommandAttributes {
                activity_id: id_in("activity_id", a.activity_id)?,
                activity_type: name_of("activity_type", a.activity_type.map(|t| t.name))?,
                task_queue: queue_in(a.task_queue)?,
                header: header_in(a.header),
                input: payloads_in(a.input),
                schedule_to_close_timeout: duration_in(
                    "schedule_to_close_timeout",
                    a.schedule_to_close_timeout,
                )?,
                schedule_to_start_timeout: duration_in(
                    "schedule_to_start_timeout",
                    a.schedule_to_start_timeout,
                )?,
                start_to_close_timeout: duration_in(
                    "start_to_close_timeout",
                    a.start_to_close_timeout,
                )?,
                heartbeat_timeout: duration_in("heartbeat_timeout", a.heartbeat_timeout)?,
                retry_policy: retry_policy_in(a.retry_policy)?,
                request_eager_execution: a.request_eager_execution,
            }))
        }
        P::RequestCancelActivityTaskCommandAttributes(a) => {
            Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
                scheduled_event_id: event_id_in(a.scheduled_event_id).ok_or_else(|| {
                    BadField::new("scheduled_event_id", "must be a positive event id")
                })?,
            })
        }
        P::StartTimerCommandAttributes(a) => Command::StartTimer(StartTimerCommandAttributes {
            timer_id: id_in("timer_id", a.timer_id)?,
            start_to_fire_timeout: duration_in("start_to_fire_timeout", a.start_to_fire_timeout)?
                .ok_or_else(|| {
                BadField::new("start_to_fire_timeout", "must be positive")
            })?,
        }),
        P::CompleteWorkflowExecutionCommandAttributes(a) => {
            Command::CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes {
                result: payloads_opt_in(a.result),
            })
        }
        P::FailWorkflowExecutionCommandAttributes(a) => {
            Command::FailWorkflowExecution(FailWorkflowExecutionCommandAttributes {
                failure: failure_in(
                    a.failure
                        .ok_or_else(|| BadField::new("failure", "the failure is required"))?,
                )?,
            })
        }
        P::CancelTimerCommandAttributes(a) => Command::CancelTimer(CancelTimerCommandAttributes {
            timer_id: id_in("timer_id", a.timer_id)?,
        }),
        P::CancelWorkflowExecutionCommandAttributes(a) => {
            Command::CancelWorkflowExecution(CancelWorkflowExecutionCommandAttributes {
                details: payloads_opt_in(a.details),
            })
        }
        P::RequestCancelExternalWorkflowExecutionCommandAttributes(a) => {
            Command::RequestCancelExternalWorkflowExecution(
                RequestCancelExternalWorkflowExecutionCommandAttributes {
                    namespace: namespace_in(a.namespace)?,
                    workflow_execution: WorkflowExecution {
                        workflow_id: id_in("workflow_id", a.workflow_id)?,
                        run_id: run_id_in("run_id", &a.run_id)?,
                    },
                    child_workflow_only: a.child_workflow_only,
                    reason: a.reason,
                },
            )
        }
        P::RecordMarkerCommandAttributes(a) => {
            Command::RecordMarker(RecordMarkerCommandAttributes {
                marker_name: id_in("marker_name", a.marker_name)?,
                details: a
                    .details
                    .into_iter()
                    .map(|(key, value)| (key, payloads_in(Some(value))))
                    .collect(),
                header: header_in(a.header),
                failure: a.failure.map(failure_in).transpose()?,
            })
        }
        P::ContinueAsNewWorkflowExecutionCommandAttributes(a) => {
            Command::ContinueAsNewWorkflowExecution(Box::new(
                ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: a
                        .workflow_type
                        .filter(|t| !t.name.is_empty())
                        .map(|t| id_in("workflow_type", t.name))
                        .transpose()?,
                    task_queue: queue_in(a.task_queue)?,
                    input: payloads_in(a.input),
                    workflow_run_timeout: duration_in(
                        "workflow_run_timeout",
                        a.workflow_run_timeout,
                    )?,
                    workflow_task_timeout: duration_in(
                        "workflow_task_timeout",
                        a.workflow_task_timeout,
                    )?,
                    backoff_start_interval: duration_in(
                        "backoff_start_interval",
                        a.backoff_start_interval,
                    )?,
                    retry_policy: retry_policy_in(a.retry_policy)?,
                    cron_schedule: cron_in(a.cron_schedule)?,
                    header: header_in(a.header),
                    memo: a.memo.map(|m| memo_in(Some(m))),
                    search_attributes: a
                        .search_attributes
                        .map(|s| search_attributes_in(Some(s)))
                        .transpose()?,
                },
            ))
        }
        P::StartChildWorkflowExecutionCommandAttributes(a) => Command::StartChildWorkflowExecution(
            Box::new(StartChildWorkflowExecutionCommandAttributes {
                namespace: namespace_in(a.namespace)?,
                workflow_id: id_in("workflow_id", a.workflow_id)?,
                workflow_type: name_of("workflow_type", a.workflow_type.map(|t| t.name))?,
                task_queue: queue_in(a.task_queue)?,
                input: payloads_in(a.input),
                workflow_execution_timeout: duration_in(
                    "workflow_execution_timeout",
                    a.workflow_execution_timeout,
                )?,
                workflow_run_timeout: duration_in("workflow_run_timeout", a.workflow_run_timeout)?,
                workflow_task_timeout: duration_in(
                    "workflow_task_timeout",
                    a.workflow_task_timeout,
                )?,
                parent_close_policy: enum_in!(
                    "parent_close_policy",
                    pbe::ParentClosePolicy,
                    "PARENT_CLOSE_POLICY_",
                    a.parent_close_policy
                )?
                .unwrap_or(ParentClosePolicy::default()),
                workflow_id_reuse_policy: enum_in!(
                    "workflow_id_reuse_policy",
                    pbe::WorkflowIdReusePolicy,
                    "WORKFLOW_ID_REUSE_POLICY_",
                    a.workflow_id_reuse_policy
                )?
                .unwrap_or(WorkflowIdReusePolicy::default()),
                retry_policy: retry_policy_in(a.retry_policy)?,
                cron_schedule: cron_in(a.cron_schedule)?,
                header: header_in(a.header),
                memo: memo_in(a.memo),
                search_attributes: search_attributes_in(a.search_attributes)?,
            }),
        ),
        P::SignalExternalWorkflowExecutionCommandAttributes(a) => {
            let execution = a
                .execution
                .ok_or_else(|| BadField::new("execution", "the target execution is required"))?;
            Command::SignalExternalWorkflowExecution(
                SignalExternalWorkflowExecutionCommandAttributes {
                    namespace: namespace_in(a.namespace)?,
                    workflow_execution: WorkflowExecution {
                        workflow_id: id_in("workflow_id", execution.workflow_id)?,
                        run_id: run_id_in("run_id", &execution.run_id)?,
                    },
                    signal_name: id_in("signal_name", a.signal_name)?,
                    input: payloads_in(a.input),
                    child_workflow_only: a.child_workflow_only,
                    header: header_in(a.header),
                },
            )
        }
        P::UpsertWorkflowSearchAttributesCommandAttributes(a) => {
            Command::UpsertWorkflowSearchAttributes(
                UpsertWorkflowSearchAttributesCommandAttributes {
                    search_attributes: search_attributes_in(a.search_attributes)?,
                },
            )
        }
        P::ProtocolMessageCommandAttributes(a) => {
            Command::ProtocolMessage(ProtocolMessageCommandAttributes {
                message_id: a.message_id,
            })
        }
        P::ModifyWorkflowPropertiesCommandAttributes(a) => {
            Command::ModifyWorkflowProperties(ModifyWorkflowPropertiesCommandAttributes {
                upserted_memo: memo_in(a.upserted_memo),
            })
        }
        P::ScheduleNexusOperationCommandAttributes(_)
        | P::RequestCancelNexusOperationCommandAttributes(_) => {
            return Err(BadField::new(
                "commands",
                "Nexus operations are not supported by Endure",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::proto::common as pbc;

    #[test]
    fn an_activity_command_takes_its_fields_and_defaults() {
        let command = pb::Command {
            command_type: pbe::CommandType::ScheduleActivityTask.into(),
            attributes: Some(
                pb::command::Attributes::ScheduleActivityTaskCommandAttributes(
                    pb::ScheduleActivityTaskCommandAttributes {
                        activity_id: "1".into(),
                        activity_type: Some(pbc::ActivityType {
                            name: "say_hello".into(),
                        }),
                        task_queue: Some(taskqueue::TaskQueue {
                            name: "q".into(),
                            ..taskqueue::TaskQueue::default()
                        }),
                        start_to_close_timeout: Some(prost_types::Duration {
                            seconds: 10,
                            nanos: 0,
                        }),
                        ..pb::ScheduleActivityTaskCommandAttributes::default()
                    },
                ),
            ),
            ..pb::Command::default()
        };
        let Command::ScheduleActivityTask(attributes) = command_in(command).unwrap() else {
            panic!("not an activity");
        };
        assert_eq!(attributes.activity_type.as_str(), "say_hello");
        assert_eq!(
            attributes.start_to_close_timeout,
            Some(Duration::from_secs(10))
        );
        assert_eq!(attributes.schedule_to_close_timeout, None);
        assert!(attributes.retry_policy.is_none());
    }

    #[test]
    fn bad_commands_name_their_field() {
        let timer = pb::Command {
            attributes: Some(pb::command::Attributes::StartTimerCommandAttributes(
                pb::StartTimerCommandAttributes {
                    timer_id: "t".into(),
                    start_to_fire_timeout: None,
                },
            )),
            ..pb::Command::default()
        };
        let error = command_in(timer).unwrap_err();
        assert_eq!(error.field, "start_to_fire_timeout");
        let child = pb::Command {
            attributes: Some(
                pb::command::Attributes::StartChildWorkflowExecutionCommandAttributes(
                    pb::StartChildWorkflowExecutionCommandAttributes {
                        workflow_id: "c".into(),
                        workflow_type: Some(pbc::WorkflowType { name: "W".into() }),
                        parent_close_policy: 77,
                        ..Default::default()
                    },
                ),
            ),
            ..pb::Command::default()
        };
        assert_eq!(command_in(child).unwrap_err().field, "parent_close_policy");
        assert!(command_in(pb::Command::default()).is_err());
    }
}
