//! kill -9 of the dev server mid-run: restarted on the same file and port, the worker
//! process reconnects by itself and every workflow completes exactly once.

use std::time::Duration;

use endure::{Client, ClientError, Namespace, StartWorkflowOptions, TaskQueueName, WorkflowId};
use endure_core::history::{EventType, check_well_formed};
use endure_core::protocol::ErrorKind;

use crate::processes::{Server, WorkerProcess};
use crate::worker::QUEUE;

const WORKFLOWS: usize = 30;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Whether a call failed only because the server was away.
fn transient(error: &ClientError) -> bool {
    matches!(error, ClientError::Remote(remote) if matches!(remote.kind, ErrorKind::Unavailable | ErrorKind::DeadlineExceeded))
}

#[test]
fn a_killed_server_restarts_and_every_workflow_completes_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dev.redb");
    let server = Server::start(&db, 0, &[]);
    let (address, port) = (server.address.clone(), server.port());
    let _worker = WorkerProcess::start(&address);
    let runtime = runtime();
    let client = runtime.block_on(async {
        let client = Client::connect(address.clone(), Namespace::default());
        for index in 0..WORKFLOWS {
            let options = StartWorkflowOptions::new(
                WorkflowId::new(format!("steps-{index}")).unwrap(),
                TaskQueueName::new(QUEUE).unwrap(),
            );
            client
                .start_workflow(options, "Steps", &format!("w{index}"))
                .await
                .unwrap();
        }
        client
    });
    // Twice: kill -9 while the workflows run, restart on the same file and port.
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    std::thread::sleep(Duration::from_millis(200));
    let server = Server::start(&db, port, &[]);
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let _server = Server::start(&db, port, &[]);

    runtime.block_on(async {
        for index in 0..WORKFLOWS {
            let handle = client.handle(WorkflowId::new(format!("steps-{index}")).unwrap(), None);
            let result: String = loop {
                match handle.result().await {
                    Ok(result) => break result,
                    Err(error) if transient(&error) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(error) => panic!("steps-{index}: {error}"),
                }
            };
            assert_eq!(result, format!("hello, hello, w{index}"));
            let history = handle.history().await.unwrap();
            check_well_formed(&history).unwrap();
            let count = |event_type| {
                history
                    .iter()
                    .filter(|event| event.event_type() == event_type)
                    .count()
            };
            assert_eq!(
                count(EventType::WorkflowExecutionCompleted),
                1,
                "steps-{index}"
            );
            assert_eq!(count(EventType::ActivityTaskCompleted), 2, "steps-{index}");
            assert_eq!(count(EventType::TimerFired), 1, "steps-{index}");
            assert_eq!(
                history.last().unwrap().event_type(),
                EventType::WorkflowExecutionCompleted
            );
        }
    });
}
