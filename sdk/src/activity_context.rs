//! What an activity implementation gets: its task's information, heartbeats, and the
//! cancellation the workflow requested (spec §5.12.2, §5.12.4).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use endure_core::execution::ActivityTaskStartedReply;
use endure_core::protocol::{Request, Response, Transport};
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::{ActivityId, ActivityType, Payload, PayloadError, Payloads};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The context of one activity attempt.
#[derive(Clone)]
pub struct ActivityContext {
    transport: Arc<dyn Transport>,
    execution: ExecutionKey,
    task: Arc<ActivityTaskStartedReply>,
    canceled: Arc<AtomicBool>,
}

/// Facts about the attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityInfo {
    /// The activity id.
    pub activity_id: ActivityId,
    /// The activity type.
    pub activity_type: ActivityType,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The run that scheduled it.
    pub execution: ExecutionKey,
    /// When this attempt started.
    pub started_time: Timestamp,
    /// When this attempt must finish by (start-to-close).
    pub deadline: Timestamp,
}

impl ActivityContext {
    pub(crate) fn new(
        transport: Arc<dyn Transport>,
        execution: ExecutionKey,
        task: ActivityTaskStartedReply,
    ) -> Self {
        Self {
            transport,
            execution,
            task: Arc::new(task),
            canceled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The attempt's information.
    pub fn info(&self) -> ActivityInfo {
        ActivityInfo {
            activity_id: self.task.scheduled.activity_id.clone(),
            activity_type: self.task.scheduled.activity_type.clone(),
            attempt: self.task.token.attempt,
            execution: self.execution.clone(),
            started_time: self.task.started_time,
            deadline: self
                .task
                .started_time
                .saturating_add(self.task.scheduled.start_to_close_timeout),
        }
    }

    /// The details the previous attempt last heartbeated, to resume from (decoded as JSON).
    pub fn heartbeat_details<T: DeserializeOwned>(&self) -> Option<Result<T, PayloadError>> {
        let details = self.task.heartbeat_details.as_ref()?;
        details.0.first().map(Payload::decode)
    }

    /// Reports progress; the engine keeps `details` for the next attempt. Returns whether the
    /// workflow asked to cancel the activity. After a cancel request heartbeats are still sent
    /// (and logged), so the activity can finish its cleanup.
    pub async fn heartbeat<T: Serialize>(&self, details: &T) -> bool {
        let details = Payload::json(details).ok().map(Payloads::one);
        if self.is_canceled() {
            tracing::warn!(activity = %self.task.scheduled.activity_id, "heartbeat after cancellation was requested");
        }
        let request = Request::RecordActivityHeartbeat {
            execution: self.execution.clone(),
            token: self.task.token,
            details,
        };
        if let Ok(Response::Heartbeat {
            cancel_requested: true,
        }) = self.transport.call(request).await
        {
            self.canceled.store(true, Ordering::Release);
        }
        self.is_canceled()
    }

    /// Whether a heartbeat learned that the workflow asked to cancel this activity.
    pub fn is_canceled(&self) -> bool {
        self.canceled.load(Ordering::Acquire)
    }
}
