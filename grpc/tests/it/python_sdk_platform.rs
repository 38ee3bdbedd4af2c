//! Temporal's Python SDK on Endure's platform features: schedules, and Worker Versioning
//! (deployments, pinned runs, overrides); the runs' histories asserted.

use endure_core::{EventAttributes, EventType, HistoryEvent};
use serde_json::json;

use crate::{Fixture, QUICKSTART, assert_back_references, kinds, python, scenario};

use EventType::*;

#[tokio::test(flavor = "multi_thread")]
async fn schedules_created_paused_triggered_updated_and_deleted_from_temporals_python_sdk() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let mut seen = scenario(python, &fixture, "schedules").await;
    let first_id = seen["first_id"].as_str().unwrap().to_owned();
    seen.as_object_mut().unwrap().remove("first_id");
    assert_eq!(
        seen,
        json!({
            "paused": true,
            "note": "enough",
            "manual_action": true,
            "memo": {"owner": "ann"},
            "first_result": "workflow_completed_sent to scheduled",
            "updated_hour": [9],
            "updated_comment": "nine",
            "listed": ["py-every-second"],
            "remaining": [],
        })
    );
    // The action's workflow id is the schedule's with the scheduled time appended, as
    // Temporal names it; its run is the Quick Start, tagged with the schedule.
    let stamp = first_id.strip_prefix("py-scheduled-").unwrap();
    assert!(stamp.ends_with('Z') && stamp.contains('T'), "{first_id}");
    let history = fixture.history(&first_id).await;
    assert_eq!(kinds(&history), QUICKSTART);
    assert_back_references(&history);
    let EventAttributes::WorkflowExecutionStarted(started) = &history[0].attributes else {
        unreachable!()
    };
    assert_eq!(started.workflow_type.as_str(), "OrderWorkflow");
    assert_eq!(started.input.decode_first::<String>().unwrap(), "scheduled");
    let tagged = fixture
        .native_client()
        .list_workflows_matching("TemporalScheduledById = 'py-every-second'", 100)
        .await
        .unwrap();
    assert!(
        tagged
            .iter()
            .any(|row| row.execution.workflow_id.as_str() == first_id),
        "{tagged:?}"
    );
    // Two by the interval and one by the trigger, at least.
    assert!(tagged.len() >= 3, "{tagged:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_versioning_from_temporals_python_sdk_pins_moves_and_overrides_runs() {
    let Some(python) = python() else { return };
    let fixture = Fixture::start().await;
    let mut seen = scenario(python, &fixture, "versioning").await;
    // Version 1.0 drains once its pinned runs closed: draining or drained by now.
    let versions = seen["versions"].take();
    assert_eq!(versions[0][0], "1.0", "{versions}");
    assert!(versions[0][1] == 4 || versions[0][1] == 5, "{versions}");
    assert_eq!(versions[1], json!(["2.0", 2]), "2.0 is current");
    assert_eq!(
        seen,
        json!({
            "replay_failure": null,
            "old_pinned": "1.0",
            "new_pinned": "2.0",
            "override": "1.0",
            // Each run finished on the version it was pinned to: the old on 1.0 after
            // 2.0 became current, the new on 2.0, the moved one back on 1.0.
            "results": ["1.0", "2.0", "1.0"],
            "stale_refused": "FAILED_PRECONDITION",
            "current": "2.0",
            "versions": null,
            "listed": ["orders"],
        })
    );
    let v = |build: &str| {
        endure_core::versioning::WorkerDeploymentVersion::new("orders", build).unwrap()
    };
    let completed_by =
        |history: &[HistoryEvent]| -> Vec<(Option<String>, endure_core::VersioningBehavior)> {
            history
                .iter()
                .filter_map(|event| match &event.attributes {
                    EventAttributes::WorkflowTaskCompleted(done) => Some((
                        done.worker_deployment_version
                            .as_ref()
                            .map(|version| version.build_id.clone()),
                        done.versioning_behavior,
                    )),
                    _ => None,
                })
                .collect()
        };
    let pinned = endure_core::VersioningBehavior::Pinned;
    let old = fixture.history("py-pinned-old").await;
    assert_back_references(&old);
    assert_eq!(
        completed_by(&old),
        [(Some("1.0".into()), pinned), (Some("1.0".into()), pinned)]
    );
    // The moved run: started on 2.0, pinned back to 1.0 by the operator; its next task went
    // to the normal queue at once (not the 2.0 worker's sticky queue) and 1.0 finished it.
    let moved = fixture.history("py-pinned-moved").await;
    assert_back_references(&moved);
    assert_eq!(
        kinds(&moved),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionOptionsUpdated,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted,
        ]
    );
    assert_eq!(
        completed_by(&moved),
        [(Some("2.0".into()), pinned), (Some("1.0".into()), pinned)]
    );
    let EventAttributes::WorkflowExecutionOptionsUpdated(updated) = &moved[4].attributes else {
        unreachable!()
    };
    assert_eq!(
        updated.versioning_override,
        Some(endure_core::versioning::VersioningOverride::Pinned(v(
            "1.0"
        )))
    );
    let EventAttributes::WorkflowTaskScheduled(next) = &moved[6].attributes else {
        unreachable!()
    };
    assert_eq!(
        next.task_queue.name.as_str(),
        "versioned",
        "the normal queue"
    );
}
