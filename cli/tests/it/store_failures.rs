//! A store file that is corrupt, or in use: the server and `endure admin check` say which,
//! plainly, with their own exit codes — never "is another server using it?" for a corrupt
//! file.

use std::io::{Seek, SeekFrom, Write};

use crate::processes::{Server, cli, run};

/// Overwrites every other page after the first with garbage (the header stays readable).
fn corrupt(path: &std::path::Path) {
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let pages = file.metadata().unwrap().len() / 4096;
    for page in (1..pages).step_by(2) {
        file.seek(SeekFrom::Start(page * 4096)).unwrap();
        file.write_all(&[0xa5; 4096]).unwrap();
    }
    file.sync_all().unwrap();
}

#[test]
fn a_corrupt_store_is_named_corrupt_and_a_store_in_use_is_named_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dev.redb");
    let db_arg = db.to_str().unwrap();
    let server = Server::start(&db, 0, &[]);
    for index in 0..20 {
        let id = format!("order-{index}");
        let started = cli(
            &server.address,
            &["workflow", "start", "--type", "T", "-t", "q", "-w", &id],
        );
        assert_eq!(started.code, 0, "{started:?}");
    }
    let in_use = run(&["admin", "check", "--db", db_arg]);
    assert_eq!(in_use.code, 4, "{in_use:?}");
    assert!(
        in_use.stderr.contains("open in another process"),
        "{in_use:?}"
    );
    assert!(server.terminate(), "the server stops cleanly");

    let sound = run(&["admin", "check", "--db", db_arg]);
    assert_eq!(sound.code, 0, "{sound:?}");
    assert!(sound.stdout.contains("is sound"), "{sound:?}");
    assert!(
        sound
            .stdout
            .lines()
            .any(|line| line.starts_with("executions") && line.contains(" 20 records")),
        "{sound:?}"
    );

    corrupt(&db);
    let checked = run(&["admin", "check", "--db", db_arg]);
    assert_eq!(checked.code, 6, "{checked:?}");
    assert!(checked.stderr.contains("is corrupt"), "{checked:?}");
    let opened = run(&["server", "start-dev", "--db", db_arg, "--port", "0"]);
    assert_eq!(opened.code, 6, "{opened:?}");
    assert!(
        opened.stderr.contains("corrupt") && opened.stderr.contains("endure admin check"),
        "{opened:?}"
    );
    assert!(!opened.stderr.contains("another server"), "{opened:?}");
}

/// A disk that fills up (played by a file-size limit on the server process): the store
/// stops, says why once in the log and in the health check, acknowledges nothing more, and
/// after a restart with room again every acknowledged start is there.
#[test]
fn a_full_disk_stops_the_store_says_why_and_loses_nothing() {
    use endure::{Client, ClientError, Namespace, StartWorkflowOptions, TaskQueueName, WorkflowId};

    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("dev.redb"), dir.path().join("server.log"));
    // Room for the 16 MiB write-ahead log (allocated in full at start) and a little more:
    // the store file runs out at a checkpoint.
    let server = Server::start_with_file_limit(&db, 24 << 20, &log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let input = "x".repeat(100_000);
    let (acknowledged, refusal) = runtime.block_on(async {
        let client = Client::connect(server.address.clone(), Namespace::default());
        let mut acknowledged = Vec::new();
        for index in 0..1_000 {
            let id = format!("order-{index}");
            let options = StartWorkflowOptions::new(
                WorkflowId::new(id.as_str()).unwrap(),
                TaskQueueName::new("q").unwrap(),
            );
            match client.start_workflow(options, "Order", &input).await {
                Ok(_) => acknowledged.push(id),
                Err(ClientError::Remote(remote)) => return (acknowledged, remote),
                Err(other) => panic!("{other}"),
            }
        }
        panic!("24 MiB held a thousand 100 kB starts");
    });
    assert!(!acknowledged.is_empty());
    assert!(refusal.message.contains("IO error"), "{refusal:?}");
    let again = cli(
        &server.address,
        &["workflow", "start", "--type", "T", "-t", "q", "-w", "later"],
    );
    assert_eq!(again.code, 4, "{again:?}");
    assert!(again.stderr.contains("the store is stopped"), "{again:?}");
    assert!(again.stderr.contains("When the store stops"), "{again:?}");
    let health = cli(&server.address, &["operator", "cluster", "health"]);
    assert_eq!(health.code, 4, "{health:?}");
    assert!(
        health.stdout.starts_with("NOT_SERVING: storage IO error"),
        "{health:?}"
    );
    // A load balancer sees it too: not ready, with the reason; the process is still up.
    let http = server
        .metrics
        .clone()
        .expect("the ready line names /metrics");
    let (status, reason) = crate::metrics::get(&http, "/readyz");
    assert_eq!(status, 503, "{reason}");
    assert!(
        reason.contains("the store stopped: storage IO error"),
        "{reason}"
    );
    assert_eq!(crate::metrics::get(&http, "/healthz").0, 200);
    assert!(
        server.terminate(),
        "a stopped store still shuts down cleanly"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged.matches("the store stopped").count(),
        1,
        "the cause is logged once:\n{logged}"
    );

    // With room again, every acknowledged start is there.
    let server = Server::start(&db, 0, &[]);
    let health = cli(&server.address, &["operator", "cluster", "health"]);
    assert_eq!(health.code, 0, "{health:?}");
    assert_eq!(health.stdout.trim(), "SERVING");
    for id in &acknowledged {
        let described = cli(&server.address, &["workflow", "describe", "-w", id]);
        assert_eq!(described.code, 0, "{id}: {described:?}");
    }
}
