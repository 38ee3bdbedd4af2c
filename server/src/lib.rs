//! `endure-server`: the engine runtime that hosts `endure-core`'s machines.
//!
//! Today it holds the storage adapters of the Storage port ([`storage`]): the redb store
//! and the in-memory model, with the conformance suite every adapter passes. The shards,
//! group commit, matching, deadlines and recovery come with the runtime issue.
//!
//! **Architecture invariant:** the runtime talks to the outside only through the ports
//! defined in `endure-core`, so the same code runs on tokio and under madsim.

pub mod clock;
pub mod engine;
pub mod storage;
