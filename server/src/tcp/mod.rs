//! The TCP adapter of the Transport port, server side: accepts connections and serves each
//! one's calls through a local [`Transport`] (the engine's in-process one).
//!
//! Each connection is served by its own task (`connection`): a malformed, oversize or
//! wrong-version frame closes that connection only. Calls are multiplexed — each runs as its
//! own task, answered when it finishes, in any order — and every call still running when its
//! connection closes is dropped, so a long poll from a vanished worker never takes a task. A
//! call that outlives its timeout, or that the client cancels, is dropped the same way. A
//! connection silent for longer than the idle timeout (clients ping well within it) is
//! closed. What peers can make the server hold is bounded (`limits`): connections, a
//! frame's time to arrive, unsent replies, partial frames.

mod connection;
#[cfg(not(madsim))]
mod http2;
mod limits;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use endure_core::protocol::Transport;
use endure_core::wire::{ServerFrame, encode_frame};
#[cfg(not(madsim))]
pub use http2::{HTTP2_PREFACE_START, Http2Handler, Http2Stream};
pub use limits::{
    CONNECTIONS_MAX, FRAME_ARRIVAL_TIMEOUT, OUTGOING_BYTES_MAX, PARTIAL_FRAMES_BYTES_MAX,
    READ_BUFFER_BYTES, TcpServerConfig,
};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::engine::instruments::OPEN_CONNECTIONS;
use crate::security::{Security, Session};

/// The first wait after `accept` fails (out of file descriptors, say); it doubles while the
/// failures go on.
const ACCEPT_RETRY_INITIAL: Duration = Duration::from_millis(10);
/// The longest wait between two failed `accept`s.
const ACCEPT_RETRY_MAX: Duration = Duration::from_secs(1);
/// How long a refused connection is given to take its refusal before it is closed.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// A listening TCP server.
pub struct TcpServer {
    listener: TcpListener,
    transport: Arc<dyn Transport>,
    config: TcpServerConfig,
    security: Arc<Security>,
    #[cfg(all(feature = "tls", not(madsim)))]
    tls: Option<crate::tls::ServerTls>,
    #[cfg(not(madsim))]
    http2: Option<Http2Handler>,
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
            security: Arc::new(Security::open()),
            #[cfg(all(feature = "tls", not(madsim)))]
            tls: None,
            #[cfg(not(madsim))]
            http2: None,
        })
    }

    /// Hands every connection that opens with HTTP/2's preface (a gRPC client: Temporal's
    /// SDKs and CLI) to `handler`, so another protocol shares the port; every other
    /// connection is Endure's own protocol as before. The first bytes are read to tell them
    /// apart (an Endure frame's length prefix is never `PRI `) and given back to whichever
    /// serves the connection.
    #[cfg(not(madsim))]
    pub fn with_http2(mut self, handler: Http2Handler) -> Self {
        self.http2 = Some(handler);
        self
    }

    /// Serves TLS (and mutual TLS, if `tls` asks for client certificates): every
    /// connection's handshake must succeed within [`crate::tls::HANDSHAKE_TIMEOUT`], and a
    /// client certificate's subject becomes the session's credential.
    #[cfg(all(feature = "tls", not(madsim)))]
    pub fn with_tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticates, authorizes and rate-limits every call with `security` (the default
    /// is an open server).
    pub fn with_security(mut self, security: Arc<Security>) -> Self {
        self.security = security;
        self
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections until `shutdown` resolves; then stops accepting and closes every
    /// connection (calls in flight are dropped; clients see their connection close).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) {
        let connections: Arc<Mutex<BTreeMap<u64, JoinHandle<()>>>> = Arc::default();
        let partial_frames = limits::Budget::new(self.config.max_partial_frames_bytes);
        let mut next_connection = 0u64;
        let mut failing = AcceptFailures::default();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => {
                    failing.recovered();
                    accepted
                }
                Err(error) => {
                    tokio::time::sleep(failing.failed(&error)).await;
                    continue;
                }
            };
            let open = connections.lock().len();
            if open >= self.config.max_connections {
                tracing::warn!(%peer, open, "connection refused: at the connection limit");
                tokio::spawn(refuse(
                    stream,
                    format!(
                        "the server has {open} connections open, its limit (max_connections); try again later"
                    ),
                    self.config.max_frame_bytes,
                ));
                continue;
            }
            next_connection += 1;
            let id = next_connection;
            let served = connection::Served {
                transport: Arc::clone(&self.transport),
                config: self.config.clone(),
                security: Arc::clone(&self.security),
            };
            let share = limits::Share::new(&partial_frames);
            let registry = Arc::clone(&connections);
            // Held across the spawn, so the task cannot deregister before it is registered.
            let mut open = connections.lock();
            let counted = OpenConnection::counted();
            #[cfg(all(feature = "tls", not(madsim)))]
            let acceptor = self.tls.as_ref().map(crate::tls::ServerTls::acceptor);
            #[cfg(not(madsim))]
            let http2 = self.http2.clone();
            let task = tokio::spawn(async move {
                let _counted = counted;
                let _ = stream.set_nodelay(true);
                #[cfg(all(feature = "tls", not(madsim)))]
                let served_connection = match acceptor {
                    Some(acceptor) => serve_tls(acceptor, stream, peer, served, share, http2).await,
                    None => {
                        let session = Session::new(peer.to_string(), None);
                        match http2 {
                            Some(http2) => {
                                http2::serve(stream, peer, None, http2, served, share, session)
                                    .await
                            }
                            None => connection::serve(stream, served, share, session).await,
                        }
                    }
                };
                #[cfg(all(not(feature = "tls"), not(madsim)))]
                let served_connection = {
                    let session = Session::new(peer.to_string(), None);
                    match http2 {
                        Some(http2) => {
                            http2::serve(stream, peer, None, http2, served, share, session).await
                        }
                        None => connection::serve(stream, served, share, session).await,
                    }
                };
                #[cfg(madsim)]
                let served_connection = {
                    let session = Session::new(peer.to_string(), None);
                    connection::serve(stream, served, share, session).await
                };
                match served_connection {
                    Ok(()) => {}
                    // Someone pointed another protocol's client at this port: say so.
                    Err(connection::ConnectionError::Wire(
                        error @ endure_core::wire::WireError::OtherProtocol(_),
                    )) => tracing::warn!(%peer, %error, "connection closed"),
                    Err(error) => tracing::info!(%peer, %error, "connection closed"),
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

/// The TLS handshake, then the connection; the client certificate's subject (mTLS) is the
/// session's credential.
#[cfg(all(feature = "tls", not(madsim)))]
async fn serve_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    served: connection::Served,
    share: limits::Share,
    http2: Option<Http2Handler>,
) -> Result<(), connection::ConnectionError> {
    let stream = tokio::time::timeout(crate::tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| {
            connection::ConnectionError::Tls(format!(
                "the TLS handshake took longer than {:?}",
                crate::tls::HANDSHAKE_TIMEOUT
            ))
        })?
        .map_err(|error| connection::ConnectionError::Tls(error.to_string()))?;
    let subject = crate::tls::peer_subject(stream.get_ref().1.peer_certificates());
    if let Some(subject) = &subject {
        tracing::debug!(%peer, %subject, "client certificate verified");
    }
    let session = Session::new(peer.to_string(), subject.clone());
    match http2 {
        Some(http2) => http2::serve(stream, peer, subject, http2, served, share, session).await,
        None => connection::serve(stream, served, share, session).await,
    }
}

/// A connection counted in the open-connections gauge until its task ends or is dropped
/// (aborted at shutdown, or with the whole server's future).
struct OpenConnection;

impl OpenConnection {
    fn counted() -> Self {
        metrics::gauge!(OPEN_CONNECTIONS).increment(1.0);
        Self
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(OPEN_CONNECTIONS).decrement(1.0);
    }
}

/// Tells a connection over the limit why, then closes it.
async fn refuse(mut stream: TcpStream, reason: String, max_frame_bytes: u32) {
    if let Ok(frame) = encode_frame(&ServerFrame::Refused { reason }, max_frame_bytes) {
        let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
            let _ = stream.write_all(&frame).await;
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
        })
        .await;
    }
}

/// `accept` failing in a row (out of file descriptors, say): the wait before the next try
/// doubles, and the failure is logged once, not at every try.
#[derive(Default)]
struct AcceptFailures {
    count: u64,
    wait: Duration,
}

impl AcceptFailures {
    /// Counts a failure; returns how long to wait before accepting again.
    fn failed(&mut self, error: &io::Error) -> Duration {
        if self.count == 0 {
            tracing::warn!(%error, "accept failed; retrying with a growing wait (is the process out of file descriptors? see max_connections)");
            self.wait = ACCEPT_RETRY_INITIAL;
        } else {
            self.wait = (self.wait * 2).min(ACCEPT_RETRY_MAX);
        }
        self.count += 1;
        self.wait
    }

    /// An accept succeeded.
    fn recovered(&mut self) {
        if self.count > 0 {
            tracing::warn!(failures = self.count, "accepting connections again");
        }
        self.count = 0;
    }
}
