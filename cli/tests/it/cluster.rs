//! A three-node cluster in real processes over one PostgreSQL database: three `endure
//! server start --node` processes on loopback, a worker process and this process as the
//! client, both connected to all three seeds. Each workflow runs a child, most often on
//! another node. One node is SIGKILLed under load and later restarted: every workflow and
//! child completes exactly once, and the client sees only retryable errors. Skips (saying
//! why) without `ENDURE_TEST_POSTGRES`.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes, waited for on the wall clock"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use endure::workflow::{ActivityError, ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, Client, ClientError, ErrorKind, Namespace,
    StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId,
};
use endure_core::history::EventType;
use endure_server::storage::postgres::testing;

use crate::processes::{cli, endure};

/// Set (to the seeds, comma-separated) in the environment of this binary run as the
/// cluster's worker.
const CLUSTER_WORKER_ENV: &str = "ENDURE_CLI_TEST_CLUSTER_WORKER";

const QUEUE: &str = "cluster-tests";
const WORKFLOWS: usize = 60;
/// Short leases, so the killed node's shards move within seconds.
const LEASE: &str = "3s";

#[endure::activity(name = "ClusterCompose")]
async fn compose(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("hello, {name}"))
}

/// Greets through an activity.
#[endure::workflow(name = "ClusterCompose")]
async fn compose_child(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(5)),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<compose>(&name).await?)
}

/// Greets in a child workflow (`<id>-child`), whose shard is most often another node's:
/// the parent's outbox starts it there and the child's reports its close back.
#[endure::workflow(name = "ClusterGreet")]
async fn greet(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let id = ctx.info().workflow_id().clone();
    let options = ChildWorkflowOptions {
        workflow_id: Some(format!("{id}-child")),
        ..ChildWorkflowOptions::default()
    };
    Ok(ctx
        .start_child_workflow("ClusterCompose", &name, options)
        .result::<String>()
        .await?)
}

/// The cluster's worker process: polls every member until killed. Does nothing in an
/// ordinary test run.
#[test]
fn cluster_worker_process() {
    let Ok(seeds) = std::env::var(CLUSTER_WORKER_ENV) else {
        return;
    };
    let seeds: Vec<&str> = seeds.split(',').collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = Client::connect_cluster(&seeds, Namespace::default());
        let mut worker = Worker::new(
            client.transport(),
            client.namespace().clone(),
            TaskQueueName::new(QUEUE).unwrap(),
            WorkerOptions {
                identity: "cluster-test-worker".into(),
                ..WorkerOptions::default()
            },
        );
        worker
            .register::<greet>()
            .register::<compose_child>()
            .register::<compose>();
        worker.run(std::future::pending()).await;
    });
}

/// A node process, killed when dropped.
pub(crate) struct Node {
    child: Child,
    pub(crate) address: String,
}

impl Node {
    pub(crate) fn start(url: &str, name: &str, port: u16) -> Self {
        let mut child = Command::new(endure())
            .args(["server", "start", "--postgres", url, "--node", name])
            .args([
                "--port",
                &port.to_string(),
                "--lease",
                LEASE,
                "--headless",
                "--no-metrics",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with(&format!(
                "Endure cluster node {name} listening on 127.0.0.1:{port}"
            )),
            "{line:?}"
        );
        Self {
            child,
            address: format!("127.0.0.1:{port}"),
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit; whether it exited successfully.
    pub(crate) fn terminate(mut self) -> bool {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(signalled.success());
        self.child.wait().unwrap().success()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A runtime for the test's own calls, and a fresh database on the PostgreSQL server
/// `admin` names.
pub(crate) fn runtime_and_database(admin: &str) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(testing::fresh_database(admin)).unwrap();
    (runtime, url)
}

/// A port free right now on loopback.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `endure cluster describe -o json` through `address`.
pub(crate) fn describe(address: &str) -> serde_json::Value {
    cli(address, &["cluster", "describe", "-o", "json"]).json()
}

/// Waits until the cluster, seen through `address`, has `members` members holding every
/// shard between them.
pub(crate) fn settled(address: &str, members: usize, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let description = describe(address);
        let listed = description["members"].as_array().map_or(0, Vec::len);
        let shards = description["shard_count"].as_u64().unwrap_or(0);
        let held: u64 = description["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|member| member["shards"].as_u64().unwrap_or(0))
            .sum();
        let busy = description["members"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|member| member["shards"].as_u64().unwrap_or(0) > 0);
        if listed == members && shards > 0 && held == shards && busy {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "not settled: {description}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a client error is one a client retries (the call may be sent again).
fn retryable(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Remote(remote)
            if matches!(remote.kind, ErrorKind::Unavailable | ErrorKind::DeadlineExceeded)
    )
}

#[test]
fn a_three_node_cluster_survives_a_killed_node_with_every_workflow_done_once() {
    let Some(admin) = testing::admin_url() else {
        return;
    };
    let (runtime, url) = runtime_and_database(&admin);
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes: Vec<Option<Node>> = ["n1", "n2", "n3"]
        .iter()
        .zip(ports)
        .map(|(name, port)| Some(Node::start(&url, name, port)))
        .collect();
    let addresses: Vec<String> = nodes
        .iter()
        .map(|node| node.as_ref().unwrap().address.clone())
        .collect();
    settled(&addresses[0], 3, Duration::from_secs(30));

    let seeds = addresses.join(",");
    let worker = Command::new(std::env::current_exe().unwrap())
        .args(["cluster::cluster_worker_process", "--exact", "--nocapture"])
        .env(CLUSTER_WORKER_ENV, &seeds)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut worker = scopeguard(worker);

    let seed_refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let client = Client::connect_cluster(&seed_refs, Namespace::default());
    let id = |index: usize| WorkflowId::new(format!("cluster-{index}")).unwrap();
    let mut errors = Vec::new();
    let mut killed_at = None;
    runtime.block_on(async {
        for index in 0..WORKFLOWS {
            if index == WORKFLOWS / 3 {
                // Under load: one node dies without a word.
                nodes[1].take().unwrap().kill();
                killed_at = Some(Instant::now());
            }
            let mut options =
                StartWorkflowOptions::new(id(index), TaskQueueName::new(QUEUE).unwrap());
            options.request_id =
                Some(endure_core::RequestId::new(format!("start-{index}")).unwrap());
            loop {
                match client
                    .start_workflow(options.clone(), "ClusterGreet", &format!("n{index}"))
                    .await
                {
                    Ok(_) => break,
                    Err(error) if retryable(&error) => {
                        errors.push(error);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(error) => panic!("workflow {index}: a start failed for good: {error}"),
                }
            }
        }
        for index in 0..WORKFLOWS {
            loop {
                match client.handle(id(index), None).result::<String>().await {
                    Ok(result) => {
                        assert_eq!(result, format!("hello, n{index}"));
                        break;
                    }
                    Err(error) if retryable(&error) => {
                        errors.push(error);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(error) => panic!("workflow {index}: no result: {error}"),
                }
            }
        }
    });
    let recovered = killed_at.unwrap().elapsed();
    println!(
        "cluster test: {WORKFLOWS} workflows done; {} retryable errors; all done {recovered:?} after the kill",
        errors.len()
    );

    // Exactly once: each workflow id has one run, with one activity completion and one
    // close, its history whole.
    runtime.block_on(async {
        for index in 0..WORKFLOWS {
            let history = client.handle(id(index), None).history().await.unwrap();
            let count = |wanted: EventType| {
                history
                    .iter()
                    .filter(|event| event.event_type() == wanted)
                    .count()
            };
            assert_eq!(count(EventType::WorkflowExecutionStarted), 1);
            assert_eq!(count(EventType::StartChildWorkflowExecutionInitiated), 1);
            assert_eq!(count(EventType::ChildWorkflowExecutionStarted), 1);
            assert_eq!(
                count(EventType::ChildWorkflowExecutionCompleted),
                1,
                "workflow {index}"
            );
            assert_eq!(count(EventType::WorkflowExecutionCompleted), 1);
            endure_core::history::check_well_formed(&history).unwrap();
            let child = WorkflowId::new(format!("cluster-{index}-child")).unwrap();
            let history = client.handle(child, None).history().await.unwrap();
            let activities = history
                .iter()
                .filter(|event| event.event_type() == EventType::ActivityTaskCompleted)
                .count();
            assert_eq!(activities, 1, "child of workflow {index}");
            endure_core::history::check_well_formed(&history).unwrap();
        }
    });
    let listed = cli(
        &addresses[0],
        &[
            "workflow",
            "list",
            "-q",
            "WorkflowType = 'ClusterGreet'",
            "-o",
            "json",
        ],
    )
    .json();
    assert_eq!(
        listed.as_array().map_or(0, Vec::len),
        WORKFLOWS,
        "one run each"
    );
    let children = cli(
        &addresses[0],
        &[
            "workflow",
            "list",
            "-q",
            "WorkflowType = 'ClusterCompose'",
            "-o",
            "json",
        ],
    )
    .json();
    assert_eq!(
        children.as_array().map_or(0, Vec::len),
        WORKFLOWS,
        "one child each"
    );

    // The killed node comes back and takes its share again.
    nodes[1] = Some(Node::start(&url, "n2", ports[1]));
    settled(&addresses[2], 3, Duration::from_secs(30));
    // A node stopped with SIGTERM hands its shards on and leaves at once, well before its
    // lease or its member row would have run out.
    let stopping = nodes[2].take().unwrap();
    let stopped = Instant::now();
    assert!(stopping.terminate(), "the node stops cleanly on SIGTERM");
    let moved = settled(&addresses[0], 2, Duration::from_secs(30));
    println!(
        "cluster test: a SIGTERMed node's shards moved {:?} after the signal",
        stopped.elapsed()
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "handed on in {:?} (settled after {moved:?}), not left to expire",
        stopped.elapsed()
    );
    worker.kill();
}

/// Kills the worker process when dropped.
struct Guard(Child);

impl Guard {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

fn scopeguard(child: Child) -> Guard {
    Guard(child)
}
