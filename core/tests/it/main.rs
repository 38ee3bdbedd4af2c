//! endure-core's integration tests: golden files of the codec, the fuzz corpus, and the
//! workspace's tidy checks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod access;
mod corpus;
mod golden;
mod history_pages;
mod protocol_frames;
mod replay_programs;
mod replay_updates;
mod samples;
mod schema;
mod tidy;
