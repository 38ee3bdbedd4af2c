//! `endure schedule …` against a dev server with a worker process: the `temporal schedule`
//! flags, what each command prints (JSON parsed), and how each fails.

use std::time::Duration;

use crate::processes::{Server, WorkerProcess, cli, fails, ok};
use crate::worker::QUEUE;

fn describe(at: &str) -> serde_json::Value {
    ok(cli(
        at,
        &["schedule", "describe", "--schedule-id", "s1", "-o", "json"],
    ))
    .json()
}

/// Describes until `check` holds (real time, a few seconds at most).
fn describe_until(
    at: &str,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..100 {
        let description = describe(at);
        if check(&description) {
            return description;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: {:#}", describe(at));
}

#[test]
fn schedule_commands() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let _worker = WorkerProcess::start(at);

    // Temporal's own example, letter for letter.
    let created = ok(cli(
        at,
        &[
            "schedule",
            "create",
            "--schedule-id",
            "s1",
            "--interval",
            "1s",
            "--workflow-id",
            "w",
            "--type",
            "Greet",
            "--task-queue",
            QUEUE,
            "--input",
            "\"sched\"",
        ],
    ));
    assert_eq!(created.stdout.trim(), "Schedule s1 created");
    fails(
        cli(
            at,
            &[
                "schedule",
                "create",
                "-s",
                "s1",
                "--interval",
                "1s",
                "-w",
                "w",
                "--type",
                "Greet",
                "-t",
                QUEUE,
            ],
        ),
        5,
        "already started",
    );

    let described = describe_until(at, "two actions", |d| {
        d["info"]["action_count"].as_u64() >= Some(2)
    });
    assert_eq!(described["schedule_id"], "s1");
    assert_eq!(described["spec"]["intervals"][0]["every"], "1s");
    assert_eq!(described["policies"]["overlap_policy"], "Skip");
    assert_eq!(described["policies"]["catchup_window"], "365d");
    assert_eq!(described["action"]["workflow_type"], "Greet");
    assert_eq!(described["action"]["input"], "sched");
    assert_eq!(
        described["future_action_times"].as_array().unwrap().len(),
        10
    );
    let first = &described["info"]["recent_actions"][0];
    let workflow_id = first["workflow_id"].as_str().unwrap();
    assert_eq!(
        workflow_id,
        format!("w-{}", first["schedule_time"].as_str().unwrap())
    );
    // The started workflow ran, and carries the schedule's search attributes.
    let result = ok(cli(
        at,
        &["workflow", "result", "-w", workflow_id, "-o", "json"],
    ))
    .json();
    assert_eq!(result["result"], "hello, sched");
    let run = ok(cli(
        at,
        &["workflow", "describe", "-w", workflow_id, "-o", "json"],
    ))
    .json();
    assert_eq!(
        run["search_attributes"]["TemporalScheduledById"]["Keyword"],
        "s1"
    );

    let listed = ok(cli(at, &["schedule", "list", "-o", "json"])).json();
    assert_eq!(listed[0]["schedule_id"], "s1");
    assert_eq!(listed[0]["workflow_type"], "Greet");
    let table = ok(cli(at, &["schedule", "list"]));
    assert!(table.stdout.starts_with("SCHEDULE ID"), "{table:?}");

    ok(cli(
        at,
        &["schedule", "pause", "-s", "s1", "--note", "maintenance"],
    ));
    let paused = describe(at);
    assert_eq!(paused["state"]["paused"], true);
    assert_eq!(paused["state"]["notes"], "maintenance");
    assert!(paused["future_action_times"].as_array().unwrap().is_empty());
    let count = paused["info"]["action_count"].as_u64().unwrap();

    ok(cli(
        at,
        &[
            "schedule",
            "trigger",
            "-s",
            "s1",
            "--overlap-policy",
            "AllowAll",
        ],
    ));
    describe_until(at, "a trigger while paused", |d| {
        d["info"]["action_count"].as_u64() == Some(count + 1)
    });
    ok(cli(
        at,
        &[
            "schedule",
            "backfill",
            "-s",
            "s1",
            "--start-time",
            "2026-01-01T00:00:00Z",
            "--end-time",
            "2026-01-01T00:00:02Z",
            "--overlap-policy",
            "AllowAll",
        ],
    ));
    let backfilled = describe_until(at, "three backfilled", |d| {
        d["info"]["action_count"].as_u64() == Some(count + 4)
    });
    let ids: Vec<&str> = backfilled["info"]["recent_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["workflow_id"].as_str().unwrap())
        .collect();
    for expected in [
        "w-2026-01-01T00:00:00Z",
        "w-2026-01-01T00:00:01Z",
        "w-2026-01-01T00:00:02Z",
    ] {
        assert!(ids.contains(&expected), "{expected} in {ids:?}");
    }
    ok(cli(
        at,
        &["schedule", "unpause", "-s", "s1", "--note", "done"],
    ));
    assert_eq!(describe(at)["state"]["paused"], false);

    let updated = ok(cli(
        at,
        &[
            "schedule",
            "update",
            "-s",
            "s1",
            "--cron",
            "0 12 * * *",
            "--time-zone",
            "Europe/Paris",
            "-w",
            "w",
            "--type",
            "Greet",
            "-t",
            QUEUE,
        ],
    ));
    assert_eq!(updated.stdout.trim(), "Schedule s1 updated");
    let described = describe(at);
    assert_eq!(described["spec"]["cron_expressions"][0], "0 12 * * *");
    assert_eq!(described["spec"]["time_zone"], "Europe/Paris");
    let text = ok(cli(at, &["schedule", "describe", "-s", "s1"]));
    assert!(
        text.stdout.contains("Time zone       Europe/Paris"),
        "{text:?}"
    );

    // Usage errors exit 2 and say what to write.
    fails(
        cli(
            at,
            &[
                "schedule",
                "trigger",
                "-s",
                "s1",
                "--overlap-policy",
                "Sometimes",
            ],
        ),
        2,
        "no overlap policy",
    );
    fails(
        cli(
            at,
            &[
                "schedule", "create", "-s", "s2", "-w", "w", "--type", "Greet", "-t", QUEUE,
            ],
        ),
        2,
        "give --cron, --interval or --calendar",
    );
    fails(
        cli(
            at,
            &[
                "schedule",
                "create",
                "-s",
                "s2",
                "--calendar",
                "{\"hour\":\"25\"}",
                "-w",
                "w",
                "--type",
                "Greet",
                "-t",
                QUEUE,
            ],
        ),
        2,
        "out of range",
    );
    fails(
        cli(
            at,
            &[
                "schedule",
                "create",
                "-s",
                "s2",
                "--cron",
                "61 * * * *",
                "-w",
                "w",
                "--type",
                "Greet",
                "-t",
                QUEUE,
            ],
        ),
        2,
        "minute",
    );

    ok(cli(at, &["schedule", "delete", "-s", "s1"]));
    fails(
        cli(at, &["schedule", "describe", "-s", "s1"]),
        3,
        "not found",
    );
    // The workflows it started are kept.
    ok(cli(at, &["workflow", "describe", "-w", workflow_id]));
}
