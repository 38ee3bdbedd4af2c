//! Structural checks of a whole history: dense ids, valid back-references, one start, one
//! close at the end. Run by tests, by the simulator's checkers, and on histories read back.

use super::event::{EventType, HistoryEvent};
use crate::ids::EventId;

/// The first way a history is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The history has no events.
    #[error("history is empty; it must start with WorkflowExecutionStarted")]
    Empty,
    /// The first event is not WorkflowExecutionStarted, or another one appears later.
    #[error(
        "event {event_id} is {found}; WorkflowExecutionStarted must be the first event and only the first"
    )]
    MisplacedStart {
        /// The offending event.
        event_id: EventId,
        /// Its type.
        found: EventType,
    },
    /// Event ids are not 1, 2, 3, … in order.
    #[error(
        "event at position {position} has id {found}; expected {expected} (ids are dense from 1)"
    )]
    NonDenseId {
        /// Zero-based position in the list.
        position: usize,
        /// The id it should have.
        expected: u64,
        /// The id it has.
        found: EventId,
    },
    /// A back-reference names this event, a later one, or none.
    #[error(
        "event {event_id} ({event_type}) has {field} = {target}, which is not an earlier event"
    )]
    DanglingReference {
        /// The referring event.
        event_id: EventId,
        /// Its type.
        event_type: EventType,
        /// The attribute.
        field: &'static str,
        /// The id it names.
        target: EventId,
    },
    /// A back-reference names an event of the wrong type.
    #[error(
        "event {event_id} ({event_type}) has {field} = {target}, a {target_type}; expected {expected:?}"
    )]
    WrongReferenceType {
        /// The referring event.
        event_id: EventId,
        /// Its type.
        event_type: EventType,
        /// The attribute.
        field: &'static str,
        /// The id it names.
        target: EventId,
        /// The named event's type.
        target_type: EventType,
        /// The types allowed there.
        expected: &'static [EventType],
    },
    /// An event follows the event that closed the run.
    #[error("event {event_id} ({event_type}) follows the closing event {closed_by}")]
    EventAfterClose {
        /// The event after the close.
        event_id: EventId,
        /// Its type.
        event_type: EventType,
        /// The closing event.
        closed_by: EventId,
    },
}

/// Checks a complete history of one run, from its first event.
pub fn check_well_formed(events: &[HistoryEvent]) -> Result<(), HistoryError> {
    let first = events.first().ok_or(HistoryError::Empty)?;
    if first.event_type() != EventType::WorkflowExecutionStarted {
        return Err(HistoryError::MisplacedStart {
            event_id: first.event_id,
            found: first.event_type(),
        });
    }
    let mut closed_by: Option<EventId> = None;
    for (position, event) in events.iter().enumerate() {
        let expected = position as u64 + 1;
        if event.event_id.get() != expected {
            return Err(HistoryError::NonDenseId {
                position,
                expected,
                found: event.event_id,
            });
        }
        let event_type = event.event_type();
        if let Some(closed_by) = closed_by {
            return Err(HistoryError::EventAfterClose {
                event_id: event.event_id,
                event_type,
                closed_by,
            });
        }
        if position > 0 && event_type == EventType::WorkflowExecutionStarted {
            return Err(HistoryError::MisplacedStart {
                event_id: event.event_id,
                found: event_type,
            });
        }
        for reference in event.attributes.back_references() {
            if reference.target >= event.event_id {
                return Err(HistoryError::DanglingReference {
                    event_id: event.event_id,
                    event_type,
                    field: reference.field,
                    target: reference.target,
                });
            }
            // Ids are dense and checked above, so the target sits at index id - 1.
            let target = &events[(reference.target.get() - 1) as usize];
            debug_assert_eq!(target.event_id, reference.target);
            let target_type = target.event_type();
            if !reference.allowed.is_empty() && !reference.allowed.contains(&target_type) {
                return Err(HistoryError::WrongReferenceType {
                    event_id: event.event_id,
                    event_type,
                    field: reference.field,
                    target: reference.target,
                    target_type,
                    expected: reference.allowed,
                });
            }
        }
        if event_type.is_closing() {
            closed_by = Some(event.event_id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::samples::quickstart_history;
    use crate::history::{EventAttributes, TimerFiredEventAttributes};
    use crate::ids::TimerId;

    fn id(value: u64) -> EventId {
        EventId::new(value).unwrap()
    }

    #[test]
    fn quickstart_history_is_well_formed() {
        let history = quickstart_history();
        assert_eq!(history.events.len(), 16);
        history.check().unwrap();
        assert_eq!(history.next_event_id(), id(17));
        assert_eq!(
            history.event(id(12)).map(HistoryEvent::event_type),
            Some(EventType::TimerFired)
        );
    }

    #[test]
    fn empty_and_misplaced_start() {
        assert_eq!(check_well_formed(&[]), Err(HistoryError::Empty));
        let events = quickstart_history().events;
        assert_eq!(
            check_well_formed(&events[1..]),
            Err(HistoryError::MisplacedStart {
                event_id: id(2),
                found: EventType::WorkflowTaskScheduled
            })
        );
        let mut twice = events.clone();
        twice[1] = HistoryEvent {
            event_id: id(2),
            ..events[0].clone()
        };
        assert_eq!(
            check_well_formed(&twice),
            Err(HistoryError::MisplacedStart {
                event_id: id(2),
                found: EventType::WorkflowExecutionStarted
            })
        );
    }

    #[test]
    fn ids_must_be_dense() {
        let mut events = quickstart_history().events;
        events.remove(4);
        assert_eq!(
            check_well_formed(&events),
            Err(HistoryError::NonDenseId {
                position: 4,
                expected: 5,
                found: id(6)
            })
        );
    }

    #[test]
    fn references_must_point_back_to_the_right_type() {
        let mut events = quickstart_history().events;
        let fired = |started_event_id| {
            EventAttributes::TimerFired(TimerFiredEventAttributes {
                timer_id: TimerId::new("1").unwrap(),
                started_event_id,
            })
        };
        events[11].attributes = fired(id(12));
        assert_eq!(
            check_well_formed(&events),
            Err(HistoryError::DanglingReference {
                event_id: id(12),
                event_type: EventType::TimerFired,
                field: "started_event_id",
                target: id(12)
            })
        );
        events[11].attributes = fired(id(10));
        assert_eq!(
            check_well_formed(&events),
            Err(HistoryError::WrongReferenceType {
                event_id: id(12),
                event_type: EventType::TimerFired,
                field: "started_event_id",
                target: id(10),
                target_type: EventType::WorkflowTaskCompleted,
                expected: &[EventType::TimerStarted],
            })
        );
    }

    #[test]
    fn nothing_follows_the_close() {
        let mut events = quickstart_history().events;
        let mut extra = events[12].clone();
        extra.event_id = id(17);
        events.push(extra);
        assert_eq!(
            check_well_formed(&events),
            Err(HistoryError::EventAfterClose {
                event_id: id(17),
                event_type: EventType::WorkflowTaskScheduled,
                closed_by: id(16)
            })
        );
    }
}
