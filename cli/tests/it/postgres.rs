//! `endure admin schema` and `endure server start` on PostgreSQL, as an operator runs them:
//! the schema reported and migrated, a server that refuses a database behind its schema
//! when told not to migrate, a workflow run through the server and the CLI, and its state
//! still there after the server restarts. Skips (saying why) without `ENDURE_TEST_POSTGRES`.

use endure_core::history::{EventType, HistoryExport};
use endure_server::storage::postgres::testing;

use crate::processes::{Server, WorkerProcess, cli, ok, run};
use crate::worker::QUEUE;

#[test]
fn a_server_on_postgres_migrates_serves_and_keeps_its_state() {
    let Some(admin) = testing::admin_url() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(testing::fresh_database(&admin)).unwrap();

    let status = ok(run(&["admin", "schema", "status", "--postgres", &url]));
    assert!(
        status.stdout.contains("schema version 0 of 2"),
        "{status:?}"
    );
    assert!(status.stdout.contains("pending: 2 "), "{status:?}");

    // Told not to migrate, a server refuses the database and says what to run.
    let refused = run(&[
        "server",
        "start",
        "--postgres",
        &url,
        "--no-migrate",
        "--port",
        "0",
    ]);
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(
        refused.stderr.contains("endure admin schema migrate"),
        "{refused:?}"
    );

    let migrated = ok(run(&["admin", "schema", "migrate", "--postgres", &url]));
    assert!(migrated.stdout.contains("applied: 2 "), "{migrated:?}");
    assert!(migrated.stdout.contains("(up to date)"), "{migrated:?}");

    let server = Server::start_postgres(&url);
    let worker = WorkerProcess::start(&server.address);
    let executed = ok(cli(
        &server.address,
        &[
            "workflow", "execute", "--type", "Greet", "-t", QUEUE, "-w", "greet-pg", "-i",
            "\"ada\"", "-o", "json",
        ],
    ))
    .json();
    assert_eq!(executed["result"], "hello, ada");
    drop(worker);
    assert!(server.terminate(), "the server stops cleanly on SIGTERM");

    // A new server process on the same database has the run and its history.
    let server = Server::start_postgres(&url);
    let exported = ok(cli(
        &server.address,
        &["workflow", "show", "-w", "greet-pg", "-o", "json"],
    ));
    let export = HistoryExport::from_json(&exported.stdout).unwrap();
    let types: Vec<EventType> = export
        .events
        .iter()
        .map(|event| event.event_type())
        .collect();
    assert_eq!(types.first(), Some(&EventType::WorkflowExecutionStarted));
    assert_eq!(types.last(), Some(&EventType::WorkflowExecutionCompleted));
    assert!(
        types.contains(&EventType::ActivityTaskCompleted),
        "{types:?}"
    );
    let described = ok(cli(
        &server.address,
        &["workflow", "describe", "-w", "greet-pg", "-o", "json"],
    ))
    .json();
    assert_eq!(described["status"], "Completed", "{described}");
    assert!(server.terminate());
}
