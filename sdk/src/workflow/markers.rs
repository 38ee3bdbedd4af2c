//! Side effects, mutable side effects and versions: values recorded once as markers and read
//! back from them on replay, with the marker names and detail keys Temporal's Go SDK writes.
//!
//! | marker | details |
//! |---|---|
//! | `SideEffect` | `side-effect-id` (the call's sequence number), `data` |
//! | `MutableSideEffect` | `side-effect-id` (the caller's id), `data`, `mutable-side-effect-call-counter` |
//! | `Version` | `change-id`, `version`, `version-search-attribute-updated` (`false`: Endure does not upsert `TemporalChangeVersion`) |
//!
//! Histories written before these keys (`id`, `change_id`) are read as well, so a run
//! started by an earlier Endure replays and goes on under today's code.

use endure_core::replay::WorkflowCommand;
use endure_core::{
    Header, MarkerName, Payload, PayloadError, Payloads, RecordMarkerCommandAttributes,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::WorkflowContext;

/// The version `get_version` returns for code that ran before the change existed.
pub const DEFAULT_VERSION: i32 = -1;

/// Marker names, as Temporal's Go SDK writes them.
const SIDE_EFFECT_MARKER: &str = "SideEffect";
const VERSION_MARKER: &str = "Version";
const MUTABLE_SIDE_EFFECT_MARKER: &str = "MutableSideEffect";

/// Detail keys, as Temporal's Go SDK writes them; the second of each pair is what Endure
/// wrote before.
const SIDE_EFFECT_ID_KEYS: &[&str] = &["side-effect-id", "id"];
const DATA_KEY: &str = "data";
const CHANGE_ID_KEYS: &[&str] = &["change-id", "change_id"];
const VERSION_KEY: &str = "version";
const SEARCH_ATTRIBUTE_UPDATED_KEY: &str = "version-search-attribute-updated";
const CALL_COUNTER_KEY: &str = "mutable-side-effect-call-counter";

impl WorkflowContext {
    /// Runs `compute` once, records its result in history, and returns the recorded result on
    /// replay (Go's `SideEffect`): for cheap non-deterministic values such as ids.
    pub fn side_effect<T: Serialize + DeserializeOwned>(
        &self,
        compute: impl FnOnce() -> T,
    ) -> Result<T, PayloadError> {
        let mut state = self.state.lock();
        state.next_side_effect_seq += 1;
        let id = Payloads::one(Payload::json(&state.next_side_effect_seq)?);
        if state.is_replaying
            && let Some(marker) = state.take_marker(SIDE_EFFECT_MARKER, SIDE_EFFECT_ID_KEYS, &id)
        {
            let data = marker.details.get(DATA_KEY).cloned().unwrap_or_default();
            let value = data.decode_first()?;
            state.commands.push(side_effect_marker(id, data));
            return Ok(value);
        }
        drop(state);
        let value = compute();
        let data = Payloads::one(Payload::encode(&value)?);
        self.state
            .lock()
            .commands
            .push(side_effect_marker(id, data));
        Ok(value)
    }

    /// Like [`Self::side_effect`], but recorded again only when the value changes (as judged by
    /// `equal`), under a stable `id` (Go's `MutableSideEffect`).
    pub fn mutable_side_effect<T: Serialize + DeserializeOwned>(
        &self,
        id: &str,
        compute: impl FnOnce() -> T,
        equal: impl FnOnce(&T, &T) -> bool,
    ) -> Result<T, PayloadError> {
        let key = Payloads::one(Payload::json(id)?);
        let mut state = self.state.lock();
        if state.is_replaying {
            if let Some(marker) =
                state.take_marker(MUTABLE_SIDE_EFFECT_MARKER, SIDE_EFFECT_ID_KEYS, &key)
            {
                let data = marker.details.get(DATA_KEY).cloned().unwrap_or_default();
                state.mutable_values.insert(id.to_owned(), data.clone());
                let command =
                    mutable_side_effect_marker(&mut state.mutable_records, id, key, &data);
                state.commands.push(command);
                return data.decode_first();
            }
            if let Some(data) = state.mutable_values.get(id) {
                return data.decode_first();
            }
        }
        let known: Option<T> = match state.mutable_values.get(id) {
            Some(data) => Some(data.decode_first()?),
            None => None,
        };
        drop(state);
        let value = compute();
        if let Some(known) = known
            && equal(&known, &value)
        {
            return Ok(known);
        }
        let data = Payloads::one(Payload::encode(&value)?);
        let mut state = self.state.lock();
        state.mutable_values.insert(id.to_owned(), data.clone());
        let command = mutable_side_effect_marker(&mut state.mutable_records, id, key, &data);
        state.commands.push(command);
        Ok(value)
    }

    /// The version of `change_id` this run follows (Go's `GetVersion`): the recorded version
    /// on replay, [`DEFAULT_VERSION`] for a run that passed this point before the change
    /// existed, `max_supported` for a new run. A recorded version outside
    /// `min_supported..=max_supported` fails the workflow task (the code can no longer run
    /// this history).
    pub fn get_version(&self, change_id: &str, min_supported: i32, max_supported: i32) -> i32 {
        let mut state = self.state.lock();
        if let Some(version) = state.versions.get(change_id) {
            return *version;
        }
        let key = Payloads::one(Payload::json(change_id).unwrap_or_else(|_| Payload::null()));
        let version = if let Some(marker) = state.take_marker(VERSION_MARKER, CHANGE_ID_KEYS, &key)
        {
            let data = marker.details.get(VERSION_KEY).cloned().unwrap_or_default();
            let version: i32 = data.decode_first().unwrap_or(DEFAULT_VERSION);
            state.commands.push(version_marker(key, data));
            version
        } else if state.is_replaying {
            DEFAULT_VERSION
        } else {
            let data =
                Payloads::one(Payload::json(&max_supported).unwrap_or_else(|_| Payload::null()));
            state.commands.push(version_marker(key, data));
            max_supported
        };
        state.versions.insert(change_id.to_owned(), version);
        drop(state);
        assert!(
            (min_supported..=max_supported).contains(&version),
            "version {version} of change {change_id:?} is outside the supported range {min_supported}..={max_supported}"
        );
        version
    }
}

fn side_effect_marker(id: Payloads, data: Payloads) -> WorkflowCommand {
    record_marker(
        SIDE_EFFECT_MARKER,
        [(SIDE_EFFECT_ID_KEYS[0], id), (DATA_KEY, data)],
    )
}

/// The marker of the next recording of mutable side effect `id`, counting it.
fn mutable_side_effect_marker(
    records: &mut std::collections::BTreeMap<String, u32>,
    id: &str,
    key: Payloads,
    data: &Payloads,
) -> WorkflowCommand {
    let count = records.entry(id.to_owned()).or_default();
    *count += 1;
    let counter = Payloads::one(Payload::json(count).unwrap_or_else(|_| Payload::null()));
    record_marker(
        MUTABLE_SIDE_EFFECT_MARKER,
        [
            (SIDE_EFFECT_ID_KEYS[0], key),
            (DATA_KEY, data.clone()),
            (CALL_COUNTER_KEY, counter),
        ],
    )
}

fn version_marker(change_id: Payloads, version: Payloads) -> WorkflowCommand {
    let not_upserted = Payloads::one(Payload::json(&false).unwrap_or_else(|_| Payload::null()));
    record_marker(
        VERSION_MARKER,
        [
            (CHANGE_ID_KEYS[0], change_id),
            (VERSION_KEY, version),
            (SEARCH_ATTRIBUTE_UPDATED_KEY, not_upserted),
        ],
    )
}

fn record_marker<const N: usize>(name: &str, details: [(&str, Payloads); N]) -> WorkflowCommand {
    WorkflowCommand::RecordMarker(RecordMarkerCommandAttributes {
        marker_name: MarkerName::new(name)
            .unwrap_or_else(|_| unreachable!("marker names are valid literals")),
        details: details
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        header: Header::new(),
        failure: None,
    })
}
