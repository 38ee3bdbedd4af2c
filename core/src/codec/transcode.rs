//! Positional to tagged: rewrites a postcard body, read by a schema snapshot, as the tagged
//! MessagePack body the current types decode (fields and variants by number, see
//! [`super::tagged`]), so a body written by an earlier format version decodes into today's
//! types — fields added since then take their defaults.
//!
//! The output is what [`super::tagged`] writes for the same value: structs as maps from
//! field number to value, unit variants as their number, other variants as a one-entry map
//! from number to content, newtypes as their content, `None` as nil and `Some(x)` as `x`,
//! unit structs as empty arrays, 128-bit integers as 16 big-endian bytes.
//!
//! Malformed input is an error, never a panic: lengths are checked against the bytes left
//! before anything is read, and nesting is bounded by [`DEPTH_MAX`].

use rmp::encode;

use super::schema::{Container, Format, Named, Registry, Variant};
use super::tagged::KEYED_BY_NAME;

/// The deepest nesting of containers, options, sequences and maps transcoded.
pub(crate) const DEPTH_MAX: usize = 64;

/// Rewrites `body`, a postcard encoding of a value of shape `root` with the containers of
/// `registry`, as a named MessagePack body. Every byte of `body` must be used.
pub(crate) fn transcode(
    registry: &Registry,
    root: &Format,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let mut transcoder = Transcoder {
        registry,
        input: body,
        output: Vec::with_capacity(body.len() * 2),
    };
    transcoder.format(root, 0)?;
    if !transcoder.input.is_empty() {
        return Err(format!("{} bytes after the end", transcoder.input.len()));
    }
    Ok(transcoder.output)
}

struct Transcoder<'a> {
    registry: &'a Registry,
    /// The bytes not read yet.
    input: &'a [u8],
    output: Vec<u8>,
}

/// Writing to a `Vec` fails only if memory does; rmp's error type says so generically.
fn written<E: std::fmt::Debug>(result: Result<impl Sized, E>) -> Result<(), String> {
    result
        .map(|_| ())
        .map_err(|error| format!("writing: {error:?}"))
}

impl<'a> Transcoder<'a> {
    fn format(&mut self, format: &Format, depth: usize) -> Result<(), String> {
        if depth > DEPTH_MAX {
            return Err(format!("nested deeper than {DEPTH_MAX}"));
        }
        match format {
            Format::TypeName(name) => {
                let container = self
                    .registry
                    .get(name)
                    .ok_or_else(|| format!("the schema has no container {name}"))?;
                self.container(name, container, depth + 1)?;
            }
            Format::Unit => {
                encode::write_nil(&mut self.output).map_err(|error| format!("{error:?}"))?
            }
            Format::Bool => {
                let value = match self.byte()? {
                    0 => false,
                    1 => true,
                    other => return Err(format!("{other} is not a bool")),
                };
                encode::write_bool(&mut self.output, value)
                    .map_err(|error| format!("{error:?}"))?;
            }
            Format::U8 => {
                let value = self.byte()?;
                written(encode::write_uint(&mut self.output, u64::from(value)))?;
            }
            Format::I8 => {
                let value = self.byte()? as i8;
                written(encode::write_sint(&mut self.output, i64::from(value)))?;
            }
            Format::U16 | Format::U32 | Format::U64 => {
                let bits = match format {
                    Format::U16 => 16,
                    Format::U32 => 32,
                    _ => 64,
                };
                let value = self.varint(bits)?;
                let value = u64::try_from(value).map_err(|_| "integer overflow".to_owned())?;
                written(encode::write_uint(&mut self.output, value))?;
            }
            Format::I16 | Format::I32 | Format::I64 => {
                let bits = match format {
                    Format::I16 => 16,
                    Format::I32 => 32,
                    _ => 64,
                };
                let value = zigzag(self.varint(bits)?);
                let value = i64::try_from(value).map_err(|_| "integer overflow".to_owned())?;
                written(encode::write_sint(&mut self.output, value))?;
            }
            Format::U128 => {
                let value = self.varint(128)?;
                written(encode::write_bin(&mut self.output, &value.to_be_bytes()))?;
            }
            Format::I128 => {
                let value = zigzag(self.varint(128)?);
                written(encode::write_bin(&mut self.output, &value.to_be_bytes()))?;
            }
            Format::F32 => {
                let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| "f32")?;
                written(encode::write_f32(
                    &mut self.output,
                    f32::from_le_bytes(bytes),
                ))?;
            }
            Format::F64 => {
                let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| "f64")?;
                written(encode::write_f64(
                    &mut self.output,
                    f64::from_le_bytes(bytes),
                ))?;
            }
            Format::Char | Format::Str => {
                let text = self.length_prefixed()?;
                let text = std::str::from_utf8(text).map_err(|error| error.to_string())?;
                if matches!(format, Format::Char) && text.chars().count() != 1 {
                    return Err(format!("{text:?} is not one char"));
                }
                written(encode::write_str(&mut self.output, text))?;
            }
            Format::Bytes => {
                let bytes = self.length_prefixed()?;
                written(encode::write_bin(&mut self.output, bytes))?;
            }
            Format::Option(inner) => match self.byte()? {
                0 => encode::write_nil(&mut self.output).map_err(|error| format!("{error:?}"))?,
                1 => self.format(inner, depth + 1)?,
                other => return Err(format!("{other} is not an option tag")),
            },
            Format::Seq(element) => {
                let len = self.length()?;
                written(encode::write_array_len(&mut self.output, len))?;
                for _ in 0..len {
                    self.format(element, depth + 1)?;
                }
            }
            Format::Map { key, value } => {
                let len = self.length()?;
                written(encode::write_map_len(&mut self.output, len))?;
                for _ in 0..len {
                    self.format(key, depth + 1)?;
                    self.format(value, depth + 1)?;
                }
            }
            Format::Tuple(elements) => self.tuple(elements.iter(), elements.len(), depth)?,
            Format::TupleArray { content, size } => {
                self.tuple(std::iter::repeat_n(&**content, *size), *size, depth)?;
            }
        }
        Ok(())
    }

    fn container(&mut self, name: &str, container: &Container, depth: usize) -> Result<(), String> {
        match container {
            Container::UnitStruct => written(encode::write_array_len(&mut self.output, 0))?,
            Container::NewTypeStruct(inner) => self.format(inner, depth)?,
            Container::TupleStruct(elements) => {
                self.tuple(elements.iter(), elements.len(), depth)?
            }
            Container::Struct(fields) => {
                self.fields(fields, KEYED_BY_NAME.contains(&name), depth)?;
            }
            Container::Enum(variants) => {
                let index = self.varint(32)?;
                let (index, variant) = u32::try_from(index)
                    .ok()
                    .and_then(|index| Some((index, variants.get(&index)?)))
                    .ok_or_else(|| format!("{name} has no variant {index}"))?;
                if let Variant::Unit = variant.value {
                    written(encode::write_uint(&mut self.output, u64::from(index)))?;
                    return Ok(());
                }
                written(encode::write_map_len(&mut self.output, 1))?;
                written(encode::write_uint(&mut self.output, u64::from(index)))?;
                match &variant.value {
                    Variant::Unit => {}
                    Variant::NewType(inner) => self.format(inner, depth)?,
                    Variant::Tuple(elements) => {
                        self.tuple(elements.iter(), elements.len(), depth)?
                    }
                    Variant::Struct(fields) => self.fields(fields, false, depth)?,
                }
            }
        }
        Ok(())
    }

    fn fields(
        &mut self,
        fields: &[Named<Format>],
        by_name: bool,
        depth: usize,
    ) -> Result<(), String> {
        let len = u32::try_from(fields.len()).map_err(|_| "too many fields")?;
        written(encode::write_map_len(&mut self.output, len))?;
        for (number, field) in (0u64..).zip(fields) {
            if by_name {
                written(encode::write_str(&mut self.output, &field.name))?;
            } else {
                written(encode::write_uint(&mut self.output, number))?;
            }
            self.format(&field.value, depth + 1)?;
        }
        Ok(())
    }

    fn tuple<'f>(
        &mut self,
        elements: impl Iterator<Item = &'f Format>,
        len: usize,
        depth: usize,
    ) -> Result<(), String> {
        let len = u32::try_from(len).map_err(|_| "tuple too long")?;
        written(encode::write_array_len(&mut self.output, len))?;
        for element in elements {
            self.format(element, depth + 1)?;
        }
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, String> {
        let (&first, rest) = self
            .input
            .split_first()
            .ok_or_else(|| "truncated".to_owned())?;
        self.input = rest;
        Ok(first)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if len > self.input.len() {
            return Err(format!("{len} bytes announced, {} left", self.input.len()));
        }
        let input: &'a [u8] = self.input;
        let (taken, rest) = input.split_at(len);
        self.input = rest;
        Ok(taken)
    }

    /// A length-prefixed string or byte string.
    fn length_prefixed(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint(64)?;
        let len = usize::try_from(len).map_err(|_| "length overflow")?;
        self.take(len)
    }

    /// A sequence's or map's element count. Every element of a persisted collection takes
    /// at least one byte, so a count above the bytes left is malformed (and cannot make the
    /// transcoder loop).
    fn length(&mut self) -> Result<u32, String> {
        let len = self.varint(32)?;
        if len > self.input.len() as u128 {
            return Err(format!(
                "{len} elements announced, {} bytes left",
                self.input.len()
            ));
        }
        u32::try_from(len).map_err(|_| "length overflow".to_owned())
    }

    /// postcard's varint (LEB128) of an integer of `bits` bits.
    fn varint(&mut self, bits: u32) -> Result<u128, String> {
        let max_bytes = bits.div_ceil(7);
        let mut value: u128 = 0;
        for index in 0..max_bytes {
            let byte = self.byte()?;
            value |= u128::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                if bits < 128 && value >> bits != 0 {
                    return Err(format!("varint over {bits} bits"));
                }
                return Ok(value);
            }
        }
        Err(format!("varint longer than {max_bytes} bytes"))
    }
}

/// postcard's zigzag encoding of signed integers, undone.
fn zigzag(value: u128) -> i128 {
    ((value >> 1) as i128) ^ -((value & 1) as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips() {
        for value in [0i128, 1, -1, 2, -2, i64::MAX as i128, i64::MIN as i128] {
            let encoded = ((value << 1) ^ (value >> 127)) as u128;
            assert_eq!(zigzag(encoded), value);
        }
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let registry: Registry = serde_json::from_str(
            r#"{"S": {"STRUCT": [{"items": {"SEQ": "U64"}}, {"flag": "BOOL"}]}}"#,
        )
        .unwrap();
        // Well formed: two items, then a bool.
        let root = Format::TypeName("S".into());
        assert!(transcode(&registry, &root, &[2, 1, 2, 1]).is_ok());
        for bad in [
            &[][..],    // empty
            &[200, 1],  // more elements than bytes
            &[1, 1, 2], // a bool of 2
            &[0, 1, 9], // a trailing byte
            &[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1,
            ], // varint
        ] {
            assert!(transcode(&registry, &root, bad).is_err(), "{bad:?}");
        }
        assert!(transcode(&registry, &Format::TypeName("T".into()), &[0]).is_err());
    }
}
