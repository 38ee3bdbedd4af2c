//! The `endure` binary end to end, in real processes: a dev server, a worker process (this
//! test binary re-run as a worker) and clients (the CLI, and this process).

#![cfg(not(madsim))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod activities;
mod bench;
mod cluster;
mod cluster_grpc;
mod commands;
mod following;
mod kill;
mod metrics;
mod otlp;
mod postgres;
mod processes;
mod profiles;
mod resets;
mod robustness;
mod schedules;
mod search_attributes;
mod security;
mod store_failures;
mod web;
mod worker;
