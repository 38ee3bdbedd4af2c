//! Every CLI command against a dev server with a worker process: what each prints (text
//! and JSON) and how it exits.

use endure_core::history::{EventType, HistoryExport};

use crate::processes::{Server, WorkerProcess, cli, fails, ok};
use crate::worker::{QUEUE, VERSIONED_QUEUE};

#[test]
fn namespace_commands() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();

    let listed = ok(cli(at, &["namespace", "list"]));
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "RETENTION", "OWNER", "DESCRIPTION"]
    );
    assert!(lines[1].starts_with("default  3d"), "{listed:?}");
    // Temporal's spelling: `operator namespace …`.
    let operator = ok(cli(at, &["operator", "namespace", "list"]));
    assert_eq!(operator.stdout, listed.stdout);

    let created = ok(cli(
        at,
        &[
            "namespace",
            "create",
            "orders",
            "--retention",
            "7d",
            "--description",
            "order intake",
            "--owner-email",
            "orders@example.com",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(created["name"], "orders");
    assert_eq!(created["config"]["description"], "order intake");
    assert_eq!(created["config"]["retention"], "7d");
    assert_eq!(created["version"], 1);

    fails(
        cli(at, &["namespace", "create", "orders"]),
        5,
        "already exists",
    );
    fails(
        cli(at, &["namespace", "create", "short", "--retention", "10m"]),
        2,
        "between one hour and ten years",
    );
    fails(
        cli(at, &["namespace", "create", "bad name"]),
        2,
        "namespace",
    );
    fails(
        cli(at, &["namespace", "describe", "ghost"]),
        3,
        "namespace ghost not found",
    );

    let updated = ok(cli(
        at,
        &["namespace", "update", "orders", "--retention", "1d"],
    ));
    assert!(updated.stdout.contains("Retention    1d"), "{updated:?}");
    assert!(updated.stdout.contains("Version      2"), "{updated:?}");
    assert!(
        updated.stdout.contains("Description  order intake"),
        "{updated:?}"
    );
    fails(
        cli(at, &["namespace", "update", "orders"]),
        2,
        "nothing to change",
    );

    let described = ok(cli(at, &["namespace", "describe", "orders", "-o", "json"])).json();
    assert_eq!(described["config"]["retention"], "1d");
    let all = ok(cli(at, &["namespace", "list", "--output", "json"])).json();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "orders"]);
    assert!(server.terminate(), "a clean exit on SIGTERM");
}

#[test]
fn describe_and_show_name_a_session_and_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);
    ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "SessionGreet",
            "-t",
            QUEUE,
            "-w",
            "session-1",
            "-i",
            "\"ada\"",
        ],
    ));
    // The session opens and its activity completes; the session stays open for the signal.
    let described = loop {
        let described = ok(cli(at, &["workflow", "describe", "-w", "session-1"]));
        let shown = ok(cli(at, &["workflow", "show", "-w", "session-1"]));
        if described.stdout.contains("open on worker")
            && shown.stdout.contains("ActivityTaskCompleted")
        {
            break described;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        described
            .stdout
            .contains("Session (activity 1): open on worker cli-test-worker"),
        "{}",
        described.stdout
    );
    let table = ok(cli(at, &["workflow", "show", "-w", "session-1"]));
    let rows: Vec<Vec<&str>> = table
        .stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    let scheduled: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|row| row.get(2) == Some(&"ActivityTaskScheduled"))
        .collect();
    // The creation names its session and queue; the session's activity its worker's queue.
    assert_eq!(
        scheduled[0][3],
        "activity_type=internalSessionCreationActivity"
    );
    assert!(
        scheduled[0][5].starts_with("session="),
        "{:?}",
        scheduled[0]
    );
    assert_eq!(
        scheduled[0][6],
        "task_queue=cli-tests__internal_session_creation"
    );
    assert_eq!(scheduled[1][3], "activity_type=Compose");
    assert!(
        scheduled[1][5].starts_with("task_queue="),
        "{:?}",
        scheduled[1]
    );
    assert!(
        scheduled[1][5].ends_with("@cli-test-worker"),
        "{:?}",
        scheduled[1]
    );
    // Who polls the queue: the worker process, both halves.
    let pollers = ok(cli(
        at,
        &["task-queue", "describe", "-t", QUEUE, "-o", "json"],
    ))
    .json();
    assert_eq!(
        pollers["workflow_pollers"][0]["identity"],
        "cli-test-worker"
    );
    assert_eq!(
        pollers["activity_pollers"][0]["identity"],
        "cli-test-worker"
    );
    let table = ok(cli(at, &["task-queue", "describe", "-t", QUEUE]));
    assert!(table.stdout.starts_with("HALF"), "{}", table.stdout);
    let nobody = ok(cli(at, &["task-queue", "describe", "-t", "nobody-polls"]));
    assert_eq!(
        nobody.stdout.trim(),
        "No worker has polled task queue nobody-polls in the last five minutes."
    );
    // A running workflow whose queue nobody polls: describe says why it does not move.
    ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Greet",
            "-t",
            "nobody-polls",
            "-w",
            "stuck-1",
            "-i",
            "\"x\"",
        ],
    ));
    let stuck = ok(cli(at, &["workflow", "describe", "-w", "stuck-1"]));
    assert!(
        stuck.stdout.contains(
            "Note: no worker has polled task queue nobody-polls in the last five minutes"
        ),
        "{}",
        stuck.stdout
    );
    // The run waits for its signal: `workflow stack` says so, as plain text.
    let stack = ok(cli(at, &["workflow", "stack", "-w", "session-1"]));
    assert!(
        stack.stdout.starts_with("2 coroutine(s)"),
        "{}",
        stack.stdout
    );

    ok(cli(
        at,
        &[
            "workflow",
            "signal",
            "-w",
            "session-1",
            "--name",
            "finish",
            "-i",
            "null",
        ],
    ));
    let result = ok(cli(at, &["workflow", "result", "-w", "session-1"]));
    assert_eq!(result.stdout.trim(), "\"hello, ada\"");
}

#[test]
fn deployment_commands_route_runs_to_the_current_version_and_describe_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);
    // The versioned worker's poll makes its version known.
    let described = loop {
        let outcome = cli(
            at,
            &["deployment", "describe", "-d", "cli-deploy", "-o", "json"],
        );
        if outcome.code == 0 {
            break outcome.json();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(described["name"], "cli-deploy");
    assert_eq!(described["versions"][0]["version"]["build_id"], "b1");
    assert_eq!(described["versions"][0]["status"], "Inactive");
    assert_eq!(described["versions"][0]["task_queues"][0], VERSIONED_QUEUE);
    let set = ok(cli(
        at,
        &[
            "deployment",
            "set-current",
            "-d",
            "cli-deploy",
            "--build-id",
            "b1",
        ],
    ));
    assert_eq!(
        set.stdout.trim(),
        "Deployment cli-deploy: current version b1 (was -)"
    );
    // Ramping the current version is refused, and says why.
    let refused = cli(
        at,
        &[
            "deployment",
            "set-ramping",
            "-d",
            "cli-deploy",
            "--build-id",
            "b1",
            "--percentage",
            "10",
        ],
    );
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("is current"), "{refused:?}");
    let executed = ok(cli(
        at,
        &[
            "workflow",
            "execute",
            "--type",
            "Greet",
            "-t",
            VERSIONED_QUEUE,
            "-w",
            "versioned-1",
            "-i",
            "\"bo\"",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(executed["result"], "hello, bo");
    let described = ok(cli(at, &["workflow", "describe", "-w", "versioned-1"]));
    assert!(
        described
            .stdout
            .contains("Versioning        Pinned to cli-deploy.b1"),
        "{}",
        described.stdout
    );
    let listed = ok(cli(at, &["deployment", "list", "-o", "json"])).json();
    assert_eq!(listed[0]["routing"]["current"]["build_id"], "b1");
    let table = ok(cli(at, &["deployment", "list"]));
    assert!(table.stdout.contains("cli-deploy  b1"), "{}", table.stdout);
    // An operator overrides an open run's versioning; history records it.
    ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            VERSIONED_QUEUE,
            "-w",
            "counter-v",
        ],
    ));
    while !ok(cli(at, &["workflow", "describe", "-w", "counter-v"]))
        .stdout
        .contains("Pinned to cli-deploy.b1")
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let updated = ok(cli(
        at,
        &[
            "workflow",
            "update-options",
            "-w",
            "counter-v",
            "--versioning-override-behavior",
            "auto_upgrade",
        ],
    ));
    assert_eq!(
        updated.stdout.trim(),
        "Workflow counter-v: Pinned to cli-deploy.b1; overridden: auto-upgrade"
    );
    let incomplete = cli(
        at,
        &[
            "workflow",
            "update-options",
            "-w",
            "counter-v",
            "--versioning-override-behavior",
            "pinned",
        ],
    );
    assert_eq!(incomplete.code, 2, "{incomplete:?}");
    let shown = ok(cli(at, &["workflow", "show", "-w", "counter-v"]));
    assert!(
        shown.stdout.contains("WorkflowExecutionOptionsUpdated"),
        "{}",
        shown.stdout
    );
    ok(cli(
        at,
        &[
            "workflow",
            "signal",
            "-w",
            "counter-v",
            "--name",
            "finish",
            "-i",
            "null",
        ],
    ));
    // The current version cannot be retired.
    let in_use = cli(
        at,
        &[
            "deployment",
            "delete-version",
            "-d",
            "cli-deploy",
            "--build-id",
            "b1",
        ],
    );
    assert_ne!(in_use.code, 0, "{in_use:?}");
}

#[test]
fn workflow_commands() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &["team-a"]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);

    // execute: start and wait for the result, which the activity composed.
    let executed = ok(cli(
        at,
        &[
            "workflow", "execute", "--type", "Greet", "-t", QUEUE, "-w", "greet-1", "-i",
            "\"ada\"", "-o", "json",
        ],
    ))
    .json();
    assert_eq!(executed["workflow_id"], "greet-1");
    assert_eq!(executed["result"], "hello, ada");
    // An argument from a file (Temporal's --input-file), never with --input too.
    let argument = dir.path().join("name.json");
    std::fs::write(&argument, "\"cy\"\n").unwrap();
    let argument = argument.to_str().unwrap();
    let from_file = ok(cli(
        at,
        &[
            "workflow",
            "execute",
            "--type",
            "Greet",
            "-t",
            QUEUE,
            "-w",
            "greet-file",
            "--input-file",
            argument,
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(from_file["result"], "hello, cy");
    fails(
        cli(
            at,
            &[
                "workflow",
                "start",
                "--type",
                "Greet",
                "-t",
                QUEUE,
                "-i",
                "\"x\"",
                "--input-file",
                argument,
            ],
        ),
        2,
        "cannot be used with",
    );
    let text = ok(cli(at, &["workflow", "result", "-w", "greet-1"]));
    assert_eq!(text.stdout.trim(), "\"hello, ada\"");

    // Several --inputs are several arguments, one payload each; a bytes result is shown
    // as its encoding and base64 data.
    let repeated = ok(cli(
        at,
        &[
            "workflow", "execute", "--type", "Repeat", "-t", QUEUE, "-w", "repeat-1", "-i", "104",
            "-i", "3", "-o", "json",
        ],
    ))
    .json();
    assert_eq!(
        repeated["result"],
        serde_json::json!({ "metadata": { "encoding": "binary/plain" }, "data": "aGho" }),
        "three bytes 'h'"
    );
    let exported = ok(cli(
        at,
        &["workflow", "show", "-w", "repeat-1", "-o", "json"],
    ));
    let history = HistoryExport::from_json(&exported.stdout).unwrap();
    let endure_core::EventAttributes::WorkflowExecutionStarted(started) =
        &history.events[0].attributes
    else {
        panic!("{:?}", history.events[0]);
    };
    assert_eq!(started.input.as_slice().len(), 2, "a payload per --input");

    // show: the history as a table with back-references, and in the Replayer's format.
    let table = ok(cli(at, &["workflow", "show", "-w", "greet-1"]));
    let rows: Vec<Vec<&str>> = table
        .stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["ID", "TIME", "TYPE", "DETAILS"]);
    let types: Vec<&str> = rows[1..].iter().map(|row| row[2]).collect();
    assert_eq!(
        types,
        [
            "WorkflowExecutionStarted",
            "WorkflowTaskScheduled",
            "WorkflowTaskStarted",
            "WorkflowTaskCompleted",
            "ActivityTaskScheduled",
            "ActivityTaskStarted",
            "ActivityTaskCompleted",
            "WorkflowTaskScheduled",
            "WorkflowTaskStarted",
            "WorkflowTaskCompleted",
            "WorkflowExecutionCompleted",
        ]
    );
    assert_eq!(rows[1][3..], ["type=Greet", "task_queue=cli-tests"]);
    assert_eq!(rows[3][3..], ["scheduled_event_id=2"]);
    assert_eq!(
        rows[5][3..],
        [
            "activity_type=Compose",
            "activity_id=1",
            "workflow_task_completed_event_id=4"
        ]
    );
    assert_eq!(rows[7][3..], ["scheduled_event_id=5", "started_event_id=6"]);
    assert_eq!(rows[11][3..], ["workflow_task_completed_event_id=10"]);
    let exported = ok(cli(
        at,
        &["workflow", "show", "-w", "greet-1", "-o", "json"],
    ));
    let history = HistoryExport::from_json(&exported.stdout).unwrap();
    assert_eq!(history.events.len(), 11);
    // Readable: RFC 3339 times, durations as text, JSON payloads as their values.
    let readable: serde_json::Value = serde_json::from_str(&exported.stdout).unwrap();
    assert_eq!(readable["version"], 2);
    let first = &readable["events"][0];
    let time = first["event_time"].as_str().unwrap();
    assert!(
        time.parse::<endure_core::time::Timestamp>().is_ok() && time.ends_with('Z'),
        "{time}"
    );
    let started = &first["attributes"]["WorkflowExecutionStarted"];
    assert_eq!(started["input"], serde_json::json!(["ada"]));
    assert_eq!(started["workflow_task_timeout"], "10s");
    let completed = &readable["events"][10]["attributes"]["WorkflowExecutionCompleted"];
    assert_eq!(completed["result"], serde_json::json!(["hello, ada"]));
    assert_eq!(
        history.events.last().unwrap().event_type(),
        EventType::WorkflowExecutionCompleted
    );

    // describe, text and JSON.
    let described = ok(cli(
        at,
        &["workflow", "describe", "-w", "greet-1", "-o", "json"],
    ))
    .json();
    assert_eq!(described["status"], "Completed");
    assert_eq!(described["workflow_type"], "Greet");
    assert_eq!(described["task_queue"], QUEUE);
    assert_eq!(described["history_length"], 11);
    assert_eq!(described["pending_activities"], 0);
    assert_eq!(described["input"], "ada");
    assert_eq!(described["result"], "hello, ada");
    assert!(described.get("failure").is_none(), "{described}");
    let time = described["start_time"].as_str().unwrap();
    assert!(
        time.parse::<endure_core::time::Timestamp>().is_ok(),
        "{time}"
    );
    let described = ok(cli(at, &["workflow", "describe", "-w", "greet-1"]));
    assert!(
        described.stdout.contains("Status              Completed"),
        "{described:?}"
    );
    assert!(
        described.stdout.contains("Input               \"ada\"")
            && described
                .stdout
                .contains("Result              \"hello, ada\""),
        "{described:?}"
    );

    // start, update, query, signal, result.
    let started = ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "counter-1",
            "-o",
            "json",
        ],
    ))
    .json();
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    fails(
        cli(
            at,
            &[
                "workflow",
                "start",
                "--type",
                "Counter",
                "-t",
                QUEUE,
                "-w",
                "counter-1",
            ],
        ),
        5,
        "already started",
    );
    let updated = ok(cli(
        at,
        &[
            "workflow",
            "update",
            "-w",
            "counter-1",
            "--name",
            "add",
            "-i",
            "5",
            "--update-id",
            "u1",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(
        (updated["update_id"].as_str(), updated["result"].as_i64()),
        (Some("u1"), Some(5))
    );
    // The same update id is the same update: not applied twice.
    let again = ok(cli(
        at,
        &[
            "workflow",
            "update",
            "-w",
            "counter-1",
            "--name",
            "add",
            "-i",
            "5",
            "--update-id",
            "u1",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(again["result"], 5);
    let updated = ok(cli(
        at,
        &[
            "workflow",
            "update",
            "-w",
            "counter-1",
            "--name",
            "add",
            "-i",
            "2",
        ],
    ));
    assert!(updated.stdout.contains("Result     7"), "{updated:?}");
    let queried = ok(cli(
        at,
        &["workflow", "query", "-w", "counter-1", "--name", "count"],
    ));
    assert_eq!(queried.stdout.trim(), "7");
    // A run that does not exist is named as a person reads it, never as a Rust value.
    let ghost = cli(
        at,
        &[
            "workflow",
            "describe",
            "-w",
            "ghost",
            "-r",
            "00000000-0000-0000-0000-000000000001",
        ],
    );
    assert_eq!(ghost.code, 3, "{ghost:?}");
    assert!(ghost.stderr.contains("ghost (run 00000000-"), "{ghost:?}");
    assert!(!ghost.stderr.contains("ExecutionKey"), "{ghost:?}");
    // A string answer prints as plain text (and as a JSON string with -o json).
    let status = ok(cli(
        at,
        &["workflow", "query", "-w", "counter-1", "--name", "status"],
    ));
    assert_eq!(status.stdout.trim(), "counting");
    let status = ok(cli(
        at,
        &[
            "workflow",
            "query",
            "-w",
            "counter-1",
            "--name",
            "status",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(status["result"], "counting");
    fails(
        cli(
            at,
            &["workflow", "query", "-w", "counter-1", "--name", "nope"],
        ),
        1,
        "nope",
    );
    let listed = ok(cli(
        at,
        &[
            "workflow",
            "list",
            "-q",
            "WorkflowType = 'Counter' AND ExecutionStatus = 'Running'",
        ],
    ));
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{listed:?}");
    assert!(
        lines[1].starts_with(&format!("counter-1    {run_id}  Counter  Running")),
        "{listed:?}"
    );
    fails(
        cli(at, &["workflow", "list", "-q", "WorkflowType ="]),
        2,
        "",
    );
    ok(cli(
        at,
        &[
            "workflow",
            "signal",
            "-w",
            "counter-1",
            "--name",
            "finish",
            "-r",
            &run_id,
        ],
    ));
    let result = ok(cli(
        at,
        &["workflow", "result", "-w", "counter-1", "-o", "json"],
    ))
    .json();
    assert_eq!(result["result"], 7);
    let listed = ok(cli(
        at,
        &[
            "workflow",
            "list",
            "-q",
            "ExecutionStatus = 'Completed'",
            "-o",
            "json",
        ],
    ))
    .json();
    let mut ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["execution"]["workflow_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["counter-1", "greet-1", "greet-file", "repeat-1"]);
    // signal-with-start: the run starts with its signal delivered first.
    let started = ok(cli(
        at,
        &[
            "workflow",
            "signal-with-start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "counter-sws",
            "--signal-name",
            "finish",
            "--signal-input",
            "null",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(started["workflow_id"], "counter-sws");
    let result = ok(cli(at, &["workflow", "result", "-w", "counter-sws"]));
    assert_eq!(result.stdout.trim(), "0");
    // -o jsonl: a row per line, each a JSON object.
    let lines = ok(cli(
        at,
        &[
            "workflow",
            "list",
            "-q",
            "ExecutionStatus = 'Completed'",
            "-o",
            "jsonl",
        ],
    ));
    let rows: Vec<serde_json::Value> = lines
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|row| row["execution"]["workflow_id"].is_string())
    );
    let events = ok(cli(
        at,
        &["workflow", "show", "-w", "greet-1", "-o", "jsonl"],
    ));
    let events: Vec<serde_json::Value> = events
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 11);
    assert_eq!(events[0]["event_id"], 1);
    // count: the same filter, counted (Temporal's "Total: N").
    let counted = ok(cli(
        at,
        &["workflow", "count", "-q", "ExecutionStatus = 'Completed'"],
    ));
    assert_eq!(counted.stdout.trim(), "Total: 5");
    let counted = ok(cli(
        at,
        &[
            "workflow",
            "count",
            "-q",
            "WorkflowType = 'Greet'",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(counted["count"], 2);
    fails(
        cli(at, &["workflow", "count", "-q", "WorkflowType ="]),
        2,
        "",
    );

    // reset: a new run of counter-1 from its first task, terminating nothing (closed).
    let reset = ok(cli(
        at,
        &[
            "workflow",
            "reset",
            "-w",
            "counter-1",
            "--type",
            "FirstWorkflowTask",
            "--reason",
            "rerun",
            "-o",
            "json",
        ],
    ))
    .json();
    let new_run = reset["run_id"].as_str().unwrap().to_owned();
    assert_ne!(new_run, run_id);
    let described = ok(cli(
        at,
        &["workflow", "describe", "-w", "counter-1", "-o", "json"],
    ))
    .json();
    assert_eq!(described["execution"]["run_id"], new_run.as_str());
    fails(
        cli(
            at,
            &["workflow", "reset", "-w", "counter-1", "--reason", "where?"],
        ),
        2,
        "say where to reset",
    );
    // Temporal's -e names the WorkflowTaskCompleted event to fork at.
    let again = ok(cli(
        at,
        &[
            "workflow",
            "reset",
            "-w",
            "counter-1",
            "-e",
            "4",
            "--reason",
            "again",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_ne!(again["run_id"].as_str().unwrap(), new_run);

    // cancel and terminate.
    ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "counter-2",
        ],
    ));
    ok(cli(
        at,
        &[
            "workflow",
            "terminate",
            "-w",
            "counter-2",
            "--reason",
            "enough",
        ],
    ));
    let closed = ok(cli(
        at,
        &["workflow", "describe", "-w", "counter-2", "-o", "json"],
    ))
    .json();
    assert_eq!(closed["status"], "Terminated");
    fails(
        cli(at, &["workflow", "result", "-w", "counter-2"]),
        1,
        "Terminated",
    );
    // Deleted: gone with its history (exit 3 afterwards).
    let deleted = ok(cli(at, &["workflow", "delete", "-w", "counter-2"]));
    assert_eq!(deleted.stdout.trim(), "counter-2: deleted");
    fails(
        cli(at, &["workflow", "describe", "-w", "counter-2"]),
        3,
        "not found",
    );
    // The reset run got the finish signal again and completed; a new counter is canceled.
    ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "counter-3",
        ],
    ));
    let canceled = ok(cli(at, &["workflow", "cancel", "-w", "counter-3"]));
    assert_eq!(canceled.stdout.trim(), "counter-3: cancel requested");
    let shown = ok(cli(
        at,
        &["workflow", "show", "-w", "counter-3", "-o", "json"],
    ));
    let history = HistoryExport::from_json(&shown.stdout).unwrap();
    assert!(
        history
            .events
            .iter()
            .any(|event| event.event_type() == EventType::WorkflowExecutionCancelRequested),
        "{shown:?}"
    );

    // Search attributes and memo at start, found by list filters; the conflict policy.
    let tagged = ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "tagged",
            "--search-attribute",
            "Tier=\"gold\"",
            "--search-attribute",
            "Priority=3",
            "--memo",
            "note={\"vip\":true}",
            "-o",
            "json",
        ],
    ))
    .json();
    let found = ok(cli(
        at,
        &[
            "workflow",
            "list",
            "-q",
            "Tier = 'gold' AND Priority > 2",
            "-o",
            "json",
        ],
    ))
    .json();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["execution"]["workflow_id"], "tagged");
    assert_eq!(found[0]["search_attributes"]["Tier"]["Keyword"], "gold");
    // describe, for people: attribute values as filters write them, memo values decoded.
    let described = ok(cli(at, &["workflow", "describe", "-w", "tagged"])).stdout;
    for line in [
        "  Priority = 3",
        "  Tier = \"gold\"",
        "  note = {\"vip\":true}",
    ] {
        assert!(
            described.lines().any(|l| l == line),
            "{line:?} in {described}"
        );
    }
    let none = ok(cli(
        at,
        &["workflow", "list", "-q", "Tier = 'silver'", "-o", "json"],
    ))
    .json();
    assert_eq!(none.as_array().unwrap().len(), 0);
    let existing = ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "tagged",
            "--id-conflict-policy",
            "use-existing",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(
        existing["run_id"], tagged["run_id"],
        "the running run is returned"
    );
    fails(
        cli(
            at,
            &[
                "workflow",
                "start",
                "--type",
                "T",
                "-t",
                QUEUE,
                "--search-attribute",
                "Tier",
            ],
        ),
        2,
        "KEY=JSON",
    );

    // Namespaces isolate: the same id in team-a is another workflow, run by its worker.
    let other = ok(cli(
        at,
        &[
            "workflow", "execute", "-n", "team-a", "--type", "Greet", "-t", QUEUE, "-w", "greet-1",
            "-i", "\"bob\"", "-o", "json",
        ],
    ))
    .json();
    assert_eq!(other["result"], "hello, bob");
    let team_a = ok(cli(at, &["workflow", "list", "-n", "team-a", "-o", "json"])).json();
    assert_eq!(team_a.as_array().unwrap().len(), 1);
    assert_ne!(other["run_id"], executed["run_id"]);

    // Errors: not found, unknown namespace, bad input, usage, unreachable.
    fails(
        cli(at, &["workflow", "describe", "-w", "missing"]),
        3,
        "not found",
    );
    fails(
        cli(at, &["workflow", "list", "-n", "ghost"]),
        3,
        "endure namespace create ghost",
    );
    fails(
        cli(
            at,
            &[
                "workflow", "start", "--type", "Greet", "-t", QUEUE, "-i", "not json",
            ],
        ),
        2,
        "is not JSON",
    );
    fails(
        cli(
            at,
            &[
                "workflow",
                "start",
                "--type",
                "Greet",
                "-t",
                QUEUE,
                "--run-timeout",
                "10",
            ],
        ),
        2,
        "no unit",
    );
    fails(
        cli(at, &["workflow", "describe", "-w", "x", "-r", "not-a-uuid"]),
        2,
        "UUID",
    );
    fails(
        cli(at, &["workflow", "frobnicate"]),
        2,
        "unrecognized subcommand",
    );
    fails(
        cli("127.0.0.1:1", &["workflow", "list"]),
        4,
        "is a server running at 127.0.0.1:1?",
    );
}

#[test]
fn a_malformed_address_is_a_usage_error_before_anything_is_sent() {
    for address in ["not an address", "localhost:99999", ":7233", "localhost"] {
        let outcome = crate::processes::run(&["workflow", "list", "--address", address]);
        assert_eq!(outcome.code, 2, "{address}: {outcome:?}");
        assert!(outcome.stderr.contains("is not host:port"), "{outcome:?}");
    }
}

#[test]
fn completion_scripts_for_each_shell_name_the_commands() {
    for (shell, marker) in [
        ("bash", "_endure()"),
        ("zsh", "#compdef endure"),
        ("fish", "complete -c endure"),
    ] {
        let script = ok(crate::processes::run(&["completion", shell]));
        assert!(script.stdout.contains(marker), "{shell}: {}", script.stdout);
        for command in ["workflow", "deployment", "schedule", "namespace"] {
            assert!(script.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    let unknown = crate::processes::run(&["completion", "cmd.exe"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
}

#[test]
fn batches_signal_and_terminate_every_open_run_a_filter_selects_once_told_yes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);
    let start = |id: &str| {
        ok(cli(
            at,
            &[
                "workflow", "start", "--type", "Counter", "-t", QUEUE, "-w", id,
            ],
        ));
    };
    for id in ["batch-1", "batch-2", "batch-3"] {
        start(id);
    }
    // Without --yes the CLI says what would happen and does nothing.
    fails(
        cli(
            at,
            &["workflow", "terminate", "-q", "WorkflowType = 'Counter'"],
        ),
        2,
        "3 open run(s) match",
    );
    let running = ok(cli(
        at,
        &["workflow", "count", "-q", "ExecutionStatus = 'Running'"],
    ));
    assert_eq!(running.stdout.trim(), "Total: 3");
    // A batch signal finishes two of them; a batch terminate ends the rest.
    let signaled = ok(cli(
        at,
        &[
            "workflow",
            "signal",
            "-q",
            "WorkflowId = 'batch-1' OR WorkflowId = 'batch-2'",
            "--name",
            "finish",
            "-i",
            "null",
            "--yes",
            "-o",
            "json",
        ],
    ))
    .json();
    assert_eq!(signaled["signaled"], 2);
    assert_eq!(signaled["failed"], 0);
    for id in ["batch-1", "batch-2"] {
        assert_eq!(
            ok(cli(at, &["workflow", "result", "-w", id])).stdout.trim(),
            "0"
        );
    }
    let terminated = ok(cli(
        at,
        &[
            "workflow",
            "terminate",
            "-q",
            "WorkflowType = 'Counter'",
            "--yes",
        ],
    ));
    assert_eq!(terminated.stdout.trim(), "1 of 1 workflow(s) terminated");
    let running = ok(cli(
        at,
        &["workflow", "count", "-q", "ExecutionStatus = 'Running'"],
    ));
    assert_eq!(running.stdout.trim(), "Total: 0");
    // One workflow or a batch, not both.
    fails(
        cli(
            at,
            &[
                "workflow",
                "cancel",
                "-w",
                "batch-1",
                "-q",
                "WorkflowType = 'Counter'",
            ],
        ),
        2,
        "cannot be used with",
    );
}
