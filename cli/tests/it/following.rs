//! `workflow trace` (a workflow and its children as a tree) and `workflow show --follow`
//! (events printed as they are written, until the run closes).
#![allow(
    clippy::disallowed_methods,
    reason = "a follower process runs while the test signals, on the wall clock"
)]

use crate::processes::{Server, WorkerProcess, cli, ok};
use crate::worker::QUEUE;

#[test]
fn trace_draws_a_workflow_and_its_children_with_their_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);
    ok(cli(
        at,
        &[
            "workflow",
            "execute",
            "--type",
            "Family",
            "-t",
            QUEUE,
            "-w",
            "fam",
            "-i",
            r#"["ada", "grace"]"#,
        ],
    ));

    // Into a pipe, a closed workflow's tree is printed once.
    let text = ok(cli(at, &["workflow", "trace", "-w", "fam"])).stdout;
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0][..3], ["Completed", "Family", "fam"]);
    assert_eq!(lines[1][..4], ["├──", "Completed", "Greet", "fam-child-1"]);
    assert_eq!(lines[2][..4], ["└──", "Completed", "Greet", "fam-child-2"]);
    for line in &lines {
        assert!(
            line.last().unwrap().len() == 36,
            "a run id ends each line: {line:?}"
        );
    }

    // JSON: the same tree, parsed.
    let tree = ok(cli(at, &["workflow", "trace", "-w", "fam", "-o", "json"])).json();
    assert_eq!(tree["workflow_type"], "Family");
    assert_eq!(tree["status"], "Completed");
    let children = tree["children"].as_array().unwrap();
    let ids: Vec<&str> = children
        .iter()
        .map(|child| child["workflow_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fam-child-1", "fam-child-2"]);
    assert!(children.iter().all(|child| child["status"] == "Completed"
        && child["namespace"] == "default"
        && child["run_id"].is_string()));

    // --depth 0: the workflow alone, its children counted.
    let shallow = ok(cli(at, &["workflow", "trace", "-w", "fam", "--depth", "0"])).stdout;
    assert_eq!(shallow.lines().count(), 2, "{shallow}");
    assert!(
        shallow.contains("… 2 more (raise --depth to see them)"),
        "{shallow}"
    );

    // A running workflow with --no-follow: its tree as it is now.
    ok(cli(
        at,
        &[
            "workflow", "start", "--type", "Counter", "-t", QUEUE, "-w", "open-1",
        ],
    ));
    let now = ok(cli(
        at,
        &["workflow", "trace", "-w", "open-1", "--no-follow"],
    ))
    .stdout;
    assert!(now.starts_with("Running  Counter  open-1"), "{now}");
}

#[test]
fn show_follow_prints_events_as_they_come_until_the_run_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.clone();
    let _worker = WorkerProcess::start(&at);
    ok(cli(
        &at,
        &[
            "workflow", "start", "--type", "Counter", "-t", QUEUE, "-w", "follow-1",
        ],
    ));
    let following = {
        let at = at.clone();
        std::thread::spawn(move || {
            cli(
                &at,
                &[
                    "workflow", "show", "-w", "follow-1", "--follow", "-o", "jsonl",
                ],
            )
        })
    };
    // Once the first workflow task is done (the run waits for its signal), the signal
    // closes the run the follower is watching.
    let history_length = || {
        ok(cli(
            &at,
            &["workflow", "describe", "-w", "follow-1", "-o", "json"],
        ))
        .json()["history_length"]
            .as_u64()
            .unwrap()
    };
    let waiting = std::time::Instant::now();
    while history_length() < 4 {
        assert!(
            waiting.elapsed() < std::time::Duration::from_secs(30),
            "no worker"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ok(cli(
        &at,
        &[
            "workflow", "signal", "-w", "follow-1", "--name", "finish", "-i", "null",
        ],
    ));
    let followed = ok(following.join().unwrap());
    let events: Vec<serde_json::Value> = followed
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|event| {
            event["attributes"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .as_str()
        })
        .collect();
    assert_eq!(
        types,
        [
            "WorkflowExecutionStarted",
            "WorkflowTaskScheduled",
            "WorkflowTaskStarted",
            "WorkflowTaskCompleted",
            "WorkflowExecutionSignaled",
            "WorkflowTaskScheduled",
            "WorkflowTaskStarted",
            "WorkflowTaskCompleted",
            "WorkflowExecutionCompleted",
        ]
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["event_id"], index + 1, "dense ids, each event once");
    }

    // Text: a header, then a row per event, the closing one last.
    let text = ok(cli(&at, &["workflow", "show", "-w", "follow-1", "-f"])).stdout;
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[0].starts_with("ID"), "{text}");
    assert_eq!(rows.len(), 10, "{text}");
    assert!(rows[9].contains("WorkflowExecutionCompleted"), "{text}");

    // -o json cannot stream.
    let refused = cli(
        &at,
        &["workflow", "show", "-w", "follow-1", "-f", "-o", "json"],
    );
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("-o jsonl"), "{refused:?}");
}
