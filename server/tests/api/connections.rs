//! The connection layer: header and idle timeouts close slow and idle
//! sockets, a parked poll is not idle, a stalled request gets 503 after the
//! request timeout, the budget answers a connection past it at once, and a
//! graceful shutdown does not wait for idle or half-sent connections.

use ledgerline_server::{config::ConnectionConfig, RealtimeConfig};
use reqwest::StatusCode;

use crate::{
    helpers::{eventually, seq, spawn_app_with, Poll},
    raw::{poll_request, Raw},
    realtime::long_polls,
};

fn with(connections: ConnectionConfig) -> RealtimeConfig {
    RealtimeConfig {
        connections,
        ..long_polls()
    }
}

fn timeouts(header_ms: u64, idle_ms: u64, request_ms: u64) -> RealtimeConfig {
    with(ConnectionConfig {
        header_timeout_ms: header_ms,
        idle_timeout_ms: idle_ms,
        request_timeout_ms: request_ms,
        max_connections: None,
    })
}

const TIMEOUTS: &str = "ledgerline_connections_timeouts_total";

#[tokio::test]
async fn a_socket_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(timeouts(300, 60_000, 30_000)).await;
    let mut silent = Raw::connect(app.addr).await;
    silent.closed().await;
    app.metric_reaches(&format!("{TIMEOUTS}{{phase=\"header\"}}"), 1.0)
        .await;
}

#[tokio::test]
async fn half_sent_heads_are_closed_after_the_header_timeout() {
    let app = spawn_app_with(timeouts(300, 60_000, 30_000)).await;
    // A poll's head (the lean path) and another route's (hyper's).
    let mut poll = Raw::connect(app.addr).await;
    poll.send(b"GET /v1/realtime/poll?cursor=1 HTTP/1.1\r\nHost: x\r\nAuthori")
        .await;
    let mut login = Raw::connect(app.addr).await;
    login
        .send(b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .await;
    poll.closed().await;
    login.closed().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_but_a_parked_poll_is_not_idle() {
    let app = spawn_app_with(timeouts(10_000, 300, 30_000)).await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let mut socket = Raw::connect(app.addr).await;
    // Parked four times longer than the idle timeout, then answered.
    socket
        .send(&poll_request(
            &format!("cursor={head}&timeout_ms=1200"),
            &owner.token,
            "",
        ))
        .await;
    let answer = socket.response().await;
    assert_eq!(answer.status, 200);
    assert_eq!(seq(answer.json()["cursor"].as_str().unwrap()), head);
    // Then nothing: closed as idle (as are the test client's own
    // kept-alive connections, hence "at least").
    socket.closed().await;
    let idle = format!("{TIMEOUTS}{{phase=\"idle\"}}");
    eventually("an idle timeout counted", || async {
        app.metric(&idle).await >= 1.0
    })
    .await;

    // Likewise after a request hyper served.
    let mut socket = Raw::connect(app.addr).await;
    socket
        .send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(socket.response().await.body, b"ok");
    socket.closed().await;
}

#[tokio::test]
async fn a_stalled_request_body_gets_503_after_the_request_timeout() {
    let app = spawn_app_with(timeouts(10_000, 60_000, 300)).await;
    let owner = app.login("owner@demo.test").await;
    let mut socket = Raw::connect(app.addr).await;
    let head = format!(
        "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"kind\":",
        owner.token
    );
    socket.send(head.as_bytes()).await;
    let answer = socket.response().await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.json()["error"]["code"], "unavailable");
    // The body was never read to its end: the connection is not reused.
    socket.closed().await;
    assert_eq!(
        app.metric(&format!("{TIMEOUTS}{{phase=\"request\"}}"))
            .await,
        1.0
    );
}

#[tokio::test]
async fn past_the_budget_a_connection_gets_503_at_once() {
    let app = spawn_app_with(with(ConnectionConfig {
        max_connections: Some(3),
        ..ConnectionConfig::default()
    }))
    .await;
    let first = Raw::connect(app.addr).await;
    let _second = Raw::connect(app.addr).await;
    // The scrape's own (kept-alive) connection is the third.
    app.metric_reaches("ledgerline_connections_open", 3.0).await;

    let mut over = Raw::connect(app.addr).await;
    let answer = over.response().await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("connection"), Some("close"));
    assert_eq!(answer.json()["error"]["code"], "unavailable");
    over.closed().await;
    assert_eq!(
        app.metric("ledgerline_connections_refused_total").await,
        1.0
    );

    // A place frees when a connection closes.
    drop(first);
    app.metric_reaches("ledgerline_connections_open", 2.0).await;
    let mut next = Raw::connect(app.addr).await;
    next.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(next.response().await.status, 200);
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_or_half_sent_connections() {
    // Timeouts far beyond the test's deadline: only shutdown can end these.
    let app = spawn_app_with(timeouts(600_000, 600_000, 600_000)).await;
    let owner = app.login("owner@demo.test").await;
    let head = app.head(&owner).await;
    let mut idle = Raw::connect(app.addr).await;
    idle.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(idle.response().await.status, 200);
    let mut half = Raw::connect(app.addr).await;
    half.send(b"GET /v1/realtime/po").await;
    let mut silent = Raw::connect(app.addr).await;
    let mut parked = Raw::connect(app.addr).await;
    parked
        .send(&poll_request(&format!("cursor={head}"), &owner.token, ""))
        .await;
    app.metric_reaches("ledgerline_realtime_waiters", 1.0).await;

    tokio::time::timeout(crate::helpers::DEADLINE, app.stop())
        .await
        .expect("shutdown did not wait for the connections' timeouts");
    let answer = parked.response().await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("connection"), Some("close"));
    for socket in [&mut idle, &mut half, &mut silent, &mut parked] {
        socket.closed().await;
    }
}

#[tokio::test]
async fn polls_from_reqwest_are_served_on_the_lean_path() {
    let app = spawn_app_with(long_polls()).await;
    let owner = app.login("owner@demo.test").await;
    // On the connection login used, then on others: all lean.
    for _ in 0..3 {
        app.poll(&owner, Poll::default()).await;
    }
    assert_eq!(
        app.metric("ledgerline_connections_lean_polls_total").await,
        3.0
    );
    let response = app
        .client
        .get(app.url("/v1/realtime/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
