//! A shard: the single writer of its workflow ids' executions.
//!
//! The actor takes one message at a time: it loads the execution machine (cache, else
//! storage), applies the input at the clock's `now`, turns the effects into one conditional
//! write and hands it to the group-commit writer. It goes on with other workflow ids while
//! the write commits ([`InFlight`]: at most one write per workflow id in flight); only once
//! the write is durable does it update its cache, offer new tasks to matching, arm the run's
//! deadline and reply. A failed write evicts the execution from the cache. Deadlines are kept
//! in memory (one per run, mirrored by the durable deadline row) and fire through the same
//! path.

use std::collections::BTreeMap;
use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::execution::{
    Effects, ExecutionMachine, Input, NextRun, Reply, ResetFork, ResetRequest, SignalRequest,
    StartDecision, StartFacts, StartKind, StartRequest, Task, WorkflowTaskKind, decide_start,
};
use endure_core::history::{EventAttributes, HistoryEvent, ParentExecutionInfo};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{
    EventId, Namespace, RequestId, RunId, TaskQueueName, UpdateRequest, WorkflowExecutionStatus,
    WorkflowId,
};
use tokio::sync::{mpsc, oneshot};

use super::Closings;
use super::api::{EngineError, StartWorkflowRequest, StartWorkflowResponse};
use super::deadlines::{self, Deadlines};
use super::in_flight::{Answer, InFlight, Settle, Ticket};
use super::matching::{Handoff, Matching, Poller, TaskKind};
use super::namespaces::Namespaces;
use super::updates::UpdateWaiters;
use super::writer::CommitRequest;

/// Most executions a shard keeps in memory; the least recently used go first.
const CACHE_MAX: usize = 10_000;

/// Most outbox rows loaded at recovery (each run has at most a few thousand pending).
const RECOVERY_OUTBOX_MAX: usize = 1_000_000;

/// Most client signals to one run applied in one transition.
const SIGNAL_BATCH_MAX: usize = 256;

/// How long a deletion that could not happen now waits before it is tried again.
const RETENTION_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// Most runs after the base run whose signals and updates a reset reapplies.
const RESET_SUCCESSORS_MAX: usize = 1_000;

/// A message to a shard.
pub(crate) enum ShardMessage {
    /// Start a workflow.
    Start {
        request: Box<StartWorkflowRequest>,
        /// Signal-with-start: signal the running run, or start one with this signal.
        signal: Option<Box<SignalRequest>>,
        /// Update-with-start: update the running run, or start one that takes it.
        update: Option<Box<UpdateRequest>>,
        /// For a child workflow: its parent.
        parent: Option<Box<ParentExecutionInfo>>,
        reply: oneshot::Sender<Result<StartWorkflowResponse, EngineError>>,
    },
    /// Apply an input to a run; `dispatched` is the backlog row of a task being started.
    Apply {
        execution: ExecutionKey,
        input: Box<Input>,
        dispatched: Option<DispatchKey>,
        reply: oneshot::Sender<Result<Reply, EngineError>>,
    },
    /// Reset a run: a new run forked from its history; the current run, if open, ends.
    Reset {
        execution: ExecutionKey,
        request: Box<ResetRequest>,
        reply: oneshot::Sender<Result<RunId, EngineError>>,
    },
    /// Delete a closed run.
    Delete {
        execution: ExecutionKey,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
}

/// What woke a shard's loop.
enum Woke {
    /// The oldest write in flight has its result.
    Settled(Result<(), EngineError>),
    /// A message came, or (`None`) every sender is gone.
    Message(Option<ShardMessage>),
    /// A deadline may be due.
    Deadline,
}

/// Weak handles to every shard: how the engine's own workers (the outbox) send inputs to
/// runs without keeping the shards alive once the engine is dropped.
#[derive(Clone)]
pub(crate) struct Shards(Vec<mpsc::WeakUnboundedSender<ShardMessage>>);

impl Shards {
    /// Handles to `senders`, indexed by shard.
    pub(crate) fn new(senders: &[mpsc::UnboundedSender<ShardMessage>]) -> Self {
        Self(
            senders
                .iter()
                .map(mpsc::UnboundedSender::downgrade)
                .collect(),
        )
    }

    /// Whether any shard still runs (the engine has not been dropped).
    pub(crate) fn alive(&self) -> bool {
        self.0.iter().any(|shard| shard.strong_count() > 0)
    }

    /// Applies `input` to a run through its shard (see `Engine::apply`).
    pub(crate) async fn apply(
        &self,
        execution: &ExecutionKey,
        input: Input,
        dispatched: Option<DispatchKey>,
    ) -> Result<Reply, EngineError> {
        let index = shard_of(
            &execution.namespace,
            &execution.workflow_id,
            self.0.len() as u32,
        )
        .0 as usize;
        let shard = self
            .0
            .get(index)
            .and_then(mpsc::WeakUnboundedSender::upgrade)
            .ok_or(EngineError::Shutdown)?;
        let (reply, result) = oneshot::channel();
        shard
            .send(ShardMessage::Apply {
                execution: execution.clone(),
                input: Box::new(input),
                dispatched,
                reply,
            })
            .map_err(|_| EngineError::Shutdown)?;
        drop(shard);
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    /// Starts a child workflow of `parent` through its shard (see `Shard::start`).
    pub(crate) async fn start_child(
        &self,
        request: StartWorkflowRequest,
        parent: ParentExecutionInfo,
    ) -> Result<StartWorkflowResponse, EngineError> {
        let index =
            shard_of(&request.namespace, &request.options.id, self.0.len() as u32).0 as usize;
        let shard = self
            .0
            .get(index)
            .and_then(mpsc::WeakUnboundedSender::upgrade)
            .ok_or(EngineError::Shutdown)?;
        let (reply, result) = oneshot::channel();
        shard
            .send(ShardMessage::Start {
                request: Box::new(request),
                signal: None,
                update: None,
                parent: Some(Box::new(parent)),
                reply,
            })
            .map_err(|_| EngineError::Shutdown)?;
        drop(shard);
        result.await.map_err(|_| EngineError::Shutdown)?
    }
}

struct Cached {
    machine: ExecutionMachine,
    db_version: u64,
    last_used: u64,
    /// The latest time the run has seen (see [`Shard::load`]).
    seen: Timestamp,
}

/// The state of one shard actor.
pub(crate) struct Shard<S, C> {
    id: ShardId,
    range: RangeId,
    storage: Arc<S>,
    clock: Arc<C>,
    writer: mpsc::UnboundedSender<CommitRequest>,
    matching: Arc<Matching>,
    outbox: mpsc::UnboundedSender<DispatchRow>,
    closings: Arc<Closings>,
    updates: Arc<UpdateWaiters>,
    namespaces: Arc<Namespaces>,
    cache: BTreeMap<ExecutionKey, Cached>,
    uses: u64,
    deadlines: Deadlines,
    sequence: u64,
    in_flight: InFlight,
}

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Takes the shard's lease, reloads its deadlines and hands its outbox rows to the
    /// outbox (recovery).
    pub(crate) async fn open(
        id: ShardId,
        storage: Arc<S>,
        clock: Arc<C>,
        writer: mpsc::UnboundedSender<CommitRequest>,
        matching: Arc<Matching>,
        outbox: mpsc::UnboundedSender<DispatchRow>,
        (closings, updates, namespaces): (Arc<Closings>, Arc<UpdateWaiters>, Arc<Namespaces>),
    ) -> Result<Self, EngineError> {
        let range = storage.acquire_shard(id).await?;
        let mut shard = Self {
            id,
            range,
            storage,
            clock,
            writer,
            matching,
            outbox,
            closings,
            updates,
            namespaces,
            cache: BTreeMap::new(),
            uses: 0,
            deadlines: Deadlines::default(),
            sequence: 0,
            in_flight: InFlight::default(),
        };
        let now = shard.clock.now();
        let (rows, until, next_beyond) = shard.read_window(now).await?;
        shard.deadlines.refilled(rows, until, now, next_beyond);
        let (namespace, queue) = outbox_queue(id);
        for row in shard
            .storage
            .dispatch_rows(&namespace, &queue, RECOVERY_OUTBOX_MAX)
            .await?
        {
            shard.release(row);
        }
        Ok(shard)
    }

    /// Hands a durable task row to whoever runs it: the outbox or matching.
    fn release(&self, row: DispatchRow) {
        if row.task.is_outbox() {
            // The outbox ends only when the engine does; a row it misses is read back
            // from storage at the next open.
            let _ = self.outbox.send(row);
        } else {
            self.matching.add(row);
        }
    }

    /// Runs the actor until every sender is gone. When a message waits and a deadline is
    /// due, they take turns, so neither starves; the choice never depends on anything but
    /// the shard's own state (an unbiased `select!` would draw from tokio's process-wide
    /// random source, which simulation does not control).
    pub(crate) async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<ShardMessage>) {
        let mut deadline_turn = false;
        // Messages taken from the inbox while gathering a batch, handled next, in order.
        let mut stash = std::collections::VecDeque::new();
        loop {
            deadline_turn = !deadline_turn;
            let now = self.clock.now();
            if self.deadlines.needs_refill(now) {
                self.refill(now).await;
            }
            if deadline_turn && self.deadlines.first().is_some_and(|time| time <= now) {
                self.fire_due().await;
                continue;
            }
            let next = self.deadlines.wake_at(now);
            let clock = Arc::clone(&self.clock);
            let sleep = async move { clock.sleep_until(next).await };
            if let Some(message) = stash.pop_front() {
                self.handle_batched(message, &mut inbox, &mut stash).await;
                continue;
            }
            // A write that became durable settles first: its replies and tasks leave sooner.
            let woke = tokio::select! {
                biased;
                Some(result) = self.in_flight.front_result() => Woke::Settled(result),
                message = inbox.recv() => Woke::Message(message),
                () = sleep => Woke::Deadline,
            };
            match woke {
                Woke::Settled(result) => {
                    self.settle_front(result).await;
                }
                Woke::Message(Some(message)) => {
                    self.handle_batched(message, &mut inbox, &mut stash).await;
                }
                Woke::Message(None) => {
                    // Every message taken is answered before the shard ends.
                    self.settle_all().await;
                    return;
                }
                Woke::Deadline => {
                    let now = self.clock.now();
                    if self.deadlines.needs_refill(now) {
                        self.refill(now).await;
                    }
                    self.fire_due().await;
                }
            }
        }
    }

    /// Settles the oldest write in flight, whose result is `result`; its number.
    async fn settle_front(&mut self, result: Result<(), EngineError>) -> Option<u64> {
        let (number, settle) = self.in_flight.pop_front()?;
        self.apply_settle(settle, result).await;
        Some(number)
    }

    /// Waits for the oldest write in flight and settles it: its number and result; `None`
    /// when nothing is in flight.
    async fn settle_next(&mut self) -> Option<(u64, Result<(), EngineError>)> {
        let result = self.in_flight.front_result().await?;
        let number = self.settle_front(result.clone()).await?;
        Some((number, result))
    }

    /// Waits for the writes in flight up to and including write `number`, settling each in
    /// order; the result of write `number`.
    async fn settle_through(&mut self, number: u64) -> Result<(), EngineError> {
        while let Some((settled, result)) = self.settle_next().await {
            if settled == number {
                return result;
            }
        }
        debug_assert!(false, "write {number} is in flight until it settles");
        Err(EngineError::Shutdown)
    }

    /// Waits for the write of `ticket` to be durable (and for every write before it).
    async fn wait(&mut self, ticket: Ticket) -> Result<(), EngineError> {
        self.settle_through(InFlight::number(ticket)).await
    }

    /// Waits for the write of this workflow id in flight, if any, so what is read next of
    /// it — cached or stored — is durable. Its failure was its own waiters' to learn.
    async fn settle_workflow(&mut self, namespace: &Namespace, workflow_id: &WorkflowId) {
        if let Some(number) = self.in_flight.last_of(namespace, workflow_id) {
            let _ = self.settle_through(number).await;
        }
    }

    /// Waits for every write in flight.
    async fn settle_all(&mut self) {
        while self.settle_next().await.is_some() {}
    }

    /// What a write does once its result is known (see [`Settle`]).
    async fn apply_settle(&mut self, settle: Settle, result: Result<(), EngineError>) {
        let Settle {
            key,
            closed,
            warnings,
            updates,
            remember,
            released,
            handoffs,
            answer,
        } = settle;
        if let Err(error) = result {
            self.forget(&key);
            if let Answer::Deadline(key) = &answer {
                self.deadline_failed(key, &error).await;
            }
            answer.send(Some(&error));
            return;
        }
        if closed {
            self.closings.closed(&key);
        }
        for warning in &warnings {
            tracing::warn!(
                execution = ?key,
                ?warning,
                "the run's history is large: continue as new before it reaches 51,200 events or 50 MiB, where the engine terminates it"
            );
        }
        self.updates.notify(&key, &updates);
        for (key, machine, db_version, seen) in remember {
            self.remember(key, machine, db_version, seen);
        }
        for (execution, rows, deadline) in released {
            self.arm(execution, deadline);
            for row in rows {
                self.release(row);
            }
        }
        deliver(handoffs);
        answer.send(None);
    }

    /// Handles `message`; a client signal is applied together with the signals to the same
    /// run queued right behind it — one transition, one write (DESIGN §5: inputs arriving
    /// while a write is in flight are applied together). The first message of another kind
    /// ends the batch and is handled next, so the shard's order is kept.
    async fn handle_batched(
        &mut self,
        message: ShardMessage,
        inbox: &mut mpsc::UnboundedReceiver<ShardMessage>,
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
    fn answer(
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
    async fn signal_transition(
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
        let now = self.clock.now().max(seen);
        let mut next = machine.clone();
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
        match self.write_transition(
            key,
            (&machine, db_version, seen),
            next,
            merged,
            (Vec::new(), records),
            now,
        ) {
            Ok(ticket) => (outcomes, ticket),
            // Nothing of the batch is written: every signal of it fails alike.
            Err(error) => (vec![Err(error); count], None),
        }
    }

    async fn handle(&mut self, message: ShardMessage) {
        match message {
            ShardMessage::Start {
                request,
                signal,
                update,
                parent,
                reply,
            } => {
                let result = self
                    .start(
                        *request,
                        signal.map(|signal| *signal),
                        update.map(|update| *update),
                        parent.map(|parent| *parent),
                    )
                    .await;
                match result {
                    Ok((started, Some(ticket))) => {
                        self.in_flight.answer(ticket, Answer::Start(reply, started));
                    }
                    Ok((started, None)) => {
                        let _ = reply.send(Ok(started));
                    }
                    Err(error) => {
                        let _ = reply.send(Err(error));
                    }
                }
            }
            ShardMessage::Apply {
                execution,
                input,
                dispatched,
                reply,
            } => {
                let result = self.transition(&execution, *input, dispatched).await;
                self.answer(result, reply);
            }
            ShardMessage::Reset {
                execution,
                request,
                reply,
            } => {
                let _ = reply.send(self.reset(&execution, *request).await);
            }
            ShardMessage::Delete { execution, reply } => {
                let _ = reply.send(self.delete(&execution).await);
            }
        }
    }

    /// The deadline rows due within the window from `now`, the window's edge, and — when
    /// the rows did not fill the read — the time of the first row past the edge (see
    /// [`Deadlines::refilled`]).
    async fn read_window(
        &self,
        now: Timestamp,
    ) -> Result<(Vec<DeadlineRow>, Timestamp, Option<Timestamp>), StorageError> {
        let until = now.saturating_add(deadlines::WINDOW);
        let rows = self
            .storage
            .due_deadlines(self.id, until, deadlines::LOAD_MAX)
            .await?;
        if rows.len() >= deadlines::LOAD_MAX {
            return Ok((rows, until, None));
        }
        // The rows again and one more: the first past the edge, if any.
        let next_beyond = self
            .storage
            .due_deadlines(self.id, deadlines::NEVER, rows.len() + 1)
            .await?
            .get(rows.len())
            .map(|row| row.time);
        Ok((rows, until, next_beyond))
    }

    /// Reads in the deadline rows due within the window (see [`Deadlines`]).
    async fn refill(&mut self, now: Timestamp) {
        match self.read_window(now).await {
            Ok((rows, until, next_beyond)) => {
                self.deadlines.refilled(rows, until, now, next_beyond);
            }
            Err(error) => {
                tracing::warn!(shard = self.id.0, %error, "reading deadlines failed; retrying");
                self.deadlines.refill_failed(now);
            }
        }
    }

    async fn fire_due(&mut self) {
        let now = self.clock.now();
        let due = self.deadlines.due(now);
        for key in due {
            // A write of this workflow still in flight may move the deadline: a transition
            // that closed the run replaces its timer with the end of its retention. Settle
            // it first and fire only what is still due, or a run that just closed would be
            // deleted as though its retention had passed.
            self.settle_workflow(&key.namespace, &key.workflow_id).await;
            if self.deadlines.of(&key).is_none_or(|time| time > now) {
                continue;
            }
            self.arm(key.clone(), None);
            if self.expire_if_closed(&key, now).await {
                continue;
            }
            let next_run_id = self.next_run_id();
            match self
                .transition(&key, Input::Deadline { next_run_id }, None)
                .await
            {
                Ok((_, Some(ticket))) => self.in_flight.answer(ticket, Answer::Deadline(key)),
                Ok((_, None)) => {}
                Err(error) => self.deadline_failed(&key, &error).await,
            }
        }
    }

    /// A deadline's transition failed (before its write or in it): the run's stored
    /// deadline is armed again so it is retried.
    async fn deadline_failed(&mut self, key: &ExecutionKey, error: &EngineError) {
        tracing::warn!(execution = ?key, %error, "deadline transition failed; the run is reloaded on its next input");
        if let Ok(Some(row)) = self.storage.load_execution(key).await
            && let Ok(machine) = ExecutionMachine::from_row(&row)
        {
            self.arm(key.clone(), machine.next_deadline());
        }
    }

    /// A closed run's deadline is the end of its retention: deletes the run, unless the
    /// outbox still has work for it (a parent close policy, a report to its parent), which
    /// postpones the deletion. Returns whether the run was closed (or gone), so that no
    /// deadline input is applied to it.
    async fn expire_if_closed(&mut self, key: &ExecutionKey, now: Timestamp) -> bool {
        self.settle_workflow(&key.namespace, &key.workflow_id).await;
        // Closed runs are never cached: the stored row says all that is needed.
        let db_version = match self.storage.load_execution(key).await {
            Ok(Some(row)) if row.status.is_closed() => row.db_version,
            Ok(Some(_)) | Err(_) => return false,
            Ok(None) => return true,
        };
        let retry_at = now.saturating_add(RETENTION_RETRY);
        match self.delete_stored_run(key, db_version).await {
            Ok(true) => tracing::debug!(execution = ?key, "retention passed: run deleted"),
            Ok(false) => self.arm(key.clone(), Some(retry_at)),
            Err(error) => {
                tracing::warn!(execution = ?key, %error, "deleting a run past its retention failed; retrying later");
                self.arm(key.clone(), Some(retry_at));
            }
        }
        true
    }

    /// A client's deletion of a closed run (`Engine::delete_workflow`).
    async fn delete(&mut self, key: &ExecutionKey) -> Result<(), EngineError> {
        self.settle_workflow(&key.namespace, &key.workflow_id).await;
        let db_version = match self.storage.load_execution(key).await? {
            Some(row) if row.status.is_closed() => row.db_version,
            Some(_) => {
                return Err(EngineError::NotReady(
                    "the run is still open; it is terminated before it is deleted".into(),
                ));
            }
            None => return Err(EngineError::NotFound(format!("{key:?}"))),
        };
        if self.delete_stored_run(key, db_version).await? {
            self.arm(key.clone(), None);
            Ok(())
        } else {
            Err(EngineError::NotReady(
                "the run still has signals, cancel requests or child close policies to send".into(),
            ))
        }
    }

    /// Deletes closed run `key`, stored at `db_version` — its row, history, deadline,
    /// visibility row and request records — unless the outbox still has work for it;
    /// whether it did.
    async fn delete_stored_run(
        &mut self,
        key: &ExecutionKey,
        db_version: u64,
    ) -> Result<bool, EngineError> {
        let (namespace, queue) = outbox_queue(self.id);
        let outbox = self
            .storage
            .dispatch_rows(&namespace, &queue, RECOVERY_OUTBOX_MAX)
            .await?;
        if outbox.iter().any(|row| &row.execution == key) {
            return Ok(false);
        }
        self.storage
            .delete_run(self.id, self.range, key, db_version)
            .await?
            .map_err(EngineError::Conflict)?;
        self.forget(key);
        Ok(true)
    }

    /// A run id no other run has: the clock, the shard's lease, the shard and a counter
    /// (two shards drawing at the same instant differ by their shard bits).
    fn next_run_id(&mut self) -> RunId {
        self.sequence += 1;
        let now = u128::from(self.clock.now().unix_nanos());
        RunId::from_u128(
            (now << 64)
                | (u128::from(self.range.0 & 0xffff) << 48)
                | (u128::from(self.id.0 & 0xffff) << 32)
                | u128::from(self.sequence & 0xffff_ffff),
        )
    }

    /// A backlog task id, unique across restarts (the lease grows at each open).
    fn next_task_id(&mut self) -> u64 {
        self.sequence += 1;
        (self.range.0 << 40) | (u64::from(self.id.0) << 32) | (self.sequence & 0xffff_ffff)
    }

    fn arm(&mut self, key: ExecutionKey, deadline: Option<Timestamp>) {
        self.deadlines.arm(key, deadline);
    }

    /// The run's machine, its db version, and the latest time it has seen: its last
    /// event's time, or later. Inputs are applied at no earlier time than that, so a run's
    /// time never goes backwards — not even when the engine restarts with a clock behind
    /// the previous one's — and nothing fires early by the run's own history.
    async fn load(
        &mut self,
        key: &ExecutionKey,
    ) -> Result<(ExecutionMachine, u64, Timestamp), EngineError> {
        self.uses += 1;
        let uses = self.uses;
        if let Some(cached) = self.cache.get_mut(key) {
            cached.last_used = uses;
            return Ok((cached.machine.clone(), cached.db_version, cached.seen));
        }
        let row = self
            .storage
            .load_execution(key)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("{key:?}")))?;
        let machine = ExecutionMachine::from_row(&row)?;
        let seen = match EventId::new(machine.next_event_id().get().saturating_sub(1)) {
            Some(last) => self
                .storage
                .read_history(key, last)
                .await?
                .events
                .first()
                .map_or(machine.start_time(), |event| event.event_time),
            None => machine.start_time(),
        };
        let seen = seen.max(machine.start_time());
        Ok((machine, row.db_version, seen))
    }

    /// Caches a run that is busy — a worker has one of its tasks; a closed run, or one
    /// only waiting (for a timer, a signal, or a worker to take a task from the backlog),
    /// costs storage, not memory, until a worker takes a task: a backlog of a million
    /// tasks must not hold a million machines. What lives only in memory (admitted
    /// updates, and the speculative task that carries them) keeps a run cached.
    fn remember(
        &mut self,
        key: ExecutionKey,
        machine: ExecutionMachine,
        db_version: u64,
        seen: Timestamp,
    ) {
        let idle = machine.workflow_task().is_none_or(|task| {
            task.started.is_none() && task.kind != WorkflowTaskKind::Speculative
        }) && machine
            .activities()
            .values()
            .all(|activity| activity.started.is_none())
            && !machine.has_admitted_updates();
        if machine.status().is_closed() || idle {
            self.cache.remove(&key);
            return;
        }
        self.uses += 1;
        self.cache.insert(
            key,
            Cached {
                machine,
                db_version,
                last_used: self.uses,
                seen,
            },
        );
        if self.cache.len() > CACHE_MAX
            && let Some(oldest) = self
                .cache
                .iter()
                .min_by_key(|(_, cached)| cached.last_used)
                .map(|(key, _)| key.clone())
        {
            self.forget(&oldest);
        }
    }

    /// Drops a run from the cache; the updates only it held are lost, and their clients
    /// told to send them again.
    fn forget(&mut self, key: &ExecutionKey) {
        if let Some(cached) = self.cache.remove(key)
            && cached.machine.has_admitted_updates()
        {
            self.updates.lost(key);
        }
    }

    /// Applies `input` to a run; the reply, and the ticket of the write that must be
    /// durable before anything of it leaves (none when nothing was written).
    async fn transition(
        &mut self,
        key: &ExecutionKey,
        input: Input,
        dispatched: Option<DispatchKey>,
    ) -> Result<(Reply, Option<Ticket>), EngineError> {
        self.settle_workflow(&key.namespace, &key.workflow_id).await;
        let (machine, db_version, seen) = self.load(key).await?;
        let request_record = request_record(key, &input);
        if self.recorded(request_record.as_ref()).await? {
            return Ok((Reply::Duplicate, None));
        }
        let mut next = machine.clone();
        let now = self.clock.now().max(seen);
        let input = self.with_fresh_run_ids(input);
        let effects = match next.apply(input, now) {
            Ok(effects) => effects,
            Err(rejected) => {
                // A stale task's backlog row is removed so it is not handed out again; the
                // refusal does not wait for that.
                if let Some(dispatched) = dispatched
                    && let Ok(ticket) = self.commit_changes(
                        key,
                        (&machine, db_version),
                        machine.clone(),
                        Effects::default(),
                        (vec![dispatched], Vec::new()),
                        (Vec::new(), now),
                    )
                {
                    self.in_flight.answer(ticket, Answer::Nobody);
                }
                return Err(rejected.into());
            }
        };
        let mut effects = effects;
        let reply = std::mem::take(&mut effects.reply);
        let records = request_record
            .filter(|_| reply != Reply::Duplicate)
            .into_iter()
            .collect();
        let deletes = dispatched.into_iter().collect();
        let ticket = self.write_transition(
            key,
            (&machine, db_version, seen),
            next,
            effects,
            (deletes, records),
            now,
        )?;
        Ok((reply, ticket))
    }

    /// Whether `record`'s request id was already recorded. A signal's or cancel request's
    /// id deduplicates it across the workflow id's whole chain of runs: a retry that
    /// arrives after the run continued as new, retried or closed finds the record instead
    /// of applying again (or failing).
    async fn recorded(&self, record: Option<&RequestRecord>) -> Result<bool, EngineError> {
        let Some(record) = record else {
            return Ok(false);
        };
        Ok(self
            .storage
            .find_request(&record.namespace, &record.workflow_id, &record.request_id)
            .await?
            .is_some())
    }

    /// Makes a transition from `machine` (at `db_version`, having seen `seen`) to `next`
    /// durable: nothing is written when only what lives in memory changed (no ticket);
    /// otherwise the new tasks with a poller waiting are started in it (sync match, the
    /// successor run's too), and it is sent to be committed with `deletes` and `records`,
    /// the started tasks handed over once it is durable.
    fn write_transition(
        &mut self,
        key: &ExecutionKey,
        (machine, db_version, seen): (&ExecutionMachine, u64, Timestamp),
        mut next: ExecutionMachine,
        mut effects: Effects,
        (deletes, records): (Vec<DispatchKey>, Vec<RequestRecord>),
        now: Timestamp,
    ) -> Result<Option<Ticket>, EngineError> {
        if next.durable_state_eq(machine)
            && effects.events.is_empty()
            && effects.tasks.is_empty()
            && deletes.is_empty()
        {
            if &next != machine {
                // Only what lives in memory changed (an update admitted): nothing to write.
                self.remember(key.clone(), next, db_version, seen);
            }
            self.updates.notify(key, &effects.updates);
            return Ok(None);
        }
        let mut handoffs = self.sync_match(key, &mut next, &mut effects, now);
        if let Some(next_run) = effects.next_run.as_mut() {
            let next_key = ExecutionKey {
                run_id: next_run.machine.run_id(),
                ..key.clone()
            };
            handoffs.extend(self.sync_match(
                &next_key,
                &mut next_run.machine,
                &mut next_run.effects,
                now,
            ));
        }
        let ticket = self.commit_changes(
            key,
            (machine, db_version),
            next,
            effects,
            (deletes, records),
            (handoffs, now),
        )?;
        Ok(Some(ticket))
    }

    /// Sync match: each new task with a poller waiting is started in this same transition
    /// (one commit instead of two, no backlog row) and handed over after the commit.
    fn sync_match(
        &mut self,
        key: &ExecutionKey,
        machine: &mut ExecutionMachine,
        effects: &mut Effects,
        now: Timestamp,
    ) -> Vec<(Poller, Handoff)> {
        let mut handoffs = Vec::new();
        let mut remaining = Vec::new();
        for task in std::mem::take(&mut effects.tasks) {
            let (task_queue, kind) = match &task {
                // Speculative tasks are only ever sync-matched: with no poller they are dropped
                // (no backlog row) and their schedule-to-start timeout makes them normal.
                Task::WorkflowTask { task_queue, .. } => {
                    (task_queue.name.clone(), TaskKind::Workflow)
                }
                Task::ActivityTask { task_queue, .. } => (task_queue.clone(), TaskKind::Activity),
                _ => {
                    remaining.push(task);
                    continue;
                }
            };
            let Some(poller) = self.matching.take_poller(&key.namespace, &task_queue, kind) else {
                remaining.push(task);
                continue;
            };
            let request_id = format!("sync-{}", self.next_task_id());
            let (_, dispatched) = dispatch_of(&task, &task_queue);
            let Some(input) = Input::task_started(&dispatched, request_id, poller.identity.clone())
            else {
                unreachable!("only workflow and activity tasks get here")
            };
            match machine.apply(input, now) {
                Ok(started) => {
                    effects.events.extend(started.events);
                    remaining.extend(started.tasks);
                    handoffs.push((
                        poller,
                        Handoff::Started {
                            execution: key.clone(),
                            reply: started.reply,
                        },
                    ));
                }
                Err(_) => {
                    self.matching
                        .return_poller(&key.namespace, &task_queue, kind, poller);
                    remaining.push(task);
                }
            }
        }
        effects.tasks = remaining;
        handoffs
    }

    fn with_fresh_run_ids(&mut self, input: Input) -> Input {
        match input {
            Input::WorkflowTaskCompleted(mut completion) => {
                completion.next_run_id = self.next_run_id();
                Input::WorkflowTaskCompleted(completion)
            }
            Input::Deadline { .. } => Input::Deadline {
                next_run_id: self.next_run_id(),
            },
            other => other,
        }
    }

    /// Sends the change of one run (and the next run of its chain, if any) to be committed;
    /// its effects are released, and `handoffs` delivered, once it is durable. The new
    /// machines and events move into the write and the settle: none of them is copied.
    fn commit_changes(
        &mut self,
        key: &ExecutionKey,
        (before, db_version): (&ExecutionMachine, u64),
        after: ExecutionMachine,
        effects: Effects,
        (dispatch_deletes, request_ids): (Vec<DispatchKey>, Vec<RequestRecord>),
        (handoffs, now): (Vec<(Poller, Handoff)>, Timestamp),
    ) -> Result<Ticket, EngineError> {
        let Effects {
            events,
            tasks,
            next_run,
            updates,
            warnings,
            ..
        } = effects;
        let (mut run, rows) = self.run_write(
            key,
            RunCondition::DbVersion(db_version),
            &after,
            events,
            &tasks,
            now,
        )?;
        run.dispatch_deletes = dispatch_deletes;
        let mut released = vec![(key.clone(), rows, self.armed_after(key, run.deadline))];
        let mut runs = vec![run];
        let mut current_run = (after.status() != before.status()).then(|| CurrentRunWrite {
            expected: Some(key.run_id),
            new: CurrentRun {
                run_id: key.run_id,
                status: after.status(),
                start_request_id: None,
            },
        });
        let closed = after.status().is_closed() && !before.status().is_closed();
        let mut remember = vec![(key.clone(), after, db_version + 1, now)];
        if let Some(next_run) = next_run {
            let NextRun { machine, effects } = *next_run;
            let next_key = ExecutionKey {
                run_id: machine.run_id(),
                ..key.clone()
            };
            let (run, rows) = self.run_write(
                &next_key,
                RunCondition::Create,
                &machine,
                effects.events,
                &effects.tasks,
                now,
            )?;
            runs.push(run);
            released.push((next_key.clone(), rows, machine.next_deadline()));
            current_run = Some(CurrentRunWrite {
                expected: Some(key.run_id),
                new: CurrentRun {
                    run_id: next_key.run_id,
                    status: WorkflowExecutionStatus::Running,
                    start_request_id: None,
                },
            });
            remember.push((next_key, machine, 1, now));
        }
        let write = WorkflowWrite {
            shard: self.id,
            range_id: self.range,
            namespace: key.namespace.clone(),
            workflow_id: key.workflow_id.clone(),
            runs,
            current_run,
            request_ids,
        };
        let settle = Settle {
            closed,
            warnings,
            updates,
            remember,
            released,
            handoffs,
            ..Settle::new(key.clone())
        };
        self.submit(write, settle)
    }

    /// The write of one run's new state, and the backlog rows of its new tasks.
    fn run_write(
        &mut self,
        key: &ExecutionKey,
        condition: RunCondition,
        machine: &ExecutionMachine,
        events: Vec<HistoryEvent>,
        tasks: &[Task],
        now: Timestamp,
    ) -> Result<(RunWrite, Vec<DispatchRow>), EngineError> {
        let state = machine.to_state(key)?;
        let db_version = match condition {
            RunCondition::Create => 1,
            RunCondition::DbVersion(version) => version + 1,
        };
        let (outbox_namespace, outbox) = outbox_queue(self.id);
        // A speculative task's row is only offered to matching, never stored: if it is
        // lost, its schedule-to-start timeout makes the task a normal one.
        let rows: Vec<(DispatchRow, bool)> = tasks
            .iter()
            .map(|task| {
                let stored = !matches!(
                    task,
                    Task::WorkflowTask {
                        speculative: true,
                        ..
                    }
                );
                let (task_queue, task) = dispatch_of(task, &outbox);
                let row = DispatchRow {
                    namespace: if task.is_outbox() {
                        outbox_namespace.clone()
                    } else {
                        key.namespace.clone()
                    },
                    task_queue,
                    task_id: self.next_task_id(),
                    execution: key.clone(),
                    task,
                };
                (row, stored)
            })
            .collect();
        let visibility = visibility_row(key, machine, &events, now);
        let deadline = self.deadline_update(key, machine, &events, now);
        let write = RunWrite {
            condition,
            row: ExecutionRow {
                key: key.clone(),
                shard: self.id,
                db_version,
                next_event_id: machine.next_event_id(),
                status: machine.status(),
                state,
            },
            history: events,
            deadline,
            dispatch_inserts: rows
                .iter()
                .filter(|(_, stored)| *stored)
                .map(|(row, _)| row.clone())
                .collect(),
            dispatch_deletes: Vec::new(),
            visibility,
        };
        Ok((write, rows.into_iter().map(|(row, _)| row).collect()))
    }

    /// The run's durable deadline after a transition: the machine's next one while it is
    /// open; once it closes, the end of its namespace's retention, set by the transition
    /// that closed it (Temporal's DELETE_HISTORY_EVENT timer) and kept after that.
    fn deadline_update(
        &self,
        key: &ExecutionKey,
        machine: &ExecutionMachine,
        events: &[HistoryEvent],
        now: Timestamp,
    ) -> DeadlineUpdate {
        if !machine.status().is_closed() {
            return machine
                .next_deadline()
                .map_or(DeadlineUpdate::Clear, DeadlineUpdate::Set);
        }
        if events.iter().any(|event| event.event_type().is_closing()) {
            DeadlineUpdate::Set(now.saturating_add(self.namespaces.retention(&key.namespace)))
        } else {
            DeadlineUpdate::Keep
        }
    }

    /// The in-memory deadline that mirrors a run's durable one after `update`.
    fn armed_after(&self, key: &ExecutionKey, update: DeadlineUpdate) -> Option<Timestamp> {
        match update {
            DeadlineUpdate::Set(time) => Some(time),
            DeadlineUpdate::Clear => None,
            DeadlineUpdate::Keep => self.deadlines.of(key),
        }
    }

    /// Sends `write` to the group-commit writer; `settle` is what it does once durable.
    fn submit(&mut self, write: WorkflowWrite, settle: Settle) -> Result<Ticket, EngineError> {
        let workflow = (write.namespace.clone(), write.workflow_id.clone());
        let (reply, result) = oneshot::channel();
        self.writer
            .send(CommitRequest { write, reply })
            .map_err(|_| EngineError::Shutdown)?;
        Ok(self.in_flight.push(workflow, result, settle))
    }

    /// Starts a workflow under the id-conflict and id-reuse policies, idempotently by
    /// request id; the response, and the ticket of the write that must be durable first.
    /// What the store holds for a start of `request`'s workflow id (see [`decide_start`]).
    async fn start_facts(
        &mut self,
        request: &StartWorkflowRequest,
        signal: Option<&SignalRequest>,
        update: Option<&UpdateRequest>,
    ) -> Result<StartFacts, EngineError> {
        let (namespace, workflow_id) = (&request.namespace, &request.options.id);
        let recorded = |record: Option<RequestRecord>| record.map(|record| record.run_id);
        let recorded_start = match &request.options.request_id {
            Some(request_id) => recorded(
                self.storage
                    .find_request(namespace, workflow_id, request_id)
                    .await?,
            ),
            None => None,
        };
        let recorded_signal = match signal.and_then(signal_record_id) {
            Some(request_id) => recorded(
                self.storage
                    .find_request(namespace, workflow_id, &request_id)
                    .await?,
            ),
            None => None,
        };
        let current = self
            .storage
            .current_run(namespace, workflow_id)
            .await?
            .map(|current| (current.run_id, current.status));
        let closed_current_took_update = match (update, current) {
            (Some(update), Some((run_id, status))) if status.is_closed() => {
                let key = ExecutionKey {
                    namespace: namespace.clone(),
                    workflow_id: workflow_id.clone(),
                    run_id,
                };
                let (machine, _, _) = self.load(&key).await?;
                machine.update_record(&update.update_id).is_some()
            }
            _ => false,
        };
        Ok(StartFacts {
            recorded_start,
            recorded_signal,
            current,
            closed_current_took_update,
        })
    }

    async fn start(
        &mut self,
        request: StartWorkflowRequest,
        signal: Option<SignalRequest>,
        update: Option<UpdateRequest>,
        parent: Option<ParentExecutionInfo>,
    ) -> Result<(StartWorkflowResponse, Option<Ticket>), EngineError> {
        let namespace = request.namespace.clone();
        let workflow_id = request.options.id.clone();
        // Checked here too, for the children the outbox starts.
        self.namespaces.check(&namespace)?;
        self.settle_workflow(&namespace, &workflow_id).await;
        let kind = match (&signal, &update) {
            (Some(_), _) => StartKind::WithSignal,
            (None, Some(_)) => StartKind::WithUpdate,
            (None, None) => StartKind::Plain,
        };
        let facts = self
            .start_facts(&request, signal.as_ref(), update.as_ref())
            .await?;
        let existing = |run_id| {
            let key = ExecutionKey {
                namespace: namespace.clone(),
                workflow_id: workflow_id.clone(),
                run_id,
            };
            let response = StartWorkflowResponse {
                run_id,
                started: false,
            };
            (key, response)
        };
        let decision = decide_start(
            kind,
            request.options.id_conflict_policy,
            request.options.id_reuse_policy,
            &facts,
        );
        match decision {
            StartDecision::Existing(run_id) => return Ok((existing(run_id).1, None)),
            StartDecision::AlreadyStarted(run_id) => {
                return Err(EngineError::AlreadyStarted {
                    workflow_id: workflow_id.clone(),
                    run_id,
                });
            }
            StartDecision::SignalRunning(run_id) => {
                let (key, response) = existing(run_id);
                let input = Input::SignalWithStart(signal.unwrap_or_else(|| {
                    unreachable!("a signal-with-start decision has its signal")
                }));
                let (_, ticket) = self.transition(&key, input, None).await?;
                return Ok((response, ticket));
            }
            StartDecision::UpdateRunning(run_id) => {
                let (key, response) = existing(run_id);
                let input = Input::Update {
                    request: update.unwrap_or_else(|| {
                        unreachable!("an update-with-start decision has its update")
                    }),
                    ends_start_delay: true,
                };
                let (_, ticket) = self.transition(&key, input, None).await?;
                return Ok((response, ticket));
            }
            StartDecision::TerminateThenStart(run_id) => {
                let terminate = Input::Terminate {
                    reason: "terminated by a start with the terminate-existing policy".into(),
                    details: None,
                    identity: request.identity.clone(),
                };
                // The new run is written after the termination is durable.
                if let (_, Some(ticket)) = self
                    .transition(&existing(run_id).0, terminate, None)
                    .await?
                {
                    self.wait(ticket).await?;
                }
            }
            StartDecision::Start => {}
        }
        let now = self.clock.now();
        let run_id = self.next_run_id();
        let start = StartRequest::from_options(
            namespace.clone(),
            &request.options,
            run_id,
            request.workflow_type,
            request.input,
            request.header,
            request.identity,
            now,
        )?;
        let start = StartRequest {
            signal,
            parent,
            ..start
        };
        let (mut machine, mut effects) = ExecutionMachine::start(start, now);
        if let Some(update) = update {
            let input = Input::Update {
                request: update,
                ends_start_delay: true,
            };
            let admitted = machine.apply(input, now)?;
            effects.events.extend(admitted.events);
            effects.tasks.extend(admitted.tasks);
        }
        let key = ExecutionKey {
            namespace: namespace.clone(),
            workflow_id: workflow_id.clone(),
            run_id,
        };
        let handoffs = self.sync_match(&key, &mut machine, &mut effects, now);
        let (run, rows) = self.run_write(
            &key,
            RunCondition::Create,
            &machine,
            std::mem::take(&mut effects.events),
            &effects.tasks,
            now,
        )?;
        // The current run a start replaces keeps its id through a termination.
        let expected = facts.current.map(|(run_id, _)| run_id);
        let write = WorkflowWrite {
            shard: self.id,
            range_id: self.range,
            namespace: namespace.clone(),
            workflow_id: workflow_id.clone(),
            runs: vec![run],
            current_run: Some(CurrentRunWrite {
                expected,
                new: CurrentRun {
                    run_id,
                    status: WorkflowExecutionStatus::Running,
                    start_request_id: request.options.request_id.clone(),
                },
            }),
            request_ids: request
                .options
                .request_id
                .iter()
                .map(|request_id| RequestRecord {
                    namespace: namespace.clone(),
                    workflow_id: workflow_id.clone(),
                    request_id: request_id.clone(),
                    run_id,
                })
                .collect(),
        };
        let deadline = machine.next_deadline();
        let settle = Settle {
            remember: vec![(key.clone(), machine, 1, now)],
            released: vec![(key.clone(), rows, deadline)],
            handoffs,
            ..Settle::new(key)
        };
        let ticket = self.submit(write, settle)?;
        let response = StartWorkflowResponse {
            run_id,
            started: true,
        };
        Ok((response, Some(ticket)))
    }
}

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Resets run `base`: forks a new run from its history (reapplying what it and the
    /// runs that continued it received after the point), and in the same write terminates
    /// the workflow id's current run if open and makes the new run current. A request id
    /// deduplicates it: a retry gets the run the first reset created.
    async fn reset(
        &mut self,
        base_key: &ExecutionKey,
        request: ResetRequest,
    ) -> Result<RunId, EngineError> {
        request.validate()?;
        self.settle_workflow(&base_key.namespace, &base_key.workflow_id)
            .await;
        let record_id = request
            .request_id
            .as_ref()
            .map(|id| RequestId::new(format!("reset:{id}")))
            .transpose()?;
        if let Some(request_id) = &record_id
            && let Some(record) = self
                .storage
                .find_request(&base_key.namespace, &base_key.workflow_id, request_id)
                .await?
        {
            return Ok(record.run_id);
        }
        let (base, _, mut seen) = self.load(base_key).await?;
        let history = read_whole_history(&*self.storage, base_key).await?;
        let mut successors = Vec::new();
        let mut next = base.new_execution_run_id();
        for _ in 0..RESET_SUCCESSORS_MAX {
            let Some(run_id) = next else { break };
            let key = ExecutionKey {
                run_id,
                ..base_key.clone()
            };
            let (machine, _, run_seen) = self.load(&key).await?;
            successors.extend(read_whole_history(&*self.storage, &key).await?);
            seen = seen.max(run_seen);
            next = machine.new_execution_run_id();
        }
        let current = self
            .storage
            .current_run(&base_key.namespace, &base_key.workflow_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("workflow {}", base_key.workflow_id)))?;
        let current_key = ExecutionKey {
            run_id: current.run_id,
            ..base_key.clone()
        };
        let (before, db_version, current_seen) = self.load(&current_key).await?;
        let now = self.clock.now().max(seen).max(current_seen);
        let new_run_id = self.next_run_id();
        let fork = ResetFork {
            base: &base,
            history: &history,
            successors: &successors,
            request: &request,
            new_run_id,
        };
        let (mut machine, mut new_effects) = ExecutionMachine::reset(fork, now)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        let mut after = before.clone();
        let mut effects = if before.status().is_closed() {
            Effects::default()
        } else {
            let terminate = Input::Terminate {
                reason: format!("reset: {}", request.reason),
                details: None,
                identity: request.identity.clone(),
            };
            after.apply(terminate, now)?
        };
        let new_key = ExecutionKey {
            run_id: new_run_id,
            ..base_key.clone()
        };
        let handoffs = self.sync_match(&new_key, &mut machine, &mut new_effects, now);
        effects.next_run = Some(Box::new(NextRun {
            machine,
            effects: new_effects,
        }));
        let records = record_id
            .map(|request_id| RequestRecord {
                namespace: base_key.namespace.clone(),
                workflow_id: base_key.workflow_id.clone(),
                request_id,
                run_id: new_run_id,
            })
            .into_iter()
            .collect();
        let ticket = self.commit_changes(
            &current_key,
            (&before, db_version),
            after,
            effects,
            (Vec::new(), records),
            (handoffs, now),
        )?;
        self.wait(ticket).await?;
        Ok(new_run_id)
    }
}

/// The request record id a signal's request id is kept under (see [`request_record`]).
fn signal_record_id(signal: &SignalRequest) -> Option<RequestId> {
    RequestId::new(format!("signal:{}", signal.request_id.as_ref()?)).ok()
}

/// The request record that deduplicates a signal or cancel request with a request id
/// across the chain of runs — and after the run closed: a retried request finds it and is
/// a duplicate, not an error (kept apart from start request ids by its prefix). A cancel
/// request from another workflow is identified by the sender's run and Initiated event.
/// `None` for other inputs, and for ids too long to prefix (the run's own deduplication
/// still applies).
fn request_record(key: &ExecutionKey, input: &Input) -> Option<RequestRecord> {
    let request_id = match input {
        Input::Signal(signal)
        | Input::SignalWithStart(signal)
        | Input::SignalFromWorkflow { signal, .. } => {
            return Some(RequestRecord {
                namespace: key.namespace.clone(),
                workflow_id: key.workflow_id.clone(),
                request_id: signal_record_id(signal)?,
                run_id: key.run_id,
            });
        }
        Input::RequestCancel {
            request_id: Some(request_id),
            ..
        } => format!("cancel:{request_id}"),
        Input::RequestCancelFromWorkflow {
            sender,
            initiated_event_id,
            ..
        } => format!(
            "cancel:{}/{}/{initiated_event_id}",
            sender.workflow_id, sender.run_id?
        ),
        _ => return None,
    };
    Some(RequestRecord {
        namespace: key.namespace.clone(),
        workflow_id: key.workflow_id.clone(),
        request_id: RequestId::new(request_id).ok()?,
        run_id: key.run_id,
    })
}

/// The stored row kind of a task, and the queue it goes to (`outbox` for the engine's own).
fn dispatch_of(task: &Task, outbox: &TaskQueueName) -> (TaskQueueName, DispatchTask) {
    match task {
        Task::WorkflowTask {
            scheduled_event_id,
            attempt,
            task_queue,
            ..
        } => (
            task_queue.name.clone(),
            DispatchTask::WorkflowTask {
                scheduled_event_id: *scheduled_event_id,
                attempt: *attempt,
            },
        ),
        Task::ActivityTask {
            scheduled_event_id,
            attempt,
            task_queue,
        } => (
            task_queue.clone(),
            DispatchTask::ActivityTask {
                scheduled_event_id: *scheduled_event_id,
                attempt: *attempt,
            },
        ),
        Task::SignalExternalWorkflow { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::SignalExternalWorkflow {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::RequestCancelExternalWorkflow { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::RequestCancelExternalWorkflow {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::StartChildWorkflow { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::StartChildWorkflow {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::ApplyParentClosePolicy { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::ApplyParentClosePolicy {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::RecordChildCompletion => (outbox.clone(), DispatchTask::RecordChildCompletion),
    }
}

/// Every event of a run, page by page.
pub(crate) async fn read_whole_history<S: Storage>(
    storage: &S,
    key: &ExecutionKey,
) -> Result<Vec<HistoryEvent>, EngineError> {
    let mut from = EventId::FIRST;
    let mut events = Vec::new();
    loop {
        let page = storage.read_history(key, from).await?;
        events.extend(page.events);
        match page.next_event_id {
            Some(next) => from = next,
            None => return Ok(events),
        }
    }
}

/// Hands sync-matched tasks to their pollers once their start is durable. A poller that
/// gave up meanwhile loses nothing: the task, recorded as started, times out and is retried.
fn deliver(handoffs: Vec<(Poller, Handoff)>) {
    for (poller, handoff) in handoffs {
        let _ = poller.sender.send(handoff);
    }
}

/// The visibility row of a run, when this transition started or closed it.
fn visibility_row(
    key: &ExecutionKey,
    machine: &ExecutionMachine,
    events: &[HistoryEvent],
    now: Timestamp,
) -> Option<VisibilityRow> {
    let started = events.iter().any(|event| {
        matches!(
            event.attributes,
            EventAttributes::WorkflowExecutionStarted(_)
        )
    });
    let closed = events.iter().any(|event| event.event_type().is_closing());
    let upserted = events.iter().any(|event| {
        matches!(
            event.attributes,
            EventAttributes::UpsertWorkflowSearchAttributes(_)
                | EventAttributes::WorkflowPropertiesModified(_)
        )
    });
    if !started && !closed && !upserted {
        return None;
    }
    Some(VisibilityRow {
        execution: key.clone(),
        workflow_type: machine.workflow_type().clone(),
        task_queue: machine.task_queue().clone(),
        status: machine.status(),
        start_time: machine.start_time(),
        close_time: closed.then_some(now),
        memo: machine.memo().clone(),
        search_attributes: machine.search_attributes().clone(),
    })
}
