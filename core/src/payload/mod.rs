//! Payloads: the encoded arguments, results and details that travel through history.
//!
//! A [`Payload`] is bytes plus metadata, with Temporal's `encoding` metadata values so a
//! payload means the same thing to Endure and to Temporal tooling: `json/plain` (the default
//! converter, spec §4.4), `binary/null` (no value) and `binary/plain` (raw bytes).
//!
//! **The default converter chain** ([`Payload::encode`], [`Payload::decode`]) is Temporal's:
//! no value (`None`, `()`) becomes `binary/null`; bytes (`Vec<u8>`, [`Binary`],
//! `serde_bytes::ByteBuf`, `bytes::Bytes`) become `binary/plain`; everything else
//! `json/plain`. **Arguments** ([`Payloads::encode_arguments`]) are one payload each, as
//! Go sends its variadic arguments: a tuple is several arguments, `()` none.
//!
//! Two caveats of dispatching on serde's view of a value rather than on its type: an empty
//! `Vec<u8>` encodes as the JSON `[]` (it decodes back into an empty `Vec<u8>` all the
//! same), and a fixed-size array `[T; N]` passed as a whole argument list is `N` arguments
//! (serde sees a tuple); wrap it in a struct or a `Vec` to pass it as one.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::limits::{MESSAGE_BYTES_MAX, PAYLOAD_BYTES_MAX};
use crate::validation::ValidationError;

/// The `Serializer` methods of map, struct and variant shapes, all answering `$error`:
/// the converter's probes only look at a value's outermost layer, where these shapes are
/// one JSON value.
macro_rules! no_compound_shapes {
    ($error:expr) => {
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Self::Error> {
            Err($error)
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Self::Error> {
            Err($error)
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
            Err($error)
        }

        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Self::Error> {
            Err($error)
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Self::Error> {
            Err($error)
        }
    };
}
use no_compound_shapes;

mod arguments;
mod binary;
mod probe;
mod serde_forms;

pub use binary::Binary;

/// The metadata key and the values Temporal uses for it.
pub mod encoding {
    /// Metadata key naming a payload's encoding.
    pub const METADATA_KEY: &str = "encoding";
    /// A JSON document, UTF-8.
    pub const JSON_PLAIN: &str = "json/plain";
    /// No value (Go's `nil`, Rust's `None` and `()`); the data is empty.
    pub const BINARY_NULL: &str = "binary/null";
    /// Raw bytes, passed through untouched.
    pub const BINARY_PLAIN: &str = "binary/plain";
}

/// Why a value could not be turned into a payload or back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The value could not be encoded as JSON (a map with non-string keys, say).
    #[error("cannot encode the value as JSON: {0}")]
    Encode(String),
    /// The payload's bytes do not decode into the requested type.
    #[error("cannot decode a {encoding} payload into the requested type: {reason}")]
    Decode {
        /// The payload's encoding.
        encoding: String,
        /// What the decoder reported.
        reason: String,
    },
    /// The payload's encoding cannot be decoded into a typed value.
    #[error(
        "payload encoding {0:?} cannot be decoded into a typed value; expected json/plain, binary/null or binary/plain (a payload codec's encoding is removed by the codec that wrote it; other encodings are read from the raw payload)"
    )]
    Encoding(String),
}

/// One encoded value: metadata (at least `encoding`) and the bytes.
///
/// Serialised as its fields in the binary codec and readably in JSON (a `json/plain`
/// payload as its JSON value; see `payload/serde_forms.rs`).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Payload {
    /// Metadata; `encoding` says how to read `data`.
    pub metadata: BTreeMap<String, Vec<u8>>,
    /// The encoded bytes (a byte string in tagged bodies and postcard).
    pub data: Vec<u8>,
}

impl Payload {
    /// Encodes `value` with the default converter: JSON, or `binary/null` when the value
    /// serialises to JSON `null` (`None`, `()`).
    ///
    /// ```
    /// use endure_core::Payload;
    ///
    /// let payload = Payload::json(&("user_123", 7))?;
    /// assert_eq!(payload.encoding(), Some("json/plain"));
    /// assert_eq!(payload.decode::<(String, u32)>()?, ("user_123".to_owned(), 7));
    /// assert_eq!(Payload::json(&None::<u8>)?.encoding(), Some("binary/null"));
    /// # Ok::<(), endure_core::PayloadError>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        let data = serde_json::to_vec(value).map_err(|e| PayloadError::Encode(e.to_string()))?;
        if data == b"null" {
            return Ok(Self::null());
        }
        Ok(Self::with_encoding(encoding::JSON_PLAIN, data))
    }

    /// Encodes `value` with the default converter chain (Go's `ToPayload`): `binary/null`
    /// for no value, `binary/plain` for bytes, `json/plain` for the rest.
    ///
    /// ```
    /// use endure_core::Payload;
    ///
    /// assert_eq!(Payload::encode(&None::<String>)?.encoding(), Some("binary/null"));
    /// assert_eq!(Payload::encode(&vec![1_u8, 2])?.encoding(), Some("binary/plain"));
    /// assert_eq!(Payload::encode(&vec![1_u16, 2])?.encoding(), Some("json/plain"));
    /// # Ok::<(), endure_core::PayloadError>(())
    /// ```
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        match probe::probe(value) {
            probe::Probe::Null => Ok(Self::null()),
            probe::Probe::Bytes(bytes) => Ok(Self::binary(bytes)),
            probe::Probe::Other => Self::json(value),
        }
    }

    /// The payload of no value (`binary/null`).
    pub fn null() -> Self {
        Self::with_encoding(encoding::BINARY_NULL, Vec::new())
    }

    /// Raw bytes (`binary/plain`).
    pub fn binary(bytes: impl Into<Vec<u8>>) -> Self {
        Self::with_encoding(encoding::BINARY_PLAIN, bytes.into())
    }

    /// A payload with the given `encoding` metadata value.
    pub fn with_encoding(encoding_name: &str, data: Vec<u8>) -> Self {
        let mut metadata = BTreeMap::new();
        metadata.insert(
            encoding::METADATA_KEY.to_owned(),
            encoding_name.as_bytes().to_vec(),
        );
        Self { metadata, data }
    }

    /// The `encoding` metadata value, if present and UTF-8.
    pub fn encoding(&self) -> Option<&str> {
        let raw = self.metadata.get(encoding::METADATA_KEY)?;
        std::str::from_utf8(raw).ok()
    }

    /// Decodes the payload into `T` with the default converter chain (Go's
    /// `FromPayload`): `json/plain` as JSON, `binary/null` as JSON `null` (so into `()`,
    /// `None` or a default), `binary/plain` into a byte type (`Vec<u8>`, [`Binary`], …).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        let encoding_name = self.encoding().unwrap_or_default();
        let decode_error = |reason: String| PayloadError::Decode {
            encoding: encoding_name.to_owned(),
            reason,
        };
        match encoding_name {
            encoding::JSON_PLAIN => {
                serde_json::from_slice(&self.data).map_err(|e| decode_error(e.to_string()))
            }
            encoding::BINARY_NULL => {
                serde_json::from_slice(b"null").map_err(|e| decode_error(e.to_string()))
            }
            encoding::BINARY_PLAIN => T::deserialize(binary::BytesDeserializer(&self.data))
                .map_err(|e| decode_error(e.to_string())),
            other => Err(PayloadError::Encoding(other.to_owned())),
        }
    }

    /// The bytes of a `binary/plain` payload.
    pub fn as_binary(&self) -> Option<&[u8]> {
        (self.encoding() == Some(encoding::BINARY_PLAIN)).then_some(self.data.as_slice())
    }

    /// Encoded size: data plus metadata keys and values, the figure limits apply to.
    pub fn size_bytes(&self) -> usize {
        let metadata: usize = self.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.data.len() + metadata
    }

    /// Refuses a payload over [`PAYLOAD_BYTES_MAX`] (spec §5.6.2).
    pub fn check_size(&self, field: &'static str) -> Result<(), ValidationError> {
        let size = self.size_bytes();
        if size > PAYLOAD_BYTES_MAX {
            return Err(ValidationError::PayloadTooLarge {
                field,
                size,
                limit: PAYLOAD_BYTES_MAX,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Payload {
    /// JSON payloads show their text, others their encoding and length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.encoding(), std::str::from_utf8(&self.data)) {
            (Some(encoding::JSON_PLAIN), Ok(text)) if text.len() <= 256 => write!(f, "{text}"),
            (Some(encoding::BINARY_NULL), _) => f.write_str("null"),
            (encoding_name, _) => write!(
                f,
                "<{} bytes {}>",
                self.data.len(),
                encoding_name.unwrap_or("no encoding")
            ),
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl proptest::arbitrary::Arbitrary for Payload {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        prop_oneof![
            Just(Self::null()),
            "[ -~]{0,16}".prop_map(|text| Self::json(&text).unwrap_or_else(|_| Self::null())),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Self::binary),
            (
                proptest::collection::btree_map(
                    "[a-z]{1,6}",
                    proptest::collection::vec(any::<u8>(), 0..4),
                    0..3
                ),
                proptest::collection::vec(any::<u8>(), 0..8)
            )
                .prop_map(|(metadata, data)| Self { metadata, data }),
        ]
        .boxed()
    }
}

/// An ordered list of payloads: a function's arguments, or a result.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct Payloads(
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(
            strategy = "proptest::collection::vec(proptest::arbitrary::any::<Payload>(), 0..3)"
        )
    )]
    pub Vec<Payload>,
);

impl Payloads {
    /// No payloads (a function of no arguments).
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// One payload.
    pub fn one(payload: Payload) -> Self {
        Self(vec![payload])
    }

    /// A function's arguments, one payload per argument (Go's `ToPayloads(args...)`): a
    /// tuple is several arguments, `()` none, any other value one; each is encoded by
    /// [`Payload::encode`].
    ///
    /// ```
    /// use endure_core::Payloads;
    ///
    /// let arguments = Payloads::encode_arguments(&("user_123", 7))?;
    /// assert_eq!(arguments.as_slice().len(), 2);
    /// assert_eq!(arguments.decode_arguments::<(String, u32)>()?, ("user_123".to_owned(), 7));
    /// assert!(Payloads::encode_arguments(&())?.is_empty());
    /// # Ok::<(), endure_core::PayloadError>(())
    /// ```
    pub fn encode_arguments<T: Serialize + ?Sized>(arguments: &T) -> Result<Self, PayloadError> {
        arguments::encode_arguments(arguments)
    }

    /// Decodes a function's arguments (Go's `FromPayloads`): none decode as `()`/`None`;
    /// one as the whole argument (or as a one-element tuple); several as a tuple (or a list,
    /// or a struct of as many fields), each element from its own payload. A single payload
    /// holding a JSON array also decodes as a tuple, as Endure wrote arguments before it
    /// sent one payload per argument.
    pub fn decode_arguments<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        arguments::decode_arguments(&self.0)
    }

    /// The one value of a result (Go's `Get` on a future): the first payload decoded, or
    /// no value when there is none.
    pub fn decode_first<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        match self.0.first() {
            Some(payload) => payload.decode(),
            None => Payload::null().decode(),
        }
    }

    /// The payloads in order.
    pub fn as_slice(&self) -> &[Payload] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Total encoded size.
    pub fn size_bytes(&self) -> usize {
        self.0.iter().map(Payload::size_bytes).sum()
    }

    /// Refuses any payload over [`PAYLOAD_BYTES_MAX`] and a total over [`MESSAGE_BYTES_MAX`].
    pub fn check_size(&self, field: &'static str) -> Result<(), ValidationError> {
        check_message(&self.0, self.size_bytes(), field)
    }
}

impl fmt::Debug for Payloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl From<Vec<Payload>> for Payloads {
    fn from(payloads: Vec<Payload>) -> Self {
        Self(payloads)
    }
}

/// Named payloads: the type behind headers (context propagation) and memos.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct PayloadMap(
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(
            strategy = "proptest::collection::btree_map(\"[a-z]{1,8}\", proptest::arbitrary::any::<Payload>(), 0..3)"
        )
    )]
    pub BTreeMap<String, Payload>,
);

impl PayloadMap {
    /// An empty map.
    pub fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This map with `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: Payload) -> Self {
        self.0.insert(key.into(), value);
        self
    }

    /// The payload under `key`.
    pub fn get(&self, key: &str) -> Option<&Payload> {
        self.0.get(key)
    }

    /// Total encoded size, keys included.
    pub fn size_bytes(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.size_bytes()).sum()
    }

    /// Refuses any payload over [`PAYLOAD_BYTES_MAX`] and a total over
    /// [`MESSAGE_BYTES_MAX`], as for [`Payloads::check_size`].
    pub fn check_size(&self, field: &'static str) -> Result<(), ValidationError> {
        check_message(self.0.values(), self.size_bytes(), field)
    }
}

/// Refuses any of `payloads` over [`PAYLOAD_BYTES_MAX`] and a `size` over
/// [`MESSAGE_BYTES_MAX`].
fn check_message<'a>(
    payloads: impl IntoIterator<Item = &'a Payload>,
    size: usize,
    field: &'static str,
) -> Result<(), ValidationError> {
    for payload in payloads {
        payload.check_size(field)?;
    }
    if size > MESSAGE_BYTES_MAX {
        return Err(ValidationError::PayloadTooLarge {
            field,
            size,
            limit: MESSAGE_BYTES_MAX,
        });
    }
    Ok(())
}

/// Headers carried with a call for context propagation (tracing ids, auth), not arguments.
pub type Header = PayloadMap;

/// A workflow's memo: non-indexed information shown by describe and list.
pub type Memo = PayloadMap;

#[cfg(test)]
mod converter_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_metadata() {
        let payload = Payload::json(&("user_123", 7)).unwrap();
        assert_eq!(payload.encoding(), Some("json/plain"));
        assert_eq!(payload.data, br#"["user_123",7]"#);
        assert_eq!(
            payload.decode::<(String, u32)>().unwrap(),
            ("user_123".to_owned(), 7)
        );
    }

    #[test]
    fn a_header_over_the_limits_is_refused_with_its_field() {
        let small = Header::new().with("trace", Payload::binary(vec![0; 64]));
        assert!(small.check_size("header").is_ok());
        let big = Header::new().with("trace", Payload::binary(vec![0; PAYLOAD_BYTES_MAX + 1]));
        assert!(matches!(
            big.check_size("header"),
            Err(ValidationError::PayloadTooLarge { field: "header", limit, .. }) if limit == PAYLOAD_BYTES_MAX
        ));
        // Each entry under the payload limit, the whole over the message limit.
        let entries = MESSAGE_BYTES_MAX / PAYLOAD_BYTES_MAX + 1;
        let many = (0..entries).fold(Header::new(), |header, n| {
            header.with(
                format!("k{n}"),
                Payload::binary(vec![0; PAYLOAD_BYTES_MAX - 100]),
            )
        });
        assert!(matches!(
            many.check_size("header"),
            Err(ValidationError::PayloadTooLarge { limit, .. }) if limit == MESSAGE_BYTES_MAX
        ));
    }

    #[test]
    fn none_and_unit_are_binary_null() {
        for payload in [
            Payload::json(&()).unwrap(),
            Payload::json(&None::<u8>).unwrap(),
        ] {
            assert_eq!(payload.encoding(), Some("binary/null"));
            assert!(payload.data.is_empty());
            assert_eq!(payload.decode::<Option<String>>().unwrap(), None);
            payload.decode::<()>().unwrap();
        }
    }

    #[test]
    fn binary_passes_through() {
        let payload = Payload::binary(vec![0, 159, 146, 150]);
        assert_eq!(payload.encoding(), Some("binary/plain"));
        assert_eq!(payload.as_binary(), Some(&[0, 159, 146, 150][..]));
        assert!(matches!(
            payload.decode::<String>(),
            Err(PayloadError::Decode { encoding, .. }) if encoding == "binary/plain"
        ));
        assert_eq!(payload.decode::<Vec<u8>>().unwrap(), [0, 159, 146, 150]);
    }

    #[test]
    fn decode_errors_are_typed() {
        let payload = Payload::json(&"text").unwrap();
        assert!(matches!(
            payload.decode::<u32>(),
            Err(PayloadError::Decode { .. })
        ));
        let unknown = Payload::with_encoding("json/protobuf", vec![]);
        assert!(matches!(
            unknown.decode::<u32>(),
            Err(PayloadError::Encoding(_))
        ));
    }

    #[test]
    fn size_limits() {
        let metadata_len = "encoding".len() + "binary/plain".len();
        let at_limit = Payload::binary(vec![0; PAYLOAD_BYTES_MAX - metadata_len]);
        at_limit.check_size("input").unwrap();
        let over = Payload::binary(vec![0; PAYLOAD_BYTES_MAX - metadata_len + 1]);
        assert_eq!(
            over.check_size("input"),
            Err(ValidationError::PayloadTooLarge {
                field: "input",
                size: PAYLOAD_BYTES_MAX + 1,
                limit: PAYLOAD_BYTES_MAX
            })
        );
        let three = Payloads(vec![at_limit.clone(), at_limit.clone(), at_limit]);
        assert!(matches!(
            three.check_size("input"),
            Err(ValidationError::PayloadTooLarge {
                limit: MESSAGE_BYTES_MAX,
                ..
            })
        ));
    }
}
