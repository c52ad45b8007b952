use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn healthz_says_ok() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn metrics_prints_the_realtime_series() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for series in [
        "ledgerline_realtime_waiters 0",
        "ledgerline_realtime_buffered_orgs 0",
        "ledgerline_realtime_polls_total{outcome=\"events\"} 0",
        "ledgerline_realtime_polls_total{outcome=\"timeout\"} 0",
        "ledgerline_realtime_polls_total{outcome=\"cap\"} 0",
        "ledgerline_realtime_polls_total{outcome=\"reset\"} 0",
        "ledgerline_realtime_evictions_total 0",
        "ledgerline_events_published_total 0",
    ] {
        assert!(text.lines().any(|l| l == series), "missing {series}");
    }
}

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/v1/auth/login", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/properties", "get"),
        ("/v1/transactions", "get"),
        ("/v1/transactions", "post"),
        ("/v1/transactions/{id}", "get"),
        ("/v1/transactions/{id}", "patch"),
        ("/v1/transactions/{id}", "delete"),
        ("/v1/transactions/{id}/approve", "post"),
        ("/v1/transactions/{id}/reject", "post"),
        ("/v1/reports/profit-loss", "get"),
        ("/v1/approvals/daily", "get"),
        ("/v1/approvals/today-pending", "get"),
        ("/v1/telemetry", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    for schema in [
        "Transaction",
        "NewTransaction",
        "ErrorBody",
        "Event",
        "ProfitLoss",
        "TelemetryUpload",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_the_error_shape() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/v1/nope")).send().await.unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .client
        .put(app.url("/v1/transactions"))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn server_stops_when_shutdown_is_cancelled() {
    let app = spawn_app().await;
    let addr = app.addr;
    app.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
