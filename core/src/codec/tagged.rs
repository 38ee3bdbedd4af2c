//! The tagged body encoding: MessagePack in which a struct is a map from field number to
//! value and an enum variant is its number — protobuf's idea on serde's data model, so a
//! field added at the end of a struct with a default decodes from older bodies, and an older
//! build skips the fields it does not know (docs/format.md).
//!
//! A field's number is its position among the struct's serialized fields, which is the
//! number serde's derived `Deserialize` gives it; a variant's is its declaration index. So
//! fields and variants are only ever appended, and a retired one stays in place. rmp-serde
//! reads these bodies: derived identifiers accept numbers as well as names.
//!
//! One exception: the structs of [`KEYED_BY_NAME`], whose `Deserialize` (written by hand in
//! serde) reads field names only, keep their names as keys.
//!
//! Everything else is as rmp-serde writes it: `None` as nil and `Some(x)` as `x`, newtypes
//! as their content, unit structs as empty arrays, byte strings as binaries, 128-bit
//! integers as 16 big-endian bytes.

use rmp::encode;
use serde::ser::{self, Serialize};

/// Structs written with their field names as keys: std's `Duration`, whose `Deserialize`
/// reads only names.
pub(crate) const KEYED_BY_NAME: &[&str] = &["Duration"];

/// Why a value could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TaggedError(String);

impl ser::Error for TaggedError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

type Result<T = ()> = std::result::Result<T, TaggedError>;

/// Appends the tagged encoding of `value` to `output`.
pub(crate) fn to_extend<T: Serialize + ?Sized>(value: &T, mut output: Vec<u8>) -> Result<Vec<u8>> {
    value.serialize(&mut Tagged {
        output: &mut output,
    })?;
    Ok(output)
}

struct Tagged<'a> {
    output: &'a mut Vec<u8>,
}

/// rmp's writers fail only when the `Vec` cannot grow; say so generically.
fn written<T, E: std::fmt::Debug>(result: std::result::Result<T, E>) -> Result {
    result
        .map(|_| ())
        .map_err(|error| TaggedError(format!("writing: {error:?}")))
}

fn length(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| TaggedError(format!("{len} elements is over 2^32")))
}

impl Tagged<'_> {
    /// Field numbers, variant numbers and small lengths are single bytes (a positive
    /// fixint, a fixmap, a fixarray): written directly, the common case of every body.
    fn uint(&mut self, value: u64) -> Result {
        if value < 0x80 {
            self.output.push(value as u8);
            return Ok(());
        }
        written(encode::write_uint(self.output, value))
    }

    fn sint(&mut self, value: i64) -> Result {
        written(encode::write_sint(self.output, value))
    }

    fn array(&mut self, len: usize) -> Result {
        if len < 16 {
            self.output.push(0x90 | len as u8);
            return Ok(());
        }
        written(encode::write_array_len(self.output, length(len)?))
    }

    fn map(&mut self, len: usize) -> Result {
        if len < 16 {
            self.output.push(0x80 | len as u8);
            return Ok(());
        }
        written(encode::write_map_len(self.output, length(len)?))
    }

    fn str(&mut self, value: &str) -> Result {
        if value.len() < 32 {
            self.output.push(0xa0 | value.len() as u8);
            self.output.extend_from_slice(value.as_bytes());
            return Ok(());
        }
        written(encode::write_str(self.output, value))
    }

    /// The one-entry map a variant with content starts with.
    fn variant(&mut self, index: u32) -> Result {
        self.map(1)?;
        self.uint(u64::from(index))
    }

    fn structure(&mut self, name: &'static str, len: usize) -> Result<Fields<'_, Self>> {
        self.map(len)?;
        Ok(Fields {
            tagged: self,
            by_name: KEYED_BY_NAME.contains(&name),
            next: 0,
            written: 0,
            len,
        })
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Tagged<'b> {
    type Ok = ();
    type Error = TaggedError;
    type SerializeSeq = Elements<'a, Tagged<'b>>;
    type SerializeTuple = Elements<'a, Tagged<'b>>;
    type SerializeTupleStruct = Elements<'a, Tagged<'b>>;
    type SerializeTupleVariant = Elements<'a, Tagged<'b>>;
    type SerializeMap = Elements<'a, Tagged<'b>>;
    type SerializeStruct = Fields<'a, Tagged<'b>>;
    type SerializeStructVariant = Fields<'a, Tagged<'b>>;

    fn serialize_bool(self, value: bool) -> Result {
        written(encode::write_bool(self.output, value))
    }
    fn serialize_i8(self, value: i8) -> Result {
        self.sint(i64::from(value))
    }
    fn serialize_i16(self, value: i16) -> Result {
        self.sint(i64::from(value))
    }
    fn serialize_i32(self, value: i32) -> Result {
        self.sint(i64::from(value))
    }
    fn serialize_i64(self, value: i64) -> Result {
        self.sint(value)
    }
    fn serialize_i128(self, value: i128) -> Result {
        self.serialize_bytes(&value.to_be_bytes())
    }
    fn serialize_u8(self, value: u8) -> Result {
        self.uint(u64::from(value))
    }
    fn serialize_u16(self, value: u16) -> Result {
        self.uint(u64::from(value))
    }
    fn serialize_u32(self, value: u32) -> Result {
        self.uint(u64::from(value))
    }
    fn serialize_u64(self, value: u64) -> Result {
        self.uint(value)
    }
    fn serialize_u128(self, value: u128) -> Result {
        self.serialize_bytes(&value.to_be_bytes())
    }
    fn serialize_f32(self, value: f32) -> Result {
        written(encode::write_f32(self.output, value))
    }
    fn serialize_f64(self, value: f64) -> Result {
        written(encode::write_f64(self.output, value))
    }
    fn serialize_char(self, value: char) -> Result {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, value: &str) -> Result {
        self.str(value)
    }
    fn serialize_bytes(self, value: &[u8]) -> Result {
        written(encode::write_bin(self.output, value))
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        written(encode::write_nil(self.output))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.array(0)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
    ) -> Result {
        self.uint(u64::from(index))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result {
        self.variant(index)?;
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
        let len = len.ok_or_else(|| TaggedError("a sequence of unknown length".into()))?;
        self.array(len)?;
        Ok(Elements { tagged: self })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.array(len)?;
        Ok(Elements { tagged: self })
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.array(len)?;
        Ok(Elements { tagged: self })
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        self.variant(index)?;
        self.array(len)?;
        Ok(Elements { tagged: self })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap> {
        let len = len.ok_or_else(|| TaggedError("a map of unknown length".into()))?;
        self.map(len)?;
        Ok(Elements { tagged: self })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct> {
        self.structure(name, len)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        self.variant(index)?;
        self.structure("", len)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The elements of a sequence, tuple or map, written as they come.
pub(crate) struct Elements<'a, S> {
    tagged: &'a mut S,
}

macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<'b> ser::$trait for Elements<'_, Tagged<'b>> {
            type Ok = ();
            type Error = TaggedError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                value.serialize(&mut *self.tagged)
            }
            fn end(self) -> Result {
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<'b> ser::SerializeMap for Elements<'_, Tagged<'b>> {
    type Ok = ();
    type Error = TaggedError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        key.serialize(&mut *self.tagged)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.tagged)
    }
    fn end(self) -> Result {
        Ok(())
    }
}

/// A struct's fields, each written under its number.
pub(crate) struct Fields<'a, S> {
    tagged: &'a mut S,
    /// Keys are field names ([`KEYED_BY_NAME`]).
    by_name: bool,
    /// The number the next field gets.
    next: u64,
    /// The fields written so far.
    written: usize,
    /// The fields announced.
    len: usize,
}

impl<'b> Fields<'_, Tagged<'b>> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        let number = self.next;
        self.next += 1;
        self.written += 1;
        if self.by_name {
            self.tagged.str(key)?;
        } else {
            self.tagged.uint(number)?;
        }
        value.serialize(&mut *self.tagged)
    }

    fn finish(self) -> Result {
        // serde's derive announces exactly the fields it writes; anything else would make
        // the map's length wrong.
        if self.written != self.len {
            return Err(TaggedError(format!(
                "a struct announced {} fields and wrote {}",
                self.len, self.written
            )));
        }
        Ok(())
    }
}

impl<'b> ser::SerializeStruct for Fields<'_, Tagged<'b>> {
    type Ok = ();
    type Error = TaggedError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.field(key, value)
    }
    /// A field left out (`skip_serializing_if`) keeps its number.
    fn skip_field(&mut self, _key: &'static str) -> Result {
        self.next += 1;
        Ok(())
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl<'b> ser::SerializeStructVariant for Fields<'_, Tagged<'b>> {
    type Ok = ();
    type Error = TaggedError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.field(key, value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result {
        ser::SerializeStruct::skip_field(self, key)
    }
    fn end(self) -> Result {
        self.finish()
    }
}
