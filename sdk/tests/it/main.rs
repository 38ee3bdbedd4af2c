//! The SDK end to end: client, worker and workflow code on the embedded engine (redb).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod quickstart;
