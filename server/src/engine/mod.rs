//! The engine runtime: hosts execution machines behind the Storage and Clock ports.
//!
//! A request travels like this (ARCHITECTURE.md, "A transition from request to commit"):
//! the API call becomes a message to the shard owning the workflow id; the shard applies it
//! to the run's execution machine and sends the resulting conditional write to the group
//! committer; when the write is durable the shard updates its cache, offers new tasks to
//! matching, arms the run's deadline and answers. Pollers take tasks from matching and start
//! them through the same path, so a task is recorded as started before a worker sees it.
//!
//! `runtime` holds the engine handle and its parts; each other module adds one concern's
//! calls (`workflows`, `polling`, `task_results`, `queries`, `reads`, `updates`,
//! `namespaces`, `deletion`) or is one part (`shard`, `matching`, `writer`, `outbox`,
//! `deadlines`, `in_flight`, `closings`). This file only names them.

mod api;
mod closings;
mod cluster;
mod deadlines;
mod deletion;
mod deployments;
mod handlers;
mod in_flight;
pub mod instruments;
mod matching;
mod namespaces;
mod outbox;
mod pollers_seen;
mod polling;
mod queries;
mod reads;
mod runtime;
mod schedules;
mod search_attributes;
mod shard;
mod tally;
mod task_results;
mod transport;
mod updates;
mod version_routing;
mod workflows;
mod writer;

pub use api::*;
pub use cluster::{
    ClusterConfig, ClusterFront, ClusterView, PEER_LINKS_MAX, PeerConnector, Peers, Route,
};
pub use matching::QueuedTask;
pub use runtime::{Engine, EngineConfig};
pub use schedules::SCHEDULES_LIST_MAX;
pub use tally::TallySummary;
pub use transport::InProcessTransport;
