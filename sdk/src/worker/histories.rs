//! A task's history: the cached run's, or the full history read page by page.

use endure_core::EventId;
use endure_core::history::HistoryEvent;
use endure_core::protocol::{GetHistoryPageRequest, WorkflowTaskForWorker};
use endure_core::storage::ExecutionKey;

use super::{RunStart, Shared};
use crate::client::call_rpc;

impl Shared {
    /// Where the task's run starts from: the cached run if it stopped exactly at the task's
    /// previous-started event, else a new run and the full history (fetched when the task
    /// carries only the events after that point).
    pub(super) async fn cached_or_history(
        &self,
        task: &WorkflowTaskForWorker,
        events: Vec<HistoryEvent>,
    ) -> Result<RunStart, String> {
        let cached = self.cache.lock().remove(&task.execution);
        let hit = cached
            .as_ref()
            .is_some_and(|run| run.replay.last_event_id() == task.previous_started_event_id);
        self.record_cache_lookup(hit);
        match cached {
            Some(run) if hit => {
                return Ok(RunStart::Cached(run, events));
            }
            Some(_) => {
                tracing::debug!(execution = ?task.execution, "cached run is behind the task; replaying");
            }
            None => {}
        }
        Ok(RunStart::New(self.whole_history(task, events).await?))
    }

    /// The run's whole history up to the task: `events` if they start at the first event,
    /// else the stored events before them read first (a sticky task carries only the
    /// events after the worker's previous task).
    pub(super) async fn whole_history(
        &self,
        task: &WorkflowTaskForWorker,
        events: Vec<HistoryEvent>,
    ) -> Result<Vec<HistoryEvent>, String> {
        let first = events
            .first()
            .map_or(EventId::FIRST, |event| event.event_id);
        if first == EventId::FIRST {
            return Ok(events);
        }
        // A sticky task's events start after the worker's previous task: read the rest.
        let mut history = self
            .read_pages(&task.execution, EventId::FIRST, Some(first))
            .await?;
        if history.last().map(|event| event.event_id.next()) != Some(first) {
            return Err(format!(
                "the stored history does not reach event {} where the task's events begin",
                first.get()
            ));
        }
        history.extend(events);
        Ok(history)
    }

    /// The task's events in full: its first page, the pages after it, its transient events.
    pub(super) async fn task_events(
        &self,
        task: &mut WorkflowTaskForWorker,
    ) -> Result<Vec<HistoryEvent>, String> {
        let mut events = std::mem::take(&mut task.history);
        if let Some(next) = task.next_page {
            events.extend(self.read_pages(&task.execution, next, None).await?);
        }
        events.append(&mut task.transient_events);
        Ok(events)
    }

    /// Reads a run's stored history from `from`, stopping before `until` if given.
    pub(super) async fn read_pages(
        &self,
        execution: &ExecutionKey,
        mut from: EventId,
        until: Option<EventId>,
    ) -> Result<Vec<HistoryEvent>, String> {
        let mut events = Vec::new();
        while until.is_none_or(|until| from < until) {
            let request = GetHistoryPageRequest {
                execution: execution.clone(),
                first_event_id: from,
            };
            let page = call_rpc(&*self.transport, request)
                .await
                .map_err(|error| format!("cannot read the run's history: {error}"))?;
            events.extend(
                page.events
                    .into_iter()
                    .take_while(|event| until.is_none_or(|until| event.event_id < until)),
            );
            match page.next_event_id {
                Some(next) => from = next,
                None => break,
            }
        }
        Ok(events)
    }
}
