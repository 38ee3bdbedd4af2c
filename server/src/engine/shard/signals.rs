//! Client signals, batched: the signals waiting for one run are applied in one transition.

use endure_core::clock::Clock;
use endure_core::execution::{Effects, ExecutionMachine, Input, Reply};
use endure_core::storage::{ExecutionKey, RequestRecord, Storage};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::actor::{SIGNAL_BATCH_MAX, Shard, request_record};
use super::messages::ShardMessage;
use super::plan::{Before, Changes};
use crate::engine::api::EngineError;
use crate::engine::in_flight::{Answer, Ticket};

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Handles `message`; a client signal is applied together with the signals to the same
    /// run queued right behind it — one transition, one write (DESIGN §5: inputs arriving
    /// while a write is in flight are applied together). The first message of another kind
    /// ends the batch and is handled next, so the shard's order is kept.
    pub(super) async fn handle_batched(
        &mut self,
        message: ShardMessage,
        inbox: &mut mpsc::Receiver<ShardMessage>,
        stash: &mut std::collections::VecDeque<ShardMessage>,
    ) {
        let ShardMessage::Apply {
            execution,
            input,
            dispatched: None,
            reply,
        } = message
        else {
            return self.handle(message).await;
        };
        if !matches!(*input, Input::Signal(_)) {
            return self
                .handle(ShardMessage::Apply {
                    execution,
                    input,
                    dispatched: None,
                    reply,
                })
                .await;
        }
        let mut batch = vec![(*input, reply)];
        while batch.len() < SIGNAL_BATCH_MAX && stash.is_empty() {
            match inbox.try_recv() {
                Ok(ShardMessage::Apply {
                    execution: next,
                    input,
                    dispatched: None,
                    reply,
                }) if next == execution && matches!(*input, Input::Signal(_)) => {
                    batch.push((*input, reply));
                }
                Ok(other) => stash.push_back(other),
                Err(_) => break,
            }
        }
        if batch.len() == 1 {
            let (input, reply) = batch.remove(0);
            let result = self.transition(&execution, input, None).await;
            self.answer(result, reply);
            return;
        }
        let (inputs, replies): (Vec<Input>, Vec<_>) = batch.into_iter().unzip();
        let (outcomes, ticket) = self.signal_transition(&execution, inputs).await;
        debug_assert_eq!(outcomes.len(), replies.len(), "one outcome per signal");
        let answers = replies.into_iter().zip(outcomes).collect();
        match ticket {
            Some(ticket) => self.in_flight.answer(ticket, Answer::Signals(answers)),
            None => Answer::Signals(answers).send(None),
        }
    }

    /// Replies to an input's sender: now, or once its write is durable.
    pub(super) fn answer(
        &mut self,
        result: Result<(Reply, Option<Ticket>), EngineError>,
        reply: oneshot::Sender<Result<Reply, EngineError>>,
    ) {
        match result {
            Ok((value, Some(ticket))) => self.in_flight.answer(ticket, Answer::Apply(reply, value)),
            Ok((value, None)) => {
                let _ = reply.send(Ok(value));
            }
            Err(error) => {
                let _ = reply.send(Err(error));
            }
        }
    }

    /// Applies several client signals to one run as one transition made durable by one
    /// write: each is deduplicated by its request id, refused alone or applied in order,
    /// and answered with its own outcome once the write (the ticket's) is durable.
    pub(super) async fn signal_transition(
        &mut self,
        key: &ExecutionKey,
        inputs: Vec<Input>,
    ) -> (Vec<Result<Reply, EngineError>>, Option<Ticket>) {
        let span = super::actor::run_span("signals", key);
        if span.is_disabled() {
            self.signals_in(key, inputs).await
        } else {
            self.signals_in(key, inputs).instrument(span).await
        }
    }

    /// [`signal_transition`](Self::signal_transition) inside its span.
    async fn signals_in(
        &mut self,
        key: &ExecutionKey,
        inputs: Vec<Input>,
    ) -> (Vec<Result<Reply, EngineError>>, Option<Ticket>) {
        let count = inputs.len();
        self.settle_workflow(&key.namespace, &key.workflow_id).await;
        let (machine, db_version, seen) = match self.load(key).await {
            Ok(loaded) => loaded,
            Err(error) => return (vec![Err(error); count], None),
        };
        let now = self.parts.clock.now().max(seen);
        let mut next = ExecutionMachine::clone(&machine);
        let mut merged = Effects::default();
        let mut records: Vec<RequestRecord> = Vec::new();
        let mut outcomes = Vec::with_capacity(count);
        for input in inputs {
            let record = request_record(key, &input);
            let in_batch = record
                .as_ref()
                .is_some_and(|record| records.iter().any(|r| r.request_id == record.request_id));
            match self.recorded(record.as_ref()).await {
                Ok(recorded) if recorded || in_batch => {
                    outcomes.push(Ok(Reply::Duplicate));
                    continue;
                }
                Ok(_) => {}
                Err(error) => return (vec![Err(error); count], None),
            }
            match next.apply(input, now) {
                Ok(effects) => {
                    debug_assert!(effects.next_run.is_none(), "a signal starts no run");
                    if effects.reply != Reply::Duplicate {
                        records.extend(record);
                    }
                    outcomes.push(Ok(effects.reply));
                    merged.events.extend(effects.events);
                    merged.tasks.extend(effects.tasks);
                    merged.updates.extend(effects.updates);
                    merged.warnings.extend(effects.warnings);
                }
                Err(rejected) => outcomes.push(Err(rejected.into())),
            }
        }
        let before = Before {
            machine: &machine,
            db_version,
            seen,
        };
        let changes = Changes {
            request_records: records,
            ..Changes::default()
        };
        match self.write_transition(key, before, next, merged, changes, now) {
            Ok(ticket) => (outcomes, ticket),
            // Nothing of the batch is written: every signal of it fails alike.
            Err(error) => (vec![Err(error); count], None),
        }
    }
}
