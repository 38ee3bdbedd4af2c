//! Who a request comes from: its credential (the `Authorization: Bearer` header, or the
//! UI's cookie), turned into an SDK [`Client`] whose every call passes the server's
//! security as that caller.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use endure::Client;
use endure_core::Namespace;

use crate::Web;
use crate::api::error::ApiError;

/// The cookie the UI keeps the caller's credential in (HTTP-only, same-site strict).
pub const TOKEN_COOKIE: &str = "endure_token";

/// One request's caller.
pub struct Caller {
    transport: Arc<endure_server::security::GuardedTransport>,
    /// Whether the caller presented a credential.
    pub presented: bool,
}

impl Caller {
    /// A client in `namespace` acting as this caller.
    pub fn client(&self, namespace: Namespace) -> Client {
        Client::new(self.transport.clone(), namespace)
    }
}

impl FromRequestParts<Arc<Web>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<Web>) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "http".to_owned(), |info| format!("http {}", info.0));
        let token = bearer(parts).or_else(|| cookie(parts, TOKEN_COOKIE));
        let presented = token.is_some();
        let transport = web
            .guarded(peer, token)
            .map_err(|error| ApiError::unauthenticated(error.to_string()))?;
        Ok(Self {
            transport: Arc::new(transport),
            presented,
        })
    }
}

/// The bearer token of the `Authorization` header.
fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// The value of cookie `name`.
pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}
