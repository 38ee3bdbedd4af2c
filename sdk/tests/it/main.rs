//! The SDK end to end: client, worker and workflow code on the embedded engine (redb).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod quickstart;
// A paused tokio runtime is tokio's, not the simulator's.
#[cfg(not(madsim))]
mod testing;
