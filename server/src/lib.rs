//! `endure-server`: the engine runtime that hosts `endure-core`'s machines.
//!
//! It will hold the shards (single-writer actors over cached execution machines), group
//! commit, matching, deadlines and recovery, and the adapters of the ports: redb and
//! in-memory storage, the in-process and TCP transports, the system clock. Nothing is here
//! yet; see the open issues and `ARCHITECTURE.md`.
//!
//! **Architecture invariant:** the runtime talks to the outside only through the ports
//! defined in `endure-core`, so the same code runs on tokio and under madsim.
