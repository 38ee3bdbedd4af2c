//! Counting what a store costs the disk, for benchmarks (`endure bench`): a redb
//! `StorageBackend` wrapper that counts fsyncs and bytes written, beside the store's own
//! count of the write transactions it committed. `durable` in a benchmark's figures is
//! computed from the two: every commit reached the disk only if every commit was followed
//! by an fsync.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{BackendError, StorageBackend};

/// The error of a backend's IO methods.
type BackendIoError = std::io::Error;

/// What a store did to its disk so far.
#[derive(Debug, Default)]
pub struct StorageCounters {
    commits: AtomicU64,
    fsyncs: AtomicU64,
    bytes_written: AtomicU64,
    publications: AtomicU64,
}

/// A reading of [`StorageCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageCounts {
    /// Write transactions committed (workflow writes in groups, namespace writes, run
    /// deletions, shard leases).
    pub commits: u64,
    /// `fsync`/`fdatasync` calls the backend made.
    pub fsyncs: u64,
    /// Bytes the backend wrote.
    pub bytes_written: u64,
    /// Times the store made its held commits visible to reads before a checkpoint would
    /// (a redb commit, not synced: their records were): for a scan, another write
    /// transaction, or past the bytes it may hold (`redb_store/publication.rs`).
    pub publications: u64,
}

impl StorageCounters {
    /// The counts now.
    pub fn read(&self) -> StorageCounts {
        StorageCounts {
            commits: self.commits.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            publications: self.publications.load(Ordering::Relaxed),
        }
    }

    /// Counts one committed write transaction.
    pub(crate) fn commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one publication of held commits.
    pub(crate) fn publication(&self) {
        self.publications.fetch_add(1, Ordering::Relaxed);
    }
}

impl StorageCounts {
    /// Whether every commit was fsync'd (redb syncs at least once per durable commit).
    pub fn durable(&self) -> bool {
        self.fsyncs >= self.commits
    }

    /// The counts since `earlier`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            commits: self.commits - earlier.commits,
            fsyncs: self.fsyncs - earlier.fsyncs,
            bytes_written: self.bytes_written - earlier.bytes_written,
            publications: self.publications - earlier.publications,
        }
    }
}

/// A redb backend that counts the fsyncs and writes of the one it wraps.
#[derive(Debug)]
pub struct CountingBackend<B> {
    inner: B,
    counters: Arc<StorageCounters>,
}

impl<B> CountingBackend<B> {
    /// `inner`, counted into `counters`.
    pub fn new(inner: B, counters: Arc<StorageCounters>) -> Self {
        Self { inner, counters }
    }
}

impl<B: StorageBackend> StorageBackend for CountingBackend<B> {
    fn len(&self) -> Result<u64, BackendIoError> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), BackendIoError> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), BackendIoError> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), BackendIoError> {
        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), BackendIoError> {
        self.counters
            .bytes_written
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), BackendIoError> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}
