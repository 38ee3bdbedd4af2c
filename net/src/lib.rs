//! Connection plumbing shared by Endure's TCP server and the SDK's client.
//!
//! [`Outbox`] holds a connection's writing half. A frame is written by the task that sends
//! it, at once, when nothing is waiting before it; otherwise it waits, bounded in bytes, for
//! the connection's [`Flusher`]. A reply or request thus reaches the socket without a hop
//! through another task, and a sender cancelled mid-send never leaves half a frame on the
//! wire: sending never awaits.

mod outbox;
#[cfg(madsim)]
pub mod short_writes;

pub use outbox::{Flusher, Outbox, SendError};
