//! endure-server's integration tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod backpressure;
mod children;
mod cluster;
// These run real processes and build their own runtimes: not under simulation.
mod corrupt_pages;
#[cfg(not(madsim))]
mod crash;
#[cfg(not(madsim))]
mod crash_seed;
mod deadline_race;
#[cfg(not(madsim))]
mod differential;
mod engine;
#[cfg(not(madsim))]
mod engine_crash;
mod handed_over_history;
mod held_history;
mod hooked;
mod namespaces;
mod outbox;
#[cfg(all(feature = "postgres", not(madsim)))]
mod postgres;
#[cfg(all(feature = "postgres", not(madsim)))]
mod postgres_filters;
#[cfg(all(feature = "postgres", not(madsim)))]
mod postgres_restart;
mod requests;
mod reset;
mod retention_outbox;
mod schedule_in_flight;
mod storage;
mod tcp_limits;
mod updates;
