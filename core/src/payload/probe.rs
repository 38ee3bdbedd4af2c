//! What a value is at its top level, as the default converter chain asks it: no value, raw
//! bytes, several arguments, or anything else (JSON).
//!
//! Go's converter chain dispatches on the value's dynamic type (`nil`, `[]byte`, the rest).
//! Rust has no such type test, so the probe asks the value's `Serialize` impl how it
//! serialises its outermost layer and stops there: `None`/`()` serialise as unit or none,
//! byte buffers (`serde_bytes`, `bytes::Bytes`, [`Binary`](super::Binary)) through
//! `serialize_bytes`, and a `Vec<u8>` as a sequence of `u8`s. Anything else answers
//! [`Probe::Other`] after at most one call, and is then written as JSON.

use serde::ser::{self, Impossible, Serialize};

/// The top-level shape of a value.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Probe {
    /// No value: `()`, `None`, a unit struct.
    Null,
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// Something JSON encodes.
    Other,
}

/// Probes `value`'s outermost layer.
pub(super) fn probe<T: Serialize + ?Sized>(value: &T) -> Probe {
    value.serialize(Prober).unwrap_or(Probe::Other)
}

/// The probe's way of saying "not one of the special shapes" (never shown to a user: the
/// value is then encoded as JSON, which reports its own errors).
#[derive(Debug)]
pub(super) struct NotSpecial;

impl std::fmt::Display for NotSpecial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a special shape")
    }
}

impl std::error::Error for NotSpecial {}

impl ser::Error for NotSpecial {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Self
    }
}

/// Answers `Other` for every shape but the special ones.
macro_rules! other {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
                Ok(Probe::Other)
            }
        )*
    };
}

struct Prober;

impl ser::Serializer for Prober {
    type Ok = Probe;
    type Error = NotSpecial;
    type SerializeSeq = ByteSeq;
    type SerializeTuple = Impossible<Probe, NotSpecial>;
    type SerializeTupleStruct = Impossible<Probe, NotSpecial>;
    type SerializeTupleVariant = Impossible<Probe, NotSpecial>;
    type SerializeMap = Impossible<Probe, NotSpecial>;
    type SerializeStruct = Impossible<Probe, NotSpecial>;
    type SerializeStructVariant = Impossible<Probe, NotSpecial>;

    other!(
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
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_bytes(self, bytes: &[u8]) -> Result<Probe, NotSpecial> {
        Ok(Probe::Bytes(bytes.to_vec()))
    }

    fn serialize_none(self) -> Result<Probe, NotSpecial> {
        Ok(Probe::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Probe, NotSpecial> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Probe, NotSpecial> {
        Ok(Probe::Null)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<Probe, NotSpecial> {
        Ok(Probe::Null)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Probe, NotSpecial> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Probe, NotSpecial> {
        Ok(Probe::Other)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<ByteSeq, NotSpecial> {
        // An empty sequence is JSON's `[]`: its element type is unknowable, and `[]` decodes
        // into an empty `Vec<u8>` as well as into any other empty list.
        match len {
            Some(0) => Err(NotSpecial),
            _ => Ok(ByteSeq(Vec::with_capacity(len.unwrap_or_default()))),
        }
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotSpecial> {
        Err(NotSpecial)
    }

    super::no_compound_shapes!(NotSpecial);
}

/// A sequence that is bytes while every element is a `u8` (a `Vec<u8>`, a `&[u8]`).
struct ByteSeq(Vec<u8>);

impl ser::SerializeSeq for ByteSeq {
    type Ok = Probe;
    type Error = NotSpecial;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotSpecial> {
        self.0.push(value.serialize(ByteProbe)?);
        Ok(())
    }

    fn end(self) -> Result<Probe, NotSpecial> {
        Ok(Probe::Bytes(self.0))
    }
}

/// Accepts a `u8` and nothing else.
struct ByteProbe;

/// Refuses every shape but `u8`.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
                Err(NotSpecial)
            }
        )*
    };
}

impl ser::Serializer for ByteProbe {
    type Ok = u8;
    type Error = NotSpecial;
    type SerializeSeq = Impossible<u8, NotSpecial>;
    type SerializeTuple = Impossible<u8, NotSpecial>;
    type SerializeTupleStruct = Impossible<u8, NotSpecial>;
    type SerializeTupleVariant = Impossible<u8, NotSpecial>;
    type SerializeMap = Impossible<u8, NotSpecial>;
    type SerializeStruct = Impossible<u8, NotSpecial>;
    type SerializeStructVariant = Impossible<u8, NotSpecial>;

    fn serialize_u8(self, value: u8) -> Result<u8, NotSpecial> {
        Ok(value)
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
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
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u8, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotSpecial> {
        Err(NotSpecial)
    }

    super::no_compound_shapes!(NotSpecial);
}
