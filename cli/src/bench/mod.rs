//! `endure bench <workload>`: the workloads of BENCHMARKS.md, embedded (engine, worker and
//! client in this process) or in server mode (the engine in an `endure server start-dev`
//! child process; worker and client here, over TCP). Progress goes to stderr; exactly one
//! JSON line goes to stdout with the workload's figures, the store's commits and fsyncs
//! (counted by a wrapper around redb's file backend) and `durable`, computed from them.
//! With `--postgres URL` the embedded engine runs on PostgreSQL in a database of its own;
//! the line then has the store's commits, round trips and rows written (in total and per
//! unit of work) and `durable` from the server's `synchronous_commit` and `fsync`.
//! Benchmarks are figures, never tests: nothing here asserts a timing.

mod cluster;
mod floor;
mod secure;
mod workflows;
mod workloads;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use endure::Client;
use endure::embedded::{Engine, InProcessTransport};
use endure_core::Namespace;
use endure_server::clock::SystemClock;
use endure_server::engine::EngineConfig;
use endure_server::storage::{
    PostgresOptions, PostgresStorage, RedbStorage, StorageCounters, StorageCounts,
};
use serde_json::{Map, Value, json};

use crate::args::{BenchArgs, BenchMode, Workload};
use crate::error::CliError;

/// Where a benchmark runs: the client (and the worker it starts) and how to read the
/// store's counts at the end.
pub(crate) struct Setup {
    /// A client of the engine.
    pub(crate) client: Client,
    /// A second client on its own connection, for the worker (server mode) or the same
    /// one (embedded).
    pub(crate) worker_client: Client,
    engine: Running,
    _directory: tempfile::TempDir,
    db: PathBuf,
}

enum Running {
    Embedded(Arc<StorageCounters>),
    Server {
        child: Child,
        stats: PathBuf,
    },
    Postgres {
        storage: PostgresStorage,
        server: String,
        database: String,
    },
    /// Node processes of a cluster on PostgreSQL.
    Cluster(cluster::Nodes),
}

/// What the store did, as figures for the JSON line.
type StoreFigures = Vec<(&'static str, Value)>;

impl Setup {
    async fn start(args: &BenchArgs) -> Result<Self, CliError> {
        let (mode, postgres, secure) = (args.mode, args.postgres.as_deref(), args.secure);
        let directory = tempfile::tempdir().map_err(server_error)?;
        let db = directory.path().join("bench.redb");
        if mode == BenchMode::Cluster {
            let server = postgres.ok_or_else(|| {
                CliError::Usage(
                    "--mode cluster runs its nodes on PostgreSQL: add --postgres URL".into(),
                )
            })?;
            let nodes = cluster::Nodes::start(server, args.nodes, args.lease).await?;
            return Ok(Self {
                client: nodes.client(),
                worker_client: nodes.client(),
                engine: Running::Cluster(nodes),
                _directory: directory,
                db,
            });
        }
        if let Some(server) = postgres {
            if mode != BenchMode::Embedded {
                return Err(CliError::Usage(
                    "--postgres runs the engine embedded; drop --mode server".into(),
                ));
            }
            let database = format!("endure_bench_{}", std::process::id());
            let url = PostgresStorage::create_database(server, &database)
                .await
                .map_err(server_error)?;
            let storage = PostgresStorage::connect(&url, PostgresOptions::default())
                .await
                .map_err(server_error)?;
            let engine = Engine::with_ports(
                Arc::new(storage.clone()),
                Arc::new(SystemClock),
                EngineConfig::default(),
            )
            .await
            .map_err(server_error)?;
            let client = Client::new(
                Arc::new(InProcessTransport::new(engine)),
                Namespace::default(),
            );
            return Ok(Self {
                worker_client: client.clone(),
                client,
                engine: Running::Postgres {
                    storage,
                    server: server.to_owned(),
                    database,
                },
                _directory: directory,
                db,
            });
        }
        match mode {
            BenchMode::Cluster => Err(CliError::Usage("unreachable: cluster mode".into())),
            BenchMode::Embedded => {
                let counters = Arc::new(StorageCounters::default());
                let storage =
                    RedbStorage::open_counted(&db, Arc::clone(&counters)).map_err(server_error)?;
                let engine = Engine::with_ports(
                    Arc::new(storage),
                    Arc::new(SystemClock),
                    EngineConfig::default(),
                )
                .await
                .map_err(server_error)?;
                let client = Client::new(
                    Arc::new(InProcessTransport::new(engine)),
                    Namespace::default(),
                );
                Ok(Self {
                    worker_client: client.clone(),
                    client,
                    engine: Running::Embedded(counters),
                    _directory: directory,
                    db,
                })
            }
            BenchMode::Server => {
                let stats = directory.path().join("stats.json");
                let secured = if secure {
                    Some(secure::Secured::prepare(directory.path())?)
                } else {
                    None
                };
                let exe = std::env::current_exe().map_err(server_error)?;
                let mut command = Command::new(exe);
                command
                    .args(["server", "start-dev", "--port", "0", "--db"])
                    .arg(&db)
                    .arg("--stats-file")
                    .arg(&stats)
                    .args(
                        secured
                            .iter()
                            .flat_map(|secured| secured.server_args.iter()),
                    )
                    .env("RUST_LOG", "warn");
                let (child, line) = spawn_ready(command)?;
                let address = line
                    .split_whitespace()
                    .nth(5)
                    .ok_or_else(|| server_error(format!("unexpected ready line {line:?}")))?
                    .to_owned();
                let connect = |address: &str| match &secured {
                    Some(secured) => secured.client(address),
                    None => Client::connect(address, Namespace::default()),
                };
                Ok(Self {
                    client: connect(&address),
                    worker_client: connect(&address),
                    engine: Running::Server { child, stats },
                    _directory: directory,
                    db,
                })
            }
        }
    }

    /// The engine's resident set high-water mark, in MiB (this process when embedded).
    /// The cluster's nodes, in cluster mode.
    pub(crate) fn cluster_mut(&mut self) -> Option<&mut cluster::Nodes> {
        match &mut self.engine {
            Running::Cluster(nodes) => Some(nodes),
            _ => None,
        }
    }

    pub(crate) fn engine_peak_rss_mb(&self) -> f64 {
        match &self.engine {
            Running::Embedded(_) | Running::Postgres { .. } | Running::Cluster(_) => {
                rss_mb("self", "VmHWM")
            }
            Running::Server { child, .. } => rss_mb(&child.id().to_string(), "VmHWM"),
        }
    }

    /// The engine's resident set now, in MiB.
    pub(crate) fn engine_rss_mb(&self) -> f64 {
        match &self.engine {
            Running::Embedded(_) | Running::Postgres { .. } | Running::Cluster(_) => {
                rss_mb("self", "VmRSS")
            }
            Running::Server { child, .. } => rss_mb(&child.id().to_string(), "VmRSS"),
        }
    }

    /// The directory the store lives in (and scratch files beside it).
    pub(crate) fn directory(&self) -> &Path {
        self._directory.path()
    }

    /// CPU time used so far by every process of the benchmark (this one, and the server
    /// child in server mode), in milliseconds.
    fn cpu_ms(&self) -> Option<f64> {
        let own = floor::cpu_ms("self")?;
        match &self.engine {
            Running::Server { child, .. } => Some(own + floor::cpu_ms(&child.id().to_string())?),
            Running::Cluster(nodes) => Some(own + nodes.cpu_ms()?),
            Running::Embedded(_) | Running::Postgres { .. } => Some(own),
        }
    }

    /// The store file's size in bytes. redb grows its file by doubling it, so this moves
    /// in steps; [`Setup::db_allocated_bytes`] is what the file takes on disk.
    pub(crate) fn db_bytes(&self) -> u64 {
        std::fs::metadata(&self.db).map_or(0, |meta| meta.len())
    }

    /// The bytes of disk the store file takes (its allocated blocks, as `du` counts them):
    /// less than its size while the end of a grown file has not been written yet.
    pub(crate) fn db_allocated_bytes(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.db).map_or(0, |meta| meta.blocks().saturating_mul(512))
    }

    /// Stops the engine (server mode: SIGTERM, then its counts from the stats file) and
    /// says what the store did; `units` names the workload's unit and how many were done.
    async fn finish(self, units: Option<(&str, u64)>) -> Result<StoreFigures, CliError> {
        let counts = match self.engine {
            Running::Embedded(counters) => counters.read(),
            Running::Server { mut child, stats } => {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                child.wait().map_err(server_error)?;
                read_stats(&stats)?
            }
            Running::Cluster(nodes) => {
                let count = nodes.nodes.len();
                drop(self.client);
                drop(self.worker_client);
                nodes.stop().await?;
                return Ok(vec![
                    ("storage", json!("postgres")),
                    ("nodes", json!(count)),
                ]);
            }
            Running::Postgres {
                storage,
                server,
                database,
            } => {
                let counts = storage.counts();
                let durable = storage.commits_are_durable().await.map_err(server_error)?;
                drop(self.client);
                drop(self.worker_client);
                drop(storage);
                PostgresStorage::drop_database(&server, &database)
                    .await
                    .map_err(server_error)?;
                let mut figures: StoreFigures = vec![
                    ("storage", json!("postgres")),
                    ("commits", json!(counts.commits)),
                    ("round_trips", json!(counts.round_trips)),
                    ("rows_written", json!(counts.rows_written)),
                ];
                if let Some((unit, count)) = units.filter(|(_, count)| *count > 0) {
                    let per = |total: u64| round(total as f64 / count as f64);
                    figures.push(("per", json!(unit)));
                    figures.push(("commits_per", per(counts.commits)));
                    figures.push(("round_trips_per", per(counts.round_trips)));
                    figures.push(("rows_per", per(counts.rows_written)));
                }
                figures.push(("durable", json!(durable)));
                return Ok(figures);
            }
        };
        let mut figures: StoreFigures = vec![
            ("storage", json!("redb")),
            ("commits", json!(counts.commits)),
            ("fsyncs", json!(counts.fsyncs)),
            ("bytes_written", json!(counts.bytes_written)),
            ("publications", json!(counts.publications)),
        ];
        if let Some((unit, count)) = units.filter(|(_, count)| *count > 0) {
            let per = |total: u64| round(total as f64 / count as f64);
            let (commits_per, bytes_per, publications_per) = match unit {
                "workflow" => (
                    "commits_per_wf",
                    "bytes_written_per_wf",
                    "publications_per_wf",
                ),
                "step" => (
                    "commits_per_step",
                    "bytes_written_per_step",
                    "publications_per_step",
                ),
                _ => (
                    "commits_per_signal",
                    "bytes_written_per_signal",
                    "publications_per_signal",
                ),
            };
            figures.push((commits_per, per(counts.commits)));
            figures.push((bytes_per, per(counts.bytes_written)));
            figures.push((publications_per, per(counts.publications)));
        }
        figures.push(("durable", json!(counts.durable())));
        Ok(figures)
    }
}

/// Starts a server process and reads its ready line (stdout piped, stderr inherited).
pub(crate) fn spawn_ready(mut command: Command) -> Result<(Child, String), CliError> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(server_error)?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| server_error("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(server_error)?;
    Ok((child, line))
}

fn read_stats(path: &Path) -> Result<StorageCounts, CliError> {
    let text = std::fs::read_to_string(path).map_err(server_error)?;
    let value: Value = serde_json::from_str(&text).map_err(server_error)?;
    let field = |name: &str| value[name].as_u64().unwrap_or(0);
    Ok(StorageCounts {
        commits: field("commits"),
        fsyncs: field("fsyncs"),
        bytes_written: field("bytes_written"),
        publications: field("publications"),
    })
}

/// A `VmHWM`/`VmRSS` line of `/proc/<pid>/status`, in MiB (0 where there is none).
fn rss_mb(pid: &str, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn server_error(error: impl std::fmt::Display) -> CliError {
    CliError::Server(error.to_string())
}

/// Runs one benchmark and prints its JSON line.
pub(crate) async fn run(args: BenchArgs) -> Result<(), CliError> {
    if args.metrics {
        crate::http::recorder()?;
    }
    if args.secure && args.mode != BenchMode::Server {
        return Err(CliError::Usage(
            "--secure measures the server's TLS and credentials: add --mode server".into(),
        ));
    }
    let mut setup = Setup::start(&args).await?;
    let worker = workflows::worker(&setup.worker_client);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let cpu_before = setup.cpu_ms();
    let allocated_before = crate::allocations::allocated();
    let figures = match args.workload {
        Workload::Hello => workloads::hello(&setup, &args).await?,
        Workload::Latency => workloads::latency(&setup, &args).await?,
        Workload::Steps => workloads::steps(&setup, &args).await?,
        Workload::Timers => workloads::timers(&setup, &args).await?,
        Workload::Signals => workloads::signals(&setup, &args).await?,
        Workload::Replay => workloads::replay(&setup, &args).await?,
        Workload::Idle => workloads::idle(&setup, &args).await?,
        Workload::Failover => cluster::failover(&mut setup).await?,
    };
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    // The unit the store's costs are divided by: a workflow, a step, a signal.
    let units = figures.iter().find_map(|(key, value)| {
        let unit = match *key {
            "workflows" | "repeats" => "workflow",
            "steps" => "step",
            "signals" => "signal",
            _ => return None,
        };
        value.as_u64().map(|count| (unit, count))
    });
    // CPU of every thread of the benchmark's processes (client, worker and engine), read
    // before the engine stops.
    let cpu = match (cpu_before, setup.cpu_ms(), units) {
        (Some(before), Some(after), Some((unit, count))) if count > 0 => {
            let key = match unit {
                "workflow" => "cpu_ms_per_wf",
                "step" => "cpu_ms_per_step",
                _ => "cpu_ms_per_signal",
            };
            Some((key, round((after - before) / count as f64)))
        }
        _ => None,
    };
    // Heap blocks allocated by every thread of this process (client, worker, and the
    // engine when embedded), with a `count-allocations` build.
    let allocations = match (allocated_before, crate::allocations::allocated(), units) {
        (Some(before), Some(after), Some((unit, count))) if count > 0 => {
            let key = match unit {
                "workflow" => "allocations_per_wf",
                "step" => "allocations_per_step",
                _ => "allocations_per_signal",
            };
            Some((key, round((after - before) as f64 / count as f64)))
        }
        _ => None,
    };
    let store = setup.finish(units).await?;
    let mut line = Map::new();
    line.insert("workload".into(), json!(args.workload.name()));
    line.insert("mode".into(), json!(args.mode.name()));
    line.insert("metrics".into(), json!(args.metrics));
    line.insert("secure".into(), json!(args.secure));
    for (key, value) in figures
        .into_iter()
        .chain(cpu)
        .chain(allocations)
        .chain(store)
    {
        line.insert(key.into(), value);
    }
    crate::render::say(Value::Object(line))
}

/// The `q`-quantile (0..=1) of `samples` in milliseconds, sorted in place.
pub(crate) fn quantile_ms(samples: &mut [Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

/// Rounds to three decimals for the JSON line.
pub(crate) fn round(value: f64) -> Value {
    json!((value * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(quantile_ms(&mut samples, 0.5), 51.0);
        assert_eq!(quantile_ms(&mut samples, 0.99), 99.0);
        assert_eq!(quantile_ms(&mut [], 0.5), 0.0);
        assert_eq!(round(1.23456), json!(1.235));
    }
}
