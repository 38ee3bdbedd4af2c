//! A second protocol on the TCP listener: connections that open with HTTP/2's preface
//! (`PRI * HTTP/2.0…`, what every gRPC client sends first) go to an [`Http2Handler`] —
//! Temporal's gRPC API (`endure-grpc`) — and every other connection to Endure's own
//! protocol, which never starts with those bytes (its first four are a frame's length,
//! and `PRI ` as a length is far past any frame limit).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

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
    let whole = Prefixed {
        start,
        given: 0,
        stream,
    };
    if &start == HTTP2_PREFACE_START {
        http2(Box::new(whole), peer, certificate_subject).await;
        Ok(())
    } else {
        connection::serve(whole, served, share, session).await
    }
}

/// A stream whose first bytes were read to tell its protocol: reads give them back first,
/// then read on; writes go straight through.
struct Prefixed<S> {
    start: [u8; HTTP2_PREFACE_START.len()],
    /// How many of `start` reads have given back.
    given: usize,
    stream: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.given < this.start.len() {
            let rest = &this.start[this.given..];
            let taken = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..taken]);
            this.given += taken;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_bytes_read_to_tell_the_protocol_are_read_again_first() {
        let (mut near, far) = tokio::io::duplex(64);
        let mut far = Prefixed {
            start: *b"abcd",
            given: 0,
            stream: far,
        };
        near.write_all(b"efgh").await.unwrap();
        drop(near.shutdown().await);
        // A reader with room for less than the prefix gets it over two reads.
        let mut two = [0u8; 2];
        far.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"ab");
        let mut rest = Vec::new();
        far.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"cdefgh");
        // Writes reach the other end untouched.
        far.write_all(b"back").await.unwrap();
        let mut back = [0u8; 4];
        near.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    }
}
