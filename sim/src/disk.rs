//! A simulated disk under the real redb store (DESIGN §7): it keeps what was synced apart
//! from what was only written, and a power loss keeps the synced bytes plus a seeded random
//! subset of the unsynced writes — the reordering a real disk's cache allows. It holds two
//! files, the store's and its write-ahead log's ([`SimDisk::wal_backend`]); a sync makes
//! durable the writes of its own file only, and the crash points count the operations of
//! both.
//!
//! Faults: a crash point after the k-th write or sync from now (inside a commit, where a
//! madsim kill cannot land); an explicit crash; EIO on the next sync. A crash *fences* the
//! disk first — every later operation fails — so the store's `Drop` cannot finish a commit
//! and turn the crash into a clean shutdown; then the node is killed and the disk
//! [recovered](SimDisk::recover) before the engine reopens it.

use std::fmt;
use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

/// One write or resize not yet synced.
#[derive(Clone, Debug)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// Where the next crash happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// Right after the k-th write from when it was armed (that write is unsynced).
    AfterWrite(u64),
    /// Right after the k-th sync from when it was armed (that sync completed).
    AfterSync(u64),
}

impl CrashPoint {
    /// A point inside one of the next commits, drawn from `rng`: after one of its first
    /// five writes or after one of its first two syncs, evenly.
    pub fn random(rng: &mut impl madsim::rand::Rng) -> Self {
        if rng.gen_bool(0.5) {
            Self::AfterWrite(rng.gen_range(1..6))
        } else {
            Self::AfterSync(rng.gen_range(1..3))
        }
    }
}

/// One file on the disk.
#[derive(Debug, Default)]
struct File {
    /// What reads see: synced bytes with the pending writes applied.
    current: Vec<u8>,
    /// What the last successful sync made durable.
    durable: Vec<u8>,
    /// Unsynced operations, in order.
    pending: Vec<Pending>,
}

/// The store's file.
const STORE: usize = 0;
/// The write-ahead log's file.
const WAL: usize = 1;

#[derive(Debug)]
struct State {
    /// The store's file and the log's.
    files: [File; 2],
    /// Every operation fails until recovered.
    crashed: bool,
    /// Backends of older generations (before a recovery) fail every operation.
    generation: u64,
    armed: Option<CrashPoint>,
    fail_next_sync: bool,
    /// The next read of a page (past the file header) returns garbage.
    corrupt_next_read: bool,
    corrupt_reads: u64,
    writes: u64,
    syncs: u64,
    crashes: u64,
    sync_failures: u64,
    rng: u64,
}

/// A simulated disk holding one redb file; clones share it (it outlives node restarts).
#[derive(Clone, Debug)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

/// The redb backend of one file of one generation of a [`SimDisk`].
pub struct SimDiskBackend {
    state: Arc<Mutex<State>>,
    generation: u64,
    file: usize,
}

impl fmt::Debug for SimDiskBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimDiskBackend(generation {})", self.generation)
    }
}

/// redb's page size: reads at or past it are of pages, before it of the file header.
const PAGE_BYTES: u64 = 4096;

fn power_lost() -> io::Error {
    io::Error::other("simulated power loss: the disk is gone until recovered")
}

fn apply(image: &mut Vec<u8>, operation: &Pending) {
    match operation {
        Pending::Write { offset, data } => {
            let start = *offset as usize;
            let end = start + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(data);
        }
        Pending::SetLen(len) => image.resize(*len as usize, 0),
    }
}

impl SimDisk {
    /// An empty disk; `seed` chooses which unsynced writes survive crashes.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                files: [File::default(), File::default()],
                crashed: false,
                generation: 0,
                armed: None,
                fail_next_sync: false,
                corrupt_next_read: false,
                corrupt_reads: 0,
                writes: 0,
                syncs: 0,
                crashes: 0,
                sync_failures: 0,
                rng: seed | 1,
            })),
        }
    }

    /// The next read of a page past the file header fails as a corrupt sector does on a
    /// device that checks its sectors (EIO); the disk itself keeps the right bytes. (Garbage
    /// served as data is not simulated: redb does not checksum what it reads, so a store on
    /// a device that returns wrong bytes silently can be damaged beyond what the engine can
    /// detect — swarm seed 2 showed a bad read during a repair persisted.)
    pub fn corrupt_next_read(&self) {
        self.state.lock().corrupt_next_read = true;
    }

    /// Withdraws a corrupt read not yet served; returns whether one was pending.
    pub fn disarm_corrupt_read(&self) -> bool {
        std::mem::take(&mut self.state.lock().corrupt_next_read)
    }

    /// Reads served corrupt so far.
    pub fn corrupt_reads(&self) -> u64 {
        self.state.lock().corrupt_reads
    }

    /// A backend for opening the store on the disk as it is now.
    pub fn backend(&self) -> SimDiskBackend {
        self.file_backend(STORE)
    }

    /// A backend for the store's write-ahead log, on the disk as it is now.
    pub fn wal_backend(&self) -> SimDiskBackend {
        self.file_backend(WAL)
    }

    fn file_backend(&self, file: usize) -> SimDiskBackend {
        SimDiskBackend {
            state: Arc::clone(&self.state),
            generation: self.state.lock().generation,
            file,
        }
    }

    /// Arms a crash at `point`, counted from now.
    pub fn crash_at(&self, point: CrashPoint) {
        let mut state = self.state.lock();
        state.armed = Some(match point {
            CrashPoint::AfterWrite(k) => CrashPoint::AfterWrite(state.writes + k),
            CrashPoint::AfterSync(k) => CrashPoint::AfterSync(state.syncs + k),
        });
    }

    /// Loses power now: the disk is fenced until recovered.
    pub fn crash(&self) {
        let mut state = self.state.lock();
        if !state.crashed {
            state.crashed = true;
            state.crashes += 1;
        }
    }

    /// Makes the next sync fail with an IO error (EIO); what it was syncing stays unsynced.
    pub fn fail_next_sync(&self) {
        self.state.lock().fail_next_sync = true;
    }

    /// Whether the disk has lost power and not yet been recovered.
    pub fn is_crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// How many syncs failed with EIO.
    pub fn sync_failures(&self) -> u64 {
        self.state.lock().sync_failures
    }

    /// How many times power was lost.
    pub fn crashes(&self) -> u64 {
        self.state.lock().crashes
    }

    /// Power comes back: the durable bytes plus a seeded random subset of the unsynced
    /// operations (each kept or lost independently, applied in their order). Backends of
    /// earlier generations stay fenced.
    pub fn recover(&self) {
        let mut state = self.state.lock();
        let mut rng = state.rng;
        for file in &mut state.files {
            let mut image = std::mem::take(&mut file.durable);
            for operation in std::mem::take(&mut file.pending) {
                // xorshift64: deterministic per seed.
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if rng & 1 == 1 {
                    apply(&mut image, &operation);
                }
            }
            file.current = image.clone();
            file.durable = image;
        }
        state.rng = rng;
        state.crashed = false;
        state.armed = None;
        state.fail_next_sync = false;
        state.generation += 1;
    }
}

impl SimDiskBackend {
    fn live(&self) -> io::Result<parking_lot::MutexGuard<'_, State>> {
        let state = self.state.lock();
        if state.crashed || state.generation != self.generation {
            return Err(power_lost());
        }
        Ok(state)
    }
}

impl redb::StorageBackend for SimDiskBackend {
    fn len(&self) -> io::Result<u64> {
        Ok(self.live()?.files[self.file].current.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let mut state = self.live()?;
        if state.corrupt_next_read && self.file == STORE && offset >= PAGE_BYTES {
            state.corrupt_next_read = false;
            state.corrupt_reads += 1;
            out.fill(0xff);
            return Err(io::Error::other(
                "simulated unreadable page (the device's sector check failed)",
            ));
        }
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start
            .checked_add(out.len())
            .filter(|end| *end <= state.files[self.file].current.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(&state.files[self.file].current[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.live()?;
        let operation = Pending::SetLen(len);
        let file = &mut state.files[self.file];
        apply(&mut file.current, &operation);
        file.pending.push(operation);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut state = self.live()?;
        if state.fail_next_sync {
            state.fail_next_sync = false;
            state.sync_failures += 1;
            return Err(io::Error::other("simulated EIO on fsync"));
        }
        state.syncs += 1;
        // The file's pending operations reach its durable image (no copy of the whole file:
        // the log is synced at every commit).
        let file = &mut state.files[self.file];
        for operation in std::mem::take(&mut file.pending) {
            apply(&mut file.durable, &operation);
        }
        if state.armed == Some(CrashPoint::AfterSync(state.syncs)) {
            state.crashed = true;
            state.crashes += 1;
        }
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.live()?;
        state.writes += 1;
        let operation = Pending::Write {
            offset,
            data: data.to_vec(),
        };
        let file = &mut state.files[self.file];
        apply(&mut file.current, &operation);
        file.pending.push(operation);
        if state.armed == Some(CrashPoint::AfterWrite(state.writes)) {
            state.crashed = true;
            state.crashes += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

    use super::*;

    const TABLE: TableDefinition<'_, u64, u64> = TableDefinition::new("t");

    fn open(disk: &SimDisk) -> Result<Database, redb::DatabaseError> {
        Database::builder().create_with_backend(disk.backend())
    }

    fn put(database: &Database, key: u64) -> Result<(), redb::Error> {
        let transaction = database.begin_write()?;
        transaction.open_table(TABLE)?.insert(key, key * 10)?;
        transaction.commit()?;
        Ok(())
    }

    fn keys(database: &Database) -> Vec<u64> {
        let transaction = database.begin_read().unwrap();
        let Ok(table) = transaction.open_table(TABLE) else {
            return Vec::new();
        };
        table
            .iter()
            .unwrap()
            .map(|entry| entry.unwrap().0.value())
            .collect()
    }

    #[test]
    fn synced_commits_survive_a_crash_and_unsynced_state_never_corrupts_the_store() {
        for seed in 1..40u64 {
            for crash_after in 1..8u64 {
                let disk = SimDisk::new(seed);
                let database = open(&disk).unwrap();
                put(&database, 1).unwrap();
                put(&database, 2).unwrap();
                disk.crash_at(CrashPoint::AfterWrite(crash_after));
                // The crash lands inside one of these commits (or after them).
                let third = put(&database, 3);
                let fourth = put(&database, 4);
                disk.crash();
                drop(database);
                disk.recover();
                let reopened = open(&disk).unwrap_or_else(|error| {
                    panic!("seed {seed}, crash after {crash_after} writes: {error}")
                });
                let keys = keys(&reopened);
                // Acknowledged commits survive; nothing appears half-written.
                assert!(keys.starts_with(&[1, 2]), "seed {seed}: {keys:?}");
                if third.is_ok() && fourth.is_ok() {
                    assert_eq!(keys, [1, 2, 3, 4], "seed {seed}");
                }
                assert!(
                    keys == [1, 2] || keys == [1, 2, 3] || keys == [1, 2, 3, 4],
                    "seed {seed}: {keys:?}"
                );
            }
        }
    }

    /// The real store with its write-ahead log on the disk, the log small enough that a
    /// checkpoint comes every few commits: power is lost at every point of the operations
    /// of a few commits (log appends, checkpoints, replays), and the store reopens with every
    /// acknowledged run whole and no run in part.
    #[cfg(not(madsim))]
    #[test]
    fn the_stores_log_keeps_every_acknowledged_commit_through_power_losses() {
        use endure_core::storage::{ShardId, Storage};
        use endure_server::storage::conformance::{numbered_presence, numbered_write};
        use endure_server::storage::{RedbStorage, WalConfig};

        const WAL: WalConfig = WalConfig {
            capacity_bytes: 16 << 10,
            checkpoint_bytes: 4 << 10,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let open = |disk: &SimDisk| {
            RedbStorage::with_backends(disk.backend(), disk.wal_backend(), WAL)
                .unwrap_or_else(|error| panic!("the store reopens on what the disk kept: {error}"))
        };
        runtime.block_on(async {
            for seed in 1..12_u64 {
                for point in (1..8)
                    .map(CrashPoint::AfterWrite)
                    .chain((1..4).map(CrashPoint::AfterSync))
                {
                    let disk = SimDisk::new(seed);
                    // Whether each numbered run (from 1) was acknowledged.
                    let mut acknowledged: Vec<bool> = Vec::new();
                    // Three lives: commits, a crash at `point`, a reopen (with its replay).
                    for life in 0..3 {
                        let store = open(&disk);
                        let range = store.acquire_shard(ShardId(0)).await.unwrap();
                        for (index, acked) in (1..).zip(acknowledged.iter().copied()) {
                            let presence = numbered_presence(&store, index).await;
                            assert!(
                                presence == Some(true) || (!acked && presence == Some(false)),
                                "seed {seed}, {point:?}, life {life}: run {index} \
                                 (acknowledged: {acked}) is {presence:?}"
                            );
                        }
                        // A few commits, then power is lost at `point` of the next ones.
                        for commit in 0..15 {
                            if commit == 3 {
                                disk.crash_at(point);
                            }
                            let index = acknowledged.len() as u64 + 1;
                            let written = store.commit(vec![numbered_write(index, range)]).await;
                            let acked = matches!(written.as_deref(), Ok([Ok(())]));
                            acknowledged.push(acked);
                            if !acked {
                                assert!(commit >= 3, "seed {seed}, {point:?}: {written:?}");
                                break;
                            }
                        }
                        disk.crash();
                        drop(store);
                        disk.recover();
                    }
                }
            }
        });
    }

    /// A store of the older layout (runs' deadlines in an index table) upgraded as it opens,
    /// with power lost at every point of the upgrade's commit: the next open upgrades it
    /// whole, every run reads as written and every deadline is due where it was; a move
    /// afterwards leaves one deadline row.
    #[cfg(not(madsim))]
    #[test]
    fn the_layout_upgrade_survives_power_loss_at_every_point() {
        use endure_core::storage::{DeadlineUpdate, RunCondition, ShardId, Storage, WorkflowWrite};
        use endure_core::time::Timestamp;
        use endure_server::storage::conformance::{
            numbered_key, numbered_presence, numbered_write,
        };
        use endure_server::storage::{RedbStorage, WalConfig, rewrite_in_older_layout};

        const RUNS: u64 = 6;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let open = |disk: &SimDisk| {
            RedbStorage::with_backends(disk.backend(), disk.wal_backend(), WalConfig::default())
        };
        // Whether the open that lost power still came back, per point.
        let mut outcomes = Vec::new();
        runtime.block_on(async {
            for point in (1..10)
                .map(CrashPoint::AfterWrite)
                .chain((1..4).map(CrashPoint::AfterSync))
            {
                let disk = SimDisk::new(11);
                {
                    let store = open(&disk).unwrap();
                    let range = store.acquire_shard(ShardId(0)).await.unwrap();
                    for index in 1..=RUNS {
                        let written = store.commit(vec![numbered_write(index, range)]).await;
                        assert!(matches!(written.as_deref(), Ok([Ok(())])), "{written:?}");
                    }
                }
                assert_eq!(rewrite_in_older_layout(disk.backend()).unwrap(), RUNS);
                disk.crash_at(point);
                let interrupted = open(&disk);
                outcomes.push(interrupted.is_ok());
                disk.crash();
                drop(interrupted);
                disk.recover();

                let store = open(&disk)
                    .unwrap_or_else(|error| panic!("{point:?}: the store reopens: {error}"));
                for index in 1..=RUNS {
                    assert_eq!(
                        numbered_presence(&store, index).await,
                        Some(true),
                        "{point:?}: run {index}"
                    );
                }
                let due = |store: RedbStorage| async move {
                    let rows = store
                        .due_deadlines(ShardId(0), Timestamp::from_unix_seconds(1_000), 100)
                        .await
                        .unwrap();
                    let due: Vec<(String, u64)> = rows
                        .iter()
                        .map(|row| {
                            let seconds = row.time.unix_nanos() / 1_000_000_000;
                            (row.execution.workflow_id.as_str().to_owned(), seconds)
                        })
                        .collect();
                    (store, due)
                };
                let (store, rows) = due(store).await;
                let expected: Vec<(String, u64)> = (1..=RUNS)
                    .map(|index| (format!("crash-{index}"), index))
                    .collect();
                assert_eq!(rows, expected, "{point:?}");
                // The first run's deadline moves: its row knew where the old one was.
                let range = store.acquire_shard(ShardId(0)).await.unwrap();
                let mut moved = numbered_write(1, range).runs.remove(0).row;
                moved.db_version = 2;
                let write = WorkflowWrite::of_run(
                    range,
                    RunCondition::DbVersion(1),
                    moved,
                    Vec::new(),
                    DeadlineUpdate::Set(Timestamp::from_unix_seconds(500)),
                );
                let written = store.commit(vec![write]).await;
                assert!(
                    matches!(written.as_deref(), Ok([Ok(())])),
                    "{point:?}: {written:?}"
                );
                let (_, rows) = due(store).await;
                assert_eq!(rows.len() as u64, RUNS, "{point:?}: {rows:?}");
                assert_eq!(rows.last(), Some(&("crash-1".to_owned(), 500)), "{point:?}");
                assert_eq!(numbered_key(1).workflow_id.as_str(), "crash-1");
            }
        });
        eprintln!("opens that lost power and still came back, per point: {outcomes:?}");
        assert!(
            outcomes.contains(&false),
            "power was lost inside some opens"
        );
    }

    #[test]
    fn a_crashed_disk_refuses_everything_until_recovered_and_old_handles_stay_fenced() {
        let disk = SimDisk::new(7);
        let database = open(&disk).unwrap();
        put(&database, 1).unwrap();
        disk.crash();
        assert!(disk.is_crashed());
        assert!(put(&database, 2).is_err());
        let stale = disk.backend();
        disk.recover();
        assert!(redb::StorageBackend::len(&stale).is_err());
        drop(database);
        let reopened = open(&disk).unwrap();
        assert_eq!(keys(&reopened), [1]);
        assert_eq!(disk.crashes(), 1);
    }

    #[test]
    fn an_eio_on_sync_fails_the_commit() {
        let disk = SimDisk::new(3);
        let database = open(&disk).unwrap();
        disk.fail_next_sync();
        assert!(put(&database, 1).is_err());
        assert_eq!(disk.sync_failures(), 1);
    }
}
