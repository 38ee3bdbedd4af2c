//! The history event envelope, the closed set of event kinds, and what each kind refers to.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::attributes::*;
use crate::ids::EventId;
use crate::time::Timestamp;

/// One event of a run's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct HistoryEvent {
    /// Position in the history, from 1, dense.
    pub event_id: EventId,
    /// When the engine wrote (or, for buffered events, received) the event.
    pub event_time: Timestamp,
    /// The event kind and its data.
    pub attributes: EventAttributes,
}

impl HistoryEvent {
    /// The event's kind.
    pub fn event_type(&self) -> EventType {
        self.attributes.event_type()
    }
}

/// Defines [`EventAttributes`] and [`EventType`] from one list, so they never drift apart.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident($attributes:ty) = $number:literal,)+) => {
        /// An event's kind and data. Variants are encoded by position: append only.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum EventAttributes {
            $($(#[$doc])* $variant($attributes),)+
        }

        // A union of boxed per-variant strategies: the derived one is too large for a
        // test thread's stack.
        #[cfg(any(test, feature = "testing"))]
        impl proptest::arbitrary::Arbitrary for EventAttributes {
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

        /// The kind of an event, numbered as Temporal's `EventType`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
        pub enum EventType {
            $($(#[$doc])* $variant = $number,)+
        }

        impl EventAttributes {
            /// The kind of this event.
            pub fn event_type(&self) -> EventType {
                match self {
                    $(Self::$variant(_) => EventType::$variant,)+
                }
            }
        }

        impl EventType {
            /// Every event type, in Temporal's numbering order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)+];

            /// Temporal's name for the type (`WorkflowExecutionStarted`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)+
                }
            }
        }
    };
}

event_kinds! {
    /// The first event of every run.
    WorkflowExecutionStarted(Box<WorkflowExecutionStartedEventAttributes>) = 1,
    /// Closing: the workflow returned a result.
    WorkflowExecutionCompleted(WorkflowExecutionCompletedEventAttributes) = 2,
    /// Closing: the workflow returned an error.
    WorkflowExecutionFailed(WorkflowExecutionFailedEventAttributes) = 3,
    /// Closing: the run or execution timeout fired.
    WorkflowExecutionTimedOut(WorkflowExecutionTimedOutEventAttributes) = 4,
    /// A workflow task is needed.
    WorkflowTaskScheduled(WorkflowTaskScheduledEventAttributes) = 5,
    /// A worker took the workflow task.
    WorkflowTaskStarted(WorkflowTaskStartedEventAttributes) = 6,
    /// The worker completed the workflow task; command events follow.
    WorkflowTaskCompleted(WorkflowTaskCompletedEventAttributes) = 7,
    /// The workflow task timed out.
    WorkflowTaskTimedOut(WorkflowTaskTimedOutEventAttributes) = 8,
    /// The workflow task failed.
    WorkflowTaskFailed(WorkflowTaskFailedEventAttributes) = 9,
    /// Command: an activity was scheduled.
    ActivityTaskScheduled(Box<ActivityTaskScheduledEventAttributes>) = 10,
    /// The activity's final attempt started.
    ActivityTaskStarted(ActivityTaskStartedEventAttributes) = 11,
    /// The activity completed.
    ActivityTaskCompleted(ActivityTaskCompletedEventAttributes) = 12,
    /// The activity failed for good.
    ActivityTaskFailed(ActivityTaskFailedEventAttributes) = 13,
    /// The activity timed out for good.
    ActivityTaskTimedOut(ActivityTaskTimedOutEventAttributes) = 14,
    /// Command: cancellation of an activity was requested.
    ActivityTaskCancelRequested(ActivityTaskCancelRequestedEventAttributes) = 15,
    /// The activity was canceled.
    ActivityTaskCanceled(ActivityTaskCanceledEventAttributes) = 16,
    /// Command: a timer was started.
    TimerStarted(TimerStartedEventAttributes) = 17,
    /// A timer fired.
    TimerFired(TimerFiredEventAttributes) = 18,
    /// Command: a timer was cancelled.
    TimerCanceled(TimerCanceledEventAttributes) = 19,
    /// Cancellation of the workflow was requested.
    WorkflowExecutionCancelRequested(WorkflowExecutionCancelRequestedEventAttributes) = 20,
    /// Closing: the workflow acknowledged cancellation.
    WorkflowExecutionCanceled(WorkflowExecutionCanceledEventAttributes) = 21,
    /// Command: cancellation of another workflow was requested.
    RequestCancelExternalWorkflowExecutionInitiated(RequestCancelExternalWorkflowExecutionInitiatedEventAttributes) = 22,
    /// The cancel request to another workflow failed.
    RequestCancelExternalWorkflowExecutionFailed(RequestCancelExternalWorkflowExecutionFailedEventAttributes) = 23,
    /// The cancel request reached the other workflow.
    ExternalWorkflowExecutionCancelRequested(ExternalWorkflowExecutionCancelRequestedEventAttributes) = 24,
    /// Command: a marker was recorded.
    MarkerRecorded(MarkerRecordedEventAttributes) = 25,
    /// A signal arrived.
    WorkflowExecutionSignaled(WorkflowExecutionSignaledEventAttributes) = 26,
    /// Closing: the run was terminated.
    WorkflowExecutionTerminated(WorkflowExecutionTerminatedEventAttributes) = 27,
    /// Closing: the run continued as a new run.
    WorkflowExecutionContinuedAsNew(Box<WorkflowExecutionContinuedAsNewEventAttributes>) = 28,
    /// Command: a child workflow start was requested.
    StartChildWorkflowExecutionInitiated(Box<StartChildWorkflowExecutionInitiatedEventAttributes>) = 29,
    /// The child workflow could not be started.
    StartChildWorkflowExecutionFailed(StartChildWorkflowExecutionFailedEventAttributes) = 30,
    /// The child workflow started.
    ChildWorkflowExecutionStarted(ChildWorkflowExecutionStartedEventAttributes) = 31,
    /// The child workflow completed.
    ChildWorkflowExecutionCompleted(ChildWorkflowExecutionCompletedEventAttributes) = 32,
    /// The child workflow failed.
    ChildWorkflowExecutionFailed(ChildWorkflowExecutionFailedEventAttributes) = 33,
    /// The child workflow was canceled.
    ChildWorkflowExecutionCanceled(ChildWorkflowExecutionCanceledEventAttributes) = 34,
    /// The child workflow timed out.
    ChildWorkflowExecutionTimedOut(ChildWorkflowExecutionTimedOutEventAttributes) = 35,
    /// The child workflow was terminated.
    ChildWorkflowExecutionTerminated(ChildWorkflowExecutionTerminatedEventAttributes) = 36,
    /// Command: a signal to another workflow was sent.
    SignalExternalWorkflowExecutionInitiated(SignalExternalWorkflowExecutionInitiatedEventAttributes) = 37,
    /// The signal to another workflow failed.
    SignalExternalWorkflowExecutionFailed(SignalExternalWorkflowExecutionFailedEventAttributes) = 38,
    /// The signal reached the other workflow.
    ExternalWorkflowExecutionSignaled(ExternalWorkflowExecutionSignaledEventAttributes) = 39,
    /// Command: search attributes were changed.
    UpsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesEventAttributes) = 40,
    /// Command (protocol message): an update was accepted.
    WorkflowExecutionUpdateAccepted(WorkflowExecutionUpdateAcceptedEventAttributes) = 41,
    /// Command (protocol message): an accepted update completed.
    WorkflowExecutionUpdateCompleted(WorkflowExecutionUpdateCompletedEventAttributes) = 43,
    /// Command: the memo was changed.
    WorkflowPropertiesModified(WorkflowPropertiesModifiedEventAttributes) = 46,
    /// An update was reapplied by a reset.
    WorkflowExecutionUpdateAdmitted(WorkflowExecutionUpdateAdmittedEventAttributes) = 47,
    /// An operator changed the run's options (its versioning override).
    WorkflowExecutionOptionsUpdated(WorkflowExecutionOptionsUpdatedEventAttributes) = 55,
}

impl EventType {
    /// Temporal's number for the type.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// Whether events of this type are written as the direct result of a command in a
    /// workflow task completion (SDKs match these against the commands on replay).
    pub fn is_command_event(self) -> bool {
        matches!(
            self,
            Self::ActivityTaskScheduled
                | Self::ActivityTaskCancelRequested
                | Self::TimerStarted
                | Self::TimerCanceled
                | Self::WorkflowExecutionCompleted
                | Self::WorkflowExecutionFailed
                | Self::WorkflowExecutionCanceled
                | Self::WorkflowExecutionContinuedAsNew
                | Self::RequestCancelExternalWorkflowExecutionInitiated
                | Self::MarkerRecorded
                | Self::StartChildWorkflowExecutionInitiated
                | Self::SignalExternalWorkflowExecutionInitiated
                | Self::UpsertWorkflowSearchAttributes
                | Self::WorkflowPropertiesModified
                | Self::WorkflowExecutionUpdateAccepted
                | Self::WorkflowExecutionUpdateCompleted
        )
    }

    /// Whether the event closes the run; nothing may follow it.
    pub fn is_closing(self) -> bool {
        matches!(
            self,
            Self::WorkflowExecutionCompleted
                | Self::WorkflowExecutionFailed
                | Self::WorkflowExecutionTimedOut
                | Self::WorkflowExecutionCanceled
                | Self::WorkflowExecutionTerminated
                | Self::WorkflowExecutionContinuedAsNew
        )
    }

    /// Whether the event belongs to the workflow task protocol.
    pub fn is_workflow_task_event(self) -> bool {
        matches!(
            self,
            Self::WorkflowTaskScheduled
                | Self::WorkflowTaskStarted
                | Self::WorkflowTaskCompleted
                | Self::WorkflowTaskTimedOut
                | Self::WorkflowTaskFailed
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One back-reference of an event: the field, the event it names and the types that event
/// may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackReference {
    /// The attribute holding the reference.
    pub field: &'static str,
    /// The event referred to.
    pub target: EventId,
    /// The types the referred event may have; empty means any.
    pub allowed: &'static [EventType],
}

const WFT_COMPLETED: &[EventType] = &[EventType::WorkflowTaskCompleted];
const WFT_SCHEDULED: &[EventType] = &[EventType::WorkflowTaskScheduled];
const WFT_STARTED: &[EventType] = &[EventType::WorkflowTaskStarted];
const ACTIVITY_SCHEDULED: &[EventType] = &[EventType::ActivityTaskScheduled];
const ACTIVITY_STARTED: &[EventType] = &[EventType::ActivityTaskStarted];
const ACTIVITY_CANCEL_REQUESTED: &[EventType] = &[EventType::ActivityTaskCancelRequested];
const TIMER_STARTED: &[EventType] = &[EventType::TimerStarted];
const CANCEL_EXTERNAL_INITIATED: &[EventType] =
    &[EventType::RequestCancelExternalWorkflowExecutionInitiated];
const SIGNAL_EXTERNAL_INITIATED: &[EventType] =
    &[EventType::SignalExternalWorkflowExecutionInitiated];
const CHILD_INITIATED: &[EventType] = &[EventType::StartChildWorkflowExecutionInitiated];
const CHILD_STARTED: &[EventType] = &[EventType::ChildWorkflowExecutionStarted];
const UPDATE_ACCEPTED: &[EventType] = &[EventType::WorkflowExecutionUpdateAccepted];
const ANY: &[EventType] = &[];

impl EventAttributes {
    /// The context header the event carries, for the kinds that carry one in Temporal
    /// (starts, activities, markers, signals, children, continue-as-new, updates).
    pub fn header(&self) -> Option<&crate::payload::Header> {
        match self {
            Self::WorkflowExecutionStarted(a) => Some(&a.header),
            Self::ActivityTaskScheduled(a) => Some(&a.header),
            Self::MarkerRecorded(a) => Some(&a.header),
            Self::WorkflowExecutionSignaled(a) => Some(&a.header),
            Self::WorkflowExecutionContinuedAsNew(a) => Some(&a.header),
            Self::StartChildWorkflowExecutionInitiated(a) => Some(&a.header),
            Self::ChildWorkflowExecutionStarted(a) => Some(&a.header),
            Self::SignalExternalWorkflowExecutionInitiated(a) => Some(&a.header),
            Self::WorkflowExecutionUpdateAccepted(a) => Some(&a.accepted_request.header),
            Self::WorkflowExecutionUpdateAdmitted(a) => Some(&a.request.header),
            _ => None,
        }
    }

    /// The events of the same history this event refers to. References into other runs'
    /// histories (a parent's initiated event, say) are not included.
    pub fn back_references(&self) -> Vec<BackReference> {
        let reference = |field, target, allowed| BackReference {
            field,
            target,
            allowed,
        };
        let wtc = |target| reference("workflow_task_completed_event_id", target, WFT_COMPLETED);
        let mut references = Vec::new();
        match self {
            Self::WorkflowExecutionStarted(_)
            | Self::WorkflowExecutionTimedOut(_)
            | Self::WorkflowTaskScheduled(_)
            | Self::WorkflowExecutionCancelRequested(_)
            | Self::WorkflowExecutionSignaled(_)
            | Self::WorkflowExecutionTerminated(_)
            | Self::WorkflowExecutionUpdateAdmitted(_)
            | Self::WorkflowExecutionOptionsUpdated(_) => {}
            Self::WorkflowExecutionCompleted(a) => {
                references.push(wtc(a.workflow_task_completed_event_id))
            }
            Self::WorkflowExecutionFailed(a) => {
                references.push(wtc(a.workflow_task_completed_event_id))
            }
            Self::WorkflowExecutionCanceled(a) => {
                references.push(wtc(a.workflow_task_completed_event_id))
            }
            Self::WorkflowExecutionContinuedAsNew(a) => {
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::WorkflowTaskStarted(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    WFT_SCHEDULED,
                ));
            }
            Self::WorkflowTaskCompleted(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    WFT_SCHEDULED,
                ));
                references.push(reference(
                    "started_event_id",
                    a.started_event_id,
                    WFT_STARTED,
                ));
            }
            Self::WorkflowTaskTimedOut(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    WFT_SCHEDULED,
                ));
                if let Some(started) = a.started_event_id {
                    references.push(reference("started_event_id", started, WFT_STARTED));
                }
            }
            Self::WorkflowTaskFailed(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    WFT_SCHEDULED,
                ));
                references.push(reference(
                    "started_event_id",
                    a.started_event_id,
                    WFT_STARTED,
                ));
            }
            Self::ActivityTaskScheduled(a) => {
                references.push(wtc(a.workflow_task_completed_event_id))
            }
            Self::ActivityTaskStarted(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    ACTIVITY_SCHEDULED,
                ));
            }
            Self::ActivityTaskCompleted(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    ACTIVITY_SCHEDULED,
                ));
                references.push(reference(
                    "started_event_id",
                    a.started_event_id,
                    ACTIVITY_STARTED,
                ));
            }
            Self::ActivityTaskFailed(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    ACTIVITY_SCHEDULED,
                ));
                references.push(reference(
                    "started_event_id",
                    a.started_event_id,
                    ACTIVITY_STARTED,
                ));
            }
            Self::ActivityTaskTimedOut(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    ACTIVITY_SCHEDULED,
                ));
                if let Some(started) = a.started_event_id {
                    references.push(reference("started_event_id", started, ACTIVITY_STARTED));
                }
            }
            Self::ActivityTaskCancelRequested(a) => {
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    ACTIVITY_SCHEDULED,
                ));
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::ActivityTaskCanceled(a) => {
                references.push(reference(
                    "latest_cancel_requested_event_id",
                    a.latest_cancel_requested_event_id,
                    ACTIVITY_CANCEL_REQUESTED,
                ));
                references.push(reference(
                    "scheduled_event_id",
                    a.scheduled_event_id,
                    ACTIVITY_SCHEDULED,
                ));
                if let Some(started) = a.started_event_id {
                    references.push(reference("started_event_id", started, ACTIVITY_STARTED));
                }
            }
            Self::TimerStarted(a) => references.push(wtc(a.workflow_task_completed_event_id)),
            Self::TimerFired(a) => {
                references.push(reference(
                    "started_event_id",
                    a.started_event_id,
                    TIMER_STARTED,
                ));
            }
            Self::TimerCanceled(a) => {
                references.push(reference(
                    "started_event_id",
                    a.started_event_id,
                    TIMER_STARTED,
                ));
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::RequestCancelExternalWorkflowExecutionInitiated(a) => {
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::RequestCancelExternalWorkflowExecutionFailed(a) => {
                references.push(wtc(a.workflow_task_completed_event_id));
                references.push(reference(
                    "initiated_event_id",
                    a.initiated_event_id,
                    CANCEL_EXTERNAL_INITIATED,
                ));
            }
            Self::ExternalWorkflowExecutionCancelRequested(a) => {
                references.push(reference(
                    "initiated_event_id",
                    a.initiated_event_id,
                    CANCEL_EXTERNAL_INITIATED,
                ));
            }
            Self::MarkerRecorded(a) => references.push(wtc(a.workflow_task_completed_event_id)),
            Self::StartChildWorkflowExecutionInitiated(a) => {
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::StartChildWorkflowExecutionFailed(a) => {
                references.push(reference(
                    "initiated_event_id",
                    a.initiated_event_id,
                    CHILD_INITIATED,
                ));
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::ChildWorkflowExecutionStarted(a) => {
                references.push(reference(
                    "initiated_event_id",
                    a.initiated_event_id,
                    CHILD_INITIATED,
                ));
            }
            Self::ChildWorkflowExecutionCompleted(
                ChildWorkflowExecutionCompletedEventAttributes { child, .. },
            )
            | Self::ChildWorkflowExecutionFailed(ChildWorkflowExecutionFailedEventAttributes {
                child,
                ..
            })
            | Self::ChildWorkflowExecutionCanceled(
                ChildWorkflowExecutionCanceledEventAttributes { child, .. },
            )
            | Self::ChildWorkflowExecutionTimedOut(
                ChildWorkflowExecutionTimedOutEventAttributes { child, .. },
            )
            | Self::ChildWorkflowExecutionTerminated(
                ChildWorkflowExecutionTerminatedEventAttributes { child },
            ) => {
                references.push(reference(
                    "initiated_event_id",
                    child.initiated_event_id,
                    CHILD_INITIATED,
                ));
                references.push(reference(
                    "started_event_id",
                    child.started_event_id,
                    CHILD_STARTED,
                ));
            }
            Self::SignalExternalWorkflowExecutionInitiated(a) => {
                references.push(wtc(a.workflow_task_completed_event_id));
            }
            Self::SignalExternalWorkflowExecutionFailed(a) => {
                references.push(wtc(a.workflow_task_completed_event_id));
                references.push(reference(
                    "initiated_event_id",
                    a.initiated_event_id,
                    SIGNAL_EXTERNAL_INITIATED,
                ));
            }
            Self::ExternalWorkflowExecutionSignaled(a) => {
                references.push(reference(
                    "initiated_event_id",
                    a.initiated_event_id,
                    SIGNAL_EXTERNAL_INITIATED,
                ));
            }
            Self::UpsertWorkflowSearchAttributes(a) => {
                references.push(wtc(a.workflow_task_completed_event_id))
            }
            Self::WorkflowPropertiesModified(a) => {
                references.push(wtc(a.workflow_task_completed_event_id))
            }
            Self::WorkflowExecutionUpdateAccepted(a) => {
                references.push(reference(
                    "accepted_request_sequencing_event_id",
                    a.accepted_request_sequencing_event_id,
                    ANY,
                ));
            }
            Self::WorkflowExecutionUpdateCompleted(a) => {
                references.push(reference(
                    "accepted_event_id",
                    a.accepted_event_id,
                    UPDATE_ACCEPTED,
                ));
            }
        }
        references
    }
}
