//! `POST /v1/telemetry`: sampled desktop sessions' counters summed into
//! `/metrics`, one upload per token a minute, and request counts by route.

use reqwest::{header, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn uploads_from_two_sessions_are_summed_in_metrics() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let manager = app.login("manager@demo.test").await;
    for (who, polls) in [(&owner, 7), (&manager, 5)] {
        let body = json!({"leader_acquired": 1, "polls": polls, "offline_probes": 2});
        let r = app.post_json("/v1/telemetry", &who.token, &body).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        app.metric("ledgerline_client_leader_acquired_total").await,
        2.0
    );
    assert_eq!(app.metric("ledgerline_client_polls_total").await, 12.0);
    assert_eq!(
        app.metric("ledgerline_client_offline_probes_total").await,
        4.0
    );
    assert_eq!(app.metric("ledgerline_client_leader_lost_total").await, 0.0);
    assert_eq!(
        app.metric("ledgerline_client_telemetry_uploads_total")
            .await,
        2.0
    );
    assert_eq!(
        app.metric("ledgerline_http_requests_total{method=\"POST\",route=\"/v1/telemetry\"}")
            .await,
        2.0
    );
}

#[tokio::test]
async fn a_second_upload_within_a_minute_is_429_with_retry_after_and_not_summed() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let body = json!({"polls": 3});
    let first = app.post_json("/v1/telemetry", &owner.token, &body).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let again = app.post_json("/v1/telemetry", &owner.token, &body).await;
    let retry_after: u64 = again
        .headers()
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(again, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(app.metric("ledgerline_client_polls_total").await, 3.0);
    // Another token of the same user is its own session.
    let second = app.login("owner@demo.test").await;
    let r = app.post_json("/v1/telemetry", &second.token, &body).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.metric("ledgerline_client_polls_total").await, 6.0);
}

#[tokio::test]
async fn uploads_need_a_valid_token() {
    let app = spawn_app().await;
    let body = json!({"polls": 1});
    let r = app.post_json("/v1/telemetry", "", &body).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let r = app.post_json("/v1/telemetry", "not-a-token", &body).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(app.metric("ledgerline_client_polls_total").await, 0.0);
}
