//! Who waits for which run to close: a request that meets a closing run waits for the close
//! to be durable, then follows to the run's successor.

use std::time::Duration;

use endure_core::storage::ExecutionKey;
use tokio::sync::oneshot;

/// Who waits for which run to close.
#[derive(Default)]
pub(crate) struct Closings {
    waiters: parking_lot::Mutex<std::collections::BTreeMap<ExecutionKey, Vec<oneshot::Sender<()>>>>,
}

impl Closings {
    pub(super) fn register(&self, execution: &ExecutionKey) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        self.waiters
            .lock()
            .entry(execution.clone())
            .or_default()
            .push(sender);
        receiver
    }

    /// Wakes everyone waiting for `execution` to close (called after the close is durable).
    pub(crate) fn closed(&self, execution: &ExecutionKey) {
        for waiter in self.waiters.lock().remove(execution).unwrap_or_default() {
            let _ = waiter.send(());
        }
    }
}

/// The longest single wait for a closing run before a request is retried (the waits double
/// from 10 ms, a few seconds in all).
pub(super) const CLOSING_WAIT_MAX: Duration = Duration::from_secs(2);
