//! The web UI: server-rendered pages.

use std::sync::Arc;

use axum::Router;

use crate::Web;

/// The UI's routes.
pub(crate) fn routes() -> Router<Arc<Web>> {
    Router::new().fallback(crate::api::not_found)
}
