//! The command line, as clap reads it.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use endure_core::duration_text as duration;

/// Exit codes, shown at the end of `endure --help`.
const EXIT_CODES: &str = "Exit codes: 0 success; 1 the workflow failed, was canceled, \
terminated or timed out; 2 a usage error or invalid value; 3 not found (workflow, run or \
namespace); 4 the server failed or could not be reached; 5 already exists; 6 the store \
file is corrupt.";

/// Endure: durable execution. Start a dev server, then see and steer workflows.
#[derive(Debug, Parser)]
#[command(name = "endure", version, about, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// The profile of client flags to use (`endure env`; default: the profile `default`
    /// if there is one).
    #[arg(long, global = true, env = "ENDURE_ENV")]
    pub(crate) env: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run an Endure server.
    #[command(subcommand)]
    Server(ServerCommand),
    /// The cluster: `describe` (members, shards, leases), `health`.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Start, list, inspect and steer workflows.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Create, list, describe and update namespaces.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Create and steer schedules: workflows started at calendar, cron or interval times.
    #[command(subcommand)]
    Schedule(crate::schedule_args::ScheduleCommand),
    /// Roll out worker versions: describe deployments, set current and ramping versions.
    #[command(subcommand)]
    Deployment(crate::deployment::DeploymentCommand),
    /// Answer an activity that completes asynchronously: `complete`, `fail`.
    #[command(subcommand)]
    Activity(crate::activity::ActivityCommand),
    /// Inspect task queues: who polls them.
    #[command(subcommand)]
    TaskQueue(crate::task_queue::TaskQueueCommand),
    /// Run a benchmark workload (README, "Benchmarks") and print its figures as one JSON line.
    Bench(BenchArgs),
    /// Look after a store: check a file for corruption, migrate a PostgreSQL schema.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Operate a running server (as `temporal operator`).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Print a shell completion script: `source <(endure completion bash)`.
    Completion(CompletionArgs),
    /// Keep named profiles of client flags (address, namespace, output) for `--env NAME`.
    #[command(subcommand)]
    Env(crate::profiles::EnvCommand),
}

/// `endure completion`.
#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub(crate) shell: clap_complete::Shell,
}

/// `endure operator …`.
#[derive(Debug, Subcommand)]
pub(crate) enum OperatorCommand {
    /// The server as a whole.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Namespaces, as `temporal operator namespace` spells it (`endure namespace` too).
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// A namespace's custom search attributes, which list filters may name.
    #[command(subcommand)]
    SearchAttribute(crate::search_attributes::SearchAttributeCommand),
}

/// `endure operator cluster …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// Whether the server serves: SERVING, or NOT_SERVING with why (exit 4).
    Health(HealthArgs),
    /// The cluster's members, the shards each holds and their leases' ages.
    Describe(HealthArgs),
}

/// `endure operator cluster health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `endure admin …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// API keys: make one for the server's --auth-config.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Check a store file no server has open: every page's checksum, then every record
    /// decoded (exit 0 sound, 6 corrupt).
    Check(AdminCheckArgs),
    /// The schema of a PostgreSQL store: where it stands, or bring it up to date.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

/// `endure admin api-key …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// Make a new API key: prints the key (give it to the client, once) and the entry for
    /// the server's --auth-config (which keeps only its hash).
    Create(ApiKeyCreateArgs),
}

/// `endure admin api-key create`.
#[derive(Debug, Args)]
pub(crate) struct ApiKeyCreateArgs {
    /// Who the key is for: the subject audit records name.
    #[arg(long)]
    pub(crate) name: String,
    /// A permission, namespace:role (roles: read, worker, write, admin; `system:` for
    /// every namespace). Repeatable.
    #[arg(long = "permission", short = 'p', required = true)]
    pub(crate) permissions: Vec<String>,
}

/// `endure admin schema …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SchemaCommand {
    /// The database's schema version against this build's (changes nothing).
    Status(PostgresArgs),
    /// Apply the migrations the database lacks (servers also do this when they start,
    /// unless started with `--no-migrate`).
    Migrate(PostgresArgs),
}

/// A PostgreSQL database to use.
#[derive(Debug, Args)]
pub(crate) struct PostgresArgs {
    /// The database: postgres://USER:PASSWORD@HOST:PORT/DATABASE.
    #[arg(long, env = "ENDURE_POSTGRES")]
    pub(crate) postgres: String,
}

/// `endure admin check`.
#[derive(Debug, Args)]
pub(crate) struct AdminCheckArgs {
    /// The redb file to check (stop the server using it first).
    #[arg(long, env = "ENDURE_DB")]
    pub(crate) db: std::path::PathBuf,
}

/// `endure bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The workload.
    #[arg(value_enum)]
    pub(crate) workload: Workload,
    /// Embedded (one process) or server (the engine in a dev-server child process).
    #[arg(long, value_enum, default_value_t = BenchMode::Embedded)]
    pub(crate) mode: BenchMode,
    /// The workload's size: workflows (hello, timers, idle), repeats (latency), steps,
    /// signals, or activities of the replayed run (default: each workload's own).
    #[arg(long, short = 'n')]
    pub(crate) count: Option<usize>,
    /// Starts (or signals) in flight at once.
    #[arg(long, default_value_t = 100)]
    pub(crate) concurrency: usize,
    /// Run the engine on PostgreSQL instead of redb (embedded mode): a URL of any database
    /// on the server; the benchmark creates a database of its own there (the role needs
    /// CREATEDB) and drops it at the end.
    #[arg(long, env = "ENDURE_BENCH_POSTGRES")]
    pub(crate) postgres: Option<String>,
    /// Record metrics in this process into a Prometheus recorder (the engine's and the
    /// worker's when embedded; the dev server of server mode always records its own), to
    /// measure what recording costs.
    #[arg(long)]
    pub(crate) metrics: bool,
    /// Server mode with TLS and credentials (a throwaway CA and API key), to measure what
    /// the handshake, encryption and per-call authorization cost.
    #[arg(long)]
    pub(crate) secure: bool,
    /// Cluster mode: how many `endure server start --node` processes.
    #[arg(long, default_value_t = 3)]
    pub(crate) nodes: usize,
    /// Cluster mode: the nodes' shard lease.
    #[arg(long, value_parser = duration::parse, default_value = "10s")]
    pub(crate) lease: std::time::Duration,
}

/// The benchmark workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Workload {
    /// N workflows of one activity, C at a time.
    Hello,
    /// One workflow of one activity, R times in a row.
    Latency,
    /// S sequential activities, then S local activities.
    Steps,
    /// N workflows sleeping 5 s.
    Timers,
    /// M signals to one workflow.
    Signals,
    /// A 10,000-event history through the Replayer.
    Replay,
    /// N workflows left sleeping for a day.
    Idle,
    /// Cluster mode: SIGKILL a node, then time the first workflow of its shards.
    Failover,
}

impl Workload {
    /// Its name in the JSON line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::Latency => "latency",
            Self::Steps => "steps",
            Self::Timers => "timers",
            Self::Signals => "signals",
            Self::Replay => "replay",
            Self::Idle => "idle",
            Self::Failover => "failover",
        }
    }
}

/// Where a benchmark's engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchMode {
    /// Engine, worker and client in this process.
    Embedded,
    /// The engine in `endure server start-dev`; worker and client here, over TCP.
    Server,
    /// The engine as `--nodes` cluster node processes on `--postgres`; worker and client
    /// here, through every node.
    Cluster,
}

impl BenchMode {
    /// Its name in the JSON line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Server => "server",
            Self::Cluster => "cluster",
        }
    }
}

/// `endure server …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ServerCommand {
    /// A one-node development server on a redb file (ready at once; Ctrl-C stops it after
    /// finishing in-flight commits).
    StartDev(StartDevArgs),
    /// A server on PostgreSQL: applies the schema migrations the database lacks, then
    /// serves (Ctrl-C or SIGTERM stops it after finishing in-flight commits).
    Start(ServerStartArgs),
}

/// `endure server start`.
#[derive(Debug, Args)]
pub(crate) struct ServerStartArgs {
    /// The database: postgres://USER:PASSWORD@HOST:PORT/DATABASE.
    #[arg(long, env = "ENDURE_POSTGRES")]
    pub(crate) postgres: String,
    /// Refuse a database whose schema is behind instead of migrating it (for operators
    /// who run `endure admin schema migrate` themselves).
    #[arg(long)]
    pub(crate) no_migrate: bool,
    /// Connections to the database.
    #[arg(long, default_value_t = 16)]
    pub(crate) pool_size: usize,
    /// Join a cluster as this node (a name unique in it, stable across restarts): the
    /// node serves the shards placement gives it, under leases, and forwards the rest.
    /// Without it the server serves every shard alone.
    #[arg(long, env = "ENDURE_NODE")]
    pub(crate) node: Option<String>,
    /// The address other nodes, clients and workers reach this node at (default: --ip and
    /// --port as given; set it when listening on 0.0.0.0).
    #[arg(long, requires = "node")]
    pub(crate) advertise: Option<String>,
    /// How long a node's shard lease lasts without renewal: how long a node that fails
    /// without leaving stalls its shards. Renewed every fifth of it; a node that cannot
    /// renew stops serving a fifth of it (at most 2s) before its end.
    #[arg(long, value_parser = duration::parse, default_value = "10s", requires = "node")]
    pub(crate) lease: std::time::Duration,
    #[command(flatten)]
    pub(crate) listen: ListenArgs,
}

/// Where and how a server listens.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) ip: std::net::IpAddr,
    /// The port to listen on (0 picks a free one, printed at start).
    #[arg(long, default_value_t = 7233)]
    pub(crate) port: u16,
    /// Namespaces to create at start besides `default` (repeatable).
    #[arg(long = "namespace")]
    pub(crate) namespaces: Vec<String>,
    /// The server's log level (Temporal's `--log-level`): debug, info, warn or error. Wins
    /// over `RUST_LOG`; without either the server logs at info.
    #[arg(long, value_enum)]
    pub(crate) log_level: Option<LogLevel>,
    /// Custom search attributes to register in every namespace at start, NAME=TYPE
    /// (Keyword, Text, Int, Double, Bool, Datetime, KeywordList; repeatable).
    #[arg(long = "search-attribute", value_name = "NAME=TYPE")]
    pub(crate) search_attributes: Vec<String>,
    /// How long a query waits for a worker's answer before it fails.
    #[arg(long, value_parser = duration::parse, default_value = "20s")]
    pub(crate) query_timeout: Duration,
    /// Most client and worker connections open at once; the next is refused with a reason.
    /// Keep it below the process's open-file limit (`ulimit -n`).
    #[arg(long, default_value_t = endure_server::tcp::CONNECTIONS_MAX)]
    pub(crate) max_connections: usize,
    /// The port of the HTTP listener serving /metrics (Prometheus), /healthz and /readyz,
    /// on --ip (Temporal's `--metrics-port`). Default 7235, or a free port if that one is
    /// taken; 0 picks a free one. The ready line prints where it is.
    #[arg(long, conflicts_with_all = ["metrics_address", "no_metrics"])]
    pub(crate) metrics_port: Option<u16>,
    /// The full address of that listener, IP:PORT, to put it elsewhere than --ip.
    #[arg(long, conflicts_with = "no_metrics")]
    pub(crate) metrics_address: Option<std::net::SocketAddr>,
    /// Serve no metrics or health endpoints.
    #[arg(long)]
    pub(crate) no_metrics: bool,
    /// The web UI and its HTTP/JSON API, IP:PORT. `server start-dev` serves them on --ip at
    /// --port + 1000 (8233 by default, a free port if that one is taken); `server start`
    /// only when this or --ui-port is given.
    #[arg(long, conflicts_with_all = ["ui_port", "headless"])]
    pub(crate) http_address: Option<std::net::SocketAddr>,
    /// The web UI's port on --ip (Temporal's `--ui-port`); 0 picks a free one.
    #[arg(long, conflicts_with = "headless")]
    pub(crate) ui_port: Option<u16>,
    /// Serve no web UI or HTTP API (Temporal's `--headless`).
    #[arg(long)]
    pub(crate) headless: bool,
    /// Export the server's spans (each RPC, transition and commit, naming the run and the
    /// events written) to this OpenTelemetry collector over OTLP/HTTP, e.g.
    /// `http://127.0.0.1:4318` (OpenTelemetry's own variable names it too).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub(crate) otlp_endpoint: Option<String>,
    #[command(flatten)]
    pub(crate) security: ServerSecurityArgs,
}

/// How a server protects itself: TLS, credentials, rate limits.
#[derive(Debug, Args)]
pub(crate) struct ServerSecurityArgs {
    /// The certificate chain (PEM, leaf first) the server presents: TLS on every listener
    /// (clients, workers, metrics). Reloaded when the file changes.
    #[arg(long, requires = "tls_key")]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_key: Option<std::path::PathBuf>,
    /// Mutual TLS: clients must present a certificate issued by this CA (PEM); its subject
    /// can be given roles in --auth-config.
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_client_ca: Option<std::path::PathBuf>,
    /// Require credentials: the API keys, client certificate subjects and JWT keys this
    /// file accepts, with the roles each gets (TOML; see README, "Security"). Reloaded when
    /// it changes.
    #[arg(long, value_name = "FILE")]
    pub(crate) auth_config: Option<std::path::PathBuf>,
    /// Most requests per second the whole server takes (a retryable ResourceExhausted
    /// beyond).
    #[arg(long, value_name = "N")]
    pub(crate) rps: Option<f64>,
    /// Most requests per second per namespace.
    #[arg(long, value_name = "N")]
    pub(crate) namespace_rps: Option<f64>,
    /// Most requests per second per connection.
    #[arg(long, value_name = "N")]
    pub(crate) connection_rps: Option<f64>,
    /// Allow listening beyond loopback without TLS and credentials: anyone who can reach
    /// the port can then read, change and run every namespace's workflows.
    #[arg(long)]
    pub(crate) insecure: bool,
}

/// How much a server logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogLevel {
    /// Everything, for finding a bug.
    Debug,
    /// What it does: start, stop, store events (the default).
    Info,
    /// Only what needs attention.
    Warn,
    /// Only failures.
    Error,
}

impl LogLevel {
    /// The `tracing` filter directive.
    pub(crate) fn directive(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// `endure server start-dev`.
#[derive(Debug, Args)]
pub(crate) struct StartDevArgs {
    /// The redb file (created if missing); `:memory:` keeps nothing. Default: endure/dev.redb
    /// under the user's data directory. (Temporal's `--db-filename`; `--db` works too.)
    #[arg(
        long = "db-filename",
        short = 'f',
        visible_alias = "db",
        env = "ENDURE_DB"
    )]
    pub(crate) db: Option<String>,
    #[command(flatten)]
    pub(crate) listen: ListenArgs,
    /// Count the store's commits, fsyncs and bytes written and write them to this file as
    /// JSON at shutdown (for `endure bench` in server mode).
    #[arg(long, hide = true)]
    pub(crate) stats_file: Option<std::path::PathBuf>,
}

/// Options every client command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientArgs {
    /// The server, host:port.
    #[arg(
        long,
        global = true,
        env = "ENDURE_ADDRESS",
        default_value = "127.0.0.1:7233"
    )]
    pub(crate) address: String,
    /// The namespace to work in.
    #[arg(
        long,
        short = 'n',
        global = true,
        env = "ENDURE_NAMESPACE",
        default_value = "default"
    )]
    pub(crate) namespace: String,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
    /// The credential to present: an API key (`endure admin api-key create`) or a JWT.
    #[arg(long, global = true, env = "ENDURE_API_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// Connect with TLS (implied by any other --tls-… flag).
    #[arg(long, global = true, env = "ENDURE_TLS")]
    pub(crate) tls: bool,
    /// The CA (PEM) the server's certificate must chain to; default: the system's roots.
    #[arg(
        long,
        global = true,
        visible_alias = "tls-ca-path",
        env = "ENDURE_TLS_CA"
    )]
    pub(crate) tls_ca: Option<std::path::PathBuf>,
    /// A client certificate (PEM) for mutual TLS.
    #[arg(
        long,
        global = true,
        visible_alias = "tls-cert-path",
        env = "ENDURE_TLS_CERT",
        requires = "tls_key"
    )]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        global = true,
        visible_alias = "tls-key-path",
        env = "ENDURE_TLS_KEY",
        requires = "tls_cert"
    )]
    pub(crate) tls_key: Option<std::path::PathBuf>,
    /// The name the server's certificate must carry; default: the host of --address.
    #[arg(long, global = true, env = "ENDURE_TLS_SERVER_NAME")]
    pub(crate) tls_server_name: Option<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// For people: aligned columns and labelled fields.
    Text,
    /// One JSON document, for scripts.
    Json,
    /// One JSON object per line (a list's rows, a history's events), for streams.
    Jsonl,
}

/// `endure workflow …`.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkflowCommand {
    /// Start a workflow and print its run.
    Start(StartArgs),
    /// Start a workflow and wait for its result.
    Execute(StartArgs),
    /// List runs, latest start first, optionally filtered.
    List(ListArgs),
    /// Count runs, optionally filtered (`-q "ExecutionStatus = 'Running'"`).
    Count(CountArgs),
    /// Show a run's status, type, times and pending work.
    Describe(ExecutionArgs),
    /// Print a run's history: a table, or with --output json the Replayer's format; with
    /// --follow, new events as they are written until the run closes.
    Show(ShowArgs),
    /// Wait for a workflow's result (following retries and continue-as-new).
    Result(ExecutionArgs),
    /// Send a signal.
    Signal(SignalArgs),
    /// Signal a running workflow, or start it with the signal delivered first.
    SignalWithStart(Box<SignalWithStartArgs>),
    /// Ask a query.
    Query(QueryArgs),
    /// Print where each of a run's coroutines waits (the built-in `__stack_trace` query).
    Stack(ExecutionArgs),
    /// A live tree of a workflow and its children, redrawn until the workflow closes.
    Trace(TraceArgs),
    /// Send an update and wait for its result.
    Update(UpdateArgs),
    /// Ask a run to cancel.
    Cancel(ReasonArgs),
    /// Terminate a run at once.
    Terminate(ReasonArgs),
    /// Start a new run from a point of a run's history (after fixing a bug, say).
    Reset(crate::reset::ResetArgs),
    /// Delete a run and its history (terminated first if it is running).
    Delete(ExecutionArgs),
    /// Override how a run follows worker versions: pin it to a build, let it auto-upgrade,
    /// or remove the override (`unspecified`).
    UpdateOptions(crate::deployment::UpdateOptionsArgs),
}

/// Which run.
#[derive(Debug, Args)]
pub(crate) struct ExecutionArgs {
    /// The workflow id.
    #[arg(long, short = 'w')]
    pub(crate) workflow_id: String,
    /// The run (default: the current one).
    #[arg(long, short = 'r')]
    pub(crate) run_id: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `workflow show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
    /// Keep printing events as they are written, until the run closes (text or -o jsonl).
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
}

/// `workflow trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
    /// How many levels of children to show (0: the workflow alone).
    #[arg(long, default_value_t = crate::trace::DEPTH_DEFAULT)]
    pub(crate) depth: usize,
    /// Print the tree once, as it is now, instead of following the workflow until it closes.
    #[arg(long)]
    pub(crate) no_follow: bool,
}

/// `workflow start` and `workflow execute`.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// The workflow type.
    #[arg(long = "type")]
    pub(crate) workflow_type: String,
    /// The task queue its workers poll.
    #[arg(long, short = 't')]
    pub(crate) task_queue: String,
    /// The workflow id (default: a fresh one).
    #[arg(long, short = 'w')]
    pub(crate) workflow_id: Option<String>,
    /// An argument as JSON (repeat for several: they are passed in order).
    #[arg(long, short = 'i')]
    pub(crate) input: Vec<String>,
    /// A file holding an argument as JSON (repeat for several; instead of --input).
    #[arg(long, conflicts_with = "input")]
    pub(crate) input_file: Vec<std::path::PathBuf>,
    /// Limit on the whole chain of runs (retries, continue-as-new).
    #[arg(long, value_parser = duration::parse)]
    pub(crate) execution_timeout: Option<Duration>,
    /// Limit on one run.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) run_timeout: Option<Duration>,
    /// Limit on one workflow task.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) task_timeout: Option<Duration>,
    /// A cron schedule (`0 * * * *`).
    #[arg(long)]
    pub(crate) cron: Option<String>,
    /// Wait this long before the first workflow task.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) start_delay: Option<Duration>,
    /// What to do if the id's last run is closed.
    #[arg(long, value_enum, default_value_t = ReusePolicy::AllowDuplicate)]
    pub(crate) id_reuse_policy: ReusePolicy,
    /// What to do if the id has a running run.
    #[arg(long, value_enum, default_value_t = ConflictPolicy::Fail)]
    pub(crate) id_conflict_policy: ConflictPolicy,
    /// A search attribute, KEY=JSON: a string is a keyword, then integers, doubles,
    /// booleans and lists of strings (repeatable).
    #[arg(long = "search-attribute", value_name = "KEY=JSON")]
    pub(crate) search_attributes: Vec<String>,
    /// A memo entry, KEY=JSON (repeatable).
    #[arg(long = "memo", value_name = "KEY=JSON")]
    pub(crate) memo: Vec<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `--id-reuse-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReusePolicy {
    /// Start whatever the last run's outcome.
    AllowDuplicate,
    /// Start only if the last run did not complete.
    AllowDuplicateFailedOnly,
    /// Never reuse the id.
    RejectDuplicate,
    /// Terminate a running run and start.
    TerminateIfRunning,
}

/// `--id-conflict-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConflictPolicy {
    /// Refuse: the id is taken.
    Fail,
    /// Return the running run.
    UseExisting,
    /// Terminate the running run and start.
    TerminateExisting,
}

/// `workflow list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// A list filter: `WorkflowType = 'Order' AND ExecutionStatus = 'Running'`.
    #[arg(long, short = 'q', short_alias = 'Q', default_value = "")]
    pub(crate) query: String,
    /// Most runs shown.
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: usize,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `workflow count`.
#[derive(Debug, Args)]
pub(crate) struct CountArgs {
    /// A list filter: `WorkflowType = 'Order' AND ExecutionStatus = 'Running'`.
    #[arg(long, short = 'q', default_value = "")]
    pub(crate) query: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `workflow signal`.
#[derive(Debug, Args)]
pub(crate) struct SignalArgs {
    /// The signal's name.
    #[arg(long)]
    pub(crate) name: String,
    /// An argument as JSON (repeat for several: they are passed in order; none for no
    /// arguments).
    #[arg(long, short = 'i')]
    pub(crate) input: Vec<String>,
    /// A file holding an argument as JSON (repeat for several; instead of --input).
    #[arg(long, conflicts_with = "input")]
    pub(crate) input_file: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// `workflow signal-with-start` (the flags of start, and the signal's).
#[derive(Debug, Args)]
pub(crate) struct SignalWithStartArgs {
    /// The signal's name.
    #[arg(long)]
    pub(crate) signal_name: String,
    /// A signal argument as JSON (repeat for several).
    #[arg(long)]
    pub(crate) signal_input: Vec<String>,
    /// A file holding a signal argument as JSON (repeat for several).
    #[arg(long, conflicts_with = "signal_input")]
    pub(crate) signal_input_file: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) start: StartArgs,
}

/// `workflow query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The query's name (`__stack_trace` is built in).
    #[arg(long)]
    pub(crate) name: String,
    /// An argument as JSON (repeat for several: they are passed in order; none for no
    /// arguments).
    #[arg(long, short = 'i')]
    pub(crate) input: Vec<String>,
    /// A file holding an argument as JSON (repeat for several; instead of --input).
    #[arg(long, conflicts_with = "input")]
    pub(crate) input_file: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
}

/// `workflow update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The update's name.
    #[arg(long)]
    pub(crate) name: String,
    /// An argument as JSON (repeat for several: they are passed in order; none for no
    /// arguments).
    #[arg(long, short = 'i')]
    pub(crate) input: Vec<String>,
    /// A file holding an argument as JSON (repeat for several; instead of --input).
    #[arg(long, conflicts_with = "input")]
    pub(crate) input_file: Vec<std::path::PathBuf>,
    /// The update's id: sending the same id again returns the same update.
    #[arg(long)]
    pub(crate) update_id: Option<String>,
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
}

/// `workflow cancel` and `workflow terminate`.
#[derive(Debug, Args)]
pub(crate) struct ReasonArgs {
    /// Why (recorded in history for terminate).
    #[arg(long, default_value = "requested from the endure CLI")]
    pub(crate) reason: String,
    #[command(flatten)]
    pub(crate) target: TargetArgs,
}

/// One run, or a batch: every open run a list filter selects.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The workflow id.
    #[arg(
        long,
        short = 'w',
        required_unless_present = "query",
        conflicts_with = "query"
    )]
    pub(crate) workflow_id: Option<String>,
    /// The run (default: the current one).
    #[arg(long, short = 'r', requires = "workflow_id")]
    pub(crate) run_id: Option<String>,
    /// Every open run this list filter selects (a batch), instead of one workflow.
    #[arg(long, short = 'q')]
    pub(crate) query: Option<String>,
    /// Act on the batch without asking (the CLI never prompts: without it, it says how
    /// many runs match and stops).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `endure namespace …`.
#[derive(Debug, Subcommand)]
pub(crate) enum NamespaceCommand {
    /// Register a namespace.
    Create(NamespaceCreateArgs),
    /// List every namespace.
    List(NamespaceListArgs),
    /// Show a namespace.
    Describe(NamespaceNameArgs),
    /// Change a namespace's description, owner or retention.
    Update(NamespaceUpdateArgs),
}

/// `namespace create`.
#[derive(Debug, Args)]
pub(crate) struct NamespaceCreateArgs {
    /// Its name.
    pub(crate) name: String,
    /// What it is for.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// Who to ask about it.
    #[arg(long, default_value = "")]
    pub(crate) owner_email: String,
    /// How long closed runs are kept (1h to 3650d).
    #[arg(long, value_parser = duration::parse, default_value = "3d")]
    pub(crate) retention: Duration,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `namespace list`.
#[derive(Debug, Args)]
pub(crate) struct NamespaceListArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `namespace describe`.
#[derive(Debug, Args)]
pub(crate) struct NamespaceNameArgs {
    /// Its name.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `namespace update`.
#[derive(Debug, Args)]
pub(crate) struct NamespaceUpdateArgs {
    /// Its name.
    pub(crate) name: String,
    /// A new description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// A new owner email.
    #[arg(long)]
    pub(crate) owner_email: Option<String>,
    /// A new retention (for runs that close from now on).
    #[arg(long, value_parser = duration::parse)]
    pub(crate) retention: Option<Duration>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}
