//! Adapters of the Storage port (`endure_core::storage::Storage`): [`RedbStorage`], the
//! default, durable file store; `PostgresStorage` (feature `postgres`), for deployments that
//! outgrow one file; [`MemoryStorage`], the reference model; and [`conformance`], the
//! contract all of them pass.

pub mod conformance;
mod counting;
mod keys;
mod memory;
#[cfg(all(feature = "postgres", not(madsim)))]
pub mod postgres;
mod redb_check;
mod redb_store;
mod shared;

pub use counting::{CountingBackend, StorageCounters, StorageCounts};
pub use memory::{MemoryStorage, StoreClock};
#[cfg(all(feature = "postgres", not(madsim)))]
pub use postgres::{PostgresCounts, PostgresOptions, PostgresStorage};
pub use redb_check::{CheckReport, PROBLEMS_LISTED_MAX, check};
pub use redb_store::{RedbStorage, WalConfig, lent_threads_max, rewrite_in_older_layout, wal_path};
pub use shared::{CommitLog, NodeStore};
