//! The `LocalActivity` marker as Temporal's Go SDK writes it: a `data` detail holding the
//! attempt's facts as JSON (`ActivityID`, `ActivityType`, `ReplayTime`, `Attempt`,
//! `Backoff` in nanoseconds), a `result` detail when the activity returned one, and the
//! marker's `failure` when it failed. A failure with a non-zero backoff is an attempt whose
//! retry waits on a durable timer.
//!
//! Markers Endure wrote before this layout (`seq`, `type`, `attempt`, `backoff_ms`) are
//! read as well.

use std::collections::BTreeMap;
use std::time::Duration;

use endure_core::history::MarkerRecordedEventAttributes;
use endure_core::time::Timestamp;
use endure_core::{Header, MarkerName, Payload, Payloads, RecordMarkerCommandAttributes};
use serde::{Deserialize, Serialize};

use super::local_activity::{LOCAL_ACTIVITY_MARKER, LocalActivityOutcome, LocalActivityRequest};

const DATA_KEY: &str = "data";
const RESULT_KEY: &str = "result";

/// What a `LocalActivity` marker says about its attempt (Go's `localActivityMarkerData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalActivityMarkerData {
    /// The request's id: its sequence number in the run.
    #[serde(rename = "ActivityID")]
    pub activity_id: String,
    /// The activity type.
    #[serde(rename = "ActivityType")]
    pub activity_type: String,
    /// The workflow time when the outcome was recorded (RFC 3339).
    #[serde(rename = "ReplayTime", default)]
    pub replay_time: String,
    /// The attempt recorded, from 1.
    #[serde(rename = "Attempt")]
    pub attempt: u32,
    /// The backoff before the next attempt, in nanoseconds (0 unless it retries through a
    /// timer).
    #[serde(rename = "Backoff", default)]
    pub backoff_nanos: u64,
}

impl LocalActivityMarkerData {
    /// The data of a `LocalActivity` marker, in today's layout or Endure's earlier one;
    /// `None` for another marker or one that does not decode.
    pub fn of(marker: &MarkerRecordedEventAttributes) -> Option<Self> {
        if marker.marker_name.as_str() != LOCAL_ACTIVITY_MARKER {
            return None;
        }
        if let Some(data) = marker.details.get(DATA_KEY) {
            return data.decode_first().ok();
        }
        let number = |key: &str| -> Option<u64> { marker.details.get(key)?.decode_first().ok() };
        Some(Self {
            activity_id: number("seq")?.to_string(),
            activity_type: marker
                .details
                .get("type")
                .and_then(|payloads| payloads.decode_first().ok())
                .unwrap_or_default(),
            replay_time: String::new(),
            attempt: number("attempt").map_or(1, |attempt| attempt as u32),
            backoff_nanos: number("backoff_ms")
                .map_or(0, |millis| millis.saturating_mul(1_000_000).max(1)),
        })
    }

    /// The request's sequence number.
    pub fn seq(&self) -> Option<u32> {
        self.activity_id.parse().ok()
    }
}

/// The marker recording `outcome` of `request`, at workflow time `now`.
pub(super) fn marker(
    request: &LocalActivityRequest,
    outcome: &LocalActivityOutcome,
    now: Timestamp,
) -> RecordMarkerCommandAttributes {
    let mut details = BTreeMap::new();
    let (attempt, failure, backoff) = match outcome {
        LocalActivityOutcome::Completed { attempt, result } => {
            if let Some(result) = result {
                details.insert(RESULT_KEY.to_owned(), result.clone());
            }
            (*attempt, None, Duration::ZERO)
        }
        LocalActivityOutcome::Failed { attempt, failure } => {
            (*attempt, Some(failure.clone()), Duration::ZERO)
        }
        LocalActivityOutcome::Backoff {
            attempt,
            failure,
            backoff,
        } => (*attempt, Some(failure.clone()), *backoff),
    };
    let data = LocalActivityMarkerData {
        activity_id: request.seq.to_string(),
        activity_type: request.activity_type.as_str().to_owned(),
        replay_time: now.to_string(),
        attempt,
        // A backoff is never zero: the smallest one still retries through the timer.
        backoff_nanos: u64::try_from(backoff.as_nanos())
            .unwrap_or(u64::MAX)
            .max(u64::from(!backoff.is_zero())),
    };
    let data = Payload::json(&data).unwrap_or_else(|_| Payload::null());
    details.insert(DATA_KEY.to_owned(), Payloads::one(data));
    RecordMarkerCommandAttributes {
        marker_name: MarkerName::new(LOCAL_ACTIVITY_MARKER)
            .unwrap_or_else(|_| unreachable!("a valid marker name")),
        details,
        header: Header::new(),
        failure,
    }
}

/// The outcome a recorded marker holds.
pub(super) fn outcome_of(marker: &MarkerRecordedEventAttributes) -> LocalActivityOutcome {
    let data = LocalActivityMarkerData::of(marker).unwrap_or_default();
    let attempt = data.attempt.max(1);
    match &marker.failure {
        None => LocalActivityOutcome::Completed {
            attempt,
            result: marker.details.get(RESULT_KEY).cloned(),
        },
        Some(failure) if data.backoff_nanos > 0 => LocalActivityOutcome::Backoff {
            attempt,
            failure: failure.clone(),
            backoff: Duration::from_nanos(data.backoff_nanos),
        },
        Some(failure) => LocalActivityOutcome::Failed {
            attempt,
            failure: failure.clone(),
        },
    }
}
