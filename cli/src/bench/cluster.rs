//! `endure bench --mode cluster --nodes N --postgres URL`: the engine as N `endure server
//! start --node` processes on loopback over one new database, the worker and the client
//! here through [`Client::connect_cluster`]; and the `failover` workload: how long after a
//! node's SIGKILL the first workflow of one of its shards completes.

#![allow(
    clippy::disallowed_methods,
    reason = "benchmarks measure the wall clock; nothing here is workflow code"
)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use endure::{Client, StartWorkflowOptions, TaskQueueName, WorkflowId};
use endure_core::Namespace;
use endure_core::storage::shard_of;
use endure_server::storage::PostgresStorage;
use serde_json::json;

use super::workflows::{self, QUEUE};
use super::workloads::Figures;
use super::{Setup, round, server_error};
use crate::error::CliError;

/// The node processes of a cluster benchmark and their database.
pub(crate) struct Nodes {
    /// Each node: its name, its address and its process (`None` once killed).
    pub(crate) nodes: Vec<(String, String, Option<Child>)>,
    pub(crate) server: String,
    pub(crate) database: String,
    pub(crate) lease: Duration,
}

impl Nodes {
    /// Starts `count` nodes with leases of `lease` on a new database of `server`.
    pub(crate) async fn start(
        server: &str,
        count: usize,
        lease: Duration,
    ) -> Result<Self, CliError> {
        let database = format!("endure_bench_cluster_{}", std::process::id());
        let url = PostgresStorage::create_database(server, &database)
            .await
            .map_err(server_error)?;
        let exe = std::env::current_exe().map_err(server_error)?;
        let mut nodes = Vec::new();
        for index in 1..=count.max(1) {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(server_error)?
                .port();
            let name = format!("node-{index}");
            let mut command = Command::new(&exe);
            command
                .args(["server", "start", "--postgres", &url, "--node", &name])
                .args(["--port", &port.to_string(), "--headless", "--no-metrics"])
                .args(["--lease", &format!("{}ms", lease.as_millis())])
                .env("RUST_LOG", "warn");
            let (child, line) = super::spawn_ready(command)?;
            if !line.contains("listening on") {
                return Err(server_error(format!("node {name} did not start: {line:?}")));
            }
            nodes.push((name, format!("127.0.0.1:{port}"), Some(child)));
        }
        let started = Self {
            nodes,
            server: server.to_owned(),
            database,
            lease,
        };
        started.settled(Duration::from_secs(60)).await?;
        Ok(started)
    }

    /// A client of the cluster through every node.
    pub(crate) fn client(&self) -> Client {
        let seeds: Vec<&str> = self
            .nodes
            .iter()
            .map(|(_, address, _)| address.as_str())
            .collect();
        Client::connect_cluster(&seeds, Namespace::default())
    }

    /// Waits until the live nodes hold every shard between them.
    async fn settled(&self, limit: Duration) -> Result<(), CliError> {
        let client = self.client();
        let live = self
            .nodes
            .iter()
            .filter(|(_, _, child)| child.is_some())
            .count();
        let began = Instant::now();
        loop {
            if let Ok(description) = client.describe_cluster().await {
                let held: u32 = description.members.iter().map(|member| member.shards).sum();
                if description.members.len() == live
                    && held == description.shard_count
                    && description.members.iter().all(|member| member.shards > 0)
                {
                    return Ok(());
                }
            }
            if began.elapsed() > limit {
                return Err(server_error("the cluster did not settle"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// CPU used so far by the node processes, in milliseconds.
    pub(crate) fn cpu_ms(&self) -> Option<f64> {
        self.nodes
            .iter()
            .filter_map(|(_, _, child)| child.as_ref())
            .map(|child| super::floor::cpu_ms(&child.id().to_string()))
            .sum()
    }

    /// SIGTERMs the nodes, waits for them and drops the database.
    pub(crate) async fn stop(mut self) -> Result<(), CliError> {
        for (_, _, child) in &mut self.nodes {
            if let Some(child) = child {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let _ = child.wait();
            }
        }
        PostgresStorage::drop_database(&self.server, &self.database)
            .await
            .map_err(server_error)
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for (_, _, child) in &mut self.nodes {
            if let Some(child) = child {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// `failover`: SIGKILLs the last node and times, from the kill, the first workflow of
/// one of its shards to complete (started at the kill, retried by the client while the
/// shard moves).
pub(crate) async fn failover(setup: &mut Setup) -> Result<Figures, CliError> {
    let nodes = setup
        .cluster_mut()
        .ok_or_else(|| CliError::Usage("failover runs on a cluster: add --mode cluster".into()))?;
    if nodes.nodes.len() < 2 {
        return Err(CliError::Usage("failover needs --nodes 2 or more".into()));
    }
    let client = nodes.client();
    let description = client.describe_cluster().await?;
    let victim = nodes
        .nodes
        .last()
        .map(|(name, _, _)| name.clone())
        .unwrap_or_default();
    let shards: Vec<u32> = description
        .shards
        .iter()
        .filter(|shard| shard.owner.as_ref().map(|owner| owner.as_str()) == Some(victim.as_str()))
        .map(|shard| shard.shard)
        .collect();
    let namespace = Namespace::default();
    let id = (0..)
        .map(|index| WorkflowId::new(format!("failover-{index}")).expect("a valid id"))
        .find(|id| shards.contains(&shard_of(&namespace, id, description.shard_count).0))
        .ok_or_else(|| server_error("the victim holds no shard"))?;
    eprintln!(
        "bench: failover: SIGKILL {victim} ({} of {} shards), then run {id} on one of them",
        shards.len(),
        description.shard_count
    );
    let killed = Instant::now();
    if let Some((_, _, Some(child))) = nodes.nodes.last_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Some(last) = nodes.nodes.last_mut() {
        last.2 = None;
    }
    let options = StartWorkflowOptions::new(id, TaskQueueName::new(QUEUE).expect("a queue"));
    loop {
        match client
            .start::<workflows::hello>(options.clone(), &"world".into())
            .await
        {
            Ok(handle) => match handle.result::<String>().await {
                Ok(_) => break,
                Err(error) => eprintln!("bench: failover: result retried: {error}"),
            },
            Err(error) => eprintln!("bench: failover: start retried: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failover = killed.elapsed();
    Ok(vec![
        ("nodes", json!(nodes.nodes.len())),
        ("moved_shards", json!(shards.len())),
        ("lease_ms", json!(nodes.lease.as_millis() as u64)),
        ("failover_ms", round(failover.as_secs_f64() * 1000.0)),
    ])
}
