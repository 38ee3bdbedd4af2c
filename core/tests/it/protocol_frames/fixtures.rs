//! The fixed values the RPC samples are built from.

use std::time::Duration;

use endure_core::execution::*;
use endure_core::history::ActivityTaskScheduledEventAttributes;
use endure_core::protocol::*;
use endure_core::*;

use crate::samples::{self, header, id, json, namespace, queue, update_request, workflow_type};

pub(super) fn run() -> RunId {
    RunId::from_u128(0x0191c2a4_7b1e_7c3d_9e0f_123456789abc)
}

pub(super) fn workflow_id() -> WorkflowId {
    WorkflowId::new("order_42").unwrap()
}

pub(super) fn execution() -> ExecutionKey {
    ExecutionKey {
        namespace: namespace(),
        workflow_id: workflow_id(),
        run_id: run(),
    }
}

pub(super) fn start() -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: namespace(),
        options: samples::start_workflow_options(),
        workflow_type: workflow_type("OrderWorkflow"),
        input: samples::payloads(),
        header: header(),
        identity: "client-1".into(),
    }
}

pub(super) fn signal() -> SignalRequest {
    SignalRequest {
        signal_name: SignalName::new("approve").unwrap(),
        input: json("yes"),
        identity: "client-1".into(),
        header: header(),
        request_id: Some(RequestId::new("signal-1").unwrap()),
    }
}

pub(super) fn update() -> UpdateWorkflowRequest {
    UpdateWorkflowRequest {
        namespace: namespace(),
        workflow_id: workflow_id(),
        run_id: None,
        request: update_request(),
        wait_for: UpdateStage::Completed,
    }
}

pub(super) fn update_response() -> Box<UpdateWorkflowResponse> {
    Box::new(UpdateWorkflowResponse {
        run_id: run(),
        stage: UpdateStage::Completed,
        outcome: Some(UpdateOutcome::Success(json("done"))),
    })
}

pub(super) fn workflow_token() -> WorkflowTaskToken {
    WorkflowTaskToken {
        scheduled_event_id: id(2),
        started_event_id: id(3),
        attempt: 1,
    }
}

pub(super) fn activity_token() -> ActivityTaskToken {
    ActivityTaskToken {
        scheduled_event_id: id(5),
        attempt: 2,
    }
}

pub(super) fn scheduled_activity() -> ActivityTaskScheduledEventAttributes {
    samples::events()
        .into_iter()
        .find_map(|attributes| match attributes {
            EventAttributes::ActivityTaskScheduled(scheduled) => Some(*scheduled),
            _ => None,
        })
        .expect("the samples schedule an activity")
}

pub(super) fn description() -> Box<WorkflowDescription> {
    Box::new(WorkflowDescription {
        execution: execution(),
        status: WorkflowExecutionStatus::Running,
        history_length: 11,
        workflow_type: workflow_type("OrderWorkflow"),
        task_queue: queue(),
        start_time: Timestamp::from_unix_seconds(1_795_860_000),
        close_time: None,
        next_run_id: None,
        parent: None,
        pending_activities: 1,
        pending_timers: 0,
        pending_children: 0,
        memo: samples::memo(),
        search_attributes: samples::search_attributes(),
        pending_activity_details: vec![PendingActivity {
            activity_id: scheduled_activity().activity_id,
            scheduled_event_id: EventId::new(5).unwrap(),
            activity_type: scheduled_activity().activity_type,
            state: PendingActivityState::Started,
            attempt: 2,
            scheduled_time: Timestamp::from_unix_seconds(1_795_860_001),
            last_started_time: Some(Timestamp::from_unix_seconds(1_795_860_031)),
            last_worker_identity: Some("worker-1@host".into()),
            last_heartbeat_time: None,
            heartbeat_details: None,
            last_failure: Some(Failure::application("card declined", "CardDeclined")),
            next_attempt_schedule_time: None,
        }],
        pending_child_details: Vec::new(),
        versioning: endure_core::versioning::RunVersioning {
            behavior: endure_core::VersioningBehavior::Pinned,
            version: Some(
                endure_core::versioning::WorkerDeploymentVersion::new("orders", "2026.12.1")
                    .unwrap(),
            ),
            override_: None,
        },
    })
}

pub(super) fn namespace_record() -> Box<namespace::NamespaceRecord> {
    Box::new(samples::storage_row_values().namespace_record)
}

pub(super) fn member(name: &str, address: &str) -> endure_core::cluster::Member {
    endure_core::cluster::Member::new(endure_core::cluster::NodeName::new(name).unwrap(), address)
        .unwrap()
}

pub(super) fn custom_attributes() -> endure_core::attribute_registry::Registered {
    namespace_record().search_attributes
}

pub(super) fn version(build_id: &str) -> endure_core::versioning::WorkerDeploymentVersion {
    endure_core::versioning::WorkerDeploymentVersion::new("orders", build_id).unwrap()
}

/// A deployment rolling from one version to the next, 30 % ramped.
pub(super) fn deployment() -> endure_core::versioning::WorkerDeploymentDescription {
    use endure_core::versioning::*;
    let at = Timestamp::from_unix_seconds(1_795_860_000);
    WorkerDeploymentDescription {
        name: "orders".into(),
        created_at: at,
        routing: RoutingConfig {
            current: Some(version("2026.12.2")),
            ramping: Some(version("2026.12.3")),
            ramping_percentage: 30.0,
            current_changed_at: Some(at),
            ramping_changed_at: Some(at),
        },
        last_modifier: Some("operator".into()),
        versions: vec![VersionSummary {
            version: version("2026.12.1"),
            status: VersionStatus::Draining,
            created_at: at,
            last_poll_at: at,
            task_queues: vec![queue()],
            drainage_checked_at: Some(at),
        }],
    }
}

pub(super) fn schedule() -> schedule::Schedule {
    schedule::Schedule {
        spec: schedule::ScheduleSpec {
            calendars: vec![schedule::CalendarSpec {
                hour: vec![schedule::ScheduleRange::value(2)],
                day_of_week: vec![schedule::ScheduleRange::between(1, 5)],
                comment: "weeknights".into(),
                ..schedule::CalendarSpec::default()
            }],
            intervals: vec![schedule::IntervalSpec {
                every: Duration::from_secs(3_600),
                offset: Duration::from_secs(900),
            }],
            cron_expressions: vec!["0 12 * * *".into()],
            skip: Vec::new(),
            start_at: None,
            end_at: Some(Timestamp::from_unix_seconds(1_800_000_000)),
            jitter: Duration::from_secs(30),
            time_zone_name: "Europe/Paris".into(),
        },
        action: schedule::ScheduleAction::StartWorkflow(Box::new(
            schedule::ScheduleWorkflowAction {
                workflow_type: workflow_type("Report"),
                input: samples::payloads(),
                header: header(),
                options: samples::start_workflow_options(),
            },
        )),
        policies: schedule::SchedulePolicies {
            overlap: schedule::ScheduleOverlapPolicy::BufferOne,
            catchup_window: Duration::from_secs(600),
            pause_on_failure: true,
        },
        state: schedule::ScheduleRunState {
            notes: "created".into(),
            paused: false,
            limited_actions: true,
            remaining_actions: 10,
        },
    }
}

pub(super) fn backfill() -> schedule::Backfill {
    schedule::Backfill {
        start: Timestamp::from_unix_seconds(1_699_000_000),
        end: Timestamp::from_unix_seconds(1_699_500_000),
        overlap: schedule::ScheduleOverlapPolicy::AllowAll,
    }
}

pub(super) fn action_result() -> schedule::ScheduleActionResult {
    schedule::ScheduleActionResult {
        schedule_time: Timestamp::from_unix_seconds(1_700_000_000),
        actual_time: Timestamp::from_unix_seconds(1_700_000_001),
        workflow_id: WorkflowId::new("report-2023-11-14T22:13:20Z").unwrap(),
        run_id: run(),
        status: WorkflowExecutionStatus::Completed,
    }
}
