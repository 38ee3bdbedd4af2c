//! The server's HTTP listeners: metrics and health — `/metrics` in Prometheus's text
//! format, `/healthz` (the process is up) and `/readyz` (the store is open, every shard
//! runs, the TCP listener accepts) for load balancers and orchestrators — and the web UI
//! with its HTTP/JSON API (`endure_web`), each on its own address.
//!
//! The engine and the TCP listener record through the `metrics` facade; this module installs
//! the Prometheus recorder behind it (once per process), samples the gauges that are read
//! rather than counted at each scrape, and serves the text. On for `server start-dev` and
//! `server start` at [`METRICS_PORT_DEFAULT`] on the server's `--ip`; `--metrics-port`,
//! `--metrics-address` or `--no-metrics` change that.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use endure_core::clock::Clock;
use endure_core::storage::Storage;
use endure_server::engine::Engine;
use endure_server::engine::instruments;
use endure_server::storage::StorageCounters;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::CliError;

/// The port of the metrics and health listener when none is given (Temporal's dev server
/// picks a random one; a fixed one is what a Prometheus scrape config can name). If it is
/// taken, the listener takes a free port and says which.
pub(crate) const METRICS_PORT_DEFAULT: u16 = 7235;

/// How often the recorder's histograms are tidied (its upkeep), in seconds.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Latency buckets, seconds: 0.25 ms to 60 s, about ×2.5 apart.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0, 60.0,
];

/// Writes-per-commit buckets.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Where an HTTP listener goes, as the flags say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HttpBind {
    /// The listener's default port on this address, or a free port if it is taken.
    Default(IpAddr),
    /// Exactly this address (port 0 picks a free one); failing to bind is an error.
    Explicit(SocketAddr),
    /// No listener.
    Off,
}

/// A running HTTP listener; [`stop`](Self::stop) it before shutting the engine down (it
/// holds a handle to it).
pub(crate) struct HttpListener {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl HttpListener {
    /// The address it listens on.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving and waits for the listener to let go of the engine.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// What the handlers read.
struct Served<S, C> {
    engine: Engine<S, C>,
    prometheus: PrometheusHandle,
    counters: Option<Arc<StorageCounters>>,
    accepting: Arc<AtomicBool>,
}

/// Binds the listener as `bind` says and serves `engine`'s metrics and health; `None` when
/// it is off. `accepting` tells `/readyz` whether the TCP listener takes connections.
pub(crate) async fn start<S: Storage, C: Clock>(
    bind: HttpBind,
    engine: Engine<S, C>,
    counters: Option<Arc<StorageCounters>>,
    accepting: Arc<AtomicBool>,
    tls: Option<endure_server::tls::ServerTls>,
) -> Result<Option<HttpListener>, CliError> {
    let Some(listener) = listen(
        bind,
        METRICS_PORT_DEFAULT,
        "metrics",
        "--metrics-port, or --no-metrics",
    )
    .await?
    else {
        return Ok(None);
    };
    let prometheus = recorder()?;
    let served = Arc::new(Served {
        engine,
        prometheus: prometheus.clone(),
        counters,
        accepting,
    });
    let router = Router::new()
        .route("/metrics", get(metrics::<S, C>))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz::<S, C>))
        .with_state(served);
    let upkeep = async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            prometheus.run_upkeep();
        }
    };
    serve(listener, router, tls, upkeep, "metrics")
}

/// Binds the web UI and HTTP/JSON API's listener as `bind` says (`default_port` for
/// [`HttpBind::Default`]) and serves `endure_web`'s routes over `transport`, every call
/// passing `security`; `None` when it is off.
pub(crate) async fn start_web(
    bind: HttpBind,
    default_port: u16,
    transport: Arc<dyn endure_core::protocol::Transport>,
    security: Arc<endure_server::security::Security>,
    tls: Option<endure_server::tls::ServerTls>,
) -> Result<Option<HttpListener>, CliError> {
    let Some(listener) = listen(
        bind,
        default_port,
        "the web UI",
        "--http-address or --ui-port, or --headless",
    )
    .await?
    else {
        return Ok(None);
    };
    let address = listener
        .local_addr()
        .map_err(|error| CliError::Server(error.to_string()))?;
    let mut options = endure_web::WebOptions::new(transport);
    options.security = security;
    options.loopback_hosts_only = address.ip().is_loopback();
    options.secure_cookies = tls.is_some();
    let router = endure_web::router(options);
    serve(
        listener,
        router,
        tls,
        std::future::pending::<()>(),
        "web UI",
    )
}

/// The listener `bind` asks for: `None` when off; on [`HttpBind::Default`], `default_port`
/// or, if it is taken, a free port (said in the log). `what` and `flags` name it in errors.
async fn listen(
    bind: HttpBind,
    default_port: u16,
    what: &str,
    flags: &str,
) -> Result<Option<TcpListener>, CliError> {
    let listener = match bind {
        HttpBind::Off => return Ok(None),
        HttpBind::Explicit(address) => TcpListener::bind(address).await.map_err(|error| {
            CliError::Server(format!(
                "cannot listen for {what} on {address}: {error}; pick another with {flags}"
            ))
        })?,
        HttpBind::Default(ip) => match TcpListener::bind((ip, default_port)).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, port = default_port, "the default port for {what} is taken; listening on a free one (choose with {flags})");
                TcpListener::bind((ip, 0)).await.map_err(|error| {
                    CliError::Server(format!("cannot listen for {what} on {ip}: {error}"))
                })?
            }
        },
    };
    Ok(Some(listener))
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until stopped, running
/// `beside` while it serves.
fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<endure_server::tls::ServerTls>,
    beside: impl Future<Output = ()> + Send + 'static,
    what: &'static str,
) -> Result<Option<HttpListener>, CliError> {
    let address = listener
        .local_addr()
        .map_err(|error| CliError::Server(error.to_string()))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        let serve = async {
            match tls {
                Some(tls) => match crate::http_tls::TlsListener::new(listener, &tls) {
                    // (The peer's address is not handed to handlers over TLS: the audit
                    // log names such callers by subject only.)
                    Ok(listener) => {
                        axum::serve(listener, router)
                            .with_graceful_shutdown(stopped)
                            .await
                    }
                    Err(error) => Err(error),
                },
                None => {
                    let app = router.into_make_service_with_connect_info::<SocketAddr>();
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await
                }
            }
        };
        // Serving first: `beside` (the recorder's upkeep) never ends, so it only runs
        // while serving waits.
        tokio::select! {
            biased;
            served = serve => {
                if let Err(error) = served {
                    tracing::error!(%error, "the {what} listener stopped");
                }
            }
            () = beside => {}
        }
    });
    Ok(Some(HttpListener {
        address,
        stop,
        task,
    }))
}

/// The process's Prometheus recorder, installed at the first call.
pub(crate) fn recorder() -> Result<PrometheusHandle, CliError> {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let failed = |error: &dyn std::fmt::Display| {
        CliError::Server(format!("cannot set up the metrics recorder: {error}"))
    };
    let handle = PrometheusBuilder::new()
        .set_buckets(SECONDS_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full(instruments::COMMIT_BATCH.to_owned()),
                BATCH_BUCKETS,
            )
        })
        .map_err(|error| failed(&error))?
        .install_recorder()
        .map_err(|error| failed(&error))?;
    instruments::describe();
    endure::metrics::describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// `/metrics`: samples the gauges read from state, then renders everything.
async fn metrics<S: Storage, C: Clock>(
    State(served): State<Arc<Served<S, C>>>,
) -> impl IntoResponse {
    if let Err(error) = served.engine.record_gauges().await {
        tracing::warn!(%error, "metrics: cannot sample the engine's gauges");
    }
    if let Some(counters) = &served.counters {
        let counts = counters.read();
        metrics::counter!(instruments::STORAGE_FSYNCS).absolute(counts.fsyncs);
        metrics::counter!(instruments::STORAGE_BYTES_WRITTEN).absolute(counts.bytes_written);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        served.prometheus.render(),
    )
}

/// `/readyz`: 200 when the server can do its work, else 503 with the reason.
async fn readyz<S: Storage, C: Clock>(
    State(served): State<Arc<Served<S, C>>>,
) -> (StatusCode, String) {
    if !served.accepting.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the server is not accepting connections\n".into(),
        );
    }
    if let Some(reason) = served.engine.health().store_stopped {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the store stopped: {reason}\n"),
        );
    }
    if !served.engine.shards_running() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: a shard stopped; see the server's log\n".into(),
        );
    }
    (StatusCode::OK, "ready\n".into())
}
