//! A page of a run's history, read from its batches and its row's tail in one [`RunView`].

use std::ops::ControlFlow;

use endure_core::EventId;
use endure_core::codec;
use endure_core::history::History;
use endure_core::storage::{
    ExecutionKey, ExecutionRow, HISTORY_PAGE_BYTES_MAX, HistoryPage, StorageError, tail_events,
};

use super::redo::RunTable;
use super::run_view::RunView;
use super::{decode, decoded};
use crate::storage::keys::history_key;

/// The tables a history page reads: the batches, and the run's row for its tail.
pub(super) const TABLES: [RunTable; 2] = [RunTable::History, RunTable::Executions];

/// The events of run `key` from `first_event_id` on, a page's worth ([`HistoryPage::cut`]),
/// read in `view` (begun on the run's key with [`TABLES`]).
pub(super) fn read(
    view: &RunView,
    key: &ExecutionKey,
    run_key: &[u8],
    first_event_id: EventId,
) -> Result<HistoryPage, StorageError> {
    // Start at the batch holding `first_event_id`: the last batch starting at or before it.
    let start = view
        .last_up_to(RunTable::History, &history_key(key, first_event_id))?
        .unwrap_or_else(|| run_key.to_vec());
    // Decode batches until the page is full, plus one batch so the cut knows what follows.
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut full = false;
    let mut followed = false;
    view.scan(RunTable::History, &start, |_, batch| {
        let batch: History = decode(batch, || format!("history of {key:?}"))?;
        for event in batch
            .events
            .into_iter()
            .filter(|event| event.event_id >= first_event_id)
        {
            bytes += codec::encoded_size(&event);
            events.push(event);
        }
        if full {
            followed = true;
            return Ok(ControlFlow::Break(()));
        }
        full = bytes >= HISTORY_PAGE_BYTES_MAX;
        Ok(ControlFlow::Continue(()))
    })?;
    if !followed {
        // The events after the last batch: the run's row keeps them as its tail.
        view.get(RunTable::Executions, run_key, |row| {
            let Some(row) = row else { return Ok(()) };
            let what = || format!("history tail of {key:?}");
            let extras = decoded(ExecutionRow::stored_extras(row), what)?;
            let tail = decoded(tail_events(extras.history_tail.as_deref()), what)?;
            events.extend(
                tail.events
                    .into_iter()
                    .filter(|event| event.event_id >= first_event_id),
            );
            Ok(())
        })?;
    }
    Ok(HistoryPage::cut(events))
}
