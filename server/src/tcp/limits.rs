//! What one TCP server lets its peers make it hold, each limit named with its unit: open
//! connections, a frame's time to arrive, a connection's unsent replies, and the bytes of
//! partial frames across every connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use endure_core::wire::DEFAULT_MAX_FRAME_BYTES;
use endure_net::{Flusher, Outbox, SendError};

/// Default most connections open at once; the next is refused with a reason (below the
/// usual 1,024 open files a process may have, so the server refuses before `accept` fails).
pub const CONNECTIONS_MAX: usize = 900;

/// Default longest a frame may take to arrive once its first byte has: a peer trickling
/// bytes (one every few seconds) cannot hold a partial frame open forever.
pub const FRAME_ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Default most reply bytes one connection may have queued and unsent: a client that stops
/// reading is disconnected instead of growing the server.
pub const OUTGOING_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Default most bytes of partial frames held across every connection: past it, the
/// connection whose frame grows is closed.
pub const PARTIAL_FRAMES_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Bytes a connection reads at a time (its read buffer, held while it waits).
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Limits of a TCP server.
#[derive(Clone, Debug)]
pub struct TcpServerConfig {
    /// The largest frame accepted (and sent), in bytes.
    pub max_frame_bytes: u32,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Calls one connection may have in flight; more are refused with `Unavailable`.
    pub max_calls_per_connection: usize,
    /// The longest a call may run whatever timeout the client asks for.
    pub max_call_timeout: Duration,
    /// Most connections open at once ([`CONNECTIONS_MAX`]).
    pub max_connections: usize,
    /// Longest a frame may take to arrive once begun ([`FRAME_ARRIVAL_TIMEOUT`]).
    pub frame_arrival_timeout: Duration,
    /// Most unsent reply bytes per connection ([`OUTGOING_BYTES_MAX`]).
    pub max_outgoing_bytes: usize,
    /// Most partial-frame bytes across connections ([`PARTIAL_FRAMES_BYTES_MAX`]).
    pub max_partial_frames_bytes: usize,
}

impl Default for TcpServerConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            idle_timeout: Duration::from_secs(60),
            max_calls_per_connection: 1024,
            max_call_timeout: Duration::from_secs(300),
            max_connections: CONNECTIONS_MAX,
            frame_arrival_timeout: FRAME_ARRIVAL_TIMEOUT,
            max_outgoing_bytes: OUTGOING_BYTES_MAX,
            max_partial_frames_bytes: PARTIAL_FRAMES_BYTES_MAX,
        }
    }
}

/// A byte budget shared by every connection (the partial frames).
#[derive(Debug)]
pub(super) struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            max,
        })
    }
}

/// One connection's share of a [`Budget`], given back when dropped.
#[derive(Debug)]
pub(super) struct Share {
    budget: Arc<Budget>,
    held: usize,
}

impl Share {
    pub(super) fn new(budget: &Arc<Budget>) -> Self {
        Self {
            budget: Arc::clone(budget),
            held: 0,
        }
    }

    /// Holds `bytes` now (more or fewer than before); `Err` with the budget's maximum when
    /// growing would pass it (the share then holds what it held).
    pub(super) fn hold(&mut self, bytes: usize) -> Result<(), usize> {
        if bytes > self.held {
            let more = bytes - self.held;
            let before = self.budget.used.fetch_add(more, Ordering::AcqRel);
            if before + more > self.budget.max {
                self.budget.used.fetch_sub(more, Ordering::AcqRel);
                return Err(self.budget.max);
            }
        } else {
            self.budget
                .used
                .fetch_sub(self.held - bytes, Ordering::AcqRel);
        }
        self.held = bytes;
        Ok(())
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// A connection's writing half, as its outbox writes to it.
pub(super) type Sink = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

/// A connection's outgoing frames, bounded in bytes waiting unsent: a frame that would
/// pass the bound is not sent and the connection is told to close. A frame is written by
/// the task that sends it when nothing waits before it ([`Outbox`]).
#[derive(Clone, Debug)]
pub(super) struct Outgoing {
    outbox: Outbox<Sink>,
    overflowed: Arc<tokio::sync::Notify>,
}

impl Outgoing {
    /// Frames to `writer`, at most `max` bytes of them waiting; and the flusher, which the
    /// connection spawns to write what waits.
    pub(super) fn new(writer: Sink, max: usize) -> (Self, Flusher<Sink>) {
        let (outbox, flusher) = Outbox::new(writer, max);
        let outgoing = Self {
            outbox,
            overflowed: Arc::default(),
        };
        (outgoing, flusher)
    }

    /// Sends `frame`; past the bound, drops it and signals [`Self::overflowed`].
    pub(super) fn send(&self, frame: Vec<u8>) {
        match self.outbox.send(frame) {
            Ok(()) => {}
            Err(SendError::Full { .. }) => self.overflowed.notify_one(),
            // The connection is going away; the reader finds out next.
            Err(SendError::Closed) => {}
        }
    }

    /// Sends nothing more: what waits is written, then the stream is shut down.
    pub(super) fn close(&self) {
        self.outbox.close();
    }

    /// Resolves once a frame did not fit (a client not reading its replies).
    pub(super) async fn overflowed(&self) {
        self.overflowed.notified().await;
    }

    /// The bound, in bytes.
    pub(super) fn max(&self) -> usize {
        self.outbox.max_queued_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_hold_within_the_budget_and_give_back_when_dropped() {
        let budget = Budget::new(100);
        let mut first = Share::new(&budget);
        let mut second = Share::new(&budget);
        assert_eq!(first.hold(60), Ok(()));
        assert_eq!(second.hold(50), Err(100), "60 + 50 is past 100");
        assert_eq!(second.hold(40), Ok(()));
        assert_eq!(first.hold(10), Ok(()), "shrinking gives bytes back");
        assert_eq!(second.hold(90), Ok(()));
        drop(second);
        assert_eq!(first.hold(100), Ok(()));
    }

    #[tokio::test]
    async fn a_frame_past_the_outgoing_bound_is_dropped_and_signalled() {
        use tokio::io::AsyncReadExt;
        // A peer that reads nothing: 4 bytes fit in the pipe, then 10 may wait.
        let (writer, mut peer) = tokio::io::duplex(4);
        let (outgoing, flusher) = Outgoing::new(Box::new(writer), 10);
        outgoing.send(vec![1; 6]);
        outgoing.send(vec![2; 6]);
        outgoing.send(vec![9; 6]);
        outgoing.overflowed().await;
        let flushing = tokio::spawn(flusher);
        let mut received = vec![0; 12];
        peer.read_exact(&mut received).await.expect("read");
        assert_eq!(
            received,
            [[1; 6], [2; 6]].concat(),
            "the frame past the bound is dropped"
        );
        outgoing.send(vec![3; 10]);
        let mut received = vec![0; 10];
        peer.read_exact(&mut received).await.expect("read");
        assert_eq!(received, [3; 10]);
        outgoing.close();
        flushing.await.expect("joined").expect("shut down");
    }
}
