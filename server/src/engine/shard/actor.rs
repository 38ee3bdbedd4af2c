//! The shard actor: its loop, its cache of execution machines, the settling of writes in
//! flight, and the generic transition every input goes through.

use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::execution::{
    Effects, ExecutionMachine, Input, Reply, SignalRequest, WorkflowTaskKind,
};
use endure_core::history::HistoryEvent;
use endure_core::lru::LruMap;
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, RunId, TaskQueueName, WorkflowId};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::engine::api::EngineError;
use crate::engine::closings::Closings;
use crate::engine::deadlines::Deadlines;
use crate::engine::in_flight::{Answer, InFlight, Remembered, Settle, Ticket};
use crate::engine::matching::Matching;
use crate::engine::namespaces::Namespaces;
use crate::engine::updates::UpdateWaiters;
use crate::engine::writer::CommitRequest;
use endure_core::protocol::WorkflowCloseResponse;

use super::alarm::Alarm;
use super::ids::IdSource;
use super::messages::ShardMessage;
use super::outbox_rows::OutboxRows;
use super::plan::{Before, Changes};
use super::recent::{RecentEvents, sticky_from};
use super::write::deliver;

/// Most executions a shard keeps in memory; the least recently used go first.
pub(super) const CACHE_MAX: usize = 10_000;

/// Most outbox rows loaded at recovery (each run has at most a few thousand pending).
pub(super) const RECOVERY_OUTBOX_MAX: usize = 1_000_000;

/// Most client signals to one run applied in one transition.
pub(super) const SIGNAL_BATCH_MAX: usize = 256;

/// How long a deletion that could not happen now waits before it is tried again.
pub(super) const RETENTION_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// Most runs after the base run whose signals and updates a reset reapplies.
pub(super) const RESET_SUCCESSORS_MAX: usize = 1_000;

/// What woke a shard's loop.
enum Woke {
    /// The oldest write in flight has its result.
    Settled(Result<(), EngineError>),
    /// A message came, or (`None`) every sender is gone.
    Message(Option<ShardMessage>),
    /// A deadline may be due.
    Deadline,
}

pub(super) struct Cached {
    /// Shared, so a transition reads the machine without copying it; it copies once, to
    /// apply its input to the copy.
    pub(super) machine: Arc<ExecutionMachine>,
    pub(super) db_version: u64,
    /// The latest time the run has seen (see [`Shard::load`]).
    pub(super) seen: Timestamp,
    /// Its latest events, for a sticky task sync-matched in its next write.
    pub(super) recent: RecentEvents,
}

/// What every shard of an engine shares: the ports, the committer, matching, the outbox,
/// the waiters for closes and updates, the namespaces, and its limits.
pub(crate) struct ShardParts<S, C> {
    pub(crate) storage: Arc<S>,
    pub(crate) clock: Arc<C>,
    pub(crate) writer: mpsc::UnboundedSender<CommitRequest>,
    pub(crate) matching: Arc<Matching>,
    pub(crate) outbox: mpsc::UnboundedSender<DispatchRow>,
    pub(crate) closings: Arc<Closings>,
    pub(crate) updates: Arc<UpdateWaiters>,
    pub(crate) namespaces: Arc<Namespaces>,
    /// What the engine did, for its summary line.
    pub(crate) tally: Arc<crate::engine::tally::Tally>,
    /// See [`EngineConfig::shard_writes_in_flight_max`](crate::engine::EngineConfig).
    pub(crate) writes_in_flight_max: usize,
}

impl<S, C> Clone for ShardParts<S, C> {
    fn clone(&self) -> Self {
        Self {
            storage: Arc::clone(&self.storage),
            clock: Arc::clone(&self.clock),
            writer: self.writer.clone(),
            matching: Arc::clone(&self.matching),
            outbox: self.outbox.clone(),
            closings: Arc::clone(&self.closings),
            updates: Arc::clone(&self.updates),
            namespaces: Arc::clone(&self.namespaces),
            tally: Arc::clone(&self.tally),
            writes_in_flight_max: self.writes_in_flight_max,
        }
    }
}

/// The state of one shard actor.
pub(crate) struct Shard<S, C> {
    pub(super) id: ShardId,
    pub(super) range: RangeId,
    /// What the shard shares with the engine's other shards.
    pub(super) parts: ShardParts<S, C>,
    /// The busy runs' machines, the least recently used forgotten past [`CACHE_MAX`].
    pub(super) cache: LruMap<ExecutionKey, Cached>,
    pub(super) deadlines: Deadlines,
    /// Where the shard's new run ids and task ids come from.
    pub(super) ids: IdSource,
    pub(super) in_flight: InFlight,
    /// The shard's durable outbox rows still to deliver, and how many each run has: a
    /// run with any is not deleted (its parent close policy or its report to its parent
    /// is still to send). Kept from the writes themselves, so no deletion reads the
    /// outbox.
    pub(super) outbox_rows: OutboxRows,
    /// Where its outbox rows are stored ([`outbox_queue`]).
    pub(super) outbox_queue: (Namespace, TaskQueueName),
}

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Takes the shard's lease, reloads its deadlines and hands its outbox rows to the
    /// outbox (recovery).
    pub(crate) async fn open(id: ShardId, parts: ShardParts<S, C>) -> Result<Self, EngineError> {
        let range = parts.storage.acquire_shard(id).await?;
        Self::open_at(id, parts, range).await
    }

    /// [`open`](Self::open) under a lease already taken at `range` (a cluster node's).
    pub(crate) async fn open_at(
        id: ShardId,
        parts: ShardParts<S, C>,
        range: RangeId,
    ) -> Result<Self, EngineError> {
        let mut parts = parts;
        parts.writes_in_flight_max = parts.writes_in_flight_max.max(1);
        let mut shard = Self {
            id,
            range,
            parts,
            cache: LruMap::new(),
            deadlines: Deadlines::default(),
            ids: IdSource::new(id, range),
            in_flight: InFlight::default(),
            outbox_rows: OutboxRows::default(),
            outbox_queue: outbox_queue(id),
        };
        let now = shard.parts.clock.now();
        let (rows, until, next_beyond) = shard.read_window(now).await?;
        shard.deadlines.refilled(rows, until, now, next_beyond);
        let (namespace, queue) = shard.outbox_queue.clone();
        for row in shard
            .parts
            .storage
            .dispatch_rows(&namespace, &queue, RECOVERY_OUTBOX_MAX)
            .await?
        {
            shard.release(row);
        }
        Ok(shard)
    }

    /// Hands a durable task row to whoever runs it: the outbox or matching.
    pub(super) fn release(&mut self, row: DispatchRow) {
        if row.task.is_outbox() {
            self.outbox_rows.added(&row);
            // The outbox ends only when the engine does; a row it misses is read back
            // from storage at the next open.
            let _ = self.parts.outbox.send(row);
        } else {
            self.parts.matching.add(row);
        }
    }

    /// Runs the actor until every sender is gone. When a message waits and a deadline is
    /// due, they take turns, so neither starves; the choice never depends on anything but
    /// the shard's own state (an unbiased `select!` would draw from tokio's process-wide
    /// random source, which simulation does not control).
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<ShardMessage>) {
        let mut deadline_turn = false;
        // Messages taken from the inbox while gathering a batch, handled next, in order.
        let mut stash = std::collections::VecDeque::new();
        let mut alarm = Alarm::new();
        loop {
            deadline_turn = !deadline_turn;
            let now = self.parts.clock.now();
            if self.deadlines.needs_refill(now) {
                self.refill(now).await;
            }
            if deadline_turn && self.deadlines.first().is_some_and(|time| time <= now) {
                self.fire_due().await;
                continue;
            }
            alarm.arm(&self.parts.clock, self.deadlines.wake_at(now));
            if let Some(message) = stash.pop_front() {
                self.handle_batched(message, &mut inbox, &mut stash).await;
                continue;
            }
            // At the limit of writes in flight, the oldest settles before more requests
            // are taken: a slow commit pushes back on the inbox, which refuses when full.
            if self.in_flight.len() >= self.parts.writes_in_flight_max {
                self.settle_next().await;
                continue;
            }
            // A write that became durable settles first: its replies and tasks leave sooner.
            let woke = tokio::select! {
                biased;
                Some(result) = self.in_flight.front_result() => Woke::Settled(result),
                message = inbox.recv() => Woke::Message(message),
                () = alarm.rung() => Woke::Deadline,
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
                    let now = self.parts.clock.now();
                    if self.deadlines.needs_refill(now) {
                        self.refill(now).await;
                    }
                    self.fire_due().await;
                }
            }
        }
    }

    /// Settles the oldest write in flight, whose result is `result`; its number.
    pub(super) async fn settle_front(&mut self, result: Result<(), EngineError>) -> Option<u64> {
        let (number, settle) = self.in_flight.pop_front()?;
        self.apply_settle(settle, result).await;
        Some(number)
    }

    /// Waits for the oldest write in flight and settles it: its number and result; `None`
    /// when nothing is in flight.
    pub(super) async fn settle_next(&mut self) -> Option<(u64, Result<(), EngineError>)> {
        let result = self.in_flight.front_result().await?;
        let number = self.settle_front(result.clone()).await?;
        Some((number, result))
    }

    /// Waits for the writes in flight up to and including write `number`, settling each in
    /// order; the result of write `number`.
    pub(super) async fn settle_through(&mut self, number: u64) -> Result<(), EngineError> {
        while let Some((settled, result)) = self.settle_next().await {
            if settled == number {
                return result;
            }
        }
        debug_assert!(false, "write {number} is in flight until it settles");
        Err(EngineError::Shutdown)
    }

    /// Waits for the write of `ticket` to be durable (and for every write before it).
    pub(super) async fn wait(&mut self, ticket: Ticket) -> Result<(), EngineError> {
        self.settle_through(InFlight::number(ticket)).await
    }

    /// Waits for the write of this workflow id in flight, if any, so what is read next of
    /// it — cached or stored — is durable. Its failure was its own waiters' to learn.
    pub(super) async fn settle_workflow(
        &mut self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) {
        if let Some(number) = self.in_flight.last_of(namespace, workflow_id) {
            let _ = self.settle_through(number).await;
        }
    }

    /// Waits for every write in flight.
    pub(super) async fn settle_all(&mut self) {
        while self.settle_next().await.is_some() {}
    }

    /// What a write does once its result is known (see [`Settle`]).
    pub(super) async fn apply_settle(&mut self, settle: Settle, result: Result<(), EngineError>) {
        let Settle {
            key,
            closed,
            closing_event,
            warnings,
            updates,
            remember,
            released,
            handoffs,
            outbox_deleted,
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
        super::super::instruments::runs_settled(&self.parts.tally, &key, closed, &remember);
        if closed {
            self.parts.closings.closed(&key, || {
                let machine = &remember.iter().find(|run| run.key == key)?.machine;
                let closing_event = closing_event?;
                Some(WorkflowCloseResponse {
                    description: crate::engine::reads::describe(
                        key.clone(),
                        machine,
                        Some(closing_event.event_time),
                    ),
                    closing_event: Some(closing_event),
                })
            });
        }
        for warning in &warnings {
            tracing::warn!(
                execution = ?key,
                ?warning,
                "the run's history is large: continue as new before it reaches 51,200 events or 50 MiB, where the engine terminates it"
            );
        }
        self.parts.updates.notify(&key, &updates);
        for row in &outbox_deleted {
            self.outbox_rows.deleted(row);
        }
        for run in remember {
            self.remember(run);
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

    pub(super) async fn handle(&mut self, message: ShardMessage) {
        match message {
            ShardMessage::Start {
                request,
                signal,
                update,
                parent,
                reply,
            } => {
                let span = tracing::debug_span!(
                    "start_workflow",
                    namespace = %request.namespace,
                    workflow_id = %request.options.id,
                    workflow_type = %request.workflow_type,
                );
                let (signal, update, parent) = (
                    signal.map(|signal| *signal),
                    update.map(|update| *update),
                    parent.map(|parent| *parent),
                );
                let result = if span.is_disabled() {
                    self.start(*request, signal, update, parent).await
                } else {
                    self.start(*request, signal, update, parent)
                        .instrument(span)
                        .await
                };
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
                let span = run_span("reset", &execution);
                let _ = reply.send(self.reset(&execution, *request).instrument(span).await);
            }
            ShardMessage::Delete { execution, reply } => {
                let span = run_span("delete", &execution);
                let _ = reply.send(self.delete(&execution).instrument(span).await);
            }
        }
    }

    /// A run id no other run has, drawn at the clock's now.
    pub(super) fn next_run_id(&mut self) -> RunId {
        self.ids.next_run_id(self.parts.clock.now())
    }

    pub(super) fn arm(&mut self, key: ExecutionKey, deadline: Option<Timestamp>) {
        self.deadlines.arm(key, deadline);
    }

    /// The run's machine, its db version, and the latest time it has seen: its last
    /// event's time, or later. Inputs are applied at no earlier time than that, so a run's
    /// time never goes backwards — not even when the engine restarts with a clock behind
    /// the previous one's — and nothing fires early by the run's own history.
    pub(super) async fn load(
        &mut self,
        key: &ExecutionKey,
    ) -> Result<(Arc<ExecutionMachine>, u64, Timestamp), EngineError> {
        if let Some(cached) = self.cache.get_mut(key) {
            metrics::counter!(crate::engine::instruments::CACHE_HITS).increment(1);
            return Ok((Arc::clone(&cached.machine), cached.db_version, cached.seen));
        }
        metrics::counter!(crate::engine::instruments::CACHE_MISSES).increment(1);
        let row = self
            .parts
            .storage
            .load_execution(key)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("{key}")))?;
        let machine = ExecutionMachine::from_row(&row)?;
        let seen = match EventId::new(machine.next_event_id().get().saturating_sub(1)) {
            Some(last) => self
                .parts
                .storage
                .read_history(key, last)
                .await?
                .events
                .first()
                .map_or(machine.start_time(), |event| event.event_time),
            None => machine.start_time(),
        };
        let seen = seen.max(machine.start_time());
        Ok((Arc::new(machine), row.db_version, seen))
    }

    /// Caches a run that is busy — a worker has one of its tasks; a closed run, or one
    /// only waiting (for a timer, a signal, or a worker to take a task from the backlog),
    /// costs storage, not memory, until a worker takes a task: a backlog of a million
    /// tasks must not hold a million machines. What lives only in memory (admitted
    /// updates, and the speculative task that carries them) keeps a run cached.
    pub(super) fn remember(&mut self, run: Remembered) {
        let Remembered {
            key,
            machine,
            db_version,
            seen,
            written,
        } = run;
        let earlier = self.cache.remove(&key);
        if !stays_cached(&machine) {
            return;
        }
        let mut recent = earlier.map(|cached| cached.recent).unwrap_or_default();
        recent.push(written, sticky_from(&machine));
        self.cache.insert(
            key,
            Cached {
                machine: Arc::new(machine),
                db_version,
                seen,
                recent,
            },
        );
        if self.cache.len() > CACHE_MAX
            && let Some(oldest) = self.cache.oldest().cloned()
        {
            self.forget(&oldest);
        }
    }

    /// Drops a run from the cache; the updates only it held are lost, and their clients
    /// told to send them again.
    pub(super) fn forget(&mut self, key: &ExecutionKey) {
        if let Some(cached) = self.cache.remove(key)
            && cached.machine.has_admitted_updates()
        {
            self.parts.updates.lost(key);
        }
    }

    /// Applies `input` to a run; the reply, and the ticket of the write that must be
    /// durable before anything of it leaves (none when nothing was written).
    pub(super) async fn transition(
        &mut self,
        key: &ExecutionKey,
        input: Input,
        dispatched: Option<DispatchKey>,
    ) -> Result<(Reply, Option<Ticket>), EngineError> {
        let span = tracing::debug_span!(
            "transition",
            namespace = %key.namespace,
            workflow_id = %key.workflow_id,
            run_id = %key.run_id,
            input = input.name(),
            first_event_id = tracing::field::Empty,
            last_event_id = tracing::field::Empty,
        );
        // Wrapping the (large) transition future costs a move of it: only when recording.
        if span.is_disabled() {
            self.transition_in(key, input, dispatched).await
        } else {
            self.transition_in(key, input, dispatched)
                .instrument(span)
                .await
        }
    }

    /// [`transition`](Self::transition) inside its span.
    async fn transition_in(
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
        let mut next = ExecutionMachine::clone(&machine);
        let now = self.parts.clock.now().max(seen);
        let input = self.with_fresh_run_ids(input);
        let effects = match next.apply(input, now) {
            Ok(effects) => effects,
            Err(rejected) => {
                // A stale task's backlog row is removed so it is not handed out again; the
                // refusal does not wait for that.
                if let Some(dispatched) = dispatched
                    && let Ok(ticket) = self.commit_changes(
                        key,
                        Before {
                            machine: &machine,
                            db_version,
                            seen,
                        },
                        ExecutionMachine::clone(&machine),
                        Effects::default(),
                        Changes {
                            dispatch_deletes: vec![dispatched],
                            ..Changes::default()
                        },
                        now,
                    )
                {
                    self.in_flight.answer(ticket, Answer::Nobody);
                }
                return Err(rejected.into());
            }
        };
        if let (Some(first), Some(last)) = (effects.events.first(), effects.events.last()) {
            let span = tracing::Span::current();
            span.record("first_event_id", first.event_id.get());
            span.record("last_event_id", last.event_id.get());
        }
        let mut effects = effects;
        let reply = std::mem::take(&mut effects.reply);
        let records = request_record
            .filter(|_| reply != Reply::Duplicate)
            .into_iter()
            .collect();
        let changes = Changes {
            dispatch_deletes: dispatched.into_iter().collect(),
            request_records: records,
            ..Changes::default()
        };
        let before = Before {
            machine: &machine,
            db_version,
            seen,
        };
        let ticket = self.write_transition(key, before, next, effects, changes, now)?;
        Ok((reply, ticket))
    }

    /// Whether `record`'s request id was already recorded. A signal's or cancel request's
    /// id deduplicates it across the workflow id's whole chain of runs: a retry that
    /// arrives after the run continued as new, retried or closed finds the record instead
    /// of applying again (or failing).
    pub(super) async fn recorded(
        &self,
        record: Option<&RequestRecord>,
    ) -> Result<bool, EngineError> {
        let Some(record) = record else {
            return Ok(false);
        };
        Ok(self
            .parts
            .storage
            .find_request(&record.namespace, &record.workflow_id, &record.request_id)
            .await?
            .is_some())
    }
}

/// The request record id a signal's request id is kept under (see [`request_record`]).
/// A debug span named `name` for a step on the run `key`.
pub(super) fn run_span(name: &'static str, key: &ExecutionKey) -> tracing::Span {
    tracing::debug_span!(
        "run_step",
        step = name,
        namespace = %key.namespace,
        workflow_id = %key.workflow_id,
        run_id = %key.run_id,
    )
}

pub(super) fn signal_record_id(signal: &SignalRequest) -> Option<RequestId> {
    RequestId::new(format!("signal:{}", signal.request_id.as_ref()?)).ok()
}

/// The request record that deduplicates a signal or cancel request with a request id
/// across the chain of runs — and after the run closed: a retried request finds it and is
/// a duplicate, not an error (kept apart from start request ids by its prefix). A cancel
/// request from another workflow is identified by the sender's run and Initiated event.
/// `None` for other inputs, and for ids too long to prefix (the run's own deduplication
/// still applies).
pub(super) fn request_record(key: &ExecutionKey, input: &Input) -> Option<RequestRecord> {
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

/// Whether a run stays in the cache once written: while it is busy — a worker has one of
/// its tasks, or what lives only in memory (admitted updates, the speculative task that
/// carries them) would be lost without it ([`Shard::remember`]).
pub(super) fn stays_cached(machine: &ExecutionMachine) -> bool {
    let idle = machine
        .workflow_task()
        .is_none_or(|task| task.started.is_none() && task.kind != WorkflowTaskKind::Speculative)
        && machine
            .activities()
            .values()
            .all(|activity| activity.started.is_none())
        && !machine.has_admitted_updates();
    !machine.status().is_closed() && !idle
}
