//! A second protocol on the TCP listener: connections that open with HTTP/2's preface
//! (`PRI * HTTP/2.0…`, what every gRPC client sends first) go to an [`Http2Handler`] —
//! Temporal's gRPC API (`endure-grpc`) — and every other connection to Endure's own
//! protocol, which never starts with those bytes (its first four are a frame's length,
//! and `PRI ` as a length is far past any frame limit).

use std::future::Future;
use std::io::Cursor;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::connection::{self, ConnectionError, Served};
use super::limits::Share;
use crate::security::Session;

/// The first bytes of HTTP/2's client preface: enough to tell it from an Endure frame.
pub const HTTP2_PREFACE_START: &[u8; 4] = b"PRI ";

/// A connection handed to an [`Http2Handler`], its first bytes given back.
pub trait Http2Stream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<S: AsyncRead + AsyncWrite + Send + Unpin> Http2Stream for S {}

/// What serves a connection that opened with the HTTP/2 preface, until it closes: the
/// stream, the peer's address and, over mutual TLS, its verified certificate's subject.
pub type Http2Handler = Arc<
    dyn Fn(
            Box<dyn Http2Stream>,
            SocketAddr,
            Option<String>,
        ) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Reads a connection's first bytes (within the idle timeout) and serves it with the
/// protocol they name (over TLS: after the handshake, `certificate_subject` the client
/// certificate's).
pub(super) async fn serve<S>(
    mut stream: S,
    peer: SocketAddr,
    certificate_subject: Option<String>,
    http2: Http2Handler,
    served: Served,
    share: Share,
    session: Session,
) -> Result<(), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut start = [0u8; HTTP2_PREFACE_START.len()];
    match tokio::time::timeout(served.config.idle_timeout, stream.read_exact(&mut start)).await {
        Ok(Ok(_)) => {}
        // Closed, failed or silent before saying anything: nothing to serve.
        Ok(Err(_)) | Err(_) => return Ok(()),
    }
    let (reader, writer) = tokio::io::split(stream);
    let whole = tokio::io::join(Cursor::new(start).chain(reader), writer);
    if &start == HTTP2_PREFACE_START {
        http2(Box::new(whole), peer, certificate_subject).await;
        Ok(())
    } else {
        connection::serve(whole, served, share, session).await
    }
}
