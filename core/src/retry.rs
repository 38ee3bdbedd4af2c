//! Retry policies (spec §3.2, §5.14.2, §5.14.4) and the backoff they compute.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::DURATION_MAX;
use crate::validation::{ValidationError, check_duration};

/// How failed attempts are retried. `Default` is Temporal's: 1 s, ×2.0, capped at
/// 100 × the initial interval, unlimited attempts.
///
/// Activities always retry (with the default policy when none is given); workflows retry
/// only when a policy is given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    #[serde(with = "crate::duration_text::readable")]
    pub initial_interval: Duration,
    /// Each retry's delay is the previous one times this; at least 1.0.
    #[serde(deserialize_with = "crate::validation::deserialize_finite_f64")]
    pub backoff_coefficient: f64,
    /// Upper bound of the delay; `None` means 100 × `initial_interval`.
    #[serde(with = "crate::duration_text::readable_option")]
    pub maximum_interval: Option<Duration>,
    /// Total attempts allowed, the first included; 0 means unlimited.
    pub maximum_attempts: u32,
    /// Application error types that are never retried.
    pub non_retryable_error_types: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            backoff_coefficient: 2.0,
            maximum_interval: None,
            maximum_attempts: 0,
            non_retryable_error_types: Vec::new(),
        }
    }
}

/// How far the default maximum interval is from the initial interval.
const MAXIMUM_INTERVAL_DEFAULT_FACTOR: u32 = 100;

impl RetryPolicy {
    /// A policy of at most `maximum_attempts` attempts, otherwise the defaults.
    pub fn with_maximum_attempts(maximum_attempts: u32) -> Self {
        Self {
            maximum_attempts,
            ..Self::default()
        }
    }

    /// The largest delay between attempts.
    pub fn effective_maximum_interval(&self) -> Duration {
        self.maximum_interval.unwrap_or_else(|| {
            self.initial_interval
                .saturating_mul(MAXIMUM_INTERVAL_DEFAULT_FACTOR)
                .min(DURATION_MAX)
        })
    }

    /// The delay after attempt `attempt` (1-based) failed, before attempt `attempt + 1`:
    /// `min(initial × coefficient^(attempt-1), maximum)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use endure_core::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default(); // 1 s, ×2.0, at most 100 s
    /// assert_eq!(policy.backoff(1), Duration::from_secs(1));
    /// assert_eq!(policy.backoff(4), Duration::from_secs(8));
    /// assert_eq!(policy.backoff(20), Duration::from_secs(100));
    /// ```
    pub fn backoff(&self, attempt: u32) -> Duration {
        debug_assert!(attempt >= 1, "attempts are numbered from 1");
        let maximum = self.effective_maximum_interval();
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.initial_interval.as_secs_f64() * self.backoff_coefficient.powi(exponent);
        match Duration::try_from_secs_f64(seconds) {
            Ok(delay) => delay.min(maximum),
            Err(_) => maximum,
        }
    }

    /// Whether attempt `attempt` was the last one the policy allows.
    pub fn attempts_exhausted(&self, attempt: u32) -> bool {
        self.maximum_attempts != 0 && attempt >= self.maximum_attempts
    }

    /// Whether an application error of `error_type` is listed as non-retryable.
    pub fn is_non_retryable_type(&self, error_type: &str) -> bool {
        self.non_retryable_error_types
            .iter()
            .any(|listed| listed == error_type)
    }

    /// Whether retrying an activity attempt that failed with `failure` can help under this
    /// policy: not for non-retryable errors, cancellations, terminations or timeouts other
    /// than start-to-close and heartbeat (the others end the activity as a whole).
    pub fn retries(&self, failure: &crate::failure::Failure) -> bool {
        use crate::enums::TimeoutType;
        use crate::failure::FailureInfo;
        match &failure.info {
            FailureInfo::Application {
                error_type,
                non_retryable,
                ..
            } => !non_retryable && !self.is_non_retryable_type(error_type),
            // Temporal lets a policy list a timeout as `TemporalTimeout:<type>`.
            FailureInfo::Timeout { timeout_type, .. } => {
                matches!(
                    timeout_type,
                    TimeoutType::StartToClose | TimeoutType::Heartbeat
                ) && !self.is_non_retryable_type(&format!("TemporalTimeout:{timeout_type:?}"))
            }
            FailureInfo::Server { non_retryable } => !non_retryable,
            FailureInfo::Canceled { .. } | FailureInfo::Terminated => false,
            FailureInfo::ResetWorkflow { .. }
            | FailureInfo::Activity { .. }
            | FailureInfo::ChildWorkflowExecution { .. } => true,
        }
    }

    /// Refuses an inconsistent policy; `field` names it in the error (`retry_policy`,
    /// `activity_options.retry_policy`, …).
    pub fn validate(&self, field: &'static str) -> Result<(), ValidationError> {
        let refuse = |reason: String| Err(ValidationError::RetryPolicy { field, reason });
        if self.initial_interval.is_zero() {
            return refuse(
                "initial_interval is zero; give a positive delay (the default is 1s)".into(),
            );
        }
        check_duration(field, self.initial_interval)?;
        if !self.backoff_coefficient.is_finite() || self.backoff_coefficient < 1.0 {
            return refuse(format!(
                "backoff_coefficient is {}; it must be a finite number of at least 1.0 (the default is 2.0)",
                self.backoff_coefficient
            ));
        }
        if let Some(maximum) = self.maximum_interval {
            check_duration(field, maximum)?;
            if maximum < self.initial_interval {
                return refuse(format!(
                    "maximum_interval ({maximum:?}) is shorter than initial_interval ({:?}); it must be at least as long",
                    self.initial_interval
                ));
            }
        }
        if let Some(empty) = self
            .non_retryable_error_types
            .iter()
            .position(String::is_empty)
        {
            return refuse(format!(
                "non_retryable_error_types[{empty}] is empty; list error type names"
            ));
        }
        Ok(())
    }
}

#[cfg(any(test, feature = "testing"))]
impl proptest::arbitrary::Arbitrary for RetryPolicy {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        (
            1u64..100_000,
            1.0f64..10.0,
            proptest::option::of(100_000u64..10_000_000),
            any::<u32>(),
            proptest::collection::vec("[A-Za-z]{1,10}", 0..3),
        )
            .prop_map(
                |(initial_ms, coefficient, maximum_ms, attempts, types)| Self {
                    initial_interval: Duration::from_millis(initial_ms),
                    backoff_coefficient: coefficient,
                    maximum_interval: maximum_ms.map(Duration::from_millis),
                    maximum_attempts: attempts,
                    non_retryable_error_types: types,
                },
            )
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_are_temporals() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.initial_interval, Duration::from_secs(1));
        assert_eq!(policy.backoff_coefficient, 2.0);
        assert_eq!(
            policy.effective_maximum_interval(),
            Duration::from_secs(100)
        );
        assert_eq!(policy.maximum_attempts, 0);
        assert!(!policy.attempts_exhausted(u32::MAX));
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let policy = RetryPolicy::default();
        let delays: Vec<u64> = (1..=9).map(|a| policy.backoff(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 100, 100]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(100));
    }

    #[test]
    fn spec_example_policy() {
        // Spec §5.14.4: 200 ms, ×2.0, at most 2 s, 3 attempts.
        let policy = RetryPolicy {
            initial_interval: Duration::from_millis(200),
            maximum_interval: Some(Duration::from_secs(2)),
            maximum_attempts: 3,
            ..RetryPolicy::default()
        };
        policy.validate("retry_policy").unwrap();
        assert_eq!(policy.backoff(1), Duration::from_millis(200));
        assert_eq!(policy.backoff(2), Duration::from_millis(400));
        assert!(!policy.attempts_exhausted(2));
        assert!(policy.attempts_exhausted(3));
    }

    #[test]
    fn a_timeout_listed_as_temporal_timeout_type_is_not_retried() {
        use crate::enums::TimeoutType;
        use crate::failure::Failure;
        let policy = RetryPolicy {
            non_retryable_error_types: vec!["TemporalTimeout:Heartbeat".into()],
            ..RetryPolicy::default()
        };
        assert!(!policy.retries(&Failure::timeout(TimeoutType::Heartbeat)));
        assert!(policy.retries(&Failure::timeout(TimeoutType::StartToClose)));
        assert!(RetryPolicy::default().retries(&Failure::timeout(TimeoutType::Heartbeat)));
        // Timeouts that end the activity as a whole are never retried, listed or not.
        assert!(!policy.retries(&Failure::timeout(TimeoutType::ScheduleToStart)));
    }

    #[test]
    fn validation_table() {
        let base = RetryPolicy::default;
        let cases: Vec<(RetryPolicy, &str)> = vec![
            (
                RetryPolicy {
                    initial_interval: Duration::ZERO,
                    ..base()
                },
                "initial_interval is zero",
            ),
            (
                RetryPolicy {
                    backoff_coefficient: 0.5,
                    ..base()
                },
                "backoff_coefficient is 0.5",
            ),
            (
                RetryPolicy {
                    backoff_coefficient: f64::NAN,
                    ..base()
                },
                "backoff_coefficient is NaN",
            ),
            (
                RetryPolicy {
                    initial_interval: Duration::from_secs(10),
                    maximum_interval: Some(Duration::from_secs(5)),
                    ..base()
                },
                "maximum_interval (5s) is shorter than initial_interval (10s)",
            ),
            (
                RetryPolicy {
                    non_retryable_error_types: vec!["Ok".into(), String::new()],
                    ..base()
                },
                "non_retryable_error_types[1] is empty",
            ),
        ];
        for (policy, expected) in cases {
            let error = policy.validate("retry_policy").unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("retry_policy: {expected}")),
                "{message:?} does not start with {expected:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn backoff_is_monotonic_and_bounded(policy in any::<RetryPolicy>(), attempt in 1u32..200) {
            let maximum = policy.effective_maximum_interval();
            prop_assert!(policy.backoff(attempt) <= maximum);
            prop_assert!(policy.backoff(attempt) <= policy.backoff(attempt + 1));
        }
    }
}
