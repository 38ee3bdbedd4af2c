//! The TCP adapter of the Transport port, client side: how clients and workers reach an
//! engine in another process (`endure server`), in the wire format of
//! [`endure_core::wire`].
//!
//! One connection carries every call of a [`TcpTransport`], multiplexed by call id. The
//! connection is opened on the first call and reopened after it fails, with a backoff
//! between attempts (doubling from `reconnect_backoff_initial` to `reconnect_backoff_max`,
//! reset by a successful handshake). Calls in flight when it fails return `Unavailable`;
//! nothing is re-sent automatically, since only the caller knows whether its request is
//! safe to repeat (starts and signals carry request ids for that). A call past its deadline
//! returns `DeadlineExceeded`, and a call whose future is dropped (a worker shutting down)
//! is cancelled on the server too. A ping every `keepalive_interval` keeps the connection
//! alive; three intervals of silence close it.
//!
//! With an [`ApiKey`] the transport presents it on every connection it opens (the server's
//! answer names the subject it recognised; a refused credential fails the connect with
//! `Unauthenticated`), and takes it again from a dynamic key's function at each reconnect,
//! so a short-lived JWT can be renewed. A call refused by a rate limit (`ResourceExhausted`:
//! the server did not run it) is retried after a growing backoff within the call's
//! deadline.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use endure_core::Namespace;
use endure_core::protocol::{
    ErrorKind, RemoteError, Request, Response, Transport, TransportFuture,
};
use endure_core::wire::{
    ClientFrame, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, MAGIC, PROTOCOL_VERSION, ServerFrame,
    decode_frame, encode_call, encode_frame,
};
use endure_net::{Outbox, SendError};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Client;

mod cluster;
#[cfg(all(feature = "tls", not(madsim)))]
mod tls;

pub use cluster::{
    CLUSTER_MEMBERS_MAX, ClusterOptions, ClusterTransport, MemberConnector, SERVED_BY_MAX,
    connect_cluster,
};
#[cfg(all(feature = "tls", not(madsim)))]
pub use tls::ClientTls;

/// Most bytes of requests a connection lets wait unsent (the server not reading them); a
/// call that would pass it fails with `Unavailable`.
pub const UNSENT_REQUEST_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The reading half of a connection (plain TCP or TLS).
type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection.
type WriteHalf = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

/// The credential a transport presents: an API key or a JWT, fixed or fetched again at
/// every connect (Temporal's `NewAPIKeyStaticCredentials` / `NewAPIKeyDynamicCredentials`).
#[derive(Clone)]
pub struct ApiKey(Arc<dyn Fn() -> String + Send + Sync>);

impl ApiKey {
    /// Always `key`.
    pub fn fixed(key: impl Into<String>) -> Self {
        let key = key.into();
        Self(Arc::new(move || key.clone()))
    }

    /// Whatever `key` returns when a connection opens (a token refreshed elsewhere).
    pub fn dynamic(key: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(key))
    }

    fn current(&self) -> String {
        (self.0)()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Tuning of a TCP connection to an engine.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// The credential presented on each connection; `None` for an open server.
    pub api_key: Option<ApiKey>,
    /// TLS to the server; `None`: plain TCP.
    #[cfg(all(feature = "tls", not(madsim)))]
    pub tls: Option<ClientTls>,
    /// The largest frame sent or accepted.
    pub max_frame_bytes: u32,
    /// Limit on connecting and the handshake.
    pub connect_timeout: Duration,
    /// Deadline of one call; above the engine's long-poll wait (60 s by default).
    pub call_timeout: Duration,
    /// How often an idle connection is pinged.
    pub keepalive_interval: Duration,
    /// Wait before the first reconnect attempt after a failure.
    pub reconnect_backoff_initial: Duration,
    /// Longest wait between reconnect attempts.
    pub reconnect_backoff_max: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            api_key: None,
            #[cfg(all(feature = "tls", not(madsim)))]
            tls: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(90),
            keepalive_interval: Duration::from_secs(10),
            reconnect_backoff_initial: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(5),
        }
    }
}

/// A client of the engine listening at `address` (`host:port`), for `namespace`.
pub fn connect(address: impl Into<String>, namespace: Namespace) -> Client {
    Client::new(
        Arc::new(TcpTransport::new(address, RemoteOptions::default())),
        namespace,
    )
}

impl Client {
    /// A client of the engine listening at `address` (`host:port`, an `endure server`),
    /// for `namespace`; the connection opens on the first call. Workers built on its
    /// [`transport`](Client::transport) share the connection.
    pub fn connect(address: impl Into<String>, namespace: Namespace) -> Self {
        connect(address, namespace)
    }

    /// [`connect`](Self::connect) with `options`: a credential, timeouts.
    ///
    /// ```no_run
    /// use endure::remote::{ApiKey, RemoteOptions};
    /// use endure::{Client, Namespace};
    ///
    /// let options = RemoteOptions {
    ///     api_key: Some(ApiKey::fixed(std::env::var("ENDURE_API_KEY").unwrap_or_default())),
    ///     ..RemoteOptions::default()
    /// };
    /// let client = Client::connect_with("orders.internal:7233", Namespace::default(), options);
    /// ```
    pub fn connect_with(
        address: impl Into<String>,
        namespace: Namespace,
        options: RemoteOptions,
    ) -> Self {
        Self::new(Arc::new(TcpTransport::new(address, options)), namespace)
    }
}

/// The Transport over TCP.
pub struct TcpTransport {
    address: String,
    options: RemoteOptions,
    link: tokio::sync::Mutex<Link>,
}

/// The connection, or how long to wait before the next attempt.
#[derive(Default)]
struct Link {
    current: Option<Arc<Connection>>,
    /// Failed attempts since the last successful handshake.
    failures: u32,
    /// No attempt before then.
    retry_at: Option<tokio::time::Instant>,
}

type Pending = Mutex<BTreeMap<u64, oneshot::Sender<Result<Response, RemoteError>>>>;

/// One open connection.
struct Connection {
    /// Requests are written by their callers; the connection's flusher writes what the
    /// socket could not take at once.
    outgoing: Outbox<WriteHalf>,
    pending: Arc<Pending>,
    next_id: AtomicU64,
    closed: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    max_frame_bytes: u32,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn unavailable(message: impl Into<String>) -> RemoteError {
    RemoteError {
        kind: ErrorKind::Unavailable,
        message: message.into(),
        run_id: None,
    }
}

impl TcpTransport {
    /// A transport to `address`; nothing is connected until the first call.
    pub fn new(address: impl Into<String>, options: RemoteOptions) -> Self {
        Self {
            address: address.into(),
            options,
            link: tokio::sync::Mutex::new(Link::default()),
        }
    }

    /// The open connection, or a new one (after the backoff, if the last attempt failed).
    async fn connection(&self) -> Result<Arc<Connection>, RemoteError> {
        let mut link = self.link.lock().await;
        if let Some(connection) = &link.current
            && !connection.closed.load(Ordering::SeqCst)
        {
            return Ok(Arc::clone(connection));
        }
        link.current = None;
        if let Some(retry_at) = link.retry_at {
            tokio::time::sleep_until(retry_at).await;
        }
        match self.open().await {
            Ok(connection) => {
                let connection = Arc::new(connection);
                *link = Link {
                    current: Some(Arc::clone(&connection)),
                    failures: 0,
                    retry_at: None,
                };
                Ok(connection)
            }
            Err(error) => {
                link.failures = link.failures.saturating_add(1);
                let backoff = self
                    .options
                    .reconnect_backoff_initial
                    .saturating_mul(1 << link.failures.saturating_sub(1).min(16))
                    .min(self.options.reconnect_backoff_max);
                link.retry_at = Some(tokio::time::Instant::now() + backoff);
                Err(error)
            }
        }
    }

    /// The connection's halves: TLS over `stream` if the options ask for it.
    async fn secure(&self, stream: TcpStream) -> Result<(ReadHalf, WriteHalf), RemoteError> {
        #[cfg(all(feature = "tls", not(madsim)))]
        if let Some(tls) = &self.options.tls {
            let (connector, name) = tls.connector(&self.address)?;
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|error| RemoteError {
                    kind: ErrorKind::Unavailable,
                    message: format!("the TLS handshake with {} failed: {error}", self.address),
                    run_id: None,
                })?;
            let (reader, writer) = tokio::io::split(stream);
            return Ok((Box::new(reader), Box::new(writer)));
        }
        let (reader, writer) = tokio::io::split(stream);
        Ok((Box::new(reader), Box::new(writer)))
    }

    /// Connects and shakes hands.
    async fn open(&self) -> Result<Connection, RemoteError> {
        let options = &self.options;
        let connecting = async {
            let stream = TcpStream::connect(self.address.as_str())
                .await
                .map_err(|error| {
                    unavailable(format!("cannot connect to {}: {error}", self.address))
                })?;
            let _ = stream.set_nodelay(true);
            let (mut reader, mut writer) = self.secure(stream).await?;
            let hello = encode_frame(
                &ClientFrame::Hello {
                    magic: MAGIC,
                    version: PROTOCOL_VERSION,
                },
                options.max_frame_bytes,
            )
            .map_err(|error| unavailable(error.to_string()))?;
            let mut hello = hello;
            if let Some(api_key) = &options.api_key {
                let authenticate = encode_frame(
                    &ClientFrame::Authenticate {
                        token: api_key.current(),
                    },
                    options.max_frame_bytes,
                )
                .map_err(|error| unavailable(error.to_string()))?;
                hello.extend_from_slice(&authenticate);
            }
            writer
                .write_all(&hello)
                .await
                .map_err(|error| unavailable(format!("handshake failed: {error}")))?;
            writer
                .flush()
                .await
                .map_err(|error| unavailable(format!("handshake failed: {error}")))?;
            let mut decoder = FrameDecoder::new(options.max_frame_bytes);
            // The welcome, then (with a credential) the server's word on it.
            let expected = if options.api_key.is_some() { 2 } else { 1 };
            for _ in 0..expected {
                let answer = next_frame(&mut reader, &mut decoder).await?;
                match answer {
                    ServerFrame::Welcome { .. } | ServerFrame::Authenticated { .. } => {}
                    ServerFrame::Refused { reason } => {
                        let kind = if reason.starts_with("authentication failed") {
                            ErrorKind::Unauthenticated
                        } else {
                            ErrorKind::FailedPrecondition
                        };
                        return Err(RemoteError {
                            kind,
                            message: format!("the server refused the connection: {reason}"),
                            run_id: None,
                        });
                    }
                    other => {
                        return Err(unavailable(format!(
                            "unexpected handshake answer {other:?}"
                        )));
                    }
                }
            }
            Ok((reader, writer, decoder))
        };
        let (reader, writer, decoder) = tokio::time::timeout(options.connect_timeout, connecting)
            .await
            .map_err(|_| unavailable(format!("connecting to {} timed out", self.address)))??;

        let (outgoing, flusher) = Outbox::new(writer, UNSENT_REQUEST_BYTES_MAX);
        let pending: Arc<Pending> = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let writing = {
            let closed = Arc::clone(&closed);
            tokio::spawn(async move {
                if let Err(error) = flusher.await {
                    tracing::info!(%error, "writing to the engine failed");
                    closed.store(true, Ordering::SeqCst);
                }
            })
        };
        let silence = options.keepalive_interval.saturating_mul(3);
        let reading = tokio::spawn(read_replies(
            reader,
            decoder,
            Arc::clone(&pending),
            Arc::clone(&closed),
            silence,
        ));
        let keepalive = {
            let (outgoing, closed) = (outgoing.clone(), Arc::clone(&closed));
            let (interval, max_frame_bytes) = (options.keepalive_interval, options.max_frame_bytes);
            tokio::spawn(async move {
                let mut nonce = 0u64;
                while !closed.load(Ordering::SeqCst) {
                    tokio::time::sleep(interval).await;
                    nonce += 1;
                    let Ok(ping) = encode_frame(&ClientFrame::Ping { nonce }, max_frame_bytes)
                    else {
                        break;
                    };
                    match outgoing.send(ping) {
                        // Pings pile up unread: the reader's silence check closes it.
                        Ok(()) | Err(SendError::Full { .. }) => {}
                        Err(SendError::Closed) => break,
                    }
                }
            })
        };
        Ok(Connection {
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
            closed,
            tasks: vec![writing, reading, keepalive],
            max_frame_bytes: options.max_frame_bytes,
        })
    }
}

/// The next frame of the handshake.
async fn next_frame(
    reader: &mut (impl AsyncRead + Unpin),
    decoder: &mut FrameDecoder,
) -> Result<ServerFrame, RemoteError> {
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(body) = decoder
            .next_frame()
            .map_err(|error| unavailable(error.to_string()))?
        {
            return decode_frame::<ServerFrame>(&body)
                .map_err(|error| unavailable(error.to_string()));
        }
        let read = reader
            .read(&mut buffer)
            .await
            .map_err(|error| unavailable(format!("handshake failed: {error}")))?;
        if read == 0 {
            return Err(unavailable(
                "the server closed the connection during the handshake",
            ));
        }
        decoder.extend(&buffer[..read]);
    }
}

/// Hands each reply to its caller until the connection fails, goes silent or closes; then
/// marks it closed and fails every call still waiting.
async fn read_replies(
    mut reader: impl AsyncRead + Unpin,
    mut decoder: FrameDecoder,
    pending: Arc<Pending>,
    closed: Arc<AtomicBool>,
    silence: Duration,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    let outcome: Result<(), String> = async {
        loop {
            while let Some(body) = decoder.next_frame().map_err(|error| error.to_string())? {
                match decode_frame::<ServerFrame>(&body).map_err(|error| error.to_string())? {
                    ServerFrame::Reply { id, result } => {
                        if let Some(caller) = pending.lock().remove(&id) {
                            let _ = caller.send(result);
                        }
                    }
                    ServerFrame::Pong { .. } => {}
                    other => return Err(format!("unexpected frame {other:?}")),
                }
            }
            let read = tokio::time::timeout(silence, reader.read(&mut buffer))
                .await
                .map_err(|_| format!("no answer to pings for {silence:?}"))?
                .map_err(|error| error.to_string())?;
            if read == 0 {
                return Err("the server closed the connection".into());
            }
            decoder.extend(&buffer[..read]);
        }
    }
    .await;
    if let Err(reason) = outcome {
        tracing::info!(%reason, "connection to the engine closed");
    }
    closed.store(true, Ordering::SeqCst);
    // Dropping the senders fails the waiting calls with `Unavailable`.
    pending.lock().clear();
}

/// Cancels a call on the server if its caller stops waiting before the reply.
struct CancelOnDrop {
    connection: Arc<Connection>,
    id: u64,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.connection.pending.lock().remove(&self.id);
        if let Ok(cancel) = encode_frame(
            &ClientFrame::Cancel { id: self.id },
            self.connection.max_frame_bytes,
        ) {
            let _ = self.connection.outgoing.send(cancel);
        }
    }
}

/// The first wait before retrying a call a rate limit refused; it doubles up to
/// [`RATE_LIMITED_BACKOFF_MAX`].
pub const RATE_LIMITED_BACKOFF_INITIAL: Duration = Duration::from_millis(50);
/// The longest wait between two tries of a rate-limited call.
pub const RATE_LIMITED_BACKOFF_MAX: Duration = Duration::from_secs(2);

impl Transport for TcpTransport {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + self.options.call_timeout;
            let mut backoff = RATE_LIMITED_BACKOFF_INITIAL;
            loop {
                // Refused before it ran: safe to send again, whatever the call.
                match self.call_once(&request).await {
                    Err(error)
                        if error.kind == ErrorKind::ResourceExhausted
                            && tokio::time::Instant::now() + backoff < deadline =>
                    {
                        tracing::debug!(%error, ?backoff, "rate limited; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(RATE_LIMITED_BACKOFF_MAX);
                    }
                    outcome => return outcome,
                }
            }
        })
    }
}

impl TcpTransport {
    /// One try of a call.
    async fn call_once(&self, request: &Request) -> Result<Response, RemoteError> {
        {
            let connection = self.connection().await?;
            let id = connection.next_id.fetch_add(1, Ordering::Relaxed);
            let frame = encode_call(
                id,
                Some(self.options.call_timeout),
                request,
                connection.max_frame_bytes,
            )
            .map_err(|error| RemoteError {
                kind: ErrorKind::InvalidArgument,
                message: format!("the request cannot be sent: {error}"),
                run_id: None,
            })?;
            let (reply, replied) = oneshot::channel();
            connection.pending.lock().insert(id, reply);
            let mut guard = CancelOnDrop {
                connection: Arc::clone(&connection),
                id,
                armed: true,
            };
            // Checked after registering, so a close racing with this call is not missed.
            let sent = if connection.closed.load(Ordering::SeqCst) {
                Err(SendError::Closed)
            } else {
                connection.outgoing.send(frame)
            };
            if let Err(error) = sent {
                guard.armed = false;
                connection.pending.lock().remove(&id);
                return Err(match error {
                    SendError::Closed => unavailable("the connection to the engine closed"),
                    SendError::Full { max } => unavailable(format!(
                        "the engine is not reading requests: more than {max} bytes wait unsent"
                    )),
                });
            }
            let outcome = tokio::time::timeout(self.options.call_timeout, replied).await;
            match outcome {
                Ok(Ok(result)) => {
                    guard.armed = false;
                    if result
                        .as_ref()
                        .is_err_and(|error| error.kind == ErrorKind::Unauthenticated)
                    {
                        // The credential lapsed (expired, revoked): the next call connects
                        // again, presenting the credential afresh.
                        connection.closed.store(true, Ordering::SeqCst);
                    }
                    result
                }
                Ok(Err(_)) => {
                    guard.armed = false;
                    Err(unavailable(
                        "the connection to the engine closed during the call",
                    ))
                }
                // The guard cancels the call on the server.
                Err(_) => Err(RemoteError {
                    kind: ErrorKind::DeadlineExceeded,
                    message: format!("no answer within {:?}", self.options.call_timeout),
                    run_id: None,
                }),
            }
        }
    }
}
