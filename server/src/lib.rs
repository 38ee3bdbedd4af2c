//! `endure-server`: the engine runtime that hosts `endure-core`'s machines.
//!
//! It holds the engine ([`engine`]: shards, group commit, matching, deadlines, recovery),
//! the storage adapters of the Storage port ([`storage`]: the redb store and the in-memory
//! model, with the conformance suite every adapter passes), the clocks ([`clock`]) and the
//! server side of the TCP transport ([`tcp`]).
//!
//! **Architecture invariant:** the runtime talks to the outside only through the ports
//! defined in `endure-core`, so the same code runs on tokio and under madsim.

pub mod clock;
pub mod engine;
mod panics;
pub mod security;
pub mod storage;
pub mod tcp;
#[cfg(all(feature = "tls", not(madsim)))]
pub mod tls;
