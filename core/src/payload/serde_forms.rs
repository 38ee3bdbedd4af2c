//! How a [`Payload`] is written: fields in the binary codec, readable text in JSON.
//!
//! In the binary codec (postcard, tagged MessagePack, the schema tracer — every format that
//! is not human-readable) a payload is the struct `Payload { metadata, data }` with its bytes,
//! as it always was, so persisted bytes and schema snapshots do not change.
//!
//! In JSON (the history export `endure workflow show -o json` writes and the Replayer reads,
//! and every `-o json` output) a payload is what a person wants to read:
//!
//! - a `json/plain` payload with no other metadata is **its JSON value itself**, written
//!   byte for byte as stored (its key order and spacing kept), so `{"amount": 10}` reads as
//!   that and reading the export back gives the very same bytes;
//! - any other payload (binary, `binary/null`, a codec's output, extra metadata, or a JSON
//!   value that is itself an object of exactly `metadata` and `data`) is the object
//!   `{"metadata": {"encoding": "binary/plain", …}, "data": "<base64>"}`, metadata values as
//!   text when they are UTF-8.
//!
//! Reading JSON takes both forms, and also the byte lists (`[106, 115, …]`) that version 1
//! of the history export wrote for metadata values and data.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::{Payload, encoding};

/// The binary codec's shape, borrowed for writing.
#[derive(Serialize)]
#[serde(rename = "Payload")]
struct FieldsRef<'a> {
    metadata: &'a BTreeMap<String, Vec<u8>>,
    data: &'a serde_bytes::Bytes,
}

/// The binary codec's shape, owned for reading.
#[derive(Deserialize)]
#[serde(rename = "Payload")]
struct Fields {
    metadata: BTreeMap<String, Vec<u8>>,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

/// The explicit JSON form, for writing.
#[derive(Serialize)]
struct ExplicitRef<'a> {
    metadata: BTreeMap<&'a str, Bytes<'a>>,
    data: String,
}

/// Bytes in JSON: text when UTF-8, else the list of bytes.
#[derive(Serialize)]
#[serde(untagged)]
enum Bytes<'a> {
    Text(&'a str),
    List(&'a [u8]),
}

/// The explicit JSON form, for reading: metadata values as text or byte lists, data as
/// base64 or a byte list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Explicit {
    metadata: BTreeMap<String, TextOrBytes>,
    data: Base64OrBytes,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrBytes {
    Text(String),
    List(Vec<u8>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Base64OrBytes {
    Base64(String),
    List(Vec<u8>),
}

impl Payload {
    /// The payload as people read it: a JSON payload as its value, `binary/null` as
    /// `null`, anything else in the explicit form (`{"metadata": {"encoding": …}, "data":
    /// "<base64>"}`).
    pub fn readable(&self) -> serde_json::Value {
        if self.encoding() == Some(encoding::BINARY_NULL) {
            return serde_json::Value::Null;
        }
        serde_json::to_value(self)
            .unwrap_or_else(|error| serde_json::Value::String(error.to_string()))
    }

    /// Payloads as people read them ([`readable`](Self::readable) each): one as itself,
    /// several as a list, none as `null`.
    pub fn readable_all(payloads: Option<&super::Payloads>) -> serde_json::Value {
        match payloads.map(|payloads| payloads.as_slice()) {
            None | Some([]) => serde_json::Value::Null,
            Some([one]) => one.readable(),
            Some(several) => serde_json::Value::Array(several.iter().map(Self::readable).collect()),
        }
    }

    /// The JSON text a shorthand payload is written as, when this payload has one (see the
    /// module doc).
    fn shorthand(&self) -> Option<&str> {
        if self.encoding() != Some(encoding::JSON_PLAIN) || self.metadata.len() != 1 {
            return None;
        }
        let text = std::str::from_utf8(&self.data).ok()?;
        if text.trim() != text || text.is_empty() {
            return None;
        }
        // An object of exactly `metadata` and `data` would read back as the explicit form.
        let looks_explicit = serde_json::from_str::<BTreeMap<String, serde::de::IgnoredAny>>(text)
            .is_ok_and(|object| {
                object.len() == 2 && object.contains_key("metadata") && object.contains_key("data")
            });
        (!looks_explicit && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
            .then_some(text)
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return FieldsRef {
                metadata: &self.metadata,
                data: serde_bytes::Bytes::new(&self.data),
            }
            .serialize(serializer);
        }
        if let Some(text) = self.shorthand() {
            let raw: &RawValue = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
            return raw.serialize(serializer);
        }
        ExplicitRef {
            metadata: self
                .metadata
                .iter()
                .map(|(key, value)| {
                    let value = std::str::from_utf8(value).map_or(Bytes::List(value), Bytes::Text);
                    (key.as_str(), value)
                })
                .collect(),
            data: base64::engine::general_purpose::STANDARD.encode(&self.data),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            let Fields { metadata, data } = Fields::deserialize(deserializer)?;
            return Ok(Self { metadata, data });
        }
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        let explicit = text.trim_start().starts_with('{')
            && serde_json::from_str::<BTreeMap<String, serde::de::IgnoredAny>>(text).is_ok_and(
                |object| {
                    object.len() == 2
                        && object.contains_key("metadata")
                        && object.contains_key("data")
                },
            );
        if !explicit {
            return Ok(Self {
                metadata: BTreeMap::from([(
                    "encoding".to_owned(),
                    encoding::JSON_PLAIN.as_bytes().to_vec(),
                )]),
                data: text.as_bytes().to_vec(),
            });
        }
        let Explicit { metadata, data } = serde_json::from_str(text).map_err(D::Error::custom)?;
        let metadata = metadata
            .into_iter()
            .map(|(key, value)| {
                let bytes = match value {
                    TextOrBytes::Text(text) => text.into_bytes(),
                    TextOrBytes::List(bytes) => bytes,
                };
                (key, bytes)
            })
            .collect();
        let data = match data {
            Base64OrBytes::Base64(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|error| {
                D::Error::custom(format!("payload data is not base64: {error}"))
            })?,
            Base64OrBytes::List(bytes) => bytes,
        };
        Ok(Self { metadata, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Payloads;

    fn round_trip(payload: &Payload) -> serde_json::Value {
        let text = serde_json::to_string_pretty(payload).unwrap();
        assert_eq!(
            &serde_json::from_str::<Payload>(&text).unwrap(),
            payload,
            "{text}"
        );
        serde_json::to_value(payload).unwrap()
    }

    #[test]
    fn json_payloads_are_their_value_byte_for_byte() {
        // Key order and spacing as stored (a struct's field order, another SDK's spaces).
        let payload = Payload::json(&serde_json::json!({"b": 1, "a": [true, null]})).unwrap();
        let spaced = Payload {
            data: br#"{"z": 1,  "a": "x"}"#.to_vec(),
            ..payload.clone()
        };
        for payload in [payload, spaced] {
            let text = serde_json::to_string(&payload).unwrap();
            assert_eq!(text.as_bytes(), payload.data.as_slice());
            assert_eq!(serde_json::from_str::<Payload>(&text).unwrap(), payload);
        }
        assert_eq!(
            round_trip(&Payload::json("user_123").unwrap()),
            serde_json::json!("user_123")
        );
    }

    #[test]
    fn other_payloads_are_explicit_with_base64_data() {
        let binary = Payload::binary(vec![0, 159, 146, 150]);
        let value = round_trip(&binary);
        assert_eq!(value["metadata"]["encoding"], "binary/plain");
        assert_eq!(value["data"], "AJ+Slg==");
        let null = Payload::json(&()).unwrap();
        assert_eq!(round_trip(&null)["metadata"]["encoding"], "binary/null");
        let mut extra = Payload::json(&5).unwrap();
        extra.metadata.insert("key-id".into(), vec![0xff, 0]);
        assert_eq!(
            round_trip(&extra)["metadata"]["key-id"],
            serde_json::json!([255, 0])
        );
        // JSON that would read as the explicit form, and JSON with outer spaces.
        let lookalike = Payload::json(&serde_json::json!({"metadata": {}, "data": ""})).unwrap();
        assert_eq!(round_trip(&lookalike)["metadata"]["encoding"], "json/plain");
        let padded = Payload {
            data: b" 5 ".to_vec(),
            ..Payload::json(&5).unwrap()
        };
        assert_eq!(round_trip(&padded)["data"], "IDUg");
    }

    #[test]
    fn reads_the_byte_lists_of_export_version_1_and_refuses_bad_base64() {
        let v1 = r#"[{"metadata": {"encoding": [106,115,111,110,47,112,108,97,105,110]}, "data": [55]}]"#;
        assert_eq!(
            serde_json::from_str::<Payloads>(v1).unwrap(),
            Payloads(vec![Payload::json(&7).unwrap()])
        );
        let bad = r#"{"metadata": {"encoding": "binary/plain"}, "data": "%%"}"#;
        assert!(serde_json::from_str::<Payload>(bad).is_err());
        let unknown = r#"{"metadata": {}, "data": "", "extra": 1}"#;
        // Three keys: not the explicit form, so a JSON value.
        assert_eq!(
            serde_json::from_str::<Payload>(unknown).unwrap().encoding(),
            Some("json/plain")
        );
    }

    #[test]
    fn the_binary_codec_sees_the_fields() {
        let payload = Payload::json(&"x").unwrap();
        let bytes = postcard::to_allocvec(&payload).unwrap();
        assert_eq!(
            bytes,
            postcard::to_allocvec(&(&payload.metadata, serde_bytes::Bytes::new(&payload.data)))
                .unwrap()
        );
        assert_eq!(postcard::from_bytes::<Payload>(&bytes).unwrap(), payload);
    }
}
