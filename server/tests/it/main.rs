//! endure-server's integration tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod crash;
mod differential;
mod engine;
mod storage;
