//! The body of a commit-log record: the key–value changes one workflow commit made to the
//! run tables, in the order it made them, encoded as they are made (no second copy).
//! Replaying them in order over the state of the last checkpoint — or over any later
//! state, since every change sets or removes a whole value — gives the state the commit
//! left.
//!
//! ```text
//! [version 1: u8] then per change:
//!   [op: u8, 1 put / 2 remove][table: u8][key length: u32 LE][key]
//!   (put) [value length: u32 LE][value]
//! ```

use endure_core::storage::StorageError;

/// The format of a body.
const VERSION: u8 = 1;

const PUT: u8 = 1;
const REMOVE: u8 = 2;

/// A table a commit changes, with its fixed number in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum RunTable {
    Executions = 1,
    CurrentRuns = 2,
    History = 3,
    Deadlines = 4,
    DeadlineIndex = 5,
    Dispatch = 6,
    Requests = 7,
    Visibility = 8,
}

impl RunTable {
    /// How many there are.
    pub(super) const COUNT: usize = 8;

    /// Its place among them, from 0.
    pub(super) fn index(self) -> usize {
        self as usize - 1
    }

    fn from_number(number: u8) -> Option<Self> {
        Some(match number {
            1 => Self::Executions,
            2 => Self::CurrentRuns,
            3 => Self::History,
            4 => Self::Deadlines,
            5 => Self::DeadlineIndex,
            6 => Self::Dispatch,
            7 => Self::Requests,
            8 => Self::Visibility,
            _ => return None,
        })
    }
}

/// One change read back from a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Change<'a> {
    /// `key` is set to `value`.
    Put {
        table: RunTable,
        key: &'a [u8],
        value: &'a [u8],
    },
    /// `key` is removed (if present).
    Remove { table: RunTable, key: &'a [u8] },
}

/// The changes of one commit, encoded as they are made.
#[derive(Debug)]
pub(super) struct Redo {
    bytes: Vec<u8>,
}

/// Bytes a commit's record starts with room for: a one-workflow commit's changes (its
/// row, a history batch, a task and its index rows) fit, so the body is not regrown as
/// they are noted.
const REDO_CAPACITY_INITIAL: usize = 4096;

impl Default for Redo {
    fn default() -> Self {
        let mut bytes = Vec::with_capacity(REDO_CAPACITY_INITIAL);
        bytes.push(VERSION);
        Self { bytes }
    }
}

fn push_bytes(into: &mut Vec<u8>, bytes: &[u8]) {
    let length = u32::try_from(bytes.len()).expect("keys and values are far under 4 GiB");
    into.extend_from_slice(&length.to_le_bytes());
    into.extend_from_slice(bytes);
}

impl Redo {
    /// Notes that `key` of `table` was set to `value`.
    pub(super) fn put(&mut self, table: RunTable, key: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(&[PUT, table as u8]);
        push_bytes(&mut self.bytes, key);
        push_bytes(&mut self.bytes, value);
    }

    /// Notes that `key` of `table` was removed.
    pub(super) fn remove(&mut self, table: RunTable, key: &[u8]) {
        self.bytes.extend_from_slice(&[REMOVE, table as u8]);
        push_bytes(&mut self.bytes, key);
    }

    /// Whether no change was noted.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.len() == 1
    }

    /// The encoded body.
    pub(super) fn body(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded body, owned.
    pub(super) fn into_body(self) -> Vec<u8> {
        self.bytes
    }
}

fn corrupt(reason: &str) -> StorageError {
    StorageError::Corrupt {
        what: "a commit-log record".into(),
        reason: reason.into(),
    }
}

/// The first `bytes` of `rest`, which moves past them.
fn take<'a>(rest: &mut &'a [u8], bytes: usize) -> Result<&'a [u8], StorageError> {
    if rest.len() < bytes {
        return Err(corrupt("cut short"));
    }
    let (taken, left) = rest.split_at(bytes);
    *rest = left;
    Ok(taken)
}

/// A length-prefixed key or value at the start of `rest`, which moves past it.
fn take_bytes<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], StorageError> {
    let length = take(rest, 4)?;
    let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
    take(rest, length as usize)
}

/// Reads `body` back into its changes, in order. A body that does not parse whole is an
/// error (its checksum matched, so the bytes are what a build wrote: a newer build's).
pub(super) fn changes(body: &[u8]) -> Result<Vec<Change<'_>>, StorageError> {
    let (&version, mut rest) = body.split_first().ok_or_else(|| corrupt("empty"))?;
    if version != VERSION {
        return Err(corrupt(&format!(
            "format {version}, this build reads format {VERSION}"
        )));
    }
    let mut found = Vec::new();
    while !rest.is_empty() {
        let head = take(&mut rest, 2)?;
        let table = RunTable::from_number(head[1]).ok_or_else(|| corrupt("unknown table"))?;
        let key = take_bytes(&mut rest)?;
        found.push(match head[0] {
            PUT => Change::Put {
                table,
                key,
                value: take_bytes(&mut rest)?,
            },
            REMOVE => Change::Remove { table, key },
            _ => return Err(corrupt("unknown change")),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_back_in_order_with_a_fixed_layout() {
        let mut redo = Redo::default();
        assert!(redo.is_empty());
        redo.put(RunTable::History, b"k1", b"value");
        redo.remove(RunTable::Dispatch, b"k2");
        assert!(!redo.is_empty());
        assert_eq!(
            redo.body(),
            [
                &[1, 1, 3, 2, 0, 0, 0][..],
                b"k1",
                &[5, 0, 0, 0],
                b"value",
                &[2, 6, 2, 0, 0, 0],
                b"k2"
            ]
            .concat()
        );
        assert_eq!(
            changes(redo.body()).unwrap(),
            vec![
                Change::Put {
                    table: RunTable::History,
                    key: b"k1",
                    value: b"value"
                },
                Change::Remove {
                    table: RunTable::Dispatch,
                    key: b"k2"
                },
            ]
        );
    }

    #[test]
    fn bodies_that_do_not_parse_are_errors() {
        let mut redo = Redo::default();
        redo.put(RunTable::Executions, b"key", b"value");
        let body = redo.body();
        for cut in 0..body.len() - 1 {
            assert!(changes(&body[..cut]).is_err() || cut == 1, "cut at {cut}");
        }
        assert!(changes(&[2]).is_err(), "a later format");
        assert!(changes(&[1, 1, 9, 0, 0, 0, 0]).is_err(), "an unknown table");
        assert!(
            changes(&[1, 7, 1, 0, 0, 0, 0]).is_err(),
            "an unknown change"
        );
        assert_eq!(changes(&[1]).unwrap(), vec![]);
    }
}
