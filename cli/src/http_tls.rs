//! TLS for the HTTP listener: an axum `Listener` that accepts TCP connections and hands
//! axum only those whose TLS handshake finished. Handshakes run in their own tasks (a slow
//! client does not hold up the others), at most [`HANDSHAKES_MAX`] at once, each within
//! `endure_server::tls::HANDSHAKE_TIMEOUT`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use endure_server::tls::{HANDSHAKE_TIMEOUT, ServerTls};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;

/// Most TLS handshakes in progress at once on the HTTP listener; further connections wait
/// to be accepted.
pub(crate) const HANDSHAKES_MAX: usize = 64;

/// Connections that finished their handshake, for axum.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl TlsListener {
    /// Serves TLS with `tls` on `listener`.
    pub(crate) fn new(listener: TcpListener, tls: &ServerTls) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let tls = tls.clone();
        let (send, ready) = mpsc::channel(HANDSHAKES_MAX);
        let permits = Arc::new(Semaphore::new(HANDSHAKES_MAX));
        let accepting = tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    return;
                };
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "the HTTP listener's accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // The configuration in force (the certificate may have been reloaded).
                let (acceptor, send) = (tls.acceptor(), send.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let _ = send.send((stream, peer)).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "HTTP TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "HTTP TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (aborted at shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
