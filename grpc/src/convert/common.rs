//! The shared small messages: payloads, headers, memos, search attributes, times and
//! durations, retry policies, executions and ids.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use endure_core::{
    CronSchedule, EventId, Payload, PayloadMap, Payloads, RetryPolicy, RunId, SearchAttributeValue,
    SearchAttributes, Timestamp, WorkflowExecution, WorkflowId,
};

use super::BadField;
use crate::proto::common as pb;

/// Endure's payload as Temporal's (the same metadata and bytes).
pub(crate) fn payload(payload: Payload) -> pb::Payload {
    pb::Payload {
        metadata: payload.metadata.into_iter().collect(),
        data: payload.data,
        external_payloads: Vec::new(),
    }
}

/// Temporal's payload as Endure's.
pub(crate) fn payload_in(payload: pb::Payload) -> Payload {
    Payload {
        metadata: payload.metadata.into_iter().collect(),
        data: payload.data,
    }
}

/// A list of payloads; `None` for none at all, as Temporal leaves the field unset.
pub(crate) fn payloads(payloads: Payloads) -> Option<pb::Payloads> {
    (!payloads.is_empty()).then(|| pb::Payloads {
        payloads: payloads.0.into_iter().map(payload).collect(),
    })
}

/// An optional list of payloads: set (even if empty) when Endure's is.
pub(crate) fn payloads_opt(value: Option<Payloads>) -> Option<pb::Payloads> {
    value.map(|list| pb::Payloads {
        payloads: list.0.into_iter().map(payload).collect(),
    })
}

/// Temporal's payloads as Endure's (unset is none).
pub(crate) fn payloads_in(payloads: Option<pb::Payloads>) -> Payloads {
    Payloads(
        payloads
            .map(|list| list.payloads.into_iter().map(payload_in).collect())
            .unwrap_or_default(),
    )
}

/// Temporal's payloads as an optional result: unset stays `None`.
pub(crate) fn payloads_opt_in(payloads: Option<pb::Payloads>) -> Option<Payloads> {
    payloads.map(|list| Payloads(list.payloads.into_iter().map(payload_in).collect()))
}

fn fields(map: PayloadMap) -> HashMap<String, pb::Payload> {
    map.0.into_iter().map(|(k, v)| (k, payload(v))).collect()
}

fn fields_in(map: HashMap<String, pb::Payload>) -> PayloadMap {
    PayloadMap(
        map.into_iter()
            .map(|(k, v)| (k, payload_in(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// A header; `None` when empty.
pub(crate) fn header(map: PayloadMap) -> Option<pb::Header> {
    (!map.is_empty()).then(|| pb::Header {
        fields: fields(map),
    })
}

/// Temporal's header as Endure's.
pub(crate) fn header_in(header: Option<pb::Header>) -> PayloadMap {
    header.map(|h| fields_in(h.fields)).unwrap_or_default()
}

/// A memo; `None` when empty.
pub(crate) fn memo(map: PayloadMap) -> Option<pb::Memo> {
    (!map.is_empty()).then(|| pb::Memo {
        fields: fields(map),
    })
}

/// Temporal's memo as Endure's.
pub(crate) fn memo_in(memo: Option<pb::Memo>) -> PayloadMap {
    memo.map(|m| fields_in(m.fields)).unwrap_or_default()
}

/// The `type` metadata Temporal's SDKs put on a search attribute's payload.
const SEARCH_ATTRIBUTE_TYPE_KEY: &str = "type";

/// One search attribute as Temporal encodes it: its value as JSON, its type in the
/// payload's `type` metadata.
fn search_attribute(value: &SearchAttributeValue) -> pb::Payload {
    let (kind, json) = match value {
        SearchAttributeValue::Keyword(text) => ("Keyword", serde_json::json!(text)),
        SearchAttributeValue::Text(text) => ("Text", serde_json::json!(text)),
        SearchAttributeValue::Int(number) => ("Int", serde_json::json!(number)),
        SearchAttributeValue::Double(number) => ("Double", serde_json::json!(number)),
        SearchAttributeValue::Bool(flag) => ("Bool", serde_json::json!(flag)),
        SearchAttributeValue::Datetime(time) => ("Datetime", serde_json::json!(rfc3339(*time))),
        SearchAttributeValue::KeywordList(list) => ("KeywordList", serde_json::json!(list)),
        SearchAttributeValue::Unset => {
            return pb::Payload {
                metadata: HashMap::from([("encoding".into(), b"binary/null".to_vec())]),
                ..pb::Payload::default()
            };
        }
    };
    pb::Payload {
        metadata: HashMap::from([
            ("encoding".into(), b"json/plain".to_vec()),
            (SEARCH_ATTRIBUTE_TYPE_KEY.into(), kind.as_bytes().to_vec()),
        ]),
        data: json.to_string().into_bytes(),
        external_payloads: Vec::new(),
    }
}

/// Search attributes; `None` when there are none.
pub(crate) fn search_attributes(attributes: &SearchAttributes) -> Option<pb::SearchAttributes> {
    (!attributes.0.is_empty()).then(|| pb::SearchAttributes {
        indexed_fields: attributes
            .0
            .iter()
            .map(|(name, value)| (name.clone(), search_attribute(value)))
            .collect(),
    })
}

/// Temporal's search attributes as Endure's typed values: by the payload's `type` metadata
/// when the SDK sent one, otherwise by the JSON value's shape (a string is a Keyword, a
/// list of strings a KeywordList). A null payload or an empty list unsets the key.
pub(crate) fn search_attributes_in(
    attributes: Option<pb::SearchAttributes>,
) -> Result<SearchAttributes, BadField> {
    let mut typed = BTreeMap::new();
    for (name, payload) in attributes.map(|a| a.indexed_fields).unwrap_or_default() {
        let value = search_attribute_in(&name, &payload)?;
        typed.insert(name, value);
    }
    Ok(SearchAttributes(typed))
}

fn search_attribute_in(
    name: &str,
    payload: &pb::Payload,
) -> Result<SearchAttributeValue, BadField> {
    let bad = |why: String| BadField::new("search_attributes", format!("{name}: {why}"));
    if payload.data.is_empty()
        || payload.metadata.get("encoding").map(Vec::as_slice) == Some(b"binary/null")
    {
        return Ok(SearchAttributeValue::Unset);
    }
    let json: serde_json::Value = serde_json::from_slice(&payload.data)
        .map_err(|error| bad(format!("not JSON ({error})")))?;
    let kind = payload
        .metadata
        .get(SEARCH_ATTRIBUTE_TYPE_KEY)
        .map(|kind| String::from_utf8_lossy(kind).into_owned());
    let text = |json: &serde_json::Value| {
        json.as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("expected a string, got {json}")))
    };
    Ok(match (kind.as_deref(), &json) {
        (_, serde_json::Value::Null) => SearchAttributeValue::Unset,
        (Some("Text"), json) => SearchAttributeValue::Text(text(json)?),
        (Some("Int"), json) => SearchAttributeValue::Int(
            json.as_i64()
                .ok_or_else(|| bad(format!("expected an integer, got {json}")))?,
        ),
        (Some("Double"), json) => SearchAttributeValue::Double(
            json.as_f64()
                .ok_or_else(|| bad(format!("expected a number, got {json}")))?,
        ),
        (Some("Bool"), json) => SearchAttributeValue::Bool(
            json.as_bool()
                .ok_or_else(|| bad(format!("expected a boolean, got {json}")))?,
        ),
        (Some("Datetime"), json) => SearchAttributeValue::Datetime(
            parse_rfc3339(&text(json)?).ok_or_else(|| bad("expected an RFC 3339 time".into()))?,
        ),
        (_, serde_json::Value::Array(items)) => {
            let list = items.iter().map(text).collect::<Result<Vec<_>, _>>()?;
            if list.is_empty() {
                SearchAttributeValue::Unset
            } else {
                SearchAttributeValue::KeywordList(list)
            }
        }
        (Some("Keyword") | None, json) => SearchAttributeValue::Keyword(text(json)?),
        (Some(other), _) => return Err(bad(format!("unknown search attribute type {other:?}"))),
    })
}

/// An instant as RFC 3339 text, to the nanosecond.
fn rfc3339(time: Timestamp) -> String {
    let civil = time.to_civil();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        civil.year,
        civil.month,
        civil.day,
        civil.hour,
        civil.minute,
        civil.second,
        civil.nanosecond
    )
}

/// RFC 3339 text as an instant (any offset).
fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let parsed: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(parsed.as_nanosecond())
        .ok()
        .map(Timestamp::from_unix_nanos)
}

/// An instant as a protobuf timestamp.
pub(crate) fn time(time: Timestamp) -> prost_types::Timestamp {
    let nanos = time.unix_nanos();
    prost_types::Timestamp {
        seconds: (nanos / 1_000_000_000) as i64,
        nanos: (nanos % 1_000_000_000) as i32,
    }
}

/// An optional instant.
pub(crate) fn time_opt(value: Option<Timestamp>) -> Option<prost_types::Timestamp> {
    value.map(time)
}

/// A protobuf timestamp as an instant; before the epoch is refused.
pub(crate) fn time_in_opt(
    field: &'static str,
    value: Option<prost_types::Timestamp>,
) -> Result<Option<Timestamp>, BadField> {
    let Some(value) = value else { return Ok(None) };
    let seconds = u64::try_from(value.seconds)
        .map_err(|_| BadField::new(field, "a time before 1970 is not supported"))?;
    let nanos = u64::try_from(value.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| BadField::new(field, "nanos must be within 0..1e9"))?;
    Ok(Some(Timestamp::from_unix_nanos(
        seconds.saturating_mul(1_000_000_000).saturating_add(nanos),
    )))
}

/// A duration as a protobuf duration.
pub(crate) fn duration(value: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(value.as_secs()).unwrap_or(i64::MAX),
        nanos: value.subsec_nanos() as i32,
    }
}

/// An optional duration.
pub(crate) fn duration_opt(value: Option<Duration>) -> Option<prost_types::Duration> {
    value.map(duration)
}

/// A protobuf duration; unset and zero are `None` (Temporal's "not set"); negative is
/// refused.
pub(crate) fn duration_in(
    field: &'static str,
    value: Option<prost_types::Duration>,
) -> Result<Option<Duration>, BadField> {
    let Some(value) = value else { return Ok(None) };
    if value.seconds < 0 || value.nanos < 0 || value.nanos >= 1_000_000_000 {
        return Err(BadField::new(field, "a duration must not be negative"));
    }
    let duration = Duration::new(value.seconds as u64, value.nanos as u32);
    Ok((!duration.is_zero()).then_some(duration))
}

/// A retry policy.
pub(crate) fn retry_policy(policy: RetryPolicy) -> pb::RetryPolicy {
    pb::RetryPolicy {
        initial_interval: Some(duration(policy.initial_interval)),
        backoff_coefficient: policy.backoff_coefficient,
        maximum_interval: Some(duration(policy.effective_maximum_interval())),
        maximum_attempts: i32::try_from(policy.maximum_attempts).unwrap_or(i32::MAX),
        non_retryable_error_types: policy.non_retryable_error_types,
    }
}

/// Temporal's retry policy: unset fields take Temporal's defaults (1 s, ×2.0, 100 × the
/// initial interval, unlimited attempts).
pub(crate) fn retry_policy_in(
    policy: Option<pb::RetryPolicy>,
) -> Result<Option<RetryPolicy>, BadField> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    let defaults = RetryPolicy::default();
    let policy = RetryPolicy {
        initial_interval: duration_in("retry_policy.initial_interval", policy.initial_interval)?
            .unwrap_or(defaults.initial_interval),
        backoff_coefficient: if policy.backoff_coefficient == 0.0 {
            defaults.backoff_coefficient
        } else {
            policy.backoff_coefficient
        },
        maximum_interval: duration_in("retry_policy.maximum_interval", policy.maximum_interval)?,
        maximum_attempts: u32::try_from(policy.maximum_attempts)
            .map_err(|_| BadField::new("retry_policy.maximum_attempts", "must not be negative"))?,
        non_retryable_error_types: policy.non_retryable_error_types,
    };
    policy
        .validate("retry_policy")
        .map_err(|error| BadField::new("retry_policy", error.to_string()))?;
    Ok(Some(policy))
}

/// A run id as Temporal's text (a UUID).
pub(crate) fn run_id(run: RunId) -> String {
    run.to_string()
}

/// An optional run id; empty when none.
pub(crate) fn run_id_opt(run: Option<RunId>) -> String {
    run.map(run_id).unwrap_or_default()
}

/// Temporal's run id text; empty is none.
pub(crate) fn run_id_in(field: &'static str, text: &str) -> Result<Option<RunId>, BadField> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| BadField::new(field, format!("{text:?} is not a run id (a UUID)")))
}

/// An execution.
pub(crate) fn execution(execution: WorkflowExecution) -> pb::WorkflowExecution {
    pb::WorkflowExecution {
        workflow_id: execution.workflow_id.into(),
        run_id: run_id_opt(execution.run_id),
    }
}

/// Temporal's execution; the workflow id is required.
pub(crate) fn execution_in(
    execution: Option<pb::WorkflowExecution>,
) -> Result<WorkflowExecution, BadField> {
    let execution = execution
        .ok_or_else(|| BadField::new("execution", "the workflow execution is required"))?;
    Ok(WorkflowExecution {
        workflow_id: id_in("workflow_id", execution.workflow_id)?,
        run_id: run_id_in("run_id", &execution.run_id)?,
    })
}

/// An id or name of Endure's (workflow id, type, queue…) from Temporal's string.
pub(crate) fn id_in<T>(field: &'static str, text: String) -> Result<T, BadField>
where
    T: TryFrom<String, Error = endure_core::ValidationError>,
{
    T::try_from(text).map_err(|error| BadField::new(field, error.to_string()))
}

/// A workflow id.
pub(crate) fn workflow_id_in(text: String) -> Result<WorkflowId, BadField> {
    id_in("workflow_id", text)
}

/// An event id as Temporal's number; 0 is none.
pub(crate) fn event_id(id: EventId) -> i64 {
    i64::try_from(id.get()).unwrap_or(i64::MAX)
}

/// An optional event id; 0 when none.
pub(crate) fn event_id_opt(id: Option<EventId>) -> i64 {
    id.map_or(0, event_id)
}

/// Temporal's event id; 0 (or negative) is none.
pub(crate) fn event_id_in(id: i64) -> Option<EventId> {
    u64::try_from(id).ok().and_then(EventId::new)
}

/// A cron schedule's text; empty when none.
pub(crate) fn cron(schedule: Option<CronSchedule>) -> String {
    schedule.map(|s| s.as_str().to_owned()).unwrap_or_default()
}

/// Temporal's cron text; empty is none.
pub(crate) fn cron_in(text: String) -> Result<Option<CronSchedule>, BadField> {
    if text.is_empty() {
        return Ok(None);
    }
    CronSchedule::parse(&text)
        .map(Some)
        .map_err(|error| BadField::new("cron_schedule", error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_attributes_keep_their_types_both_ways() {
        let attributes = SearchAttributes(BTreeMap::from([
            ("K".to_owned(), SearchAttributeValue::Keyword("a".into())),
            ("T".to_owned(), SearchAttributeValue::Text("b c".into())),
            ("I".to_owned(), SearchAttributeValue::Int(-3)),
            ("D".to_owned(), SearchAttributeValue::Double(1.5)),
            ("B".to_owned(), SearchAttributeValue::Bool(true)),
            (
                "W".to_owned(),
                SearchAttributeValue::Datetime(Timestamp::from_unix_millis(1_700_000_000_123)),
            ),
            (
                "L".to_owned(),
                SearchAttributeValue::KeywordList(vec!["x".into(), "y".into()]),
            ),
        ]));
        let back = search_attributes_in(search_attributes(&attributes)).unwrap();
        assert_eq!(back, attributes);
    }

    #[test]
    fn a_search_attribute_without_its_type_is_read_by_its_shape() {
        let untyped = |json: &str| pb::Payload {
            metadata: HashMap::from([("encoding".into(), b"json/plain".to_vec())]),
            data: json.as_bytes().to_vec(),
            external_payloads: Vec::new(),
        };
        let read = |json: &str| {
            search_attributes_in(Some(pb::SearchAttributes {
                indexed_fields: HashMap::from([("A".into(), untyped(json))]),
            }))
            .unwrap()
            .0
            .remove("A")
            .unwrap()
        };
        assert_eq!(read("\"x\""), SearchAttributeValue::Keyword("x".into()));
        assert_eq!(
            read("[\"x\"]"),
            SearchAttributeValue::KeywordList(vec!["x".into()])
        );
        assert_eq!(read("[]"), SearchAttributeValue::Unset);
        assert_eq!(read("null"), SearchAttributeValue::Unset);
    }

    #[test]
    fn durations_and_times_round_trip_and_refuse_negatives() {
        let d = Duration::from_millis(1_500);
        assert_eq!(duration_in("d", Some(duration(d))).unwrap(), Some(d));
        assert_eq!(
            duration_in("d", Some(duration(Duration::ZERO))).unwrap(),
            None
        );
        let negative = prost_types::Duration {
            seconds: -1,
            nanos: 0,
        };
        assert!(duration_in("d", Some(negative)).is_err());
        let t = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        assert_eq!(time_in_opt("t", Some(time(t))).unwrap(), Some(t));
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t), "{}", rfc3339(t));
    }

    #[test]
    fn a_retry_policy_left_unset_takes_temporals_defaults() {
        let policy = retry_policy_in(Some(pb::RetryPolicy::default()))
            .unwrap()
            .unwrap();
        assert_eq!(policy, RetryPolicy::default());
        let back = retry_policy_in(Some(retry_policy(policy.clone())))
            .unwrap()
            .unwrap();
        assert_eq!(back.initial_interval, policy.initial_interval);
        assert_eq!(
            back.effective_maximum_interval(),
            policy.effective_maximum_interval()
        );
    }
}
