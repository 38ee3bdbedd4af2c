//! Temporal's `OperatorService`, the search-attribute calls (`temporal operator
//! search-attribute create | list | remove`, `client.operator_service` in the SDKs).

use std::collections::HashMap;

use endure_core::attribute_registry::SearchAttributeType;
use endure_core::protocol::{
    AddSearchAttributesRequest, ListSearchAttributesRequest, RemoveSearchAttributesRequest,
};
use tonic::Status;

use crate::convert::enums::{enum_in, enum_out};
use crate::proto::{enums as pbe, operator as pb};
use crate::service::{Call, namespace};

fn types(
    attributes: impl IntoIterator<Item = (String, SearchAttributeType)>,
) -> HashMap<String, i32> {
    attributes
        .into_iter()
        .map(|(name, kind)| {
            let number = enum_out!(kind, pbe::IndexedValueType, "INDEXED_VALUE_TYPE_");
            (name, number)
        })
        .collect()
}

/// AddSearchAttributes: registers custom attributes in a namespace.
pub(crate) async fn add(
    call: Call,
    request: pb::AddSearchAttributesRequest,
) -> Result<pb::AddSearchAttributesResponse, Status> {
    let mut attributes = endure_core::attribute_registry::Registered::new();
    for (name, number) in request.search_attributes {
        let kind: Option<SearchAttributeType> = enum_in!(
            "search_attributes",
            pbe::IndexedValueType,
            "INDEXED_VALUE_TYPE_",
            number
        )?;
        let kind = kind.ok_or_else(|| {
            Status::invalid_argument(format!("search_attributes: {name} needs a type"))
        })?;
        attributes.insert(name, kind);
    }
    call.rpc(AddSearchAttributesRequest {
        namespace: namespace(&request.namespace)?,
        attributes,
    })
    .await?;
    Ok(pb::AddSearchAttributesResponse::default())
}

/// ListSearchAttributes: the namespace's custom attributes and the system ones.
pub(crate) async fn list(
    call: Call,
    request: pb::ListSearchAttributesRequest,
) -> Result<pb::ListSearchAttributesResponse, Status> {
    let listing = call
        .rpc(ListSearchAttributesRequest {
            namespace: namespace(&request.namespace)?,
        })
        .await?;
    Ok(pb::ListSearchAttributesResponse {
        custom_attributes: types(listing.custom),
        system_attributes: types(listing.system),
        storage_schema: HashMap::new(),
    })
}

/// RemoveSearchAttributes: unregisters custom attributes.
pub(crate) async fn remove(
    call: Call,
    request: pb::RemoveSearchAttributesRequest,
) -> Result<pb::RemoveSearchAttributesResponse, Status> {
    call.rpc(RemoveSearchAttributesRequest {
        namespace: namespace(&request.namespace)?,
        names: request.search_attributes,
    })
    .await?;
    Ok(pb::RemoveSearchAttributesResponse::default())
}
