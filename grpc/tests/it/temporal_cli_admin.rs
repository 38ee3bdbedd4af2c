//! Temporal's `temporal` CLI administering Endure: namespaces created, updated and listed;
//! schedules created, paused, backfilled, listed and deleted; worker deployments described,
//! listed and moved, and a run's versioning override.

use std::time::Duration;

use endure_core::EventType;
use serde_json::Value;

use crate::temporal_cli::{PythonWorker, json, run, temporal, temporal_cli, temporal_refused};
use crate::{Fixture, kinds, python};

#[tokio::test(flavor = "multi_thread")]
async fn temporals_cli_registers_lists_and_updates_namespaces_on_endure() {
    let Some(python) = python() else { return };
    let cli = temporal_cli(&python);
    let fixture = Fixture::start().await;
    let create = [
        "operator",
        "namespace",
        "create",
        "-n",
        "billing",
        "--description",
        "money",
        "--email",
        "ops@example.com",
        "--retention",
        "48h",
    ];
    temporal(&cli, &fixture, &create).await;
    let described = json(
        &cli,
        &fixture,
        &["operator", "namespace", "describe", "-n", "billing"],
    )
    .await;
    assert_eq!(
        described["namespaceInfo"]["description"], "money",
        "{described}"
    );
    assert_eq!(described["namespaceInfo"]["ownerEmail"], "ops@example.com");
    assert_eq!(
        described["config"]["workflowExecutionRetentionTtl"],
        "172800s"
    );

    // An update changes what it names and keeps the rest, as Temporal's does.
    let update = [
        "operator",
        "namespace",
        "update",
        "-n",
        "billing",
        "--description",
        "more money",
        "--retention",
        "96h",
    ];
    temporal(&cli, &fixture, &update).await;
    let described = json(
        &cli,
        &fixture,
        &["operator", "namespace", "describe", "-n", "billing"],
    )
    .await;
    assert_eq!(
        described["namespaceInfo"]["description"], "more money",
        "{described}"
    );
    assert_eq!(described["namespaceInfo"]["ownerEmail"], "ops@example.com");
    assert_eq!(
        described["config"]["workflowExecutionRetentionTtl"],
        "345600s"
    );
    // The natively visible record is the same one.
    let native = fixture
        .native_client()
        .describe_namespace(&endure_core::Namespace::new("billing").unwrap())
        .await
        .unwrap();
    assert_eq!(native.config.retention, Duration::from_secs(96 * 3600));

    let listed = json(&cli, &fixture, &["operator", "namespace", "list"]).await;
    let mut names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| ns["namespaceInfo"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["billing", "default"], "{listed}");

    // Refusals say why: taken, archival, data Endure does not keep, a retention too short.
    let again = temporal_refused(
        &cli,
        &fixture,
        &["operator", "namespace", "create", "-n", "billing"],
    )
    .await;
    assert!(again.contains("already exists"), "{again}");
    let archival = [
        "operator",
        "namespace",
        "create",
        "-n",
        "old",
        "--history-archival-state",
        "enabled",
    ];
    let refused = temporal_refused(&cli, &fixture, &archival).await;
    assert!(
        refused.contains("archival: Endure does not archive"),
        "{refused}"
    );
    let data = [
        "operator",
        "namespace",
        "update",
        "-n",
        "billing",
        "--data",
        "team=payments",
    ];
    let refused = temporal_refused(&cli, &fixture, &data).await;
    assert!(refused.contains("free-form namespace data"), "{refused}");
    let short = [
        "operator",
        "namespace",
        "create",
        "-n",
        "brief",
        "--retention",
        "1m",
    ];
    let refused = temporal_refused(&cli, &fixture, &short).await;
    assert!(refused.contains("retention"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn temporals_cli_manages_schedules_on_endure() {
    let Some(python) = python() else { return };
    let cli = temporal_cli(&python);
    let fixture = Fixture::start().await;
    let create = [
        "schedule",
        "create",
        "-s",
        "nightly",
        "--cron",
        "CRON_TZ=Europe/Paris 30 2 * * MON-FRI # weekdays",
        "--workflow-id",
        "report",
        "--type",
        "Report",
        "--task-queue",
        "reports",
    ];
    temporal(&cli, &fixture, &create).await;

    // Describe shows the cron string as the calendar it names, in its zone, as Temporal's
    // server does.
    let described = json(&cli, &fixture, &["schedule", "describe", "-s", "nightly"]).await;
    let spec = &described["schedule"]["spec"];
    assert!(spec.get("cronString").is_none(), "{described}");
    assert_eq!(spec["timezoneName"], "Europe/Paris", "{described}");
    let calendar = &spec["structuredCalendar"][0];
    assert_eq!(
        calendar["hour"],
        serde_json::json!([{"start": 2, "end": 2, "step": 1}])
    );
    assert_eq!(calendar["comment"], "weekdays");
    assert_eq!(
        described["schedule"]["action"]["startWorkflow"]["workflowType"]["name"],
        "Report"
    );
    assert_eq!(
        described["info"]["futureActionTimes"]
            .as_array()
            .unwrap()
            .len(),
        10
    );

    // The listing carries each schedule's spec and next times (the CLI's table reads both).
    let listed = json(&cli, &fixture, &["schedule", "list"]).await;
    let entry = &listed[0];
    assert_eq!(entry["scheduleId"], "nightly", "{listed}");
    assert_eq!(entry["info"]["workflowType"]["name"], "Report");
    assert_eq!(entry["info"]["spec"]["timezoneName"], "Europe/Paris");
    assert_eq!(
        entry["info"]["futureActionTimes"].as_array().unwrap().len(),
        5
    );
    let table = temporal(&cli, &fixture, &["schedule", "list"]).await;
    assert!(
        table.contains("nightly") && table.contains("Report"),
        "{table}"
    );

    // Pause with a reason, then a backfill of three hours' worth of a past day.
    let pause = [
        "schedule",
        "toggle",
        "-s",
        "nightly",
        "--pause",
        "--reason",
        "maintenance",
    ];
    temporal(&cli, &fixture, &pause).await;
    let state = &json(&cli, &fixture, &["schedule", "describe", "-s", "nightly"]).await["schedule"]
        ["state"];
    assert_eq!(state["paused"], true, "{state}");
    assert_eq!(state["notes"], "maintenance");
    let backfill = [
        "schedule",
        "backfill",
        "-s",
        "nightly",
        "--start-time",
        "2026-11-30T00:00:00Z",
        "--end-time",
        "2026-12-04T00:00:00Z",
        "--overlap-policy",
        "AllowAll",
    ];
    temporal(&cli, &fixture, &backfill).await;
    // Mon 30 Nov to Thu 3 Dec, 02:30 Paris: four weekday runs, each named by its time.
    let mut started = Vec::new();
    for _ in 0..200 {
        let rows = json(
            &cli,
            &fixture,
            &["workflow", "list", "-q", "WorkflowType = 'Report'"],
        )
        .await;
        started = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["execution"]["workflowId"].as_str().unwrap().to_owned())
            .collect();
        if started.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.sort();
    assert_eq!(
        started,
        [
            "report-2026-11-30T01:30:00Z",
            "report-2026-12-01T01:30:00Z",
            "report-2026-12-02T01:30:00Z",
            "report-2026-12-03T01:30:00Z",
        ]
    );

    temporal(&cli, &fixture, &["schedule", "delete", "-s", "nightly"]).await;
    let listed = json(&cli, &fixture, &["schedule", "list"]).await;
    assert_eq!(listed, serde_json::json!([]), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn temporals_cli_manages_worker_deployments_and_a_runs_override_on_endure() {
    let Some(python) = python() else { return };
    let cli = temporal_cli(&python);
    let fixture = Fixture::start().await;
    let _worker = PythonWorker::start_as(python, &fixture, "serve-versioned").await;
    let describe = ["worker", "deployment", "describe", "--name", "orders"];
    // The deployment exists once its worker has polled.
    let mut described = None;
    for _ in 0..200 {
        if let Ok(output) = tokio::time::timeout(
            Duration::from_secs(30),
            run(&cli, &fixture, &[&describe[..], &["-o", "json"]].concat()),
        )
        .await
            && output.status.success()
        {
            described = Some(serde_json::from_slice::<Value>(&output.stdout).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let described = described.expect("the deployment appeared");
    assert_eq!(described["name"], "orders", "{described}");
    assert_eq!(
        described["versionSummaries"][0]["BuildID"], "1.0",
        "{described}"
    );

    let set = [
        "worker",
        "deployment",
        "set-current-version",
        "--deployment-name",
        "orders",
        "--build-id",
        "1.0",
        "--yes",
    ];
    temporal(&cli, &fixture, &set).await;
    let table = temporal(&cli, &fixture, &["worker", "deployment", "list"]).await;
    assert!(table.contains("orders") && table.contains("1.0"), "{table}");
    let describe_version = [
        "worker",
        "deployment",
        "describe-version",
        "--deployment-name",
        "orders",
        "--build-id",
        "1.0",
    ];
    let version = json(&cli, &fixture, &describe_version).await;
    assert_eq!(version["BuildID"], "1.0", "{version}");
    assert!(
        version["currentSinceTime"]
            .as_str()
            .is_some_and(|since| since.starts_with("20")),
        "current since the set: {version}"
    );
    assert_eq!(
        version["taskQueuesInfos"][0]["name"], "versioned",
        "the queue its worker polls"
    );

    // A run pinned to 1.0 by the worker, overridden to auto-upgrade from the CLI.
    let start = [
        "workflow",
        "start",
        "--type",
        "VersionedWorkflow",
        "--task-queue",
        "versioned",
        "-w",
        "cli-versioned",
    ];
    temporal(&cli, &fixture, &start).await;
    let mut pinned = Value::Null;
    for _ in 0..200 {
        let described = json(
            &cli,
            &fixture,
            &["workflow", "describe", "-w", "cli-versioned"],
        )
        .await;
        pinned = described["workflowExecutionInfo"]["versioningInfo"].clone();
        if pinned["behavior"] == "VERSIONING_BEHAVIOR_PINNED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pinned["deploymentVersion"]["buildId"], "1.0", "{pinned}");
    let update = [
        "workflow",
        "update-options",
        "--workflow-id",
        "cli-versioned",
        "--versioning-override-behavior",
        "auto_upgrade",
    ];
    temporal(&cli, &fixture, &update).await;
    let described = json(
        &cli,
        &fixture,
        &["workflow", "describe", "-w", "cli-versioned"],
    )
    .await;
    let versioning = &described["workflowExecutionInfo"]["versioningInfo"];
    assert_eq!(
        versioning["versioningOverride"]["autoUpgrade"], true,
        "{described}"
    );
    temporal(
        &cli,
        &fixture,
        &[
            "workflow",
            "signal",
            "-w",
            "cli-versioned",
            "--name",
            "proceed",
        ],
    )
    .await;
    let result = json(
        &cli,
        &fixture,
        &["workflow", "result", "-w", "cli-versioned"],
    )
    .await;
    assert_eq!(result["result"], "1.0", "{result}");
    let history = fixture.history("cli-versioned").await;
    assert!(kinds(&history).contains(&EventType::WorkflowExecutionOptionsUpdated));
}
