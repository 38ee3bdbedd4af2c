//! Schema snapshots: the serde shape of the persisted types as an earlier format version
//! wrote them, kept as data (`schemas/v<N>.json`, serde-reflection's JSON form) so a body of
//! that version decodes after the Rust types have moved on (docs/format.md).
//!
//! A snapshot is read once, on the first old record decoded, and never changes.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The shape of one value (serde-reflection's `Format`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Format {
    /// A named container, described in the registry.
    TypeName(String),
    /// `()`.
    Unit,
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `i128`.
    I128,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `u128`.
    U128,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// A string.
    Str,
    /// Bytes (`serialize_bytes`).
    Bytes,
    /// An option.
    Option(Box<Self>),
    /// A sequence with its length.
    Seq(Box<Self>),
    /// A map with its length.
    #[serde(rename_all = "UPPERCASE")]
    Map {
        /// The keys' shape.
        key: Box<Self>,
        /// The values' shape.
        value: Box<Self>,
    },
    /// A tuple: its elements, no length.
    Tuple(Vec<Self>),
    /// A fixed-size array: its elements, no length.
    #[serde(rename_all = "UPPERCASE")]
    TupleArray {
        /// The elements' shape.
        content: Box<Self>,
        /// How many.
        size: usize,
    },
}

/// The shape of a named container (serde-reflection's `ContainerFormat`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Container {
    /// `struct S;`
    UnitStruct,
    /// `struct S(T);`
    NewTypeStruct(Box<Format>),
    /// `struct S(T, U);`
    TupleStruct(Vec<Format>),
    /// `struct S { a: T }`: its fields in order.
    Struct(Vec<Named<Format>>),
    /// An enum: its variants by index.
    Enum(BTreeMap<u32, Named<Variant>>),
}

/// The shape of one enum variant.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Variant {
    /// `V`.
    Unit,
    /// `V(T)`.
    NewType(Box<Format>),
    /// `V(T, U)`.
    Tuple(Vec<Format>),
    /// `V { a: T }`.
    Struct(Vec<Named<Format>>),
}

/// A field or variant: its name and shape (a one-entry map in the JSON form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Named<T> {
    /// The name.
    pub(crate) name: String,
    /// The shape.
    pub(crate) value: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneEntry<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneEntry<T> {
            type Value = Named<T>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a map with one entry, name to shape")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let Some((name, value)) = map.next_entry::<String, T>()? else {
                    return Err(de::Error::custom("a named shape has no entry"));
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("a named shape has more than one entry"));
                }
                Ok(Named { name, value })
            }
        }
        deserializer.deserialize_map(OneEntry(std::marker::PhantomData))
    }
}

/// The shape of a record kind's whole body: its named container, or the sequence a
/// transparent list type is.
pub(crate) fn root(kind: super::RecordKind) -> Format {
    use super::RecordKind;
    match kind {
        RecordKind::History => Format::Seq(Box::new(Format::TypeName("HistoryEvent".into()))),
        RecordKind::Payloads => Format::Seq(Box::new(Format::TypeName("Payload".into()))),
        other => Format::TypeName(other.type_name().into()),
    }
}

/// Every container of a format version, by serde name.
pub(crate) type Registry = BTreeMap<String, Container>;

/// The snapshot of format version 3, the last in which every record was positional. Bodies
/// of versions 1 and 2 are first brought to version 3 ([`super::Record::upgrade_body`]).
pub(crate) fn v3() -> Result<&'static Registry, String> {
    static V3: OnceLock<Result<Registry, String>> = OnceLock::new();
    V3.get_or_init(|| {
        serde_json::from_str(include_str!("schemas/v3.json")).map_err(|error| {
            format!("the built-in schema of format version 3 is unreadable: {error}")
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The snapshot of format version 4: the containers reachable from the positional kinds
/// (its tagged bodies describe themselves).
pub(crate) fn v4() -> Result<&'static Registry, String> {
    static V4: OnceLock<Result<Registry, String>> = OnceLock::new();
    V4.get_or_init(|| {
        serde_json::from_str(include_str!("schemas/v4.json")).map_err(|error| {
            format!("the built-in schema of format version 4 is unreadable: {error}")
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}
