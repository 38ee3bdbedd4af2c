//! Commits are made visible when something reads, not each time.
//!
//! A workflow commit is durable once its record is in the commit log and synced; its redb
//! transaction only makes the changes visible to read transactions. Committing that
//! transaction — even unsynced — costs more than the rest of a commit's redb work: every
//! table it changed has its root written into redb's table of tables, and every page it
//! dirtied is checksummed; and the next commit copies those pages afresh before it changes
//! them. So the writer keeps the transaction of its latest commits open ([`Unpublished`])
//! and goes on writing into it, and commits it only when it must be seen:
//!
//! - before any read (every read and scan of the store calls [`publish`] first, under the
//!   same lock a commit holds from its first change to its record's sync, so no read ever
//!   sees a change before it is durable, and every read sees every change that is);
//! - before any other write transaction (namespace and shard writes go through the same
//!   call);
//! - when the records it holds pass [`UNPUBLISHED_BYTES_MAX`], which bounds the work of
//!   making them again (below);
//! - at a checkpoint, which commits it durably, and at close.
//!
//! A sequential one-activity workflow reads nothing between its four commits, so they share
//! one transaction; measured with callgrind on `endure bench latency`: see ARCHITECTURE.md.
//!
//! A group whose checks or changes fail (a stored row that does not decode) is undone by
//! dropping the transaction, which undoes the earlier commits it held too: those are made
//! again from their records (as a replay at open would) and published at once.

use endure_core::storage::StorageError;
use redb::{Database, Durability};

use super::begin_durable;
use super::failure::{io, redb_error};
use super::redo;
use super::tables::Tables;

/// The records a held transaction may hold before the commit that passes it publishes it:
/// 1 MiB, an eighth of the log's checkpoint interval.
pub(super) const UNPUBLISHED_BYTES_MAX: usize = 1 << 20;

/// A write transaction holding the changes of commits whose records are durable, not yet
/// visible to read transactions.
pub(super) struct Unpublished {
    pub(super) transaction: redb::WriteTransaction,
    /// The bodies of the records whose changes it holds, in commit order.
    pub(super) bodies: Vec<Vec<u8>>,
    /// Their bytes in all.
    pub(super) bytes: usize,
}

/// The held transaction, if any, behind the lock that orders commits, reads and checkpoints.
pub(super) type Held = parking_lot::Mutex<Option<Unpublished>>;

/// Makes every durable commit visible: commits the held transaction, if there is one, not
/// synced (its records are). The lock is kept through the commit, so a read that finds
/// nothing held finds everything visible.
pub(super) fn publish(held: &Held) -> Result<(), StorageError> {
    let mut held = held.lock();
    if let Some(unpublished) = held.take() {
        unpublished.transaction.commit().map_err(redb_error)?;
    }
    Ok(())
}

/// A write transaction to commit into: the held one, or a new one that is not synced.
pub(super) fn take_or_begin(
    held: &mut Option<Unpublished>,
    database: &Database,
) -> Result<Unpublished, StorageError> {
    if let Some(unpublished) = held.take() {
        return Ok(unpublished);
    }
    let mut transaction = begin_durable(database)?;
    transaction.set_durability(Durability::None).map_err(io)?;
    Ok(Unpublished {
        transaction,
        bodies: Vec::new(),
        bytes: 0,
    })
}

/// Makes the commits of `bodies` (a dropped transaction's records) again in a new
/// transaction and publishes it. A failure here leaves durable commits unseen: it is an
/// IO error, which stops the store (the next open replays them from the log).
pub(super) fn redo_and_publish(
    database: &Database,
    bodies: &[Vec<u8>],
) -> Result<(), StorageError> {
    if bodies.is_empty() {
        return Ok(());
    }
    let again = || -> Result<(), StorageError> {
        let mut transaction = begin_durable(database)?;
        transaction.set_durability(Durability::None).map_err(io)?;
        {
            let mut tables = Tables::open(&transaction, false)?;
            for body in bodies {
                tables.apply_changes(&redo::changes(body)?)?;
            }
        }
        transaction.commit().map_err(redb_error)
    };
    again().map_err(|error| {
        StorageError::Io(format!(
            "the changes of {} durable commits could not be made again after a failed group: {error}",
            bodies.len()
        ))
    })
}
