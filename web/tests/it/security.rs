//! The API and the UI on a server with credentials: bearer tokens and the UI's cookie,
//! every call authorized as the TCP front end would.

use std::sync::Arc;

use endure_core::access::Claims;
use endure_server::security::{ApiKeyHash, CredentialStore, CredentialTable, Security};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Fixture, QUEUE};

const KEY_A: &str = "endure_tenant_a_admin_key";
const KEY_B: &str = "endure_tenant_b_admin_key";

fn claims(subject: &str, permission: &str) -> Claims {
    let mut claims = Claims::new(subject);
    assert!(claims.grant_permission(permission));
    claims
}

async fn secured() -> Fixture {
    let table = CredentialTable::default()
        .with_api_key(ApiKeyHash::of(KEY_A), claims("admin-a", "default:admin"))
        .with_api_key(ApiKeyHash::of(KEY_B), claims("admin-b", "tenant-b:admin"));
    let security = Security::open().with_authenticator(Arc::new(CredentialStore::new(table)));
    Fixture::with_security(security).await
}

async fn get_as(fixture: &Fixture, path: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(fixture.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn api_calls_need_a_credential_with_a_role_in_the_namespace() {
    let fixture = secured().await;
    let (status, error) = get_as(&fixture, "/api/v1/namespaces/default/workflows", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], "Unauthenticated");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    let (status, error) = get_as(&fixture, "/api/v1/namespaces", Some("endure_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    let (status, listed) = get_as(
        &fixture,
        "/api/v1/namespaces/default/workflows",
        Some(KEY_A),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    // Tenant B sees no `default` and may not read or start there.
    let (status, namespaces) = get_as(&fixture, "/api/v1/namespaces", Some(KEY_B)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(namespaces["namespaces"], json!([]));
    let (status, error) = get_as(
        &fixture,
        "/api/v1/namespaces/default/workflows",
        Some(KEY_B),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["code"], "PermissionDenied");
    let response = reqwest::Client::new()
        .post(fixture.url("/api/v1/namespaces/default/workflows"))
        .bearer_auth(KEY_B)
        .json(&json!({ "workflow_id": "w", "workflow_type": "OrderWorkflow", "task_queue": QUEUE }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    fixture.stop().await;
}

#[tokio::test]
async fn the_ui_signs_in_once_and_keeps_the_credential_in_an_http_only_cookie() {
    let fixture = secured().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A page without credentials sends the browser to sign in, and back afterwards.
    let response = client
        .get(fixture.url("/namespaces/default/workflows"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/login?next=%2Fnamespaces%2Fdefault%2Fworkflows");
    let sign_in = |token: &'static str| {
        client
            .post(fixture.url("/api/v1/session"))
            .json(&json!({ "token": token }))
            .send()
    };
    // An unknown key, and a credential that would break out of the cookie (refused before
    // it is checked): no cookie either way.
    for refused in ["endure_wrong", "endure_x; Domain=evil.example"] {
        let response = sign_in(refused).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{refused}");
        assert!(response.headers().get("set-cookie").is_none(), "{refused}");
    }
    let response = sign_in(KEY_A).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let signed_in: Value = response.json().await.unwrap();
    assert_eq!(signed_in["subject"], "admin-a");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let response = client
        .get(fixture.url("/namespaces/default/workflows"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("id=\"workflows\""));
    // Signing out clears it.
    let response = client
        .delete(fixture.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    fixture.stop().await;
}
