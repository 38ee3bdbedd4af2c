//! The TCP adapter of the Transport port, server side: accepts connections and serves each
//! one's calls through a local [`Transport`] (the engine's in-process one).
//!
//! Each connection is served by its own task: a malformed, oversize or wrong-version frame
//! closes that connection only. Calls are multiplexed — each runs as its own task, answered
//! when it finishes, in any order — and every call still running when its connection closes
//! is dropped, so a long poll from a vanished worker never takes a task. A call that outlives
//! its timeout, or that the client cancels, is dropped the same way. A connection silent for
//! longer than the idle timeout (clients ping well within it) is closed.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use endure_core::protocol::{ErrorKind, RemoteError, Transport};
use endure_core::wire::{
    ClientFrame, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, Incoming, MAGIC, PROTOCOL_VERSION,
    ServerFrame, WireError, decode_client_frame, encode_frame,
};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Limits of a TCP server.
#[derive(Clone, Debug)]
pub struct TcpServerConfig {
    /// The largest frame accepted (and sent).
    pub max_frame_bytes: u32,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Calls one connection may have in flight; more are refused with `Unavailable`.
    pub max_calls_per_connection: usize,
    /// The longest a call may run whatever timeout the client asks for.
    pub max_call_timeout: Duration,
}

impl Default for TcpServerConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            idle_timeout: Duration::from_secs(60),
            max_calls_per_connection: 1024,
            max_call_timeout: Duration::from_secs(300),
        }
    }
}

/// A listening TCP server.
pub struct TcpServer {
    listener: TcpListener,
    transport: Arc<dyn Transport>,
    config: TcpServerConfig,
}

impl TcpServer {
    /// Listens on `address` (port 0 picks a free port; see [`local_addr`](Self::local_addr)).
    pub async fn bind(
        address: SocketAddr,
        transport: Arc<dyn Transport>,
        config: TcpServerConfig,
    ) -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(address).await?,
            transport,
            config,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections until `shutdown` resolves; then stops accepting and closes every
    /// connection (calls in flight are dropped; clients see their connection close).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) {
        let connections: Arc<Mutex<BTreeMap<u64, JoinHandle<()>>>> = Arc::default();
        let mut next_connection = 0u64;
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            next_connection += 1;
            let id = next_connection;
            let transport = Arc::clone(&self.transport);
            let config = self.config.clone();
            let registry = Arc::clone(&connections);
            // Held across the spawn, so the task cannot deregister before it is registered.
            let mut open = connections.lock();
            let task = tokio::spawn(async move {
                if let Err(error) = serve_connection(stream, transport, config).await {
                    tracing::info!(%peer, %error, "connection closed");
                }
                registry.lock().remove(&id);
            });
            open.insert(id, task);
        }
        let open: Vec<JoinHandle<()>> = std::mem::take(&mut *connections.lock())
            .into_values()
            .collect();
        for task in open {
            task.abort();
        }
    }
}

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("io: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("handshake refused: {0}")]
    Refused(String),
    #[error("idle for longer than {0:?}")]
    Idle(Duration),
}

/// The calls of one connection still running.
type Calls = Arc<Mutex<BTreeMap<u64, JoinHandle<()>>>>;

async fn serve_connection(
    stream: TcpStream,
    transport: Arc<dyn Transport>,
    config: TcpServerConfig,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (outgoing, mut to_write) = mpsc::unbounded_channel::<Vec<u8>>();
    let writing = tokio::spawn(async move {
        while let Some(frame) = to_write.recv().await {
            // Flushed per frame: madsim's simulated stream sends only on flush.
            if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let calls: Calls = Arc::default();
    let result = read_frames(&mut reader, &outgoing, &calls, &transport, &config).await;
    // Whatever ended the connection, its calls are dropped with it.
    let running: Vec<JoinHandle<()>> = std::mem::take(&mut *calls.lock()).into_values().collect();
    for call in running {
        call.abort();
    }
    drop(outgoing);
    let _ = writing.await;
    result
}

async fn read_frames(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    outgoing: &mpsc::UnboundedSender<Vec<u8>>,
    calls: &Calls,
    transport: &Arc<dyn Transport>,
    config: &TcpServerConfig,
) -> Result<(), ConnectionError> {
    let mut decoder = FrameDecoder::new(config.max_frame_bytes);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut greeted = false;
    loop {
        while let Some(body) = decoder.next_frame()? {
            let frame = match decode_client_frame(&body)? {
                Incoming::Frame(frame) => frame,
                // A request that does not decode fails its own call only.
                Incoming::BadCall { id, reason } if greeted => {
                    tracing::debug!(id, %reason, "a call's request was refused");
                    let reply = ServerFrame::Reply {
                        id,
                        result: Err(RemoteError {
                            kind: ErrorKind::InvalidArgument,
                            message: reason,
                            run_id: None,
                        }),
                    };
                    send(outgoing, &reply, config.max_frame_bytes)?;
                    continue;
                }
                Incoming::BadCall { reason, .. } => return Err(WireError::Malformed(reason).into()),
            };
            if !greeted {
                handshake(frame, outgoing, config)?;
                greeted = true;
                continue;
            }
            handle(frame, outgoing, calls, transport, config)?;
        }
        let read = tokio::time::timeout(config.idle_timeout, reader.read(&mut buffer))
            .await
            .map_err(|_| ConnectionError::Idle(config.idle_timeout))??;
        if read == 0 {
            decoder.finish()?;
            return Ok(());
        }
        decoder.extend(&buffer[..read]);
    }
}

fn send(
    outgoing: &mpsc::UnboundedSender<Vec<u8>>,
    frame: &ServerFrame,
    max_frame_bytes: u32,
) -> Result<(), WireError> {
    let bytes = encode_frame(frame, max_frame_bytes)?;
    // A closed writer means the connection is going away; the reader finds out next.
    let _ = outgoing.send(bytes);
    Ok(())
}

fn handshake(
    frame: ClientFrame,
    outgoing: &mpsc::UnboundedSender<Vec<u8>>,
    config: &TcpServerConfig,
) -> Result<(), ConnectionError> {
    let refusal = match frame {
        ClientFrame::Hello { magic, version } if magic == MAGIC && version == PROTOCOL_VERSION => {
            None
        }
        ClientFrame::Hello { magic, .. } if magic != MAGIC => {
            Some("not an Endure client".to_owned())
        }
        ClientFrame::Hello { version, .. } => Some(format!(
            "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
        )),
        _ => Some("the first frame must be a hello".to_owned()),
    };
    match refusal {
        None => {
            send(
                outgoing,
                &ServerFrame::Welcome {
                    version: PROTOCOL_VERSION,
                    max_frame_bytes: config.max_frame_bytes,
                },
                config.max_frame_bytes,
            )?;
            Ok(())
        }
        Some(reason) => {
            send(
                outgoing,
                &ServerFrame::Refused {
                    reason: reason.clone(),
                },
                config.max_frame_bytes,
            )?;
            Err(ConnectionError::Refused(reason))
        }
    }
}

fn handle(
    frame: ClientFrame,
    outgoing: &mpsc::UnboundedSender<Vec<u8>>,
    calls: &Calls,
    transport: &Arc<dyn Transport>,
    config: &TcpServerConfig,
) -> Result<(), ConnectionError> {
    match frame {
        ClientFrame::Hello { .. } => Err(WireError::Malformed("a second hello".into()).into()),
        ClientFrame::Ping { nonce } => Ok(send(
            outgoing,
            &ServerFrame::Pong { nonce },
            config.max_frame_bytes,
        )?),
        ClientFrame::Cancel { id } => {
            if let Some(call) = calls.lock().remove(&id) {
                call.abort();
            }
            Ok(())
        }
        ClientFrame::Call {
            id,
            timeout,
            request,
        } => {
            let mut running = calls.lock();
            let refusal = if running.contains_key(&id) {
                Some((
                    ErrorKind::InvalidArgument,
                    "a call with this id is in flight",
                ))
            } else if running.len() >= config.max_calls_per_connection {
                Some((
                    ErrorKind::Unavailable,
                    "too many calls in flight on this connection",
                ))
            } else {
                None
            };
            if let Some((kind, message)) = refusal {
                let reply = ServerFrame::Reply {
                    id,
                    result: Err(RemoteError {
                        kind,
                        message: message.into(),
                        run_id: None,
                    }),
                };
                return Ok(send(outgoing, &reply, config.max_frame_bytes)?);
            }
            let timeout = timeout
                .unwrap_or(config.max_call_timeout)
                .min(config.max_call_timeout);
            let (transport, outgoing, registry) =
                (Arc::clone(transport), outgoing.clone(), Arc::clone(calls));
            let max_frame_bytes = config.max_frame_bytes;
            let task = tokio::spawn(async move {
                let result = match tokio::time::timeout(timeout, transport.call(*request)).await {
                    Ok(result) => result,
                    Err(_) => Err(RemoteError {
                        kind: ErrorKind::DeadlineExceeded,
                        message: format!("the call ran longer than {timeout:?}"),
                        run_id: None,
                    }),
                };
                registry.lock().remove(&id);
                let reply = ServerFrame::Reply { id, result };
                let bytes = encode_frame(&reply, max_frame_bytes).or_else(|error| {
                    // An answer too big for a frame becomes an error the client can read.
                    encode_frame(
                        &ServerFrame::Reply {
                            id,
                            result: Err(RemoteError {
                                kind: ErrorKind::Unavailable,
                                message: format!("the answer does not fit in a frame: {error}"),
                                run_id: None,
                            }),
                        },
                        max_frame_bytes,
                    )
                });
                if let Ok(bytes) = bytes {
                    let _ = outgoing.send(bytes);
                }
            });
            // `running` is held across the spawn, so the task deregisters after this.
            running.insert(id, task);
            Ok(())
        }
    }
}
