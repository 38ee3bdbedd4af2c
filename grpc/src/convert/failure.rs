//! Failures, both ways, field for field (`temporal.api.failure.v1.Failure`).

use endure_core::{Failure, FailureInfo};

use super::BadField;
use super::common::{
    duration_in, duration_opt, event_id, event_id_in, event_id_opt, execution, execution_in, id_in,
    payloads_opt, payloads_opt_in,
};
use super::enums::{enum_in, enum_out};
use crate::proto::{common as pbc, enums as pbe, failure as pb};

/// Endure's failure as Temporal's.
pub(crate) fn failure(mut failure: Failure) -> pb::Failure {
    use pb::failure::FailureInfo as Info;
    // `Failure` drops its cause chain by hand, so its fields are taken, not moved.
    let info = std::mem::replace(&mut failure.info, FailureInfo::Terminated);
    let info = match info {
        FailureInfo::Application {
            error_type,
            non_retryable,
            details,
            next_retry_delay,
        } => Info::ApplicationFailureInfo(pb::ApplicationFailureInfo {
            r#type: error_type,
            non_retryable,
            details: payloads_opt(details),
            next_retry_delay: duration_opt(next_retry_delay),
            category: 0,
        }),
        FailureInfo::Timeout {
            timeout_type,
            last_heartbeat_details,
        } => Info::TimeoutFailureInfo(pb::TimeoutFailureInfo {
            timeout_type: enum_out!(timeout_type, pbe::TimeoutType, "TIMEOUT_TYPE_"),
            last_heartbeat_details: payloads_opt(last_heartbeat_details),
        }),
        FailureInfo::Canceled { details } => Info::CanceledFailureInfo(pb::CanceledFailureInfo {
            details: payloads_opt(details),
            identity: String::new(),
        }),
        FailureInfo::Terminated => {
            Info::TerminatedFailureInfo(pb::TerminatedFailureInfo::default())
        }
        FailureInfo::Server { non_retryable } => {
            Info::ServerFailureInfo(pb::ServerFailureInfo { non_retryable })
        }
        FailureInfo::ResetWorkflow {
            last_heartbeat_details,
        } => Info::ResetWorkflowFailureInfo(pb::ResetWorkflowFailureInfo {
            last_heartbeat_details: payloads_opt(last_heartbeat_details),
        }),
        FailureInfo::Activity {
            scheduled_event_id,
            started_event_id,
            identity,
            activity_type,
            activity_id,
            retry_state,
        } => Info::ActivityFailureInfo(pb::ActivityFailureInfo {
            scheduled_event_id: event_id(scheduled_event_id),
            started_event_id: event_id_opt(started_event_id),
            identity,
            activity_type: Some(pbc::ActivityType {
                name: activity_type.into(),
            }),
            activity_id: activity_id.into(),
            retry_state: enum_out!(retry_state, pbe::RetryState, "RETRY_STATE_"),
        }),
        FailureInfo::ChildWorkflowExecution {
            namespace,
            workflow_execution,
            workflow_type,
            initiated_event_id,
            started_event_id,
            retry_state,
        } => Info::ChildWorkflowExecutionFailureInfo(pb::ChildWorkflowExecutionFailureInfo {
            namespace: namespace.as_str().to_owned(),
            workflow_execution: Some(execution(workflow_execution)),
            workflow_type: Some(pbc::WorkflowType {
                name: workflow_type.into(),
            }),
            initiated_event_id: event_id(initiated_event_id),
            started_event_id: event_id_opt(started_event_id),
            retry_state: enum_out!(retry_state, pbe::RetryState, "RETRY_STATE_"),
        }),
    };
    pb::Failure {
        message: std::mem::take(&mut failure.message),
        source: std::mem::take(&mut failure.source),
        stack_trace: std::mem::take(&mut failure.stack_trace),
        encoded_attributes: None,
        cause: failure
            .cause
            .take()
            .map(|cause| Box::new(self::failure(*cause))),
        failure_info: Some(info),
    }
}

/// An optional failure.
pub(crate) fn failure_opt(value: Option<Failure>) -> Option<pb::Failure> {
    value.map(failure)
}

/// Temporal's failure as Endure's. A failure with no info is an application failure with
/// no type (as Temporal's SDKs read one); a Nexus failure is refused.
pub(crate) fn failure_in(failure: pb::Failure) -> Result<Failure, BadField> {
    use pb::failure::FailureInfo as Info;
    let info = match failure.failure_info {
        None => FailureInfo::Application {
            error_type: String::new(),
            non_retryable: false,
            details: None,
            next_retry_delay: None,
        },
        Some(Info::ApplicationFailureInfo(info)) => FailureInfo::Application {
            error_type: info.r#type,
            non_retryable: info.non_retryable,
            details: payloads_opt_in(info.details),
            next_retry_delay: duration_in("failure.next_retry_delay", info.next_retry_delay)?,
        },
        Some(Info::TimeoutFailureInfo(info)) => FailureInfo::Timeout {
            timeout_type: enum_in!(
                "failure.timeout_type",
                pbe::TimeoutType,
                "TIMEOUT_TYPE_",
                info.timeout_type
            )?
            .unwrap_or(endure_core::TimeoutType::StartToClose),
            last_heartbeat_details: payloads_opt_in(info.last_heartbeat_details),
        },
        Some(Info::CanceledFailureInfo(info)) => FailureInfo::Canceled {
            details: payloads_opt_in(info.details),
        },
        Some(Info::TerminatedFailureInfo(_)) => FailureInfo::Terminated,
        Some(Info::ServerFailureInfo(info)) => FailureInfo::Server {
            non_retryable: info.non_retryable,
        },
        Some(Info::ResetWorkflowFailureInfo(info)) => FailureInfo::ResetWorkflow {
            last_heartbeat_details: payloads_opt_in(info.last_heartbeat_details),
        },
        Some(Info::ActivityFailureInfo(info)) => FailureInfo::Activity {
            scheduled_event_id: event_id_in(info.scheduled_event_id).ok_or_else(|| {
                BadField::new("failure.scheduled_event_id", "must be a positive event id")
            })?,
            started_event_id: event_id_in(info.started_event_id),
            identity: info.identity,
            activity_type: id_in(
                "failure.activity_type",
                info.activity_type.map(|t| t.name).unwrap_or_default(),
            )?,
            activity_id: id_in("failure.activity_id", info.activity_id)?,
            retry_state: retry_state_in(info.retry_state)?,
        },
        Some(Info::ChildWorkflowExecutionFailureInfo(info)) => {
            FailureInfo::ChildWorkflowExecution {
                namespace: endure_core::Namespace::new(info.namespace)
                    .map_err(|e| BadField::new("failure.namespace", e.to_string()))?,
                workflow_execution: execution_in(info.workflow_execution)?,
                workflow_type: id_in(
                    "failure.workflow_type",
                    info.workflow_type.map(|t| t.name).unwrap_or_default(),
                )?,
                initiated_event_id: event_id_in(info.initiated_event_id).ok_or_else(|| {
                    BadField::new("failure.initiated_event_id", "must be a positive event id")
                })?,
                started_event_id: event_id_in(info.started_event_id),
                retry_state: retry_state_in(info.retry_state)?,
            }
        }
        Some(Info::NexusOperationExecutionFailureInfo(_) | Info::NexusHandlerFailureInfo(_)) => {
            return Err(BadField::new(
                "failure.failure_info",
                "Nexus failures are not supported by Endure",
            ));
        }
    };
    Ok(Failure {
        message: failure.message,
        source: failure.source,
        stack_trace: failure.stack_trace,
        info,
        cause: failure
            .cause
            .map(|cause| failure_in(*cause).map(Box::new))
            .transpose()?,
    })
}

/// An optional failure.
pub(crate) fn failure_opt_in(value: Option<pb::Failure>) -> Result<Option<Failure>, BadField> {
    value.map(failure_in).transpose()
}

fn retry_state_in(number: i32) -> Result<endure_core::RetryState, BadField> {
    Ok(enum_in!(
        "failure.retry_state",
        pbe::RetryState,
        "RETRY_STATE_",
        number
    )?
    .unwrap_or(endure_core::RetryState::InProgress))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Whether Temporal's fields can hold the failure: event ids within `int64`, and no
    /// zero retry delay (Temporal's "unset").
    fn representable(failure: &Failure) -> bool {
        let small = |id: endure_core::EventId| i64::try_from(id.get()).is_ok();
        let fits = match &failure.info {
            FailureInfo::Activity {
                scheduled_event_id,
                started_event_id,
                ..
            } => small(*scheduled_event_id) && started_event_id.is_none_or(small),
            FailureInfo::ChildWorkflowExecution {
                initiated_event_id,
                started_event_id,
                ..
            } => small(*initiated_event_id) && started_event_id.is_none_or(small),
            FailureInfo::Application {
                next_retry_delay, ..
            } => {
                next_retry_delay.is_none_or(|d| !d.is_zero() && i64::try_from(d.as_secs()).is_ok())
            }
            _ => true,
        };
        fits && failure.cause.as_deref().is_none_or(representable)
    }

    proptest! {
        #[test]
        fn every_failure_survives_the_round_trip(original in any::<Failure>()) {
            prop_assume!(representable(&original));
            let back = failure_in(failure(original.clone())).unwrap();
            prop_assert_eq!(back, original);
        }
    }
}
