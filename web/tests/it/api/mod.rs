//! The HTTP/JSON API end to end: the Quick Start started, followed by long polls and read
//! back event by event; list, count and paging; signal, query, update, terminate, reset and
//! delete; bad filters; the cross-site and host guards; the OpenAPI document.

mod schedules;
mod unavailable;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Fixture, QUEUE};

pub(crate) async fn get(fixture: &Fixture, path: &str) -> (StatusCode, Value) {
    let response = reqwest::get(fixture.url(path)).await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn post(fixture: &Fixture, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(fixture.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

const WORKFLOWS: &str = "/api/v1/namespaces/default/workflows";

/// Starts `workflow_type` as `workflow_id` through the API.
pub(crate) async fn start(
    fixture: &Fixture,
    workflow_id: &str,
    workflow_type: &str,
    input: Value,
) -> String {
    let (status, started) = post(
        fixture,
        WORKFLOWS,
        json!({ "workflow_id": workflow_id, "workflow_type": workflow_type, "task_queue": QUEUE, "input": [input] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["workflow_id"], workflow_id);
    started["run_id"].as_str().unwrap().to_owned()
}

/// Follows the history with long polls until the run closes: every event, in order.
pub(crate) async fn follow(fixture: &Fixture, workflow_id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut next = 1;
    for _ in 0..100 {
        let (status, page) = get(
            fixture,
            &format!("{WORKFLOWS}/{workflow_id}/history?first_event_id={next}&wait_new_event=true"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        next = page["next_event_id"].as_u64().unwrap();
        if page["closed"] == true {
            return events;
        }
    }
    panic!("{workflow_id} did not close; events so far: {events:#?}");
}

/// `(event_id, type, attributes)` of an event in the export's form.
pub(crate) fn parts(event: &Value) -> (u64, String, Value) {
    let attributes = event["attributes"].as_object().unwrap();
    let (kind, inner) = attributes.iter().next().unwrap();
    (
        event["event_id"].as_u64().unwrap(),
        kind.clone(),
        inner.clone(),
    )
}

#[tokio::test]
async fn the_quickstart_is_started_followed_and_read_back_event_by_event() {
    let fixture = Fixture::start().await;
    let run_id = start(&fixture, "order_42", "OrderWorkflow", json!("user_123")).await;
    let events = follow(&fixture, "order_42").await;
    let kinds: Vec<String> = events.iter().map(|event| parts(event).1).collect();
    let expected: Vec<&str> = endure_core::history::samples::quickstart_history()
        .events
        .iter()
        .map(|event| event.event_type().name())
        .collect();
    assert_eq!(kinds, expected);
    assert_eq!(events.len(), 16);
    // Back-references, event by event.
    for (index, event) in events.iter().enumerate() {
        let (id, kind, attributes) = parts(event);
        assert_eq!(id, index as u64 + 1);
        let reference = |name: &str| attributes[name].as_u64().unwrap();
        match kind.as_str() {
            "WorkflowExecutionStarted" => {
                assert_eq!(attributes["input"], json!(["user_123"]));
                assert_eq!(attributes["task_queue"], QUEUE);
            }
            "WorkflowTaskStarted" => assert_eq!(reference("scheduled_event_id"), id - 1),
            "WorkflowTaskCompleted" => {
                assert_eq!(reference("scheduled_event_id"), id - 2);
                assert_eq!(reference("started_event_id"), id - 1);
            }
            "ActivityTaskScheduled" => {
                assert_eq!(attributes["activity_type"], "SendEmail");
                assert_eq!(reference("workflow_task_completed_event_id"), id - 1);
            }
            "ActivityTaskStarted" => assert_eq!(reference("scheduled_event_id"), 5),
            "ActivityTaskCompleted" => {
                assert_eq!(reference("scheduled_event_id"), 5);
                assert_eq!(reference("started_event_id"), 6);
                assert_eq!(attributes["result"], json!(["sent"]));
            }
            "TimerStarted" => assert_eq!(attributes["start_to_fire_timeout"], "50ms"),
            "TimerFired" => assert_eq!(
                reference("started_event_id"),
                events
                    .iter()
                    .map(parts)
                    .find(|(_, kind, _)| kind == "TimerStarted")
                    .unwrap()
                    .0
            ),
            "WorkflowExecutionCompleted" => {
                assert_eq!(attributes["result"], json!(["workflow_completed_sent"]));
                assert_eq!(reference("workflow_task_completed_event_id"), id - 1);
            }
            _ => {}
        }
        // Times are RFC 3339.
        assert!(
            event["event_time"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .is_ok()
        );
    }

    // Described, listed, counted.
    let (status, described) = get(&fixture, &format!("{WORKFLOWS}/order_42")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(described["status"], "Completed");
    assert_eq!(described["execution"]["run_id"], run_id);
    assert_eq!(described["history_length"], 16);
    let (_, listed) = get(
        &fixture,
        &format!("{WORKFLOWS}?query=WorkflowType%20%3D%20%27OrderWorkflow%27"),
    )
    .await;
    let rows = listed["workflows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["execution"]["workflow_id"], "order_42");
    assert_eq!(rows[0]["status"], "Completed");
    assert!(listed["next_page_token"].is_null());
    let (_, none) = get(
        &fixture,
        &format!("{WORKFLOWS}?query=ExecutionStatus%20%3D%20%27Running%27"),
    )
    .await;
    assert_eq!(none["workflows"], json!([]));
    let (_, count) = get(
        &fixture,
        "/api/v1/namespaces/default/workflow-count?query=ExecutionStatus%3D%27Completed%27",
    )
    .await;
    assert_eq!(count["count"], 1);

    // A history read from the middle, without waiting.
    let (_, tail) = get(
        &fixture,
        &format!("{WORKFLOWS}/order_42/history?first_event_id=15"),
    )
    .await;
    assert_eq!(tail["events"].as_array().unwrap().len(), 2);
    assert_eq!(tail["next_event_id"], 17);
    assert_eq!(tail["closed"], true);
    fixture.stop().await;
}

#[tokio::test]
async fn signal_query_update_terminate_reset_and_delete() {
    let fixture = Fixture::start().await;
    start(&fixture, "approval-1", "ApprovalWorkflow", json!("order-7")).await;
    let path = format!("{WORKFLOWS}/approval-1");
    // The query waits for the first workflow task to have run.
    let mut answer = Value::Null;
    for _ in 0..100 {
        let (status, body) = post(
            &fixture,
            &format!("{path}/query"),
            json!({ "name": "status" }),
        )
        .await;
        if status == StatusCode::OK {
            answer = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(answer["result"], "waiting for approval ()");
    let (status, updated) = post(
        &fixture,
        &format!("{path}/update"),
        json!({ "name": "note", "args": ["rush"], "update_id": "note-1" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated, json!({ "result": 4, "update_id": "note-1" }));
    let (_, answer) = post(
        &fixture,
        &format!("{path}/query"),
        json!({ "name": "status", "args": [] }),
    )
    .await;
    assert_eq!(answer["result"], "waiting for approval (rush)");
    let (status, failed) = post(
        &fixture,
        &format!("{path}/query"),
        json!({ "name": "nope" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(failed["code"], "QueryFailed");
    let (status, _) = post(
        &fixture,
        &format!("{path}/signal"),
        json!({ "signal_name": "approve", "input": ["ana"] }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let events = follow(&fixture, "approval-1").await;
    let kinds: Vec<String> = events.iter().map(|event| parts(event).1).collect();
    let accepted = kinds
        .iter()
        .position(|kind| kind == "WorkflowExecutionUpdateAccepted")
        .unwrap();
    let completed = kinds
        .iter()
        .position(|kind| kind == "WorkflowExecutionUpdateCompleted")
        .unwrap();
    let (accepted_id, _, accepted_attributes) = parts(&events[accepted]);
    let (_, _, completed_attributes) = parts(&events[completed]);
    assert_eq!(accepted_attributes["accepted_request"]["name"], "note");
    assert_eq!(completed_attributes["accepted_event_id"], accepted_id);
    let signaled = kinds
        .iter()
        .position(|kind| kind == "WorkflowExecutionSignaled")
        .unwrap();
    let (_, _, signal) = parts(&events[signaled]);
    assert_eq!(signal["signal_name"], "approve");
    assert_eq!(signal["input"], json!(["ana"]));
    let (_, last, result) = parts(events.last().unwrap());
    assert_eq!(last, "WorkflowExecutionCompleted");
    assert_eq!(result["result"], json!(["order-7 approved by ana"]));
    // Signalling a closed run is refused, saying why.
    let (status, refused) = post(
        &fixture,
        &format!("{path}/signal"),
        json!({ "signal_name": "approve", "input": ["bo"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["code"], "FailedPrecondition");

    // Reset to the first workflow task: a new run, the signal after the point reapplied
    // (Temporal's default), so it is approved again.
    let (status, reset) = post(
        &fixture,
        &format!("{path}/reset"),
        json!({ "to": "FirstWorkflowTask", "reason": "try again" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    let new_run = reset["run_id"].as_str().unwrap().to_owned();
    let events = follow(&fixture, "approval-1").await;
    let (_, last, result) = parts(events.last().unwrap());
    assert_eq!(last, "WorkflowExecutionCompleted");
    assert_eq!(result["result"], json!(["order-7 approved by ana"]));
    let (_, described) = get(&fixture, &path).await;
    assert_eq!(described["execution"]["run_id"], new_run);

    // Terminate another, with the reason kept.
    start(&fixture, "approval-2", "ApprovalWorkflow", json!("order-8")).await;
    let path = format!("{WORKFLOWS}/approval-2");
    let (status, _) = post(
        &fixture,
        &format!("{path}/terminate"),
        json!({ "reason": "not needed" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let events = follow(&fixture, "approval-2").await;
    let (_, last, terminated) = parts(events.last().unwrap());
    assert_eq!(last, "WorkflowExecutionTerminated");
    assert_eq!(terminated["reason"], "not needed");
    let (_, described) = get(&fixture, &path).await;
    assert_eq!(described["status"], "Terminated");

    // Delete it, then it is gone.
    let response = reqwest::Client::new()
        .delete(fixture.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let mut gone = false;
    for _ in 0..100 {
        let (status, body) = get(&fixture, &path).await;
        if status == StatusCode::NOT_FOUND {
            assert_eq!(body["code"], "NotFound");
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "the deleted run is still described");
    fixture.stop().await;
}

#[tokio::test]
async fn lists_are_paged_and_bad_requests_say_what_is_wrong() {
    let fixture = Fixture::start().await;
    for n in 0..5 {
        start(
            &fixture,
            &format!("order-{n}"),
            "OrderWorkflow",
            json!("user_123"),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(token) => format!("{WORKFLOWS}?page_size=2&next_page_token={token}"),
            None => format!("{WORKFLOWS}?page_size=2"),
        };
        let (status, page) = get(&fixture, &path).await;
        assert_eq!(status, StatusCode::OK);
        let rows = page["workflows"].as_array().unwrap();
        assert!(rows.len() <= 2);
        seen.extend(
            rows.iter()
                .map(|row| row["execution"]["workflow_id"].as_str().unwrap().to_owned()),
        );
        match page["next_page_token"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["order-0", "order-1", "order-2", "order-3", "order-4"]
    );

    let (status, error) = get(&fixture, &format!("{WORKFLOWS}?query=WorkflowType%20%3D")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "BadFilter");
    assert_eq!(error["position"], 14);
    let (status, error) = get(&fixture, &format!("{WORKFLOWS}/nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["code"], "NotFound");
    let (status, error) = get(&fixture, &format!("{WORKFLOWS}/x?run_id=not-a-run")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["message"].as_str().unwrap().contains("run_id"));
    let (status, error) = post(&fixture, WORKFLOWS, json!({ "workflow_type": "X" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"].as_str().unwrap().contains("workflow_id"),
        "{error}"
    );
    start(&fixture, "waiting", "ApprovalWorkflow", json!("order-9")).await;
    let (status, error) = post(&fixture, WORKFLOWS, json!({ "workflow_id": "waiting", "workflow_type": "ApprovalWorkflow", "task_queue": QUEUE })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "AlreadyStarted");
    let (status, error) = get(&fixture, "/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error["message"].as_str().unwrap().contains("openapi.json"));
    fixture.stop().await;
}

#[tokio::test]
async fn cross_site_requests_and_foreign_hosts_are_refused() {
    let fixture = Fixture::start().await;
    let client = reqwest::Client::new();
    let body =
        json!({ "workflow_id": "evil", "workflow_type": "OrderWorkflow", "task_queue": QUEUE });
    // A form another site posts.
    let response = client
        .post(fixture.url(WORKFLOWS))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("workflow_id=evil")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "CrossSiteRequest");
    // JSON from a page on another origin.
    let response = client
        .post(fixture.url(WORKFLOWS))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A DNS name rebound to loopback.
    let response = client
        .get(fixture.url("/api/v1/namespaces"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "BadHost");
    // Nothing was started.
    let (_, listed) = get(&fixture, WORKFLOWS).await;
    assert_eq!(listed["workflows"], json!([]));
    fixture.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let fixture = Fixture::start().await;
    let (status, document) = get(&fixture, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/namespaces", &["get"][..]),
        ("/api/v1/namespaces/{namespace}/workflows", &["get", "post"]),
        ("/api/v1/namespaces/{namespace}/workflow-count", &["get"]),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}",
            &["get", "delete"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/history",
            &["get"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/signal",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/query",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/update",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/cancel",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/terminate",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/reset",
            &["post"],
        ),
        ("/api/v1/session", &["post", "delete"]),
        ("/api/v1/namespaces/{namespace}/schedules", &["get", "post"]),
        (
            "/api/v1/namespaces/{namespace}/schedules/{schedule_id}",
            &["get", "delete"],
        ),
        (
            "/api/v1/namespaces/{namespace}/schedules/{schedule_id}/pause",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/schedules/{schedule_id}/unpause",
            &["post"],
        ),
        (
            "/api/v1/namespaces/{namespace}/schedules/{schedule_id}/trigger",
            &["post"],
        ),
        ("/api/v1/namespaces/{namespace}/deployments", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths[path][*method].is_object(),
                "{method} {path} is not in the document"
            );
        }
    }
    assert_eq!(paths.len(), 18);
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    // Path parameters are declared where they are used.
    let parameters = |path: &str, method: &str| -> Vec<(String, String)> {
        paths[path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["in"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        parameters(
            "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/signal",
            "post"
        ),
        [
            ("namespace".to_owned(), "path".to_owned()),
            ("workflow_id".to_owned(), "path".to_owned())
        ]
    );
    assert_eq!(
        parameters(
            "/api/v1/namespaces/{namespace}/schedules/{schedule_id}",
            "delete"
        ),
        [
            ("namespace".to_owned(), "path".to_owned()),
            ("schedule_id".to_owned(), "path".to_owned())
        ]
    );
    assert!(
        parameters("/api/v1/namespaces/{namespace}/workflows", "get")
            .contains(&("query".to_owned(), "query".to_owned()))
    );
    fixture.stop().await;
}
