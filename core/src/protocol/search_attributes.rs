//! What operators send about a namespace's search attributes (Temporal's operator service
//! `AddSearchAttributes`, `RemoveSearchAttributes`, `ListSearchAttributes`): the registry
//! that list filters are checked against ([`crate::attribute_registry`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::CheckText;
use crate::attribute_registry::{Registered, SearchAttributeType};
use crate::ids::Namespace;

/// Register custom search attributes with their types (an attribute registered already
/// with the same type is left as it is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddSearchAttributesRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The attributes and their types.
    pub attributes: Registered,
}

/// Unregister custom search attributes (runs keep their values; filters naming them are
/// refused again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveSearchAttributesRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The attributes.
    pub names: Vec<String>,
}

/// List a namespace's search attributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSearchAttributesRequest {
    /// The namespace.
    pub namespace: Namespace,
}

/// A namespace's search attributes, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchAttributesListing {
    /// The engine's own (every namespace has them).
    pub system: BTreeMap<String, SearchAttributeType>,
    /// The namespace's custom ones: registered, or set by a run first.
    pub custom: Registered,
}

impl SearchAttributesListing {
    /// The listing of a namespace whose custom attributes are `custom`.
    pub fn of(custom: Registered) -> Self {
        Self {
            system: crate::attribute_registry::SYSTEM
                .iter()
                .map(|(name, kind)| ((*name).to_owned(), *kind))
                .collect(),
            custom,
        }
    }
}

impl CheckText for AddSearchAttributesRequest {}
impl CheckText for RemoveSearchAttributesRequest {}
impl CheckText for ListSearchAttributesRequest {}

crate::payload_codec::no_payloads!(
    AddSearchAttributesRequest,
    RemoveSearchAttributesRequest,
    ListSearchAttributesRequest,
    SearchAttributesListing,
);
