//! The new inputs refuse bad input with a 4xx in the error shape — never a
//! 500 — and change nothing: the lock-date body, approve/reject's
//! `version` and `reason`, and the history's id.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{create_on, decide, lock_until, OWNER};
use crate::helpers::{assert_error, spawn_app, TestApp};

async fn put_raw(app: &TestApp, token: &str, content_type: &str, raw: String) -> reqwest::Response {
    app.request(Method::PUT, "/v1/settings/lock-date", token)
        .header("content-type", content_type)
        .body(raw)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_lock_date_refuses_bad_bodies_and_keeps_the_date() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    lock_until(&app, &owner, Some("2026-10-31")).await;
    let events = app.event_count().await;
    let validation = [
        "{}",
        "[]",
        "null",
        "\"2026-10-31\"",
        r#"{"lock_date": 5}"#,
        r#"{"lock_date": true}"#,
        r#"{"lock_date": {}}"#,
        r#"{"lock_date": ["2026-10-31"]}"#,
        r#"{"lock_date": ""}"#,
        r#"{"lock_date": "31/10/2026"}"#,
        r#"{"lock_date": "2026-02-30"}"#,
        r#"{"lock_date": "2026-13-01"}"#,
        r#"{"lock_date": "2026-10-31T00:00:00Z"}"#,
        r#"{"lock_date": "0999-12-31"}"#,
        r#"{"lock_date": "+10000-01-01"}"#,
        r#"{"lock_date": null, "x": 1}"#,
        r#"{"lockDate": null}"#,
        r#"{"lock_date": "2026-10-31", "lock_date": null}"#,
    ];
    for raw in validation {
        let response = put_raw(&app, &owner.token, "application/json", raw.into()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    for (content_type, raw) in [
        ("application/json", "{"),
        ("application/json", "lock_date=2026-10-31"),
        ("text/plain", r#"{"lock_date": null}"#),
    ] {
        let response = put_raw(&app, &owner.token, content_type, raw.into()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let big = format!(r#"{{"lock_date": null, "pad": "{}"}}"#, "x".repeat(1 << 20));
    let response = put_raw(&app, &owner.token, "application/json", big).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let response = app.get("/v1/settings/lock-date", &owner.token).await;
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"lock_date": "2026-10-31"})
    );
    assert_eq!(app.event_count().await, events);
    // Without a token nobody reads or sets it.
    let response = put_raw(
        &app,
        "nope",
        "application/json",
        r#"{"lock_date": null}"#.into(),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// An action, its query, and the error code it gets.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn approve_and_reject_refuse_bad_versions_reasons_and_unknown_parameters() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let t = create_on(&app, &owner, &owner.properties[0], "2026-11-20").await;
    let before = app.stored_row(&t.id).await;
    let events = app.event_count().await;
    let long = "x".repeat(501);
    let cases: Vec<Case> = vec![
        ("approve", vec![("version", "abc")], "bad_request"),
        ("approve", vec![("version", "1.5")], "bad_request"),
        ("approve", vec![("version", "")], "bad_request"),
        (
            "approve",
            vec![("version", "99999999999999999999")],
            "bad_request",
        ),
        ("approve", vec![("version", "0")], "validation_failed"),
        ("approve", vec![("version", "-1")], "validation_failed"),
        (
            "approve",
            vec![("reason", "approvals take none")],
            "bad_request",
        ),
        ("approve", vec![("force", "true")], "bad_request"),
        (
            "approve",
            vec![("version", "1"), ("version", "1")],
            "bad_request",
        ),
        ("reject", vec![("version", "abc")], "bad_request"),
        ("reject", vec![("version", "0")], "validation_failed"),
        ("reject", vec![("reason", "")], "validation_failed"),
        ("reject", vec![("reason", "   ")], "validation_failed"),
        ("reject", vec![("reason", &long)], "validation_failed"),
        (
            "reject",
            vec![("version", "1"), ("reason", &long)],
            "validation_failed",
        ),
        ("reject", vec![("why", "no receipt")], "bad_request"),
        (
            "reject",
            vec![("client_mutation_id", "")],
            "validation_failed",
        ),
    ];
    for (action, query, code) in cases {
        let response = decide(&app, &owner, &t.id, action, &query).await;
        assert_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    assert_eq!(app.stored_row(&t.id).await, before);
    assert_eq!(app.event_count().await, events);
}

#[tokio::test]
async fn a_history_id_over_128_characters_is_400() {
    let app = spawn_app().await;
    let owner = app.login(OWNER).await;
    let long = "x".repeat(129);
    let response = app
        .get(&format!("/v1/transactions/{long}/history"), &owner.token)
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let just = "x".repeat(128);
    let response = app
        .get(&format!("/v1/transactions/{just}/history"), &owner.token)
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .get("/v1/transactions/%FF%FE/history", &owner.token)
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let response = app.get("/v1/transactions/x/history", "nope").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
