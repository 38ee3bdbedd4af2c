//! One fixed sample of every event type, every command type and every other record kind.
//!
//! These values are pinned by the golden files: changing one changes the expected bytes, so
//! a sample is only edited together with a format version bump (see `docs/format.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use endure_core::history::*;
use endure_core::*;

pub(crate) fn id(value: u64) -> EventId {
    EventId::new(value).expect("sample event ids are positive")
}

pub(crate) fn json(value: &str) -> Payloads {
    Payloads::one(Payload::json(value).expect("strings encode"))
}

pub(crate) fn header() -> Header {
    let mut header = Header::new();
    header
        .0
        .insert("trace-id".into(), Payload::json("abc123").expect("json"));
    header
}

pub(crate) fn memo() -> Memo {
    let mut memo = Memo::new();
    memo.0
        .insert("customer".into(), Payload::json("ACME").expect("json"));
    memo
}

pub(crate) fn search_attributes() -> SearchAttributes {
    let mut attributes = SearchAttributes::new();
    attributes.insert("CustomerId", SearchAttributeValue::Keyword("c-42".into()));
    attributes.insert("Amount", SearchAttributeValue::Double(99.5));
    attributes.insert("Priority", SearchAttributeValue::Int(-3));
    attributes.insert(
        "Due",
        SearchAttributeValue::Datetime(Timestamp::from_unix_seconds(1_800_000_000)),
    );
    attributes
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        initial_interval: Duration::from_millis(200),
        backoff_coefficient: 1.5,
        maximum_interval: Some(Duration::from_secs(2)),
        maximum_attempts: 3,
        non_retryable_error_types: vec!["InvalidOrderError".into()],
    }
}

fn execution(workflow_id: &str, run: Option<u128>) -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: WorkflowId::new(workflow_id).expect("valid id"),
        run_id: run.map(RunId::from_u128),
    }
}

pub(crate) fn namespace() -> Namespace {
    Namespace::new("default").expect("valid namespace")
}

pub(crate) fn queue() -> TaskQueueName {
    TaskQueueName::new("my-task-queue").expect("valid queue")
}

pub(crate) fn workflow_type(name: &str) -> WorkflowType {
    WorkflowType::new(name).expect("valid type")
}

/// An activity failure caused by a non-retryable application error with details.
pub fn failure() -> Failure {
    Failure::new(
        "activity error",
        FailureInfo::Activity {
            scheduled_event_id: id(5),
            started_event_id: Some(id(6)),
            identity: "worker-1@host".into(),
            activity_type: ActivityType::new("SendEmail").expect("valid"),
            activity_id: ActivityId::new("1").expect("valid"),
            retry_state: RetryState::NonRetryableFailure,
        },
    )
    .caused_by(
        Failure::application("smtp refused", "SmtpError")
            .non_retryable()
            .with_details(json("550 mailbox unavailable"))
            .with_next_retry_delay(Duration::from_secs(3)),
    )
}

/// The Quick Start's payloads: `("user_123", "Order Created")`.
pub fn payloads() -> Payloads {
    Payloads(vec![
        Payload::json("user_123").expect("json"),
        Payload::json("Order Created").expect("json"),
        Payload::null(),
        Payload::binary(vec![0, 1, 2, 255]),
    ])
}

/// Every field of activity options set.
pub fn activity_options() -> ActivityOptions {
    ActivityOptions {
        activity_id: Some(ActivityId::new("your-activity-id").expect("valid")),
        task_queue: Some(TaskQueueName::new("your-task-queue-name").expect("valid")),
        schedule_to_close_timeout: Some(Duration::from_secs(10)),
        schedule_to_start_timeout: Some(Duration::from_secs(10)),
        start_to_close_timeout: Some(Duration::from_secs(10)),
        heartbeat_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(retry_policy()),
        cancellation_type: ActivityCancellationType::WaitCancellationCompleted,
        original_task_queue: Some(
            TaskQueueName::new("your-original-task-queue-name").expect("valid"),
        ),
        disable_eager_execution: true,
        summary: Some("send the order email".into()),
    }
}

/// Every field of start options set (cron and start delay exclude each other; cron is set).
pub fn start_workflow_options() -> StartWorkflowOptions {
    StartWorkflowOptions {
        id_reuse_policy: WorkflowIdReusePolicy::RejectDuplicate,
        id_conflict_policy: WorkflowIdConflictPolicy::UseExisting,
        request_id: Some(RequestId::new("0f5d6e0a-request").expect("valid")),
        execution_timeout: Some(Duration::from_secs(24 * 365 * 10 * 3600)),
        run_timeout: Some(Duration::from_secs(24 * 3600)),
        task_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(retry_policy()),
        start_delay: None,
        memo: memo(),
        search_attributes: search_attributes(),
        ..StartWorkflowOptions::new(WorkflowId::new("order_42").expect("valid"), queue())
            .with_cron_schedule("0 2 * * mon-fri")
            .expect("valid cron")
    }
}

fn child_ref() -> ChildWorkflowExecutionRef {
    ChildWorkflowExecutionRef {
        namespace: namespace(),
        workflow_execution: execution("child-1", Some(7)),
        workflow_type: workflow_type("ChildWorkflow"),
        initiated_event_id: id(20),
        started_event_id: id(21),
    }
}

pub(crate) fn update_request() -> UpdateRequest {
    UpdateRequest {
        update_id: UpdateId::new("update-1").expect("valid"),
        identity: "client-1".into(),
        name: UpdateName::new("SetDiscount").expect("valid"),
        header: header(),
        args: json("10%"),
    }
}

/// One sample of every event type, in [`EventType::ALL`] order.
pub fn events() -> Vec<EventAttributes> {
    use EventAttributes as E;
    let wtc = id(4);
    vec![
        E::WorkflowExecutionStarted(Box::new(WorkflowExecutionStartedEventAttributes {
            workflow_type: workflow_type("OrderWorkflow"),
            parent: Some(ParentExecutionInfo {
                namespace: namespace(),
                workflow_execution: execution("parent", Some(9)),
                initiated_event_id: id(12),
            }),
            task_queue: queue(),
            input: json("user_123"),
            workflow_execution_timeout: Some(Duration::from_secs(3600)),
            workflow_run_timeout: Some(Duration::from_secs(1800)),
            workflow_task_timeout: Duration::from_secs(10),
            continued_execution_run_id: Some(RunId::from_u128(3)),
            initiator: Some(ContinueAsNewInitiator::Retry),
            continued_failure: Some(failure()),
            last_completion_result: Some(json("previous")),
            original_execution_run_id: RunId::from_u128(4),
            identity: "client-1".into(),
            first_execution_run_id: RunId::from_u128(1),
            retry_policy: Some(retry_policy()),
            attempt: 2,
            workflow_execution_expiration_time: Some(Timestamp::from_unix_seconds(1_800_003_600)),
            cron_schedule: Some(CronSchedule::parse("@daily").expect("valid")),
            first_workflow_task_backoff: Some(Duration::from_millis(1500)),
            memo: memo(),
            search_attributes: search_attributes(),
            header: header(),
        })),
        E::WorkflowExecutionCompleted(WorkflowExecutionCompletedEventAttributes {
            result: Some(json("done")),
            workflow_task_completed_event_id: wtc,
            new_execution_run_id: Some(RunId::from_u128(5)),
        }),
        E::WorkflowExecutionFailed(WorkflowExecutionFailedEventAttributes {
            failure: failure(),
            retry_state: RetryState::InProgress,
            workflow_task_completed_event_id: wtc,
            new_execution_run_id: Some(RunId::from_u128(6)),
        }),
        E::WorkflowExecutionTimedOut(WorkflowExecutionTimedOutEventAttributes {
            retry_state: RetryState::Timeout,
            new_execution_run_id: None,
        }),
        E::WorkflowTaskScheduled(WorkflowTaskScheduledEventAttributes {
            task_queue: TaskQueue::sticky(
                TaskQueueName::new("sticky-worker-1").expect("valid"),
                queue(),
            ),
            start_to_close_timeout: Duration::from_secs(10),
            attempt: 3,
        }),
        E::WorkflowTaskStarted(WorkflowTaskStartedEventAttributes {
            scheduled_event_id: id(2),
            identity: "worker-1@host".into(),
            request_id: "poll-77".into(),
            suggest_continue_as_new: true,
            history_size_bytes: 4_194_305,
        }),
        E::WorkflowTaskCompleted(WorkflowTaskCompletedEventAttributes {
            scheduled_event_id: id(2),
            started_event_id: id(3),
            identity: "worker-1@host".into(),
            sdk_metadata: SdkMetadata {
                flags: vec![1, 3],
                sdk_name: "endure".into(),
                sdk_version: "0.1.0".into(),
            },
            worker_deployment_version: Some(
                endure_core::versioning::WorkerDeploymentVersion::new("orders", "2026.12.1")
                    .unwrap(),
            ),
            versioning_behavior: endure_core::VersioningBehavior::Pinned,
        }),
        E::WorkflowTaskTimedOut(WorkflowTaskTimedOutEventAttributes {
            scheduled_event_id: id(2),
            started_event_id: None,
            timeout_type: TimeoutType::ScheduleToStart,
        }),
        E::WorkflowTaskFailed(WorkflowTaskFailedEventAttributes {
            scheduled_event_id: id(2),
            started_event_id: id(3),
            cause: WorkflowTaskFailedCause::ResetWorkflow,
            failure: Some(Failure::application("reset", "Reset")),
            identity: "reset".into(),
            base_run_id: Some(RunId::from_u128(10)),
            new_run_id: Some(RunId::from_u128(11)),
        }),
        E::ActivityTaskScheduled(Box::new(ActivityTaskScheduledEventAttributes {
            activity_id: ActivityId::new("1").expect("valid"),
            activity_type: ActivityType::new("SendEmail").expect("valid"),
            task_queue: queue(),
            header: header(),
            input: payloads(),
            schedule_to_close_timeout: Some(Duration::from_secs(60)),
            schedule_to_start_timeout: Some(Duration::from_secs(60)),
            start_to_close_timeout: Duration::from_secs(10),
            heartbeat_timeout: Some(Duration::from_secs(2)),
            workflow_task_completed_event_id: wtc,
            retry_policy: retry_policy(),
        })),
        E::ActivityTaskStarted(ActivityTaskStartedEventAttributes {
            scheduled_event_id: id(5),
            identity: "worker-2@host".into(),
            request_id: "poll-78".into(),
            attempt: 3,
            last_failure: Some(Failure::timeout(TimeoutType::Heartbeat)),
        }),
        E::ActivityTaskCompleted(ActivityTaskCompletedEventAttributes {
            result: Some(json("sent")),
            scheduled_event_id: id(5),
            started_event_id: id(6),
            identity: "worker-2@host".into(),
        }),
        E::ActivityTaskFailed(ActivityTaskFailedEventAttributes {
            failure: Failure::application("bad order", "InvalidOrderError"),
            scheduled_event_id: id(5),
            started_event_id: id(6),
            identity: "worker-2@host".into(),
            retry_state: RetryState::NonRetryableFailure,
        }),
        E::ActivityTaskTimedOut(ActivityTaskTimedOutEventAttributes {
            failure: Failure::timeout(TimeoutType::ScheduleToClose)
                .caused_by(Failure::timeout(TimeoutType::StartToClose)),
            scheduled_event_id: id(5),
            started_event_id: Some(id(6)),
            retry_state: RetryState::Timeout,
        }),
        E::ActivityTaskCancelRequested(ActivityTaskCancelRequestedEventAttributes {
            scheduled_event_id: id(5),
            workflow_task_completed_event_id: id(10),
        }),
        E::ActivityTaskCanceled(ActivityTaskCanceledEventAttributes {
            details: Some(json("cleaned up")),
            latest_cancel_requested_event_id: id(11),
            scheduled_event_id: id(5),
            started_event_id: Some(id(6)),
            identity: "worker-2@host".into(),
        }),
        E::TimerStarted(TimerStartedEventAttributes {
            timer_id: TimerId::new("1").expect("valid"),
            start_to_fire_timeout: Duration::from_secs(5),
            workflow_task_completed_event_id: wtc,
        }),
        E::TimerFired(TimerFiredEventAttributes {
            timer_id: TimerId::new("1").expect("valid"),
            started_event_id: id(5),
        }),
        E::TimerCanceled(TimerCanceledEventAttributes {
            timer_id: TimerId::new("1").expect("valid"),
            started_event_id: id(5),
            workflow_task_completed_event_id: id(10),
            identity: "worker-1@host".into(),
        }),
        E::WorkflowExecutionCancelRequested(WorkflowExecutionCancelRequestedEventAttributes {
            cause: "customer cancelled".into(),
            external_initiated_event_id: Some(id(30)),
            external_workflow_execution: Some(execution("parent", Some(9))),
            identity: "client-1".into(),
        }),
        E::WorkflowExecutionCanceled(WorkflowExecutionCanceledEventAttributes {
            workflow_task_completed_event_id: wtc,
            details: Some(json("cancelled")),
        }),
        E::RequestCancelExternalWorkflowExecutionInitiated(
            RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                workflow_task_completed_event_id: wtc,
                namespace: namespace(),
                workflow_execution: execution("other", None),
                child_workflow_only: true,
                reason: "no longer needed".into(),
            },
        ),
        E::RequestCancelExternalWorkflowExecutionFailed(
            RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                cause:
                    CancelExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound,
                workflow_task_completed_event_id: wtc,
                namespace: namespace(),
                workflow_execution: execution("other", None),
                initiated_event_id: id(5),
            },
        ),
        E::ExternalWorkflowExecutionCancelRequested(
            ExternalWorkflowExecutionCancelRequestedEventAttributes {
                initiated_event_id: id(5),
                namespace: namespace(),
                workflow_execution: execution("other", Some(12)),
            },
        ),
        E::MarkerRecorded(MarkerRecordedEventAttributes {
            marker_name: MarkerName::new("Version").expect("valid"),
            details: BTreeMap::from([
                ("change_id".to_owned(), json("add-discount")),
                (
                    "version".to_owned(),
                    Payloads::one(Payload::json(&1).expect("json")),
                ),
            ]),
            workflow_task_completed_event_id: wtc,
            header: header(),
            failure: None,
        }),
        E::WorkflowExecutionSignaled(WorkflowExecutionSignaledEventAttributes {
            signal_name: SignalName::new("approve").expect("valid"),
            input: json("yes"),
            identity: "client-1".into(),
            header: header(),
            request_id: Some(RequestId::new("signal-req-1").expect("valid")),
            external_workflow_execution: Some(execution("other", Some(13))),
        }),
        E::WorkflowExecutionTerminated(WorkflowExecutionTerminatedEventAttributes {
            reason: "operator request".into(),
            details: Some(json("ticket 42")),
            identity: "cli".into(),
        }),
        E::WorkflowExecutionContinuedAsNew(Box::new(
            WorkflowExecutionContinuedAsNewEventAttributes {
                new_execution_run_id: RunId::from_u128(14),
                workflow_type: workflow_type("OrderWorkflow"),
                task_queue: queue(),
                input: json("next"),
                workflow_run_timeout: Some(Duration::from_secs(1800)),
                workflow_task_timeout: Duration::from_secs(10),
                workflow_task_completed_event_id: wtc,
                backoff_start_interval: Some(Duration::from_secs(1)),
                initiator: ContinueAsNewInitiator::Workflow,
                failure: None,
                last_completion_result: Some(json("carried")),
                header: header(),
                memo: memo(),
                search_attributes: search_attributes(),
            },
        )),
        E::StartChildWorkflowExecutionInitiated(Box::new(
            StartChildWorkflowExecutionInitiatedEventAttributes {
                namespace: namespace(),
                workflow_id: WorkflowId::new("child-1").expect("valid"),
                workflow_type: workflow_type("ChildWorkflow"),
                task_queue: queue(),
                input: json("child input"),
                workflow_execution_timeout: Some(Duration::from_secs(600)),
                workflow_run_timeout: Some(Duration::from_secs(300)),
                workflow_task_timeout: Some(Duration::from_secs(5)),
                parent_close_policy: ParentClosePolicy::RequestCancel,
                workflow_task_completed_event_id: wtc,
                workflow_id_reuse_policy: WorkflowIdReusePolicy::AllowDuplicateFailedOnly,
                retry_policy: Some(retry_policy()),
                cron_schedule: None,
                header: header(),
                memo: memo(),
                search_attributes: search_attributes(),
            },
        )),
        E::StartChildWorkflowExecutionFailed(StartChildWorkflowExecutionFailedEventAttributes {
            namespace: namespace(),
            workflow_id: WorkflowId::new("child-1").expect("valid"),
            workflow_type: workflow_type("ChildWorkflow"),
            cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists,
            initiated_event_id: id(5),
            workflow_task_completed_event_id: wtc,
        }),
        E::ChildWorkflowExecutionStarted(ChildWorkflowExecutionStartedEventAttributes {
            namespace: namespace(),
            initiated_event_id: id(5),
            workflow_execution: execution("child-1", Some(7)),
            workflow_type: workflow_type("ChildWorkflow"),
            header: header(),
        }),
        E::ChildWorkflowExecutionCompleted(ChildWorkflowExecutionCompletedEventAttributes {
            child: child_ref(),
            result: Some(json("child done")),
        }),
        E::ChildWorkflowExecutionFailed(ChildWorkflowExecutionFailedEventAttributes {
            child: child_ref(),
            failure: failure(),
            retry_state: RetryState::MaximumAttemptsReached,
        }),
        E::ChildWorkflowExecutionCanceled(ChildWorkflowExecutionCanceledEventAttributes {
            child: child_ref(),
            details: None,
        }),
        E::ChildWorkflowExecutionTimedOut(ChildWorkflowExecutionTimedOutEventAttributes {
            child: child_ref(),
            retry_state: RetryState::RetryPolicyNotSet,
        }),
        E::ChildWorkflowExecutionTerminated(ChildWorkflowExecutionTerminatedEventAttributes {
            child: child_ref(),
        }),
        E::SignalExternalWorkflowExecutionInitiated(
            SignalExternalWorkflowExecutionInitiatedEventAttributes {
                workflow_task_completed_event_id: wtc,
                namespace: namespace(),
                workflow_execution: execution("other", None),
                signal_name: SignalName::new("approve").expect("valid"),
                input: json("from a workflow"),
                child_workflow_only: false,
                header: header(),
            },
        ),
        E::SignalExternalWorkflowExecutionFailed(
            SignalExternalWorkflowExecutionFailedEventAttributes {
                cause: SignalExternalWorkflowExecutionFailedCause::SignalCountLimitExceeded,
                workflow_task_completed_event_id: wtc,
                namespace: namespace(),
                workflow_execution: execution("other", None),
                initiated_event_id: id(5),
            },
        ),
        E::ExternalWorkflowExecutionSignaled(ExternalWorkflowExecutionSignaledEventAttributes {
            initiated_event_id: id(5),
            namespace: namespace(),
            workflow_execution: execution("other", Some(15)),
        }),
        E::UpsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesEventAttributes {
            workflow_task_completed_event_id: wtc,
            search_attributes: search_attributes(),
        }),
        E::WorkflowExecutionUpdateAccepted(WorkflowExecutionUpdateAcceptedEventAttributes {
            protocol_instance_id: "update-1".into(),
            accepted_request_message_id: "update-1/request".into(),
            accepted_request_sequencing_event_id: id(3),
            accepted_request: update_request(),
        }),
        E::WorkflowExecutionUpdateCompleted(WorkflowExecutionUpdateCompletedEventAttributes {
            update_id: UpdateId::new("update-1").expect("valid"),
            accepted_event_id: id(5),
            outcome: UpdateOutcome::Failure(Failure::application("too late", "Rejected")),
        }),
        E::WorkflowPropertiesModified(WorkflowPropertiesModifiedEventAttributes {
            workflow_task_completed_event_id: wtc,
            upserted_memo: memo(),
        }),
        E::WorkflowExecutionUpdateAdmitted(WorkflowExecutionUpdateAdmittedEventAttributes {
            request: update_request(),
            origin: UpdateAdmittedEventOrigin::Reapply,
        }),
        E::WorkflowExecutionOptionsUpdated(
            endure_core::history::WorkflowExecutionOptionsUpdatedEventAttributes {
                versioning_override: Some(endure_core::versioning::VersioningOverride::Pinned(
                    endure_core::versioning::WorkerDeploymentVersion::new("orders", "2026.12.2")
                        .expect("valid"),
                )),
                unset_versioning_override: false,
                identity: "operator".into(),
            },
        ),
    ]
}

/// One sample of every command type, in [`CommandType::ALL`] order.
pub fn commands() -> Vec<Command> {
    vec![
        Command::ScheduleActivityTask(Box::new(ScheduleActivityTaskCommandAttributes {
            activity_id: ActivityId::new("1").expect("valid"),
            activity_type: ActivityType::new("SendEmail").expect("valid"),
            task_queue: Some(queue()),
            header: header(),
            input: payloads(),
            schedule_to_close_timeout: None,
            schedule_to_start_timeout: Some(Duration::from_secs(30)),
            start_to_close_timeout: Some(Duration::from_secs(10)),
            heartbeat_timeout: None,
            retry_policy: Some(retry_policy()),
            request_eager_execution: true,
        })),
        Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
            scheduled_event_id: id(5),
        }),
        Command::StartTimer(StartTimerCommandAttributes {
            timer_id: TimerId::new("1").expect("valid"),
            start_to_fire_timeout: Duration::from_secs(5),
        }),
        Command::CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes {
            result: Some(json("workflow_completed_sent")),
        }),
        Command::FailWorkflowExecution(FailWorkflowExecutionCommandAttributes {
            failure: failure(),
        }),
        Command::CancelTimer(CancelTimerCommandAttributes {
            timer_id: TimerId::new("1").expect("valid"),
        }),
        Command::CancelWorkflowExecution(CancelWorkflowExecutionCommandAttributes {
            details: None,
        }),
        Command::RequestCancelExternalWorkflowExecution(
            RequestCancelExternalWorkflowExecutionCommandAttributes {
                namespace: Some(namespace()),
                workflow_execution: execution("other", Some(12)),
                child_workflow_only: false,
                reason: "no longer needed".into(),
            },
        ),
        Command::RecordMarker(RecordMarkerCommandAttributes {
            marker_name: MarkerName::new("SideEffect").expect("valid"),
            details: BTreeMap::from([("data".to_owned(), json("uuid-1234"))]),
            header: Header::new(),
            failure: None,
        }),
        Command::ContinueAsNewWorkflowExecution(Box::new(
            ContinueAsNewWorkflowExecutionCommandAttributes {
                workflow_type: None,
                task_queue: Some(queue()),
                input: json("next"),
                workflow_run_timeout: None,
                workflow_task_timeout: Some(Duration::from_secs(10)),
                backoff_start_interval: None,
                retry_policy: None,
                cron_schedule: None,
                header: header(),
                memo: Some(memo()),
                search_attributes: None,
            },
        )),
        Command::StartChildWorkflowExecution(Box::new(
            StartChildWorkflowExecutionCommandAttributes {
                namespace: None,
                workflow_id: WorkflowId::new("child-1").expect("valid"),
                workflow_type: workflow_type("ChildWorkflow"),
                task_queue: None,
                input: json("child input"),
                workflow_execution_timeout: None,
                workflow_run_timeout: Some(Duration::from_secs(300)),
                workflow_task_timeout: None,
                parent_close_policy: ParentClosePolicy::Abandon,
                workflow_id_reuse_policy: WorkflowIdReusePolicy::AllowDuplicate,
                retry_policy: None,
                cron_schedule: Some(CronSchedule::parse("*/5 * * * *").expect("valid")),
                header: header(),
                memo: memo(),
                search_attributes: search_attributes(),
            },
        )),
        Command::SignalExternalWorkflowExecution(
            SignalExternalWorkflowExecutionCommandAttributes {
                namespace: None,
                workflow_execution: execution("other", None),
                signal_name: SignalName::new("approve").expect("valid"),
                input: json("from a workflow"),
                child_workflow_only: true,
                header: header(),
            },
        ),
        Command::UpsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesCommandAttributes {
            search_attributes: search_attributes(),
        }),
        Command::ProtocolMessage(ProtocolMessageCommandAttributes {
            message_id: "update-1/accept".into(),
        }),
        Command::ModifyWorkflowProperties(ModifyWorkflowPropertiesCommandAttributes {
            upserted_memo: memo(),
        }),
    ]
}

/// A sample of every stored row kind.
pub struct StorageRows {
    pub namespace_record: endure_core::namespace::NamespaceRecord,
    pub row: endure_core::storage::ExecutionRow,
    pub current: endure_core::storage::CurrentRun,
    pub dispatch: endure_core::storage::DispatchRow,
    pub request: endure_core::storage::RequestRecord,
    pub visibility: endure_core::storage::VisibilityRow,
}

/// The golden files of every stored row kind.
pub fn storage_rows() -> Vec<crate::golden::Golden> {
    use crate::golden::golden;
    let rows = storage_row_values();
    vec![
        golden("storage-namespace-record".into(), rows.namespace_record),
        golden("storage-execution-row".into(), rows.row),
        golden("storage-current-run".into(), rows.current),
        golden("storage-dispatch-row".into(), rows.dispatch),
        golden("storage-request-record".into(), rows.request),
        golden("storage-visibility-row".into(), rows.visibility),
    ]
}

/// A sample of every stored row kind.
pub fn storage_row_values() -> StorageRows {
    use endure_core::storage::*;
    let execution = ExecutionKey {
        namespace: namespace(),
        workflow_id: WorkflowId::new("order_42").expect("valid"),
        run_id: RunId::from_u128(0x0191c2a4_7b1e_7c3d_9e0f_123456789abc),
    };
    let row = ExecutionRow {
        key: execution.clone(),
        shard: ShardId(3),
        db_version: 7,
        next_event_id: id(17),
        status: WorkflowExecutionStatus::Running,
        state: vec![1, 2, 3, 250],
    };
    let current = CurrentRun {
        run_id: execution.run_id,
        status: WorkflowExecutionStatus::Completed,
        start_request_id: Some(RequestId::new("start-1").expect("valid")),
    };
    let dispatch = DispatchRow {
        namespace: namespace(),
        task_queue: queue(),
        task_id: 4_294_967_301,
        execution: execution.clone(),
        task: DispatchTask::ActivityTask {
            scheduled_event_id: id(5),
            attempt: 2,
        },
        directive: None,
    };
    let request = RequestRecord {
        namespace: namespace(),
        workflow_id: execution.workflow_id.clone(),
        request_id: RequestId::new("signal-req-1").expect("valid"),
        run_id: execution.run_id,
    };
    let visibility = VisibilityRow {
        execution,
        workflow_type: workflow_type("OrderWorkflow"),
        task_queue: queue(),
        status: WorkflowExecutionStatus::Completed,
        start_time: Timestamp::from_unix_seconds(1_795_860_000),
        close_time: Some(Timestamp::from_unix_seconds(1_795_860_005)),
        memo: memo(),
        search_attributes: search_attributes(),
    };
    let namespace_record = NamespaceRecord {
        name: Namespace::new("orders").expect("valid"),
        config: endure_core::namespace::NamespaceConfig {
            description: "order intake".into(),
            owner_email: "orders@example.com".into(),
            retention: std::time::Duration::from_secs(7 * 86_400),
        },
        created: Timestamp::from_unix_seconds(1_795_860_000),
        updated: Timestamp::from_unix_seconds(1_795_860_100),
        version: 2,
        deployments: {
            use endure_core::versioning::{WorkerDeployment, WorkerDeploymentVersion};
            let at = Timestamp::from_unix_seconds(1_795_860_050);
            let mut deployment = WorkerDeployment::new("orders", at);
            let v1 = WorkerDeploymentVersion::new("orders", "2026.12.1").expect("valid");
            let v2 = WorkerDeploymentVersion::new("orders", "2026.12.2").expect("valid");
            let queue = endure_core::TaskQueueName::new("orders").expect("valid");
            deployment.record_poll(&v1, &queue, at);
            deployment.record_poll(&v2, &queue, at);
            deployment
                .set_current(Some(&v1), "operator", at)
                .expect("known");
            deployment
                .set_ramping(Some(&v2), 30.0, "operator", at)
                .expect("known");
            std::collections::BTreeMap::from([("orders".to_owned(), deployment)])
        },
        search_attributes: std::collections::BTreeMap::from([
            (
                "CustomerTier".to_owned(),
                endure_core::attribute_registry::SearchAttributeType::Keyword,
            ),
            (
                "Amount".to_owned(),
                endure_core::attribute_registry::SearchAttributeType::Int,
            ),
        ]),
    };
    StorageRows {
        namespace_record,
        row,
        current,
        dispatch,
        request,
        visibility,
    }
}

/// The execution machine of a Quick Start run with its activity scheduled and running.
pub fn execution_machine() -> endure_core::execution::ExecutionMachine {
    use endure_core::execution::*;
    let start = Timestamp::from_unix_seconds(1_795_860_000);
    let options = StartWorkflowOptions::new(WorkflowId::new("order_42").expect("valid"), queue());
    let request = StartRequest::from_options(
        namespace(),
        &options,
        RunId::from_u128(1),
        workflow_type("OrderWorkflow"),
        json("user_123"),
        header(),
        "client".into(),
        start,
    )
    .expect("valid start");
    let (mut machine, _) = ExecutionMachine::start(request, start);
    // An update delivered with the first task and accepted by it (format version 2).
    machine
        .apply(
            Input::Update {
                request: update_request(),
                ends_start_delay: false,
            },
            start,
        )
        .expect("admitted");
    let scheduled_event_id = machine
        .workflow_task()
        .expect("first task")
        .scheduled_event_id;
    let effects = machine
        .apply(
            Input::WorkflowTaskStarted {
                scheduled_event_id,
                request_id: "poll-1".into(),
                identity: "worker".into(),
            },
            start,
        )
        .expect("started");
    let Reply::WorkflowTaskStarted(started) = effects.reply else {
        panic!("not started")
    };
    let Command::ScheduleActivityTask(mut activity) = commands().remove(0) else {
        panic!("first sample command schedules an activity")
    };
    // Taken by a poll below (the golden machine's activity started with the poll's request
    // id), not started eagerly by the completion.
    activity.request_eager_execution = false;
    machine
        .apply(
            Input::WorkflowTaskCompleted(Box::new(WorkflowTaskCompletion {
                token: started.token,
                commands: vec![
                    Command::ProtocolMessage(ProtocolMessageCommandAttributes {
                        message_id: "update-1/accept".into(),
                    }),
                    Command::ScheduleActivityTask(activity),
                ],
                identity: "worker".into(),
                sticky: None,
                force_create_workflow_task: false,
                sdk_metadata: Default::default(),
                next_run_id: RunId::from_u128(2),
                messages: vec![UpdateMessage {
                    id: "update-1/accept".into(),
                    update_id: update_request().update_id,
                    body: UpdateMessageBody::Acceptance,
                }],
                deployment_version: None,
                versioning_behavior: Default::default(),
            })),
            start,
        )
        .expect("completed");
    let token = machine
        .activities()
        .values()
        .next()
        .expect("scheduled")
        .current_token();
    machine
        .apply(
            Input::ActivityTaskStarted {
                token,
                request_id: "activity-poll".into(),
                identity: "worker".into(),
            },
            start,
        )
        .expect("activity started");
    machine
}
