//! The web UI: server-rendered pages (maud), a stylesheet and a small script compiled into
//! the binary.
//!
//! - `/namespaces/{namespace}/workflows` — the workflows (`workflows.rs`);
//! - `/namespaces/{namespace}/workflows/{workflow_id}` — one run (`workflow.rs`);
//! - `/namespaces/{namespace}/schedules` and `/namespaces/{namespace}/deployments`;
//! - `/namespaces` — the namespaces; `/login` — sign in on a server with credentials.
//!
//! Pages read through the same guarded client as the API; actions are the script's calls
//! to the API.

mod deployments;
mod events;
mod format;
mod layout;
mod namespaces;
mod schedules;
mod timeline;
mod workflow;
mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use endure::ClientError;
use endure_core::protocol::ErrorKind;
use maud::html;

use crate::api::params::{self, Params};
use crate::{Caller, Web};

/// The UI's routes.
pub(crate) fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/", get(index))
        .route("/namespaces", get(namespaces_page))
        .route("/namespaces/{namespace}/workflows", get(workflows_page))
        .route(
            "/namespaces/{namespace}/workflows/{workflow_id}",
            get(workflow_page),
        )
        .route("/namespaces/{namespace}/schedules", get(schedules_page))
        .route("/namespaces/{namespace}/deployments", get(deployments_page))
        .route("/login", get(login_page))
        .route("/assets/style.css", get(style))
        .route("/assets/app.js", get(script))
        .fallback(fallback)
}

/// `/`: the default namespace's workflows.
async fn index(State(web): State<Arc<Web>>) -> Redirect {
    Redirect::to(&format!(
        "/namespaces/{}/workflows",
        web.options.default_namespace
    ))
}

async fn namespaces_page(
    State(web): State<Arc<Web>>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let client = caller.client(web.options.default_namespace.clone());
    let namespace = web.options.default_namespace.as_str();
    shown(namespaces::render(&client).await, namespace, &uri)
}

/// The caller's client in the namespace the path names, or the page saying it names none.
fn client_in(caller: &Caller, namespace: &str) -> Result<endure::Client, Box<Response>> {
    params::namespace(namespace)
        .map(|namespace| caller.client(namespace))
        .map_err(|error| {
            Box::new(problem(
                StatusCode::BAD_REQUEST,
                "default",
                &error.body.message,
            ))
        })
}

async fn workflows_page(
    caller: Caller,
    Path(namespace): Path<String>,
    Params(page): Params<workflows::ListPage>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let client = match client_in(&caller, &namespace) {
        Ok(client) => client,
        Err(page) => return *page,
    };
    shown(workflows::render(&client, &page).await, &namespace, &uri)
}

async fn workflow_page(
    caller: Caller,
    Path((namespace, workflow_id)): Path<(String, String)>,
    Params(run): Params<crate::api::reads::RunParams>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let client = match client_in(&caller, &namespace) {
        Ok(client) => client,
        Err(page) => return *page,
    };
    let target = params::workflow_id(&workflow_id)
        .and_then(|workflow_id| Ok((workflow_id, params::run_id(run.run_id.as_deref())?)));
    let (workflow_id, run_id) = match target {
        Ok(target) => target,
        Err(error) => return problem(StatusCode::BAD_REQUEST, &namespace, &error.body.message),
    };
    let page = workflow::render(&client, workflow_id, run_id).await;
    shown(page, &namespace, &uri)
}

async fn schedules_page(
    caller: Caller,
    Path(namespace): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match client_in(&caller, &namespace) {
        Ok(client) => shown(schedules::render(&client).await, &namespace, &uri),
        Err(page) => *page,
    }
}

async fn deployments_page(
    caller: Caller,
    Path(namespace): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match client_in(&caller, &namespace) {
        Ok(client) => shown(deployments::render(&client).await, &namespace, &uri),
        Err(page) => *page,
    }
}

/// A page, or what stopped it: sign-in for a caller without a valid credential, a
/// problem page otherwise.
fn shown(
    page: Result<maud::Markup, ClientError>,
    namespace: &str,
    uri: &axum::http::Uri,
) -> Response {
    match page {
        Ok(markup) => Html(markup.into_string()).into_response(),
        Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::Unauthenticated => {
            let next = workflows::encode(&uri.to_string());
            Redirect::to(&format!("/login?next={next}")).into_response()
        }
        Err(error) => {
            let api = crate::api::error::ApiError::from(error);
            problem(api.status, namespace, &api.body.message)
        }
    }
}

fn problem(status: StatusCode, namespace: &str, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::BAD_REQUEST => "Bad request",
        _ => "Something went wrong",
    };
    (
        status,
        Html(layout::problem(title, namespace, message).into_string()),
    )
        .into_response()
}

/// `/login`: a box for an API key or a JWT.
async fn login_page(State(web): State<Arc<Web>>) -> Html<String> {
    let body = html! {
        section.login {
            h1 { "Sign in" }
            p { "This server requires credentials. Paste an API key (" code { "endure admin api-key create" } ") or a JWT; it is kept in an HTTP-only cookie for this browser." }
            form id="login-form" {
                input type="password" name="token" id="login-token" placeholder="API key or JWT" autocomplete="off";
                button type="submit" .primary { "Sign in" }
                output.dialog-result {}
            }
        }
    };
    Html(layout::page("Sign in", web.options.default_namespace.as_str(), body).into_string())
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/style.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/app.js"),
    )
}

/// Any other path: the API's JSON 404 under `/api`, a page otherwise.
async fn fallback(State(web): State<Arc<Web>>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::api::not_found(uri).await.into_response();
    }
    problem(
        StatusCode::NOT_FOUND,
        web.options.default_namespace.as_str(),
        &format!("There is no page at {}.", uri.path()),
    )
}
