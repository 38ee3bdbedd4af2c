//! The Replayer: checks saved histories against the current workflow code, before deploying
//! it (spec §4.3, §5.13). A history is replayed task by task; the first divergence is
//! reported with its event id and both sides.

use endure_core::history::{ExportError, HistoryEvent, HistoryExport};
use endure_core::replay::{Nondeterminism, ReplayError, ReplayMachine};

use crate::workflow::definition::typed_workflow_function;
use crate::workflow::{WorkflowDefinition, WorkflowExecutor, WorkflowFunction, WorkflowTaskError};

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayFailure {
    /// The code is not the code that wrote the history.
    #[error(transparent)]
    Nondeterminism(Nondeterminism),
    /// The export could not be read.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The history cannot be replayed (malformed).
    #[error(transparent)]
    History(ReplayError),
    /// The code failed a workflow task while replaying (a panic, a wake from outside).
    #[error("workflow task failed during replay at event {event_id}: {error}")]
    WorkflowTask {
        /// The task's WorkflowTaskStarted event.
        event_id: u64,
        /// The failure.
        error: WorkflowTaskError,
    },
}

impl From<ReplayError> for ReplayFailure {
    fn from(error: ReplayError) -> Self {
        match error {
            ReplayError::Nondeterminism(nondeterminism) => Self::Nondeterminism(nondeterminism),
            other => Self::History(other),
        }
    }
}

/// Replays histories through one workflow's current code: the test that a change to a
/// workflow keeps every run already in flight working (spec §5.5: code that would issue
/// different commands for a recorded history is nondeterministic, and its runs would fail).
///
/// Feed it histories exported by `endure workflow show -w ID -o json` (or
/// [`HistoryExport`]) from production, in a test:
///
/// ```
/// use std::time::Duration;
///
/// use endure::{HistoryExport, Replayer, StartWorkflowOptions, TaskQueueName, Worker};
/// use endure::{WorkerOptions, WorkflowContext, WorkflowError, WorkflowId};
///
/// #[endure::workflow(name = "Reminder")]
/// async fn reminder(ctx: WorkflowContext, minutes: u64) -> Result<String, WorkflowError> {
///     ctx.sleep(Duration::from_millis(minutes)).await?;
///     Ok("remind".to_owned())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let client = endure::embedded::in_memory().await?;
/// # let queue = TaskQueueName::new("reminders")?;
/// # let mut worker = Worker::new(client.transport(), client.namespace().clone(), queue.clone(), WorkerOptions::default());
/// # worker.register::<reminder>();
/// # let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # let running = tokio::spawn(worker.run(async { let _ = stopped.await; }));
/// # let options = StartWorkflowOptions::new(WorkflowId::new("r-1")?, queue);
/// # let handle = client.start::<reminder>(options, &1).await?;
/// # handle.result::<String>().await?;
/// // A history as `endure workflow show -o json` writes it.
/// let json = HistoryExport::new(handle.history().await?).to_json();
/// Replayer::for_workflow::<reminder>().replay_json(&json)?;
/// # let _ = stop.send(());
/// # running.await?;
/// # Ok(())
/// # }
/// ```
pub struct Replayer {
    make: Box<dyn Fn() -> WorkflowFunction>,
    interceptors: Vec<std::sync::Arc<dyn crate::interceptors::WorkerInterceptor>>,
}

impl Replayer {
    /// A replayer for the workflow that `make` creates (a new instance per history).
    pub fn new(make: impl Fn() -> WorkflowFunction + 'static) -> Self {
        Self {
            make: Box::new(make),
            interceptors: Vec::new(),
        }
    }

    /// Replays through `interceptor` too, as a worker that added it runs the workflow
    /// (its workflow interceptors write headers the history should hold).
    pub fn add_interceptor(
        mut self,
        interceptor: std::sync::Arc<dyn crate::interceptors::WorkerInterceptor>,
    ) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// A replayer for workflow `W` (a `#[endure::workflow]` function).
    pub fn for_workflow<W: WorkflowDefinition>() -> Self {
        Self::new(|| typed_workflow_function(std::sync::Arc::new(W::run)))
    }

    /// Replays `events`. A history that ends in the middle of a task is replayed up to it.
    pub fn replay_history(&self, events: &[HistoryEvent]) -> Result<(), ReplayFailure> {
        let mut machine = ReplayMachine::new();
        machine.feed(events.iter().cloned())?;
        let mut executor = WorkflowExecutor::new((self.make)())
            .with_interceptors(self.interceptors.clone().into());
        while let Some(activation) = machine.next_activation()? {
            let commands =
                executor
                    .activate(&activation)
                    .map_err(|error| ReplayFailure::WorkflowTask {
                        event_id: activation.history_length.get(),
                        error,
                    })?;
            machine.complete(commands)?;
        }
        Ok(())
    }

    /// Replays a history in Endure's JSON export format (`docs/format.md`).
    pub fn replay_json(&self, json: &str) -> Result<(), ReplayFailure> {
        let export = HistoryExport::from_json(json)?;
        self.replay_history(&export.events)
    }
}
