//! `endure-sim`: Endure under deterministic simulation.
//!
//! It will hold the madsim adapters (skewed clock, a simulated disk under the real redb
//! store, fault wrappers), the cluster builder, the random workload generator and the
//! invariant checkers (DESIGN §7). Nothing is here yet; the simulation issues build it.
