//! Workflow start options (spec §2.4, §5.14.1–2, §5.17.5): id, queue, policies, timeouts,
//! retry, cron, start delay, memo and search attributes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cron::CronSchedule;
use crate::enums::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy};
use crate::ids::{RequestId, TaskQueueName, WorkflowId};
use crate::limits::{MEMO_BYTES_MAX, WORKFLOW_TASK_TIMEOUT_DEFAULT, WORKFLOW_TASK_TIMEOUT_MAX};
use crate::payload::Memo;
use crate::retry::RetryPolicy;
use crate::search_attributes::SearchAttributes;
use crate::validation::{ValidationError, check_optional_duration};

/// How a client starts a workflow. `id` and `task_queue` are required; everything else has
/// Temporal's default.
///
/// | field | default |
/// |---|---|
/// | `id_reuse_policy` | allow duplicate (a closed run's id may be reused) |
/// | `id_conflict_policy` | fail (a running run's id is refused with already-started) |
/// | `request_id` | drawn by the client, so its own retries are idempotent |
/// | `execution_timeout` | unlimited (the whole chain: retries, continue-as-new, cron) |
/// | `run_timeout` | the execution timeout (one run) |
/// | `task_timeout` | 10 s, capped at 120 s |
/// | `retry_policy` | none: a failed workflow is not retried (spec §5.14.2) |
/// | `cron_schedule` | none |
/// | `start_delay` | none (cannot be combined with a cron schedule) |
///
/// ```
/// use std::time::Duration;
///
/// use endure_core::{
///     RetryPolicy, SearchAttributeValue, StartWorkflowOptions, TaskQueueName, WorkflowId,
///     WorkflowIdReusePolicy,
/// };
///
/// let mut options = StartWorkflowOptions::new(
///     WorkflowId::new("order-42")?,
///     TaskQueueName::new("orders")?,
/// );
/// options.execution_timeout = Some(Duration::from_secs(24 * 3600));
/// options.retry_policy = Some(RetryPolicy::with_maximum_attempts(3));
/// options.id_reuse_policy = WorkflowIdReusePolicy::RejectDuplicate;
/// options
///     .search_attributes
///     .insert("CustomerTier", SearchAttributeValue::Keyword("gold".into()));
/// options.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct StartWorkflowOptions {
    /// The workflow id: a business key, such as `order_42` (spec §2.4).
    pub id: WorkflowId,
    /// The queue the workflow's tasks are dispatched on.
    pub task_queue: TaskQueueName,
    /// What to do when the id's last run is closed.
    pub id_reuse_policy: WorkflowIdReusePolicy,
    /// What to do when the id has a running run.
    pub id_conflict_policy: WorkflowIdConflictPolicy,
    /// Makes a retried start idempotent.
    pub request_id: Option<RequestId>,
    /// Limit on the whole execution chain.
    #[serde(with = "crate::duration_text::readable_option")]
    pub execution_timeout: Option<Duration>,
    /// Limit on one run.
    #[serde(with = "crate::duration_text::readable_option")]
    pub run_timeout: Option<Duration>,
    /// Limit on one workflow task.
    #[serde(with = "crate::duration_text::readable_option")]
    pub task_timeout: Option<Duration>,
    /// Retries of the whole workflow, each a new run.
    pub retry_policy: Option<RetryPolicy>,
    /// Run on this schedule, one run per fire time.
    pub cron_schedule: Option<CronSchedule>,
    /// Wait this long before the first workflow task (spec §5.17.5).
    #[serde(with = "crate::duration_text::readable_option")]
    pub start_delay: Option<Duration>,
    /// Non-indexed information shown by describe.
    pub memo: Memo,
    /// Indexed values list queries filter on.
    pub search_attributes: SearchAttributes,
}

impl StartWorkflowOptions {
    /// Options with the given id and queue and every other field at its default.
    pub fn new(id: WorkflowId, task_queue: TaskQueueName) -> Self {
        Self {
            id,
            task_queue,
            id_reuse_policy: WorkflowIdReusePolicy::default(),
            id_conflict_policy: WorkflowIdConflictPolicy::default(),
            request_id: None,
            execution_timeout: None,
            run_timeout: None,
            task_timeout: None,
            retry_policy: None,
            cron_schedule: None,
            start_delay: None,
            memo: Memo::default(),
            search_attributes: SearchAttributes::default(),
        }
    }

    /// Sets the cron schedule from its text, refusing a bad expression with its position.
    pub fn with_cron_schedule(mut self, expression: &str) -> Result<Self, ValidationError> {
        self.cron_schedule = Some(parse_cron_schedule(expression)?);
        Ok(self)
    }

    /// The workflow task timeout the engine applies: the given one (10 s if none), capped
    /// at 120 s as Temporal caps it.
    pub fn effective_task_timeout(&self) -> Duration {
        self.task_timeout
            .unwrap_or(WORKFLOW_TASK_TIMEOUT_DEFAULT)
            .min(WORKFLOW_TASK_TIMEOUT_MAX)
    }

    /// Refuses zero or over-long durations, an inconsistent retry policy, a start delay with
    /// a cron schedule, an oversized memo and bad search attributes.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_optional_duration("execution_timeout", self.execution_timeout)?;
        check_optional_duration("run_timeout", self.run_timeout)?;
        check_optional_duration("task_timeout", self.task_timeout)?;
        check_optional_duration("start_delay", self.start_delay)?;
        if let Some(policy) = &self.retry_policy {
            policy.validate("workflow retry_policy")?;
        }
        if self.start_delay.is_some() && self.cron_schedule.is_some() {
            return Err(ValidationError::StartDelayWithCron);
        }
        let memo_size = self.memo.size_bytes();
        if memo_size > MEMO_BYTES_MAX {
            return Err(ValidationError::PayloadTooLarge {
                field: "memo",
                size: memo_size,
                limit: MEMO_BYTES_MAX,
            });
        }
        self.search_attributes.validate()
    }
}

/// Parses a cron expression, turning a parse error into a [`ValidationError`] that quotes
/// the expression.
pub fn parse_cron_schedule(expression: &str) -> Result<CronSchedule, ValidationError> {
    CronSchedule::parse(expression).map_err(|error| ValidationError::Cron {
        expression: expression.to_owned(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;
    use crate::search_attributes::SearchAttributeValue;

    fn options() -> StartWorkflowOptions {
        StartWorkflowOptions::new(
            WorkflowId::new("order_42").unwrap(),
            TaskQueueName::new("my-task-queue").unwrap(),
        )
    }

    #[test]
    fn defaults_are_temporals() {
        let options = options();
        options.validate().unwrap();
        assert_eq!(
            options.id_reuse_policy,
            WorkflowIdReusePolicy::AllowDuplicate
        );
        assert_eq!(options.id_conflict_policy, WorkflowIdConflictPolicy::Fail);
        assert_eq!(options.effective_task_timeout(), Duration::from_secs(10));
        let long = StartWorkflowOptions {
            task_timeout: Some(Duration::from_secs(600)),
            ..options
        };
        assert_eq!(long.effective_task_timeout(), Duration::from_secs(120));
    }

    #[test]
    fn bad_cron_names_position_and_reason() {
        let error = options().with_cron_schedule("0 25 * * *").unwrap_err();
        assert_eq!(
            error.to_string(),
            "cron_schedule \"0 25 * * *\": at byte 2: hour field: 25 is out of range; expected 0–23"
        );
        assert!(options().with_cron_schedule("@daily").is_ok());
    }

    #[test]
    fn validation_table() {
        let mut big_memo = Memo::new();
        big_memo
            .0
            .insert("blob".into(), Payload::binary(vec![0; MEMO_BYTES_MAX]));
        let mut bad_attributes = SearchAttributes::new();
        bad_attributes.insert("ExecutionStatus", SearchAttributeValue::Keyword("x".into()));
        let cases: Vec<(StartWorkflowOptions, &str)> = vec![
            (
                StartWorkflowOptions {
                    run_timeout: Some(Duration::ZERO),
                    ..options()
                },
                "run_timeout is zero",
            ),
            (
                StartWorkflowOptions {
                    start_delay: Some(Duration::from_secs(60)),
                    ..options().with_cron_schedule("@hourly").unwrap()
                },
                "start_delay cannot be combined with cron_schedule",
            ),
            (
                StartWorkflowOptions {
                    retry_policy: Some(RetryPolicy {
                        maximum_interval: Some(Duration::from_millis(1)),
                        ..RetryPolicy::default()
                    }),
                    ..options()
                },
                "workflow retry_policy: maximum_interval",
            ),
            (
                StartWorkflowOptions {
                    memo: big_memo,
                    ..options()
                },
                "memo is 2097176 bytes; the limit is 2097152 bytes",
            ),
            (
                StartWorkflowOptions {
                    search_attributes: bad_attributes,
                    ..options()
                },
                "search attribute \"ExecutionStatus\": is a system attribute",
            ),
        ];
        for (options, expected) in cases {
            let message = options.validate().unwrap_err().to_string();
            assert!(
                message.starts_with(expected),
                "{message:?} does not start with {expected:?}"
            );
        }
    }
}
