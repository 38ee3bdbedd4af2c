//! The worker's side of [`chaos`](crate::chaos): a shadow replay of every task from scratch
//! compared with the run's own commands, random cache evictions, and wakes from outside
//! reported.

use endure_core::history::HistoryEvent;
use endure_core::protocol::WorkflowTaskForWorker;
use endure_core::storage::ExecutionKey;
use endure_core::{Command, WorkflowTaskFailedCause};

use super::{RunStart, Shared};
use crate::chaos::ChaosKind;
use crate::workflow::executor::OutsideWakeHook;

/// What tokio's panic says when it is used outside a runtime's context.
const TOKIO_CONTEXT_PANIC: &str = "Tokio";

/// The longest a command is shown in a divergence report.
const SHOWN_COMMAND_MAX: usize = 600;

impl Shared {
    /// Runs the task again on a new run replaying the whole history and compares the
    /// commands it issues with `commands`, the task's own: a difference (or a replay that
    /// fails) is nondeterministic code, reported in the chaos log and as the task's failure.
    pub(super) async fn replay_and_compare(
        &self,
        task: &WorkflowTaskForWorker,
        events: Vec<HistoryEvent>,
        commands: &[Command],
    ) -> Result<(), (WorkflowTaskFailedCause, String)> {
        let Some(chaos) = &self.chaos else {
            return Ok(());
        };
        let history = match self.whole_history(task, events).await {
            Ok(history) => history,
            // History unreadable: nothing to compare against; the task goes on.
            Err(message) => {
                tracing::debug!(%message, "chaos: no history to replay from");
                return Ok(());
            }
        };
        let last_event = history.last().map_or(0, |event| event.event_id.get());
        let divergence = match self.replay_outside_runtime(task, history) {
            Ok(replayed) => first_difference(commands, &replayed),
            Err(message) if message.contains(TOKIO_CONTEXT_PANIC) => {
                let detail = format!(
                    "workflow {} of type {} uses tokio (a timer, channel, IO or spawn) in \
                     workflow code: replayed outside any runtime, it panicked ({message}); \
                     use the WorkflowContext's timers, channels and activities",
                    task.execution.workflow_id, task.workflow_type,
                );
                chaos.record(ChaosKind::OutsideWake, &self.options.identity, &detail);
                return Err((WorkflowTaskFailedCause::NonDeterministicError, detail));
            }
            Err(message) => Some(format!("a replay from scratch failed: {message}")),
        };
        let Some(divergence) = divergence else {
            return Ok(());
        };
        let message = format!(
            "workflow {} (run {}) of type {} is not deterministic: replayed from scratch at \
             its task ending at event {last_event}, {divergence}",
            task.execution.workflow_id, task.execution.run_id, task.workflow_type,
        );
        chaos.record(ChaosKind::Nondeterminism, &self.options.identity, &message);
        Err((WorkflowTaskFailedCause::NonDeterministicError, message))
    }

    /// The commands a new run replaying `history` issues for the task, run on a thread of
    /// its own outside any runtime, so workflow code that creates a tokio timer or does IO
    /// panics there (tokio needs its runtime's context) instead of waiting on something the
    /// workflow cannot replay. Under the simulator, in place.
    fn replay_outside_runtime(
        &self,
        task: &WorkflowTaskForWorker,
        history: Vec<HistoryEvent>,
    ) -> Result<Vec<Command>, String> {
        let replay = || {
            self.activate(task, RunStart::New(history))
                .map(|(commands, _, _)| commands)
                .map_err(|(_, message)| message)
        };
        #[cfg(not(madsim))]
        {
            std::thread::scope(|scope| {
                scope
                    .spawn(replay)
                    .join()
                    .unwrap_or_else(|_| Err("the replay's thread panicked".to_owned()))
            })
        }
        #[cfg(madsim)]
        {
            replay()
        }
    }

    /// Evicts the run after its task, when chaos draws it.
    pub(super) fn chaos_evict(&self, execution: &ExecutionKey) {
        if let Some(chaos) = &self.chaos
            && chaos.evicts()
        {
            self.evict(execution);
            chaos.record(
                ChaosKind::CacheEviction,
                &self.options.identity,
                format!("workflow {}", execution.workflow_id),
            );
        }
    }

    /// What a new run's executor calls when its code is woken from outside an activation.
    pub(super) fn outside_wake_hook(&self, execution: &ExecutionKey) -> Option<OutsideWakeHook> {
        let chaos = self.chaos.clone()?;
        let identity = self.options.identity.clone();
        let detail = format!(
            "workflow {} run {} was woken outside a workflow task: its code awaits something \
             that is not the workflow's (a tokio timer, channel or IO); use the \
             WorkflowContext's timers, channels and activities",
            execution.workflow_id, execution.run_id
        );
        Some(std::sync::Arc::new(move || {
            chaos.record(ChaosKind::OutsideWake, &identity, detail.clone());
        }))
    }
}

/// Where `replayed` first differs from `issued`, said for a person; `None` if they agree.
fn first_difference(issued: &[Command], replayed: &[Command]) -> Option<String> {
    let shown = |command: Option<&Command>| match command {
        None => "nothing".to_owned(),
        Some(command) => {
            let mut text = format!("{command:?}");
            if text.len() > SHOWN_COMMAND_MAX {
                let mut end = SHOWN_COMMAND_MAX;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
                text.push('…');
            }
            text
        }
    };
    let index = (0..issued.len().max(replayed.len()))
        .find(|&index| issued.get(index) != replayed.get(index))?;
    Some(format!(
        "command {} differs: the run issued {} but the replay issued {}",
        index + 1,
        shown(issued.get(index)),
        shown(replayed.get(index)),
    ))
}

#[cfg(test)]
mod tests {
    use endure_core::StartTimerCommandAttributes;
    use endure_core::TimerId;

    use super::*;

    fn timer(id: &str, millis: u64) -> Command {
        Command::StartTimer(StartTimerCommandAttributes {
            timer_id: TimerId::new(id).unwrap(),
            start_to_fire_timeout: std::time::Duration::from_millis(millis),
        })
    }

    #[test]
    fn the_first_difference_is_named() {
        let issued = [timer("a", 1), timer("b", 2)];
        assert_eq!(first_difference(&issued, &issued), None);
        let swapped = [timer("b", 2), timer("a", 1)];
        let said = first_difference(&issued, &swapped).unwrap();
        assert!(said.starts_with("command 1 differs"), "{said}");
        let shorter = first_difference(&issued, &issued[..1]).unwrap();
        assert!(
            shorter.contains("command 2") && shorter.ends_with("nothing"),
            "{shorter}"
        );
    }
}
