//! Temporal's TypeScript SDK (npm `@temporalio/*`) against Endure: the Quick Start and a
//! signal/query workflow, worker and client in one Node.js process, the histories asserted
//! through Endure's own client.
//!
//! The SDK is `ENDURE_TEST_TS_SDK`, a directory with its `node_modules`
//! (`scripts/temporal-sdk-venv` installs it from `grpc/tests/typescript/package-lock.json`);
//! without it the tests say so and pass, unless `ENDURE_REQUIRE_TEMPORAL_SDK` (CI).

use std::path::{Path, PathBuf};
use std::time::Duration;

use endure_core::{EventAttributes, EventType};
use serde_json::json;

use crate::{Fixture, QUICKSTART, assert_back_references, kinds};

use EventType::*;

/// A directory inside the SDK's with the scenario files (Node and the worker's bundler
/// resolve packages from the script's directory up, so they find the SDK's
/// `node_modules`); one per test, as tests run in parallel.
fn sdk() -> Option<tempfile::TempDir> {
    let Some(dir) = std::env::var_os("ENDURE_TEST_TS_SDK").map(PathBuf::from) else {
        assert!(
            std::env::var_os("ENDURE_REQUIRE_TEMPORAL_SDK").is_none(),
            "ENDURE_REQUIRE_TEMPORAL_SDK is set but ENDURE_TEST_TS_SDK is not"
        );
        eprintln!(
            "skipped: set ENDURE_TEST_TS_SDK to a directory with Temporal's TypeScript SDK \
             installed (scripts/temporal-sdk-venv makes target/temporal-ts-sdk)"
        );
        return None;
    };
    let run = tempfile::tempdir_in(&dir).unwrap();
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/typescript");
    for file in ["scenarios.js", "workflows.js"] {
        std::fs::copy(sources.join(file), run.path().join(file)).unwrap();
    }
    Some(run)
}

async fn scenario(dir: &Path, fixture: &Fixture, scenario: &str) -> serde_json::Value {
    let mut command = std::process::Command::new("node");
    command
        .current_dir(dir)
        .arg("scenarios.js")
        .arg(scenario)
        .arg(fixture.address.to_string());
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the TypeScript scenario finished within 180 s")
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the TypeScript SDK failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_runs_on_temporals_typescript_sdk() {
    let Some(dir) = sdk() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(dir.path(), &fixture, "quickstart").await;
    assert_eq!(
        seen,
        json!({"result": "workflow_completed_sent to user_ts"})
    );
    let history = fixture.history("ts-order").await;
    assert_back_references(&history);
    assert_eq!(kinds(&history), QUICKSTART);
    let EventAttributes::ActivityTaskScheduled(activity) = &history[4].attributes else {
        unreachable!()
    };
    assert_eq!(activity.activity_type.as_str(), "sendEmail");
    let EventAttributes::WorkflowTaskCompleted(completed) = &history[3].attributes else {
        unreachable!()
    };
    assert!(
        completed.sdk_metadata.sdk_name.contains("typescript"),
        "{:?}",
        completed.sdk_metadata
    );
    // Its worker asks for eager activities too: started with the completion, for it.
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        unreachable!()
    };
    assert_eq!(
        (started.request_id.as_str(), started.identity.as_str()),
        ("eager-5", completed.identity.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_and_queries_from_temporals_typescript_sdk() {
    let Some(dir) = sdk() else { return };
    let fixture = Fixture::start().await;
    let seen = scenario(dir.path(), &fixture, "approval").await;
    assert_eq!(
        seen,
        json!({
            "before": "waiting for approval",
            "result": "order-ts approved by dave",
            "after": "approved by dave",
        })
    );
    let history = fixture.history("ts-approval").await;
    assert_back_references(&history);
    assert_eq!(
        kinds(&history),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::WorkflowExecutionSignaled(signal) = &history[4].attributes else {
        unreachable!()
    };
    assert_eq!(signal.input.decode_first::<String>().unwrap(), "dave");
}
