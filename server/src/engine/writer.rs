//! Group commit: one writer takes every write queued (no linger timer), commits them in one
//! storage transaction, and answers each with its own result. A stale condition rejects only
//! its write; a storage failure fails them all.

use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::storage::{Storage, StorageError, WorkflowWrite, WriteRejection};

use super::instruments;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// The result of one write.
pub(crate) type WriteResult = Result<Result<(), WriteRejection>, StorageError>;

/// One write waiting for its commit.
pub(crate) struct CommitRequest {
    pub(crate) write: WorkflowWrite,
    pub(crate) reply: oneshot::Sender<WriteResult>,
}

/// Spawns the writer; writes sent to the returned channel are group-committed, at most
/// `batch_max` (at least one) per storage transaction.
pub(crate) fn spawn_writer<S: Storage, C: Clock>(
    storage: Arc<S>,
    clock: Arc<C>,
    tally: Arc<super::tally::Tally>,
    batch_max: usize,
) -> (
    mpsc::UnboundedSender<CommitRequest>,
    tokio::task::JoinHandle<()>,
) {
    let batch_max = batch_max.max(1);
    let (sender, mut receiver) = mpsc::unbounded_channel::<CommitRequest>();
    let task = tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            let mut batch = vec![first];
            while batch.len() < batch_max {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (writes, replies): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|request| (request.write, request.reply))
                .unzip();
            let count = writes.len();
            let started = clock.now();
            let span = tracing::debug_span!("commit", writes = count);
            let committed = if span.is_disabled() {
                storage.commit(writes).await
            } else {
                storage.commit(writes).instrument(span).await
            };
            let latency = clock.now().saturating_duration_since(started);
            tally.commit(latency);
            metrics::histogram!(instruments::COMMIT_LATENCY).record(latency.as_secs_f64());
            metrics::histogram!(instruments::COMMIT_BATCH).record(count as f64);
            match committed {
                Ok(results) => {
                    metrics::counter!(instruments::COMMITS).increment(1);
                    debug_assert_eq!(results.len(), replies.len(), "one result per write");
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(Ok(result));
                    }
                }
                Err(error) => {
                    metrics::counter!(instruments::COMMIT_FAILURES).increment(1);
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
    });
    (sender, task)
}
