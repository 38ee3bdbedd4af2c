//! Temporal's Python SDK on Endure: each scenario's client view and its histories.

use endure_core::{EventAttributes, EventType, FailureInfo, HistoryEvent, RetryState};
use serde_json::json;

use crate::{
    Fixture, QUICKSTART, assert_back_references, event, kinds, python, run_python, scenario,
};

use EventType::*;

/// The attributes of the only event of `kind` in `events`.
fn only(events: &[HistoryEvent], kind: EventType) -> &EventAttributes {
    let mut found = events.iter().filter(|e| e.event_type() == kind);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no {kind:?} in {:?}", kinds(events)));
    assert!(found.next().is_none(), "more than one {kind:?}");
    &first.attributes
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_runs_on_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "quickstart").await;
    assert_eq!(
        seen,
        json!({
            "result": "workflow_completed_sent to user_123",
            "pages": [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16]],
        })
    );
    let history = fixture.history("py-order").await;
    assert_eq!(kinds(&history), QUICKSTART);
    assert_back_references(&history);
    let EventAttributes::WorkflowExecutionStarted(started) = &history[0].attributes else {
        unreachable!()
    };
    assert_eq!(started.workflow_type.as_str(), "OrderWorkflow");
    assert_eq!(started.task_queue.as_str(), "python-sdk");
    assert_eq!(
        started.input.decode_first::<String>().unwrap(),
        "user_123",
        "the SDK's json/plain payload is Endure's"
    );
    let EventAttributes::ActivityTaskScheduled(activity) = &history[4].attributes else {
        unreachable!()
    };
    assert_eq!(activity.activity_type.as_str(), "send_email");
    assert_eq!(
        activity.start_to_close_timeout,
        std::time::Duration::from_secs(10)
    );
    let EventAttributes::TimerStarted(timer) = &history[10].attributes else {
        unreachable!()
    };
    assert_eq!(
        timer.start_to_fire_timeout,
        std::time::Duration::from_millis(50)
    );
    // The SDK's name and flags are kept, so its own replay finds them again.
    let EventAttributes::WorkflowTaskCompleted(completed) = &history[3].attributes else {
        unreachable!()
    };
    assert!(
        completed.sdk_metadata.sdk_name.starts_with("temporal-py"),
        "{:?}",
        completed.sdk_metadata
    );
    // The SDK asks for eager activities (its default): the activity was started with the
    // workflow task's completion, for the worker that completed it, and handed to it in
    // the completion's `activity_tasks`; it ran from there, with no poll.
    let EventAttributes::ActivityTaskStarted(activity_started) = &history[5].attributes else {
        unreachable!()
    };
    assert_eq!(
        (
            activity_started.request_id.as_str(),
            activity_started.identity.as_str()
        ),
        ("eager-5", completed.identity.as_str())
    );
    let EventAttributes::WorkflowExecutionCompleted(done) = &history[15].attributes else {
        unreachable!()
    };
    assert_eq!(
        done.result
            .as_ref()
            .unwrap()
            .decode_first::<String>()
            .unwrap(),
        "workflow_completed_sent to user_123"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_queries_and_updates_from_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "approval").await;
    assert_eq!(
        seen,
        json!({
            "update": 4,
            "rejected": "ValueError: a note must not be empty",
            "query_failed": "this query always fails",
            "status_after": "waiting for approval (rush)",
            "result": "order-7 approved by alice (rush)",
            "signal_with_start": "order-8 approved by bob ()",
        })
    );
    let history = fixture.history("py-approval").await;
    assert_back_references(&history);
    let types = kinds(&history);
    // One update accepted and completed (the rejected one left nothing), the signal, the
    // close.
    assert_eq!(
        types
            .iter()
            .filter(|k| **k == WorkflowExecutionUpdateAccepted)
            .count(),
        1
    );
    let EventAttributes::WorkflowExecutionUpdateAccepted(accepted) =
        only(&history, WorkflowExecutionUpdateAccepted)
    else {
        unreachable!()
    };
    assert_eq!(accepted.accepted_request.name.as_str(), "set_note");
    assert_eq!(
        event(&history, accepted.accepted_request_sequencing_event_id).event_type(),
        WorkflowTaskScheduled
    );
    let EventAttributes::WorkflowExecutionUpdateCompleted(completed) =
        only(&history, WorkflowExecutionUpdateCompleted)
    else {
        unreachable!()
    };
    assert_eq!(completed.update_id, accepted.accepted_request.update_id);
    let EventAttributes::WorkflowExecutionSignaled(signal) =
        only(&history, WorkflowExecutionSignaled)
    else {
        unreachable!()
    };
    assert_eq!(signal.signal_name.as_str(), "approve");
    assert_eq!(signal.input.decode_first::<String>().unwrap(), "alice");
    assert_eq!(types.last(), Some(&WorkflowExecutionCompleted));
    // Signal-with-start: the signal is the run's second event.
    let second = fixture.history("py-approval-2").await;
    assert_eq!(
        kinds(&second),
        [
            WorkflowExecutionStarted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted,
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_and_failures_reach_temporals_python_sdk_typed() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "failures").await;
    assert_eq!(
        seen,
        json!({
            "error": "ApplicationError",
            "type": "OrderFailed",
            "message": "ok after 3 attempts; then CardDeclined: card declined",
            "non_retryable": true,
        })
    );
    let history = fixture.history("py-retrying").await;
    assert_back_references(&history);
    assert_eq!(
        kinds(&history),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            ActivityTaskScheduled,
            ActivityTaskStarted,
            ActivityTaskCompleted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            ActivityTaskScheduled,
            ActivityTaskStarted,
            ActivityTaskFailed,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionFailed,
        ]
    );
    // The flaky activity's recorded attempt is its third; its last failure is kept.
    let EventAttributes::ActivityTaskStarted(flaky) = &history[5].attributes else {
        unreachable!()
    };
    assert_eq!(flaky.attempt, 3);
    let last = flaky.last_failure.as_ref().unwrap();
    assert_eq!(last.message, "attempt 2 failed");
    assert!(
        matches!(&last.info, FailureInfo::Application { error_type, .. } if error_type == "Flaky")
    );
    // The charge failed for good, not retried: non-retryable.
    let EventAttributes::ActivityTaskFailed(charge) = &history[12].attributes else {
        unreachable!()
    };
    assert_eq!(charge.retry_state, RetryState::NonRetryableFailure);
    assert!(matches!(
        &charge.failure.info,
        FailureInfo::Application { error_type, non_retryable: true, .. } if error_type == "CardDeclined"
    ));
    // The run's failure keeps its cause chain: OrderFailed ← activity failure ← CardDeclined.
    let EventAttributes::WorkflowExecutionFailed(failed) = &history[16].attributes else {
        unreachable!()
    };
    assert!(
        matches!(&failed.failure.info, FailureInfo::Application { error_type, .. } if error_type == "OrderFailed")
    );
    let cause = failed.failure.cause.as_deref().unwrap();
    assert!(
        matches!(&cause.info, FailureInfo::Activity { activity_type, .. } if activity_type.as_str() == "charge")
    );
    let root = cause.cause.as_deref().unwrap();
    assert_eq!(root.message, "card declined");
}

#[tokio::test(flavor = "multi_thread")]
async fn child_workflows_from_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "children").await;
    assert_eq!(seen, json!({"result": 20}));
    let history = fixture.history("py-parent").await;
    assert_back_references(&history);
    let types = kinds(&history);
    assert_eq!(
        types
            .iter()
            .filter(|k| **k == StartChildWorkflowExecutionInitiated)
            .count(),
        2
    );
    assert_eq!(
        types
            .iter()
            .filter(|k| **k == ChildWorkflowExecutionCompleted)
            .count(),
        2
    );
    assert_eq!(types.last(), Some(&WorkflowExecutionCompleted));
    let child = fixture.history("py-parent-child-2").await;
    let EventAttributes::WorkflowExecutionStarted(started) = &child[0].attributes else {
        unreachable!()
    };
    let parent = started.parent.as_ref().unwrap();
    assert_eq!(parent.workflow_execution.workflow_id.as_str(), "py-parent");
    assert_eq!(
        event(&history, parent.initiated_event_id).event_type(),
        StartChildWorkflowExecutionInitiated
    );
    assert_eq!(started.input.decode_first::<i64>().unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_terminate_and_taken_ids_from_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "lifecycle").await;
    assert_eq!(seen["already_started"], json!(true));
    assert_eq!(seen["bad_token"], json!("INVALID_ARGUMENT"));
    assert_eq!(seen["described_status"], json!("RUNNING"));
    assert_eq!(seen["described_type"], json!("WaitForeverWorkflow"));
    assert_eq!(seen["memo"], json!({"owner": "ann"}));
    assert_eq!(
        seen["attributes"],
        json!({"Team": "billing", "Priority": 3})
    );
    assert_eq!(seen["by_attribute"], json!(["py-forever"]));
    assert_eq!(seen["cancelled"], json!("cleaned up after cancel"));
    assert_eq!(seen["terminated"], json!("TerminatedError"));
    assert_eq!(
        seen["after_close"],
        json!({"signal": "NOT_FOUND", "cancel": "NOT_FOUND", "terminate": "NOT_FOUND"})
    );
    assert_eq!(seen["unimplemented"]["status"], json!("UNIMPLEMENTED"));
    assert!(
        seen["unimplemented"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ListBatchOperations is not implemented"),
        "{seen}"
    );
    let cancelled = fixture.history("py-forever").await;
    assert_back_references(&cancelled);
    let EventAttributes::WorkflowExecutionStarted(started) = &cancelled[0].attributes else {
        unreachable!()
    };
    // Typed by the SDK's `type` metadata, as Temporal's visibility stores them.
    assert_eq!(
        started.search_attributes.0.get("Priority"),
        Some(&endure_core::SearchAttributeValue::Int(3))
    );
    assert_eq!(
        started
            .memo
            .0
            .get("owner")
            .unwrap()
            .decode::<String>()
            .unwrap(),
        "ann"
    );
    let types = kinds(&cancelled);
    let requested = types
        .iter()
        .position(|k| *k == WorkflowExecutionCancelRequested)
        .unwrap();
    assert_eq!(
        &types[requested + 1..],
        [
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted
        ]
    );
    let terminated = fixture.history("py-doomed").await;
    let EventAttributes::WorkflowExecutionTerminated(end) = &terminated.last().unwrap().attributes
    else {
        panic!("{:?}", kinds(&terminated))
    };
    assert_eq!(end.reason, "no longer needed");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_count_reset_and_delete_from_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "visibility").await;
    assert_eq!(
        seen["listed"],
        json!(["py-list-0", "py-list-1", "py-list-2"])
    );
    assert_eq!(seen["paged"], json!(3), "three runs over pages of two");
    assert_eq!(seen["counted"], json!(3));
    // Counted by status: the largest group first, each named by its status.
    assert_eq!(
        seen["grouped"],
        json!([4, [[["Completed"], 3], [["Terminated"], 1]]])
    );
    assert_eq!(seen["bad_group"], json!("INVALID_ARGUMENT"));
    assert_eq!(seen["bad_filter"], json!("INVALID_ARGUMENT"));
    assert_eq!(
        seen["reset_result"],
        json!("workflow_completed_sent to user_0")
    );
    assert_eq!(seen["deleted"], json!("NOT_FOUND"));
    assert_eq!(seen["region"], json!("INDEXED_VALUE_TYPE_KEYWORD"));
    assert_eq!(seen["system_has_workflow_type"], json!(true));
    assert_eq!(seen["region_removed"], json!(true));
    // The reset run: the first task's events kept, that task failed with cause
    // ResetWorkflow naming the base run, then the workflow ran again to completion.
    let reset = fixture.history("py-list-0").await;
    assert_back_references(&reset);
    assert_eq!(
        kinds(&reset)[..6],
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskFailed,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
        ]
    );
    let EventAttributes::WorkflowTaskFailed(failed) = &reset[3].attributes else {
        unreachable!()
    };
    assert_eq!(
        failed.cause,
        endure_core::WorkflowTaskFailedCause::ResetWorkflow
    );
    assert!(failed.base_run_id.is_some());
    assert_eq!(
        failed.new_run_id.map(|run| run.to_string()),
        seen["reset_run"].as_str().map(str::to_owned)
    );
    assert_eq!(kinds(&reset).last(), Some(&WorkflowExecutionCompleted));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_example_runs() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let example = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/hello.py");
    let printed = run_python(python, example, vec![fixture.address.to_string()]).await;
    assert_eq!(printed.trim(), "Hello, Temporal user! (from Endure)");
    let history = fixture.history("hello-endure").await;
    assert_back_references(&history);
    assert_eq!(kinds(&history), QUICKSTART);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_with_start_and_task_queue_pollers_from_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "update_with_start").await;
    assert_eq!(
        seen,
        json!({
            "started_with": 5,
            "existing": 7,
            "same_run": true,
            "taken": "WorkflowAlreadyStartedError",
            "result": "order-10 approved by carol (second!)",
            "pollers": true,
        })
    );
    // The first update rode the run's first task; the second (USE_EXISTING) the next; the
    // refused one (FAIL on a running id) left nothing.
    let history = fixture.history("py-uws").await;
    assert_back_references(&history);
    assert_eq!(
        kinds(&history),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionUpdateAccepted,
            WorkflowExecutionUpdateCompleted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionUpdateAccepted,
            WorkflowExecutionUpdateCompleted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::WorkflowExecutionUpdateAccepted(first) = &history[4].attributes else {
        unreachable!()
    };
    assert_eq!(
        first
            .accepted_request
            .args
            .decode_first::<String>()
            .unwrap(),
        "first"
    );
    assert_eq!(first.accepted_request_sequencing_event_id.get(), 2);
}

/// README's table of RPCs names every method the front end serves.
#[test]
fn the_readme_names_every_rpc_served() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let section = readme
        .split("### Using Temporal's SDKs")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .unwrap();
    for name in endure_grpc::IMPLEMENTED
        .iter()
        .chain(endure_grpc::OPERATOR_IMPLEMENTED)
    {
        assert!(
            section.contains(name),
            "README's table does not name {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn activities_completed_from_outside_their_worker_by_id_and_by_token() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "async_completion").await;
    assert_eq!(
        seen,
        json!({
            "result": "done by hand; refused by hand",
            "heartbeat": ["\"halfway\""],
            "again": "NOT_FOUND",
        })
    );
    let history = fixture.history("py-async").await;
    assert_back_references(&history);
    let types = kinds(&history);
    assert_eq!(
        types
            .iter()
            .filter(|k| **k == ActivityTaskScheduled)
            .count(),
        2
    );
    let EventAttributes::ActivityTaskCompleted(completed) = only(&history, ActivityTaskCompleted)
    else {
        unreachable!()
    };
    assert_eq!(
        completed
            .result
            .as_ref()
            .unwrap()
            .decode_first::<String>()
            .unwrap(),
        "done by hand"
    );
    let EventAttributes::ActivityTaskScheduled(scheduled) =
        &event(&history, completed.scheduled_event_id).attributes
    else {
        unreachable!()
    };
    assert_eq!(scheduled.activity_id.as_str(), "by-id");
    let EventAttributes::ActivityTaskFailed(failed) = only(&history, ActivityTaskFailed) else {
        unreachable!()
    };
    assert_eq!(failed.failure.message, "refused by hand");
    assert_eq!(types.last(), Some(&WorkflowExecutionCompleted));
}

#[tokio::test(flavor = "multi_thread")]
async fn continue_as_new_local_activities_heartbeat_timeouts_and_the_sdks_replayer() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(python, &fixture, "replay").await;
    assert_eq!(seen["counted"], "sent to local");
    // The second activity's first attempt was failed with heartbeat details beside the
    // failure; its retry started from them.
    assert_eq!(
        seen["stalled"],
        "TimeoutError HEARTBEAT after ['started']; attempt 2 resumed from ['step-2']"
    );
    // The SDK's own replayer accepts every history Endure kept.
    let replayed = seen["replayed"].as_array().unwrap();
    assert_eq!(replayed.len(), 4);
    for run in replayed {
        assert_eq!(run["failure"], serde_json::Value::Null, "{run}");
    }

    // The countdown: three runs chained by continue-as-new, the last with a local
    // activity's marker.
    let last = fixture.history("py-countdown").await;
    assert_back_references(&last);
    assert_eq!(
        kinds(&last),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            MarkerRecorded,
            WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::WorkflowExecutionStarted(started) = &last[0].attributes else {
        unreachable!()
    };
    assert_eq!(started.input.decode_first::<i64>().unwrap(), 0);
    let EventAttributes::MarkerRecorded(marker) = &last[4].attributes else {
        unreachable!()
    };
    assert_eq!(marker.workflow_task_completed_event_id, last[3].event_id);
    assert!(
        marker.marker_name.as_str().contains("local_activity"),
        "{marker:?}"
    );
    assert_eq!(replayed[1]["events"], 6);
    let first_run = started.first_execution_run_id;
    let first = fixture
        .native_client()
        .handle(
            endure_core::WorkflowId::new("py-countdown").unwrap(),
            Some(first_run),
        )
        .history()
        .await
        .unwrap();
    assert_back_references(&first);
    assert_eq!(
        kinds(&first),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionContinuedAsNew,
        ]
    );
    let EventAttributes::WorkflowExecutionContinuedAsNew(continued) = &first[4].attributes else {
        unreachable!()
    };
    assert_eq!(continued.workflow_type.as_str(), "CountdownWorkflow");
    assert_eq!(continued.input.decode_first::<i64>().unwrap(), 1);
    assert_eq!(
        continued.workflow_task_completed_event_id,
        first[3].event_id
    );
    assert_eq!(replayed[0]["events"], 5);

    // The stalled activity: timed out by its heartbeat, the last details kept.
    let stall = fixture.history("py-stall").await;
    assert_back_references(&stall);
    let EventAttributes::ActivityTaskTimedOut(timed_out) = only(&stall, ActivityTaskTimedOut)
    else {
        unreachable!()
    };
    let FailureInfo::Timeout {
        timeout_type,
        last_heartbeat_details,
    } = &timed_out.failure.info
    else {
        panic!("{:?}", timed_out.failure)
    };
    assert_eq!(*timeout_type, endure_core::TimeoutType::Heartbeat);
    assert_eq!(
        last_heartbeat_details
            .as_ref()
            .unwrap()
            .decode_first::<String>()
            .unwrap(),
        "started"
    );
    assert_eq!(timed_out.retry_state, RetryState::MaximumAttemptsReached);
    assert_eq!(
        event(&stall, timed_out.scheduled_event_id).event_type(),
        ActivityTaskScheduled
    );
    let EventAttributes::ActivityTaskCompleted(resumed) = only(&stall, ActivityTaskCompleted)
    else {
        unreachable!()
    };
    let EventAttributes::ActivityTaskStarted(retried) =
        &event(&stall, resumed.started_event_id).attributes
    else {
        unreachable!()
    };
    assert_eq!(retried.attempt, 2);
    assert_eq!(
        retried.last_failure.as_ref().unwrap().message,
        "crashed mid-way"
    );
    assert_eq!(kinds(&stall).last(), Some(&WorkflowExecutionCompleted));
}
