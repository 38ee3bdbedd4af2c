//! `endure server start-dev`: one engine node on redb (or in memory) behind the TCP
//! transport, on loopback by default; `endure server start`: the same on PostgreSQL. It prints one line when it is ready, logs through
//! `tracing` (`RUST_LOG`), and on SIGINT or SIGTERM stops accepting, closes connections,
//! lets every shard finish the writes it took and returns once they are durable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_core::Namespace;
use endure_core::attribute_registry::{Registered, SearchAttributeType};
use endure_core::clock::Clock;
use endure_core::namespace::NamespaceConfig;
use endure_core::protocol::Transport;
use endure_core::storage::{Storage, StorageError};
use endure_server::clock::SystemClock;
use endure_server::engine::{Engine, EngineConfig, EngineError, InProcessTransport, TallySummary};
use endure_server::storage::{
    MemoryStorage, PostgresOptions, PostgresStorage, RedbStorage, StorageCounters,
};
use endure_server::tcp::{TcpServer, TcpServerConfig};

use crate::args::{ListenArgs, ServerStartArgs, StartDevArgs};
use crate::error::{CliError, usage};
use crate::http::{self, HttpBind};
use crate::security::ServerSecurity;

/// The redb file used when `--db` is not given: `endure/dev.redb` under
/// `$XDG_DATA_HOME`, else `~/.local/share`, else the working directory.
fn default_db() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|dir| !dir.is_empty())
                .map(|home| PathBuf::from(home).join(".local/share"))
        })
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("endure").join("dev.redb")
}

/// What a server creates at start: namespaces besides `default`, and custom search
/// attributes registered in all of them (Temporal's dev server `--search-attribute`).
struct Setup {
    namespaces: Vec<Namespace>,
    attributes: Registered,
}

/// What a server needs besides its store, read from [`ListenArgs`].
struct Listen {
    extra: Setup,
    metrics: HttpBind,
    /// Where the web UI and HTTP API listen.
    web: HttpBind,
    /// The web UI's port when not told: Temporal's --port + 1000.
    web_default_port: u16,
    address: SocketAddr,
    engine_config: EngineConfig,
    tcp: TcpServerConfig,
    security: ServerSecurity,
}

impl Listen {
    /// `dev`: the dev server, which serves the web UI unless told not to.
    fn from_args(args: &ListenArgs, dev: bool) -> Result<Self, CliError> {
        let attributes = args
            .search_attributes
            .iter()
            .map(|entry| {
                let (name, kind) = entry.split_once('=').ok_or_else(|| {
                    usage(format!(
                        "--search-attribute {entry:?}: write it as NAME=TYPE, e.g. CustomerTier=Keyword"
                    ))
                })?;
                let kind: SearchAttributeType = kind.parse().map_err(usage)?;
                Ok((name.to_owned(), kind))
            })
            .collect::<Result<Registered, CliError>>()?;
        Ok(Self {
            extra: Setup {
                namespaces: args
                    .namespaces
                    .iter()
                    .map(|name| Namespace::new(name.as_str()).map_err(usage))
                    .collect::<Result<_, _>>()?,
                attributes,
            },
            address: SocketAddr::new(args.ip, args.port),
            metrics: match (args.no_metrics, args.metrics_address, args.metrics_port) {
                (true, _, _) => HttpBind::Off,
                (false, Some(address), _) => HttpBind::Explicit(address),
                (false, None, Some(port)) => HttpBind::Explicit(SocketAddr::new(args.ip, port)),
                (false, None, None) => HttpBind::Default(args.ip),
            },
            web: match (args.headless, args.http_address, args.ui_port) {
                (true, _, _) => HttpBind::Off,
                (false, Some(address), _) => HttpBind::Explicit(address),
                (false, None, Some(port)) => HttpBind::Explicit(SocketAddr::new(args.ip, port)),
                (false, None, None) if dev => HttpBind::Default(args.ip),
                (false, None, None) => HttpBind::Off,
            },
            web_default_port: if args.port == 0 {
                0
            } else {
                args.port.saturating_add(1000)
            },
            engine_config: EngineConfig {
                query_timeout: args.query_timeout,
                ..EngineConfig::default()
            },
            tcp: TcpServerConfig {
                max_connections: args.max_connections,
                ..TcpServerConfig::default()
            },
            security: ServerSecurity::from_args(&args.security, args.ip)?,
        })
    }
}

/// Runs a server on PostgreSQL until a shutdown signal.
pub(crate) async fn start(args: ServerStartArgs) -> Result<(), CliError> {
    let Listen {
        extra,
        metrics,
        web,
        web_default_port,
        address,
        engine_config,
        tcp,
        security,
    } = Listen::from_args(&args.listen, false)?;
    // Installed before the engine opens, so its first commits are counted too.
    if metrics != HttpBind::Off {
        http::recorder()?;
    }
    let options = PostgresOptions {
        pool_size: args.pool_size,
        migrate: !args.no_migrate,
        ..PostgresOptions::default()
    };
    let shown = redact(&args.postgres);
    let cannot_open =
        |error: StorageError| CliError::Server(format!("cannot open {shown}: {error}"));
    let storage = Arc::new(
        PostgresStorage::connect(&args.postgres, options)
            .await
            .map_err(cannot_open)?,
    );
    let opened = |error| match error {
        EngineError::Storage(error) => cannot_open(error),
        other => CliError::Server(format!("cannot open {shown}: {other}")),
    };
    let mut listen = Serve {
        address,
        tcp,
        metrics,
        web,
        web_default_port,
        security,
        counters: None,
        front: None,
        grpc_front: None,
    };
    let Some(node) = &args.node else {
        let engine = Engine::with_ports(storage, Arc::new(SystemClock), engine_config)
            .await
            .map_err(opened)?;
        return serve("server", engine, shown.clone(), &extra, listen).await;
    };
    let cluster =
        crate::cluster_node::config(node, args.advertise.as_deref(), address, args.lease)?;
    let home = cluster.member.address.clone();
    let engine = Engine::join_cluster(storage, Arc::new(SystemClock), engine_config, cluster)
        .await
        .map_err(opened)?;
    let front = crate::cluster_node::front(&engine);
    listen.grpc_front = Some(crate::cluster_node::grpc_gateway(&engine, &front, home));
    listen.front = Some(front);
    serve(
        &format!("cluster node {node}"),
        engine,
        shown.clone(),
        &extra,
        listen,
    )
    .await
}

/// A database URL with its password hidden, for logs and messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Runs the dev server until a shutdown signal.
pub(crate) async fn start_dev(args: StartDevArgs) -> Result<(), CliError> {
    let Listen {
        extra,
        metrics,
        web,
        web_default_port,
        address,
        engine_config,
        tcp,
        security,
    } = Listen::from_args(&args.listen, true)?;
    // Installed before the engine opens, so its first commits are counted too.
    if metrics != HttpBind::Off {
        http::recorder()?;
    }
    match args.db.as_deref() {
        Some(":memory:") => {
            let engine = Engine::with_ports(
                Arc::new(MemoryStorage::new()),
                Arc::new(SystemClock),
                engine_config,
            )
            .await
            .map_err(engine_error)?;
            let listen = Serve {
                address,
                tcp,
                metrics,
                web,
                web_default_port,
                security,
                counters: None,
                front: None,
                grpc_front: None,
            };
            serve(
                "dev server",
                engine,
                "in memory (nothing is kept)".into(),
                &extra,
                listen,
            )
            .await
        }
        db => {
            let path = db.map_or_else(default_db, PathBuf::from);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|error| {
                    CliError::Server(format!(
                        "cannot create {}: {error}; pass --db with a writable path",
                        parent.display()
                    ))
                })?;
            }
            let cannot_open = |error: &StorageError| {
                let reason = match error {
                    StorageError::Corrupt { reason, .. } => reason,
                    StorageError::Panicked(reason) => reason,
                    other => {
                        return CliError::Server(format!(
                            "cannot open {}: {other}",
                            path.display()
                        ));
                    }
                };
                CliError::Corrupt(format!(
                    "cannot open {0}: the file is corrupt ({reason}). Check it with `endure admin check --db {0}` and restore it from a backup",
                    path.display()
                ))
            };
            let counters = Arc::new(StorageCounters::default());
            // Counted always: the counts are the store's fsync and byte metrics.
            let storage = RedbStorage::open_counted(&path, Arc::clone(&counters))
                .map_err(|error| cannot_open(&error))?;
            let engine =
                Engine::with_ports(Arc::new(storage), Arc::new(SystemClock), engine_config)
                    .await
                    .map_err(|error| match error {
                        EngineError::Storage(error) => cannot_open(&error),
                        other => {
                            CliError::Server(format!("cannot open {}: {other}", path.display()))
                        }
                    })?;
            let listen = Serve {
                address,
                tcp,
                metrics,
                web,
                web_default_port,
                security,
                counters: Some(Arc::clone(&counters)),
                front: None,
                grpc_front: None,
            };
            serve(
                "dev server",
                engine,
                path.display().to_string(),
                &extra,
                listen,
            )
            .await?;
            if let Some(file) = &args.stats_file {
                let counts = counters.read();
                let stats = serde_json::json!({
                    "commits": counts.commits,
                    "fsyncs": counts.fsyncs,
                    "bytes_written": counts.bytes_written,
                    "publications": counts.publications,
                });
                std::fs::write(file, stats.to_string()).map_err(|error| {
                    CliError::Server(format!("cannot write {}: {error}", file.display()))
                })?;
            }
            Ok(())
        }
    }
}

fn engine_error(error: EngineError) -> CliError {
    CliError::Server(error.to_string())
}

/// Where a server listens, and what its metrics read.
struct Serve {
    address: SocketAddr,
    tcp: TcpServerConfig,
    metrics: HttpBind,
    /// Where the web UI and HTTP API listen.
    web: HttpBind,
    /// The web UI's port when not told.
    web_default_port: u16,
    /// TLS, credentials and rate limits.
    security: ServerSecurity,
    /// The store's fsync and byte counts, where the store keeps them.
    counters: Option<Arc<StorageCounters>>,
    /// The front door a cluster node serves (it forwards to the node serving a
    /// workflow); `None`: the engine itself.
    front: Option<Arc<dyn Transport>>,
    /// What a cluster node's gRPC front end serves: the front door, with polls over every
    /// member; `None`: the same as the native listener.
    grpc_front: Option<Arc<dyn Transport>>,
}

/// What serves the gRPC connections of the listener: Temporal's `WorkflowService` over the
/// engine, each call through the server's security as a native caller's.
fn grpc_handler(
    transport: &Arc<dyn Transport>,
    security: &Arc<endure_server::security::Security>,
) -> endure_server::tcp::Http2Handler {
    let service = endure_grpc::WorkflowService::new(endure_grpc::GrpcOptions {
        transport: Arc::clone(transport),
        security: Arc::clone(security),
    });
    Arc::new(move |stream, peer, subject| {
        Box::pin(endure_grpc::serve_connection(
            service.clone(),
            stream,
            peer,
            subject,
        ))
    })
}

async fn serve<S: Storage, C: Clock>(
    kind: &str,
    engine: Engine<S, C>,
    db: String,
    setup: &Setup,
    listen: Serve,
) -> Result<(), CliError> {
    let Serve {
        address,
        tcp,
        metrics,
        web,
        web_default_port,
        security,
        counters,
        front,
        grpc_front,
    } = listen;
    if let HttpBind::Explicit(at) = web {
        crate::security::check_web_exposure(at.ip(), &security)?;
    }
    for name in &setup.namespaces {
        match engine
            .create_namespace(name.clone(), NamespaceConfig::default())
            .await
        {
            Ok(_) | Err(EngineError::NamespaceExists(_)) => {}
            Err(error) => return Err(engine_error(error)),
        }
    }
    if !setup.attributes.is_empty() {
        for name in std::iter::once(Namespace::default()).chain(setup.namespaces.iter().cloned()) {
            engine
                .add_search_attributes(&name, &setup.attributes)
                .await
                .map_err(|error| usage(format!("--search-attribute: {error}")))?;
        }
    }
    let transport: Arc<dyn Transport> = match front {
        Some(front) => front,
        None => Arc::new(InProcessTransport::new(engine.clone())),
    };
    let mut server = TcpServer::bind(address, Arc::clone(&transport), tcp)
        .await
        .map_err(|error| {
            CliError::Server(format!(
                "cannot listen on {address}: {error}; is another server running? Pick another --port"
            ))
        })?
        .with_security(Arc::clone(&security.security));
    // Temporal's gRPC API shares the port (HTTP/2's preface tells the protocols apart;
    // over TLS the listener offers ALPN `h2`): Temporal's SDKs and CLI connect with their
    // defaults.
    if let Some(tls) = &security.tls {
        server = server.with_tls(tls.clone());
    }
    let grpc_transport = grpc_front.unwrap_or_else(|| Arc::clone(&transport));
    server = server.with_http2(grpc_handler(&grpc_transport, &security.security));
    let grpc_at = "; Temporal gRPC API on the same port";
    let bound = server
        .local_addr()
        .map_err(|error| CliError::Server(error.to_string()))?;
    let accepting = Arc::new(AtomicBool::new(true));
    let http = http::start(
        metrics,
        engine.clone(),
        counters,
        Arc::clone(&accepting),
        security.http_tls.clone(),
    )
    .await?;
    let scheme = if security.http_tls.is_some() {
        "https"
    } else {
        "http"
    };
    let metrics_at = http
        .as_ref()
        .map(|http| format!("; metrics on {scheme}://{}/metrics", http.address()))
        .unwrap_or_default();
    let web = http::start_web(
        web,
        web_default_port,
        Arc::clone(&transport),
        Arc::clone(&security.security),
        security.http_tls.clone(),
    )
    .await?;
    let web_at = web
        .as_ref()
        .map(|web| format!("; web UI on {scheme}://{}", web.address()))
        .unwrap_or_default();
    let protection = security.describe();
    let stop = shutdown_signal();
    tracing::info!(address = %bound, db = %db, "server ready");
    // The one line scripts wait for: the address clients and workers connect to. A reader
    // that went away does not stop the server.
    let _ = crate::render::say(format!(
        "Endure {kind} listening on {bound} (db: {db}; {protection}){grpc_at}{metrics_at}{web_at}"
    ));
    let summaries = tokio::spawn(log_summaries(engine.clone()));
    server.serve(stop).await;
    summaries.abort();
    let _ = summaries.await;
    accepting.store(false, Ordering::Release);
    if let Some(http) = http {
        http.stop().await;
    }
    if let Some(web) = web {
        web.stop().await;
    }
    // The front door holds the engine too: the last handle must be the one shut down. (A
    // gateway's polls still open end when it is dropped.)
    drop(grpc_transport);
    drop(transport);
    tracing::info!("shutting down: finishing in-flight commits");
    let mut engine = engine;
    // Calls the closed connections were running may still hold the engine a moment.
    for _ in 0..200 {
        match engine.shutdown().await {
            Ok(()) => {
                tracing::info!("stopped");
                return Ok(());
            }
            Err(still_shared) => {
                engine = still_shared;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tracing::warn!("calls still running after two seconds; stopping without waiting for them");
    Ok(())
}

/// How often the server logs what it did.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Logs, once a minute at info level, the runs started and closed, the commits and their
/// 99th-percentile latency — for a minute in which anything happened (`--log-level warn`
/// silences it).
async fn log_summaries<S: Storage, C: Clock>(engine: Engine<S, C>) {
    let mut every = tokio::time::interval(SUMMARY_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let tally = engine.take_tally();
        if tally == TallySummary::default() {
            continue;
        }
        let commit_p99_ms = tally
            .commit_p99
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0);
        tracing::info!(
            started = tally.started,
            closed = tally.closed,
            commits = tally.commits,
            commit_p99_ms,
            "the last minute"
        );
    }
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM from the moment it is called — before the ready
/// line, so a signal sent as soon as a script reads that line stops the server gracefully
/// instead of killing it — and resolves at the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        biased;
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                    one.recv().await;
                }
                (Err(_), Err(_)) => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_shown_urls() {
        assert_eq!(
            redact("postgres://app:s3cret@db.internal:5432/endure"),
            "postgres://app:***@db.internal:5432/endure"
        );
        assert_eq!(
            redact("postgres://app@localhost/endure"),
            "postgres://app@localhost/endure"
        );
        assert_eq!(redact("host=localhost"), "host=localhost");
    }
}
