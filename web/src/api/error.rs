//! The API's errors: JSON with a stable `code` (the engine's error kind, or one of this
//! API's own: `BadFilter`, `BadRequest`, `QueryFailed`, `UpdateFailed`, `BadHost`,
//! `CrossSiteRequest`) and a `message` that says what to do.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use endure::ClientError;
use endure_core::protocol::ErrorKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable: `NotFound`, `AlreadyStarted`, `InvalidArgument`, `FailedPrecondition`,
    /// `Conflict`, `Unavailable`, `DeadlineExceeded`, `AlreadyExists`, `Internal`,
    /// `PermissionDenied`, `Unauthenticated`, `ResourceExhausted`, `BadFilter`, `BadRequest`,
    /// `QueryFailed`, `UpdateFailed`, `BadHost`, `CrossSiteRequest`.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
    /// For `BadFilter`: the byte offset in the filter where it went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

/// An error with its HTTP status.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                position: None,
            },
        }
    }

    /// A malformed request (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// A request refused before it reached the engine (403).
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// A failure of the server's own (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", message)
    }

    /// A credential refused (401).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            format!(
                "{}; send Authorization: Bearer <API key or JWT>, or sign in to the UI again",
                message.into()
            ),
        )
    }

    /// The HTTP status of an engine error kind.
    pub fn status_of(kind: ErrorKind) -> StatusCode {
        match kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::AlreadyStarted | ErrorKind::AlreadyExists | ErrorKind::Conflict => {
                StatusCode::CONFLICT
            }
            ErrorKind::InvalidArgument | ErrorKind::FailedPrecondition => StatusCode::BAD_REQUEST,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Remote(remote) => {
                let hint = match remote.kind {
                    ErrorKind::Unavailable | ErrorKind::ResourceExhausted => {
                        "; retry after a moment"
                    }
                    ErrorKind::Unauthenticated => {
                        "; send Authorization: Bearer <API key or JWT>, or sign in to the UI again"
                    }
                    _ => "",
                };
                Self::new(
                    Self::status_of(remote.kind),
                    remote.kind.name(),
                    format!("{}{hint}", remote.message),
                )
            }
            ClientError::BadFilter(filter) => {
                let mut error = Self::new(
                    StatusCode::BAD_REQUEST,
                    "BadFilter",
                    format!(
                        "the filter is not valid at byte {}: {}",
                        filter.position, filter.message
                    ),
                );
                error.body.position = Some(filter.position);
                error
            }
            ClientError::QueryFailed(message) => {
                Self::new(StatusCode::BAD_REQUEST, "QueryFailed", message)
            }
            ClientError::UpdateFailed(failure) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UpdateFailed",
                format!("the update's handler failed: {failure}"),
            ),
            ClientError::Invalid(invalid) => Self::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                invalid.to_string(),
            ),
            ClientError::Payload(payload) => Self::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                payload.to_string(),
            ),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal",
                other.to_string(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
