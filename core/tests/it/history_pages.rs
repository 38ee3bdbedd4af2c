//! `HistoryPage::cut`: the one place a history page is cut, by every store and by an
//! engine handing over events it has just written.

use endure_core::codec::encoded_size;
use endure_core::history::{
    EventAttributes, HistoryEvent, WorkflowExecutionSignaledEventAttributes,
};
use endure_core::storage::{HISTORY_PAGE_BYTES_MAX, HistoryPage};
use endure_core::time::Timestamp;
use endure_core::*;

/// An event of a little over `bytes` encoded bytes (a signal carrying that much input).
fn event(id: u64, bytes: usize) -> HistoryEvent {
    HistoryEvent {
        event_id: EventId::new(id).unwrap(),
        event_time: Timestamp::from_unix_seconds(1_795_860_000),
        attributes: EventAttributes::WorkflowExecutionSignaled(
            WorkflowExecutionSignaledEventAttributes {
                signal_name: SignalName::new("s").unwrap(),
                input: Payloads::one(Payload::binary(vec![1u8; bytes])),
                identity: String::new(),
                header: Header::new(),
                request_id: None,
                external_workflow_execution: None,
            },
        ),
    }
}

fn ids(page: &HistoryPage) -> Vec<u64> {
    page.events
        .iter()
        .map(|event| event.event_id.get())
        .collect()
}

#[test]
fn small_events_fit_one_page_with_nothing_after_it() {
    let page = HistoryPage::cut((1..=5).map(|id| event(id, 10)));
    assert_eq!(ids(&page), [1, 2, 3, 4, 5]);
    assert_eq!(page.next_event_id, None);
    assert_eq!(HistoryPage::cut(Vec::new()), HistoryPage::default());
}

#[test]
fn a_page_is_cut_once_it_holds_the_most_bytes_and_names_the_next_event() {
    // One event larger than a page still makes a page (progress), and the next one starts
    // the next page.
    let page = HistoryPage::cut([event(1, HISTORY_PAGE_BYTES_MAX), event(2, 10)]);
    assert_eq!(ids(&page), [1]);
    assert_eq!(page.next_event_id, EventId::new(2));

    // Below the limit the page goes on taking events; the one that reaches it is the last.
    let half = HISTORY_PAGE_BYTES_MAX / 2;
    let events = [event(1, half), event(2, half), event(3, 10), event(4, 10)];
    assert!(encoded_size(&events[0]) < HISTORY_PAGE_BYTES_MAX);
    assert!(encoded_size(&events[0]) + encoded_size(&events[1]) >= HISTORY_PAGE_BYTES_MAX);
    let page = HistoryPage::cut(events);
    assert_eq!(ids(&page), [1, 2]);
    assert_eq!(page.next_event_id, EventId::new(3));
}
