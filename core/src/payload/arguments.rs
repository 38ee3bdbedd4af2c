//! A function's arguments as payloads, one per argument (Go's variadic `args ...any`).
//!
//! Rust functions take one argument value, so the arguments of a workflow, activity, signal,
//! query or update are that value's top level: a tuple `(a, b)` is two arguments, `()` none,
//! anything else one. Each argument is encoded on its own by the default converter chain, so
//! a Go or Python caller passing two arguments and an Endure function taking a pair read
//! the same payloads.

use serde::de::value::{Error as ValueError, UnitDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::ser::{self, Impossible, Serialize};

use super::binary::BytesDeserializer;
use super::{Payload, PayloadError, Payloads, encoding};

/// Splits `value` into arguments and encodes each.
pub(super) fn encode_arguments<T: Serialize + ?Sized>(value: &T) -> Result<Payloads, PayloadError> {
    match value.serialize(Splitter) {
        Ok(payloads) => Ok(Payloads(payloads)),
        Err(Split::Payload(error)) => Err(error),
        Err(Split::Single) => Ok(Payloads::one(Payload::encode(value)?)),
    }
}

/// Why the splitter stopped: the value is one argument, or an element did not encode.
#[derive(Debug)]
enum Split {
    Single,
    Payload(PayloadError),
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Single => f.write_str("one argument"),
            Self::Payload(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Split {}

impl ser::Error for Split {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        Self::Payload(PayloadError::Encode(message.to_string()))
    }
}

/// Every shape but unit and tuple is one argument.
macro_rules! single {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
                Err(Split::Single)
            }
        )*
    };
}

struct Splitter;

impl ser::Serializer for Splitter {
    type Ok = Vec<Payload>;
    type Error = Split;
    type SerializeSeq = Impossible<Vec<Payload>, Split>;
    type SerializeTuple = Elements;
    type SerializeTupleStruct = Impossible<Vec<Payload>, Split>;
    type SerializeTupleVariant = Impossible<Vec<Payload>, Split>;
    type SerializeMap = Impossible<Vec<Payload>, Split>;
    type SerializeStruct = Impossible<Vec<Payload>, Split>;
    type SerializeStructVariant = Impossible<Vec<Payload>, Split>;

    fn serialize_unit(self) -> Result<Vec<Payload>, Split> {
        Ok(Vec::new())
    }

    fn serialize_tuple(self, len: usize) -> Result<Elements, Split> {
        Ok(Elements(Vec::with_capacity(len)))
    }

    single!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Vec<Payload>, Split> {
        Err(Split::Single)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<Vec<Payload>, Split> {
        Err(Split::Single)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Vec<Payload>, Split> {
        Err(Split::Single)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Split> {
        Err(Split::Single)
    }

    super::no_compound_shapes!(Split::Single);
}

/// A tuple's elements, each one argument.
struct Elements(Vec<Payload>);

impl ser::SerializeTuple for Elements {
    type Ok = Vec<Payload>;
    type Error = Split;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Split> {
        self.0.push(Payload::encode(value).map_err(Split::Payload)?);
        Ok(())
    }

    fn end(self) -> Result<Vec<Payload>, Split> {
        Ok(self.0)
    }
}

/// Decodes arguments: see [`Payloads::decode_arguments`].
pub(super) fn decode_arguments<T: DeserializeOwned>(
    payloads: &[Payload],
) -> Result<T, PayloadError> {
    match payloads {
        [] => Payload::null().decode(),
        // The whole argument, or a one-element tuple (its element is the one payload).
        [single] => single
            .decode()
            .or_else(|whole| T::deserialize(Arguments(payloads)).map_err(|_| whole)),
        several => T::deserialize(Arguments(several)).map_err(|error| PayloadError::Decode {
            encoding: format!("{} arguments", several.len()),
            reason: error.to_string(),
        }),
    }
}

/// Several payloads seen as one sequence, each element read from its own payload.
struct Arguments<'a>(&'a [Payload]);

impl<'de> Deserializer<'de> for Arguments<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_seq(ArgumentSeq(self.0.iter()))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// The remaining arguments.
struct ArgumentSeq<'a>(std::slice::Iter<'a, Payload>);

impl<'de> SeqAccess<'de> for ArgumentSeq<'de> {
    type Error = ValueError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ValueError> {
        self.0
            .next()
            .map(|payload| decode_seed(payload, seed))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Reads one payload through `seed`, by its encoding.
fn decode_seed<'de, S: DeserializeSeed<'de>>(
    payload: &'de Payload,
    seed: S,
) -> Result<S::Value, ValueError> {
    match payload.encoding().unwrap_or_default() {
        encoding::JSON_PLAIN => {
            let mut json = serde_json::Deserializer::from_slice(&payload.data);
            let value = seed.deserialize(&mut json).map_err(de::Error::custom)?;
            json.end().map_err(de::Error::custom)?;
            Ok(value)
        }
        encoding::BINARY_NULL => seed.deserialize(UnitDeserializer::new()),
        encoding::BINARY_PLAIN => seed.deserialize(BytesDeserializer(&payload.data)),
        other => Err(de::Error::custom(format!(
            "an argument has encoding {other:?}, which the default converter cannot decode"
        ))),
    }
}
