//! Signing the UI in and out: the credential checked once and kept in an HTTP-only,
//! same-site cookie, so the browser's pages and scripts never hold it.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use endure_server::security::Credential;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::params::Body;
use crate::{TOKEN_COOKIE, Web};

/// A credential to sign in with.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignIn {
    /// An API key or a JWT.
    pub token: String,
}

/// Who signed in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignedIn {
    /// The credential's subject (empty on a server without credentials).
    pub subject: String,
}

/// The longest credential taken, in bytes (as the TCP front end's).
const TOKEN_BYTES_MAX: usize = 16 * 1024;

/// Whether `byte` may be in a credential kept in the cookie: what API keys (base64 and
/// hex) and JWTs (base64url and dots) are made of — never `;`, `,`, spaces or quotes.
fn token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `POST /api/v1/session`
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in: the cookie is set", body = SignedIn),
        (status = 401, description = "The credential is refused", body = ErrorBody),
    )
)]
pub(crate) async fn sign_in(
    State(web): State<Arc<Web>>,
    Body(sign_in): Body<SignIn>,
) -> Result<Response, ApiError> {
    let token = sign_in.token.trim();
    if token.is_empty() || token.len() > TOKEN_BYTES_MAX || !token.bytes().all(token_byte) {
        return Err(ApiError::unauthenticated(
            "the credential must be an API key or a JWT (letters, digits and -._~+/=, at most 16 KiB)",
        ));
    }
    let security = &web.options.security;
    let subject = if security.requires_authentication() {
        let credential = Credential {
            token: Some(token),
            certificate_subject: None,
        };
        security
            .authenticate(credential)
            .map_err(|error| ApiError::unauthenticated(error.to_string()))?
            .claims
            .subject
    } else {
        String::new()
    };
    let secure = if web.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut response = Json(SignedIn { subject }).into_response();
    let value = HeaderValue::from_str(&cookie)
        .map_err(|_| ApiError::bad_request("the credential cannot be kept in a cookie"))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

/// `DELETE /api/v1/session`
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    responses((status = 204, description = "Signed out: the cookie is cleared"))
)]
pub(crate) async fn sign_out() -> Response {
    let cookie = format!("{TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}
