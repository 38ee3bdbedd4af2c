//! A shard's writes in flight, and what each does once it is durable (DESIGN §5).
//!
//! A shard hands a transition's write to the group-commit writer and goes on with the next
//! message instead of waiting, so the writes of many of its workflows share one commit.
//! Nothing of a write leaves before it is durable: the reply, the tasks handed to pollers,
//! the cache, the deadlines and the backlog rows wait in its [`Settle`] until its result
//! comes. A shard keeps at most one write per workflow id in flight — a message for a
//! workflow id whose write is in flight waits for it to settle first — so every read of a
//! workflow's state, in the cache or in storage, sees only what is durable. The writer
//! commits in the order it is given, so writes settle front first.

use std::collections::VecDeque;

use endure_core::execution::{ExecutionMachine, HistoryWarning, Reply};
use endure_core::history::HistoryEvent;
use endure_core::storage::{DispatchKey, DispatchRow, ExecutionKey};
use endure_core::time::Timestamp;
use endure_core::{Namespace, UpdateId, UpdateNotice, WorkflowId};
use tokio::sync::oneshot;

use super::api::{EngineError, StartWorkflowResponse};
use super::matching::{Handoff, Poller};
use super::shard::Written;
use super::writer::WriteResult;

/// A write in flight, to be waited for or given its answer, once.
#[must_use = "a write in flight is waited for or given the answer it settles with"]
pub(crate) struct Ticket(u64);

/// What a write does once it is durable; if it fails, only its run is evicted and its
/// answer gets the error.
pub(crate) struct Settle {
    /// The run the write changed; evicted from the cache if the write fails.
    pub(crate) key: ExecutionKey,
    /// Whether the write closed the run (its result waiters are woken, and handed the
    /// closing event if there is one).
    pub(crate) closed: bool,
    /// The closing event of the run the write closed.
    pub(crate) closing_event: Option<HistoryEvent>,
    pub(crate) warnings: Vec<HistoryWarning>,
    pub(crate) updates: Vec<(UpdateId, UpdateNotice)>,
    /// Runs to cache.
    pub(crate) remember: Vec<Remembered>,
    /// Per run: the deadline to arm and the task rows to hand to matching or the outbox.
    pub(crate) released: Vec<(ExecutionKey, Vec<DispatchRow>, Option<Timestamp>)>,
    /// Tasks recorded as started in the write, for the pollers waiting for them.
    pub(crate) handoffs: Vec<(Poller, Handoff)>,
    /// The shard's outbox rows the write deleted (their work done).
    pub(crate) outbox_deleted: Vec<DispatchKey>,
    pub(crate) answer: Answer,
}

impl Settle {
    /// A write of `key` that does nothing more once durable (fill in the rest).
    pub(crate) fn new(key: ExecutionKey) -> Self {
        Self {
            key,
            closed: false,
            closing_event: None,
            warnings: Vec::new(),
            updates: Vec::new(),
            remember: Vec::new(),
            released: Vec::new(),
            handoffs: Vec::new(),
            outbox_deleted: Vec::new(),
            answer: Answer::Nobody,
        }
    }
}

/// A run to cache once its write is durable.
pub(crate) struct Remembered {
    /// The run.
    pub(crate) key: ExecutionKey,
    /// Its machine as the write left it.
    pub(crate) machine: ExecutionMachine,
    /// Its db version after the write.
    pub(crate) db_version: u64,
    /// The latest time it has seen.
    pub(crate) seen: Timestamp,
    /// The events the write appended to it (none when the run does not stay cached).
    pub(crate) written: Written,
}

/// A signal's sender and the outcome it gets if its batch's write is durable.
pub(crate) type SignalAnswer = (
    oneshot::Sender<Result<Reply, EngineError>>,
    Result<Reply, EngineError>,
);

/// Who waits for a write, and what they are told once it is durable.
#[derive(Default)]
pub(crate) enum Answer {
    /// Nobody: the engine's own write (a deadline's transition is retried if it fails).
    #[default]
    Nobody,
    /// A deadline's transition: if it fails the run's deadline is armed again.
    Deadline(ExecutionKey),
    /// An input's sender.
    Apply(oneshot::Sender<Result<Reply, EngineError>>, Reply),
    /// The senders of a batch of signals, each with its own outcome.
    Signals(Vec<SignalAnswer>),
    /// A start's sender.
    Start(
        oneshot::Sender<Result<StartWorkflowResponse, EngineError>>,
        StartWorkflowResponse,
    ),
}

impl Answer {
    /// Tells the waiters the write is durable; `failed` is the error if it is not.
    pub(crate) fn send(self, failed: Option<&EngineError>) {
        match self {
            Self::Nobody | Self::Deadline(_) => {}
            Self::Apply(reply, value) => {
                let _ = reply.send(unless(failed, value));
            }
            Self::Signals(replies) => {
                for (reply, outcome) in replies {
                    let _ = reply.send(match failed {
                        // Nothing of the batch is written: every signal of it fails alike.
                        Some(error) => Err(error.clone()),
                        None => outcome,
                    });
                }
            }
            Self::Start(reply, value) => {
                let _ = reply.send(unless(failed, value));
            }
        }
    }
}

/// `value`, unless the write failed.
fn unless<T>(failed: Option<&EngineError>, value: T) -> Result<T, EngineError> {
    failed.map_or(Ok(value), |error| Err(error.clone()))
}

/// A write's result as the engine reports it; a writer gone before answering means the
/// engine is shutting down.
fn outcome(result: Result<WriteResult, oneshot::error::RecvError>) -> Result<(), EngineError> {
    match result.map_err(|_| EngineError::Shutdown)? {
        Ok(Ok(())) => Ok(()),
        Ok(Err(rejection)) => Err(EngineError::Conflict(rejection)),
        Err(error) => Err(error.into()),
    }
}

struct Entry {
    number: u64,
    namespace: Namespace,
    workflow_id: WorkflowId,
    result: oneshot::Receiver<WriteResult>,
    settle: Settle,
}

/// The writes in flight, oldest first.
#[derive(Default)]
pub(crate) struct InFlight {
    entries: VecDeque<Entry>,
    next: u64,
}

impl InFlight {
    /// Adds a write whose result comes on `result`.
    pub(crate) fn push(
        &mut self,
        (namespace, workflow_id): (Namespace, WorkflowId),
        result: oneshot::Receiver<WriteResult>,
        settle: Settle,
    ) -> Ticket {
        debug_assert!(
            self.last_of(&namespace, &workflow_id).is_none(),
            "at most one write per workflow id in flight"
        );
        let number = self.next;
        self.next += 1;
        metrics::gauge!(super::instruments::WRITES_IN_FLIGHT).increment(1.0);
        self.entries.push_back(Entry {
            number,
            namespace,
            workflow_id,
            result,
            settle,
        });
        Ticket(number)
    }

    /// Gives the write of `ticket` the answer it settles with.
    pub(crate) fn answer(&mut self, ticket: Ticket, answer: Answer) {
        let entry = self
            .entries
            .iter_mut()
            .find(|entry| entry.number == ticket.0);
        debug_assert!(
            entry.is_some(),
            "a ticket is answered before anything settles"
        );
        match entry {
            Some(entry) => entry.settle.answer = answer,
            // Unreachable by the invariant above; the waiter learns nothing was answered.
            None => answer.send(Some(&EngineError::Shutdown)),
        }
    }

    /// The number of the write `ticket` stands for.
    pub(crate) fn number(ticket: Ticket) -> u64 {
        ticket.0
    }

    /// The number of the write of this workflow id in flight, if any.
    pub(crate) fn last_of(&self, namespace: &Namespace, workflow_id: &WorkflowId) -> Option<u64> {
        self.entries
            .iter()
            .rev()
            .find(|entry| &entry.workflow_id == workflow_id && &entry.namespace == namespace)
            .map(|entry| entry.number)
    }

    /// Waits for the oldest write's result (cancel-safe: the write stays in front until it
    /// is popped); `None` when nothing is in flight.
    pub(crate) async fn front_result(&mut self) -> Option<Result<(), EngineError>> {
        let entry = self.entries.front_mut()?;
        Some(outcome((&mut entry.result).await))
    }

    /// How many writes are in flight.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Removes the oldest write once its result came: its number and what it does.
    pub(crate) fn pop_front(&mut self) -> Option<(u64, Settle)> {
        let entry = self.entries.pop_front()?;
        metrics::gauge!(super::instruments::WRITES_IN_FLIGHT).decrement(1.0);
        Some((entry.number, entry.settle))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // A shard stopping with writes unanswered: they leave the gauge with it.
        metrics::gauge!(super::instruments::WRITES_IN_FLIGHT).decrement(self.entries.len() as f64);
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use endure_core::storage::{RangeId, ShardId, StorageError, WriteRejection};

    use super::*;

    fn key() -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::default_namespace(),
            workflow_id: WorkflowId::new("a").unwrap(),
            run_id: endure_core::RunId::from_u128(1),
        }
    }

    fn workflow(id: &str) -> (Namespace, WorkflowId) {
        (Namespace::default_namespace(), WorkflowId::new(id).unwrap())
    }

    #[tokio::test]
    async fn writes_settle_oldest_first_and_each_workflow_id_is_found_until_then() {
        let mut in_flight = InFlight::default();
        let (first_sender, first) = oneshot::channel();
        let (second_sender, second) = oneshot::channel();
        let a = in_flight.push(workflow("a"), first, Settle::new(key()));
        let b = in_flight.push(workflow("b"), second, Settle::new(key()));
        let (a, b) = (InFlight::number(a), InFlight::number(b));
        let (namespace, id_a) = workflow("a");
        let (_, id_b) = workflow("b");
        assert_eq!(in_flight.last_of(&namespace, &id_a), Some(a));
        assert_eq!(in_flight.last_of(&namespace, &id_b), Some(b));
        assert_eq!(
            in_flight.last_of(&namespace, &WorkflowId::new("c").unwrap()),
            None
        );
        second_sender.send(Ok(Ok(()))).unwrap();
        let lost = WriteRejection::ShardOwnershipLost {
            shard: ShardId(0),
            expected: RangeId(1),
            actual: RangeId(2),
        };
        first_sender.send(Ok(Err(lost))).unwrap();
        // The front is the oldest even though the later write's result came first.
        assert!(matches!(
            in_flight.front_result().await,
            Some(Err(EngineError::Conflict(
                WriteRejection::ShardOwnershipLost { .. }
            )))
        ));
        assert_eq!(in_flight.pop_front().map(|(number, _)| number), Some(a));
        assert_eq!(in_flight.last_of(&namespace, &id_a), None);
        assert!(matches!(in_flight.front_result().await, Some(Ok(()))));
        assert_eq!(in_flight.pop_front().map(|(number, _)| number), Some(b));
        assert!(in_flight.front_result().await.is_none());
    }

    #[tokio::test]
    async fn a_writer_gone_or_failing_is_an_error_for_its_write() {
        let mut in_flight = InFlight::default();
        let (sender, result) = oneshot::channel();
        let _ticket = in_flight.push(workflow("a"), result, Settle::new(key()));
        drop(sender);
        assert!(matches!(
            in_flight.front_result().await,
            Some(Err(EngineError::Shutdown))
        ));
        let _ = in_flight.pop_front();
        let (sender, result) = oneshot::channel();
        let _ticket = in_flight.push(workflow("a"), result, Settle::new(key()));
        sender
            .send(Err(StorageError::Io("disk gone".into())))
            .unwrap();
        assert!(matches!(
            in_flight.front_result().await,
            Some(Err(EngineError::Storage(_)))
        ));
    }

    #[tokio::test]
    async fn a_signal_batch_gets_its_outcomes_when_durable_and_the_error_when_not() {
        for failed in [None, Some(EngineError::Shutdown)] {
            let (first, first_reply) = oneshot::channel();
            let (second, second_reply) = oneshot::channel();
            Answer::Signals(vec![
                (first, Ok(Reply::Accepted)),
                (second, Ok(Reply::Duplicate)),
            ])
            .send(failed.as_ref());
            let (first, second) = (first_reply.await.unwrap(), second_reply.await.unwrap());
            match failed {
                None => assert_eq!((first, second), (Ok(Reply::Accepted), Ok(Reply::Duplicate))),
                Some(_) => assert!(first.is_err() && second.is_err()),
            }
        }
    }
}
