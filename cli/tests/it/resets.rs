//! `workflow reset --type LastContinuedAsNew`: the run a run continued from is reset at its
//! last workflow task, as Temporal's CLI does.
#![allow(
    clippy::disallowed_methods,
    reason = "the test waits for a worker process on the wall clock"
)]

use crate::processes::{Server, WorkerProcess, cli, event_types, fails, ok, shown_events};
use crate::worker::QUEUE;

/// Polls `describe` of `run` (the current run when `None`) until `done` holds.
fn describe_until(
    at: &str,
    run: Option<&str>,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let mut args = vec!["workflow", "describe", "-w", "chain-1", "-o", "json"];
        if let Some(run) = run {
            args.extend(["-r", run]);
        }
        let described = ok(cli(at, &args)).json();
        if done(&described) {
            return described;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{described}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn last_continued_as_new_resets_the_run_this_one_continued_from() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);
    let first = ok(cli(
        at,
        &[
            "workflow", "start", "--type", "Chain", "-t", QUEUE, "-w", "chain-1", "-i", "1", "-o",
            "json",
        ],
    ))
    .json()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The second run waits for its signal once its first task is done.
    let second = describe_until(at, None, |d| {
        d["execution"]["run_id"] != first.as_str() && d["history_length"].as_u64() >= Some(4)
    });
    let second = second["execution"]["run_id"].as_str().unwrap().to_owned();

    let reset = ok(cli(
        at,
        &[
            "workflow",
            "reset",
            "-w",
            "chain-1",
            "--type",
            "LastContinuedAsNew",
            "--reason",
            "again",
            "-o",
            "json",
        ],
    ))
    .json();
    let reset_run = reset["run_id"].as_str().unwrap().to_owned();
    assert!(reset_run != first && reset_run != second, "{reset}");

    // The waiting run was terminated by the reset; the reset run replays the first run's
    // ending and continues as new again.
    describe_until(at, Some(&second), |d| d["status"] == "Terminated");
    let forked = describe_until(at, Some(&reset_run), |d| d["status"] == "ContinuedAsNew");
    assert_eq!(forked["workflow_type"], "Chain");
    let history: serde_json::Value = serde_json::from_str(
        &ok(cli(
            at,
            &[
                "workflow", "show", "-w", "chain-1", "-r", &reset_run, "-o", "json",
            ],
        ))
        .stdout,
    )
    .unwrap();
    let events = history["events"].as_array().unwrap();
    let last = events.last().unwrap();
    assert!(
        last["attributes"]["WorkflowExecutionContinuedAsNew"].is_object(),
        "{last}"
    );

    // The first run of a chain has nothing to go back to.
    fails(
        cli(
            at,
            &[
                "workflow",
                "reset",
                "-w",
                "chain-1",
                "-r",
                &first,
                "--type",
                "LastContinuedAsNew",
                "--reason",
                "x",
            ],
        ),
        2,
        "did not continue as new",
    );
}

#[test]
fn reapply_flags_choose_what_the_new_run_receives_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);
    // A counter raised by an update to 5, then finished by a signal; each reset forks this
    // run (terminating the one a reset before made).
    let original = ok(cli(
        at,
        &[
            "workflow",
            "start",
            "--type",
            "Counter",
            "-t",
            QUEUE,
            "-w",
            "counter-r",
            "-o",
            "json",
        ],
    ))
    .json()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(cli(
        at,
        &[
            "workflow",
            "update",
            "-w",
            "counter-r",
            "--name",
            "add",
            "-i",
            "5",
            "--update-id",
            "u1",
        ],
    ));
    ok(cli(
        at,
        &[
            "workflow",
            "signal",
            "-w",
            "counter-r",
            "--name",
            "finish",
            "-i",
            "null",
        ],
    ));
    let result = ok(cli(at, &["workflow", "result", "-w", "counter-r"]));
    assert_eq!(result.stdout.trim(), "5");

    let reset = |extra: &[&str]| {
        let mut args = vec![
            "workflow",
            "reset",
            "-w",
            "counter-r",
            "-r",
            &original,
            "--type",
            "FirstWorkflowTask",
            "--reason",
            "again",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        ok(cli(at, &args)).json()["run_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let reapplied = |run: &str| {
        let events = shown_events(at, "counter-r", Some(run));
        let types = event_types(&events);
        (
            types.contains(&"WorkflowExecutionUpdateAdmitted"),
            types.contains(&"WorkflowExecutionSignaled"),
        )
    };
    // Without signals: the update comes again, the finishing signal does not, so the new
    // run counts 5 and waits.
    let without_signals = reset(&["--reapply-exclude", "Signal"]);
    assert_eq!(reapplied(&without_signals), (true, false));
    // Without updates: the signal comes again (the run finishes at 0).
    let without_updates = reset(&["--reapply-exclude", "Update"]);
    assert_eq!(reapplied(&without_updates), (false, true));
    let result = ok(cli(
        at,
        &[
            "workflow",
            "result",
            "-w",
            "counter-r",
            "-r",
            &without_updates,
        ],
    ));
    assert_eq!(result.stdout.trim(), "0");
    // Temporal's older flag, and excluding everything.
    let signals_only = reset(&["--reapply-type", "Signal"]);
    assert_eq!(reapplied(&signals_only), (false, true));
    let nothing = reset(&["--reapply-exclude", "All"]);
    assert_eq!(reapplied(&nothing), (false, false));
    fails(
        cli(
            at,
            &[
                "workflow",
                "reset",
                "-w",
                "counter-r",
                "--type",
                "FirstWorkflowTask",
                "--reason",
                "x",
                "--reapply-exclude",
                "Timer",
            ],
        ),
        2,
        "invalid value 'Timer'",
    );
}
