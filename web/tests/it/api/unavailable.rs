//! An engine that cannot serve: every route and page answers with a typed error.

use reqwest::StatusCode;
use serde_json::{Value, json};

/// An engine that answers every call `Unavailable` (a store stopped, a shard restarting).
struct Unavailable;

impl endure_core::protocol::Transport for Unavailable {
    fn call(
        &self,
        request: endure_core::protocol::Request,
    ) -> endure_core::protocol::TransportFuture<'_> {
        let name = request.name();
        Box::pin(async move {
            Err(endure_core::protocol::RemoteError {
                kind: endure_core::protocol::ErrorKind::Unavailable,
                message: format!("{name}: the store stopped"),
                run_id: None,
            })
        })
    }
}

#[tokio::test]
async fn an_unavailable_engine_is_a_typed_error_on_every_route_and_page() {
    let router = endure_web::router(endure_web::WebOptions::new(std::sync::Arc::new(
        Unavailable,
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();
    for path in [
        "/api/v1/namespaces",
        "/api/v1/namespaces/default/workflows",
        "/api/v1/namespaces/default/workflow-count",
        "/api/v1/namespaces/default/workflows/w",
        "/api/v1/namespaces/default/workflows/w/history?wait_new_event=true",
        "/api/v1/namespaces/default/schedules",
        "/api/v1/namespaces/default/deployments",
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "Unavailable", "{path}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .ends_with("retry after a moment"),
            "{error}"
        );
    }
    for (path, body) in [
        (
            "/api/v1/namespaces/default/workflows",
            json!({ "workflow_id": "w", "workflow_type": "T", "task_queue": "q" }),
        ),
        (
            "/api/v1/namespaces/default/workflows/w/signal",
            json!({ "signal_name": "s" }),
        ),
        (
            "/api/v1/namespaces/default/workflows/w/query",
            json!({ "name": "q" }),
        ),
        (
            "/api/v1/namespaces/default/workflows/w/terminate",
            json!({}),
        ),
    ] {
        let response = client
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    // Pages say so in a page, with the same status.
    for path in [
        "/namespaces/default/workflows",
        "/namespaces/default/workflows/w",
        "/namespaces",
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("id=\"problem\"") && page.contains("the store stopped"),
            "{page}"
        );
    }
    // A body past the limit is refused before it is read whole.
    let huge = "x".repeat(endure_web::BODY_BYTES_MAX + 1);
    let response = client
        .post(format!("{base}/api/v1/namespaces/default/workflows"))
        .header("content-type", "application/json")
        .body(format!("{{\"workflow_id\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "BadRequest");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("length limit exceeded"),
        "{error}"
    );
    server.abort();
}
