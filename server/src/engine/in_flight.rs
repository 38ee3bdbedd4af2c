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
use endure_core::storage::{DispatchRow, ExecutionKey};
use endure_core::time::Timestamp;
use endure_core::{Namespace, UpdateId, UpdateNotice, WorkflowId};
use tokio::sync::oneshot;

use super::api::{EngineError, StartWorkflowResponse};
use super::matching::{Handoff, Poller};
use super::writer::WriteResult;

/// A write in flight, to be waited for or given its answer, once.
#[must_use = "a write in flight is waited for or given the answer it settles with"]
pub(crate) struct Ticket(u64);

/// What a write does once it is durable; if it fails, only its run is evicted and its
/// answer gets the error.
#[derive(Default)]
pub(crate) struct Settle {
    /// The run the write changed; evicted from the cache if the write fails.
    pub(crate) key: Option<ExecutionKey>,
    /// Whether the write closed the run (its result waiters are woken).
    pub(crate) closed: bool,
    pub(crate) warnings: Vec<HistoryWarning>,
    pub(crate) updates: Vec<(UpdateId, UpdateNotice)>,
    /// Runs to cache: machine, db version, latest time seen.
    pub(crate) remember: Vec<(ExecutionKey, ExecutionMachine, u64, Timestamp)>,
    /// Per run: the deadline to arm and the task rows to hand to matching or the outbox.
    pub(crate) released: Vec<(ExecutionKey, Vec<DispatchRow>, Option<Timestamp>)>,
    /// Tasks recorded as started in the write, for the pollers waiting for them.
    pub(crate) handoffs: Vec<(Poller, Handoff)>,
    pub(crate) answer: Answer,
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
                let _ = reply.send(failed.map_or(Ok(value), |error| Err(error.clone())));
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
                let _ = reply.send(failed.map_or(Ok(value), |error| Err(error.clone())));
            }
        }
    }
}

/// A write's result as the engine reports it; a writer gone before answering means the
/// engine is shutting down.
pub(crate) fn outcome(
    result: Result<WriteResult, oneshot::error::RecvError>,
) -> Result<(), EngineError> {
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

    /// Removes the oldest write once its result came: its number and what it does.
    pub(crate) fn pop_front(&mut self) -> Option<(u64, Settle)> {
        self.entries
            .pop_front()
            .map(|entry| (entry.number, entry.settle))
    }
}
