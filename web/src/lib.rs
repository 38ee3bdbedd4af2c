//! Endure's web UI and HTTP/JSON API: an axum [`Router`] the server mounts on its HTTP
//! listener (`endure server start-dev` serves it on `127.0.0.1:8233`, as Temporal's dev
//! server serves its Web UI).
//!
//! - `/api/v1/…` — the JSON API ([`api`]): namespaces; workflows listed with the list-filter
//!   language and paged, counted, described; history paged and long-polled; start, signal,
//!   query, update, cancel, terminate, reset, delete. Times are RFC 3339, JSON payloads are
//!   their values (the history export's form, `docs/format.md`); errors are JSON with a
//!   stable `code` and a `message` that says what to do. `/api/openapi.json` is the OpenAPI
//!   document, generated from the handlers.
//! - `/` — the UI ([`ui`]): server-rendered HTML with a little JavaScript, its assets compiled
//!   into the binary (no Node toolchain, no CDN, no external font).
//!
//! Every call goes through the engine's front-end security as a TCP client's would
//! ([`GuardedTransport`]): on a server with credentials, an API call carries
//! `Authorization: Bearer <API key or JWT>` and the UI asks for one once and keeps it in an
//! HTTP-only cookie. Cross-site requests cannot act ([`guard`]): a request that changes
//! something must be JSON or a non-simple method (so a browser asks first, and is never
//! told yes), and a request whose `Origin` or `Sec-Fetch-Site` names another site is refused;
//! a UI bound to loopback answers only to loopback host names, against DNS rebinding.
//!
//! Under the simulator (`--cfg madsim`) the crate is empty: it serves real sockets only.
#![cfg(not(madsim))]

pub mod api;
mod caller;
pub mod guard;
#[cfg(feature = "test-browser")]
pub mod testing;
pub mod ui;

use std::sync::Arc;

use axum::Router;
use endure_core::Namespace;
use endure_core::protocol::Transport;
use endure_server::security::{GuardedTransport, Security};

pub use caller::{Caller, TOKEN_COOKIE};

/// What the routes serve with.
#[derive(Clone)]
pub struct WebOptions {
    /// The engine, as the in-process transport (every call is guarded by `security` first).
    pub transport: Arc<dyn Transport>,
    /// The server's front-end security (open for the dev server).
    pub security: Arc<Security>,
    /// The namespace `/` opens.
    pub default_namespace: Namespace,
    /// Answer only requests whose `Host` is a loopback name (`localhost`, `127.0.0.1`,
    /// `[::1]`): on for a listener bound to loopback, so a web page on another site cannot
    /// reach it through a DNS name it rebinds to 127.0.0.1.
    pub loopback_hosts_only: bool,
    /// Mark the UI's cookie `Secure` (the listener serves HTTPS).
    pub secure_cookies: bool,
}

impl WebOptions {
    /// Options for `transport` on an open server, answering loopback host names only.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            security: Arc::new(Security::open()),
            default_namespace: Namespace::default_namespace(),
            loopback_hosts_only: true,
            secure_cookies: false,
        }
    }
}

/// The shared state of every handler.
pub(crate) struct Web {
    pub(crate) options: WebOptions,
}

impl Web {
    /// A guarded transport for one request's caller.
    pub(crate) fn guarded(
        &self,
        peer: String,
        token: Option<String>,
    ) -> Result<GuardedTransport, endure_server::security::AuthError> {
        GuardedTransport::new(
            Arc::clone(&self.options.transport),
            Arc::clone(&self.options.security),
            peer,
            token,
        )
    }
}

/// The most bytes a request body may have: a start or a signal carries its arguments,
/// which the engine bounds at `MESSAGE_BYTES_MAX` (4 MiB); 64 KiB more is room for the
/// JSON around them.
pub const BODY_BYTES_MAX: usize = endure_core::limits::MESSAGE_BYTES_MAX + 64 * 1024;

/// The UI and the API, with the cross-site and host guards around both, bodies bounded by
/// [`BODY_BYTES_MAX`], and a panic in a handler answered as a JSON `Internal` error.
pub fn router(options: WebOptions) -> Router {
    let web = Arc::new(Web { options });
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&web),
            guard::check,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(web)
}

/// The answer to a request whose handler panicked: logged, and a JSON `Internal` error.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    tracing::error!(panic = message, "a web request panicked");
    api::error::ApiError::internal(format!(
        "the server failed handling this request ({message}); the failure is in its log"
    ))
    .into_response()
}
