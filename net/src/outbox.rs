//! A connection's outgoing frames: written by their sender when the stream is free, else
//! queued (bounded in bytes) for the connection's flusher task.
//!
//! Invariants, under the one lock:
//! - frames reach the stream whole and in the order they were accepted: a sender writes
//!   only when nothing is queued and nothing written is waiting for a flush, so it never
//!   writes between the bytes of another frame;
//! - the flusher is woken whenever something is left for it (queued bytes, a flush, the
//!   close), so nothing accepted is stranded behind a no-op waker.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use tokio::io::AsyncWrite;

/// Why a frame was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The outbox was closed, or its stream failed: the connection is going away.
    #[error("the connection is closed")]
    Closed,
    /// Accepting the frame would pass the bound on queued bytes: the peer is not reading.
    #[error("more than {max} bytes would wait unsent")]
    Full {
        /// The bound, in bytes.
        max: usize,
    },
}

/// The sending side of a connection's writing half; clones share it. When the last clone
/// is dropped the outbox closes, as [`Outbox::close`] does.
pub struct Outbox<W> {
    state: Arc<Mutex<State<W>>>,
    /// Shared by the clones only (not the flusher): dropped with the last, it closes.
    _senders: Arc<Senders<W>>,
}

impl<W> Clone for Outbox<W> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            _senders: Arc::clone(&self._senders),
        }
    }
}

/// Closes the outbox when the last sender goes.
struct Senders<W>(Arc<Mutex<State<W>>>);

impl<W> Drop for Senders<W> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.closed = true;
        state.wake_flusher();
    }
}

impl<W> std::fmt::Debug for Outbox<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Outbox")
            .field("queued_frames", &state.queue.len())
            .field("queued_bytes", &state.queued_bytes)
            .field("closed", &state.closed)
            .field("failed", &state.failed)
            .finish()
    }
}

struct State<W> {
    writer: W,
    /// Frames accepted and not yet wholly written, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// Bytes of the first queued frame already written.
    front_written: usize,
    /// Bytes in `queue` not yet written.
    queued_bytes: usize,
    /// Most bytes `queued_bytes` may reach.
    max_queued_bytes: usize,
    /// Bytes were written that a flush has not yet pushed out.
    unflushed: bool,
    /// No more frames are accepted; the flusher writes what is queued, then shuts down.
    closed: bool,
    /// The stream failed: nothing more is written.
    failed: bool,
    /// The flusher's waker, from its last poll.
    flusher: Option<Waker>,
}

impl<W> State<W> {
    fn wake_flusher(&mut self) {
        if let Some(waker) = self.flusher.take() {
            waker.wake();
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.queue.clear();
        self.queued_bytes = 0;
        self.front_written = 0;
        self.wake_flusher();
    }
}

impl<W: AsyncWrite + Unpin> Outbox<W> {
    /// An outbox writing to `writer` that lets at most `max_queued_bytes` wait unsent, and
    /// its flusher, which the caller spawns: it writes what senders could not.
    pub fn new(writer: W, max_queued_bytes: usize) -> (Self, Flusher<W>) {
        let state = Arc::new(Mutex::new(State {
            writer,
            queue: VecDeque::new(),
            front_written: 0,
            queued_bytes: 0,
            max_queued_bytes,
            unflushed: false,
            closed: false,
            failed: false,
            flusher: None,
        }));
        let outbox = Self {
            state: Arc::clone(&state),
            _senders: Arc::new(Senders(Arc::clone(&state))),
        };
        (outbox, Flusher { state })
    }

    /// Sends one whole frame: written now as far as the stream takes it without waiting,
    /// the rest queued for the flusher. Never waits, so it cannot be cancelled halfway.
    pub fn send(&self, frame: Vec<u8>) -> Result<(), SendError> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if state.closed || state.failed {
            return Err(SendError::Closed);
        }
        if state.queued_bytes + frame.len() > state.max_queued_bytes {
            return Err(SendError::Full {
                max: state.max_queued_bytes,
            });
        }
        if !state.queue.is_empty() || state.unflushed {
            // Behind other bytes: the flusher writes it in its turn.
            state.queued_bytes += frame.len();
            state.queue.push_back(frame);
            state.wake_flusher();
            return Ok(());
        }
        // The stream is free: write now, polling with a waker that does nothing. Whatever
        // is left (the stream full, a flush pending) goes to the flusher, which polls
        // again with its own waker.
        let mut cx = Context::from_waker(Waker::noop());
        let mut written = 0;
        while written < frame.len() {
            match poll_write_part(&mut state.writer, &mut cx, &frame[written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    state.fail();
                    return Err(SendError::Closed);
                }
                Poll::Ready(Ok(bytes)) => written += bytes,
                Poll::Pending => break,
            }
        }
        if written == frame.len() {
            match Pin::new(&mut state.writer).poll_flush(&mut cx) {
                Poll::Ready(Ok(())) => return Ok(()),
                Poll::Ready(Err(_)) => {
                    state.fail();
                    return Err(SendError::Closed);
                }
                Poll::Pending => state.unflushed = true,
            }
        } else {
            state.unflushed |= written > 0;
            state.front_written = written;
            state.queued_bytes += frame.len() - written;
            state.queue.push_back(frame);
        }
        state.wake_flusher();
        Ok(())
    }

    /// Bytes accepted and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.state.lock().queued_bytes
    }

    /// Accepts no more frames; the flusher writes what is queued, shuts the stream down
    /// and ends.
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.wake_flusher();
    }
}

/// Writes `bytes`, or their first part, to `writer`. Under the simulator with short writes
/// on ([`crate::short_writes`]) the stream takes a random part of them, or none for now
/// (then it wakes the task at once, as a socket whose buffer drains would soon).
fn poll_write_part<W: AsyncWrite + Unpin>(
    writer: &mut W,
    cx: &mut Context<'_>,
    bytes: &[u8],
) -> Poll<io::Result<usize>> {
    #[cfg(madsim)]
    let bytes = match crate::short_writes::allowance(bytes.len()) {
        0 => {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        allowed => &bytes[..allowed],
    };
    Pin::new(writer).poll_write(cx, bytes)
}

/// Writes what an [`Outbox`]'s senders could not, in order, flushing after; once the
/// outbox is closed (or its last sender dropped) and everything is written, shuts the
/// stream down and ends. Ends with
/// the error if the stream fails (the outbox then refuses frames).
pub struct Flusher<W> {
    state: Arc<Mutex<State<W>>>,
}

impl<W: AsyncWrite + Unpin> Future for Flusher<W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        loop {
            if state.failed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the connection's stream failed",
                )));
            }
            let progress = if let Some(front) = state.queue.front() {
                match poll_write_part(&mut state.writer, cx, &front[state.front_written..]) {
                    Poll::Ready(Ok(0)) => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(bytes)) => {
                        state.front_written += bytes;
                        state.queued_bytes -= bytes;
                        state.unflushed = true;
                        if state.front_written == front.len() {
                            state.queue.pop_front();
                            state.front_written = 0;
                        }
                        Poll::Ready(Ok(()))
                    }
                    other => other.map_ok(|_| ()),
                }
            } else if state.unflushed {
                let flushed = Pin::new(&mut state.writer).poll_flush(cx);
                if let Poll::Ready(Ok(())) = flushed {
                    state.unflushed = false;
                }
                flushed
            } else if state.closed {
                return Pin::new(&mut state.writer).poll_shutdown(cx);
            } else {
                Poll::Pending
            };
            match progress {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(error)) => {
                    state.fail();
                    return Poll::Ready(Err(error));
                }
                Poll::Pending => {
                    // Woken by the stream or by a sender, whichever has something first.
                    match &mut state.flusher {
                        Some(waker) => waker.clone_from(cx.waker()),
                        none => *none = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// Reads exactly `length` bytes from `reader`.
    async fn read(reader: &mut (impl tokio::io::AsyncRead + Unpin), length: usize) -> Vec<u8> {
        let mut bytes = vec![0; length];
        reader.read_exact(&mut bytes).await.expect("read");
        bytes
    }

    #[tokio::test]
    async fn a_free_stream_takes_the_frame_from_its_sender_without_the_flusher() {
        let (writer, mut reader) = tokio::io::duplex(1024);
        let (outbox, _flusher) = Outbox::new(writer, 100);
        outbox.send(b"hello".to_vec()).expect("sent");
        outbox.send(b" world".to_vec()).expect("sent");
        assert_eq!(outbox.queued_bytes(), 0);
        // The flusher was never polled: the senders wrote.
        assert_eq!(read(&mut reader, 11).await, b"hello world");
    }

    #[tokio::test]
    async fn what_a_full_stream_cannot_take_waits_in_order_for_the_flusher() {
        let (writer, mut reader) = tokio::io::duplex(8);
        let (outbox, flusher) = Outbox::new(writer, 100);
        outbox.send(b"0123456789".to_vec()).expect("sent");
        // 8 bytes fit; the rest waits, and so does every later frame.
        assert_eq!(outbox.queued_bytes(), 2);
        outbox.send(b"abcdef".to_vec()).expect("sent");
        assert_eq!(outbox.queued_bytes(), 8);
        let flushing = tokio::spawn(flusher);
        assert_eq!(read(&mut reader, 16).await, b"0123456789abcdef");
        // Free again: the next frame is written by its sender.
        outbox.send(b"xy".to_vec()).expect("sent");
        assert_eq!(read(&mut reader, 2).await, b"xy");
        outbox.close();
        flushing.await.expect("joined").expect("shut down cleanly");
        assert_eq!(reader.read(&mut [0; 1]).await.expect("eof"), 0, "shut down");
    }

    #[tokio::test]
    async fn past_the_bound_a_frame_is_refused_and_nothing_accepted_is_lost() {
        let (writer, mut reader) = tokio::io::duplex(4);
        let (outbox, flusher) = Outbox::new(writer, 10);
        outbox
            .send(b"aaaaaa".to_vec())
            .expect("4 written, 2 queued");
        outbox.send(b"bbbbbbbb".to_vec()).expect("10 queued");
        assert_eq!(outbox.queued_bytes(), 10);
        assert_eq!(
            outbox.send(b"c".to_vec()),
            Err(SendError::Full { max: 10 }),
            "the peer reads nothing"
        );
        let flushing = tokio::spawn(flusher);
        assert_eq!(read(&mut reader, 14).await, b"aaaaaabbbbbbbb");
        outbox.send(b"c".to_vec()).expect("room again");
        assert_eq!(read(&mut reader, 1).await, b"c");
        // Closing writes what is queued first.
        outbox.send(b"last".to_vec()).expect("sent");
        outbox.close();
        assert_eq!(outbox.send(b"late".to_vec()), Err(SendError::Closed));
        assert_eq!(read(&mut reader, 4).await, b"last");
        flushing.await.expect("joined").expect("shut down cleanly");
    }

    /// A stream that takes at most `room` bytes before it is full, fails when told, and
    /// whose flushes are pending until `flushable`.
    #[derive(Default)]
    struct Scripted {
        written: Vec<u8>,
        room: usize,
        flushable: bool,
        broken: bool,
        flushes: usize,
    }

    impl AsyncWrite for Scripted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.broken {
                return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
            }
            let taken = bytes.len().min(self.room);
            if taken == 0 {
                return Poll::Pending;
            }
            self.room -= taken;
            self.written.extend_from_slice(&bytes[..taken]);
            Poll::Ready(Ok(taken))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            if !self.flushable {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.flushes += 1;
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn poll_once<W: AsyncWrite + Unpin>(flusher: &mut Flusher<W>) -> Poll<io::Result<()>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(flusher).poll(&mut cx)
    }

    #[test]
    fn a_pending_flush_is_finished_by_the_flusher_before_later_frames_go_out() {
        let stream = Scripted {
            room: 100,
            ..Scripted::default()
        };
        let (outbox, mut flusher) = Outbox::new(stream, 100);
        outbox.send(b"one".to_vec()).expect("sent");
        // Written, but its flush is pending: the next frame waits behind it.
        outbox.send(b"two".to_vec()).expect("queued");
        assert_eq!(outbox.queued_bytes(), 3);
        assert!(poll_once(&mut flusher).is_pending());
        let state = outbox.state.lock();
        assert_eq!(state.writer.written, b"onetwo", "written in order");
        assert!(state.unflushed);
        drop(state);
        outbox.state.lock().writer.flushable = true;
        assert!(poll_once(&mut flusher).is_pending(), "idle, not ended");
        let state = outbox.state.lock();
        assert!(!state.unflushed);
        assert_eq!(state.writer.flushes, 1);
        drop(state);
        outbox
            .send(b"three".to_vec())
            .expect("written by its sender");
        assert_eq!(outbox.state.lock().writer.flushes, 2);
        outbox.close();
        assert!(matches!(poll_once(&mut flusher), Poll::Ready(Ok(()))));
    }

    #[tokio::test]
    async fn the_flusher_ends_when_the_last_sender_is_dropped() {
        let (writer, mut reader) = tokio::io::duplex(4);
        let (outbox, flusher) = Outbox::new(writer, 100);
        let second = outbox.clone();
        outbox.send(b"abcdef".to_vec()).expect("sent");
        drop(outbox);
        let flushing = tokio::spawn(flusher);
        second.send(b"gh".to_vec()).expect("one sender is left");
        drop(second);
        // What was sent is written first, then the stream is shut down.
        let mut received = Vec::new();
        reader.read_to_end(&mut received).await.expect("read");
        assert_eq!(received, b"abcdefgh");
        flushing.await.expect("joined").expect("shut down cleanly");
    }

    #[test]
    fn a_failed_stream_refuses_frames_and_ends_the_flusher_with_its_error() {
        let stream = Scripted {
            room: 2,
            flushable: true,
            ..Scripted::default()
        };
        let (outbox, mut flusher) = Outbox::new(stream, 100);
        outbox.send(b"abcd".to_vec()).expect("2 written, 2 queued");
        outbox.state.lock().writer.broken = true;
        outbox.state.lock().writer.room = 10;
        assert!(matches!(poll_once(&mut flusher), Poll::Ready(Err(_))));
        assert_eq!(outbox.send(b"e".to_vec()), Err(SendError::Closed));
        assert_eq!(outbox.queued_bytes(), 0, "what was queued is dropped");
        assert_eq!(outbox.state.lock().writer.written, b"ab");
    }

    #[test]
    fn a_sender_that_meets_a_failed_stream_is_told_the_connection_closed() {
        let stream = Scripted {
            room: 10,
            flushable: true,
            broken: true,
            ..Scripted::default()
        };
        let (outbox, mut flusher) = Outbox::new(stream, 100);
        assert_eq!(outbox.send(b"a".to_vec()), Err(SendError::Closed));
        assert!(matches!(poll_once(&mut flusher), Poll::Ready(Err(_))));
    }
}
