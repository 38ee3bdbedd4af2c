//! Failures: why an activity, a child or a workflow did not succeed, with a cause chain.
//!
//! The shape is Temporal's `Failure` message: a message, a source, a stack trace, one kind of
//! information (application error, timeout, cancellation, termination, server error, activity
//! or child-workflow wrapper) and an optional cause. An activity that fails is reported to the
//! workflow as an `Activity` failure whose cause is the application error, for example.
//!
//! In memory the chain is a linked list; encoded it is a flat list, outermost first, so that
//! decoding untrusted bytes never recurses and a chain deeper than
//! [`FAILURE_CAUSE_DEPTH_MAX`] is refused on both encode and decode.

use std::fmt;
use std::time::Duration;

use serde::de::Error as _;
use serde::ser::{Error as _, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::enums::{RetryState, TimeoutType};
use crate::ids::{ActivityId, ActivityType, EventId, Namespace, WorkflowExecution, WorkflowType};
use crate::limits::{FAILURE_CAUSE_DEPTH_MAX, FAILURE_MESSAGE_BYTES_MAX};
use crate::payload::Payloads;
use crate::validation::ValidationError;

/// The `source` of failures Endure creates.
pub const FAILURE_SOURCE: &str = "Endure";

/// A failure, with its kind-specific information and an optional cause.
#[derive(Clone, PartialEq)]
pub struct Failure {
    /// What went wrong, for people.
    pub message: String,
    /// What produced the failure (an SDK name such as "Endure" or "GoSDK").
    pub source: String,
    /// Where it happened, if known.
    pub stack_trace: String,
    /// The kind of failure and its details.
    pub info: FailureInfo,
    /// The failure that caused this one.
    pub cause: Option<Box<Self>>,
}

/// The kind of a failure, with what only that kind carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub enum FailureInfo {
    /// An error raised by user code (spec §5.14.5).
    Application {
        /// A type name the retry policy can match (`non_retryable_error_types`).
        error_type: String,
        /// True when this error must never be retried, whatever the policy says.
        non_retryable: bool,
        /// Details for the caller.
        details: Option<Payloads>,
        /// Overrides the retry policy's interval before the next attempt.
        #[serde(with = "crate::duration_text::readable_option")]
        next_retry_delay: Option<Duration>,
    },
    /// A timeout fired.
    Timeout {
        /// Which one.
        timeout_type: TimeoutType,
        /// The details of the last heartbeat, for a heartbeating activity.
        last_heartbeat_details: Option<Payloads>,
    },
    /// The operation was canceled.
    Canceled {
        /// Details given by the code that acknowledged the cancellation.
        details: Option<Payloads>,
    },
    /// The workflow was terminated.
    Terminated,
    /// An error inside Endure itself.
    Server {
        /// True when retrying cannot help.
        non_retryable: bool,
    },
    /// The run was reset while the activity ran.
    ResetWorkflow {
        /// The details of the last heartbeat.
        last_heartbeat_details: Option<Payloads>,
    },
    /// An activity failed; the cause says why.
    Activity {
        /// The ActivityTaskScheduled event.
        scheduled_event_id: EventId,
        /// The ActivityTaskStarted event, if the activity started.
        started_event_id: Option<EventId>,
        /// The worker that ran the last attempt.
        identity: String,
        /// The activity's type.
        activity_type: ActivityType,
        /// The activity's id.
        activity_id: ActivityId,
        /// Why retrying stopped.
        retry_state: RetryState,
    },
    /// A child workflow failed; the cause says why.
    ChildWorkflowExecution {
        /// The child's namespace.
        namespace: Namespace,
        /// The child execution.
        workflow_execution: WorkflowExecution,
        /// The child's type.
        workflow_type: WorkflowType,
        /// The StartChildWorkflowExecutionInitiated event in the parent.
        initiated_event_id: EventId,
        /// The ChildWorkflowExecutionStarted event in the parent.
        started_event_id: Option<EventId>,
        /// Why the child's retrying stopped.
        retry_state: RetryState,
    },
}

impl Failure {
    /// A failure of the given kind, with no stack trace or cause.
    pub fn new(message: impl Into<String>, info: FailureInfo) -> Self {
        Self {
            message: message.into(),
            source: FAILURE_SOURCE.to_owned(),
            stack_trace: String::new(),
            info,
            cause: None,
        }
    }

    /// A retryable application error of type `error_type`.
    pub fn application(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        Self::new(
            message,
            FailureInfo::Application {
                error_type: error_type.into(),
                non_retryable: false,
                details: None,
                next_retry_delay: None,
            },
        )
    }

    /// A timeout of the given type.
    pub fn timeout(timeout_type: TimeoutType) -> Self {
        let message = match timeout_type {
            TimeoutType::StartToClose => "activity StartToClose timeout",
            TimeoutType::ScheduleToStart => "activity ScheduleToStart timeout",
            TimeoutType::ScheduleToClose => "activity ScheduleToClose timeout",
            TimeoutType::Heartbeat => "activity Heartbeat timeout",
        };
        Self::new(
            message,
            FailureInfo::Timeout {
                timeout_type,
                last_heartbeat_details: None,
            },
        )
    }

    /// A cancellation.
    pub fn canceled(details: Option<Payloads>) -> Self {
        Self::new("canceled", FailureInfo::Canceled { details })
    }

    /// A termination, with the reason given to terminate.
    pub fn terminated(reason: impl Into<String>) -> Self {
        Self::new(reason, FailureInfo::Terminated)
    }

    /// Marks an application error as non-retryable; no effect on other kinds.
    pub fn non_retryable(mut self) -> Self {
        if let FailureInfo::Application { non_retryable, .. } = &mut self.info {
            *non_retryable = true;
        }
        self
    }

    /// Sets an application error's details; no effect on other kinds.
    pub fn with_details(mut self, new_details: Payloads) -> Self {
        if let FailureInfo::Application { details, .. } = &mut self.info {
            *details = Some(new_details);
        }
        self
    }

    /// Sets an application error's delay before the next retry; no effect on other kinds.
    pub fn with_next_retry_delay(mut self, delay: Duration) -> Self {
        if let FailureInfo::Application {
            next_retry_delay, ..
        } = &mut self.info
        {
            *next_retry_delay = Some(delay);
        }
        self
    }

    /// Sets this failure's cause.
    pub fn caused_by(mut self, cause: Self) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// The failure and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &Self> {
        std::iter::successors(Some(self), |failure| failure.cause.as_deref())
    }

    /// The innermost cause (the failure itself if it has none).
    pub fn root_cause(&self) -> &Self {
        self.chain().last().unwrap_or(self)
    }

    /// Number of failures in the chain, this one included.
    pub fn depth(&self) -> usize {
        self.chain().count()
    }

    /// The application error type, for application failures.
    pub fn application_error_type(&self) -> Option<&str> {
        match &self.info {
            FailureInfo::Application { error_type, .. } => Some(error_type),
            _ => None,
        }
    }

    /// Refuses a chain deeper than [`FAILURE_CAUSE_DEPTH_MAX`] or a message longer than
    /// [`FAILURE_MESSAGE_BYTES_MAX`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        let depth = self.depth();
        if depth > FAILURE_CAUSE_DEPTH_MAX {
            return Err(ValidationError::FailureTooDeep {
                depth,
                limit: FAILURE_CAUSE_DEPTH_MAX,
            });
        }
        for failure in self.chain() {
            if failure.message.len() > FAILURE_MESSAGE_BYTES_MAX {
                return Err(ValidationError::TooLong {
                    field: "failure.message",
                    len: failure.message.len(),
                    limit: FAILURE_MESSAGE_BYTES_MAX,
                });
            }
        }
        Ok(())
    }
}

impl Drop for Failure {
    /// Unlinks the chain iteratively, so dropping a long chain does not recurse.
    fn drop(&mut self) {
        let mut next = self.cause.take();
        while let Some(mut failure) = next {
            next = failure.cause.take();
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for failure in self.chain() {
            list.entry(&(&failure.message, &failure.info));
        }
        list.finish()
    }
}

impl fmt::Display for Failure {
    /// The messages of the chain, outermost first, joined by ": ".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, failure) in self.chain().enumerate() {
            if index > 0 {
                f.write_str(": ")?;
            }
            f.write_str(&failure.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// One failure of a chain without its cause: the unit of the encoded form.
#[derive(Serialize, Deserialize)]
struct FailureLevel {
    message: String,
    source: String,
    stack_trace: String,
    info: FailureInfo,
}

/// Borrowed [`FailureLevel`] for encoding without copies.
#[derive(Serialize)]
#[serde(rename = "FailureLevel")]
struct FailureLevelRef<'a> {
    message: &'a str,
    source: &'a str,
    stack_trace: &'a str,
    info: &'a FailureInfo,
}

/// A chain is encoded as the newtype `Failure` around the flat list of its levels. A
/// newtype is its content in every format Endure writes; the name lets the codec's schema
/// tracer give it a sample (docs/format.md).
impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let depth = self.depth();
        if depth > FAILURE_CAUSE_DEPTH_MAX {
            return Err(S::Error::custom(format!(
                "failure cause chain is {depth} deep; the limit is {FAILURE_CAUSE_DEPTH_MAX}"
            )));
        }
        serializer.serialize_newtype_struct("Failure", &Levels(self))
    }
}

/// A chain's levels, outermost first.
struct Levels<'a>(&'a Failure);

impl Serialize for Levels<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.depth()))?;
        for failure in self.0.chain() {
            seq.serialize_element(&FailureLevelRef {
                message: &failure.message,
                source: &failure.source,
                stack_trace: &failure.stack_trace,
                info: &failure.info,
            })?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct("Failure", FailureVisitor)
    }
}

/// Reads the newtype `Failure` around a chain's levels.
struct FailureVisitor;

impl<'de> serde::de::Visitor<'de> for FailureVisitor {
    type Value = Failure;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a failure chain")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Failure, D::Error> {
        let levels = Vec::<FailureLevel>::deserialize(deserializer)?;
        if levels.is_empty() {
            return Err(D::Error::custom(
                "a failure chain needs at least one failure",
            ));
        }
        if levels.len() > FAILURE_CAUSE_DEPTH_MAX {
            return Err(D::Error::custom(format!(
                "failure cause chain is {} deep; the limit is {FAILURE_CAUSE_DEPTH_MAX}",
                levels.len()
            )));
        }
        let mut cause: Option<Box<Failure>> = None;
        for level in levels.into_iter().rev() {
            cause = Some(Box::new(Failure {
                message: level.message,
                source: level.source,
                stack_trace: level.stack_trace,
                info: level.info,
                cause,
            }));
        }
        cause
            .map(|failure| *failure)
            .ok_or_else(|| D::Error::custom("a failure chain needs at least one failure"))
    }
}

#[cfg(any(test, feature = "testing"))]
impl proptest::arbitrary::Arbitrary for Failure {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        let level = (
            "[ -~]{0,12}",
            "[A-Za-z]{0,6}",
            "[ -~]{0,8}",
            any::<FailureInfo>(),
        )
            .prop_map(|(message, source, stack_trace, info)| Self {
                message,
                source,
                stack_trace,
                info,
                cause: None,
            });
        proptest::collection::vec(level, 1..4)
            .prop_map(|levels| {
                let mut chain = levels.into_iter().rev();
                let innermost = chain.next().unwrap_or_else(|| Self::terminated(""));
                chain.fold(innermost, |cause, outer| outer.caused_by(cause))
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    fn activity_failure() -> Failure {
        Failure::new(
            "activity error",
            FailureInfo::Activity {
                scheduled_event_id: EventId::new(5).unwrap(),
                started_event_id: EventId::new(6),
                identity: "worker-1".into(),
                activity_type: ActivityType::new("SendEmail").unwrap(),
                activity_id: ActivityId::new("1").unwrap(),
                retry_state: RetryState::MaximumAttemptsReached,
            },
        )
        .caused_by(
            Failure::application("smtp refused", "SmtpError")
                .non_retryable()
                .with_details(Payloads::one(Payload::json(&550).unwrap())),
        )
    }

    #[test]
    fn chain_accessors() {
        let failure = activity_failure();
        assert_eq!(failure.depth(), 2);
        assert_eq!(failure.root_cause().message, "smtp refused");
        assert_eq!(
            failure.root_cause().application_error_type(),
            Some("SmtpError")
        );
        assert_eq!(failure.to_string(), "activity error: smtp refused");
    }

    #[test]
    fn encoded_as_flat_list() {
        let failure = activity_failure();
        let json = serde_json::to_value(&failure).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(2));
        let back: Failure = serde_json::from_value(json).unwrap();
        assert_eq!(back, failure);
    }

    #[test]
    fn too_deep_is_refused_both_ways() {
        let deep = (0..=FAILURE_CAUSE_DEPTH_MAX).fold(Failure::terminated("root"), |cause, i| {
            Failure::application(format!("level {i}"), "E").caused_by(cause)
        });
        assert!(matches!(
            deep.validate(),
            Err(ValidationError::FailureTooDeep { .. })
        ));
        assert!(serde_json::to_string(&deep).is_err());
        let levels: Vec<serde_json::Value> = (0..=FAILURE_CAUSE_DEPTH_MAX)
            .map(|_| {
                serde_json::json!({"message": "m", "source": "", "stack_trace": "", "info": "Terminated"})
            })
            .collect();
        assert!(serde_json::from_value::<Failure>(serde_json::Value::Array(levels)).is_err());
        assert!(serde_json::from_str::<Failure>("[]").is_err());
    }

    #[test]
    fn dropping_a_long_chain_does_not_overflow_the_stack() {
        let long = (0..200_000).fold(Failure::terminated("root"), |cause, _| {
            Failure::terminated("outer").caused_by(cause)
        });
        assert_eq!(long.depth(), 200_001);
        drop(long);
    }

    #[test]
    fn builders_touch_only_application_failures() {
        let failure = Failure::canceled(None)
            .non_retryable()
            .with_next_retry_delay(Duration::from_secs(3));
        assert_eq!(failure.info, FailureInfo::Canceled { details: None });
        let app = Failure::application("m", "T").with_next_retry_delay(Duration::from_secs(3));
        assert!(matches!(
            app.info,
            FailureInfo::Application {
                next_retry_delay: Some(d),
                non_retryable: false,
                ..
            } if d == Duration::from_secs(3)
        ));
    }
}
