//! Search attributes: typed, indexed values that list queries filter on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::{
    SEARCH_ATTRIBUTE_VALUE_BYTES_MAX, SEARCH_ATTRIBUTES_BYTES_MAX, SEARCH_ATTRIBUTES_KEYS_MAX,
};
use crate::time::Timestamp;
use crate::validation::ValidationError;

/// One search attribute value, typed as Temporal types them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub enum SearchAttributeValue {
    /// An exact-match string (ids, statuses, tags).
    Keyword(String),
    /// Free text.
    Text(String),
    /// A signed integer.
    Int(i64),
    /// A finite floating-point number.
    Double(
        #[serde(deserialize_with = "crate::validation::deserialize_finite_f64")]
        #[cfg_attr(any(test, feature = "testing"), proptest(strategy = "-1e9f64..1e9"))]
        f64,
    ),
    /// A boolean.
    Bool(bool),
    /// An instant.
    Datetime(Timestamp),
    /// A list of exact-match strings.
    KeywordList(Vec<String>),
    /// In an upsert: removes the key (Temporal's nil value). A run's own attributes never
    /// hold it; an empty [`KeywordList`](Self::KeywordList) in an upsert removes the key too.
    Unset,
}

impl SearchAttributeValue {
    /// The size the limits apply to.
    pub fn size_bytes(&self) -> usize {
        match self {
            Self::Keyword(text) | Self::Text(text) => text.len(),
            Self::Int(_) | Self::Double(_) | Self::Datetime(_) => 8,
            Self::Bool(_) => 1,
            Self::KeywordList(items) => items.iter().map(String::len).sum(),
            Self::Unset => 0,
        }
    }

    /// Whether upserting this value removes its key: [`Unset`](Self::Unset) or an empty
    /// keyword list, as Temporal's merge deletes a nil value and `[]`.
    pub fn removes_key(&self) -> bool {
        match self {
            Self::Unset => true,
            Self::KeywordList(items) => items.is_empty(),
            _ => false,
        }
    }
}

/// Names the visibility store owns; users cannot set them.
const RESERVED_KEYS: &[&str] = &[
    "WorkflowId",
    "RunId",
    "WorkflowType",
    "StartTime",
    "CloseTime",
    "ExecutionTime",
    "ExecutionStatus",
    "ExecutionDuration",
    "TaskQueue",
    "HistoryLength",
    "HistorySizeBytes",
    "NamespaceId",
];

/// The search attributes of one run.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct SearchAttributes(
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(
            strategy = "proptest::collection::btree_map(\"[A-Z][A-Za-z0-9_]{0,10}\", proptest::arbitrary::any::<SearchAttributeValue>(), 0..3)"
        )
    )]
    pub BTreeMap<String, SearchAttributeValue>,
);

impl SearchAttributes {
    /// No attributes.
    pub fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `key` to `value`, replacing any earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: SearchAttributeValue) {
        self.0.insert(key.into(), value);
    }

    /// Marks `key` for removal in an upsert ([`SearchAttributeValue::Unset`]).
    pub fn unset(&mut self, key: impl Into<String>) {
        self.0.insert(key.into(), SearchAttributeValue::Unset);
    }

    /// Applies an upsert: each key of `upsert` replaces this one's, and a key whose value
    /// [removes it](SearchAttributeValue::removes_key) is deleted — Temporal's merge.
    pub fn merge(&mut self, upsert: &Self) {
        for (key, value) in &upsert.0 {
            if value.removes_key() {
                self.0.remove(key);
            } else {
                self.0.insert(key.clone(), value.clone());
            }
        }
    }

    /// The attributes with every removing value dropped (what a run starts with).
    pub fn without_removals(mut self) -> Self {
        self.0.retain(|_, value| !value.removes_key());
        self
    }

    /// Refuses bad keys (pattern `[A-Za-z_][A-Za-z0-9_]*`, reserved names), non-finite
    /// doubles, values over 2 KiB, more than 100 keys or more than 40 KiB in all.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let refuse = |key: &str, reason: String| {
            Err(ValidationError::SearchAttribute {
                key: key.to_owned(),
                reason,
            })
        };
        if self.0.len() > SEARCH_ATTRIBUTES_KEYS_MAX {
            return refuse(
                "",
                format!(
                    "{} keys; the limit is {SEARCH_ATTRIBUTES_KEYS_MAX}",
                    self.0.len()
                ),
            );
        }
        let mut total = 0;
        for (key, value) in &self.0 {
            let mut characters = key.chars();
            let first_ok = characters
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !first_ok || !characters.all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return refuse(
                    key,
                    "keys start with a letter or '_' and continue with letters, digits or '_'"
                        .into(),
                );
            }
            if key.len() > 255 {
                return refuse(key, format!("key is {} bytes; the limit is 255", key.len()));
            }
            if RESERVED_KEYS.contains(&key.as_str()) {
                return refuse(key, "is a system attribute and cannot be set".into());
            }
            if let SearchAttributeValue::Double(number) = value
                && !number.is_finite()
            {
                return refuse(key, format!("{number} is not a finite number"));
            }
            let size = value.size_bytes();
            if size > SEARCH_ATTRIBUTE_VALUE_BYTES_MAX {
                return refuse(
                    key,
                    format!(
                        "value is {size} bytes; the limit is {SEARCH_ATTRIBUTE_VALUE_BYTES_MAX}"
                    ),
                );
            }
            total += key.len() + size;
        }
        if total > SEARCH_ATTRIBUTES_BYTES_MAX {
            return refuse(
                "",
                format!("{total} bytes in all; the limit is {SEARCH_ATTRIBUTES_BYTES_MAX}"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, value: SearchAttributeValue) -> SearchAttributes {
        let mut attributes = SearchAttributes::new();
        attributes.insert(key, value);
        attributes
    }

    #[test]
    fn validation_table() {
        use SearchAttributeValue::*;
        let ok = [
            one("CustomerId", Keyword("c-1".into())),
            one("_private", Int(-3)),
            one("Score", Double(0.5)),
            one("Tags", KeywordList(vec!["a".into(), "b".into()])),
        ];
        for attributes in ok {
            attributes.validate().unwrap();
        }
        let refused = [
            (one("1st", Bool(true)), "keys start with a letter"),
            (one("has-dash", Bool(true)), "keys start with a letter"),
            (
                one("WorkflowId", Keyword("x".into())),
                "is a system attribute",
            ),
            (one("Score", Double(f64::NAN)), "NaN is not a finite number"),
            (one("Big", Text("x".repeat(2049))), "value is 2049 bytes"),
        ];
        for (attributes, reason) in refused {
            let error = attributes.validate().unwrap_err();
            assert!(error.to_string().contains(reason), "{error}");
        }
        let many = SearchAttributes(
            (0..=SEARCH_ATTRIBUTES_KEYS_MAX)
                .map(|i| (format!("K{i}"), Bool(true)))
                .collect(),
        );
        assert!(
            many.validate()
                .unwrap_err()
                .to_string()
                .contains("101 keys")
        );
        let mut removing = one("Tags", KeywordList(Vec::new()));
        removing.unset("Gone");
        removing.validate().unwrap();
        let heavy = SearchAttributes(
            (0..30)
                .map(|i| (format!("K{i}"), Text("x".repeat(2000))))
                .collect(),
        );
        assert!(heavy.validate().unwrap_err().to_string().contains("in all"));
    }

    #[test]
    fn an_upsert_of_unset_or_an_empty_list_removes_the_key() {
        use SearchAttributeValue::*;
        let mut run = one("Tags", KeywordList(vec!["vip".into()]));
        run.insert("Tier", Keyword("gold".into()));
        run.insert("Score", Int(3));
        let mut upsert = one("Tags", KeywordList(Vec::new()));
        upsert.unset("Tier");
        upsert.unset("Never");
        upsert.insert("Score", Int(4));
        run.merge(&upsert);
        assert_eq!(run, one("Score", Int(4)));
        assert_eq!(
            upsert.without_removals(),
            one("Score", Int(4)),
            "a start keeps no removal"
        );
    }
}
