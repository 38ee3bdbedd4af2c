//! Identifiers and names: namespaces, workflow/run/activity ids, types, queues, event ids.
//!
//! Each is a newtype that can only hold a valid value: constructors validate, and so does
//! deserialisation, so a corrupt record cannot smuggle an empty id into the engine.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{ID_BYTES_MAX, NAMESPACE_BYTES_MAX};
use crate::validation::ValidationError;

/// Checks the rules every id and name shares: non-empty, at most `limit` bytes, printable,
/// and no invisible formatting characters (bidirectional controls, zero-width characters).
fn check_name(field: &'static str, value: &str, limit: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    // Printable ASCII holds no control or invisible character: most ids are, and every
    // decoded event re-checks its ids, so they skip the character walk.
    if value.len() <= limit && value.bytes().all(|byte| matches!(byte, b' '..=b'~')) {
        return Ok(());
    }
    crate::validation::check_text(field, value, limit)?;
    crate::validation::check_visible(field, value)
}

/// Reads a string as shared text: one allocation, from the borrowed text where the format
/// lends it.
fn deserialize_shared<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
    struct Shared;
    impl serde::de::Visitor<'_> for Shared {
        type Value = Arc<str>;
        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Arc<str>, E> {
            Ok(Arc::from(value))
        }
        fn visit_bytes<E: serde::de::Error>(self, value: &[u8]) -> Result<Arc<str>, E> {
            std::str::from_utf8(value)
                .map(Arc::from)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(value), &self))
        }
    }
    deserializer.deserialize_string(Shared)
}

/// Defines a validated string newtype. The text is shared (`Arc<str>`): ids are cloned into
/// every event, row and task that names them, so a clone is a count, not a copy.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        /// Read as its string, validated: a corrupt record cannot hold an invalid id.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = deserialize_shared(deserializer)?;
                check_name($field, &value, ID_BYTES_MAX).map_err(serde::de::Error::custom)?;
                Ok(Self(value))
            }
        }

        /// Written as its string, borrowed (serde's `into = "String"` would clone it).
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl $name {
            /// The field name used in validation errors.
            pub const FIELD: &'static str = $field;

            /// Validates `value`: non-empty, at most [`ID_BYTES_MAX`] bytes, no control characters.
            pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                check_name($field, &value, ID_BYTES_MAX)?;
                Ok(Self(Arc::from(value)))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                String::from(&*value.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        #[cfg(any(test, feature = "testing"))]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy;
                "[a-zA-Z0-9_.:/ -]{1,24}".prop_map(|text| Self(Arc::from(text))).boxed()
            }
        }
    };
}

string_id!(
    /// A workflow id: the business key of a workflow, unique among its open runs (spec §2.4).
    WorkflowId,
    "workflow_id"
);
string_id!(
    /// An activity id, unique among the open activities of one run.
    ActivityId,
    "activity_id"
);
string_id!(
    /// The name of a task queue that workers poll.
    TaskQueueName,
    "task_queue"
);
string_id!(
    /// A workflow type name: the registered name of a workflow function (spec §5.4.4).
    WorkflowType,
    "workflow_type"
);
string_id!(
    /// An activity type name: the registered name of an activity function (spec §5.6.3).
    ActivityType,
    "activity_type"
);
string_id!(
    /// A timer id, unique among the open timers of one run.
    TimerId,
    "timer_id"
);
string_id!(
    /// The name of a signal (spec §5.19.2).
    SignalName,
    "signal_name"
);
string_id!(
    /// The name of a query (spec §5.19.1).
    QueryName,
    "query_name"
);
string_id!(
    /// The name of an update handler (spec §5.19.3).
    UpdateName,
    "update_name"
);
string_id!(
    /// An update id; updates with the same id on one run are deduplicated.
    UpdateId,
    "update_id"
);
string_id!(
    /// A request id: makes a start, signal, cancel or update idempotent when retried.
    RequestId,
    "request_id"
);
string_id!(
    /// The name of a marker (side effects, versions, local activities).
    MarkerName,
    "marker_name"
);

/// A namespace: the unit of isolation of workflows (spec §5.18).
///
/// One to [`NAMESPACE_BYTES_MAX`] bytes; starts with a letter or digit and continues with
/// letters, digits, `.`, `-` or `_`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(Arc<str>);

/// Read as its string, validated like [`Namespace::new`].
impl<'de> Deserialize<'de> for Namespace {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserialize_shared(deserializer)?;
        Self::check(&value).map_err(serde::de::Error::custom)?;
        Ok(Self(value))
    }
}

/// Written as its string, borrowed (serde's `into = "String"` would clone it).
impl Serialize for Namespace {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl Namespace {
    /// The namespace used when none is named.
    pub const DEFAULT: &'static str = "default";

    /// Validates a namespace name.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        Self::check(&value)?;
        Ok(Self(Arc::from(value)))
    }

    /// The rules of a namespace name: [`check_name`]'s, then its characters.
    fn check(value: &str) -> Result<(), ValidationError> {
        check_name("namespace", value, NAMESPACE_BYTES_MAX)?;
        let allowed = |(position, character): &(usize, char)| {
            character.is_ascii_alphanumeric()
                || (*position > 0 && matches!(character, '.' | '-' | '_'))
        };
        match value.char_indices().find(|c| !allowed(c)) {
            Some((position, character)) => Err(ValidationError::NamespaceCharacter {
                name: value.to_owned(),
                position,
                character,
            }),
            None => Ok(()),
        }
    }

    /// The `default` namespace, one shared text for the whole process.
    pub fn default_namespace() -> Self {
        static DEFAULT: OnceLock<Arc<str>> = OnceLock::new();
        Self(DEFAULT.get_or_init(|| Arc::from(Self::DEFAULT)).clone())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self::default_namespace()
    }
}

impl TryFrom<String> for Namespace {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl FromStr for Namespace {
    type Err = ValidationError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl From<Namespace> for String {
    fn from(value: Namespace) -> Self {
        Self::from(&*value.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(any(test, feature = "testing"))]
impl proptest::arbitrary::Arbitrary for Namespace {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        "[a-z0-9][a-z0-9._-]{0,15}"
            .prop_map(|text| Self(Arc::from(text)))
            .boxed()
    }
}

/// A run id: names one run of a workflow id. A 128-bit value shown as a UUID.
///
/// Run ids are inputs to the core (the runtime draws them from its seeded source), never
/// generated inside it. Compact binary formats store the 16 bytes; human-readable formats
/// (JSON) store the UUID text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct RunId(u128);

impl RunId {
    /// The run id with this 128-bit value.
    pub const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The 128-bit value.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for RunId {
    type Err = ValidationError;

    /// Parses the 8-4-4-4-12 hex form; upper and lower case are both accepted.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let not_uuid = || ValidationError::NotUuid {
            field: "run_id",
            value: text.chars().take(64).collect(),
        };
        let groups: Vec<&str> = text.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
        if lengths != [8, 4, 4, 4, 12] {
            return Err(not_uuid());
        }
        let hex: String = groups.concat();
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_uuid());
        }
        u128::from_str_radix(&hex, 16)
            .map(Self)
            .map_err(|_| not_uuid())
    }
}

impl Serialize for RunId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_u128(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            u128::deserialize(deserializer).map(Self)
        }
    }
}

/// The id of an event in one run's history: dense, starting at 1, equal to its position.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(NonZeroU64);

impl EventId {
    /// The id of the first event of every history (WorkflowExecutionStarted).
    pub const FIRST: Self = Self(NonZeroU64::MIN);

    /// The event id `value`, or `None` for zero.
    pub const fn new(value: u64) -> Option<Self> {
        match NonZeroU64::new(value) {
            Some(value) => Some(Self(value)),
            None => None,
        }
    }

    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0.get()
    }

    /// The id of the event after this one.
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(any(test, feature = "testing"))]
impl proptest::arbitrary::Arbitrary for EventId {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        (1..=u64::MAX)
            .prop_map(|id| Self(NonZeroU64::MIN.saturating_add(id - 1)))
            .boxed()
    }
}

/// One workflow execution: a workflow id and, when a particular run is meant, its run id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecution {
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or `None` for the current (latest) run of the workflow id.
    pub run_id: Option<RunId>,
}

/// Names one run: its namespace, workflow id and run id — how clients, workers, the
/// engine and storage all refer to a run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExecutionKey {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run.
    pub run_id: RunId,
}

/// `workflow_id (run run_id) in namespace namespace`: how messages name a run.
impl std::fmt::Display for ExecutionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (run {}) in namespace {}",
            self.workflow_id, self.run_id, self.namespace
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_long_and_control_characters() {
        assert_eq!(
            WorkflowId::new(""),
            Err(ValidationError::Empty {
                field: "workflow_id"
            })
        );
        assert_eq!(
            ActivityId::new("a".repeat(ID_BYTES_MAX + 1)),
            Err(ValidationError::TooLong {
                field: "activity_id",
                len: ID_BYTES_MAX + 1,
                limit: ID_BYTES_MAX
            })
        );
        assert_eq!(
            TaskQueueName::new("queue\nname"),
            Err(ValidationError::ControlCharacter {
                field: "task_queue",
                position: 5,
                character: '\n'
            })
        );
        assert!(WorkflowId::new("a".repeat(ID_BYTES_MAX)).is_ok());
        assert!(WorkflowId::new("order_42 / ünïcode").is_ok());
        // The edges of printable ASCII: DEL and the C1 controls are refused.
        assert!(WorkflowId::new(" ~").is_ok());
        for character in ['\u{7f}', '\u{85}', '\t'] {
            assert_eq!(
                WorkflowId::new(format!("order{character}")),
                Err(ValidationError::ControlCharacter {
                    field: "workflow_id",
                    position: 5,
                    character
                })
            );
        }
    }

    #[test]
    fn decoded_ids_are_validated_and_share_their_text() {
        let id = WorkflowId::new("order-1").unwrap();
        let copy = id.clone();
        assert!(std::ptr::eq(id.as_str(), copy.as_str()));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"order-1\"");
        assert_eq!(serde_json::from_str::<WorkflowId>(&json).unwrap(), id);
        let error = serde_json::from_str::<WorkflowId>("\"\"").unwrap_err();
        assert!(
            error.to_string().contains("workflow_id is empty"),
            "{error}"
        );
        let error = serde_json::from_str::<Namespace>("\"-ns\"").unwrap_err();
        assert!(error.to_string().contains("namespace"), "{error}");
        assert_eq!(Namespace::default_namespace().as_str(), "default");
    }

    #[test]
    fn ids_and_names_refuse_bidi_controls_and_zero_width_characters() {
        for (text, character) in [
            ("order\u{202E}gpj.exe", '\u{202E}'),
            ("order\u{2066}1", '\u{2066}'),
            ("order\u{200B}1", '\u{200B}'),
            ("order\u{200D}1", '\u{200D}'),
            ("order\u{FEFF}1", '\u{FEFF}'),
        ] {
            assert_eq!(
                WorkflowId::new(text),
                Err(ValidationError::InvisibleCharacter {
                    field: "workflow_id",
                    position: 5,
                    character
                })
            );
        }
        let refused = SignalName::new("pay\u{200E}").unwrap_err();
        assert!(refused.to_string().contains("U+200E"), "{refused}");
        // Deserialising refuses it too: a corrupt or hostile record cannot carry one in.
        let json = serde_json::to_string("order\u{202E}1").unwrap();
        assert!(serde_json::from_str::<WorkflowId>(&json).is_err());
        // Scripts written right to left are ids like any other.
        assert!(WorkflowId::new("הזמנה-42").is_ok());
        assert!(WorkflowId::new("طلب-42").is_ok());
    }

    #[test]
    fn namespace_rules() {
        assert!(Namespace::new("default").is_ok());
        assert!(Namespace::new("team-a.prod_1").is_ok());
        assert_eq!(
            Namespace::new("-leading"),
            Err(ValidationError::NamespaceCharacter {
                name: "-leading".into(),
                position: 0,
                character: '-'
            })
        );
        assert!(matches!(
            Namespace::new("has space"),
            Err(ValidationError::NamespaceCharacter { position: 3, .. })
        ));
        assert!(matches!(
            Namespace::new("n".repeat(NAMESPACE_BYTES_MAX + 1)),
            Err(ValidationError::TooLong { .. })
        ));
    }

    #[test]
    fn run_id_text_form() {
        let run_id = RunId::from_u128(0x0191c2a4_7b1e_7c3d_9e0f_123456789abc);
        assert_eq!(run_id.to_string(), "0191c2a4-7b1e-7c3d-9e0f-123456789abc");
        assert_eq!("0191C2A4-7B1E-7C3D-9E0F-123456789ABC".parse(), Ok(run_id));
        for bad in [
            "",
            "0191c2a47b1e7c3d9e0f123456789abc",
            "0191c2a4-7b1e-7c3d-9e0f-123456789abg",
            "+191c2a4-7b1e-7c3d-9e0f-123456789abc",
        ] {
            assert!(bad.parse::<RunId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn run_id_json_is_text() {
        let run_id = RunId::from_u128(1);
        let json = serde_json::to_string(&run_id).unwrap();
        assert_eq!(json, "\"00000000-0000-0000-0000-000000000001\"");
        assert_eq!(serde_json::from_str::<RunId>(&json).unwrap(), run_id);
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<WorkflowId>("\"\"").is_err());
        assert!(serde_json::from_str::<EventId>("0").is_err());
        assert_eq!(
            serde_json::from_str::<EventId>("7").unwrap(),
            EventId::new(7).unwrap()
        );
    }
}
