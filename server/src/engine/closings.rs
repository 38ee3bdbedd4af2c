//! Who waits for which run to close: a request that meets a closing run waits for the close
//! to be durable, then follows to the run's successor. A waiter is handed the closed run's
//! description and closing event as its shard had them when the close became durable, so a
//! result's long poll reads nothing more to learn how the run ended.

use std::sync::Arc;
use std::time::Duration;

use endure_core::storage::ExecutionKey;
use tokio::sync::oneshot;

use endure_core::protocol::WorkflowCloseResponse;

/// What a waiter is handed: the closed run's description and closing event.
pub(crate) type Closed = Arc<WorkflowCloseResponse>;

/// Who waits for which run to close.
#[derive(Default)]
pub(crate) struct Closings {
    waiters:
        parking_lot::Mutex<std::collections::BTreeMap<ExecutionKey, Vec<oneshot::Sender<Closed>>>>,
}

impl Closings {
    /// A wait for `execution` to close; it ends with how the run closed, or with an error
    /// when the waiter is to read that itself.
    pub(super) fn register(&self, execution: &ExecutionKey) -> oneshot::Receiver<Closed> {
        let (sender, receiver) = oneshot::channel();
        self.waiters
            .lock()
            .entry(execution.clone())
            .or_default()
            .push(sender);
        receiver
    }

    /// Wakes everyone waiting for `execution` to close (called after the close is durable),
    /// handing each what `describe` makes (made only if someone waits). Without it the
    /// waiters are woken empty-handed, to read the run themselves.
    pub(crate) fn closed(
        &self,
        execution: &ExecutionKey,
        describe: impl FnOnce() -> Option<WorkflowCloseResponse>,
    ) {
        let waiters = self.waiters.lock().remove(execution).unwrap_or_default();
        if waiters.is_empty() {
            return;
        }
        let Some(description) = describe() else {
            return;
        };
        let description = Arc::new(description);
        for waiter in waiters {
            let _ = waiter.send(Arc::clone(&description));
        }
    }
}

/// The longest single wait for a closing run before a request is retried (the waits double
/// from 10 ms, a few seconds in all).
pub(super) const CLOSING_WAIT_MAX: Duration = Duration::from_secs(2);
