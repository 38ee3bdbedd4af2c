//! A run's state as a store keyed by the run keeps it: without the entries its key holds.
//!
//! A run's state (an `ExecutionMachine` record, tagged) opens with its namespace, workflow
//! id and run id (fields 0–2) and, in the first run of a chain, the same run id again as
//! its first run (field 3): about 55 bytes that a store keying the row by the run already
//! holds. [`strip_key`] takes those leading entries out of the record's bytes — only when
//! they are exactly what the key encodes to — and [`restore_key`] puts them back from the
//! key, byte for byte, so the state a store returns is the one it was given. Nothing is
//! decoded either way: the entries are compared and copied as bytes, and the map's count
//! is adjusted in the form it was written in.

use serde::Serialize;

use super::ExecutionKey;
use crate::codec::{self, DecodeError, FORMAT_VERSION, RecordKind};
use crate::execution::ExecutionMachine;
use crate::ids::{Namespace, RunId, WorkflowId};

/// The leading fields of a run's state that its key holds, at their numbers.
#[derive(Serialize)]
#[serde(rename = "ExecutionMachine")]
struct KeyFields<'a> {
    namespace: &'a Namespace,
    workflow_id: &'a WorkflowId,
    run_id: &'a RunId,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_execution_run_id: Option<&'a RunId>,
}

/// The encoded entries (field number and value) of the first `count` (3 or 4) fields of a
/// run's state with `key`.
fn key_entries(key: &ExecutionKey, count: u8) -> Option<Vec<u8>> {
    let record = codec::encode_view::<ExecutionMachine, _>(&KeyFields {
        namespace: &key.namespace,
        workflow_id: &key.workflow_id,
        run_id: &key.run_id,
        first_execution_run_id: (count == 4).then_some(&key.run_id),
    })
    .ok()?;
    // The version, the kind and a fixmap of 3 or 4 entries come first.
    record.get(3..).map(<[u8]>::to_vec)
}

/// A tagged record's map header: its count, and the bytes it takes.
fn map_header(bytes: &[u8]) -> Option<(usize, usize)> {
    match *bytes.first()? {
        marker @ 0x80..=0x8f => Some((usize::from(marker & 0x0f), 1)),
        0xde => Some((
            usize::from(u16::from_be_bytes([*bytes.get(1)?, *bytes.get(2)?])),
            3,
        )),
        _ => None,
    }
}

/// A map header of `count` entries in the form `like` (a header [`map_header`] read).
fn write_header(like: u8, count: usize, output: &mut Vec<u8>) -> Option<()> {
    match like {
        0x80..=0x8f => output.push(0x80 | u8::try_from(count).ok().filter(|n| *n < 16)?),
        _ => {
            output.push(0xde);
            output.extend_from_slice(&u16::try_from(count).ok()?.to_be_bytes());
        }
    }
    Some(())
}

/// The state `state` of the run `key` without the leading entries the key holds, and how
/// many it left out (3, or 4 when the run is the first of its chain); `None` when the
/// state does not open with exactly those entries (a state of an earlier format version,
/// say), to be stored whole.
pub(super) fn strip_key(state: &[u8], key: &ExecutionKey) -> Option<(Vec<u8>, u8)> {
    let [FORMAT_VERSION, kind, body @ ..] = state else {
        return None;
    };
    if *kind != RecordKind::ExecutionMachine as u8 {
        return None;
    }
    let (count, header_len) = map_header(body)?;
    let entries = &body[header_len..];
    for stripped in [4, 3] {
        let leading = key_entries(key, stripped)?;
        if count < usize::from(stripped) || !entries.starts_with(&leading) {
            continue;
        }
        let mut output = Vec::with_capacity(state.len() - leading.len());
        output.extend_from_slice(&[FORMAT_VERSION, *kind]);
        write_header(body[0], count - usize::from(stripped), &mut output)?;
        output.extend_from_slice(&entries[leading.len()..]);
        return Some((output, stripped));
    }
    None
}

/// The state [`strip_key`] made of a run's state, with the `stripped` entries of the run
/// `key` put back: the bytes it was given.
pub(super) fn restore_key(
    stored: &[u8],
    key: &ExecutionKey,
    stripped: u8,
) -> Result<Vec<u8>, DecodeError> {
    let malformed = |reason: &str| DecodeError::Malformed {
        kind: RecordKind::ExecutionMachine,
        reason: format!("a state stored without its key: {reason}"),
    };
    let [FORMAT_VERSION, kind, body @ ..] = stored else {
        return Err(malformed("not a record of this format version"));
    };
    if *kind != RecordKind::ExecutionMachine as u8 {
        return Err(malformed("not a run's state"));
    }
    if !matches!(stripped, 3 | 4) {
        return Err(malformed("3 or 4 entries are left out"));
    }
    let (count, header_len) = map_header(body).ok_or_else(|| malformed("no map"))?;
    let leading = key_entries(key, stripped).ok_or_else(|| malformed("the key does not encode"))?;
    let mut output = Vec::with_capacity(stored.len() + leading.len() + 2);
    output.extend_from_slice(&[FORMAT_VERSION, *kind]);
    write_header(body[0], count + usize::from(stripped), &mut output)
        .ok_or_else(|| malformed("too many entries"))?;
    output.extend_from_slice(&leading);
    output.extend_from_slice(&body[header_len..]);
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The golden Quick Start state of this version, and its run.
    fn golden() -> (Vec<u8>, ExecutionKey) {
        let state = include_bytes!("../../tests/golden/v5/execution-machine-quickstart.bin");
        let machine: ExecutionMachine = codec::decode(state).unwrap();
        let key = ExecutionKey {
            namespace: machine.namespace().clone(),
            workflow_id: machine.workflow_id().clone(),
            run_id: machine.run_id(),
        };
        assert_eq!(machine.first_execution_run_id(), key.run_id, "a first run");
        (state.to_vec(), key)
    }

    /// A state-shaped record of `fields` fields (at least 4) opening with `key`'s fields,
    /// its first run `first_run`.
    fn synthetic(key: &ExecutionKey, first_run: RunId, fields: usize) -> Vec<u8> {
        let mut record = codec::encode_view::<ExecutionMachine, _>(&KeyFields {
            namespace: &key.namespace,
            workflow_id: &key.workflow_id,
            run_id: &key.run_id,
            first_execution_run_id: Some(&first_run),
        })
        .unwrap();
        // Widen the map to `fields` entries: the extra ones numbered on, each a small int.
        let extra: Vec<u8> = (4..fields).flat_map(|number| [number as u8, 7]).collect();
        let entries = record.split_off(3);
        record.truncate(2);
        write_header(if fields < 16 { 0x80 } else { 0xde }, fields, &mut record).unwrap();
        record.extend_from_slice(&entries);
        record.extend_from_slice(&extra);
        record
    }

    fn key(run: u128) -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::new("default").unwrap(),
            workflow_id: WorkflowId::new("order-7").unwrap(),
            run_id: RunId::from_u128(run),
        }
    }

    #[test]
    fn a_first_runs_state_leaves_out_four_entries_and_comes_back_byte_for_byte() {
        let (state, key) = golden();
        let (stored, stripped) = strip_key(&state, &key).expect("stripped");
        assert_eq!(stripped, 4);
        assert!(
            stored.len() + 40 < state.len(),
            "{} vs {}",
            stored.len(),
            state.len()
        );
        assert_eq!(restore_key(&stored, &key, stripped).unwrap(), state);
        let machine: ExecutionMachine =
            codec::decode(&restore_key(&stored, &key, stripped).unwrap()).unwrap();
        assert_eq!(machine.run_id(), key.run_id);
    }

    #[test]
    fn a_later_runs_state_leaves_out_three_in_either_map_form() {
        let key = key(9);
        for fields in [6, 15, 16, 60] {
            let state = synthetic(&key, RunId::from_u128(1), fields);
            let (stored, stripped) = strip_key(&state, &key).expect("stripped");
            assert_eq!(stripped, 3, "{fields} fields");
            assert_eq!(restore_key(&stored, &key, stripped).unwrap(), state);
            let first = synthetic(&key, key.run_id, fields);
            let (stored, stripped) = strip_key(&first, &key).expect("stripped");
            assert_eq!(stripped, 4, "{fields} fields");
            assert_eq!(restore_key(&stored, &key, stripped).unwrap(), first);
        }
    }

    #[test]
    fn a_state_of_another_run_or_version_is_kept_whole() {
        let (state, key) = golden();
        let mut other = key.clone();
        other.run_id = RunId::from_u128(other.run_id.as_u128() ^ 1);
        assert_eq!(strip_key(&state, &other), None);
        let mut other = key.clone();
        other.workflow_id = WorkflowId::new(format!("{}x", key.workflow_id)).unwrap();
        assert_eq!(strip_key(&state, &other), None);
        let old = include_bytes!("../../tests/golden/v4/execution-machine-quickstart.bin");
        assert_eq!(strip_key(old, &key), None);
        assert_eq!(strip_key(&[], &key), None);
        assert_eq!(strip_key(&state[..3], &key), None);
        assert_eq!(strip_key(&state[..20], &key), None);
    }

    #[test]
    fn bad_stored_states_are_errors() {
        let (state, key) = golden();
        let (stored, stripped) = strip_key(&state, &key).unwrap();
        assert!(restore_key(&stored[..2], &key, stripped).is_err());
        assert!(restore_key(&stored, &key, 5).is_err());
        let history = [FORMAT_VERSION, RecordKind::History as u8, 0x80];
        assert!(restore_key(&history, &key, 3).is_err());
        // A fixmap cannot hold more than fifteen entries.
        let full = [FORMAT_VERSION, RecordKind::ExecutionMachine as u8, 0x8f];
        assert!(restore_key(&full, &key, 3).is_err());
    }
}
