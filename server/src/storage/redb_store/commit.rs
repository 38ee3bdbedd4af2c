//! The write path of workflow commits: a group of writes checked and applied in one redb
//! transaction, logged to the write-ahead log (when the store has one) before it is made
//! visible; checkpoints; and the replay of the log when the store opens.

use endure_core::storage::*;
use redb::{Database, Durability, ReadableDatabase, StorageBackend};

use super::failure::{io, redb_error};
use super::publication::{
    Held, UNPUBLISHED_BYTES_MAX, Unpublished, redo_and_publish, take_or_begin,
};
use super::redo::{self, Redo};
use super::shard_ranges::ShardRanges;
use super::tables::{OpenTables, Tables};
use super::wal::{Wal, WalConfig};
use super::{LOG_SEQUENCE_KEY, META, begin_durable};

/// The results of one commit's writes, in order.
type WriteResults = Vec<Result<(), WriteRejection>>;

/// A commit's results, and whether the commit log now asks for a [`checkpoint`] (which the
/// caller runs next, apart: it is a durable redb commit of every page the log's records
/// dirtied, far longer than a commit).
pub(super) type Committed = (WriteResults, bool);

/// Checks each write of a group against the transaction's tables `open` and applies those
/// accepted; their results and (when `logged`) the record of the changes made.
fn apply_group(
    open: &mut OpenTables<'_>,
    logged: bool,
    ranges: &ShardRanges,
    writes: Vec<WorkflowWrite>,
) -> Result<(WriteResults, Redo), StorageError> {
    let mut results = Vec::with_capacity(writes.len());
    let mut tables = Tables::new(open, logged).with_ranges(ranges);
    for write in writes {
        let result = check_write(&write, &tables)?;
        if result.is_ok() {
            tables.apply(write)?;
        }
        results.push(result);
    }
    Ok((results, tables.take_redo()))
}

/// Commits a group of workflow writes: each is checked and, if accepted, applied, in one
/// redb write transaction. With a commit log, the transaction is not synced: its changes
/// are appended to the log and synced, and the transaction is then held open for the next
/// commits until something reads ([`publication`](super::publication)). Without a log it
/// is a durable redb commit.
pub(super) fn commit_sync(
    database: &Database,
    log: Option<(&parking_lot::Mutex<Wal>, &Held)>,
    ranges: &ShardRanges,
    writes: Vec<WorkflowWrite>,
) -> Result<Committed, StorageError> {
    let Some((log, held)) = log else {
        let transaction = begin_durable(database)?;
        let mut open = OpenTables::new(&transaction);
        let (results, _) = apply_group(&mut open, false, ranges, writes)?;
        drop(open);
        transaction.commit().map_err(redb_error)?;
        return Ok((results, false));
    };
    let overlay = &held.overlay;
    // Held from the group's first change to its record's sync: a scan waits for it.
    let mut slot = held.transaction.lock();
    let Unpublished {
        mut transaction,
        mut bodies,
        mut bytes,
    } = take_or_begin(&mut slot, database)?;
    let applied = transaction.with_dependent_mut(|_, open| apply_group(open, true, ranges, writes));
    let (results, redo) = match applied {
        Ok(applied) => applied,
        Err(error) => {
            // Dropping the transaction undoes this group, and the earlier commits it held.
            drop(transaction);
            redo_and_publish(database, &bodies, overlay)?;
            return Err(error);
        }
    };
    if redo.is_empty() {
        // Every write was rejected: nothing changed; the earlier commits stay held.
        if bodies.is_empty() {
            transaction.into_owner().abort().map_err(redb_error)?;
        } else {
            *slot = Some(Unpublished {
                transaction,
                bodies,
                bytes,
            });
        }
        return Ok((results, false));
    }
    // Locked inside the redb write transaction: records are appended in commit order.
    let mut log = log.lock();
    if log.fits(redo.body().len()) {
        // The writes are durable once this returns: whatever follows, they are
        // acknowledged (a failure after it stops the store, and the next open replays the
        // log).
        log.append(redo.body())?;
        let checkpoint_due = log.checkpoint_due();
        drop(log);
        bytes += redo.body().len();
        // Point reads see the group from here on, in the overlay while it is held. (A body
        // is this build's own bytes; one that did not read back is published instead.)
        let readable = match redo::changes(redo.body()) {
            Ok(changes) => {
                overlay.lock().absorb(&changes);
                true
            }
            Err(_) => false,
        };
        bodies.push(redo.into_body());
        if readable && bytes <= UNPUBLISHED_BYTES_MAX {
            *slot = Some(Unpublished {
                transaction,
                bodies,
                bytes,
            });
        } else {
            transaction.into_owner().commit().map_err(redb_error)?;
            held.published();
        }
        Ok((results, checkpoint_due))
    } else {
        // Too large for the log: a durable commit, which covers the log's records (and the
        // held commits) too.
        let mut transaction = transaction.into_owner();
        transaction
            .set_durability(Durability::Immediate)
            .map_err(io)?;
        note_checkpoint(&transaction, log.last_sequence())?;
        transaction.commit().map_err(redb_error)?;
        overlay.lock().clear();
        log.restart();
        Ok((results, false))
    }
}

/// Writes into `transaction` that the redb file holds the log's records up to `sequence`.
fn note_checkpoint(
    transaction: &redb::WriteTransaction,
    sequence: u64,
) -> Result<(), StorageError> {
    transaction
        .open_table(META)
        .map_err(redb_error)?
        .insert(LOG_SEQUENCE_KEY, sequence)
        .map_err(redb_error)?;
    Ok(())
}

/// A durable redb commit covering every record of the log, which then starts again: the
/// held transaction committed durably, or a new one. It takes the held transaction's lock,
/// then the log's, in the order a commit does (so the two never wait for each other), and
/// every record the log holds then is in that transaction or in redb already.
pub(super) fn checkpoint(
    database: &Database,
    log: &parking_lot::Mutex<Wal>,
    held: &Held,
) -> Result<(), StorageError> {
    let mut unpublished = held.transaction.lock();
    let mut transaction = match unpublished.take() {
        Some(unpublished) => unpublished.transaction.into_owner(),
        None => begin_durable(database)?,
    };
    transaction
        .set_durability(Durability::Immediate)
        .map_err(io)?;
    let mut log = log.lock();
    note_checkpoint(&transaction, log.last_sequence())?;
    transaction.commit().map_err(redb_error)?;
    held.overlay.lock().clear();
    log.restart();
    Ok(())
}

/// The sequence of the last log record the redb file holds.
fn applied_sequence(database: &Database) -> Result<u64, StorageError> {
    let transaction = database.begin_read().map_err(redb_error)?;
    let meta = transaction.open_table(META).map_err(redb_error)?;
    Ok(meta
        .get(LOG_SEQUENCE_KEY)
        .map_err(redb_error)?
        .map_or(0, |sequence| sequence.value()))
}

/// The records of the write-ahead log at `log` (if there is one) that the store in
/// `database` does not hold yet — the next open replays them — as how many there are and
/// why any of them would not replay (for `endure admin check`).
pub(in crate::storage) fn unapplied_log_records(
    database: &Database,
    log: &std::path::Path,
) -> Result<(u64, Vec<String>), StorageError> {
    let image = match std::fs::read(log) {
        Ok(image) => image,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok((0, Vec::new())),
        Err(error) => return Err(StorageError::Io(format!("{}: {error}", log.display()))),
    };
    let bodies = super::wal::unapplied(&image, applied_sequence(database)?)?;
    let problems = bodies
        .iter()
        .zip(1..)
        .filter_map(|(body, number)| {
            redo::changes(body).err().map(|error| {
                format!("write-ahead log record {number} after the checkpoint: {error}")
            })
        })
        .collect();
    Ok((bodies.len() as u64, problems))
}

/// Opens the commit log on `backend` and replays its records after the redb file's last
/// checkpoint, in one durable commit that is the next checkpoint.
pub(super) fn open_log(
    database: &Database,
    backend: Box<dyn StorageBackend>,
    config: WalConfig,
) -> Result<Wal, StorageError> {
    let applied = applied_sequence(database)?;
    let (mut log, bodies) = Wal::open(backend, config, applied)?;
    if bodies.is_empty() {
        return Ok(log);
    }
    let transaction = begin_durable(database)?;
    {
        let mut open = OpenTables::new(&transaction);
        let mut tables = Tables::new(&mut open, false);
        for body in &bodies {
            tables.apply_changes(&redo::changes(body)?)?;
        }
    }
    note_checkpoint(&transaction, log.last_sequence())?;
    transaction.commit().map_err(redb_error)?;
    log.restart();
    tracing::info!(
        records = bodies.len(),
        through = log.last_sequence(),
        "replayed the commit log's records after the last checkpoint"
    );
    Ok(log)
}
