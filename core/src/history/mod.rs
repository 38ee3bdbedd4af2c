//! History: the append-only list of events that is the truth of a workflow run.
//!
//! Events and their attributes carry Temporal's names (`../shared/reference/temporal.md` §1);
//! event ids are dense from 1; back-references are typed [`crate::EventId`]s that
//! [`check_well_formed`] verifies.

pub mod attributes;
#[cfg(any(test, feature = "testing"))]
mod builder;
mod check;
mod event;
mod export;
#[cfg(any(test, feature = "testing"))]
pub mod samples;

pub use attributes::*;
#[cfg(any(test, feature = "testing"))]
pub use builder::HistoryBuilder;
pub use check::{HistoryError, check_well_formed};
pub use event::{BackReference, EventAttributes, EventType, HistoryEvent};
pub use export::{ExportError, HistoryExport};

use serde::{Deserialize, Serialize};

use crate::ids::EventId;

/// The events of one run, in order.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct History {
    /// The events, event id `n` at index `n - 1`.
    pub events: Vec<HistoryEvent>,
}

impl History {
    /// The id the next appended event gets.
    pub fn next_event_id(&self) -> EventId {
        self.events
            .last()
            .map_or(EventId::FIRST, |event| event.event_id.next())
    }

    /// The event with id `event_id`.
    pub fn event(&self, event_id: EventId) -> Option<&HistoryEvent> {
        let event = self.events.get(usize::try_from(event_id.get() - 1).ok()?)?;
        debug_assert_eq!(event.event_id, event_id, "history ids are dense");
        Some(event)
    }

    /// Checks the history's structure (see [`check_well_formed`]).
    pub fn check(&self) -> Result<(), HistoryError> {
        check_well_formed(&self.events)
    }
}
