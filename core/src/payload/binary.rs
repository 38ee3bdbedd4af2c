//! Raw bytes through the converter chain: the [`Binary`] value type, and the deserializer
//! that reads a `binary/plain` payload into any byte-buffer type.

use std::fmt;

use serde::de::value::{Error as ValueError, SeqDeserializer};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Bytes that travel as one `binary/plain` payload (Go's `[]byte`), not as a JSON array of
/// numbers. `Vec<u8>`, `serde_bytes::ByteBuf` and `bytes::Bytes` travel the same way; this
/// type exists for code that wants the intent in its signature.
///
/// ```
/// use endure_core::Payload;
/// use endure_core::payload::Binary;
///
/// let payload = Payload::encode(&Binary(vec![0xde, 0xad]))?;
/// assert_eq!(payload.encoding(), Some("binary/plain"));
/// assert_eq!(payload.decode::<Binary>()?, Binary(vec![0xde, 0xad]));
/// # Ok::<(), endure_core::PayloadError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Binary(pub Vec<u8>);

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<Binary> for Vec<u8> {
    fn from(binary: Binary) -> Self {
        binary.0
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes, or a list of numbers from 0 to 255")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Binary, E> {
        Ok(Binary(bytes.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(bytes))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or_default().min(1 << 20));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Binary(bytes))
    }
}

/// Reads a `binary/plain` payload's bytes into any type that accepts bytes or a sequence
/// of `u8` (`Vec<u8>`, [`Binary`], `ByteBuf`, `Bytes`, a newtype or an `Option` of one).
pub(super) struct BytesDeserializer<'a>(pub(super) &'a [u8]);

impl<'de> Deserializer<'de> for BytesDeserializer<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_borrowed_bytes(self.0)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        SeqDeserializer::new(self.0.iter().copied()).deserialize_seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        // Go's converter decodes binary/plain into `[]byte` only; text would hide a mix-up.
        Err(de::Error::invalid_type(
            de::Unexpected::Bytes(self.0),
            &visitor,
        ))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct tuple_struct map struct enum identifier ignored_any
    }
}
