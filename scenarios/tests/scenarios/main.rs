//! The named simulation scenarios, one module per scenario and fault, linked into one test
//! binary (a binary per scenario cost a link and ~180 MB of disk each). Run with
//! `RUSTFLAGS="--cfg madsim"` (see `scripts/test`).

#![cfg(madsim)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod async_activities;
mod cancellation;
mod chaos_workers;
mod children;
mod codec;
mod continue_as_new;
mod credentials;
mod deployments;
mod eager_activities;
mod engine_cluster;
mod engine_restart;
mod engine_smoke;
mod external_signals;
mod flaky_network;
mod gateway;
mod headers;
mod limits;
mod local_activities;
mod namespaces;
mod partition;
mod pipelined_writes;
mod power_loss;
mod random_workload;
mod reset;
mod schedules;
mod sessions;
mod sticky_eviction;
mod swarm;
mod timers;
mod updates;
mod with_start;
mod worker_crash;
mod workflow_retry;
