//! `endure-sim`: Endure under deterministic simulation (DESIGN §7).
//!
//! - [`adapters`]: fault-injecting port adapters — a skewed clock, slow commit
//!   acknowledgements (slow fsync), transports that delay requests or send them twice.
//! - [`invariants`]: checkers run on final histories (shape, exactly-once resolution,
//!   timers never early, signals exactly once, replay determinism, liveness).
//! - [`disk`]: a simulated disk under the real redb store: synced vs unsynced writes, crash
//!   points inside commits, a seeded subset of unsynced writes surviving, EIO on sync.
//!   Its tests (and `history_power_loss`'s) run the store through power lost at every
//!   point of a commit.
//! - [`faults`]: the ordered log of injected faults; [`digest`]: a hash of final histories
//!   plus that log, to check one seed reproduces.
//! - `cluster` (under `--cfg madsim`): engine, worker and client nodes on madsim's network
//!   through the production TCP transport; kill/restart, partitions, one-way clogs, pauses.
//! - `engine_nodes` (under `--cfg madsim`): several engine nodes as a cluster over the
//!   shared in-memory store (`endure_server::storage::NodeStore`: a handle per node that
//!   can be cut off, and the log of accepted writes by node), each behind its own front
//!   door; kill, pause, cut from the store.
//! - `driver` (under `--cfg madsim`): a scenario's client side under engine kills and power
//!   losses, and the retries of starts and results.
//! - `swarm` (under `--cfg madsim`): the fault catalogue and a seed's choice of faults and
//!   knobs.
//! - [`workload`]: random workflow programs from a seed, their interpreter workflow and the
//!   result each must return.
//! - `simulation` (under `--cfg madsim`): the public API — your own workflows and
//!   activities in a simulated deployment under the faults you choose, over many seeds; a
//!   failing seed's report (rerun command, fault log, histories as JSON).
//! - `seeds` (under `--cfg madsim`): runs a scenario per seed on a fresh runtime and prints
//!   the rerun command of a failing seed.

pub mod adapters;
#[cfg(madsim)]
pub mod cluster;
pub mod diagnosis;
pub mod digest;
pub mod disk;
#[cfg(madsim)]
pub mod driver;
#[cfg(madsim)]
pub mod engine_nodes;
pub mod faults;
#[cfg(all(test, not(madsim)))]
mod history_power_loss;
#[cfg(madsim)]
pub mod hostile;
pub mod invariants;
#[cfg(madsim)]
pub mod logging;
#[cfg(madsim)]
pub mod seeds;
#[cfg(madsim)]
pub mod simulation;
#[cfg(madsim)]
pub mod swarm;
pub mod workload;
