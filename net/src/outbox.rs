//! A connection's outgoing frames: written by their sender when the stream is free, else
//! queued (bounded in bytes) for the connection's flusher task.
//!
//! Two locks, so that no one waits on another's system call:
//! - the *queue*'s lock is held only to look and to note (never across a write): which
//!   frames wait, and whether someone holds the stream;
//! - the *stream*'s lock is taken only by whoever claimed the stream under the queue's
//!   lock (a sender writing its frame, or the flusher), so it is never contended.
//!
//! A sender that finds the stream claimed, or frames waiting, queues its frame and goes
//! on: it never blocks its thread behind another's write.
//!
//! Invariants:
//! - frames reach the stream whole and in the order they were accepted: a sender writes
//!   only when nothing is queued, nothing written waits for a flush and no one else holds
//!   the stream, and what it cannot write goes back to the front of the queue;
//! - whoever releases the stream wakes the flusher if anything is left for it (queued
//!   bytes, a flush, the close), so nothing accepted is stranded behind a no-op waker.

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

/// What the senders and the flusher share.
struct Shared<W> {
    queue: Mutex<Queue>,
    /// Locked only by the holder of the stream ([`Queue::busy`]).
    stream: Mutex<W>,
}

/// The sending side of a connection's writing half; clones share it. When the last clone
/// is dropped the outbox closes, as [`Outbox::close`] does.
pub struct Outbox<W> {
    shared: Arc<Shared<W>>,
    /// Shared by the clones only (not the flusher): dropped with the last, it closes.
    _senders: Arc<Senders<W>>,
}

impl<W> Clone for Outbox<W> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            _senders: Arc::clone(&self._senders),
        }
    }
}

impl<W> std::fmt::Debug for Outbox<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.shared.queue.lock();
        f.debug_struct("Outbox")
            .field("queued_frames", &queue.frames.len())
            .field("queued_bytes", &queue.queued_bytes)
            .field("closed", &queue.closed)
            .field("failed", &queue.failed)
            .finish()
    }
}

/// Closes the outbox when the last sender goes.
struct Senders<W>(Arc<Shared<W>>);

impl<W> Drop for Senders<W> {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock();
        queue.closed = true;
        queue.wake_flusher();
    }
}

struct Queue {
    /// Frames accepted and not yet wholly written, oldest first.
    frames: VecDeque<Vec<u8>>,
    /// Bytes of the first queued frame already written.
    front_written: usize,
    /// Bytes in `frames` not yet written.
    queued_bytes: usize,
    /// Most bytes `queued_bytes` may reach.
    max_queued_bytes: usize,
    /// Someone holds the stream (a sender writing its frame, or the flusher): no one else
    /// may write, flush or shut it down.
    busy: bool,
    /// Bytes were written that a flush has not yet pushed out.
    unflushed: bool,
    /// No more frames are accepted; the flusher writes what is queued, then shuts down.
    closed: bool,
    /// The stream failed: nothing more is written.
    failed: bool,
    /// The flusher's waker, from its last poll.
    flusher: Option<Waker>,
}

impl Queue {
    fn wake_flusher(&mut self) {
        if let Some(waker) = self.flusher.take() {
            waker.wake();
        }
    }

    /// Notes the flusher's waker, to be woken when there is work for it.
    fn park_flusher(&mut self, waker: &Waker) {
        match &mut self.flusher {
            Some(parked) => parked.clone_from(waker),
            none => *none = Some(waker.clone()),
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.frames.clear();
        self.queued_bytes = 0;
        self.front_written = 0;
        self.wake_flusher();
    }

    /// Whether the flusher has something to do once the stream is free.
    fn flusher_has_work(&self) -> bool {
        !self.frames.is_empty() || self.unflushed || self.closed || self.failed
    }

    /// Releases the stream; wakes the flusher if something is left for it.
    fn release(&mut self) {
        debug_assert!(self.busy, "released by its holder");
        self.busy = false;
        if self.flusher_has_work() {
            self.wake_flusher();
        }
    }
}

/// What a sender's write of its frame came to.
enum Direct {
    /// Written and flushed.
    Done,
    /// Written; its flush is pending.
    Unflushed,
    /// This many bytes written; the rest waits.
    Partial(usize),
    /// The stream failed.
    Failed,
}

impl<W: AsyncWrite + Unpin> Outbox<W> {
    /// An outbox writing to `writer` that lets at most `max_queued_bytes` wait unsent, and
    /// its flusher, which the caller spawns: it writes what senders could not.
    pub fn new(writer: W, max_queued_bytes: usize) -> (Self, Flusher<W>) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                front_written: 0,
                queued_bytes: 0,
                max_queued_bytes,
                busy: false,
                unflushed: false,
                closed: false,
                failed: false,
                flusher: None,
            }),
            stream: Mutex::new(writer),
        });
        let outbox = Self {
            shared: Arc::clone(&shared),
            _senders: Arc::new(Senders(Arc::clone(&shared))),
        };
        (outbox, Flusher { shared })
    }

    /// Sends one whole frame: written now as far as the stream takes it without waiting,
    /// if no one else holds the stream and nothing waits before it; the rest queued for
    /// the flusher. Never waits, so it cannot be cancelled halfway.
    pub fn send(&self, frame: Vec<u8>) -> Result<(), SendError> {
        {
            let mut queue = self.shared.queue.lock();
            if queue.closed || queue.failed {
                return Err(SendError::Closed);
            }
            if queue.queued_bytes + frame.len() > queue.max_queued_bytes {
                return Err(SendError::Full {
                    max: queue.max_queued_bytes,
                });
            }
            if queue.busy || !queue.frames.is_empty() || queue.unflushed {
                // Behind other bytes: written in its turn, by the flusher.
                queue.queued_bytes += frame.len();
                queue.frames.push_back(frame);
                if !queue.busy {
                    queue.wake_flusher();
                }
                return Ok(());
            }
            queue.busy = true;
        }
        let outcome = self.write_now(&frame);
        let mut queue = self.shared.queue.lock();
        let result = match outcome {
            Direct::Done => Ok(()),
            Direct::Unflushed => {
                queue.unflushed = true;
                Ok(())
            }
            Direct::Partial(written) => {
                // First in line: frames queued meanwhile were accepted after it.
                queue.unflushed |= written > 0;
                queue.front_written = written;
                queue.queued_bytes += frame.len() - written;
                queue.frames.push_front(frame);
                Ok(())
            }
            Direct::Failed => {
                queue.fail();
                Err(SendError::Closed)
            }
        };
        queue.release();
        result
    }

    /// Writes `frame` to the stream its caller holds, polling with a waker that does
    /// nothing: whatever is left (the stream full, a flush pending) goes to the flusher,
    /// which polls again with its own waker.
    fn write_now(&self, frame: &[u8]) -> Direct {
        let mut stream = self.shared.stream.lock();
        let mut cx = Context::from_waker(Waker::noop());
        let mut written = 0;
        while written < frame.len() {
            match poll_write_part(&mut *stream, &mut cx, &frame[written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Direct::Failed,
                Poll::Ready(Ok(bytes)) => written += bytes,
                Poll::Pending => return Direct::Partial(written),
            }
        }
        match Pin::new(&mut *stream).poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => Direct::Done,
            Poll::Ready(Err(_)) => Direct::Failed,
            Poll::Pending => Direct::Unflushed,
        }
    }

    /// The most bytes that may wait unsent, as made.
    pub fn max_queued_bytes(&self) -> usize {
        self.shared.queue.lock().max_queued_bytes
    }

    /// Bytes accepted and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queue.lock().queued_bytes
    }

    /// Accepts no more frames; the flusher writes what is queued, shuts the stream down
    /// and ends.
    pub fn close(&self) {
        let mut queue = self.shared.queue.lock();
        queue.closed = true;
        if !queue.busy {
            queue.wake_flusher();
        }
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

/// What the flusher does next with the stream it holds.
enum Step {
    /// Write the front frame, from this many bytes in.
    Write(Vec<u8>, usize),
    Flush,
    Shutdown,
}

/// Writes what an [`Outbox`]'s senders could not, in order, flushing after; once the
/// outbox is closed (or its last sender dropped) and everything is written, shuts the
/// stream down and ends. Ends with the error if the stream fails (the outbox then refuses
/// frames).
pub struct Flusher<W> {
    shared: Arc<Shared<W>>,
}

impl<W: AsyncWrite + Unpin> Future for Flusher<W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            // Take the stream and the next step under the queue's lock, then let go of it
            // for the system call.
            let step = {
                let mut queue = self.shared.queue.lock();
                if queue.failed {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the connection's stream failed",
                    )));
                }
                let step = if queue.busy {
                    None // its holder wakes this task when it lets go
                } else if let Some(frame) = queue.frames.pop_front() {
                    Some(Step::Write(frame, queue.front_written))
                } else if queue.unflushed {
                    Some(Step::Flush)
                } else if queue.closed {
                    Some(Step::Shutdown)
                } else {
                    None
                };
                match step {
                    Some(step) => {
                        queue.busy = true;
                        step
                    }
                    None => {
                        // Woken by a sender (or the stream's holder) when there is work.
                        queue.park_flusher(cx.waker());
                        return Poll::Pending;
                    }
                }
            };
            let mut stream = self.shared.stream.lock();
            let polled = match &step {
                Step::Write(frame, from) => poll_write_part(&mut *stream, cx, &frame[*from..]).map(
                    |written| match written {
                        Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                        other => other,
                    },
                ),
                Step::Flush => Pin::new(&mut *stream).poll_flush(cx).map_ok(|()| 0),
                Step::Shutdown => Pin::new(&mut *stream).poll_shutdown(cx).map_ok(|()| 0),
            };
            drop(stream);
            let mut queue = self.shared.queue.lock();
            queue.busy = false;
            match (step, polled) {
                (_, Poll::Ready(Err(error))) => {
                    queue.fail();
                    return Poll::Ready(Err(error));
                }
                (Step::Shutdown, Poll::Ready(Ok(_))) => return Poll::Ready(Ok(())),
                (Step::Flush, Poll::Ready(Ok(_))) => queue.unflushed = false,
                (Step::Write(frame, from), Poll::Ready(Ok(written))) => {
                    queue.queued_bytes -= written;
                    queue.unflushed = true;
                    if from + written < frame.len() {
                        queue.front_written = from + written;
                        queue.frames.push_front(frame);
                    } else {
                        queue.front_written = 0;
                    }
                }
                (step, Poll::Pending) => {
                    // The stream wakes this task when it can go on; the frame keeps its
                    // place at the front.
                    if let Step::Write(frame, _) = step {
                        queue.frames.push_front(frame);
                    }
                    queue.park_flusher(cx.waker());
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn senders_on_many_threads_never_tear_or_reorder_their_frames() {
        const SENDERS: u32 = 6;
        const FRAMES: u32 = 1_500;
        // A pipe smaller than many frames: senders write parts, the flusher the rest.
        let (writer, mut reader) = tokio::io::duplex(16 * 1024);
        let (outbox, flusher) = Outbox::new(writer, usize::MAX);
        let flushing = tokio::spawn(flusher);
        let sending: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let outbox = outbox.clone();
                tokio::spawn(async move {
                    for number in 0..FRAMES {
                        // [length: u32][sender: u32][number: u32][filler of the sender's byte]
                        let filler = ((number * 7919 + sender * 104_729) % 9_000) as usize;
                        let length = 8 + filler;
                        let mut frame = Vec::with_capacity(4 + length);
                        frame.extend_from_slice(&(length as u32).to_le_bytes());
                        frame.extend_from_slice(&sender.to_le_bytes());
                        frame.extend_from_slice(&number.to_le_bytes());
                        frame.resize(4 + length, sender as u8);
                        outbox.send(frame).expect("accepted");
                        if number % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        drop(outbox);
        let reading = tokio::spawn(async move {
            let mut next = vec![0u32; SENDERS as usize];
            let mut header = [0u8; 12];
            for _ in 0..SENDERS * FRAMES {
                reader.read_exact(&mut header).await.expect("a header");
                let field = |at: usize| {
                    u32::from_le_bytes(header[at..at + 4].try_into().expect("four bytes"))
                };
                let (length, sender, number) = (field(0) as usize, field(4), field(8));
                assert!(sender < SENDERS, "a torn frame: sender {sender}");
                assert_eq!(number, next[sender as usize], "sender {sender}'s order");
                next[sender as usize] += 1;
                let mut filler = vec![0u8; length - 8];
                reader.read_exact(&mut filler).await.expect("the body");
                assert!(
                    filler.iter().all(|&byte| byte == sender as u8),
                    "a torn body"
                );
            }
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).await.expect("the end");
            assert!(rest.is_empty(), "nothing after the last frame");
        });
        for sender in sending {
            sender.await.expect("sent");
        }
        reading.await.expect("every frame whole and in order");
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
        assert_eq!(
            outbox.shared.stream.lock().written,
            b"onetwo",
            "written in order"
        );
        assert!(outbox.shared.queue.lock().unflushed);
        outbox.shared.stream.lock().flushable = true;
        assert!(poll_once(&mut flusher).is_pending(), "idle, not ended");
        assert!(!outbox.shared.queue.lock().unflushed);
        assert_eq!(outbox.shared.stream.lock().flushes, 1);
        outbox
            .send(b"three".to_vec())
            .expect("written by its sender");
        assert_eq!(outbox.shared.stream.lock().flushes, 2);
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
        outbox.shared.stream.lock().broken = true;
        outbox.shared.stream.lock().room = 10;
        assert!(matches!(poll_once(&mut flusher), Poll::Ready(Err(_))));
        assert_eq!(outbox.send(b"e".to_vec()), Err(SendError::Closed));
        assert_eq!(outbox.queued_bytes(), 0, "what was queued is dropped");
        assert_eq!(outbox.shared.stream.lock().written, b"ab");
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
