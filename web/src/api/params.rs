//! The parts of a path and query string every handler reads, parsed into the engine's
//! types with an error that names the part.

use axum::extract::FromRequestParts;
use axum::extract::Query;
use axum::http::request::Parts;
use endure_core::{Namespace, RunId, WorkflowId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use super::error::ApiError;

/// A path naming a namespace.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct NamespacePath {
    /// The namespace.
    pub(crate) namespace: String,
}

/// A path naming a workflow.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct WorkflowPath {
    /// The namespace.
    pub(crate) namespace: String,
    /// The workflow id.
    pub(crate) workflow_id: String,
}

/// A path naming a schedule.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SchedulePath {
    /// The namespace.
    pub(crate) namespace: String,
    /// The schedule id.
    pub(crate) schedule_id: String,
}

/// A namespace from the path.
pub(crate) fn namespace(text: &str) -> Result<Namespace, ApiError> {
    Namespace::new(text).map_err(|error| ApiError::bad_request(format!("namespace: {error}")))
}

/// A workflow id from the path.
pub(crate) fn workflow_id(text: &str) -> Result<WorkflowId, ApiError> {
    WorkflowId::new(text).map_err(|error| ApiError::bad_request(format!("workflow id: {error}")))
}

/// An optional run id (empty: the current run).
pub(crate) fn run_id(text: Option<&str>) -> Result<Option<RunId>, ApiError> {
    text.filter(|text| !text.is_empty())
        .map(|text| {
            text.parse::<RunId>()
                .map_err(|error| ApiError::bad_request(format!("run_id {text:?}: {error}")))
        })
        .transpose()
}

/// A query string, refused as a `BadRequest` naming what is wrong.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                ApiError::bad_request(format!("query string: {}", rejection.body_text()))
            })
    }
}

/// A JSON body, refused as a `BadRequest` naming what is wrong.
pub(crate) struct Body<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection| {
                ApiError::bad_request(format!("request body: {}", rejection.body_text()))
            })
    }
}
