//! Commands: what a workflow task completion asks the engine to do.
//!
//! Every command but [`Command::ProtocolMessage`] yields exactly one command event, in
//! order (`../shared/reference/temporal.md` §1.3); replay relies on this. Attributes follow
//! Temporal's `temporal.api.command.v1` messages. Optional fields that the engine fills in
//! (the activity's task queue, a child's namespace) are `None` when the workflow leaves them
//! to their defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cron::CronSchedule;
use crate::enums::{ParentClosePolicy, WorkflowIdReusePolicy, WorkflowTaskFailedCause};
use crate::failure::Failure;
use crate::history::EventType;
use crate::ids::{
    ActivityId, ActivityType, EventId, MarkerName, Namespace, SignalName, TaskQueueName, TimerId,
    WorkflowExecution, WorkflowId, WorkflowType,
};
use crate::limits::MEMO_BYTES_MAX;
use crate::payload::{Header, Memo, Payloads};
use crate::retry::RetryPolicy;
use crate::search_attributes::SearchAttributes;
use crate::validation::{ValidationError, check_duration, check_optional_duration};

/// ScheduleActivityTask: run an activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ScheduleActivityTaskCommandAttributes {
    /// The activity id, unique among the run's open activities.
    pub activity_id: ActivityId,
    /// The activity's type.
    pub activity_type: ActivityType,
    /// The queue; `None` is the workflow's queue.
    pub task_queue: Option<TaskQueueName>,
    /// Context headers.
    pub header: Header,
    /// The arguments.
    pub input: Payloads,
    /// Limit on the whole activity, retries included.
    #[serde(with = "crate::duration_text::readable_option")]
    pub schedule_to_close_timeout: Option<Duration>,
    /// Limit on waiting in the queue.
    #[serde(with = "crate::duration_text::readable_option")]
    pub schedule_to_start_timeout: Option<Duration>,
    /// Limit on one attempt.
    #[serde(with = "crate::duration_text::readable_option")]
    pub start_to_close_timeout: Option<Duration>,
    /// Longest silence between heartbeats.
    #[serde(with = "crate::duration_text::readable_option")]
    pub heartbeat_timeout: Option<Duration>,
    /// The retry policy; `None` is the default policy.
    pub retry_policy: Option<RetryPolicy>,
    /// Ask for the task to be handed to this worker in the completion's response.
    pub request_eager_execution: bool,
}

/// RequestCancelActivityTask: ask an activity to cancel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct RequestCancelActivityTaskCommandAttributes {
    /// The activity's ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
}

/// StartTimer: fire after a duration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct StartTimerCommandAttributes {
    /// The timer id, unique among the run's open timers.
    pub timer_id: TimerId,
    /// How long until it fires; positive.
    #[serde(with = "crate::duration_text::readable")]
    pub start_to_fire_timeout: Duration,
}

/// CompleteWorkflowExecution: close the run with a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct CompleteWorkflowExecutionCommandAttributes {
    /// The result.
    pub result: Option<Payloads>,
}

/// FailWorkflowExecution: close the run with a failure (retry and cron then apply).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct FailWorkflowExecutionCommandAttributes {
    /// Why.
    pub failure: Failure,
}

/// CancelTimer: cancel an open timer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct CancelTimerCommandAttributes {
    /// The timer id.
    pub timer_id: TimerId,
}

/// CancelWorkflowExecution: close the run as canceled, acknowledging a cancel request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct CancelWorkflowExecutionCommandAttributes {
    /// Details.
    pub details: Option<Payloads>,
}

/// RequestCancelExternalWorkflowExecution: ask another workflow (or a child) to cancel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct RequestCancelExternalWorkflowExecutionCommandAttributes {
    /// The target's namespace; `None` is this workflow's.
    pub namespace: Option<Namespace>,
    /// The target.
    pub workflow_execution: WorkflowExecution,
    /// Only a child of this workflow may be the target.
    pub child_workflow_only: bool,
    /// The reason given.
    pub reason: String,
}

/// RecordMarker: record data in history (side effects, versions, local activities).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct RecordMarkerCommandAttributes {
    /// The marker's name.
    pub marker_name: MarkerName,
    /// The marker's data.
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(
            strategy = "proptest::collection::btree_map(\"[a-z]{1,8}\", proptest::arbitrary::any::<Payloads>(), 0..3)"
        )
    )]
    pub details: BTreeMap<String, Payloads>,
    /// Context headers.
    pub header: Header,
    /// A failure, for a failed local activity.
    pub failure: Option<Failure>,
}

/// ContinueAsNewWorkflowExecution: close the run and start a new run of the same workflow id.
/// Every `None` is carried over from the closing run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ContinueAsNewWorkflowExecutionCommandAttributes {
    /// The new run's type.
    pub workflow_type: Option<WorkflowType>,
    /// The new run's queue.
    pub task_queue: Option<TaskQueueName>,
    /// The new run's arguments.
    pub input: Payloads,
    /// The new run's run timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_run_timeout: Option<Duration>,
    /// The new run's workflow task timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_task_timeout: Option<Duration>,
    /// Delay before the new run's first workflow task.
    #[serde(with = "crate::duration_text::readable_option")]
    pub backoff_start_interval: Option<Duration>,
    /// The new run's retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// The new run's cron schedule.
    pub cron_schedule: Option<CronSchedule>,
    /// Context headers.
    pub header: Header,
    /// The new run's memo.
    pub memo: Option<Memo>,
    /// The new run's search attributes.
    pub search_attributes: Option<SearchAttributes>,
}

/// StartChildWorkflowExecution: start a child workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct StartChildWorkflowExecutionCommandAttributes {
    /// The child's namespace; `None` is this workflow's.
    pub namespace: Option<Namespace>,
    /// The child's workflow id.
    pub workflow_id: WorkflowId,
    /// The child's type.
    pub workflow_type: WorkflowType,
    /// The child's queue; `None` is this workflow's.
    pub task_queue: Option<TaskQueueName>,
    /// The child's arguments.
    pub input: Payloads,
    /// The child's execution timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_execution_timeout: Option<Duration>,
    /// The child's run timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_run_timeout: Option<Duration>,
    /// The child's workflow task timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_task_timeout: Option<Duration>,
    /// What happens to the child when this workflow closes.
    pub parent_close_policy: ParentClosePolicy,
    /// The child id's reuse policy.
    pub workflow_id_reuse_policy: WorkflowIdReusePolicy,
    /// The child's retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// The child's cron schedule.
    pub cron_schedule: Option<CronSchedule>,
    /// Context headers.
    pub header: Header,
    /// The child's memo.
    pub memo: Memo,
    /// The child's search attributes.
    pub search_attributes: SearchAttributes,
}

/// SignalExternalWorkflowExecution: signal another workflow (or a child).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct SignalExternalWorkflowExecutionCommandAttributes {
    /// The target's namespace; `None` is this workflow's.
    pub namespace: Option<Namespace>,
    /// The target.
    pub workflow_execution: WorkflowExecution,
    /// The signal's name.
    pub signal_name: SignalName,
    /// Its arguments.
    pub input: Payloads,
    /// Only a child of this workflow may be the target.
    pub child_workflow_only: bool,
    /// Context headers.
    pub header: Header,
}

/// UpsertWorkflowSearchAttributes: set search attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct UpsertWorkflowSearchAttributesCommandAttributes {
    /// The attributes to set; others are unchanged.
    pub search_attributes: SearchAttributes,
}

/// ProtocolMessage: marks where an update message is processed in the command order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ProtocolMessageCommandAttributes {
    /// The id of the message in the completion.
    pub message_id: String,
}

/// ModifyWorkflowProperties: upsert memo fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ModifyWorkflowPropertiesCommandAttributes {
    /// The memo fields to set; others are unchanged.
    pub upserted_memo: Memo,
}

/// Defines [`Command`] and [`CommandType`] from one list.
macro_rules! command_kinds {
    ($($(#[$doc:meta])* $variant:ident($attributes:ty) = $number:literal => $event:ident,)+) => {
        /// A command in a workflow task completion. Variants are encoded by position: append only.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Command {
            $($(#[$doc])* $variant($attributes),)+
        }

        // A union of boxed per-variant strategies: the derived one is too large for a
        // test thread's stack.
        #[cfg(any(test, feature = "testing"))]
        impl proptest::arbitrary::Arbitrary for Command {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy;
                proptest::strategy::Union::new(vec![
                    $(proptest::arbitrary::any::<$attributes>().prop_map(Self::$variant).boxed(),)+
                ])
                .boxed()
            }
        }

        /// The kind of a command, numbered as Temporal's `CommandType`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
        pub enum CommandType {
            $($(#[$doc])* $variant = $number,)+
        }

        impl Command {
            /// The kind of this command.
            pub fn command_type(&self) -> CommandType {
                match self {
                    $(Self::$variant(_) => CommandType::$variant,)+
                }
            }
        }

        impl CommandType {
            /// Every command type, in Temporal's numbering order.
            pub const ALL: &'static [CommandType] = &[$(CommandType::$variant,)+];

            /// Temporal's name for the type.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)+
                }
            }

            /// The event the command produces; `None` for a protocol message, which marks a
            /// position and produces none itself.
            pub fn event_type(self) -> Option<EventType> {
                match self {
                    $(Self::$variant => command_kinds!(@event $event),)+
                }
            }
        }
    };
    (@event None) => { None };
    (@event $event:ident) => { Some(EventType::$event) };
}

command_kinds! {
    /// Run an activity.
    ScheduleActivityTask(Box<ScheduleActivityTaskCommandAttributes>) = 1 => ActivityTaskScheduled,
    /// Cancel an activity.
    RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes) = 2 => ActivityTaskCancelRequested,
    /// Start a timer.
    StartTimer(StartTimerCommandAttributes) = 3 => TimerStarted,
    /// Close the run with a result.
    CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes) = 4 => WorkflowExecutionCompleted,
    /// Close the run with a failure.
    FailWorkflowExecution(FailWorkflowExecutionCommandAttributes) = 5 => WorkflowExecutionFailed,
    /// Cancel a timer.
    CancelTimer(CancelTimerCommandAttributes) = 6 => TimerCanceled,
    /// Close the run as canceled.
    CancelWorkflowExecution(CancelWorkflowExecutionCommandAttributes) = 7 => WorkflowExecutionCanceled,
    /// Cancel another workflow.
    RequestCancelExternalWorkflowExecution(RequestCancelExternalWorkflowExecutionCommandAttributes) = 8 => RequestCancelExternalWorkflowExecutionInitiated,
    /// Record a marker.
    RecordMarker(RecordMarkerCommandAttributes) = 9 => MarkerRecorded,
    /// Close the run and continue as a new run.
    ContinueAsNewWorkflowExecution(Box<ContinueAsNewWorkflowExecutionCommandAttributes>) = 10 => WorkflowExecutionContinuedAsNew,
    /// Start a child workflow.
    StartChildWorkflowExecution(Box<StartChildWorkflowExecutionCommandAttributes>) = 11 => StartChildWorkflowExecutionInitiated,
    /// Signal another workflow.
    SignalExternalWorkflowExecution(SignalExternalWorkflowExecutionCommandAttributes) = 12 => SignalExternalWorkflowExecutionInitiated,
    /// Set search attributes.
    UpsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesCommandAttributes) = 13 => UpsertWorkflowSearchAttributes,
    /// Position an update message among the commands.
    ProtocolMessage(ProtocolMessageCommandAttributes) = 14 => None,
    /// Upsert memo fields.
    ModifyWorkflowProperties(ModifyWorkflowPropertiesCommandAttributes) = 16 => WorkflowPropertiesModified,
}

impl CommandType {
    /// Temporal's number for the type.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// Whether the command closes the run.
    pub fn is_closing(self) -> bool {
        matches!(
            self,
            Self::CompleteWorkflowExecution
                | Self::FailWorkflowExecution
                | Self::CancelWorkflowExecution
                | Self::ContinueAsNewWorkflowExecution
        )
    }
}

impl fmt::Display for CommandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A command the engine refuses: the cause it fails the workflow task with, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{command_type} command refused ({cause:?}): {error}")]
pub struct CommandError {
    /// The command's kind.
    pub command_type: CommandType,
    /// The workflow task failure cause Temporal uses for it.
    pub cause: WorkflowTaskFailedCause,
    /// What is wrong.
    pub error: ValidationError,
}

impl Command {
    /// Checks what can be checked of one command alone: timeouts, sizes, retry policies,
    /// search attributes. What depends on the run's state (duplicate ids, pending limits,
    /// unknown timers) is the execution machine's to check.
    pub fn validate(&self) -> Result<(), CommandError> {
        use WorkflowTaskFailedCause as Cause;
        let command_type = self.command_type();
        let refuse = |cause: Cause| {
            move |error| CommandError {
                command_type,
                cause,
                error,
            }
        };
        match self {
            Self::ScheduleActivityTask(a) => {
                let bad = refuse(Cause::BadScheduleActivityAttributes);
                if a.start_to_close_timeout.is_none() && a.schedule_to_close_timeout.is_none() {
                    return Err(bad(ValidationError::MissingActivityTimeout));
                }
                check_optional_duration("schedule_to_close_timeout", a.schedule_to_close_timeout)
                    .and_then(|()| {
                        check_optional_duration(
                            "schedule_to_start_timeout",
                            a.schedule_to_start_timeout,
                        )
                    })
                    .and_then(|()| {
                        check_optional_duration("start_to_close_timeout", a.start_to_close_timeout)
                    })
                    .and_then(|()| {
                        check_optional_duration("heartbeat_timeout", a.heartbeat_timeout)
                    })
                    .and_then(|()| check_retry_policy(a.retry_policy.as_ref()))
                    .map_err(bad)?;
                a.input
                    .check_size("input")
                    .and_then(|()| a.header.check_size("header"))
                    .map_err(refuse(Cause::PayloadsTooLarge))
            }
            Self::RequestCancelActivityTask(_)
            | Self::CancelTimer(_)
            | Self::ProtocolMessage(_) => Ok(()),
            Self::StartTimer(a) => check_duration("start_to_fire_timeout", a.start_to_fire_timeout)
                .map_err(refuse(Cause::BadStartTimerAttributes)),
            Self::CompleteWorkflowExecution(a) => {
                check_optional_payloads("result", a.result.as_ref())
                    .map_err(refuse(Cause::PayloadsTooLarge))
            }
            Self::FailWorkflowExecution(a) => a
                .failure
                .validate()
                .map_err(refuse(Cause::BadFailWorkflowExecutionAttributes)),
            Self::CancelWorkflowExecution(a) => {
                check_optional_payloads("details", a.details.as_ref())
                    .map_err(refuse(Cause::PayloadsTooLarge))
            }
            Self::RequestCancelExternalWorkflowExecution(_) => Ok(()),
            Self::RecordMarker(a) => {
                if let Some(failure) = &a.failure {
                    failure
                        .validate()
                        .map_err(refuse(Cause::BadRecordMarkerAttributes))?;
                }
                a.details
                    .values()
                    .try_for_each(|details| details.check_size("marker details"))
                    .map_err(refuse(Cause::PayloadsTooLarge))
            }
            Self::ContinueAsNewWorkflowExecution(a) => {
                check_optional_duration("workflow_run_timeout", a.workflow_run_timeout)
                    .and_then(|()| {
                        check_optional_duration("workflow_task_timeout", a.workflow_task_timeout)
                    })
                    .and_then(|()| {
                        check_optional_duration("backoff_start_interval", a.backoff_start_interval)
                    })
                    .and_then(|()| check_retry_policy(a.retry_policy.as_ref()))
                    .and_then(|()| check_memo(a.memo.as_ref()))
                    .and_then(|()| {
                        a.search_attributes
                            .as_ref()
                            .map_or(Ok(()), SearchAttributes::validate)
                    })
                    .map_err(refuse(Cause::BadContinueAsNewAttributes))?;
                a.input
                    .check_size("input")
                    .and_then(|()| a.header.check_size("header"))
                    .map_err(refuse(Cause::PayloadsTooLarge))
            }
            Self::StartChildWorkflowExecution(a) => {
                check_optional_duration("workflow_execution_timeout", a.workflow_execution_timeout)
                    .and_then(|()| {
                        check_optional_duration("workflow_run_timeout", a.workflow_run_timeout)
                    })
                    .and_then(|()| {
                        check_optional_duration("workflow_task_timeout", a.workflow_task_timeout)
                    })
                    .and_then(|()| check_retry_policy(a.retry_policy.as_ref()))
                    .and_then(|()| check_memo(Some(&a.memo)))
                    .and_then(|()| a.search_attributes.validate())
                    .map_err(refuse(Cause::BadStartChildExecutionAttributes))?;
                a.input
                    .check_size("input")
                    .and_then(|()| a.header.check_size("header"))
                    .map_err(refuse(Cause::PayloadsTooLarge))
            }
            Self::SignalExternalWorkflowExecution(a) => a
                .input
                .check_size("signal input")
                .and_then(|()| a.header.check_size("signal header"))
                .map_err(refuse(Cause::BadSignalInputSize)),
            Self::UpsertWorkflowSearchAttributes(a) => a
                .search_attributes
                .validate()
                .map_err(refuse(Cause::BadSearchAttributes)),
            Self::ModifyWorkflowProperties(a) => check_memo(Some(&a.upserted_memo))
                .map_err(refuse(Cause::BadModifyWorkflowPropertiesAttributes)),
        }
    }
}

fn check_retry_policy(policy: Option<&RetryPolicy>) -> Result<(), ValidationError> {
    policy.map_or(Ok(()), |policy| policy.validate("retry_policy"))
}

fn check_optional_payloads(
    field: &'static str,
    payloads: Option<&Payloads>,
) -> Result<(), ValidationError> {
    payloads.map_or(Ok(()), |payloads| payloads.check_size(field))
}

fn check_memo(memo: Option<&Memo>) -> Result<(), ValidationError> {
    let Some(memo) = memo else { return Ok(()) };
    let size = memo.size_bytes();
    if size > MEMO_BYTES_MAX {
        return Err(ValidationError::PayloadTooLarge {
            field: "memo",
            size,
            limit: MEMO_BYTES_MAX,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    fn schedule_activity() -> ScheduleActivityTaskCommandAttributes {
        ScheduleActivityTaskCommandAttributes {
            activity_id: ActivityId::new("1").unwrap(),
            activity_type: ActivityType::new("SendEmail").unwrap(),
            task_queue: None,
            header: Header::new(),
            input: Payloads::one(Payload::json(&"user_123").unwrap()),
            schedule_to_close_timeout: None,
            schedule_to_start_timeout: None,
            start_to_close_timeout: Some(Duration::from_secs(10)),
            heartbeat_timeout: None,
            retry_policy: None,
            request_eager_execution: true,
        }
    }

    #[test]
    fn each_command_maps_to_its_event() {
        for command_type in CommandType::ALL {
            match command_type.event_type() {
                Some(event_type) => assert!(
                    event_type.is_command_event(),
                    "{command_type} produces {event_type}, which is not a command event"
                ),
                None => assert_eq!(*command_type, CommandType::ProtocolMessage),
            }
        }
        let closing: Vec<_> = CommandType::ALL.iter().filter(|c| c.is_closing()).collect();
        for command_type in closing {
            assert!(command_type.event_type().is_some_and(EventType::is_closing));
        }
    }

    #[test]
    fn validation_maps_to_bad_attribute_causes() {
        use WorkflowTaskFailedCause as Cause;
        Command::ScheduleActivityTask(Box::new(schedule_activity()))
            .validate()
            .unwrap();
        let cases = [
            (
                Command::ScheduleActivityTask(Box::new(ScheduleActivityTaskCommandAttributes {
                    start_to_close_timeout: None,
                    ..schedule_activity()
                })),
                Cause::BadScheduleActivityAttributes,
            ),
            (
                Command::ScheduleActivityTask(Box::new(ScheduleActivityTaskCommandAttributes {
                    input: Payloads::one(Payload::binary(vec![0; 3 << 20])),
                    ..schedule_activity()
                })),
                Cause::PayloadsTooLarge,
            ),
            (
                Command::StartTimer(StartTimerCommandAttributes {
                    timer_id: TimerId::new("1").unwrap(),
                    start_to_fire_timeout: Duration::ZERO,
                }),
                Cause::BadStartTimerAttributes,
            ),
            (
                Command::SignalExternalWorkflowExecution(
                    SignalExternalWorkflowExecutionCommandAttributes {
                        namespace: None,
                        workflow_execution: WorkflowExecution {
                            workflow_id: WorkflowId::new("other").unwrap(),
                            run_id: None,
                        },
                        signal_name: SignalName::new("go").unwrap(),
                        input: Payloads::one(Payload::binary(vec![0; 3 << 20])),
                        child_workflow_only: false,
                        header: Header::new(),
                    },
                ),
                Cause::BadSignalInputSize,
            ),
        ];
        for (command, cause) in cases {
            let error = command.validate().unwrap_err();
            assert_eq!(error.cause, cause, "{error}");
            assert_eq!(error.command_type, command.command_type());
        }
    }
}
