//! Execution slots of a worker (Go's `MaxConcurrentWorkflowTaskExecutionSize` and
//! `MaxConcurrentActivityExecutionSize`): a poller takes a slot before it polls, hands the
//! task it gets to a task of its own holding that slot, and polls again at once. So how
//! many tasks run at a time is bounded by the slots, not by the pollers, and a poller never
//! takes a task the worker has no room to run.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

/// The slots of one kind of task, and the executions holding them.
pub(crate) struct TaskSlots {
    slots: Arc<Semaphore>,
    capacity: u32,
    /// The running executions, by the number each was given, so shutdown can abort them.
    running: Mutex<Running>,
    /// The slot gauges (`temporal_worker_task_slots_*`), if they are kept.
    gauges: Option<SlotGauges>,
}

/// The gauges of free and used slots, registered once: each report sets them without
/// building their keys again (two keys of five labels at every slot taken and given back
/// were about 6,000 instructions a workflow, callgrind on `endure bench latency`).
struct SlotGauges {
    available: metrics::Gauge,
    used: metrics::Gauge,
}

#[derive(Default)]
struct Running {
    next: u64,
    handles: BTreeMap<u64, AbortHandle>,
}

/// A slot taken by a poller, to be given to the execution of the task it polls.
pub(crate) struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    /// The slots to report to once this one is free again, if they keep gauges.
    reports_to: Option<Arc<TaskSlots>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Some(slots) = &self.reports_to {
            slots.report();
        }
    }
}

impl TaskSlots {
    /// `capacity` slots (at least one).
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        // `u32` bounds it (what `acquire_many` takes), far below the semaphore's limit.
        let capacity = u32::try_from(capacity).unwrap_or(u32::MAX).max(1);
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            running: Mutex::new(Running::default()),
            gauges: None,
        })
    }

    /// These slots, reporting how many are free and used under `labels` (to the metrics
    /// recorder installed now: as the crate's metrics say, install it before workers).
    pub(crate) fn with_gauges(self: Arc<Self>, labels: Vec<metrics::Label>) -> Arc<Self> {
        let gauges = SlotGauges {
            available: metrics::gauge!(crate::metrics::WORKER_TASK_SLOTS_AVAILABLE, labels.clone()),
            used: metrics::gauge!(crate::metrics::WORKER_TASK_SLOTS_USED, labels),
        };
        let slots = Arc::new(Self {
            slots: Arc::clone(&self.slots),
            capacity: self.capacity,
            running: Mutex::new(Running::default()),
            gauges: Some(gauges),
        });
        slots.report();
        slots
    }

    /// Sets the slot gauges, if kept.
    fn report(&self) {
        if let Some(gauges) = &self.gauges {
            let free = self.slots.available_permits() as f64;
            gauges.available.set(free);
            gauges.used.set(f64::from(self.capacity) - free);
        }
    }

    /// Waits for a free slot.
    pub(crate) async fn take(self: &Arc<Self>) -> Slot {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        self.slot(permit)
    }

    /// A free slot, if there is one now.
    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let permit = Arc::clone(&self.slots).try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    /// The slot `permit` stands for, reported taken.
    fn slot(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Slot {
        self.report();
        Slot {
            permit: Some(permit),
            reports_to: self.gauges.is_some().then(|| Arc::clone(self)),
        }
    }

    /// Runs `execution` on a task of its own holding `slot`; the slot is free again when it
    /// ends or is aborted.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        slot: Slot,
        execution: impl Future<Output = ()> + Send + 'static,
    ) {
        // The lock is held across the spawn so the execution cannot end (and remove its
        // entry) before the entry is in.
        let mut running = self.running.lock();
        let number = running.next;
        running.next += 1;
        let slots = Arc::clone(self);
        // Boxed once here: a workflow task's execution is kilobytes, which the spawn would
        // otherwise copy at each move (into the task, its cell, its stages).
        let execution = Box::pin(execution);
        let handle = tokio::spawn(async move {
            execution.await;
            slots.running.lock().handles.remove(&number);
            drop(slot);
        });
        running.handles.insert(number, handle.abort_handle());
    }

    /// [`spawn`](Self::spawn) inside `span`, wrapped only when the span records (a
    /// disabled span costs no extra move of the execution).
    pub(crate) fn spawn_in(
        self: &Arc<Self>,
        slot: Slot,
        span: tracing::Span,
        execution: impl Future<Output = ()> + Send + 'static,
    ) {
        if span.is_disabled() {
            self.spawn(slot, execution);
        } else {
            use tracing::Instrument;
            self.spawn(slot, execution.instrument(span));
        }
    }

    /// How many executions are running.
    pub(crate) fn running(&self) -> usize {
        self.running.lock().handles.len()
    }

    /// Waits until every execution has ended (every slot is free).
    pub(crate) async fn drained(&self) {
        let all = self
            .slots
            .acquire_many(self.capacity)
            .await
            .expect("the semaphore is never closed");
        drop(all);
    }

    /// Waits until every execution has ended or `period` has passed; whether they all ended.
    pub(crate) async fn drained_within(&self, period: std::time::Duration) -> bool {
        tokio::time::timeout(period, self.drained()).await.is_ok()
    }

    /// Aborts every running execution; their slots come free as they are dropped.
    pub(crate) fn abort_all(&self) {
        let handles = std::mem::take(&mut self.running.lock().handles);
        for handle in handles.into_values() {
            handle.abort();
        }
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn executions_never_exceed_the_slots_and_drained_waits_for_all() {
        let slots = TaskSlots::new(3);
        let (now, most, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        for _ in 0..10 {
            let slot = slots.take().await;
            let (now, most, done) = (Arc::clone(&now), Arc::clone(&most), Arc::clone(&done));
            slots.spawn(slot, async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        slots.drained().await;
        assert_eq!(done.load(Ordering::SeqCst), 10);
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(slots.running(), 0);
    }

    #[tokio::test]
    async fn aborted_executions_free_their_slots() {
        let slots = TaskSlots::new(2);
        for _ in 0..2 {
            let slot = slots.take().await;
            slots.spawn(slot, std::future::pending());
        }
        assert_eq!(slots.running(), 2);
        assert!(!slots.drained_within(Duration::from_millis(20)).await);
        slots.abort_all();
        assert!(slots.drained_within(Duration::from_secs(5)).await);
        assert_eq!(slots.running(), 0);
    }
}
