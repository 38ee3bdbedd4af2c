//! The redb store's failure handling: panics inside redb caught at every call and at open,
//! redb errors mapped to typed ones, and fail-stop — after an IO error, a panic or a
//! corrupt file structure the cause is logged once and every later call refused with it —
//! and the blocking context redb's calls run on.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use endure_core::storage::StorageError;
use redb::{Database, ReadableDatabase};

use super::redo::RunTable;
use super::run_view::RunView;

use super::commit::checkpoint;
use super::publication::{publish, publish_locked};
use super::{Inner, RedbStorage};

pub(super) fn io(error: impl std::fmt::Display) -> StorageError {
    StorageError::Io(error.to_string())
}

/// Maps a redb error: corruption and a file open elsewhere are typed errors, everything
/// else stops the store.
pub(in crate::storage) fn redb_error(error: impl Into<redb::Error>) -> StorageError {
    match error.into() {
        redb::Error::Corrupted(reason) => StorageError::Corrupt {
            what: THE_FILE.into(),
            reason,
        },
        redb::Error::DatabaseAlreadyOpen => StorageError::InUse,
        other => io(other),
    }
}

/// What a corruption of the file's own structure (not of one record) names.
const THE_FILE: &str = "the database file";

/// Runs `work`, turning a panic inside it (redb reaches an `unreachable!` on a corrupt page)
/// into [`StorageError::Panicked`] instead of unwinding through the caller's task.
pub(in crate::storage) fn guarded<T>(
    work: impl FnOnce() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    std::panic::catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|panic| Err(StorageError::Panicked(crate::panics::message(&*panic))))
}

/// Opens a database through `create`, guarded against panics. A store not closed cleanly
/// (a crash, a power loss) is verified page by page and its allocator state rebuilt by
/// redb before it opens; that is logged, naming `what`.
pub(super) fn open_database(
    cache_bytes: usize,
    what: &str,
    create: impl FnOnce(&mut redb::Builder) -> Result<Database, redb::DatabaseError>,
) -> Result<Database, StorageError> {
    let repaired = Arc::new(AtomicBool::new(false));
    let database = guarded(|| {
        let noted = Arc::clone(&repaired);
        create(
            Database::builder()
                .set_cache_size(cache_bytes)
                .set_repair_callback(move |_| noted.store(true, Ordering::Relaxed)),
        )
        .map_err(redb_error)
    })?;
    if repaired.load(Ordering::Relaxed) {
        tracing::warn!(
            store = what,
            "the store was not closed cleanly: its pages were verified and its free-space map rebuilt"
        );
    }
    Ok(database)
}

impl RedbStorage {
    /// Runs a point read — one key, or one page of a history — right here rather than on
    /// the blocking pool: it takes microseconds (its pages are mostly in redb's cache),
    /// less than the hop to a pool thread and back, whose wake-ups were a sixth of the
    /// engine's CPU under load. Scans and writes go to the pool ([`Self::run`]). An IO
    /// error or a panic stops the store. It reads the last published state, so it is for
    /// what the held commits cannot have changed (a namespace); run rows go through
    /// [`Self::get_latest`] and [`Self::read_run`].
    pub(super) fn read<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.check_running()?;
        self.stop_on_failure(guarded(|| work(self.inner.database()?)))
    }

    /// The value at `key` of `table` as every durable commit left it, made into `T` by
    /// `read` (given `None` if there is none): one key, read in place like [`Self::read`],
    /// from the held commits' overlay if they changed it, else from the last published
    /// state — never waiting for a commit (`publication.rs`).
    pub(super) fn get_latest<T>(
        &self,
        table: RunTable,
        key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.check_running()?;
        self.stop_on_failure(guarded(|| {
            {
                let overlay = self.inner.held.overlay.lock();
                if let Some(value) = overlay.get(table, key) {
                    return read(value);
                }
            }
            let transaction = self.inner.database()?.begin_read().map_err(redb_error)?;
            let table = transaction
                .open_table(super::bytes_table(table))
                .map_err(redb_error)?;
            let value = table.get(key).map_err(redb_error)?;
            read(value.as_ref().map(|value| value.value()))
        }))
    }

    /// Runs a read of run `key`'s rows in `tables` — several keys, read in place like
    /// [`Self::read`] — in one [`RunView`] of them as every durable commit left them, held
    /// commits included, never waiting for a commit nor publishing one.
    pub(super) fn read_run<T>(
        &self,
        key: &[u8],
        tables: &[RunTable],
        work: impl FnOnce(&RunView) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.check_running()?;
        self.stop_on_failure(guarded(|| {
            let database = self.inner.database()?;
            work(&RunView::begin(&self.inner.held, database, key, tables)?)
        }))
    }

    /// Runs a write transaction of its own (a namespace, a shard's lease) on a blocking
    /// context ([`Blocking::Lent`]), the held commits published first and the held
    /// transaction's lock kept until `work` returns: a commit meanwhile would hold a new
    /// transaction open, and `work`'s would wait for it (redb runs one at a time).
    pub(super) async fn run_writing<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.run_inner(Blocking::Lent, move |inner| {
            let mut held = inner.held.transaction.lock();
            publish_locked(&mut held, &inner.held)?;
            work(inner.database()?)
        })
        .await
    }

    /// Runs a scan on a blocking context ([`Blocking::Lent`]), after the held commits are
    /// published (so it sees every durable commit); an IO error or a panic stops the store.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.run_inner(Blocking::Lent, move |inner| {
            publish(&inner.held)?;
            work(inner.database()?)
        })
        .await
    }

    /// [`Self::run`], with the whole store (its commit log too), where `blocking` says.
    pub(super) async fn run_inner<T: Send + 'static>(
        &self,
        blocking: Blocking,
        work: impl FnOnce(&Inner) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.check_running()?;
        let inner = Arc::clone(&self.inner);
        self.stop_on_failure(run_blocking(blocking, move || guarded(|| work(&inner))).await)
    }

    /// Refuses all work once a failure stopped the store (fail-stop).
    fn check_running(&self) -> Result<(), StorageError> {
        if self.inner.stopped.load(Ordering::Acquire) {
            return Err(StorageError::Stopped {
                cause: self.inner.cause.get().cloned().unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Passes `result` on; an IO error, a panic or a corrupt file structure in it stops the
    /// store (a record that does not decode fails only its own call). redb keeps a page it
    /// read in its cache: a bad read would go on failing, or be written back, until the
    /// store is reopened.
    fn stop_on_failure<T>(&self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        match &result {
            Err(error @ (StorageError::Io(_) | StorageError::Panicked(_))) => {
                self.stop(error.to_string());
            }
            Err(error @ StorageError::Corrupt { what, .. }) if what == THE_FILE => {
                self.stop(format!("{error}; the file may be corrupt"));
            }
            _ => {}
        }
        result
    }

    /// Stops the store for `cause`, logging it once (the first cause is the one kept).
    pub(super) fn stop(&self, cause: String) {
        if self.inner.cause.set(cause).is_ok() {
            tracing::error!(
                cause = self.inner.cause.get().map_or("", String::as_str),
                "the store stopped: it refuses every call until the server restarts"
            );
        }
        self.inner.stopped.store(true, Ordering::Release);
    }
}

impl Drop for Inner {
    /// Closes the database, guarded: redb's close may read a corrupt page. (It writes
    /// nothing after a latched IO error or a panic inside a transaction, so a store stopped
    /// by one is left for the next open to recover; it is not leaked, which would keep its
    /// page cache and file for the life of the process.)
    fn drop(&mut self) {
        let Some(database) = self.database.take() else {
            return;
        };
        // A clean close leaves every change in the redb file and the log empty. (A stopped
        // store writes nothing more: the next open replays what the log holds.)
        if let Some(log) = &self.log
            && !self.stopped.load(Ordering::Acquire)
        {
            let closed = guarded(|| checkpoint(&database, log, &self.held));
            if let Err(error) = closed {
                tracing::warn!(%error, "the last checkpoint failed; the next open replays the commit log");
            }
        }
        // A transaction still held (the store stopped, or the checkpoint failed) is dropped
        // before its database: the log keeps its commits.
        let held = self.held.transaction.get_mut().take();
        if std::panic::catch_unwind(AssertUnwindSafe(|| {
            drop(held);
            drop(database);
        }))
        .is_err()
        {
            tracing::error!("closing the store failed inside redb; the next open recovers it");
        }
    }
}

/// Where a piece of synchronous storage work runs on a multi-threaded runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blocking {
    /// Work that may take long — a scan, a checkpoint, a commit of many writes — on this
    /// thread lent by the runtime (`block_in_place`), which first hands this thread's other
    /// tasks to another: a thread wake-up and the runtime's core moving to another thread.
    Lent,
    /// A commit of a write alone (one log record: a page written and `fdatasync`ed, and a
    /// few redb pages), right on this thread: the hand-off `Lent` makes cost 50–60 µs of
    /// each commit on a 2-core VM — a quarter of a one-activity workflow's latency away
    /// from the disk — against one sync's wait, during which the runtime's other threads
    /// run its other tasks.
    InPlace,
}

/// Most threads lent to storage work at once, across the process: two per CPU
/// (`LENT_THREADS_PER_CPU`), and at least four (`LENT_THREADS_MIN`). Each lending
/// hands the runtime's core to another thread, spawned when none is idle; more work at
/// once than the CPUs can run gains nothing but threads (and the memory the allocator
/// keeps for each), so the rest waits for a permit. A runtime that bounds its blocking
/// threads must allow more than this (the CLI's allows twice).
pub fn lent_threads_max() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (LENT_THREADS_PER_CPU * cpus).max(LENT_THREADS_MIN)
}

/// The permits of [`lent_threads_max`].
#[cfg(not(madsim))]
fn lent_threads() -> &'static tokio::sync::Semaphore {
    static LENT: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    LENT.get_or_init(|| tokio::sync::Semaphore::new(lent_threads_max()))
}

/// Threads [`lent_threads_max`] allows at once per CPU.
const LENT_THREADS_PER_CPU: usize = 2;

/// The fewest threads [`lent_threads_max`] allows at once, whatever the CPU count.
const LENT_THREADS_MIN: usize = 4;

/// Runs synchronous storage work (a commit, a scan) without stalling the runtime's other
/// tasks for long: on a multi-threaded runtime in place, as `blocking` says; on tokio's
/// blocking pool under a current-thread runtime, which cannot lend its only thread; inline
/// under madsim, which simulates no threads (so the simulated disk sees the very same
/// calls in a deterministic order).
async fn run_blocking<T: Send + 'static>(
    blocking: Blocking,
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    #[cfg(madsim)]
    {
        let _ = blocking;
        work()
    }
    #[cfg(not(madsim))]
    {
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return match blocking {
                Blocking::InPlace => work(),
                Blocking::Lent => {
                    // The semaphore is never closed; were it, the work would run unbounded.
                    let _lent = lent_threads().acquire().await.ok();
                    tokio::task::block_in_place(work)
                }
            };
        }
        tokio::task::spawn_blocking(work)
            .await
            .map_err(io)
            .and_then(|result| result)
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn no_more_threads_are_lent_at_once_than_the_bound() {
        let directory = tempfile::tempdir().unwrap();
        let store = Arc::new(RedbStorage::open(directory.path().join("lent.redb")).unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let bound = lent_threads().available_permits();
        assert!(bound >= LENT_THREADS_MIN);
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        runtime.block_on(async {
            let scans: Vec<_> = (0..4 * bound)
                .map(|_| {
                    let (store, now, most) =
                        (Arc::clone(&store), Arc::clone(&now), Arc::clone(&most));
                    tokio::spawn(async move {
                        store
                            .run(move |_| {
                                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(at_once, Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_millis(20));
                                now.fetch_sub(1, Ordering::SeqCst);
                                Ok(())
                            })
                            .await
                    })
                })
                .collect();
            for scan in scans {
                scan.await.unwrap().unwrap();
            }
        });
        let most = most.load(Ordering::SeqCst);
        assert!(most <= bound, "{most} lent at once, bound {bound}");
        assert!(most > 1, "lent work still runs side by side");
    }
}
