//! `endure activity complete | fail` against a dev server and the worker process: an
//! `Approval` workflow's activity completes asynchronously, heartbeating its own task
//! token, and the commands answer it by ids or by that token.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes, waited for on the wall clock"
)]

use std::time::{Duration, Instant};

use endure::ActivityCompletionToken;
use serde_json::Value;

use crate::processes::{Server, WorkerProcess, cli, event_types, fails, ok, shown_events};
use crate::worker::QUEUE;

/// Starts an `Approval` workflow `id`.
fn start(at: &str, id: &str) {
    ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Approval",
            "-t",
            QUEUE,
            "-w",
            id,
            "-i",
            "\"order\"",
        ],
    ));
}

/// The run's pending activity and the token its attempt `attempt` heartbeated, once it
/// did (a retry's heartbeat details are the last attempt's until it heartbeats).
fn pending(at: &str, id: &str, attempt: u32) -> (Value, String) {
    let began = Instant::now();
    loop {
        let described = ok(cli(at, &["workflow", "describe", "-w", id, "-o", "json"])).json();
        let activity = &described["pending_activity_details"][0];
        if let Some(text) = activity["heartbeat_details"][0].as_str() {
            let token: ActivityCompletionToken = text.parse().unwrap();
            if token.token.attempt == attempt {
                return (activity.clone(), text.to_owned());
            }
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "attempt {attempt} of {id} never heartbeated: {described}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn activity_commands_answer_an_asynchronous_activity_by_ids_or_by_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);

    // By ids: the result reaches the workflow, the answer names the CLI.
    start(at, "approval-1");
    let (activity, _) = pending(at, "approval-1", 1);
    assert_eq!(activity["activity_id"], "approval");
    assert_eq!(activity["state"], "Started");
    let completed = ok(cli(
        at,
        &[
            "activity",
            "complete",
            "-w",
            "approval-1",
            "--activity-id",
            "approval",
            "--result",
            "\"approved\"",
            "--identity",
            "ops@desk",
        ],
    ));
    assert_eq!(
        completed.stdout.trim(),
        "Activity approval of approval-1 completed"
    );
    let result = ok(cli(at, &["workflow", "result", "-w", "approval-1"]));
    assert_eq!(result.stdout.trim(), "\"approved\"");
    let history = shown_events(at, "approval-1", None);
    assert_eq!(
        event_types(&history),
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
    let answer = &history[6]["attributes"]["ActivityTaskCompleted"];
    assert_eq!(answer["scheduled_event_id"], 5);
    assert_eq!(answer["started_event_id"], 6);
    assert_eq!(answer["identity"], "ops@desk");
    // Done: nothing is pending any more, and the command says so.
    fails(
        cli(
            at,
            &[
                "activity",
                "complete",
                "-w",
                "approval-1",
                "--activity-id",
                "approval",
            ],
        ),
        3,
        "has no pending activity approval",
    );

    // By token: the first attempt fails and is retried; the second is failed for good.
    start(at, "approval-2");
    let (_, token) = pending(at, "approval-2", 1);
    let failed = ok(cli(
        at,
        &[
            "activity",
            "fail",
            "--task-token",
            &token,
            "--reason",
            "issuer down",
            "-o",
            "json",
        ],
    ))
    .json();
    assert!(
        failed["failed"]
            .as_str()
            .unwrap()
            .ends_with("of approval-2"),
        "{failed}"
    );
    // The first attempt's token answers nothing now.
    fails(
        cli(at, &["activity", "complete", "--task-token", &token]),
        3,
        "attempt 1",
    );
    let (second, token) = pending(at, "approval-2", 2);
    assert_eq!(second["attempt"], 2);
    ok(cli(
        at,
        &[
            "activity",
            "fail",
            "--task-token",
            &token,
            "--reason",
            "card declined",
            "--type",
            "Declined",
            "--non-retryable",
        ],
    ));
    let result = ok(cli(at, &["workflow", "result", "-w", "approval-2"]));
    assert_eq!(result.stdout.trim(), "\"failed: card declined\"");
    let history = shown_events(at, "approval-2", None);
    let failure = &history[6]["attributes"]["ActivityTaskFailed"];
    assert_eq!(failure["scheduled_event_id"], 5);
    assert_eq!(failure["identity"], "endure-cli");
    // A failure is its chain, outermost first.
    assert_eq!(failure["failure"][0]["message"], "card declined");
    assert_eq!(
        history[5]["attributes"]["ActivityTaskStarted"]["attempt"],
        2
    );

    // Flags that name nothing, or a token that is not one, are usage errors.
    fails(
        cli(at, &["activity", "complete", "--activity-id", "approval"]),
        2,
        "--workflow-id",
    );
    fails(
        cli(
            at,
            &["activity", "complete", "--task-token", "bm90LWEtdG9rZW4"],
        ),
        2,
        "not a task token",
    );
}
