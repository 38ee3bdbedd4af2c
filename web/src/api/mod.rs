//! The HTTP/JSON API under `/api/v1`, and its OpenAPI document at `/api/openapi.json`.
//!
//! Resources: `/namespaces`, `/namespaces/{namespace}/workflows` (list, count, start),
//! `/namespaces/{namespace}/workflows/{workflow_id}` (describe, delete) and its `history`,
//! `signal`, `query`, `update`, `cancel`, `terminate` and `reset`;
//! `/namespaces/{namespace}/schedules` (list, create, describe, pause, unpause, trigger, delete) and
//! `/namespaces/{namespace}/deployments`; `/session` signs the UI in and out. Each handler makes the same SDK call a Rust client would, through the
//! caller's guarded transport.

pub mod actions;
pub mod error;
pub mod namespaces;
pub(crate) mod params;
pub mod reads;
pub mod schedules;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::Web;

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Endure HTTP API",
        description = "Workflows of an Endure server over HTTP and JSON. Times are RFC 3339; \
            payloads written as JSON are their values (docs/format.md); errors are \
            {code, message}. With credentials configured, send Authorization: Bearer <API key or JWT>."
    ),
    paths(
        namespaces::list,
        reads::list,
        reads::count,
        reads::describe,
        reads::history,
        actions::start,
        actions::signal,
        actions::query,
        actions::update,
        actions::cancel,
        actions::terminate,
        actions::reset,
        actions::delete,
        session::sign_in,
        session::sign_out,
        schedules::list,
        schedules::create,
        schedules::describe,
        schedules::pause,
        schedules::unpause,
        schedules::trigger,
        schedules::delete,
        schedules::deployments,
    ),
    components(schemas(error::ErrorBody))
)]
pub struct ApiDoc;

/// The API's routes.
pub(crate) fn routes() -> Router<Arc<Web>> {
    const WORKFLOW: &str = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}";
    const SCHEDULE: &str = "/api/v1/namespaces/{namespace}/schedules/{schedule_id}";
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/namespaces", get(namespaces::list))
        .route(
            "/api/v1/namespaces/{namespace}/workflows",
            get(reads::list).post(actions::start),
        )
        .route(
            "/api/v1/namespaces/{namespace}/workflow-count",
            get(reads::count),
        )
        .route(WORKFLOW, get(reads::describe).delete(actions::delete))
        .route(&format!("{WORKFLOW}/history"), get(reads::history))
        .route(&format!("{WORKFLOW}/signal"), post(actions::signal))
        .route(&format!("{WORKFLOW}/query"), post(actions::query))
        .route(&format!("{WORKFLOW}/update"), post(actions::update))
        .route(&format!("{WORKFLOW}/cancel"), post(actions::cancel))
        .route(&format!("{WORKFLOW}/terminate"), post(actions::terminate))
        .route(&format!("{WORKFLOW}/reset"), post(actions::reset))
        .route(
            "/api/v1/namespaces/{namespace}/schedules",
            get(schedules::list).post(schedules::create),
        )
        .route(SCHEDULE, get(schedules::describe).delete(schedules::delete))
        .route(&format!("{SCHEDULE}/pause"), post(schedules::pause))
        .route(&format!("{SCHEDULE}/unpause"), post(schedules::unpause))
        .route(&format!("{SCHEDULE}/trigger"), post(schedules::trigger))
        .route(
            "/api/v1/namespaces/{namespace}/deployments",
            get(schedules::deployments),
        )
        .route(
            "/api/v1/session",
            post(session::sign_in).delete(session::sign_out),
        )
}

/// `/api/openapi.json`.
async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// Any other path: a JSON 404 for API paths, so scripts see the error shape they expect.
pub(crate) async fn not_found(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError {
        status: axum::http::StatusCode::NOT_FOUND,
        body: error::ErrorBody {
            code: "NotFound".to_owned(),
            message: format!(
                "no such page or API path: {uri}; the API is described at /api/openapi.json"
            ),
            position: None,
        },
    }
}
