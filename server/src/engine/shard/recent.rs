//! A busy run's latest events, kept beside its cached machine, so that a workflow task
//! sync-matched to the worker that has the run cached (a sticky task) is handed the events
//! that worker lacks instead of the poll reading back what the shard has just written.
//!
//! Only what is durable is kept: the shard adds a write's events once it has settled, with
//! the machine that write made. What is kept is a cache, never a source of truth: a task
//! whose events it does not hold in full, contiguous up to the write being planned, reads
//! them from storage as before.

use std::collections::VecDeque;

use endure_core::EventId;
use endure_core::execution::ExecutionMachine;
use endure_core::history::HistoryEvent;

/// Most encoded bytes of events a cached run keeps; the oldest writes go first, and a
/// sticky task whose events are gone reads them from storage.
pub(crate) const RECENT_EVENTS_BYTES_MAX: u64 = 16 * 1024;

/// The first event a sticky task of the run could ask for: a sticky task follows a
/// completed workflow task, whose worker has the run up to that task's start, and a task
/// that fails or times out clears stickiness — so no sticky task asks for an event up to
/// the start of the latest workflow task started (in flight, or the last completed).
pub(crate) fn sticky_from(machine: &ExecutionMachine) -> EventId {
    machine
        .workflow_task()
        .and_then(|task| task.started.as_ref())
        .map(|started| started.started_event_id)
        .or(machine.last_completed_workflow_task_started_event_id())
        .map_or(EventId::FIRST, EventId::next)
}

/// The events one write appended to a run, and their encoded size in bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Written {
    /// The events, in order, with consecutive ids.
    pub(crate) events: Vec<HistoryEvent>,
    /// Their encoded size (as the run's history size counts it).
    pub(crate) bytes: u64,
}

/// A run's latest events, a write at a time, contiguous; at most
/// [`RECENT_EVENTS_BYTES_MAX`] bytes. They end with the last event of the machine cached
/// with them unless a later write's events were not kept — then they are of no use, and
/// [`RecentEvents::into_events_since`] finds it so.
#[derive(Clone, Debug, Default)]
pub(super) struct RecentEvents {
    writes: VecDeque<Written>,
    bytes: u64,
}

impl RecentEvents {
    /// Adds the events of the run's next write: after these if they follow on, else in
    /// their place. Then drops the writes wholly before `keep_from` (no sticky task asks
    /// for them: see [`sticky_from`]) and the oldest writes while over the limit.
    pub(super) fn push(&mut self, written: Written, keep_from: EventId) {
        if let Some(first) = written.events.first() {
            debug_assert!(
                written
                    .events
                    .windows(2)
                    .all(|pair| pair[1].event_id == pair[0].event_id.next()),
                "a write's events have consecutive ids"
            );
            if self.next() != Some(first.event_id) {
                self.clear();
            }
            self.bytes += written.bytes;
            self.writes.push_back(written);
        }
        while let Some(oldest) = self.writes.front()
            && (self.bytes > RECENT_EVENTS_BYTES_MAX || last_id(oldest) < Some(keep_from))
        {
            self.bytes -= oldest.bytes;
            self.writes.pop_front();
        }
    }

    /// The run's events from `from` on: these (moved out), then `then` (the events of the
    /// write being planned, which must follow these; copied). `None` unless every one of
    /// them is at hand.
    pub(super) fn into_events_since(
        self,
        from: EventId,
        then: &[HistoryEvent],
    ) -> Option<Vec<HistoryEvent>> {
        let then_first = then.first()?.event_id;
        let mut events = Vec::new();
        if from < then_first {
            let first_here = self.writes.front()?.events.first()?.event_id;
            if first_here > from || self.next() != Some(then_first) {
                return None;
            }
            for written in self.writes {
                events.extend(
                    written
                        .events
                        .into_iter()
                        .filter(|event| event.event_id >= from),
                );
            }
        }
        events.extend(then.iter().filter(|event| event.event_id >= from).cloned());
        // They start where the worker asks, or they are not the ones it needs.
        (events.first().map(|event| event.event_id) == Some(from)).then_some(events)
    }

    /// The id the run's next event gets, as far as these know.
    fn next(&self) -> Option<EventId> {
        self.writes.back().and_then(last_id).map(EventId::next)
    }

    fn clear(&mut self) {
        self.writes.clear();
        self.bytes = 0;
    }
}

fn last_id(written: &Written) -> Option<EventId> {
    written.events.last().map(|event| event.event_id)
}

#[cfg(test)]
mod tests {
    use endure_core::history::{EventAttributes, TimerFiredEventAttributes};
    use endure_core::time::Timestamp;
    use endure_core::{EventId, TimerId};

    use super::*;

    fn event(id: u64) -> HistoryEvent {
        HistoryEvent {
            event_id: EventId::new(id).unwrap(),
            event_time: Timestamp::from_unix_seconds(1_795_860_000),
            attributes: EventAttributes::TimerFired(TimerFiredEventAttributes {
                timer_id: TimerId::new("t").unwrap(),
                started_event_id: EventId::FIRST,
            }),
        }
    }

    /// A write of the events `ids`, counted as `bytes`.
    fn write(ids: std::ops::RangeInclusive<u64>, bytes: u64) -> Written {
        Written {
            events: ids.map(event).collect(),
            bytes,
        }
    }

    fn ids(events: Option<Vec<HistoryEvent>>) -> Option<Vec<u64>> {
        events.map(|events| events.iter().map(|event| event.event_id.get()).collect())
    }

    fn id(id: u64) -> EventId {
        EventId::new(id).unwrap()
    }

    #[test]
    fn the_events_from_a_sticky_tasks_start_come_from_the_kept_writes_and_the_new_one() {
        let mut recent = RecentEvents::default();
        recent.push(write(4..=5, 100), id(4));
        recent.push(write(6..=6, 50), id(4));
        let then: Vec<_> = (7..=9).map(event).collect();
        assert_eq!(
            ids(recent.clone().into_events_since(id(4), &then)),
            Some(vec![4, 5, 6, 7, 8, 9])
        );
        assert_eq!(
            ids(recent.clone().into_events_since(id(5), &then)),
            Some(vec![5, 6, 7, 8, 9])
        );
        // From within the new write, or from the first event of a new run: the write alone.
        assert_eq!(
            ids(recent.clone().into_events_since(id(8), &then)),
            Some(vec![8, 9])
        );
        let none = RecentEvents::default();
        let first: Vec<_> = (1..=3).map(event).collect();
        assert_eq!(
            ids(none.clone().into_events_since(EventId::FIRST, &first)),
            Some(vec![1, 2, 3])
        );
    }

    #[test]
    fn events_not_all_at_hand_are_none() {
        let mut recent = RecentEvents::default();
        recent.push(write(4..=5, 100), id(4));
        // Asked from before what is kept.
        let then: Vec<_> = (6..=7).map(event).collect();
        assert_eq!(ids(recent.clone().into_events_since(id(3), &then)), None);
        // A write that does not follow what is kept (events in between were not kept).
        let later: Vec<_> = (8..=9).map(event).collect();
        assert_eq!(ids(recent.clone().into_events_since(id(4), &later)), None);
        // Nothing kept, asked from before the write.
        assert_eq!(
            ids(RecentEvents::default().into_events_since(id(4), &then)),
            None
        );
        // A write without events hands nothing over.
        assert_eq!(ids(recent.clone().into_events_since(id(4), &[])), None);
    }

    #[test]
    fn a_write_that_does_not_follow_replaces_what_is_kept() {
        let mut recent = RecentEvents::default();
        recent.push(write(4..=5, 100), id(4));
        recent.push(write(9..=10, 100), id(4));
        assert_eq!(recent.bytes, 100);
        let then: Vec<_> = (11..=11).map(event).collect();
        assert_eq!(
            ids(recent.clone().into_events_since(id(9), &then)),
            Some(vec![9, 10, 11])
        );
        assert_eq!(ids(recent.clone().into_events_since(id(4), &then)), None);
    }

    #[test]
    fn writes_before_the_last_completed_task_and_the_oldest_over_the_limit_go() {
        let mut recent = RecentEvents::default();
        recent.push(write(4..=5, 100), id(4));
        recent.push(write(6..=9, 100), id(4));
        // The task started at 9 completed: a sticky task now asks from 10 on.
        recent.push(write(10..=11, 100), id(10));
        assert_eq!(recent.writes.len(), 1);
        assert_eq!(recent.bytes, 100);
        // A write that stays only partly needed is kept whole.
        recent.push(write(12..=14, 100), id(13));
        assert_eq!(recent.writes.len(), 1);
        assert_eq!(recent.next(), Some(id(15)));
        // Over the limit: the oldest writes go until it holds.
        recent.push(write(15..=15, RECENT_EVENTS_BYTES_MAX - 50), id(13));
        assert_eq!(recent.writes.len(), 1);
        assert_eq!(recent.bytes, RECENT_EVENTS_BYTES_MAX - 50);
        let then: Vec<_> = (16..=16).map(event).collect();
        assert_eq!(ids(recent.clone().into_events_since(id(13), &then)), None);
        assert_eq!(
            ids(recent.clone().into_events_since(id(15), &then)),
            Some(vec![15, 16])
        );
        // A write of no events only trims.
        recent.push(Written::default(), id(16));
        assert!(recent.writes.is_empty());
        assert_eq!(recent.bytes, 0);
    }
}
