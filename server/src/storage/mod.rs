//! Adapters of the Storage port (`endure_core::storage::Storage`): [`RedbStorage`], the
//! default, durable file store; [`MemoryStorage`], the reference model; and
//! [`conformance`], the contract both pass.

pub mod conformance;
mod counting;
mod keys;
mod memory;
mod redb_check;
mod redb_store;

pub use counting::{CountingBackend, StorageCounters, StorageCounts};
pub use memory::MemoryStorage;
pub use redb_check::{CheckReport, PROBLEMS_LISTED_MAX, check};
pub use redb_store::RedbStorage;
