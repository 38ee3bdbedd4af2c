//! Activity options (spec §3, §5.8): timeouts, retries, routing and cancellation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::enums::ActivityCancellationType;
use crate::ids::{ActivityId, TaskQueueName};
use crate::retry::RetryPolicy;
use crate::validation::{ValidationError, check_optional_duration};

/// Longest activity summary (Temporal's user-metadata summary limit).
pub const SUMMARY_BYTES_MAX: usize = 400;

/// How one activity invocation runs. At least one of `start_to_close_timeout` and
/// `schedule_to_close_timeout` is required (spec §5.8).
///
/// | field | default |
/// |---|---|
/// | `schedule_to_close_timeout` | unlimited |
/// | `schedule_to_start_timeout` | unlimited (capped by schedule-to-close) |
/// | `start_to_close_timeout` | the schedule-to-close timeout |
/// | `heartbeat_timeout` | none (capped by start-to-close) |
/// | `retry_policy` | [`RetryPolicy::default`]: retry forever, within the timeouts |
/// | `cancellation_type` | try-cancel (Go's `WaitForCancellation: false`) |
/// | `task_queue` | the workflow's task queue |
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityOptions {
    /// The activity id; by default the SDK assigns the invocation's sequence number.
    pub activity_id: Option<ActivityId>,
    /// The queue the activity is dispatched on (Go's `TaskQueueName`).
    pub task_queue: Option<TaskQueueName>,
    /// Limit on the whole activity, retries included.
    #[serde(with = "crate::duration_text::readable_option")]
    pub schedule_to_close_timeout: Option<Duration>,
    /// Limit on waiting in the queue for a worker; not retried when it fires.
    #[serde(with = "crate::duration_text::readable_option")]
    pub schedule_to_start_timeout: Option<Duration>,
    /// Limit on one attempt.
    #[serde(with = "crate::duration_text::readable_option")]
    pub start_to_close_timeout: Option<Duration>,
    /// Longest silence between heartbeats before the attempt counts as failed.
    #[serde(with = "crate::duration_text::readable_option")]
    pub heartbeat_timeout: Option<Duration>,
    /// How failed attempts are retried.
    pub retry_policy: Option<RetryPolicy>,
    /// What the workflow does when it cancels the activity (spec §5.12).
    pub cancellation_type: ActivityCancellationType,
    /// The queue the session's activities came from (Go's `OriginalTaskQueueName`; sessions).
    pub original_task_queue: Option<TaskQueueName>,
    /// Never hand this activity to the completing worker directly (eager dispatch).
    pub disable_eager_execution: bool,
    /// A short text shown with the activity in tools.
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(strategy = "proptest::option::of(\"[ -~]{0,20}\")")
    )]
    pub summary: Option<String>,
}

impl ActivityOptions {
    /// Options with a start-to-close timeout: the usual choice for short tasks (spec §3.1).
    pub fn with_start_to_close_timeout(timeout: Duration) -> Self {
        Self {
            start_to_close_timeout: Some(timeout),
            ..Self::default()
        }
    }

    /// Options with a schedule-to-close timeout, retries included.
    pub fn with_schedule_to_close_timeout(timeout: Duration) -> Self {
        Self {
            schedule_to_close_timeout: Some(timeout),
            ..Self::default()
        }
    }

    /// Go's `WaitForCancellation`: when true, a cancelled activity is awaited until it
    /// confirms; when false, it resolves as canceled at once.
    pub fn wait_for_cancellation(mut self, wait: bool) -> Self {
        self.cancellation_type = if wait {
            ActivityCancellationType::WaitCancellationCompleted
        } else {
            ActivityCancellationType::TryCancel
        };
        self
    }

    /// Whether the workflow waits for a cancelled activity to confirm.
    pub fn waits_for_cancellation(&self) -> bool {
        self.cancellation_type == ActivityCancellationType::WaitCancellationCompleted
    }

    /// Refuses options the engine would refuse: no timeout that bounds an attempt, zero or
    /// over-long durations, an inconsistent retry policy, an over-long summary.
    ///
    /// ```
    /// use std::time::Duration;
    /// use endure_core::{ActivityOptions, ValidationError};
    ///
    /// assert_eq!(ActivityOptions::default().validate(), Err(ValidationError::MissingActivityTimeout));
    /// let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10));
    /// assert_eq!(options.validate(), Ok(()));
    /// ```
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.start_to_close_timeout.is_none() && self.schedule_to_close_timeout.is_none() {
            return Err(ValidationError::MissingActivityTimeout);
        }
        check_optional_duration("schedule_to_close_timeout", self.schedule_to_close_timeout)?;
        check_optional_duration("schedule_to_start_timeout", self.schedule_to_start_timeout)?;
        check_optional_duration("start_to_close_timeout", self.start_to_close_timeout)?;
        check_optional_duration("heartbeat_timeout", self.heartbeat_timeout)?;
        if let Some(policy) = &self.retry_policy {
            policy.validate("activity retry_policy")?;
        }
        if let Some(summary) = &self.summary
            && summary.len() > SUMMARY_BYTES_MAX
        {
            return Err(ValidationError::TooLong {
                field: "summary",
                len: summary.len(),
                limit: SUMMARY_BYTES_MAX,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::DURATION_MAX;

    #[test]
    fn one_of_two_timeouts_is_required() {
        let error = ActivityOptions::default().validate().unwrap_err();
        assert_eq!(error, ValidationError::MissingActivityTimeout);
        let message = error.to_string();
        assert!(message.contains("start_to_close_timeout"), "{message}");
        assert!(message.contains("schedule_to_close_timeout"), "{message}");
        ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .validate()
            .unwrap();
        ActivityOptions::with_schedule_to_close_timeout(Duration::from_secs(10))
            .validate()
            .unwrap();
    }

    #[test]
    fn validation_table() {
        let base = || ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10));
        let cases = [
            (
                ActivityOptions {
                    heartbeat_timeout: Some(Duration::ZERO),
                    ..base()
                },
                ValidationError::ZeroDuration {
                    field: "heartbeat_timeout",
                },
            ),
            (
                ActivityOptions {
                    start_to_close_timeout: Some(Duration::ZERO),
                    ..base()
                },
                ValidationError::ZeroDuration {
                    field: "start_to_close_timeout",
                },
            ),
            (
                ActivityOptions {
                    schedule_to_start_timeout: Some(DURATION_MAX + Duration::from_secs(1)),
                    ..base()
                },
                ValidationError::DurationTooLong {
                    field: "schedule_to_start_timeout",
                    value: DURATION_MAX + Duration::from_secs(1),
                },
            ),
            (
                ActivityOptions {
                    summary: Some("s".repeat(SUMMARY_BYTES_MAX + 1)),
                    ..base()
                },
                ValidationError::TooLong {
                    field: "summary",
                    len: SUMMARY_BYTES_MAX + 1,
                    limit: SUMMARY_BYTES_MAX,
                },
            ),
        ];
        for (options, expected) in cases {
            assert_eq!(options.validate(), Err(expected));
        }
        let bad_retry = ActivityOptions {
            retry_policy: Some(RetryPolicy {
                backoff_coefficient: 0.0,
                ..RetryPolicy::default()
            }),
            ..base()
        };
        assert!(matches!(
            bad_retry.validate(),
            Err(ValidationError::RetryPolicy {
                field: "activity retry_policy",
                ..
            })
        ));
    }

    #[test]
    fn wait_for_cancellation_maps_to_cancellation_type() {
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(1));
        assert!(!options.waits_for_cancellation());
        let waiting = options.wait_for_cancellation(true);
        assert_eq!(
            waiting.cancellation_type,
            ActivityCancellationType::WaitCancellationCompleted
        );
        assert!(
            !waiting
                .wait_for_cancellation(false)
                .waits_for_cancellation()
        );
    }
}
