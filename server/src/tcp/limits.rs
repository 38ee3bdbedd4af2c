//! What one TCP server lets its peers make it hold, each limit named with its unit: open
//! connections, a frame's time to arrive, a connection's unsent replies, and the bytes of
//! partial frames across every connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use endure_core::wire::DEFAULT_MAX_FRAME_BYTES;

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

/// A connection's queue of encoded frames to send, bounded in bytes: a frame that would
/// pass the bound is not queued and the connection is told to close.
#[derive(Clone, Debug)]
pub(super) struct Outgoing {
    sender: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    max: usize,
    overflowed: Arc<tokio::sync::Notify>,
}

impl Outgoing {
    /// A queue of at most `max` bytes, and the receiving end for the writer.
    pub(super) fn new(max: usize) -> (Self, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let queue = Self {
            sender,
            queued: Arc::default(),
            max,
            overflowed: Arc::default(),
        };
        (queue, receiver)
    }

    /// Queues `frame`; past the bound, drops it and signals [`Self::overflowed`].
    pub(super) fn send(&self, frame: Vec<u8>) {
        let length = frame.len();
        let before = self.queued.fetch_add(length, Ordering::AcqRel);
        if before + length > self.max {
            self.queued.fetch_sub(length, Ordering::AcqRel);
            self.overflowed.notify_one();
            return;
        }
        // A closed writer means the connection is going away; the reader finds out next.
        if self.sender.send(frame).is_err() {
            self.queued.fetch_sub(length, Ordering::AcqRel);
        }
    }

    /// What the writer tells the queue as it sends (without holding the queue open).
    pub(super) fn written(&self) -> Written {
        Written(Arc::clone(&self.queued))
    }

    /// Resolves once a frame did not fit (a client not reading its replies).
    pub(super) async fn overflowed(&self) {
        self.overflowed.notified().await;
    }

    /// The bound, in bytes.
    pub(super) fn max(&self) -> usize {
        self.max
    }
}

/// The writer's side of an [`Outgoing`] queue: counts the bytes sent. It holds no sender,
/// so the queue closes when the connection drops its handles.
#[derive(Debug)]
pub(super) struct Written(Arc<AtomicUsize>);

impl Written {
    /// The writer sent `length` bytes of a frame taken from the queue.
    pub(super) fn sent(&self, length: usize) {
        self.0.fetch_sub(length, Ordering::AcqRel);
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
        let (outgoing, mut receiver) = Outgoing::new(10);
        outgoing.send(vec![0; 6]);
        outgoing.send(vec![0; 6]);
        outgoing.overflowed().await;
        assert_eq!(receiver.recv().await.map(|frame| frame.len()), Some(6));
        outgoing.written().sent(6);
        outgoing.send(vec![0; 10]);
        assert_eq!(receiver.recv().await.map(|frame| frame.len()), Some(10));
    }
}
