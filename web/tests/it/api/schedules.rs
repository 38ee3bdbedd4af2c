//! Schedules over the HTTP API: listed, paused, triggered, unpaused and deleted.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{follow, get, parts, post};
use crate::Fixture;

#[tokio::test]
async fn schedules_are_listed_paused_triggered_unpaused_and_deleted() {
    let fixture = Fixture::start().await;
    crate::create_nightly(&fixture.client).await;
    const SCHEDULES: &str = "/api/v1/namespaces/default/schedules";
    let (status, listed) = get(&fixture, SCHEDULES).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let schedules = listed["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0]["schedule_id"], "nightly");
    assert_eq!(schedules[0]["info"]["workflow_type"], "OrderWorkflow");
    assert_eq!(schedules[0]["info"]["paused"], false);

    let (status, _) = post(
        &fixture,
        &format!("{SCHEDULES}/nightly/pause"),
        json!({ "note": "holiday" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A change reaches describe, then the listing, a moment later (as Temporal's, where
    // a patch is a signal to the scheduler).
    let mut described = Value::Null;
    for _ in 0..100 {
        described = get(&fixture, &format!("{SCHEDULES}/nightly")).await.1;
        if described["schedule"]["state"]["paused"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        described["schedule"]["state"]["paused"], true,
        "{described}"
    );
    assert_eq!(described["schedule"]["state"]["notes"], "holiday");
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = get(&fixture, SCHEDULES).await.1;
        if listed["schedules"][0]["info"]["paused"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(listed["schedules"][0]["info"]["paused"], true, "{listed}");
    assert_eq!(listed["schedules"][0]["info"]["notes"], "holiday");

    // Triggered while paused: the action runs now, and its workflow completes.
    let (status, _) = post(&fixture, &format!("{SCHEDULES}/nightly/trigger"), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut started = None;
    for _ in 0..200 {
        let (_, described) = get(&fixture, &format!("{SCHEDULES}/nightly")).await;
        if let Some(action) = described["info"]["recent_actions"]
            .as_array()
            .and_then(|a| a.first())
        {
            started = Some(action["workflow_id"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let started = started.expect("the trigger started a workflow");
    assert!(started.starts_with("nightly-order"), "{started}");
    let events = follow(&fixture, &started).await;
    assert_eq!(
        parts(events.last().unwrap()).1,
        "WorkflowExecutionCompleted"
    );

    let (status, _) = post(
        &fixture,
        &format!("{SCHEDULES}/nightly/unpause"),
        json!({ "note": "back" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut described = Value::Null;
    for _ in 0..100 {
        described = get(&fixture, &format!("{SCHEDULES}/nightly")).await.1;
        if described["schedule"]["state"]["paused"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        described["schedule"]["state"]["paused"], false,
        "{described}"
    );

    // Created again from the document describe gives, under another id.
    let document = described["schedule"].clone();
    let (status, created) = post(
        &fixture,
        SCHEDULES,
        json!({ "schedule_id": "nightly-again", "schedule": document }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["schedule_id"], "nightly-again");
    let (_, again) = get(&fixture, &format!("{SCHEDULES}/nightly-again")).await;
    assert_eq!(again["schedule"]["spec"], document["spec"]);
    assert_eq!(again["schedule"]["action"], document["action"]);
    assert_eq!(again["schedule"]["policies"], document["policies"]);
    let (status, taken) = post(
        &fixture,
        SCHEDULES,
        json!({ "schedule_id": "nightly-again", "schedule": document }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    let (status, bad) = post(
        &fixture,
        SCHEDULES,
        json!({ "schedule_id": "broken", "schedule": { "spec": 7 } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("schedule.spec"),
        "{bad}"
    );
    assert_eq!(bad["code"], "BadRequest");

    let response = reqwest::Client::new()
        .delete(fixture.url(&format!("{SCHEDULES}/nightly")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, error) = get(&fixture, &format!("{SCHEDULES}/nightly")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["code"], "NotFound");

    let (status, deployments) = get(&fixture, "/api/v1/namespaces/default/deployments").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deployments["deployments"], json!([]));
    fixture.stop().await;
}
