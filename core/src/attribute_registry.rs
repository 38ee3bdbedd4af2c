//! The search attributes a namespace knows, and their types — Temporal's custom search
//! attribute registry — and the checks against it.
//!
//! Temporal refuses a list filter that names an attribute the namespace has not
//! registered ("invalid search attribute"), rather than answering an empty list. Endure
//! does too. Registration happens two ways: explicitly (`endure operator search-attribute
//! create --name Tier --type Keyword`, `endure server start-dev --search-attribute
//! Tier=Keyword`, [`crate::protocol::AddSearchAttributesRequest`]), as in Temporal, and —
//! where Temporal would refuse the write — implicitly, the first time a run of the
//! namespace sets an attribute, with the type of that first value. So existing code that
//! sets attributes without registering them keeps working, and a filter with a typo in an
//! attribute's name says so.
//!
//! Pure: the engine keeps the registry in the namespace's record
//! ([`crate::namespace::NamespaceRecord::search_attributes`]) and asks these functions.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::list_filter::{Field, FilterError, FilterExpr, ListFilter};
use crate::search_attributes::{SearchAttributeValue, SearchAttributes};
use crate::versioning::search_attributes as versioning;

/// The type of a search attribute, as Temporal names it (`IndexedValueType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub enum SearchAttributeType {
    /// An exact-match string.
    Keyword,
    /// Free text.
    Text,
    /// A signed integer.
    Int,
    /// A floating-point number.
    Double,
    /// A boolean.
    Bool,
    /// An instant.
    Datetime,
    /// A list of exact-match strings.
    KeywordList,
}

impl SearchAttributeType {
    /// Every type, with its name.
    pub const ALL: [Self; 7] = [
        Self::Keyword,
        Self::Text,
        Self::Int,
        Self::Double,
        Self::Bool,
        Self::Datetime,
        Self::KeywordList,
    ];

    /// Temporal's name of the type (`Keyword`, `KeywordList`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Keyword => "Keyword",
            Self::Text => "Text",
            Self::Int => "Int",
            Self::Double => "Double",
            Self::Bool => "Bool",
            Self::Datetime => "Datetime",
            Self::KeywordList => "KeywordList",
        }
    }

    /// The type of `value`; `None` for [`SearchAttributeValue::Unset`], which has none.
    pub fn of(value: &SearchAttributeValue) -> Option<Self> {
        Some(match value {
            SearchAttributeValue::Keyword(_) => Self::Keyword,
            SearchAttributeValue::Text(_) => Self::Text,
            SearchAttributeValue::Int(_) => Self::Int,
            SearchAttributeValue::Double(_) => Self::Double,
            SearchAttributeValue::Bool(_) => Self::Bool,
            SearchAttributeValue::Datetime(_) => Self::Datetime,
            SearchAttributeValue::KeywordList(_) => Self::KeywordList,
            SearchAttributeValue::Unset => return None,
        })
    }
}

impl fmt::Display for SearchAttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SearchAttributeType {
    type Err = String;

    /// Reads Temporal's names, in any case (`keyword`, `Datetime`, `KeywordList`).
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|kind| kind.name()).collect();
                format!(
                    "{text:?} is not a search attribute type; use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The attributes every namespace has, set by the engine (Temporal's system search
/// attributes), with their types. Filters may name them; users cannot register them.
pub const SYSTEM: [(&str, SearchAttributeType); 17] = [
    ("WorkflowId", SearchAttributeType::Keyword),
    ("RunId", SearchAttributeType::Keyword),
    ("WorkflowType", SearchAttributeType::Keyword),
    ("TaskQueue", SearchAttributeType::Keyword),
    ("ExecutionStatus", SearchAttributeType::Keyword),
    ("StartTime", SearchAttributeType::Datetime),
    ("CloseTime", SearchAttributeType::Datetime),
    ("ExecutionTime", SearchAttributeType::Datetime),
    ("ExecutionDuration", SearchAttributeType::Int),
    ("HistoryLength", SearchAttributeType::Int),
    ("HistorySizeBytes", SearchAttributeType::Int),
    ("NamespaceId", SearchAttributeType::Keyword),
    (versioning::DEPLOYMENT, SearchAttributeType::Keyword),
    (versioning::VERSION, SearchAttributeType::Keyword),
    (versioning::BEHAVIOR, SearchAttributeType::Keyword),
    ("TemporalScheduledById", SearchAttributeType::Keyword),
    ("TemporalScheduledStartTime", SearchAttributeType::Datetime),
];

/// Whether `name` is a system attribute.
pub fn is_system(name: &str) -> bool {
    SYSTEM.iter().any(|(system, _)| *system == name)
}

/// A namespace's custom search attributes, by name.
pub type Registered = BTreeMap<String, SearchAttributeType>;

/// Refuses `filter` if it names an attribute that is neither a system one nor in
/// `registered` (Temporal's "invalid search attribute"), saying how to register it.
pub fn check_filter(filter: &ListFilter, registered: &Registered) -> Result<(), FilterError> {
    let mut unknown = None;
    visit_fields(filter.expr(), &mut |field| {
        if let Field::Custom(name) = field
            && unknown.is_none()
            && !is_system(name)
            && !registered.contains_key(name)
        {
            unknown = Some(name.clone());
        }
    });
    match unknown {
        None => Ok(()),
        Some(name) => Err(FilterError {
            position: filter.text().find(name.as_str()).unwrap_or(0),
            message: format!(
                "unknown search attribute {name:?}: no run of this namespace has set it and it is not registered (`endure operator search-attribute create --name {name} --type Keyword`)"
            ),
        }),
    }
}

fn visit_fields(expr: &FilterExpr, visit: &mut impl FnMut(&Field)) {
    match expr {
        FilterExpr::And(left, right) | FilterExpr::Or(left, right) => {
            visit_fields(left, visit);
            visit_fields(right, visit);
        }
        FilterExpr::Not(inner) => visit_fields(inner, visit),
        FilterExpr::Compare { field, .. }
        | FilterExpr::In { field, .. }
        | FilterExpr::Between { field, .. }
        | FilterExpr::StartsWith { field, .. }
        | FilterExpr::IsNull(field) => visit(field),
    }
}

/// The attributes of `attributes` a namespace with `registered` does not know yet, with
/// the types of their values — what setting them registers.
pub fn unregistered(attributes: &SearchAttributes, registered: &Registered) -> Registered {
    attributes
        .0
        .iter()
        .filter(|(name, _)| !registered.contains_key(*name) && !is_system(name))
        .filter_map(|(name, value)| Some((name.clone(), SearchAttributeType::of(value)?)))
        .collect()
}

/// Why attributes could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A system attribute's name.
    #[error("{0:?} is a system search attribute; choose another name")]
    System(String),
    /// Registered already with another type.
    #[error("search attribute {name:?} is registered as {registered}, not {requested}")]
    TypeConflict {
        /// The attribute.
        name: String,
        /// Its type.
        registered: SearchAttributeType,
        /// The type asked for.
        requested: SearchAttributeType,
    },
    /// A name the search attributes of a run could not have.
    #[error("search attribute name {0:?}: {1}")]
    Name(String, String),
    /// The namespace would have more custom attributes than it may.
    #[error(
        "a namespace has at most {} custom search attributes",
        crate::limits::SEARCH_ATTRIBUTES_REGISTERED_MAX
    )]
    TooMany,
    /// Removing an attribute that is not registered.
    #[error("search attribute {0:?} is not registered")]
    NotRegistered(String),
}

/// `registered` with `added`: an attribute registered with the same type is left as it is.
pub fn add(registered: &Registered, added: &Registered) -> Result<Registered, RegistryError> {
    let mut next = registered.clone();
    for (name, kind) in added {
        if is_system(name) {
            return Err(RegistryError::System(name.clone()));
        }
        let mut probe = SearchAttributes::new();
        probe.insert(name.clone(), SearchAttributeValue::Bool(true));
        if let Err(error) = probe.validate() {
            return Err(RegistryError::Name(name.clone(), error.to_string()));
        }
        match next.get(name) {
            Some(existing) if existing != kind => {
                return Err(RegistryError::TypeConflict {
                    name: name.clone(),
                    registered: *existing,
                    requested: *kind,
                });
            }
            Some(_) => {}
            None => {
                next.insert(name.clone(), *kind);
            }
        }
    }
    if next.len() > crate::limits::SEARCH_ATTRIBUTES_REGISTERED_MAX {
        return Err(RegistryError::TooMany);
    }
    Ok(next)
}

/// `registered` without `removed` (runs keep their values; filters on them are refused).
pub fn remove(registered: &Registered, removed: &[String]) -> Result<Registered, RegistryError> {
    let mut next = registered.clone();
    for name in removed {
        if next.remove(name).is_none() {
            return Err(RegistryError::NotRegistered(name.clone()));
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> ListFilter {
        ListFilter::parse(text).unwrap()
    }

    #[test]
    fn filters_naming_unknown_attributes_are_refused_where_they_name_them() {
        let registered = Registered::from([("Tier".to_owned(), SearchAttributeType::Keyword)]);
        for known in [
            "Tier = 'gold'",
            "WorkflowType = 'A' AND (Tier IN ('gold') OR NOT Tier IS NULL)",
            "TemporalWorkerDeploymentVersion = 'orders.2'",
            "HistoryLength > 5",
        ] {
            assert_eq!(check_filter(&filter(known), &registered), Ok(()), "{known}");
        }
        let refused =
            check_filter(&filter("WorkflowType = 'A' AND Teir = 'gold'"), &registered).unwrap_err();
        assert_eq!(refused.position, 23);
        assert!(
            refused
                .message
                .contains("unknown search attribute \"Teir\"")
        );
        assert!(
            refused
                .message
                .contains("search-attribute create --name Teir")
        );
    }

    #[test]
    fn setting_attributes_registers_the_new_ones_with_their_types() {
        let registered = Registered::from([("Tier".to_owned(), SearchAttributeType::Keyword)]);
        let mut attributes = SearchAttributes::new();
        attributes.insert("Tier", SearchAttributeValue::Keyword("gold".into()));
        attributes.insert("Amount", SearchAttributeValue::Int(5));
        attributes.insert("Gone", SearchAttributeValue::Unset);
        attributes.insert(
            versioning::VERSION,
            SearchAttributeValue::Keyword("x".into()),
        );
        assert_eq!(
            unregistered(&attributes, &registered),
            Registered::from([("Amount".to_owned(), SearchAttributeType::Int)])
        );
    }

    #[test]
    fn explicit_registration_refuses_system_names_conflicts_and_bad_names() {
        let registered = Registered::from([("Tier".to_owned(), SearchAttributeType::Keyword)]);
        let same = Registered::from([("Tier".to_owned(), SearchAttributeType::Keyword)]);
        assert_eq!(add(&registered, &same), Ok(registered.clone()));
        let conflict = Registered::from([("Tier".to_owned(), SearchAttributeType::Int)]);
        assert!(matches!(
            add(&registered, &conflict),
            Err(RegistryError::TypeConflict { .. })
        ));
        let system = Registered::from([("WorkflowId".to_owned(), SearchAttributeType::Keyword)]);
        assert_eq!(
            add(&registered, &system),
            Err(RegistryError::System("WorkflowId".into()))
        );
        let bad = Registered::from([("1st".to_owned(), SearchAttributeType::Keyword)]);
        assert!(matches!(
            add(&registered, &bad),
            Err(RegistryError::Name(..))
        ));
        assert_eq!(remove(&registered, &["Tier".into()]), Ok(Registered::new()));
        assert_eq!(
            remove(&registered, &["Nope".into()]),
            Err(RegistryError::NotRegistered("Nope".into()))
        );
    }

    #[test]
    fn type_names_read_in_any_case() {
        for kind in SearchAttributeType::ALL {
            assert_eq!(kind.name().parse::<SearchAttributeType>(), Ok(kind));
            assert_eq!(
                kind.name().to_lowercase().parse::<SearchAttributeType>(),
                Ok(kind)
            );
        }
        assert!(
            "Number"
                .parse::<SearchAttributeType>()
                .unwrap_err()
                .contains("KeywordList")
        );
    }
}
