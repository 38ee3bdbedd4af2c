//! The binary codec of everything Endure persists or sends: a body behind a two-byte header.
//!
//! ```text
//! [format version: u8][record kind: u8][body]
//! ```
//!
//! A record kind's body is one of two encodings ([`BodyEncoding`], docs/format.md):
//! - **positional** (postcard: fields by position, variants by index) for what is written
//!   most and changes least — history events, commands, options, failures, payloads; a
//!   change to their shape bumps [`FORMAT_VERSION`];
//! - **tagged** (MessagePack with numbered fields and variants, `tagged.rs`) for the run's
//!   state and the storage rows, which grow with every feature: a field appended with
//!   `#[serde(default)]` (or an `Option`) decodes from older bodies as its default, with no
//!   version bump, and older builds skip fields they do not know.
//!
//! Bodies of earlier versions decode into today's types through the schema snapshot of
//! their version (`codec/schemas/v<N>.json`, the serde shape traced from the types of the
//! time): the positional body is rewritten as a tagged one (`transcode.rs`), which the
//! current types read with their defaults. Golden files of every version (`core/tests/golden/`)
//! must decode forever.
//!
//! Decoding untrusted bytes never panics: a wrong version, a wrong kind, truncated or
//! malformed bodies and trailing bytes are all [`DecodeError`]s. Nesting is bounded
//! ([`crate::Failure`] chains are encoded flat; tagged bodies and transcoding stop at
//! [`NESTING_MAX`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::execution::ExecutionMachine;
use crate::failure::Failure;
use crate::history::{History, HistoryEvent};
use crate::options::{ActivityOptions, StartWorkflowOptions};
use crate::payload::Payloads;
use crate::storage::{CurrentRun, DispatchRow, ExecutionRow, RequestRecord, VisibilityRow};

mod schema;
#[cfg(feature = "testing")]
pub mod schema_trace;
mod tagged;
mod transcode;

/// The format version written by this build.
pub const FORMAT_VERSION: u8 = 5;

/// Every format version this build can decode.
pub const SUPPORTED_VERSIONS: &[u8] = &[1, 2, 3, 4, 5];

/// The deepest nesting a tagged body or a transcoded one may have.
pub const NESTING_MAX: usize = transcode::DEPTH_MAX;

/// How the current format version writes a record kind's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    /// postcard: compact, fields by position; a shape change bumps [`FORMAT_VERSION`].
    Positional,
    /// MessagePack with numbered fields and variants: a field appended with a default
    /// needs no bump.
    Tagged,
}

/// Length of the header before the postcard body.
pub const HEADER_BYTES: usize = 2;

/// What a record is, written after the version so a record decoded as the wrong type is a
/// clear error rather than garbage. Values are fixed forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum RecordKind {
    /// One [`HistoryEvent`].
    HistoryEvent = 1,
    /// A list of events: a whole [`History`], a page or a write batch.
    History = 2,
    /// One [`Command`].
    Command = 3,
    /// [`ActivityOptions`].
    ActivityOptions = 4,
    /// [`StartWorkflowOptions`].
    StartWorkflowOptions = 5,
    /// A [`Failure`] chain.
    Failure = 6,
    /// [`Payloads`].
    Payloads = 7,
    /// A stored [`ExecutionRow`].
    ExecutionRow = 8,
    /// A stored [`CurrentRun`].
    CurrentRun = 9,
    /// A stored [`DispatchRow`].
    DispatchRow = 10,
    /// A stored [`RequestRecord`].
    RequestRecord = 11,
    /// A stored [`VisibilityRow`].
    VisibilityRow = 12,
    /// An [`ExecutionMachine`]: a run's state, inside its execution row.
    ExecutionMachine = 13,
    /// A stored [`NamespaceRecord`](crate::namespace::NamespaceRecord).
    NamespaceRecord = 14,
}

impl RecordKind {
    /// The serde name of the kind's type: its root in a schema snapshot.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::HistoryEvent => "HistoryEvent",
            Self::History => "History",
            Self::Command => "Command",
            Self::ActivityOptions => "ActivityOptions",
            Self::StartWorkflowOptions => "StartWorkflowOptions",
            Self::Failure => "Failure",
            Self::Payloads => "Payloads",
            Self::ExecutionRow => "ExecutionRow",
            Self::CurrentRun => "CurrentRun",
            Self::DispatchRow => "DispatchRow",
            Self::RequestRecord => "RequestRecord",
            Self::VisibilityRow => "VisibilityRow",
            Self::ExecutionMachine => "ExecutionMachine",
            Self::NamespaceRecord => "NamespaceRecord",
        }
    }

    /// The kind with tag `tag`, if any.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => Self::HistoryEvent,
            2 => Self::History,
            3 => Self::Command,
            4 => Self::ActivityOptions,
            5 => Self::StartWorkflowOptions,
            6 => Self::Failure,
            7 => Self::Payloads,
            8 => Self::ExecutionRow,
            9 => Self::CurrentRun,
            10 => Self::DispatchRow,
            11 => Self::RequestRecord,
            12 => Self::VisibilityRow,
            13 => Self::ExecutionMachine,
            14 => Self::NamespaceRecord,
            _ => return None,
        })
    }
}

/// A type that is persisted or sent, with its fixed record kind.
pub trait Record: Serialize + DeserializeOwned {
    /// The tag written in the header.
    const KIND: RecordKind;

    /// How the current version writes the body.
    const BODY: BodyEncoding = BodyEncoding::Positional;

    /// A body written by format `version` (earlier than the current) as the current body
    /// of the same value. Versions 2 and 3 only appended fields at the end of some types,
    /// so a conversion appends their empty encoding.
    fn upgrade_body(version: u8, body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        let _ = version;
        std::borrow::Cow::Borrowed(body)
    }
}

impl Record for HistoryEvent {
    const KIND: RecordKind = RecordKind::HistoryEvent;
}
impl Record for History {
    const KIND: RecordKind = RecordKind::History;
}
impl Record for Command {
    const KIND: RecordKind = RecordKind::Command;
}
impl Record for ActivityOptions {
    const KIND: RecordKind = RecordKind::ActivityOptions;
}
impl Record for StartWorkflowOptions {
    const KIND: RecordKind = RecordKind::StartWorkflowOptions;
}
impl Record for Failure {
    const KIND: RecordKind = RecordKind::Failure;
}
impl Record for Payloads {
    const KIND: RecordKind = RecordKind::Payloads;
}
impl Record for ExecutionRow {
    const KIND: RecordKind = RecordKind::ExecutionRow;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}
impl Record for CurrentRun {
    const KIND: RecordKind = RecordKind::CurrentRun;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}
impl Record for DispatchRow {
    const KIND: RecordKind = RecordKind::DispatchRow;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}
impl Record for RequestRecord {
    const KIND: RecordKind = RecordKind::RequestRecord;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}
impl Record for VisibilityRow {
    const KIND: RecordKind = RecordKind::VisibilityRow;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}
impl Record for crate::namespace::NamespaceRecord {
    const KIND: RecordKind = RecordKind::NamespaceRecord;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}
impl Record for ExecutionMachine {
    const KIND: RecordKind = RecordKind::ExecutionMachine;
    const BODY: BodyEncoding = BodyEncoding::Tagged;

    /// Version 2 appended the accepted updates (a map), version 3 the updates a reset
    /// reapplied (a list) and the child workflows (a map); each is the single byte 0 when
    /// empty.
    fn upgrade_body(version: u8, body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        let appended = match version {
            1 => 3,
            2 => 2,
            _ => 0,
        };
        let mut upgraded = body.to_vec();
        upgraded.extend(std::iter::repeat_n(0, appended));
        std::borrow::Cow::Owned(upgraded)
    }
}

/// The size of `value`'s postcard body, without encoding it into a buffer.
pub fn encoded_size<T: Serialize + ?Sized>(value: &T) -> usize {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default()).unwrap_or(0)
}

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the header.
    #[error("record is {len} bytes; at least {HEADER_BYTES} are needed for its header")]
    Truncated {
        /// The length received.
        len: usize,
    },
    /// A format version this build does not know (written by a newer Endure, or corrupt).
    #[error(
        "record has format version {found}; this build decodes versions {SUPPORTED_VERSIONS:?} (was it written by a newer Endure?)"
    )]
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// The record is of another kind than the one asked for.
    #[error("record is of kind {found}; expected {expected:?}")]
    WrongKind {
        /// The kind asked for.
        expected: RecordKind,
        /// The tag found.
        found: u8,
    },
    /// The body does not decode.
    #[error("{kind:?} record does not decode: {reason}")]
    Malformed {
        /// The kind being decoded.
        kind: RecordKind,
        /// What postcard reported.
        reason: String,
    },
    /// A body of an earlier version could not be brought to the current one.
    #[error("{kind:?} record of format version {version} does not decode: {reason}")]
    Old {
        /// The kind being decoded.
        kind: RecordKind,
        /// The version that wrote it.
        version: u8,
        /// What was wrong.
        reason: String,
    },
    /// The body decoded but bytes were left over.
    #[error("{kind:?} record has {count} bytes after its end")]
    TrailingBytes {
        /// The kind decoded.
        kind: RecordKind,
        /// How many bytes were left.
        count: usize,
    },
}

/// Why a value could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} record cannot be encoded: {reason}")]
pub struct EncodeError {
    /// The kind being encoded.
    pub kind: RecordKind,
    /// Why (for example a failure chain over its depth limit).
    pub reason: String,
}

/// Encodes `value` with the current format version.
pub fn encode<T: Record>(value: &T) -> Result<Vec<u8>, EncodeError> {
    encode_view::<T, T>(value)
}

/// Bytes an encoding starts with room for: most records (a run's row, a history batch,
/// a task) fit, so the buffer is not regrown from two bytes by doubling (measured with
/// callgrind: about 20,000 instructions per hello workflow went to regrowing).
const ENCODE_CAPACITY_INITIAL: usize = 512;

/// Encodes `value` as a record of kind `R`: `V` declares `R`'s fields at their positions
/// (borrowing them, say) and may append fields after `R`'s last, which [`decode`] of `R`
/// skips and a [`decode_view`] reads. Only for tagged kinds, unless `V` is `R`.
pub fn encode_view<R: Record, V: Serialize>(value: &V) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = Vec::with_capacity(ENCODE_CAPACITY_INITIAL);
    bytes.extend_from_slice(&[FORMAT_VERSION, R::KIND as u8]);
    let failed = |reason: String| EncodeError {
        kind: R::KIND,
        reason,
    };
    match R::BODY {
        BodyEncoding::Positional => {
            postcard::to_extend(value, bytes).map_err(|error| failed(error.to_string()))
        }
        BodyEncoding::Tagged => {
            tagged::to_extend(value, bytes).map_err(|error| failed(error.to_string()))
        }
    }
}

/// Decodes a record of type `T` written by any supported format version.
pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_view::<T, T>(bytes)
}

/// Decodes a record of kind `R` (written by any supported format version) as `V`: a view of
/// some of `R`'s fields, declared at their positions, the others read as
/// [`serde::de::IgnoredAny`] — skipped, not copied. A tagged body's fields are numbered by
/// position, so `V` reads the same numbers `R` does; fields after `V`'s last are skipped.
pub fn decode_view<R: Record, V: DeserializeOwned>(bytes: &[u8]) -> Result<V, DecodeError> {
    let [version, kind, body @ ..] = bytes else {
        return Err(DecodeError::Truncated { len: bytes.len() });
    };
    if *kind != R::KIND as u8 {
        // Check the version first so an unknown version is reported as such.
        if !SUPPORTED_VERSIONS.contains(version) {
            return Err(DecodeError::UnknownVersion { found: *version });
        }
        return Err(DecodeError::WrongKind {
            expected: R::KIND,
            found: *kind,
        });
    }
    match *version {
        FORMAT_VERSION => match R::BODY {
            BodyEncoding::Positional => decode_positional::<R, V>(body),
            BodyEncoding::Tagged => decode_tagged::<R, V>(body),
        },
        version @ 1..=3 => {
            let body = R::upgrade_body(version, body);
            let old = |reason: String| DecodeError::Old {
                kind: R::KIND,
                version,
                reason,
            };
            let registry = schema::v3().map_err(old)?;
            let tagged =
                transcode::transcode(registry, &schema::root(R::KIND), &body).map_err(old)?;
            decode_tagged::<R, V>(&tagged)
        }
        // Version 4: tagged bodies read as today's; positional ones through the version-4
        // snapshot (version 5 appended the deployment version and versioning behavior to
        // WorkflowTaskCompleted).
        4 => match R::BODY {
            BodyEncoding::Tagged => decode_tagged::<R, V>(body),
            BodyEncoding::Positional => {
                let old = |reason: String| DecodeError::Old {
                    kind: R::KIND,
                    version: 4,
                    reason,
                };
                let registry = schema::v4().map_err(old)?;
                let tagged =
                    transcode::transcode(registry, &schema::root(R::KIND), body).map_err(old)?;
                decode_tagged::<R, V>(&tagged)
            }
        },
        found => Err(DecodeError::UnknownVersion { found }),
    }
}

/// Decodes a tagged record of kind `R` as `V` in place: `V` may borrow byte strings from
/// `bytes` instead of copying them. Only a body that reads as it is (the current version's,
/// or version 4's) can be; for an older one, `None` — decode it with [`decode_view`].
pub fn decode_view_in_place<'a, R: Record, V: Deserialize<'a>>(
    bytes: &'a [u8],
) -> Option<Result<V, DecodeError>> {
    match bytes {
        [FORMAT_VERSION | 4, kind, body @ ..]
            if *kind == R::KIND as u8 && R::BODY == BodyEncoding::Tagged =>
        {
            Some(decode_tagged::<R, V>(body))
        }
        _ => None,
    }
}

/// A positional body of the current version: postcard.
fn decode_positional<R: Record, V: DeserializeOwned>(body: &[u8]) -> Result<V, DecodeError> {
    let (value, rest) =
        postcard::take_from_bytes::<V>(body).map_err(|error| DecodeError::Malformed {
            kind: R::KIND,
            reason: error.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes {
            kind: R::KIND,
            count: rest.len(),
        });
    }
    Ok(value)
}

/// A tagged body: MessagePack read by rmp-serde straight from the slice, nesting bounded.
fn decode_tagged<'a, R: Record, V: Deserialize<'a>>(body: &'a [u8]) -> Result<V, DecodeError> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(body);
    deserializer.set_max_depth(NESTING_MAX);
    let value = V::deserialize(&mut deserializer).map_err(|error| DecodeError::Malformed {
        kind: R::KIND,
        reason: error.to_string(),
    })?;
    // The value must end the body: reading past it must find no byte at all.
    match serde::de::IgnoredAny::deserialize(&mut deserializer) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(error))
            if error.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        _ => Err(DecodeError::Malformed {
            kind: R::KIND,
            reason: "bytes follow the end of the value".into(),
        }),
    }
}

#[cfg(test)]
mod tests;
