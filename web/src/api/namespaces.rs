//! Namespaces: the ones the caller may see.

use axum::Json;
use endure_core::namespace::NamespaceRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::Caller;

/// The namespaces.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamespaceList {
    /// Each namespace: name, description, owner, retention, state.
    #[schema(value_type = Vec<Object>)]
    pub namespaces: Vec<NamespaceRecord>,
}

/// `GET /api/v1/namespaces`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces",
    tag = "namespaces",
    responses(
        (status = 200, description = "The namespaces the caller holds a role in", body = NamespaceList),
        (status = 401, description = "Credentials needed", body = ErrorBody),
    )
)]
pub(crate) async fn list(caller: Caller) -> Result<Json<NamespaceList>, ApiError> {
    let client = caller.client(endure_core::Namespace::default_namespace());
    let namespaces = client.list_namespaces().await?;
    Ok(Json(NamespaceList { namespaces }))
}
