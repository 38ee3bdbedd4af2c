//! The tail of a run's history, kept in the run's own stored row.
//!
//! A store that keeps history as batches in a table of its own (the redb store) would put
//! one row per write there, each with a key as long as the run's and a B-tree entry of its
//! own: a sleeping run's three writes made three rows. The run's row is rewritten by every
//! one of those writes anyway, so it carries the events written since the last batch (its
//! tail, a [`History`] record) and the batch table gets a row only when the tail would pass
//! [`HISTORY_TAIL_BYTES_MAX`]: then the tail and the new events become one batch, keyed by
//! their first event, and the row's tail starts again empty. The history table holds the
//! run's events before the tail; the tail holds the rest, up to the row's `next_event_id`.
//!
//! Appending copies the tail's event bytes as they are and writes one new count, so a
//! write costs no decoding of what the tail holds (a tail of an earlier format version,
//! which cannot be spliced, is decoded and written again).

use crate::codec::{self, DecodeError, EncodeError, FORMAT_VERSION, RecordKind};
use crate::history::History;
use crate::ids::EventId;

/// Most encoded bytes of events a run's row keeps as its history's tail before they move
/// to a batch of their own: a sleeping or short run's whole history fits, and a row stays
/// small enough for several to share a 4 KiB page.
pub const HISTORY_TAIL_BYTES_MAX: usize = 1024;

/// Why events could not be appended to a tail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TailError {
    /// The stored tail does not read.
    #[error("the history tail: {0}")]
    Decode(#[from] DecodeError),
    /// The events do not encode.
    #[error("the history tail: {0}")]
    Encode(#[from] EncodeError),
    /// The tail holds more events than come before the first appended one.
    #[error("the history tail holds {held} events, but the appended ones start at {first}")]
    Inconsistent {
        /// Events the tail holds.
        held: u64,
        /// The first appended event's id.
        first: u64,
    },
}

/// What appending events to a run's history tail comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailAppend {
    /// The tail with the events after it: the row keeps it.
    Kept(Vec<u8>),
    /// The tail and the events, as one batch (a [`History`] record) for the history table,
    /// keyed by its first event; the row keeps no tail.
    Spilled {
        /// The batch's first event.
        first_event_id: EventId,
        /// The batch.
        batch: Vec<u8>,
    },
}

/// Appends `events` (which must follow the tail's last event; at least one) to the stored
/// `tail` (none when the row keeps none).
pub fn append_to_tail(tail: Option<&[u8]>, events: History) -> Result<TailAppend, TailError> {
    debug_assert!(!events.events.is_empty(), "nothing to append");
    let first_new = events
        .events
        .first()
        .map_or(1, |event| event.event_id.get());
    let (held, held_events) = match tail {
        None => (0, &[][..]),
        Some(tail) if is_current_history(tail) => split_count(tail)?,
        Some(tail) => {
            // Written by an earlier format version: its events are decoded and written
            // again with the new ones.
            let mut old: History = codec::decode(tail)?;
            let held = old.events.len();
            old.events.extend(events.events);
            let merged = codec::encode(&old)?;
            return finish(merged, first_new, held as u64);
        }
    };
    // The tail holds the events just before the new ones, so fewer than their first id.
    if held as u64 >= first_new {
        return Err(TailError::Inconsistent {
            held: held as u64,
            first: first_new,
        });
    }
    let failed = |error: postcard::Error| EncodeError {
        kind: RecordKind::History,
        reason: error.to_string(),
    };
    // One buffer: the header, the new count, the tail's events as they are, then each new
    // event encoded in place (a sequence's elements are their own encodings, back to back).
    let room = 16 + held_events.len() + events.events.len() * 256;
    let mut merged = Vec::with_capacity(room.min(HISTORY_TAIL_BYTES_MAX * 2));
    merged.extend_from_slice(&[FORMAT_VERSION, RecordKind::History as u8]);
    merged = postcard::to_extend(&(held + events.events.len()), merged).map_err(failed)?;
    merged.extend_from_slice(held_events);
    for event in &events.events {
        merged = postcard::to_extend(event, merged).map_err(failed)?;
    }
    finish(merged, first_new, held as u64)
}

/// The events of a stored tail (none when the row keeps none).
pub fn tail_events(tail: Option<&[u8]>) -> Result<History, DecodeError> {
    tail.map_or_else(|| Ok(History::default()), codec::decode)
}

fn finish(merged: Vec<u8>, first_new: u64, held: u64) -> Result<TailAppend, TailError> {
    if merged.len() <= HISTORY_TAIL_BYTES_MAX {
        return Ok(TailAppend::Kept(merged));
    }
    let first_event_id =
        first_new
            .checked_sub(held)
            .and_then(EventId::new)
            .ok_or(TailError::Inconsistent {
                held,
                first: first_new,
            })?;
    Ok(TailAppend::Spilled {
        first_event_id,
        batch: merged,
    })
}

/// Whether `record` is a [`History`] of this format version, whose events can be spliced.
fn is_current_history(record: &[u8]) -> bool {
    matches!(record, [FORMAT_VERSION, kind, ..] if *kind == RecordKind::History as u8)
}

/// A current [`History`] record's event count, and the bytes of its events.
fn split_count(record: &[u8]) -> Result<(usize, &[u8]), DecodeError> {
    let body = record
        .get(2..)
        .ok_or(DecodeError::Truncated { len: record.len() })?;
    postcard::take_from_bytes::<usize>(body).map_err(|error| DecodeError::Malformed {
        kind: RecordKind::History,
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventAttributes, HistoryEvent, WorkflowExecutionSignaledEventAttributes};
    use crate::time::Timestamp;
    use crate::*;

    /// `count` events from `first`, each a signal carrying `padding` bytes.
    fn events(first: u64, count: u64, padding: usize) -> History {
        History {
            events: (first..first + count)
                .map(|id| HistoryEvent {
                    event_id: EventId::new(id).unwrap(),
                    event_time: Timestamp::from_unix_seconds(1_800_000_000 + id),
                    attributes: EventAttributes::WorkflowExecutionSignaled(
                        WorkflowExecutionSignaledEventAttributes {
                            signal_name: SignalName::new("s").unwrap(),
                            input: Payloads::one(Payload::binary(vec![1u8; padding])),
                            identity: String::new(),
                            header: Header::new(),
                            request_id: None,
                            external_workflow_execution: None,
                        },
                    ),
                })
                .collect(),
        }
    }

    fn kept(append: TailAppend) -> Vec<u8> {
        match append {
            TailAppend::Kept(tail) => tail,
            spilled => panic!("expected the tail kept, got {spilled:?}"),
        }
    }

    #[test]
    fn appends_splice_into_one_record_that_decodes_in_order() {
        let first = kept(append_to_tail(None, events(1, 2, 4)).unwrap());
        assert_eq!(first, codec::encode(&events(1, 2, 4)).unwrap());
        let second = kept(append_to_tail(Some(&first), events(3, 1, 4)).unwrap());
        let third = kept(append_to_tail(Some(&second), events(4, 2, 4)).unwrap());
        // The same bytes as the six events encoded at once.
        assert_eq!(third, codec::encode(&events(1, 5, 4)).unwrap());
        assert_eq!(tail_events(Some(&third)).unwrap(), events(1, 5, 4));
        assert_eq!(tail_events(None).unwrap(), History::default());
    }

    #[test]
    fn a_tail_past_its_limit_spills_whole_as_one_batch() {
        let tail = kept(append_to_tail(None, events(1, 3, 200)).unwrap());
        let TailAppend::Spilled {
            first_event_id,
            batch,
        } = append_to_tail(Some(&tail), events(4, 3, 200)).unwrap()
        else {
            panic!("a tail over {HISTORY_TAIL_BYTES_MAX} bytes is spilled");
        };
        assert_eq!(first_event_id, EventId::FIRST);
        assert_eq!(codec::decode::<History>(&batch).unwrap(), events(1, 6, 200));
        // One write larger than the limit spills at once, from its own first event.
        let TailAppend::Spilled { first_event_id, .. } =
            append_to_tail(None, events(9, 8, 200)).unwrap()
        else {
            panic!("a large write is spilled");
        };
        assert_eq!(first_event_id.get(), 9);
    }

    #[test]
    fn a_tail_of_an_earlier_version_is_rewritten_with_the_new_events() {
        // The Quick Start's history as format version 3 wrote it (all positional).
        let old = include_bytes!("../../tests/golden/v3/history-quickstart.bin");
        assert_ne!(old[0], FORMAT_VERSION);
        let mut expected: History = codec::decode(old).unwrap();
        let added = events(expected.events.len() as u64 + 1, 2, 4);
        expected.events.extend(added.events.clone());
        let merged = match append_to_tail(Some(old), added).unwrap() {
            TailAppend::Kept(tail) => tail,
            TailAppend::Spilled {
                first_event_id,
                batch,
            } => {
                assert_eq!(first_event_id, EventId::FIRST);
                batch
            }
        };
        assert_eq!(
            merged[0], FORMAT_VERSION,
            "written again in today's version"
        );
        assert_eq!(tail_events(Some(&merged)).unwrap(), expected);
    }

    #[test]
    fn bad_tails_are_errors() {
        let tail = kept(append_to_tail(None, events(1, 2, 4)).unwrap());
        for bad in [&tail[..1], &tail[..2]] {
            assert!(append_to_tail(Some(bad), events(3, 1, 4)).is_err());
        }
        let other = codec::encode(&crate::storage::CurrentRun {
            run_id: crate::ids::RunId::from_u128(1),
            status: crate::enums::WorkflowExecutionStatus::Running,
            start_request_id: None,
        })
        .unwrap();
        assert!(append_to_tail(Some(&other), events(3, 1, 4)).is_err());
        // A tail claiming more events than precede the appended ones.
        let big = kept(append_to_tail(None, events(1, 3, 250)).unwrap());
        assert!(matches!(
            append_to_tail(Some(&big), events(2, 1, 250)),
            Err(TailError::Inconsistent { held: 3, first: 2 })
        ));
        // A count as large as a usize holds is refused, not added to.
        let mut huge = vec![FORMAT_VERSION, RecordKind::History as u8];
        huge = postcard::to_extend(&usize::MAX, huge).unwrap();
        assert!(matches!(
            append_to_tail(Some(&huge), events(3, 1, 4)),
            Err(TailError::Inconsistent { first: 3, .. })
        ));
    }
}
