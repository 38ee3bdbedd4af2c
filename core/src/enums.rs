//! The small enumerations of Temporal's model, with Temporal's names and defaults.
//!
//! Persisted enums are encoded by variant position, so variants are only ever appended;
//! a retired variant stays in place, marked reserved (`ARCHITECTURE.md`, codec).

use serde::{Deserialize, Serialize};

/// Declares a fieldless enum with the derives every persisted enum needs.
macro_rules! persisted_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident $(= $value:literal)?,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
        pub enum $name {
            $($(#[$vmeta])* $variant $(= $value)?,)+
        }
    };
}

persisted_enum!(
    /// Which timeout fired.
    TimeoutType {
        /// The task ran longer than its start-to-close timeout.
        StartToClose,
        /// The task waited in its queue longer than its schedule-to-start timeout.
        ScheduleToStart,
        /// The task, retries included, took longer than its schedule-to-close timeout.
        ScheduleToClose,
        /// The activity did not heartbeat within its heartbeat timeout.
        Heartbeat,
    }
);

persisted_enum!(
    /// Why retrying stopped (or that it goes on), as recorded on failure events.
    RetryState {
        /// A retry is scheduled.
        InProgress,
        /// The failure was non-retryable (flag or type list).
        NonRetryableFailure,
        /// The next attempt would exceed the schedule-to-close or execution timeout.
        Timeout,
        /// The maximum number of attempts was reached.
        MaximumAttemptsReached,
        /// There is no retry policy (workflows retry only with one).
        RetryPolicyNotSet,
        /// An internal error stopped retrying.
        InternalServerError,
        /// Cancellation was requested, so no further attempt is made.
        CancelRequested,
    }
);

persisted_enum!(
    /// What happens to a child workflow when its parent closes (spec §5.20).
    #[derive(Default)]
    ParentClosePolicy {
        /// Terminate the child (Temporal's default).
        #[default]
        Terminate,
        /// Leave the child running.
        Abandon,
        /// Request the child's cancellation.
        RequestCancel,
    }
);

persisted_enum!(
    /// What started a run that continues an earlier one.
    ContinueAsNewInitiator {
        /// The workflow code continued as new.
        Workflow,
        /// The workflow's retry policy started a new attempt.
        Retry,
        /// The cron schedule started the next run.
        CronSchedule,
    }
);

persisted_enum!(
    /// The state of a workflow run, as describe and list show it.
    WorkflowExecutionStatus {
        /// Open.
        Running,
        /// Closed by CompleteWorkflowExecution.
        Completed,
        /// Closed by FailWorkflowExecution.
        Failed,
        /// Closed by CancelWorkflowExecution.
        Canceled,
        /// Closed by terminate.
        Terminated,
        /// Closed by continue-as-new; a new run goes on.
        ContinuedAsNew,
        /// Closed by the run or execution timeout.
        TimedOut,
    }
);

impl WorkflowExecutionStatus {
    /// Every status.
    pub const ALL: [Self; 7] = [
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Canceled,
        Self::Terminated,
        Self::ContinuedAsNew,
        Self::TimedOut,
    ];

    /// Whether the run is closed.
    pub fn is_closed(self) -> bool {
        self != Self::Running
    }
}

persisted_enum!(
    /// Why a workflow task failed, with Temporal's numbering (`WorkflowTaskFailedCause`).
    WorkflowTaskFailedCause {
        /// A closing command arrived while new events were buffered.
        UnhandledCommand = 1,
        /// ScheduleActivityTask attributes were invalid.
        BadScheduleActivityAttributes = 2,
        /// RequestCancelActivityTask attributes were invalid.
        BadRequestCancelActivityAttributes = 3,
        /// StartTimer attributes were invalid.
        BadStartTimerAttributes = 4,
        /// CancelTimer attributes were invalid.
        BadCancelTimerAttributes = 5,
        /// RecordMarker attributes were invalid.
        BadRecordMarkerAttributes = 6,
        /// CompleteWorkflowExecution attributes were invalid.
        BadCompleteWorkflowExecutionAttributes = 7,
        /// FailWorkflowExecution attributes were invalid.
        BadFailWorkflowExecutionAttributes = 8,
        /// CancelWorkflowExecution attributes were invalid.
        BadCancelWorkflowExecutionAttributes = 9,
        /// RequestCancelExternalWorkflowExecution attributes were invalid.
        BadRequestCancelExternalWorkflowExecutionAttributes = 10,
        /// ContinueAsNewWorkflowExecution attributes were invalid.
        BadContinueAsNewAttributes = 11,
        /// StartTimer reused the id of an open timer.
        StartTimerDuplicateId = 12,
        /// The sticky queue was reset.
        ResetStickyTaskQueue = 13,
        /// The workflow code failed (panic, error other than a workflow failure).
        WorkflowWorkerUnhandledFailure = 14,
        /// SignalExternalWorkflowExecution attributes were invalid.
        BadSignalWorkflowExecutionAttributes = 15,
        /// StartChildWorkflowExecution attributes were invalid.
        BadStartChildExecutionAttributes = 16,
        /// The run was force-closed.
        ForceCloseCommand = 17,
        /// The run was closed by a failover.
        FailoverCloseCommand = 18,
        /// A signal's input was too large.
        BadSignalInputSize = 19,
        /// The run was reset (written with the base and new run ids).
        ResetWorkflow = 20,
        /// The worker's binary was marked bad.
        BadBinary = 21,
        /// ScheduleActivityTask reused the id of an open activity.
        ScheduleActivityDuplicateId = 22,
        /// UpsertWorkflowSearchAttributes attributes were invalid.
        BadSearchAttributes = 23,
        /// Replay did not match history.
        NonDeterministicError = 24,
        /// ModifyWorkflowProperties attributes were invalid.
        BadModifyWorkflowPropertiesAttributes = 25,
        /// Too many pending child workflows.
        PendingChildWorkflowsLimitExceeded = 26,
        /// Too many pending activities.
        PendingActivitiesLimitExceeded = 27,
        /// Too many pending signals to external workflows.
        PendingSignalsLimitExceeded = 28,
        /// Too many pending cancel requests to external workflows.
        PendingRequestCancelLimitExceeded = 29,
        /// An update acceptance or response was invalid.
        BadUpdateWorkflowExecutionMessage = 30,
        /// An update arrived that the completion did not handle.
        UnhandledUpdate = 31,
        /// A completion message was over the message size limit.
        GrpcMessageTooLarge = 36,
        /// A payload in the completion was over the payload size limit.
        PayloadsTooLarge = 37,
    }
);

persisted_enum!(
    /// The kind of a task queue.
    #[derive(Default)]
    TaskQueueKind {
        /// A queue named by users, polled by every worker of it.
        #[default]
        Normal,
        /// One worker's queue for the workflows it has cached.
        Sticky,
    }
);

persisted_enum!(
    /// What a start does when the workflow id's last run is *closed*.
    #[derive(Default)]
    WorkflowIdReusePolicy {
        /// Start a new run whatever the last run's outcome (default).
        #[default]
        AllowDuplicate,
        /// Start a new run only if the last run failed, was canceled, terminated or timed out.
        AllowDuplicateFailedOnly,
        /// Never reuse the id.
        RejectDuplicate,
        /// Deprecated by the conflict policy: terminate a running run and start.
        TerminateIfRunning,
    }
);

persisted_enum!(
    /// What a start does when the workflow id has a *running* run.
    #[derive(Default)]
    WorkflowIdConflictPolicy {
        /// Refuse with an already-started error naming the running run (default for start).
        #[default]
        Fail,
        /// Return the running run instead of starting one (default for signal-with-start).
        UseExisting,
        /// Terminate the running run and start a new one.
        TerminateExisting,
    }
);

persisted_enum!(
    /// How a workflow waits when it cancels one of its activities (spec §5.12).
    #[derive(Default)]
    ActivityCancellationType {
        /// Request cancellation and resolve the activity as canceled at once (default).
        #[default]
        TryCancel,
        /// Request cancellation and wait until the activity confirms it
        /// (Go's `WaitForCancellation: true`).
        WaitCancellationCompleted,
        /// Resolve as canceled at once without telling the server.
        Abandon,
    }
);

persisted_enum!(
    /// How a parent waits when it cancels a child workflow.
    #[derive(Default)]
    ChildWorkflowCancellationType {
        /// Do not request cancellation of the child; resolve as canceled at once.
        Abandon,
        /// Request cancellation and resolve as canceled at once.
        TryCancel,
        /// Request cancellation and wait for the child to close.
        WaitCancellationCompleted,
        /// Request cancellation and wait until the request is delivered (default).
        #[default]
        WaitCancellationRequested,
    }
);

persisted_enum!(
    /// Why a child workflow could not be started.
    StartChildWorkflowExecutionFailedCause {
        /// The id-reuse or conflict policy refused the workflow id.
        WorkflowAlreadyExists,
        /// The child's namespace does not exist.
        NamespaceNotFound,
    }
);

persisted_enum!(
    /// Why a cancel request to another workflow failed.
    CancelExternalWorkflowExecutionFailedCause {
        /// No such workflow (or it is already closed).
        ExternalWorkflowExecutionNotFound,
        /// The namespace does not exist.
        NamespaceNotFound,
    }
);

persisted_enum!(
    /// Why a signal to another workflow failed.
    SignalExternalWorkflowExecutionFailedCause {
        /// No such workflow (or it is already closed).
        ExternalWorkflowExecutionNotFound,
        /// The namespace does not exist.
        NamespaceNotFound,
        /// The target has received its maximum number of signals.
        SignalCountLimitExceeded,
    }
);

persisted_enum!(
    /// Why an UpdateAdmitted event exists.
    UpdateAdmittedEventOrigin {
        /// The update was reapplied from an earlier run by a reset.
        Reapply,
    }
);

persisted_enum!(
    /// When a query is refused instead of answered.
    #[derive(Default)]
    QueryRejectCondition {
        /// Never refuse.
        #[default]
        None,
        /// Refuse if the workflow is closed.
        NotOpen,
        /// Refuse if the workflow closed other than by completing.
        NotCompletedCleanly,
    }
);

persisted_enum!(
    /// How a workflow type's runs follow new versions (Temporal's `VersioningBehavior`).
    #[derive(Default)]
    VersioningBehavior {
        /// Not versioned: the run goes wherever its queue's tasks go.
        #[default]
        Unspecified,
        /// A run stays on the version it started on until it closes.
        Pinned,
        /// A run moves to the deployment's current version at its next workflow task.
        AutoUpgrade,
    }
);
