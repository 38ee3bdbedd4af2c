//! Enumerations by name: Endure's enums carry Temporal's variant names (`StartToClose`),
//! Temporal's protobuf enums their upper-case form with the type as prefix
//! (`TIMEOUT_TYPE_START_TO_CLOSE`), so one rule maps every pair both ways.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StrDeserializer};

use super::BadField;

/// `StartToClose` → `START_TO_CLOSE`.
fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (at, c) in name.char_indices() {
        if c.is_ascii_uppercase() && at > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `START_TO_CLOSE` → `StartToClose`.
fn pascal(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect()
}

/// Endure's `value` as the number of the protobuf enum whose names start with `prefix`
/// (`"TIMEOUT_TYPE_"`); `from_name` is the generated `from_str_name`. A variant Temporal
/// has no name for is 0 (unspecified).
pub(crate) fn out<E: Debug, P: Into<i32>>(
    value: E,
    prefix: &str,
    from_name: fn(&str) -> Option<P>,
) -> i32 {
    let name = format!("{prefix}{}", upper_snake(&format!("{value:?}")));
    let number = from_name(&name).map_or(0, Into::into);
    debug_assert!(number != 0, "no Temporal name for {name}");
    number
}

/// The protobuf enum's `name` (its `as_str_name`) as Endure's variant; `None` for the
/// unspecified value.
pub(crate) fn into<E: DeserializeOwned>(
    field: &'static str,
    name: &str,
    prefix: &str,
) -> Result<Option<E>, BadField> {
    let Some(variant) = name.strip_prefix(prefix) else {
        return Err(BadField::new(field, format!("unknown value {name}")));
    };
    if variant == "UNSPECIFIED" {
        return Ok(None);
    }
    let pascal = pascal(variant);
    E::deserialize(StrDeserializer::<ValueError>::new(&pascal))
        .map(Some)
        .map_err(|_| BadField::new(field, format!("{name} is not supported by Endure")))
}

/// [`into`] for a raw protobuf number: `as_name` is the generated `try_from` +
/// `as_str_name`.
macro_rules! enum_in {
    ($field:expr, $proto:ty, $prefix:literal, $number:expr) => {{
        match <$proto>::try_from($number) {
            Ok(value) => $crate::convert::enums::into($field, value.as_str_name(), $prefix),
            Err(_) => Err($crate::convert::BadField::new(
                $field,
                format!("unknown value {}", $number),
            )),
        }
    }};
}
pub(crate) use enum_in;

/// [`out`] for a protobuf enum type.
macro_rules! enum_out {
    ($value:expr, $proto:ty, $prefix:literal) => {
        $crate::convert::enums::out($value, $prefix, <$proto>::from_str_name)
    };
}
pub(crate) use enum_out;

#[cfg(test)]
mod tests {
    use endure_core::{
        ContinueAsNewInitiator, ParentClosePolicy, RetryState, TimeoutType, WorkflowIdReusePolicy,
        WorkflowTaskFailedCause,
    };

    use crate::proto::enums as pb;

    #[test]
    fn every_variant_maps_to_temporals_and_back() {
        macro_rules! both_ways {
            ($endure:ty, $proto:ty, $prefix:literal, [$($variant:ident),+]) => {$(
                let number = enum_out!(<$endure>::$variant, $proto, $prefix);
                assert_ne!(number, 0, stringify!($variant));
                let back: Option<$endure> = enum_in!("f", $proto, $prefix, number).unwrap();
                assert_eq!(back, Some(<$endure>::$variant));
            )+};
        }
        both_ways!(
            TimeoutType,
            pb::TimeoutType,
            "TIMEOUT_TYPE_",
            [StartToClose, ScheduleToStart, ScheduleToClose, Heartbeat]
        );
        both_ways!(
            RetryState,
            pb::RetryState,
            "RETRY_STATE_",
            [
                InProgress,
                NonRetryableFailure,
                Timeout,
                MaximumAttemptsReached,
                RetryPolicyNotSet,
                InternalServerError,
                CancelRequested
            ]
        );
        both_ways!(
            ParentClosePolicy,
            pb::ParentClosePolicy,
            "PARENT_CLOSE_POLICY_",
            [Terminate, Abandon, RequestCancel]
        );
        both_ways!(
            WorkflowIdReusePolicy,
            pb::WorkflowIdReusePolicy,
            "WORKFLOW_ID_REUSE_POLICY_",
            [AllowDuplicate, AllowDuplicateFailedOnly, RejectDuplicate]
        );
        both_ways!(
            ContinueAsNewInitiator,
            pb::ContinueAsNewInitiator,
            "CONTINUE_AS_NEW_INITIATOR_",
            [Workflow, Retry, CronSchedule]
        );
        both_ways!(
            WorkflowTaskFailedCause,
            pb::WorkflowTaskFailedCause,
            "WORKFLOW_TASK_FAILED_CAUSE_",
            [
                UnhandledCommand,
                NonDeterministicError,
                WorkflowWorkerUnhandledFailure
            ]
        );
    }

    #[test]
    fn unspecified_is_none() {
        let none: Option<TimeoutType> = enum_in!("f", pb::TimeoutType, "TIMEOUT_TYPE_", 0).unwrap();
        assert_eq!(none, None);
        assert!(
            enum_in!("f", pb::TimeoutType, "TIMEOUT_TYPE_", 99)
                .map(|_: Option<TimeoutType>| ())
                .is_err()
        );
    }
}
